//! Conformance of redshift-local, driven through aws-sdk-redshiftdata: every operation, every error shape,
//! `ClientToken` idempotency, real SQL errors, batch rollback, typed paged results, real cancellation and events.

use aws_sdk_redshiftdata::error::ProvideErrorMetadata;
use aws_sdk_redshiftdata::types::{Field, SqlParameter, StatusString};
use aws_sdk_redshiftdata::Client;
use serde_json::Value;
use std::time::{Duration, Instant};
use tasker_tests::stack::{signed_as, Stack, StackOptions, CLUSTER, DATABASE, DB_USER};

async fn stack() -> Stack {
    Stack::start(StackOptions {
        poll: false,
        page_rows: 2,
        prefix: "conf".into(),
        ..Default::default()
    })
    .await
    .expect("local stack")
}

fn exec(
    c: &Client,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    c.execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sql(sql)
}

/// A statement on a session: no target is named, the session's is used.
fn on_session(
    c: &Client,
    session: &str,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    c.execute_statement().sql(sql).session_id(session)
}

async fn wait_done(
    c: &Client,
    id: &str,
) -> aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = c
            .describe_statement()
            .id(id)
            .send()
            .await
            .expect("describe");
        if matches!(
            d.status(),
            Some(StatusString::Finished | StatusString::Failed | StatusString::Aborted)
        ) {
            return d;
        }
        assert!(Instant::now() < deadline, "statement {id} did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn execute_describe_and_typed_paged_results() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let setup = exec(&c, "create table t(i int, b bigint, n numeric(10,2), d double precision, ok boolean, s text, day date, at timestamp)")
        .send()
        .await
        .unwrap();
    assert!(wait_done(&c, setup.id().unwrap()).await.status() == Some(&StatusString::Finished));
    let ins = exec(&c, "insert into t values (1, 10000000000, 12.30, 1.25, true, 'a', '2026-01-02', '2026-01-02 03:04:05'), (2, null, null, null, null, null, null, null), (3, 3, 3, 3, false, 'c', '2026-03-03', '2026-03-03 00:00:00')")
        .send()
        .await
        .unwrap();
    let d = wait_done(&c, ins.id().unwrap()).await;
    assert_eq!(d.result_rows(), 3, "rows affected");
    assert!(!d.has_result_set().unwrap());

    let sel = exec(&c, "select i, b, n, d, ok, s, day, at from t order by i")
        .send()
        .await
        .unwrap();
    assert!(sel.created_at().is_some());
    let d = wait_done(&c, sel.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished));
    assert_eq!(d.result_rows(), 3);
    assert_eq!(d.has_result_set(), Some(true));
    assert!(d.duration() > 0);
    assert!(d.redshift_query_id() > 0);
    assert!(d.redshift_pid() > 0);
    assert!(d.created_at().is_some() && d.updated_at().is_some());
    assert_eq!(
        d.query_string(),
        Some("select i, b, n, d, ok, s, day, at from t order by i")
    );
    assert_eq!(d.cluster_identifier(), Some(CLUSTER));

    // Paging: 2 rows a page.
    let first = c
        .get_statement_result()
        .id(sel.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(first.total_num_rows(), 3);
    assert_eq!(first.records().len(), 2);
    let names: Vec<_> = first
        .column_metadata()
        .iter()
        .map(|m| m.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["i", "b", "n", "d", "ok", "s", "day", "at"]);
    let types: Vec<_> = first
        .column_metadata()
        .iter()
        .map(|m| m.type_name().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "int4",
            "int8",
            "numeric",
            "float8",
            "bool",
            "text",
            "date",
            "timestamp"
        ]
    );
    let row = &first.records()[0];
    assert_eq!(row[0], Field::LongValue(1));
    assert_eq!(row[1], Field::LongValue(10_000_000_000));
    assert_eq!(row[2], Field::StringValue("12.30".into()));
    assert_eq!(row[3], Field::DoubleValue(1.25));
    assert_eq!(row[4], Field::BooleanValue(true));
    assert_eq!(row[5], Field::StringValue("a".into()));
    assert_eq!(row[6], Field::StringValue("2026-01-02".into()));
    assert_eq!(row[7], Field::StringValue("2026-01-02 03:04:05".into()));
    assert!(first.records()[1][1..]
        .iter()
        .all(|f| *f == Field::IsNull(true)));
    let token = first.next_token().expect("a second page").to_string();
    let second = c
        .get_statement_result()
        .id(sel.id().unwrap())
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.records().len(), 1);
    assert_eq!(second.records()[0][0], Field::LongValue(3));
    assert!(second.next_token().is_none());

    // Named parameters, cast by context.
    let p = exec(&c, "select s from t where i = :i and s <> :s")
        .parameters(
            SqlParameter::builder()
                .name("i")
                .value("3")
                .build()
                .unwrap(),
        )
        .parameters(
            SqlParameter::builder()
                .name("s")
                .value("it's")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_done(&c, p.id().unwrap()).await;
    let r = c
        .get_statement_result()
        .id(p.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.records(), [vec![Field::StringValue("c".into())]]);
    let d = c
        .describe_statement()
        .id(p.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.query_parameters().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn errors_have_the_service_shapes_and_never_stop_the_server() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let code = |e: &dyn ProvideErrorMetadata| {
        (
            e.code().unwrap_or_default().to_string(),
            e.message().unwrap_or_default().to_string(),
        )
    };

    let e = c
        .describe_statement()
        .id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFoundException");
    assert!(e
        .as_service_error()
        .unwrap()
        .is_resource_not_found_exception());
    let e = c
        .describe_statement()
        .id("not-an-id")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    assert!(code(&e).1.contains("Id"));

    let e = c
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .db_user(DB_USER)
        .sql("select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        ("ValidationException".into(), "Database: required".into())
    );
    let e = c
        .execute_statement()
        .database(DATABASE)
        .sql("select 1")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("ClusterIdentifier or WorkgroupName"));
    let e = c
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .workgroup_name("wg1")
        .database(DATABASE)
        .db_user(DB_USER)
        .sql("select 1")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("only one"));
    let e = c
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .sql("select 1")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("DbUser or SecretArn"));
    let e = exec(&c, "select 1")
        .parameters(
            SqlParameter::builder()
                .name("bad-name")
                .value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("Parameters.name"));
    let e = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .set_sqls(Some(vec!["select 1".into(); 41]))
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("Sqls"));

    // A DDL has no result; a finished statement cannot be cancelled.
    let ddl = exec(&c, "create table x(i int)").send().await.unwrap();
    wait_done(&c, ddl.id().unwrap()).await;
    let e = c
        .get_statement_result()
        .id(ddl.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("does not have result"));
    let e = c
        .cancel_statement()
        .id(ddl.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    assert!(code(&e).1.contains("FINISHED"));

    // A real SQL error.
    let bad = exec(&c, "select * from missing_table")
        .send()
        .await
        .unwrap();
    let d = wait_done(&c, bad.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert_eq!(
        d.error(),
        Some("ERROR: relation \"missing_table\" does not exist")
    );

    // Still serving, and a workgroup target works too.
    let wg = c
        .execute_statement()
        .workgroup_name("local-wg")
        .database(DATABASE)
        .sql("select 1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait_done(&c, wg.id().unwrap()).await.workgroup_name(),
        Some("local-wg")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_token_idempotency_batches_and_listing() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let a = exec(&c, "select 1")
        .client_token("tok-1")
        .statement_name("conf-one")
        .send()
        .await
        .unwrap();
    let b = exec(&c, "select 1")
        .client_token("tok-1")
        .statement_name("conf-one")
        .send()
        .await
        .unwrap();
    assert_eq!(a.id(), b.id());
    wait_done(&c, a.id().unwrap()).await;
    let stats: Value = stack.redshift_stats().await.unwrap();
    assert_eq!(stats["statementsRun"], 1);

    let ok = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .statement_name("conf-batch")
        .sqls("create table b(i int primary key)")
        .sqls("insert into b values (1), (2)")
        .sqls("select i from b order by i")
        .send()
        .await
        .unwrap();
    let d = wait_done(&c, ok.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished));
    let subs = d.sub_statements();
    assert_eq!(subs.len(), 3);
    assert_eq!(subs[2].id(), format!("{}:3", ok.id().unwrap()));
    assert_eq!(subs[1].result_rows(), 2);
    assert_eq!(subs[2].has_result_set(), Some(true));
    let r = c
        .get_statement_result()
        .id(subs[2].id())
        .send()
        .await
        .unwrap();
    assert_eq!(r.total_num_rows(), 2);

    let bad = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .statement_name("other-batch")
        .sqls("insert into b values (3)")
        .sqls("insert into b values (1)")
        .send()
        .await
        .unwrap();
    let d = wait_done(&c, bad.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert!(d.error().unwrap().contains("duplicate key"));
    assert_eq!(
        d.sub_statements()[1].status().map(|s| s.as_str()),
        Some("FAILED")
    );
    let db = stack.sql().await.unwrap();
    let n: i64 = db
        .query_one("select count(*) from b", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2, "the failed batch's first insert was rolled back");

    let listed = c
        .list_statements()
        .statement_name("conf-")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = listed
        .statements()
        .iter()
        .map(|s| s.statement_name().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["conf-batch", "conf-one"],
        "prefix match, newest first"
    );
    assert!(listed.statements()[0].is_batch_statement().unwrap());
    let failed = c
        .list_statements()
        .status(StatusString::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.statements().len(), 1);
    let page = c.list_statements().max_results(1).send().await.unwrap();
    assert_eq!(page.statements().len(), 1);
    let next = c
        .list_statements()
        .max_results(1)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(next.statements()[0].id(), page.statements()[0].id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_time_seconds_holds_the_reply_until_the_statement_ends() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let quick = exec(&c, "select 1 as one")
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        quick.status(),
        Some(&StatusString::Finished.as_str().into())
    );
    assert_eq!(quick.has_result_set(), Some(true));
    let started = Instant::now();
    let slow = exec(&c, "select pg_sleep(3)")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited");
    assert!(
        matches!(
            slow.status().map(|s| s.as_str()),
            Some("SUBMITTED" | "PICKED" | "STARTED")
        ),
        "{slow:?}"
    );
    let batch = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sqls("select 1")
        .sqls("select 1/0")
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status().map(|s| s.as_str()), Some("FAILED"));
    let refused = exec(&c, "select 1")
        .wait_time_seconds(31)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("ValidationException"));
    // Without it the reply carries no status, as before.
    let plain = exec(&c, "select 1").send().await.unwrap();
    assert!(plain.status().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_keeps_its_connection_and_runs_one_statement_at_a_time() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let first = exec(&c, "create temp table kept as select 42 as x")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let session = first.session_id().expect("a session id").to_string();
    let d = wait_done(&c, first.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{d:?}");
    assert_eq!(d.session_id(), Some(session.as_str()));
    // The next statement on the session sees the temporary table; no target is named again.
    let read = on_session(&c, &session, "select x from kept")
        .send()
        .await
        .unwrap();
    assert_eq!(read.session_id(), Some(session.as_str()));
    wait_done(&c, read.id().unwrap()).await;
    let rows = c
        .get_statement_result()
        .id(read.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rows.records()[0][0], Field::LongValue(42));
    // Outside the session the table does not exist.
    let outside = exec(&c, "select x from kept").send().await.unwrap();
    let d = wait_done(&c, outside.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    // One statement at a time: a second one while the first runs is refused.
    let slow = on_session(&c, &session, "select pg_sleep(2)")
        .send()
        .await
        .unwrap();
    let busy = on_session(&c, &session, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Some("ValidationException"), "{busy:?}");
    wait_done(&c, slow.id().unwrap()).await;
    // Another identity cannot use it; an unknown session is not found.
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let refused = on_session(&theirs, &session, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("ResourceNotFoundException"));
    let unknown = c
        .execute_statement()
        .sql("select 1")
        .session_id("0b8c5d5e-8d6e-4f43-a0f4-5e8b1c2d3e4f")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_belongs_to_the_identity_that_ran_it() {
    let stack = stack().await;
    let mine = stack.redshift_data();
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let id = exec(&mine, "select pg_sleep(30)")
        .statement_name("owned")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let refused = |e: &dyn ProvideErrorMetadata| e.code().map(str::to_string);
    let d = theirs
        .describe_statement()
        .id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused(&d).as_deref(),
        Some("AccessDeniedException"),
        "{d:?}"
    );
    let r = theirs
        .get_statement_result()
        .id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused(&r).as_deref(), Some("AccessDeniedException"));
    let c = theirs.cancel_statement().id(&id).send().await.unwrap_err();
    assert_eq!(refused(&c).as_deref(), Some("AccessDeniedException"));
    let listed = theirs
        .list_statements()
        .statement_name("owned")
        .send()
        .await
        .unwrap();
    assert!(
        listed.statements().is_empty(),
        "another identity's statements are not listed"
    );
    // The owner still can, and the statement kept running through the refused cancel.
    let d = mine.describe_statement().id(&id).send().await.unwrap();
    assert_ne!(d.status(), Some(&StatusString::Aborted));
    mine.cancel_statement().id(&id).send().await.unwrap();
    assert_eq!(
        wait_done(&mine, &id).await.status(),
        Some(&StatusString::Aborted)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_aborts_a_running_query_for_real() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let s = exec(&c, "select pg_sleep(60)").send().await.unwrap();
    let id = s.id().unwrap().to_string();
    let db = stack.sql().await.unwrap();
    let running = || async {
        let n: i64 = db
            .query_one("select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while running().await == 0 {
        assert!(Instant::now() < deadline, "the query never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancelled_at = Instant::now();
    let out = c.cancel_statement().id(&id).send().await.unwrap();
    assert_eq!(out.status(), Some(true));
    let d = wait_done(&c, &id).await;
    assert_eq!(d.status(), Some(&StatusString::Aborted));
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "aborted in {:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(
        running().await,
        0,
        "the query is gone from pg_stat_activity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_event_reaches_sqs_through_the_prefix_rule() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let ours = exec(&c, "select 1")
        .statement_name("conf-abc")
        .with_event(true)
        .send()
        .await
        .unwrap();
    let theirs = exec(&c, "select 2")
        .statement_name("elsewhere-abc")
        .with_event(true)
        .send()
        .await
        .unwrap();
    wait_done(&c, ours.id().unwrap()).await;
    wait_done(&c, theirs.id().unwrap()).await;
    let sqs = stack.sqs();
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while bodies.is_empty() && Instant::now() < deadline {
        bodies.extend(receive(&sqs, &stack.queue_url).await);
    }
    // Give a stray event time to arrive, then check there is none.
    bodies.extend(receive(&sqs, &stack.queue_url).await);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let e = &bodies[0];
    assert_eq!(e["source"], "aws.redshift-data");
    assert_eq!(e["detail-type"], "Redshift Data Statement Status Change");
    assert_eq!(e["detail"]["statementName"], "conf-abc");
    assert_eq!(e["detail"]["statementId"], ours.id().unwrap());
    assert_eq!(e["detail"]["state"], "FINISHED");
    assert_eq!(e["detail"]["rows"], 1);
    for k in ["principal", "redshiftQueryId", "expireAt"] {
        assert!(e["detail"].get(k).is_some(), "detail.{k}");
    }
}

/// One long poll of a queue: the JSON bodies received.
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let r = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    r.messages()
        .iter()
        .filter_map(|m| m.body())
        .map(|b| serde_json::from_str::<Value>(b).unwrap())
        .collect()
}
