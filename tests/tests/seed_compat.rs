//! Seed-compatible behaviour on the local stack: the seed's polling pattern (fire-and-forget execute, then
//! `describeStatement` and `getStatementResult` with `LATEST`), the singleton lock, and a throttled callback that
//! is retried from the queue.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_aws::runtime::Function;
use tasker_core::RecordStatus;
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

fn invoke(payload: Value, result_path: &str, next: &str) -> Value {
    json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": payload},
        "ResultPath": result_path, "Next": next
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_polling_pattern_works_unchanged() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let definition = json!({
        "StartAt": "Start",
        "States": {
            "Start": invoke(json!({"sqlStatement": "select 42 as answer", "executionArn.$": "$$.Execution.Id"}), "$.executionDetails", "Wait"),
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Describe"},
            "Describe": invoke(json!({"action": "describeStatement", "statementId.$": "$.executionDetails.Payload.Id"}), "$.describe", "Finished?"),
            "Finished?": {"Type": "Choice", "Choices": [
                {"Variable": "$.describe.Payload.Status", "StringEquals": "FINISHED", "Next": "Result"},
                {"Variable": "$.describe.Payload.Status", "StringEquals": "FAILED", "Next": "Failed"}
            ], "Default": "Wait"},
            "Result": invoke(json!({"action": "getStatementResult", "statementId": "LATEST", "executionArn.$": "$$.Execution.Id"}), "$.result", "Done"),
            "Failed": {"Type": "Fail", "Error": "SqlFailed"},
            "Done": {"Type": "Succeed"}
        }
    });
    let sm = stack
        .create_state_machine("seed-polling", &definition.to_string())
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let out = &run.output;
    assert_eq!(out["describe"]["Payload"]["Status"], "FINISHED");
    assert!(
        out["describe"]["Payload"]["CreatedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "ISO 8601"
    );
    assert_eq!(
        out["result"]["Payload"]["Records"],
        json!([[{"longValue": 42}]])
    );
    assert_eq!(
        out["result"]["Payload"]["ColumnMetadata"][0]["name"],
        "answer"
    );
    // Fire-and-forget: the record settles without a callback.
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0].task_token.is_none());
    tasker_tests::eventually(
        "the fire-and-forget record settles",
        Duration::from_secs(10),
        || async {
            let records = stack.records(&run.arn).await.map_err(|e| e.to_string())?;
            (records[0].status == RecordStatus::Finished)
                .then_some(())
                .ok_or(format!("{records:?}"))
        },
    )
    .await
    .unwrap();
    assert_eq!(stack.front.count("AWSStepFunctions.SendTaskSuccess"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_singleton_refuses_a_concurrent_run_of_the_same_sql() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let first = stack
        .starter
        .handle(&json!({"executionArn": "arn:one", "sqlStatement": "select pg_sleep(3)", "singleton": true}))
        .await
        .unwrap();
    let err = stack
        .starter
        .handle(&json!({"executionArn": "arn:two", "action": "executeSingletonStatement", "sqlStatement": "select pg_sleep(3)"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ConcurrentExecution");
    assert!(
        stack.records("arn:two").await.unwrap().is_empty(),
        "nothing written for the refused one"
    );
    // A different SQL is not held back.
    stack
        .starter
        .handle(
            &json!({"executionArn": "arn:three", "sqlStatement": "select 1", "singleton": true}),
        )
        .await
        .unwrap();
    // Once the holder settles, the lock is free again.
    tasker_tests::eventually("the holder settles", Duration::from_secs(20), || async {
        let records = stack.records("arn:one").await.map_err(|e| e.to_string())?;
        (records[0].status == RecordStatus::Finished)
            .then_some(())
            .ok_or(format!("{records:?}"))
    })
    .await
    .unwrap();
    let again = stack
        .starter
        .handle(&json!({"executionArn": "arn:four", "sqlStatement": "select pg_sleep(3)", "singleton": true}))
        .await
        .unwrap();
    assert_ne!(again["statementId"], first["statementId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttled_and_failing_callbacks_are_retried_from_the_queue() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    stack
        .front
        .inject("AWSStepFunctions.SendTaskSuccess", &[400, 503]);
    let state = json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
            "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id", "sqlStatement": "select 1"}},
        "HeartbeatSeconds": 60, "TimeoutSeconds": 120, "End": true
    });
    let sm = stack
        .create_state_machine(
            "throttled",
            &json!({"StartAt": "RunSql", "States": {"RunSql": state}}).to_string(),
        )
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let attempts: Vec<u16> = stack
        .front
        .calls_of("AWSStepFunctions.SendTaskSuccess")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        attempts,
        [400, 503, 200],
        "two injected faults, then one delivered callback"
    );
    assert_eq!(
        stack.records(&run.arn).await.unwrap()[0].status,
        RecordStatus::Finished
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_statement_latest_and_a_serverless_workgroup_target() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // A deployment configured for a Serverless workgroup with a secret, as from WORKGROUP_NAME/SECRET_ARN.
    let env = |k: &str| {
        Some(match k {
            "TABLE_NAME" => stack.table.clone(),
            "STATEMENT_PREFIX" => "tasker-test".into(),
            "WORKGROUP_NAME" => "etl-wg".into(),
            "DATABASE" => "dev".into(),
            "SECRET_ARN" => "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl".into(),
            _ => return None,
        })
    };
    let serverless = starter::Starter::new(&stack.sdk, starter::Starter::config(env).unwrap());
    let started = serverless
        .handle(&json!({"executionArn": "arn:wg", "sqlStatement": "select pg_sleep(30)"}))
        .await
        .unwrap();
    let described = serverless
        .handle(&json!({"action": "describeStatement", "statementId": "LATEST", "executionArn": "arn:wg"}))
        .await
        .unwrap();
    assert_eq!(described["Id"], started["statementId"]);
    assert_eq!(described["WorkgroupName"], "etl-wg");
    assert_eq!(
        described["SecretArn"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl"
    );
    let cancelled = serverless
        .handle(&json!({"action": "cancelStatement", "statementId": "LATEST", "executionArn": "arn:wg"}))
        .await
        .unwrap();
    assert_eq!(cancelled, json!({"Status": true}));
    tasker_tests::eventually("the statement is ABORTED", Duration::from_secs(10), || async {
        let d = serverless
            .handle(&json!({"action": "describeStatement", "statementId": started["statementId"].clone()}))
            .await
            .map_err(|e| e.to_string())?;
        (d["Status"] == "ABORTED").then_some(()).ok_or(d.to_string())
    })
    .await
    .unwrap();
    let err = serverless
        .handle(&json!({"action": "describeStatement", "statementId": "LATEST", "executionArn": "arn:none"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "StatementNotFound");
}
