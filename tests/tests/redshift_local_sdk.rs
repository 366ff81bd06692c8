//! Conformance of redshift-local, driven through aws-sdk-redshiftdata: every operation, every error shape,
//! `ClientToken` idempotency, real SQL errors, batch rollback, typed paged results, real cancellation and events.

use aws_sdk_redshiftdata::error::ProvideErrorMetadata;
use aws_sdk_redshiftdata::types::{
    ExecutionMode, Field, ResultFormatString, SessionStatusString, SqlParameter, StatusString,
};
use aws_sdk_redshiftdata::Client;
use serde_json::Value;
use std::time::{Duration, Instant};
use tasker_tests::stack::{
    execute_on_cluster, signed_as, Stack, StackOptions, CLUSTER, DATABASE, DB_USER,
};

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

/// `ExecuteStatement` of `sql` on the local cluster, database and user.
fn exec(
    c: &Client,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    execute_on_cluster(c, sql)
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
    tasker_tests::stack::statement_end(c, id).await.unwrap()
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

    // ExecuteStatement's validation, one refused request per row: (what is wrong, the request, what the
    // ValidationException's message says).
    let ok = || c.execute_statement().sql("select 1");
    let bad_name = SqlParameter::builder()
        .name("bad-name")
        .value("1")
        .build()
        .unwrap();
    let refused = [
        (
            "no database",
            ok().cluster_identifier(CLUSTER).db_user(DB_USER),
            "Database: required",
        ),
        (
            "no target",
            ok().database(DATABASE),
            "ClusterIdentifier or WorkgroupName",
        ),
        (
            "two targets",
            ok().cluster_identifier(CLUSTER)
                .workgroup_name("wg1")
                .database(DATABASE)
                .db_user(DB_USER),
            "only one",
        ),
        (
            "no credentials for a cluster",
            ok().cluster_identifier(CLUSTER).database(DATABASE),
            "DbUser or SecretArn",
        ),
        (
            "a parameter name that is no identifier",
            exec(&c, "select 1").parameters(bad_name),
            "Parameters.name",
        ),
    ];
    for (what, request, says) in refused {
        let e = request.send().await.unwrap_err();
        let (name, message) = code(&e);
        assert_eq!(name, "ValidationException", "{what}: {message}");
        assert!(
            message.contains(says),
            "{what}: {message:?} should say {says:?}"
        );
    }
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
    // By target: the batches ran on the cluster, none on a workgroup or in another database.
    let on_cluster = c
        .list_statements()
        .statement_name("conf-")
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .send()
        .await
        .unwrap();
    assert_eq!(on_cluster.statements().len(), 2);
    for (wg, db) in [(Some("local-wg"), None), (None, Some("other"))] {
        let none = c
            .list_statements()
            .statement_name("conf-")
            .set_workgroup_name(wg.map(str::to_string))
            .set_database(db.map(str::to_string))
            .send()
            .await
            .unwrap();
        assert!(none.statements().is_empty());
    }
    let e = c
        .list_statements()
        .cluster_identifier(CLUSTER)
        .workgroup_name("local-wg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
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
    tasker_tests::eventually("the query starts", Duration::from_secs(10), || async {
        match running().await {
            0 => Err("not in pg_stat_activity yet".to_string()),
            _ => Ok(()),
        }
    })
    .await
    .unwrap();
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
    let mut bodies =
        tasker_tests::eventually("our event arrives", Duration::from_secs(10), || async {
            let got = receive(&sqs, &stack.queue_url).await;
            if got.is_empty() {
                Err("no message yet".to_string())
            } else {
                Ok(got)
            }
        })
        .await
        .unwrap();
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

/// The CSV text of a `GetStatementResultV2` page (its one `QueryRecords`).
fn csv_of(
    page: &aws_sdk_redshiftdata::operation::get_statement_result_v2::GetStatementResultV2Output,
) -> String {
    assert_eq!(page.records().len(), 1, "one CSV text a page");
    page.records()[0]
        .as_csv_records()
        .expect("CSVRecords")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn csv_results_come_from_get_statement_result_v2_only() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let sql = "select id, s from (values (1, 'plain'), (2, null), (3, 'a, \"quoted\"'), (4, '')) as v(id, s) order by id";
    let csv = exec(&c, sql)
        .result_format(ResultFormatString::Csv)
        .send()
        .await
        .unwrap();
    let id = csv.id().unwrap();
    let d = wait_done(&c, id).await;
    assert_eq!(d.status(), Some(&StatusString::Finished));
    assert_eq!(d.result_format(), Some(&ResultFormatString::Csv));
    // Two rows a page, each page a CSV text with its header line.
    let first = c.get_statement_result_v2().id(id).send().await.unwrap();
    assert_eq!(csv_of(&first), "id,s\n1,plain\n2,\n");
    assert_eq!(first.total_num_rows(), 4);
    assert_eq!(first.result_format(), Some(&ResultFormatString::Csv));
    let names: Vec<_> = first
        .column_metadata()
        .iter()
        .map(|m| m.name().unwrap())
        .collect();
    assert_eq!(names, ["id", "s"]);
    let second = c
        .get_statement_result_v2()
        .id(id)
        .next_token(first.next_token().expect("a second page"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv_of(&second), "id,s\n3,\"a, \"\"quoted\"\"\"\n4,\"\"\n");
    assert!(second.next_token().is_none());
    // The format and the operation must agree.
    let e = c.get_statement_result().id(id).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    assert!(
        e.message().unwrap().contains("GetStatementResultV2"),
        "{e:?}"
    );
    let json = exec(&c, "select 1").send().await.unwrap();
    let d = wait_done(&c, json.id().unwrap()).await;
    assert_eq!(d.result_format(), Some(&ResultFormatString::Json));
    let e = c
        .get_statement_result_v2()
        .id(json.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    assert!(
        e.message().unwrap().ends_with("with GetStatementResult"),
        "{e:?}"
    );
    let e = c
        .get_statement_result_v2()
        .id(id)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    // WaitTimeSeconds holds the read until the statement ended.
    let slow = exec(&c, "select 'x' as s from pg_sleep(0.3)")
        .result_format(ResultFormatString::Csv)
        .send()
        .await
        .unwrap();
    let page = c
        .get_statement_result_v2()
        .id(slow.id().unwrap())
        .wait_time_seconds(10)
        .send()
        .await
        .unwrap();
    assert_eq!(csv_of(&page), "s\nx\n");
    // A batch's sub-statements keep the batch's format.
    let batch = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sqls("select 1 as a")
        .sqls("select true as b, 2.5::float8 as d")
        .result_format(ResultFormatString::Csv)
        .send()
        .await
        .unwrap();
    wait_done(&c, batch.id().unwrap()).await;
    let sub = c
        .get_statement_result_v2()
        .id(format!("{}:2", batch.id().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(csv_of(&sub), "b,d\ntrue,2.5\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_sessions_shows_the_callers_sessions_only() {
    let stack = stack().await;
    let mine = stack.redshift_data();
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let first = exec(&mine, "select 1")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let sid = first.session_id().unwrap().to_string();
    wait_done(&mine, first.id().unwrap()).await;
    let other = exec(&theirs, "select 1")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let their_sid = other.session_id().unwrap().to_string();
    wait_done(&theirs, other.id().unwrap()).await;

    let listed = mine.list_sessions().send().await.unwrap();
    let ids: Vec<_> = listed.sessions().iter().map(|s| s.session_id()).collect();
    assert_eq!(ids, [sid.as_str()], "only the caller's session");
    let s = &listed.sessions()[0];
    assert_eq!(s.status(), &SessionStatusString::Available);
    assert_eq!(s.database(), Some(DATABASE));
    assert_eq!(s.cluster_identifier(), Some(CLUSTER));
    assert_eq!(s.db_user(), Some(DB_USER));
    assert_eq!(s.session_alive_seconds(), Some(60));
    assert!(s.session_ttl().is_some() && s.updated_at().is_some());
    let theirs_listed = theirs.list_sessions().send().await.unwrap();
    let ids: Vec<_> = theirs_listed
        .sessions()
        .iter()
        .map(|s| s.session_id())
        .collect();
    assert_eq!(ids, [their_sid.as_str()]);
    let e = theirs
        .list_sessions()
        .session_id(&sid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));

    // Busy while a statement runs on it, naming that statement.
    let slow = on_session(&mine, &sid, "select pg_sleep(1)")
        .send()
        .await
        .unwrap();
    let one = mine.list_sessions().session_id(&sid).send().await.unwrap();
    assert_eq!(one.sessions()[0].status(), &SessionStatusString::Busy);
    assert_eq!(one.sessions()[0].current_statement_id(), slow.id());
    wait_done(&mine, slow.id().unwrap()).await;

    // Filters: target, status; a second session pages.
    let short = exec(&mine, "select 1")
        .session_keep_alive_seconds(0)
        .send()
        .await
        .unwrap();
    let short_sid = short.session_id().unwrap().to_string();
    wait_done(&mine, short.id().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let closed = mine
        .list_sessions()
        .status(SessionStatusString::Closed)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = closed.sessions().iter().map(|s| s.session_id()).collect();
    assert_eq!(
        ids,
        [short_sid.as_str()],
        "a session past its keep-alive is closed"
    );
    let open = mine.list_sessions().max_results(1).send().await.unwrap();
    assert_eq!(open.sessions().len(), 1);
    assert!(
        open.next_token().is_none(),
        "the closed session is not listed by default"
    );
    let none = mine
        .list_sessions()
        .workgroup_name("other-wg")
        .send()
        .await
        .unwrap();
    assert!(none.sessions().is_empty());
    let e = on_session(&mine, &short_sid, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("ResourceNotFoundException"),
        "a closed session runs nothing"
    );
    let e = mine
        .list_sessions()
        .session_id(&sid)
        .status(SessionStatusString::Available)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    let e = mine
        .list_sessions()
        .next_token("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
}

/// Rows of `em` holding `i`, read in PostgreSQL directly.
async fn em_rows(stack: &Stack, i: i32) -> i64 {
    let db = stack.sql().await.unwrap();
    db.query_one("select count(*) from em where i = $1", &[&i])
        .await
        .unwrap()
        .get(0)
}

fn batch(
    c: &Client,
    sqls: &[&str],
) -> aws_sdk_redshiftdata::operation::batch_execute_statement::builders::BatchExecuteStatementFluentBuilder{
    c.batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .set_sqls(Some(sqls.iter().map(|s| s.to_string()).collect()))
}

fn param(name: &str, value: &str) -> SqlParameter {
    SqlParameter::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn execution_mode_decides_what_a_failing_statement_undoes() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let setup = exec(&c, "create table em(i int primary key)")
        .send()
        .await
        .unwrap();
    wait_done(&c, setup.id().unwrap()).await;

    let tx = batch(
        &c,
        &["insert into em values (1)", "insert into em values (1)"],
    )
    .send()
    .await
    .unwrap();
    let d = wait_done(&c, tx.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert_eq!(d.execution_mode(), Some(&ExecutionMode::Transaction));
    assert_eq!(
        em_rows(&stack, 1).await,
        0,
        "TRANSACTION rolls the first insert back"
    );

    let auto = batch(
        &c,
        &["insert into em values (2)", "insert into em values (2)"],
    )
    .execution_mode(ExecutionMode::AutoCommit)
    .send()
    .await
    .unwrap();
    let d = wait_done(&c, auto.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert_eq!(d.execution_mode(), Some(&ExecutionMode::AutoCommit));
    assert_eq!(
        d.sub_statements()[0].status().map(|s| s.as_str()),
        Some("FINISHED")
    );
    assert_eq!(
        d.sub_statements()[1].status().map(|s| s.as_str()),
        Some("FAILED")
    );
    assert_eq!(
        em_rows(&stack, 2).await,
        1,
        "AUTO_COMMIT keeps the first insert"
    );

    // Parameters are shared by the batch's statements.
    let with_params = batch(
        &c,
        &[
            "insert into em values (:a)",
            "insert into em select :b::int + :a::int",
        ],
    )
    .parameters(param("a", "10"))
    .parameters(param("b", "1"))
    .send()
    .await
    .unwrap();
    let d = wait_done(&c, with_params.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{d:?}");
    assert_eq!(em_rows(&stack, 10).await, 1);
    assert_eq!(em_rows(&stack, 11).await, 1);
    assert_eq!(d.query_parameters().len(), 2);
    let e = batch(&c, &["select :a"])
        .parameters(param("a", "1"))
        .parameters(param("unused", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    assert!(e.message().unwrap().contains("Parameters"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_operations_answer_from_postgres() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let setup = batch(
        &c,
        &[
            "create schema cat_a",
            "create schema cat_b",
            "create table cat_a.t1(id int not null, name varchar(20) default 'x', amount numeric(10,2))",
            "create table cat_a.t2(i bigint)",
            "create view cat_a.v1 as select id from cat_a.t1",
            "create table cat_b.t3(ok boolean)",
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        wait_done(&c, setup.id().unwrap()).await.status(),
        Some(&StatusString::Finished)
    );

    // ListDatabases, one at a time.
    let all = c
        .list_databases()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap();
    assert!(all.databases().iter().any(|d| d == DATABASE), "{all:?}");
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_databases()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.databases().len(), 1);
        paged.extend(page.databases().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, all.databases());

    // ListSchemas: LIKE patterns, paged.
    let schemas = |pattern: &str| {
        c.list_schemas()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema_pattern(pattern)
    };
    assert_eq!(
        schemas("cat\\_%").send().await.unwrap().schemas(),
        ["cat_a", "cat_b"]
    );
    assert_eq!(
        schemas("cat__").send().await.unwrap().schemas(),
        ["cat_a", "cat_b"]
    );
    let first = schemas("cat%").max_results(1).send().await.unwrap();
    assert_eq!(first.schemas(), ["cat_a"]);
    let second = schemas("cat%")
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.schemas(), ["cat_b"]);
    assert!(second.next_token().is_none());
    let everything = c
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap();
    assert!(everything.schemas().iter().any(|s| s == "public"));

    // ListTables: name, schema and type.
    let tables = |schema: &str, table: &str| {
        c.list_tables()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema_pattern(schema)
            .table_pattern(table)
    };
    let triple = |t: &aws_sdk_redshiftdata::types::TableMember| {
        (
            t.schema().unwrap().to_string(),
            t.name().unwrap().to_string(),
            t.r#type().unwrap().to_string(),
        )
    };
    let listed: Vec<_> = tables("cat_a", "%")
        .send()
        .await
        .unwrap()
        .tables()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(
        listed,
        [
            ("cat_a".into(), "t1".into(), "TABLE".into()),
            ("cat_a".into(), "t2".into(), "TABLE".into()),
            ("cat_a".into(), "v1".into(), "VIEW".into()),
        ]
    );
    let t_one: Vec<_> = tables("cat%", "t_")
        .send()
        .await
        .unwrap()
        .tables()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(
        t_one.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
        ["t1", "t2", "t3"]
    );
    let first = tables("cat%", "t%").max_results(1).send().await.unwrap();
    assert_eq!(first.tables()[0].name(), Some("t1"));
    let second = tables("cat%", "t%")
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.tables()[0].name(), Some("t2"));
    // A token of another listing is refused.
    let e = tables("cat%", "t%")
        .next_token(schemas_token(&c).await)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));

    // DescribeTable: column types, sizes, nullability and defaults, paged.
    let describe = || {
        c.describe_table()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema("cat_a")
            .table("t1")
    };
    let d = describe().send().await.unwrap();
    assert_eq!(d.table_name(), Some("t1"));
    let cols: Vec<_> = d
        .column_list()
        .iter()
        .map(|m| {
            (
                m.name().unwrap().to_string(),
                m.type_name().unwrap().to_string(),
                m.nullable(),
                m.precision(),
                m.scale(),
                m.length(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        [
            ("id".into(), "int4".into(), 0, 10, 0, 0),
            ("name".into(), "varchar".into(), 1, 20, 0, 20),
            ("amount".into(), "numeric".into(), 1, 10, 2, 0),
        ]
    );
    assert_eq!(
        d.column_list()[1].column_default(),
        Some("'x'::character varying")
    );
    assert_eq!(d.column_list()[0].schema_name(), Some("cat_a"));
    assert_eq!(d.column_list()[0].table_name(), Some("t1"));
    let first = describe().max_results(1).send().await.unwrap();
    assert_eq!(first.column_list()[0].name(), Some("id"));
    let second = describe()
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.column_list()[0].name(), Some("name"));

    // The target is checked as for statements; an unknown database cannot be connected to.
    let e = c
        .list_databases()
        .cluster_identifier(CLUSTER)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationException"), Some("Database: required"))
    );
    let e = c
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.message().unwrap().contains("DbUser or SecretArn"),
        "{e:?}"
    );
    let e = c
        .list_tables()
        .workgroup_name("local-wg")
        .database("no_such_database")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DatabaseConnectionException"), "{e:?}");
    assert!(!e.message().unwrap().contains("no_such_database"));
}

/// A `NextToken` of `ListSchemas`.
async fn schemas_token(c: &Client) -> String {
    c.list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .max_results(1)
        .send()
        .await
        .unwrap()
        .next_token()
        .unwrap()
        .to_string()
}
