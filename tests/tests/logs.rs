//! The logs of a full run, through the functions' own logging set-up: structured JSON, one event per decision, and
//! never the SQL text, a parameter value or a whole task token, not even when a payload puts them in the wrong field.

use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasker_tests::stack::{Stack, StackOptions};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_run_logs_decisions_but_no_sql_and_no_token() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tasker_aws::runtime::init_logging_with(
        |k| (k == "AWS_LAMBDA_LOG_LEVEL").then(|| "INFO".to_string()),
        move || writer.clone(),
    );
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let sql = "select 'secret-marker-4711' as marker";
    let state = json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
            "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id", "sqlStatement": sql}},
        "HeartbeatSeconds": 60, "TimeoutSeconds": 120, "End": true
    });
    let sm = stack
        .create_state_machine(
            "logs",
            &json!({"StartAt": "RunSql", "States": {"RunSql": state}}).to_string(),
        )
        .await
        .unwrap();
    let run = stack
        .run(&sm, json!({}), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED");
    let token = stack
        .front
        .calls()
        .into_iter()
        .find(|c| c.operation == "Lambda.Invoke:starter")
        .and_then(|c| c.body["taskToken"].as_str().map(str::to_string))
        .expect("the starter's payload");
    // Wrongly typed fields: the refusal names the field and the expected type, never the value.
    for (payload, field) in [
        (
            json!({"executionArn": "a", "sqlStatement": 4711_0815}),
            "sqlStatement",
        ),
        (
            json!({"executionArn": "a", "sqlStatements": "select 'secret-marker-4711'"}),
            "sqlStatements",
        ),
        (
            json!({"executionArn": "a", "sqlStatement": "s", "parameters": "secret-marker-4711"}),
            "parameters",
        ),
        (
            json!({"executionArn": "a", "sqlStatement": "s", "parameters": {"p": {"v": "secret-marker-4711"}}}),
            "parameters",
        ),
        (
            json!({"executionArn": "a", "sqlStatement": "s", "resultRows": "secret-marker-4711"}),
            "resultRows",
        ),
        (
            json!({"action": "secret-marker-4711", "sqlStatement": "s"}),
            "action",
        ),
    ] {
        let err = stack.starter.handle(&payload).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput");
        let message = err.to_string();
        assert!(message.contains(field), "{message:?} names {field}");
        for value in ["secret-marker-4711", "47110815"] {
            assert!(!message.contains(value), "{message:?} echoes the value");
        }
    }
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.matches("\"decision\":\"rejected\"").count() >= 6,
        "each refusal is logged"
    );
    assert!(!text.contains("47110815"), "a misplaced value in the logs");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let decisions: Vec<&str> = events
        .iter()
        .filter_map(|e| e["decision"].as_str())
        .collect();
    for d in ["recorded", "started", "called_back"] {
        assert!(decisions.contains(&d), "no {d:?} decision in {decisions:?}");
    }
    assert!(!text.contains("secret-marker-4711"), "SQL text in the logs");
    assert!(!text.contains(&token), "a whole task token in the logs");
}
