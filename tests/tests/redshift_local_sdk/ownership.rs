//! A statement belongs to the identity that ran it, as on AWS.

use super::*;

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
