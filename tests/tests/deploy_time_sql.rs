//! SQL at deploy time: the starter as a CloudFormation custom resource. A local HTTP endpoint stands in for the
//! presigned `ResponseURL`; each request gets exactly one `PUT` with the right body, from whichever path settles
//! its statement, and the SQL really ran in PostgreSQL.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tasker_tests::eventually;
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Every `PUT` the stand-in for S3's presigned URLs received, by path.
type Puts = Arc<Mutex<Vec<(String, Value)>>>;

/// The stand-in for S3's presigned URLs, one per test process on its own thread (the tests' runtimes come and
/// go): the functions send CloudFormation's answers to it through `CFN_RESPONSE_ENDPOINT`, set before any stack
/// is built, while the `ResponseURL`s themselves are CloudFormation's (the starter refuses any other).
fn stand_in() -> &'static Puts {
    static PUTS: OnceLock<Puts> = OnceLock::new();
    PUTS.get_or_init(|| {
        let puts: Puts = Arc::default();
        let seen = puts.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let app = axum::Router::new().fallback(
                    move |uri: axum::http::Uri, method: axum::http::Method, body: String| {
                        let seen = seen.clone();
                        async move {
                            assert_eq!(method, axum::http::Method::PUT);
                            let body: Value = serde_json::from_str(&body).expect("a JSON response");
                            seen.lock().unwrap().push((uri.path().to_string(), body));
                            ""
                        }
                    },
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        let origin = format!("http://{}", rx.recv().expect("the stand-in's address"));
        std::env::set_var(tasker_aws::callbacks::RESPONSE_ENDPOINT_VAR, origin);
        puts
    })
}

/// One test's view of the stand-in: its own path prefix, so parallel tests never read each other's answers.
struct ResponseUrl {
    prefix: String,
    puts: Puts,
}

/// Call before `Stack::start`: the functions read `CFN_RESPONSE_ENDPOINT` when they are built.
async fn response_url() -> ResponseUrl {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    ResponseUrl {
        prefix: format!("/t{}", NEXT.fetch_add(1, Ordering::SeqCst)),
        puts: stand_in().clone(),
    }
}

impl ResponseUrl {
    /// Waits for the one response to `path`, then makes sure no second one follows.
    async fn the_response(&self, path: &str) -> Value {
        let bodies = || -> Vec<Value> {
            self.puts
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| *p == format!("{}{path}", self.prefix))
                .map(|(_, b)| b.clone())
                .collect()
        };
        let first = eventually(&format!("a response to {path}"), TIMEOUT, || async {
            bodies()
                .first()
                .cloned()
                .ok_or_else(|| format!("{:?}", self.puts.lock().unwrap()))
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(bodies().len(), 1, "exactly one response to {path}");
        first
    }
}

fn request(url: &ResponseUrl, kind: &str, id: &str, physical: Option<&str>, props: Value) -> Value {
    let mut r = json!({
        "RequestType": kind,
        "ResponseURL": format!(
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com{}/{id}?X-Amz-Signature=secret",
            url.prefix
        ),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1", "RequestId": id,
        "LogicalResourceId": "Migration", "ResourceType": "Custom::RedshiftSql",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:starter",
        "ResourceProperties": props
    });
    if let Some(p) = physical {
        r["PhysicalResourceId"] = json!(p);
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schema_migration_is_created_updated_and_deleted_with_one_answer_each() {
    let url = response_url().await;
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let props = json!({
        "CreateSql": "create table migrated (i int)",
        "UpdateSql": ["alter table migrated add column j int", "insert into migrated values (1, 2)"],
        "DeleteSql": "drop table migrated"
    });
    let created = stack
        .starter
        .handle(&request(&url, "Create", "create-1", None, props.clone()))
        .await
        .unwrap();
    let body = url.the_response("/create-1").await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["RequestId"], "create-1");
    assert_eq!(body["LogicalResourceId"], "Migration");
    assert_eq!(body["PhysicalResourceId"], created["statementName"]);
    assert_eq!(body["Data"]["StatementId"], created["statementId"]);
    let physical = created["statementName"].as_str().unwrap().to_string();

    // A retry of the same request (CloudFormation keeps its RequestId) runs nothing again.
    let again = stack
        .starter
        .handle(&request(&url, "Create", "create-1", None, props.clone()))
        .await
        .unwrap();
    assert_eq!(again["statementId"], created["statementId"]);

    stack
        .starter
        .handle(&request(
            &url,
            "Update",
            "update-1",
            Some(&physical),
            props.clone(),
        ))
        .await
        .unwrap();
    let body = url.the_response("/update-1").await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(
        body["PhysicalResourceId"],
        physical.as_str(),
        "unchanged after create"
    );
    let db = stack.sql().await.unwrap();
    let j: i32 = db
        .query_one("select j from migrated", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(j, 2);

    stack
        .starter
        .handle(&request(&url, "Delete", "delete-1", Some(&physical), props))
        .await
        .unwrap();
    let body = url.the_response("/delete-1").await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    let left: i64 = db
        .query_one(
            "select count(*) from information_schema.tables where table_name = 'migrated'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the table was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_sql_answers_failed_with_the_error_and_a_delete_without_sql_succeeds_at_once() {
    let url = response_url().await;
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    stack
        .starter
        .handle(&request(
            &url,
            "Create",
            "bad-1",
            None,
            json!({"CreateSql": "create table broken (i nosuchtype)"}),
        ))
        .await
        .unwrap();
    let body = url.the_response("/bad-1").await;
    assert_eq!(body["Status"], "FAILED", "{body}");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("FAILED: ") && reason.contains("nosuchtype"),
        "{reason}"
    );

    let answer = stack
        .starter
        .handle(&request(
            &url,
            "Delete",
            "delete-2",
            Some("etl-kept"),
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(answer["answered"], "SUCCESS");
    let body = url.the_response("/delete-2").await;
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], "etl-kept");
    // Only the statement that ran has a record (the response URL is kept there, as a task token would be).
    let records = stack
        .records("arn:aws:cloudformation:us-east-1:123456789012:stack/app/1")
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "the failed create only: {records:?}");
}

/// CloudFormation's rollback after a failed Create sends a Delete with the physical id the Create was answered
/// with: the failed-Create marker, so the `DeleteSql` must not run (here it would drop a table that existed
/// before the stack and made the Create fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rollback_delete_of_a_failed_create_keeps_the_existing_table() {
    let url = response_url().await;
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let pg = stack.sql().await.unwrap();
    pg.batch_execute("create schema if not exists etl; create table etl.day (d date); insert into etl.day values ('2026-12-07')")
        .await
        .unwrap();
    let props =
        json!({"CreateSql": "create table etl.day (d date)", "DeleteSql": "drop table etl.day"});
    stack
        .starter
        .handle(&request(&url, "Create", "create-1", None, props.clone()))
        .await
        .unwrap();
    let body = url.the_response("/create-1").await;
    assert_eq!(body["Status"], "FAILED", "{body}");
    let marker = body["PhysicalResourceId"].as_str().unwrap().to_string();
    assert_eq!(marker, tasker_core::custom_resource::CREATE_FAILED);

    let answer = stack
        .starter
        .handle(&request(&url, "Delete", "rollback-2", Some(&marker), props))
        .await
        .unwrap();
    assert_eq!(answer["answered"], "SUCCESS");
    let body = url.the_response("/rollback-2").await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["PhysicalResourceId"], marker.as_str());
    let rows = pg.query("select d from etl.day", &[]).await.unwrap();
    assert_eq!(rows.len(), 1, "the table and its row are still there");
}

/// A request whose `ResponseURL` is not CloudFormation's (here the stand-in's own address, over plain HTTP) is
/// refused before anything is written or run, and nothing is sent to it: no request can make the functions call a
/// host of its choosing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_response_url_that_is_not_cloudformations_is_refused_and_never_called() {
    let url = response_url().await;
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let mut bad = request(
        &url,
        "Create",
        "foreign-1",
        None,
        json!({"CreateSql": "create table t (i int)"}),
    );
    let origin = std::env::var(tasker_aws::callbacks::RESPONSE_ENDPOINT_VAR).unwrap();
    bad["ResponseURL"] = json!(format!("{origin}{}/foreign-1", url.prefix));
    let err = stack.starter.handle(&bad).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    assert!(err.to_string().starts_with("ResponseURL"), "{err}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(url
        .puts
        .lock()
        .unwrap()
        .iter()
        .all(|(p, _)| !p.ends_with("/foreign-1")));
    let records = stack
        .records("arn:aws:cloudformation:us-east-1:123456789012:stack/app/1")
        .await
        .unwrap();
    assert!(records.is_empty(), "{records:?}");
}
