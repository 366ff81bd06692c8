//! redshift-local as strict as the Data API (issue 22, point 4), through aws-sdk-redshiftdata and raw HTTP:
//! statements expire after the retention with the service's `ValidationException`, unsigned requests are refused,
//! `ListStatements` shows finished statements by default and honours `RoleLevel`, a `ClientToken` is one caller's,
//! and SQL runs as a PostgreSQL role without superuser, so file and program access is refused.

use aws_sdk_redshiftdata::error::ProvideErrorMetadata;
use aws_sdk_redshiftdata::types::{ResultFormatString, StatusString};
use aws_sdk_redshiftdata::Client;
use serde_json::Value;
use std::time::Duration;
use tasker_tests::stack::{
    execute_on_cluster, run_statement, signed_as, statement_end, Stack, StackOptions, CLUSTER,
    DATABASE, DB_USER, ROLE,
};

/// The text AWS answers for an expired statement (see `ApiError::expired` in redshift-local for its sources).
const EXPIRED: &str = "Could not retrieve the query result as it has expired after 24 hours";

async fn stack(prefix: &str) -> Stack {
    Stack::start(StackOptions {
        poll: false,
        prefix: prefix.into(),
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

/// Runs `sql` to its end: its id.
async fn ran(c: &Client, sql: &str, name: &str) -> String {
    let id = exec(c, sql)
        .statement_name(name)
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    statement_end(c, &id).await.unwrap();
    id
}

/// Waits until a statement runs on PostgreSQL.
async fn started(c: &Client, id: &str) {
    tasker_tests::eventually("the statement starts", Duration::from_secs(15), || async {
        let d = c
            .describe_statement()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        match d.status() {
            Some(StatusString::Started) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap();
}

/// The error code and message of a refused call.
fn refusal<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

fn expired() -> (String, String) {
    ("ValidationException".into(), EXPIRED.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statements_expire_after_the_retention_as_the_data_api_answers() {
    let stack = stack("expiry").await;
    let c = stack.redshift_data();
    let json = ran(&c, "select 1 as one", "exp-json").await;
    let csv = exec(&c, "select 2 as two")
        .statement_name("exp-csv")
        .result_format(ResultFormatString::Csv)
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    statement_end(&c, &csv).await.unwrap();
    let batch = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .statement_name("exp-batch")
        .sqls("select 3")
        .sqls("select 4")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    statement_end(&c, &batch).await.unwrap();
    let running = exec(&c, "select pg_sleep(60)")
        .statement_name("exp-running")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    started(&c, &running).await;

    // Within the retention (24 hours by default) everything answers.
    c.get_statement_result().id(&json).send().await.unwrap();
    c.get_statement_result_v2().id(&csv).send().await.unwrap();
    let listed = |status: StatusString| {
        let c = c.clone();
        async move {
            let out = c
                .list_statements()
                .statement_name("exp-")
                .status(status)
                .send()
                .await
                .unwrap();
            let mut names: Vec<String> = out
                .statements()
                .iter()
                .map(|s| s.statement_name().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        listed(StatusString::All).await,
        ["exp-batch", "exp-csv", "exp-json", "exp-running"]
    );

    // A short retention: the ended statements expire, as the Data API's do after 24 hours.
    stack.statement_retention(Duration::from_millis(300));
    tasker_tests::eventually(
        "the last statement to end expires",
        Duration::from_secs(15),
        || async {
            match c.describe_statement().id(&batch).send().await {
                Err(e) if refusal(&e) == expired() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap();
    for id in [&json, &csv, &batch, &format!("{batch}:1")] {
        let e = c.describe_statement().id(id).send().await.unwrap_err();
        assert_eq!(refusal(&e), expired(), "DescribeStatement {id}");
        assert!(e.as_service_error().unwrap().is_validation_exception());
    }
    let e = c.get_statement_result().id(&json).send().await.unwrap_err();
    assert_eq!(refusal(&e), expired(), "GetStatementResult");
    let e = c
        .get_statement_result()
        .id(format!("{batch}:2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        expired(),
        "GetStatementResult of a sub-statement"
    );
    let e = c
        .get_statement_result_v2()
        .id(&csv)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), expired(), "GetStatementResultV2");
    let e = c.cancel_statement().id(&json).send().await.unwrap_err();
    assert_eq!(refusal(&e), expired(), "CancelStatement");
    // ListStatements shows only what is retained: the running statement, not the expired ones.
    assert_eq!(listed(StatusString::All).await, ["exp-running"]);
    assert!(listed(StatusString::Finished).await.is_empty());
    // Another identity still learns nothing of the statement: refused as not its own, not as expired.
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let e = theirs
        .describe_statement()
        .id(&json)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, "AccessDeniedException");
    // A statement still running never expires; once cancelled, it does.
    let d = c.describe_statement().id(&running).send().await.unwrap();
    assert_eq!(d.status(), Some(&StatusString::Started));
    c.cancel_statement().id(&running).send().await.unwrap();
    tasker_tests::eventually(
        "the cancelled statement expires",
        Duration::from_secs(15),
        || async {
            match c.describe_statement().id(&running).send().await {
                Err(e) if refusal(&e) == expired() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap();
}

/// A raw Data API call to `url` with these headers: its HTTP status, `x-amzn-errortype` and body.
async fn raw_call(url: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("x-amz-target", format!("RedshiftData.{target}"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(format!(
            r#"{{"ClusterIdentifier":"{CLUSTER}","Database":"{DATABASE}","DbUser":"{DB_USER}","Sql":"select 1"}}"#
        ));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, kind, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsigned_requests_are_refused_as_aws_refuses_them() {
    let stack = stack("unsigned").await;
    let url = stack.redshift.url();
    for target in ["ExecuteStatement", "ListStatements", "DescribeStatement"] {
        let (status, kind, body) = raw_call(&url, target, &[]).await;
        assert_eq!(status, 403, "{target}: {body}");
        assert_eq!(kind, "MissingAuthenticationTokenException", "{target}");
        assert_eq!(body["__type"], "MissingAuthenticationTokenException");
        assert_eq!(body["message"], "Missing Authentication Token");
    }
    // Not a SigV4 signature naming its credential.
    let (status, kind, _) = raw_call(
        &url,
        "ExecuteStatement",
        &[("authorization", "Bearer something")],
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, "IncompleteSignatureException")
    );
    // Nothing ran, nothing was counted as a call.
    let stats = stack.redshift_stats().await.unwrap();
    assert_eq!(stats["statementsRun"], 0, "{stats}");
    for target in ["ExecuteStatement", "ListStatements", "DescribeStatement"] {
        assert!(stats["calls"][target].is_null(), "{stats}");
    }
    // A signed request is served.
    let d = run_statement(&stack.redshift_data(), "select 1")
        .await
        .unwrap();
    assert_eq!(d.status(), Some(&StatusString::Finished));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_statements_defaults_to_finished_honours_role_level_and_client_tokens_are_per_caller()
{
    let stack = stack("listing").await;
    let url = stack.redshift.url();
    // One role (access key), two IAM sessions of it (session tokens), and another identity.
    let a = Client::new(&signed_as(&url, ROLE, Some("session-a")));
    let b = Client::new(&signed_as(&url, ROLE, Some("session-b")));
    let other = Client::new(&signed_as(&url, "another-role", None));
    ran(&a, "select 1", "rl-a-done").await;
    let running = exec(&a, "select pg_sleep(60)")
        .statement_name("rl-a-running")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    started(&a, &running).await;
    ran(&a, "select * from missing_table", "rl-a-failed").await;
    ran(&b, "select 2", "rl-b-done").await;
    ran(&other, "select 3", "rl-other-done").await;

    let names = |out: aws_sdk_redshiftdata::operation::list_statements::ListStatementsOutput| {
        out.statements()
            .iter()
            .map(|s| s.statement_name().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Without Status: only finished statements ("By default, only finished statements are shown"), of the
    // caller's role from every session (RoleLevel's default is true), newest first.
    let default = a
        .list_statements()
        .statement_name("rl-")
        .send()
        .await
        .unwrap();
    assert_eq!(names(default), ["rl-b-done", "rl-a-done"]);
    for s in a
        .list_statements()
        .statement_name("rl-")
        .send()
        .await
        .unwrap()
        .statements()
    {
        assert_eq!(s.status(), Some(&StatusString::Finished));
    }
    let all = a
        .list_statements()
        .statement_name("rl-")
        .status(StatusString::All)
        .send()
        .await
        .unwrap();
    assert_eq!(
        names(all),
        ["rl-b-done", "rl-a-failed", "rl-a-running", "rl-a-done"]
    );
    let explicit = a
        .list_statements()
        .statement_name("rl-")
        .status(StatusString::All)
        .role_level(true)
        .send()
        .await
        .unwrap();
    assert_eq!(names(explicit).len(), 4);
    // RoleLevel false: only the statements of the caller's own IAM session.
    let own = a
        .list_statements()
        .statement_name("rl-")
        .status(StatusString::All)
        .role_level(false)
        .send()
        .await
        .unwrap();
    assert_eq!(names(own), ["rl-a-failed", "rl-a-running", "rl-a-done"]);
    let own_b = b
        .list_statements()
        .statement_name("rl-")
        .role_level(false)
        .send()
        .await
        .unwrap();
    assert_eq!(names(own_b), ["rl-b-done"]);
    let theirs = other
        .list_statements()
        .statement_name("rl-")
        .send()
        .await
        .unwrap();
    assert_eq!(names(theirs), ["rl-other-done"]);
    a.cancel_statement().id(&running).send().await.unwrap();

    // A ClientToken is one caller's: the same token from another identity is a new statement, its own.
    let before = stack.redshift_stats().await.unwrap()["statementsRun"]
        .as_u64()
        .unwrap();
    let first = exec(&a, "select 10")
        .client_token("shared-token")
        .send()
        .await
        .unwrap();
    let replay = exec(&a, "select 10")
        .client_token("shared-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.id(),
        replay.id(),
        "the same caller's retry is a replay"
    );
    let theirs = exec(&other, "select 20")
        .client_token("shared-token")
        .send()
        .await
        .unwrap();
    assert_ne!(
        theirs.id(),
        first.id(),
        "another identity's token is its own"
    );
    let d = statement_end(&other, theirs.id().unwrap()).await.unwrap();
    assert_eq!(d.query_string(), Some("select 20"));
    let e = other
        .describe_statement()
        .id(first.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, "AccessDeniedException");
    let after = stack.redshift_stats().await.unwrap()["statementsRun"]
        .as_u64()
        .unwrap();
    assert_eq!(after - before, 2, "two statements ran, the replay none");
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
