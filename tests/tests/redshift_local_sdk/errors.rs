//! Every error has the service's shape (code, HTTP status, message) and none stops the server.

use super::*;

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
