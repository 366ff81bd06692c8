//! The real binaries, not the in-process handlers: `starter`, `completer` and `canceller` as built by cargo
//! (the same sources `sam build` packages), each a process behind a local Lambda Runtime API, run the example
//! state machine: a statement that succeeds, and one past its heartbeat that `cancelSlowQuery` cancels.

use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use tasker_core::record::RecordStatus;
use tasker_tests::stack::{Stack, StackOptions};
use tasker_tests::workspace_root;

/// Where `cargo test --workspace` put the workspace's binaries.
fn binaries() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("debug");
    for b in ["starter", "completer", "canceller"] {
        assert!(
            dir.join(b).exists(),
            "{} is missing: build the workspace first (cargo build --workspace)",
            dir.join(b).display()
        );
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binaries_run_the_example_state_machine() {
    let stack = Stack::start(StackOptions {
        binaries: Some(binaries()),
        ..Default::default()
    })
    .await
    .unwrap();
    let example =
        std::fs::read_to_string(workspace_root().join("infra/statemachines/example.asl.json"))
            .unwrap();
    let sm = stack
        .create_state_machine("example-binaries", &example)
        .await
        .unwrap();
    let run = stack
        .run(
            &sm,
            json!({"sql": "select 41 + 1 as answer", "heartbeatSeconds": 30}),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["result"]["state"], "FINISHED");
    assert_eq!(run.output["result"]["rows"], 1);

    let run = stack
        .run(
            &sm,
            json!({"sql": "select pg_sleep(60)", "heartbeatSeconds": 2}),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(run.error.as_deref(), Some("SqlTimedOut"), "{run:?}");
    assert_eq!(run.output, serde_json::Value::Null);
    let record = stack
        .settled(&run.arn, Duration::from_secs(30))
        .await
        .unwrap();
    // AWS refuses an answer on the timed-out token (TaskTimedOut: ORPHANED); moto's Step Functions accepts it
    // (ABORTED). Either way the execution had already moved on through its Catch.
    assert!(
        matches!(
            record.status,
            RecordStatus::Orphaned | RecordStatus::Aborted
        ),
        "{record:?}"
    );
    assert!(record.cancel_requested_at.is_some());
    // The calls came from the binaries' own SDK clients, each signed as its function.
    let by = |who: &str| {
        stack
            .front
            .calls()
            .iter()
            .filter(|c| c.principal == who)
            .count()
    };
    assert!(by("starter") >= 6 && by("completer") >= 4 && by("canceller") >= 3);
}
