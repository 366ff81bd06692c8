//! Where AWS is stricter than the local peers, the product keeps to AWS: a failure cause within `SendTaskFailure`'s
//! 32,768 characters, result rows within a budget that leaves room for the state's input, and the seed's actions
//! by id only on this deployment's own statements.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_core::MAX_CAUSE_CHARS;
use tasker_tests::stack::{signed_as, Stack, StackOptions, CLUSTER, DATABASE, DB_USER, ROLE};

const TIMEOUT: Duration = Duration::from_secs(60);

fn sql_state(payload: Value, result_path: &str) -> Value {
    let mut p = json!({"taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
                       "stateName.$": "$$.State.Name", "stateEnteredTime.$": "$$.State.EnteredTime"});
    p.as_object_mut()
        .unwrap()
        .extend(payload.as_object().unwrap().clone());
    json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": p},
        "HeartbeatSeconds": 60, "TimeoutSeconds": 120, "ResultPath": result_path,
        "Catch": [{"ErrorEquals": ["FAILED"], "ResultPath": "$.error", "Next": "Caught"}],
        "Next": "Done"
    })
}

async fn run_one(
    stack: &Stack,
    name: &str,
    state: Value,
    input: Value,
) -> tasker_tests::stack::Execution {
    let definition = json!({"StartAt": "RunSql", "States": {
        "RunSql": state, "Caught": {"Type": "Succeed"}, "Done": {"Type": "Succeed"}}});
    let sm = stack
        .create_state_machine(name, &definition.to_string())
        .await
        .unwrap();
    stack.run(&sm, input, TIMEOUT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_100000_character_error_reaches_the_task_as_a_cause_within_the_limit() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // PostgreSQL quotes the whole value in its error: 100,000 characters of error text.
    let state = sql_state(
        json!({"sqlStatement": "select repeat('x', 100000)::int"}),
        "$.result",
    );
    let run = run_one(&stack, "long-error", state, json!({})).await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["error"]["Error"], "FAILED");
    let (failure, _) = stack.front.first_task_failure().expect("a SendTaskFailure");
    assert!(
        failure.status < 300,
        "Step Functions took it: {}",
        failure.status
    );
    let cause = failure.body["cause"].as_str().unwrap();
    let chars = cause.chars().count();
    assert!(
        (MAX_CAUSE_CHARS - 200..=MAX_CAUSE_CHARS).contains(&chars),
        "{chars} characters"
    );
    let cause: Value = serde_json::from_str(cause).expect("the cut cause is JSON");
    let error = cause["error"].as_str().unwrap();
    assert!(
        error.contains("invalid input syntax") && error.ends_with('…'),
        "{}",
        &error[..60]
    );
    assert_eq!(cause["detail"]["error"], cause["error"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_past_the_budget_are_cut_and_the_merged_state_stays_under_256_kib() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let rows = "select i, repeat('r', 1000) as pad from generate_series(1, 1000) as i";
    // A state input of 150 KiB, merged with the output by ResultPath: the default 64 KiB budget leaves room.
    let input = json!({"context": "c".repeat(150 * 1024)});
    let state = sql_state(
        json!({"sqlStatement": rows, "resultRows": 1000}),
        "$.result",
    );
    let run = run_one(&stack, "big-result", state, input).await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let result = &run.output["result"];
    assert_eq!(result["truncated"], true);
    let kept = result["records"].as_array().unwrap().len();
    assert!((50..70).contains(&kept), "{kept} rows in 64 KiB");
    assert!(result.to_string().len() <= 64 * 1024 + 2048);
    let state_size = run.output.to_string().len();
    assert!(state_size < 256 * 1024, "{state_size} bytes");

    // getStatementResult keeps its output under the same 240 KiB cap.
    let out = stack
        .starter
        .handle(&json!({"action": "getStatementResult", "statementId": "LATEST", "executionArn": run.arn}))
        .await
        .unwrap();
    assert_eq!(out["Truncated"], true);
    assert!(
        out.to_string().len() <= 240 * 1024 + 2048,
        "{}",
        out.to_string().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_actions_by_id_refuse_statements_this_deployment_did_not_start() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // A statement someone else started on the same cluster, even under the same role.
    let data =
        aws_sdk_redshiftdata::Client::new(&signed_as(&stack.front.url(), ROLE, Some("other")));
    let foreign = data
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sql("select 'another team''s data'")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    for action in ["describeStatement", "getStatementResult", "cancelStatement"] {
        let err = stack
            .starter
            .handle(&json!({"action": action, "statementId": foreign}))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput", "{action}");
        assert!(err.to_string().contains("statementId"), "{err}");
    }
    // Its own: the Data API's shape, as the seed returned it.
    let own = stack
        .starter
        .handle(&json!({"executionArn": "arn:own", "sqlStatement": "select 1"}))
        .await
        .unwrap();
    let d = stack
        .starter
        .handle(&json!({"action": "describeStatement", "statementId": own["statementId"]}))
        .await
        .unwrap();
    assert_eq!(d["Id"], own["statementId"]);
    assert!(
        d["Status"].is_string() && d["CreatedAt"].as_str().unwrap().ends_with('Z'),
        "{d}"
    );
}
