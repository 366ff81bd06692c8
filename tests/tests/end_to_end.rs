//! The product end to end on the local stack: real state machine executions in moto's Step Functions, our real
//! handlers behind its Lambda tasks, real SQL on PostgreSQL through redshift-local, completion events through
//! moto's EventBridge and SQS to the completer.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_core::record::RecordStatus;
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The recommended SQL state of DESIGN section 8, with `payload` merged into its `Payload`.
fn sql_state(payload: Value, next: &str) -> Value {
    let mut p = json!({
        "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
        "stateName.$": "$$.State.Name", "stateEnteredTime.$": "$$.State.EnteredTime"
    });
    p.as_object_mut()
        .unwrap()
        .extend(payload.as_object().unwrap().clone());
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": p},
        "HeartbeatSeconds": 60, "TimeoutSeconds": 120,
        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1.5}],
        "Catch": [{"ErrorEquals": ["FAILED"], "ResultPath": "$.error", "Next": "SqlFailed"}],
        "Next": next
    })
}

fn machine(states: Value, start: &str) -> String {
    let mut states = states;
    let s = states.as_object_mut().unwrap();
    s.insert(
        "SqlFailed".into(),
        json!({"Type": "Fail", "Error": "SqlFailed"}),
    );
    s.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": start, "States": states}).to_string()
}

async fn stack() -> Stack {
    Stack::start(StackOptions::default())
        .await
        .expect("local stack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn select_succeeds_with_output_and_finished_record() {
    let stack = stack().await;
    let db = stack.sql().await.unwrap();
    db.batch_execute("create table sales(id int, amount numeric(10,2)); insert into sales values (1, 10.50), (2, 3.25)")
        .await
        .unwrap();
    let sm = stack
        .create_state_machine("select", &machine(json!({"RunSql": sql_state(json!({"sqlStatement": "select count(*) from sales"}), "Done")}), "RunSql"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.status, RecordStatus::Finished);
    assert_eq!(record.state_name.as_deref(), Some("RunSql"));
    assert!(record.settled_at.is_some());
    // The task output (section 5) is in the execution history's TaskSucceeded event.
    let history = stack
        .sfn()
        .get_execution_history()
        .execution_arn(&run.arn)
        .send()
        .await
        .unwrap();
    let output: Value = history
        .events()
        .iter()
        .find_map(|e| e.task_succeeded_event_details().and_then(|d| d.output()))
        .map(|o| serde_json::from_str(o).unwrap())
        .expect("a TaskSucceeded event");
    assert_eq!(output["statementName"], json!(record.statement_name));
    assert_eq!(
        output["statementId"],
        json!(record.statement_id.clone().unwrap())
    );
    assert_eq!(output["state"], "FINISHED");
    assert_eq!(output["rows"], 1);
    assert_eq!(output["hasResultSet"], true);
    assert!(output["durationMs"].as_i64().unwrap() >= 0);
    assert!(output.get("records").is_none());
}
