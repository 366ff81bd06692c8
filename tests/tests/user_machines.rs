//! State machines as users write them run locally as on AWS: a Choice on a result row by array index
//! (`$.result.records[0].n`), and the same step and branch written in JSONata. Both need a bridge in
//! `local/moto_server.py` (moto 5.2.5 returns `[2]` for that path, and has no JSONata evaluator).

use serde_json::{json, Value};
use std::time::Duration;
use tasker_core::RecordStatus;
use tasker_tests::asl::{machine, sql_state};
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The SQL both machines run: one row whose `n` is the execution input's `n`.
const SQL: &str = "select cast(:n as int) as n";

/// The JSONPath machine's branch states, each noting its name in `$.branch`.
fn branches() -> Value {
    json!({
        "Two": {"Type": "Pass", "Result": "two", "ResultPath": "$.branch", "End": true},
        "Other": {"Type": "Pass", "Result": "other", "ResultPath": "$.branch", "End": true}
    })
}

/// Runs `definition` once per input `n`, returning each execution's output (each must succeed and settle its
/// statement `FINISHED`).
async fn run_each(stack: &Stack, name: &str, definition: &str, inputs: &[i64]) -> Vec<Value> {
    let sm = stack.create_state_machine(name, definition).await.unwrap();
    let mut outputs = Vec::new();
    for n in inputs {
        let run = stack.run(&sm, json!({"n": n}), TIMEOUT).await.unwrap();
        assert_eq!(run.status, "SUCCEEDED", "n = {n}: {run:?}");
        let record = stack.settled(&run.arn, TIMEOUT).await.unwrap();
        assert_eq!(record.status, RecordStatus::Finished, "{record:?}");
        outputs.push(run.output);
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_choice_on_a_result_row_by_array_index_takes_the_right_branch() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let mut run_sql = sql_state(
        json!({"sqlStatement": SQL, "parameters": {"n.$": "$.n"}, "resultRows": 1}),
        "Branch",
    );
    run_sql["ResultPath"] = json!("$.result");
    let mut states = branches();
    states["RunSql"] = run_sql;
    states["Branch"] = json!({
        "Type": "Choice",
        "Choices": [{"Variable": "$.result.records[0].n", "NumericEquals": 2, "Next": "Two"}],
        "Default": "Other"
    });
    let outputs = run_each(&stack, "choice-on-row", &machine(states, "RunSql"), &[2, 3]).await;
    assert_eq!(outputs[0]["result"]["records"], json!([{"n": 2}]));
    assert_eq!(outputs[0]["branch"], "two", "{}", outputs[0]);
    assert_eq!(outputs[1]["branch"], "other", "{}", outputs[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jsonata_machine_runs_the_starter_and_branches_on_the_row() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // The README's recommended state in JSONata: `Arguments` instead of `Parameters`, `{% %}` instead of `.$`.
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "RunSql",
        "States": {
            "RunSql": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Arguments": {
                    "FunctionName": "${StarterFunctionArn}",
                    "Payload": {
                        "taskToken": "{% $states.context.Task.Token %}",
                        "executionArn": "{% $states.context.Execution.Id %}",
                        "stateName": "{% $states.context.State.Name %}",
                        "stateEnteredTime": "{% $states.context.State.EnteredTime %}",
                        "sqlStatement": SQL, "parameters": {"n": "{% $states.input.n %}"}, "resultRows": 1
                    }
                },
                "HeartbeatSeconds": 60, "TimeoutSeconds": 120,
                "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1.5}],
                "Catch": [{"ErrorEquals": ["FAILED"], "Next": "SqlFailed"}],
                "Output": "{% $merge([$states.input, {'result': $states.result}]) %}",
                "Next": "Branch"
            },
            "Branch": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.result.records[0].n = 2 %}", "Next": "Two"}],
                "Default": "Other"
            },
            "Two": {"Type": "Pass", "Output": "{% $merge([$states.input, {'branch': 'two'}]) %}", "End": true},
            "Other": {"Type": "Pass", "Output": "{% $merge([$states.input, {'branch': 'other'}]) %}", "End": true},
            "SqlFailed": {"Type": "Fail", "Error": "SqlFailed"}
        }
    });
    let outputs = run_each(&stack, "jsonata", &definition.to_string(), &[2, 3]).await;
    assert_eq!(
        outputs[0]["result"]["records"],
        json!([{"n": 2}]),
        "{}",
        outputs[0]
    );
    assert_eq!(outputs[0]["result"]["state"], "FINISHED");
    assert_eq!(outputs[0]["branch"], "two", "{}", outputs[0]);
    assert_eq!(outputs[1]["result"]["records"], json!([{"n": 3}]));
    assert_eq!(outputs[1]["branch"], "other", "{}", outputs[1]);
    // The starter got the context JSONata put in its payload (the front logs it with its attempt token).
    let payload = stack
        .invocation_payload("starter", None, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(payload["stateName"], "RunSql", "{payload}");
    assert!(
        payload["taskToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{payload}"
    );
}
