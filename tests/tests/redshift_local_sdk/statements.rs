//! Statements through aws-sdk-redshiftdata: describe and typed paged results, `ClientToken` idempotency, batches and listing, `WaitTimeSeconds`, CSV results, execution modes.

use super::*;

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

/// Rows of `em` holding `i`, read in PostgreSQL directly.
async fn em_rows(stack: &Stack, i: i32) -> i64 {
    let db = stack.sql().await.unwrap();
    db.query_one("select count(*) from em where i = $1", &[&i])
        .await
        .unwrap()
        .get(0)
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
