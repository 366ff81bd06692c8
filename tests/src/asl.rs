//! State machine definitions the tests build: the recommended SQL state of DESIGN section 8 around a payload.

use serde_json::{json, Value};

/// The recommended SQL state of DESIGN section 8, with `payload` merged into its `Payload`.
pub fn sql_state(payload: Value, next: &str) -> Value {
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

/// A state machine of `states` plus the `SqlFailed` and `Done` states they end in.
pub fn machine(states: Value, start: &str) -> String {
    let mut states = states;
    let s = states.as_object_mut().unwrap();
    s.insert(
        "SqlFailed".into(),
        json!({"Type": "Fail", "Error": "SqlFailed"}),
    );
    s.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": start, "States": states}).to_string()
}
