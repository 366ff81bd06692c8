//! State machine definitions the tests build: the recommended SQL state of docs/design.md ("Recommended state") around a payload.

use serde_json::{json, Value};

/// The recommended SQL state of docs/design.md ("Recommended state"), with `payload` merged into its `Payload`.
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

/// The native polling pattern users write without this tasker: `aws-sdk:redshiftdata:executeStatement` (state
/// `Execute`), then Wait `interval` seconds -> `describeStatement` -> Choice until the status is final, then
/// `next` (or `SqlFailed`). On the local stack's cluster, database and user.
pub fn native_polling_states(sql: &str, interval: u32, next: &str) -> Value {
    let task = |action: &str, parameters: Value, result: &str, next: &str| {
        json!({
            "Type": "Task",
            "Resource": format!("arn:aws:states:::aws-sdk:redshiftdata:{action}"),
            "Parameters": parameters, "ResultPath": result, "Next": next
        })
    };
    let ended = |status: &str, next: &str| json!({"Variable": "$.described.Status", "StringEquals": status, "Next": next});
    json!({
        "Execute": task(
            "executeStatement",
            json!({"ClusterIdentifier": crate::names::CLUSTER, "Database": crate::names::DATABASE,
                   "DbUser": crate::names::DB_USER, "Sql": sql}),
            "$.statement",
            "Wait"
        ),
        "Wait": {"Type": "Wait", "Seconds": interval, "Next": "Describe"},
        "Describe": task("describeStatement", json!({"Id.$": "$.statement.Id"}), "$.described", "Check"),
        "Check": {
            "Type": "Choice",
            "Choices": [ended("FINISHED", next), ended("FAILED", "SqlFailed"), ended("ABORTED", "SqlFailed")],
            "Default": "Wait"
        }
    })
}

/// The native long-poll pattern, the strongest alternative to this tasker: `aws-sdk:redshiftdata:executeStatement`
/// with `WaitTimeSeconds` 30 (state `Execute`), then a Choice on the status it answers, and while the statement
/// runs `describeStatement` with `WaitTimeSeconds` 30 and the Choice again; no `Wait` state. The Data API holds
/// each reply until the statement ends or 30 s pass (its service model: `WaitTimeSeconds`, 1 to 30, on
/// `ExecuteStatement` and `DescribeStatement`), so the step ends with the statement and costs two transitions per
/// 30 s. On the local stack's cluster, database and user.
pub fn native_long_poll_states(sql: &str, next: &str) -> Value {
    let ended = |status: &str, next: &str| json!({"Variable": "$.statement.Status", "StringEquals": status, "Next": next});
    json!({
        "Execute": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:redshiftdata:executeStatement",
            "Parameters": {"ClusterIdentifier": crate::names::CLUSTER, "Database": crate::names::DATABASE,
                           "DbUser": crate::names::DB_USER, "Sql": sql, "WaitTimeSeconds": 30},
            "ResultPath": "$.statement", "Next": "Check"
        },
        "Check": {
            "Type": "Choice",
            "Choices": [ended("FINISHED", next), ended("FAILED", "SqlFailed"), ended("ABORTED", "SqlFailed")],
            "Default": "Describe"
        },
        "Describe": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:redshiftdata:describeStatement",
            "Parameters": {"Id.$": "$.statement.Id", "WaitTimeSeconds": 30},
            "ResultPath": "$.statement", "Next": "Check"
        }
    })
}

/// A fan-out: a `Map` over `$.items` (`{sql}` each, at most 40 at once, an inline `Map`'s largest fan-out) of the
/// recommended SQL state, named `RunSql-<index>`, with the seed's `Retry` on `Lambda.TooManyRequestsException`
/// (1 s, x1.5, 10 attempts); `wait_seconds` puts each start on the fast path. Each iteration's output is the
/// statement's. Input: [`map_items`].
pub fn map_of_sql(wait_seconds: Option<u32>) -> String {
    let mut payload = json!({
        "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
        "stateName.$": "States.Format('RunSql-{}', $.index)",
        "stateEnteredTime.$": "$$.State.EnteredTime", "sqlStatement.$": "$.sql"
    });
    if let Some(w) = wait_seconds {
        payload["waitSeconds"] = json!(w);
    }
    let iteration = json!({"StartAt": "RunSql", "States": {
        "RunSql": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": payload},
            "HeartbeatSeconds": 120, "TimeoutSeconds": 600,
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                       "MaxAttempts": 10, "BackoffRate": 1.5}],
            "End": true
        }
    }});
    json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 40, "Iterator": iteration, "End": true,
                "Parameters": {"index.$": "$$.Map.Item.Index", "sql.$": "$$.Map.Item.Value.sql"}}
    }})
    .to_string()
}

/// The input of [`map_of_sql`]: `n` items running `sql`.
pub fn map_items(n: usize, sql: &str) -> Value {
    json!({"items": (0..n).map(|_| json!({"sql": sql})).collect::<Vec<_>>()})
}
