//! The fast path: with `waitSeconds` (or the deployment's `FAST_PATH_SECONDS`), the Data API holds the start until
//! the statement ends (up to 30 s); one that ended by then is answered by the starter itself, through the
//! completer's claim, and its event, coming later, changes nothing. A slower one falls back to the event path.

use serde_json::json;
use std::time::Duration;
use tasker_core::RecordStatus;
use tasker_tests::eventually;
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Events take a second, as EventBridge -> SQS -> Lambda may on AWS (locally they arrive in milliseconds, so the
/// completer would often answer before the starter's reply even returned: still one answer, from the completer).
async fn stack(fast_path_seconds: u32) -> Stack {
    let stack = Stack::start(StackOptions {
        fast_path_seconds,
        ..Default::default()
    })
    .await
    .unwrap();
    stack.event_faults(redshift_local::EventFaults {
        delay_ms: 1000,
        ..Default::default()
    });
    stack
}

/// Who sent the execution's `SendTaskSuccess` calls.
fn success_senders(stack: &Stack) -> Vec<String> {
    stack
        .front
        .calls_of("AWSStepFunctions.SendTaskSuccess")
        .into_iter()
        .map(|c| c.principal)
        .collect()
}

/// Waits until the completer consumed the statement's completion event.
async fn event_consumed(stack: &Stack) {
    eventually("the completion event is consumed", TIMEOUT, || async {
        let deleted =
            stack.front.count("SQS.DeleteMessage") + stack.front.count("AmazonSQS.DeleteMessage");
        (deleted > 0)
            .then_some(())
            .ok_or(format!("{deleted} deleted"))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_statement_is_answered_by_the_starter_and_its_event_changes_nothing() {
    let stack = stack(0).await;
    let sm = stack
        .sql_machine(
            "fast-short",
            json!({"sqlStatement": "select 1 as one", "waitSeconds": 5, "resultRows": 1}),
        )
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["state"], "FINISHED", "{}", run.output);
    assert_eq!(run.output["records"], json!([{"one": 1}]));
    assert_eq!(run.output["detail"]["state"], "FINISHED");
    assert_eq!(
        success_senders(&stack),
        ["starter"],
        "one callback, from the starter"
    );
    event_consumed(&stack).await;
    assert_eq!(
        success_senders(&stack),
        ["starter"],
        "the event made no second callback"
    );
    let record = stack.settled(&run.arn, TIMEOUT).await.unwrap();
    assert_eq!(record.status, RecordStatus::Finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_slower_than_the_wait_falls_back_to_its_event() {
    let stack = stack(0).await;
    let sm = stack
        .sql_machine(
            "fast-slow",
            json!({"sqlStatement": "select pg_sleep(2)", "waitSeconds": 1}),
        )
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(success_senders(&stack), ["completer"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_deployment_default_applies_to_payloads_without_wait_seconds() {
    let stack = stack(5).await;
    let sm = stack
        .sql_machine("fast-default", json!({"sqlStatement": "select 1/0"}))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    // A failure takes the same path: the starter fails the task with FAILED and the error text.
    assert_eq!(run.status, "FAILED", "{run:?}");
    assert_eq!(run.error.as_deref(), Some("SqlFailed"));
    let failures: Vec<_> = stack.front.calls_of("AWSStepFunctions.SendTaskFailure");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].principal, "starter");
    assert!(failures[0].body["cause"]
        .as_str()
        .unwrap()
        .contains("division by zero"));
}
