//! redshift-local as strict as the Data API (issue 22, point 4), through aws-sdk-redshiftdata: SQL runs as a
//! PostgreSQL role without superuser, so file and program access is refused.

use aws_sdk_redshiftdata::types::StatusString;
use aws_sdk_redshiftdata::Client;
use tasker_tests::stack::{
    run_statement, signed_as, statement_end, Stack, StackOptions, CLUSTER, DATABASE, DB_USER,
};

async fn stack(prefix: &str) -> Stack {
    Stack::start(StackOptions {
        poll: false,
        prefix: prefix.into(),
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

/// A statement's error text, once it ended (or "FINISHED" if it did not fail).
async fn failure(c: &Client, sql: &str) -> String {
    let d = run_statement(c, sql).await.unwrap();
    match d.status() {
        Some(StatusString::Finished) => "FINISHED".into(),
        _ => d.error().unwrap_or_default().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sql_runs_without_superuser_so_files_and_programs_are_refused() {
    let stack = stack("role").await;
    let c = stack.redshift_data();
    let touched = std::env::temp_dir().join(format!("redshift-local-{}", uuid::Uuid::new_v4()));
    let written = std::env::temp_dir().join(format!("redshift-local-{}", uuid::Uuid::new_v4()));
    assert_eq!(
        failure(&c, "create table pwned(line text)").await,
        "FINISHED"
    );

    // The operating system stays out of reach: PostgreSQL's refusal of a role without those privileges.
    let program = failure(
        &c,
        &format!("copy pwned from program 'touch {}'", touched.display()),
    )
    .await;
    assert!(
        program.starts_with("ERROR: ") && program.contains("COPY to or from an external program"),
        "{program}"
    );
    let to_file = failure(&c, &format!("copy (select 'x') to '{}'", written.display())).await;
    assert!(
        to_file.starts_with("ERROR: ") && to_file.contains("COPY to a file"),
        "{to_file}"
    );
    // A COPY from a server file never reaches PostgreSQL: Redshift's own refusal of a load source that is no
    // object store.
    let from_file = failure(
        &c,
        "copy pwned from '/etc/passwd' iam_role 'arn:aws:iam::123456789012:role/Loader'",
    )
    .await;
    assert_eq!(
        from_file,
        "ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)"
    );
    let read = failure(&c, "select pg_read_file('/etc/passwd')").await;
    assert_eq!(read, "ERROR: permission denied for function pg_read_file");
    let ls = failure(&c, "select pg_ls_dir('/')").await;
    assert_eq!(ls, "ERROR: permission denied for function pg_ls_dir");
    assert!(!touched.exists(), "the program did not run");
    assert!(!written.exists(), "the file was not written");
    let db = stack.sql().await.unwrap();
    let n: i64 = db
        .query_one("select count(*) from pwned", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing was read from a file");

    // The role is no superuser, and what statements need still works as it.
    let who = exec(
        &c,
        "select current_user::text, rolsuper from pg_roles where rolname = current_user",
    )
    .send()
    .await
    .unwrap();
    statement_end(&c, who.id().unwrap()).await.unwrap();
    let row = c
        .get_statement_result()
        .id(who.id().unwrap())
        .send()
        .await
        .unwrap();
    let record = &row.records()[0];
    assert_eq!(record[0].as_string_value().unwrap(), "redshift_local");
    assert!(!record[1].as_boolean_value().unwrap(), "not a superuser");
    for sql in [
        "select getdate()",
        "select datediff(day, '2026-01-01'::date, '2026-01-31'::date)",
        "create schema etl",
        "create table etl.t(i int) diststyle key distkey(i)",
        "insert into etl.t values (1), (2)",
    ] {
        assert_eq!(failure(&c, sql).await, "FINISHED", "{sql}");
    }
    // COPY from S3 loads through PostgreSQL's COPY ... FROM STDIN, which the role may run on its own tables.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&signed_as(&stack.moto.url(), "test", None))
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("role-loads")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("role-loads")
        .key("t/part-0")
        .body(b"3\n4\n".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        failure(
            &c,
            "copy etl.t from 's3://role-loads/t/' iam_role 'arn:aws:iam::123456789012:role/Loader'"
        )
        .await,
        "FINISHED"
    );
    let sum: i64 = db
        .query_one("select sum(i) from etl.t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, 10, "rows 1 to 4, two of them from S3");
    // A table the stack's own SQL client makes is the statements' to use, and the administrator's too.
    db.batch_execute(
        "create table made_by_the_stack(i int); insert into made_by_the_stack values (5)",
    )
    .await
    .unwrap();
    let admin = stack.postgres.connect(DATABASE).await.unwrap();
    admin
        .batch_execute(
            "create table made_by_the_admin(i int); insert into made_by_the_admin values (6)",
        )
        .await
        .unwrap();
    assert_eq!(
        failure(
            &c,
            "insert into made_by_the_stack select i from made_by_the_admin"
        )
        .await,
        "FINISHED"
    );
    let n: i64 = db
        .query_one("select sum(i)::bigint from made_by_the_stack", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 11);
}
