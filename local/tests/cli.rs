//! The `tasker-local` command's own errors: each names what is wrong before (or instead of) a run, and a
//! definition Step Functions refuses shows Step Functions' message.

use std::process::Command;

fn tasker_local(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tasker-local"))
        .args(args)
        .output()
        .expect("tasker-local runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn help_lists_the_three_commands() {
    let (ok, text) = tasker_local(&["--help"]);
    assert!(ok, "{text}");
    for command in ["trial", "run", "up", "--binaries", "--report"] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
}

#[test]
fn a_missing_definition_file_is_named() {
    let (ok, text) = tasker_local(&["run", "--definition", "/nonexistent/machine.json"]);
    assert!(!ok);
    assert!(
        text.contains("--definition /nonexistent/machine.json") && text.contains("No such file"),
        "{text}"
    );
}

#[test]
fn a_definition_or_input_that_is_not_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "StartAt: RunSql").unwrap();
    let (ok, text) = tasker_local(&["run", "--definition", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("not JSON (Amazon States Language)"), "{text}");

    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    let (ok, text) = tasker_local(&[
        "run",
        "--definition",
        good.to_str().unwrap(),
        "--input",
        "{oops",
    ]);
    assert!(!ok);
    assert!(text.contains("--input is not JSON"), "{text}");
}

#[test]
fn a_definition_step_functions_rejects_shows_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let rejected = dir.path().join("rejected.json");
    // Valid JSON, invalid Amazon States Language: no such state type.
    std::fs::write(
        &rejected,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Bogus"}}}"#,
    )
    .unwrap();
    let (ok, text) = tasker_local(&["run", "--definition", rejected.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("Step Functions rejected"), "{text}");
    assert!(
        text.contains("mismatched input '\"Bogus\"'"),
        "Step Functions' own message is shown: {text}"
    );
}

#[test]
fn run_reports_json_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let machine = dir.path().join("machine.json");
    std::fs::write(
        &machine,
        r#"{"StartAt": "Sql", "States": {"Sql": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
                "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
                "stateName.$": "$$.State.Name", "stateEnteredTime.$": "$$.State.EnteredTime",
                "sqlStatement.$": "$.sql", "resultRows": 1}},
            "TimeoutSeconds": 60, "End": true}}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tasker-local"))
        .args([
            "--report",
            "json",
            "run",
            "--definition",
            machine.to_str().unwrap(),
        ])
        .args(["--input", r#"{"sql": "select 41 + 1 as answer"}"#])
        .output()
        .expect("tasker-local runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the JSON report ({e}); stderr:\n{stderr}"));
    assert_eq!(report["command"], "run");
    assert_eq!(report["ok"], true);
    let step = &report["steps"][0];
    assert_eq!(step["status"], "SUCCEEDED");
    assert_eq!(step["states"], serde_json::json!(["Sql"]));
    assert_eq!(
        step["output"]["records"],
        serde_json::json!([{"answer": 42}])
    );
    assert_eq!(step["records"][0]["status"], "FINISHED");
}
