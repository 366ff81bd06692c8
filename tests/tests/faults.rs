//! Faults on the event path, end to end: malformed bodies end in the DLQ while their neighbours settle; duplicated,
//! late and out-of-order events and other deployments' events call back nothing more; two completers racing on one
//! event call back once; a completer that crashed after its claim is finished once its lease ends.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_aws::runtime::Function;
use tasker_core::{RecordStatus, StatementRecord};
use tasker_tests::stack::{sdk_config_as, Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

fn select_one() -> Value {
    json!({"sqlStatement": "select 1 as one"})
}

/// Waits until the queue holds `n` messages (visible or not), the completion events left for a poller.
async fn queued(stack: &Stack, n: usize) {
    tasker_tests::eventually("events queued", Duration::from_secs(20), || async {
        let attrs = stack
            .sqs()
            .get_queue_attributes()
            .queue_url(&stack.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let count: usize = attrs
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (count >= n)
            .then_some(())
            .ok_or(format!("{count} of {n} events queued"))
    })
    .await
    .unwrap();
}

async fn record(stack: &Stack, execution: &str) -> StatementRecord {
    let mut r = stack.records(execution).await.unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

async fn send_body(stack: &Stack, body: &str) {
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

fn event(statement_name: &str, statement_id: &str, state: &str) -> String {
    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "source": "aws.redshift-data",
           "detail-type": "Redshift Data Statement Status Change", "time": "2026-11-25T12:00:00Z",
           "region": "us-east-1", "resources": [],
           "detail": {"principal": "arn:aws:sts::123456789012:assumed-role/x/starter",
                      "statementName": statement_name, "statementId": statement_id,
                      "redshiftQueryId": -1, "state": state, "rows": 1, "expireAt": 1800000000}})
    .to_string()
}

/// Starts the poller and waits for the execution to succeed with its record `FINISHED`.
async fn poll_until_finished(stack: &mut Stack, execution: &str) {
    stack.start_polling();
    let run = stack.wait(execution, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(
        record(stack, execution).await.status,
        RecordStatus::Finished
    );
}

/// Waits until the poller deleted `n` messages in all.
async fn deletes(stack: &Stack, n: usize) {
    tasker_tests::eventually("messages deleted", Duration::from_secs(20), || async {
        let done = stack.front.count("AmazonSQS.DeleteMessage");
        (done >= n)
            .then_some(())
            .ok_or(format!("deleted {done} of {n}"))
    })
    .await
    .unwrap();
}

/// A stack without its poller, and one execution whose completion event waits in the queue.
async fn an_event_waiting(machine_name: &str) -> (Stack, String, String) {
    let stack = Stack::start(StackOptions {
        poll: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let sm = stack.sql_machine(machine_name, select_one()).await.unwrap();
    let execution = stack.start_execution(&sm, json!({})).await.unwrap();
    queued(&stack, 1).await;
    let name = record(&stack, &execution).await.statement_name;
    (stack, execution, name)
}

fn callbacks(stack: &Stack) -> usize {
    stack.front.count("AWSStepFunctions.SendTaskSuccess")
        + stack.front.count("AWSStepFunctions.SendTaskFailure")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_bodies_end_in_the_dlq_and_their_neighbours_settle() {
    let (mut stack, execution, name) = an_event_waiting("malformed").await;
    let malformed = [
        "not json at all".to_string(),
        json!({"source": "aws.redshift-data", "detail-type": "Redshift Data Statement Status Change",
               "detail": {"statementName": name}})
        .to_string(),
        event(&name, "some-id", "SUBMITTED"),
    ];
    for body in &malformed {
        send_body(&stack, body).await;
    }
    poll_until_finished(&mut stack, &execution).await;
    // Each malformed body is received maxReceiveCount (3) times, two seconds apart, then redriven.
    let dead = std::sync::Mutex::new(Vec::new());
    tasker_tests::eventually(
        "malformed bodies redriven",
        Duration::from_secs(30),
        || async {
            let more = stack.drain_queue(&stack.dlq_url).await.unwrap();
            let mut dead = dead.lock().unwrap();
            dead.extend(more);
            (dead.len() >= malformed.len())
                .then_some(())
                .ok_or(format!("DLQ holds only {dead:?}"))
        },
    )
    .await
    .unwrap();
    let mut dead = dead.into_inner().unwrap();
    dead.sort();
    let mut expected = malformed.to_vec();
    expected.sort();
    assert_eq!(dead, expected);
    assert_eq!(callbacks(&stack), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_late_out_of_order_and_foreign_events_call_back_nothing_more() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // Every event sent twice.
    stack.event_faults(redshift_local::EventFaults {
        duplicate: 1.0,
        ..Default::default()
    });
    let sm = stack.sql_machine("duplicates", select_one()).await.unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let settled = record(&stack, &run.arn).await;
    assert_eq!(settled.status, RecordStatus::Finished);
    let stats = stack.redshift_stats().await.unwrap();
    assert_eq!(stats["events"]["duplicated"], 1, "{stats}");
    // Other deployments: a longer prefix that EventBridge's `prefix` pattern would also match, and another one.
    let hash = settled.statement_name.rsplit('-').next().unwrap();
    let completer_writes = |stack: &Stack| {
        stack
            .front
            .calls()
            .iter()
            .filter(|c| c.principal == "completer" && c.operation.starts_with("DynamoDB"))
            .count()
    };
    deletes(&stack, 2).await;
    let writes_before = completer_writes(&stack);
    let id = settled.statement_id.clone().unwrap();
    // Late and out of order: FAILED and ABORTED for a statement that FINISHED, and FINISHED again.
    for state in ["FAILED", "ABORTED", "FINISHED"] {
        send_body(&stack, &event(&settled.statement_name, &id, state)).await;
    }
    for name in [format!("tasker-test-dev-{hash}"), format!("other-{hash}")] {
        send_body(&stack, &event(&name, "foreign-id", "FINISHED")).await;
    }
    // The five late and foreign bodies, after the two real events, are all deleted.
    deletes(&stack, 7).await;
    assert_eq!(callbacks(&stack), 1, "one callback for all of it");
    assert_eq!(
        completer_writes(&stack) - writes_before,
        3,
        "one claim attempt per late event of ours, none for the foreign ones"
    );
    let after = record(&stack, &run.arn).await;
    assert_eq!(after.status, RecordStatus::Finished);
    assert_eq!(after.settled_at, settled.settled_at);
    assert!(stack.drain_queue(&stack.dlq_url).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_completers_racing_on_one_event_call_back_once() {
    let stack = Stack::start(StackOptions {
        poll: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let sm = stack.sql_machine("race", select_one()).await.unwrap();
    let rival = completer::Completer::new(
        &sdk_config_as(&stack.front.url(), "completer"),
        stack.settings.clone(),
    );
    for round in 0..5 {
        let execution = stack.start_execution(&sm, json!({})).await.unwrap();
        queued(&stack, 1).await;
        let bodies = stack.drain_queue(&stack.queue_url).await.unwrap();
        assert_eq!(bodies.len(), 1);
        let batch = json!({"Records": [{"messageId": "m1", "receiptHandle": "r", "body": bodies[0],
                                        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                                        "attributes": {}, "messageAttributes": {}}]});
        let before = callbacks(&stack);
        let (a, b) = tokio::join!(stack.completer.handle(&batch), rival.handle(&batch));
        let (a, b): (Value, Value) = (a.unwrap(), b.unwrap());
        assert_eq!(callbacks(&stack) - before, 1, "round {round}: {a} {b}");
        let run = stack.wait(&execution, TIMEOUT).await.unwrap();
        assert_eq!(run.status, "SUCCEEDED", "{run:?}");
        assert_eq!(
            record(&stack, &execution).await.status,
            RecordStatus::Finished
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completer_that_crashed_after_its_claim_is_finished_when_its_lease_ends() {
    use tasker_core::{Claim, Claimant, StateStore};
    let (mut stack, execution, name) = an_event_waiting("crash").await;
    // A completer claimed the record and died before its callback: its lease (3 s here) is all that is left.
    let now = chrono::Utc::now();
    let claim = stack
        .state_table()
        .claim(
            &name,
            Claimant::Settler,
            now + chrono::Duration::seconds(3),
            now,
        )
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Won(_)), "{claim:?}");
    let lease_until = now + chrono::Duration::seconds(3);
    // The lease is honoured: before it ends, a rival claim is refused ...
    let rival = stack
        .state_table()
        .claim(
            &name,
            Claimant::Settler,
            chrono::Utc::now() + chrono::Duration::seconds(60),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(rival, Claim::Busy(_)), "{rival:?}");
    // ... and a completer handed the statement's event now calls nobody back and hands the message back.
    let id = record(&stack, &execution).await.statement_id.unwrap();
    let batch = json!({"Records": [{"messageId": "early", "receiptHandle": "r",
                                    "body": event(&name, &id, "FINISHED"), "eventSource": "aws:sqs",
                                    "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}}]});
    let response = stack.completer.handle(&batch).await.unwrap();
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "early"}]),
        "{response}"
    );
    assert_eq!(callbacks(&stack), 0);
    assert!(!record(&stack, &execution).await.status.is_settled());
    // Once it ends, the queued event finishes the statement, once.
    poll_until_finished(&mut stack, &execution).await;
    assert_eq!(callbacks(&stack), 1);
    let answered = stack.front.calls_of("AWSStepFunctions.SendTaskSuccess");
    let answered_at: chrono::DateTime<chrono::Utc> = answered[0].at.into();
    assert!(
        answered_at >= lease_until,
        "answered at {answered_at}, lease until {lease_until}"
    );
}
