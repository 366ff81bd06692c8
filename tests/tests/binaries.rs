//! The real binaries, not the in-process handlers: `starter`, `completer` and `canceller` as built by cargo
//! (the same sources `sam build` packages), each a process behind a local Lambda Runtime API, run the example
//! state machine: a statement that succeeds, one past its heartbeat that `cancelSlowQuery` cancels, and a refused
//! payload; their logs hold the CloudWatch embedded-metric documents with the counts of what happened.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tasker_core::metrics::{
    CALLBACK_LATENCY, CANCELLED, COLD_START, NAMESPACE, OUTCOME, REFUSED, SETTLED, STACK_DIMENSION,
    STARTED,
};
use tasker_core::record::RecordStatus;
use tasker_tests::eventually;
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

/// The metric documents in the functions' logs: per metric (and `Outcome`), the sum of its values; also the
/// sample count of `CallbackLatency`. Every document is checked for the EMF shape on the way.
fn metric_sums(logs: &Path) -> Result<BTreeMap<String, f64>, String> {
    let mut sums = BTreeMap::new();
    for function in ["starter", "completer", "canceller"] {
        let text = std::fs::read_to_string(logs.join(format!("{function}.log")))
            .map_err(|e| e.to_string())?;
        for line in text.lines() {
            let Ok(doc) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(emf) = doc.get("_aws") else {
                continue;
            };
            let directive = &emf["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], NAMESPACE, "{doc}");
            assert_eq!(doc[STACK_DIMENSION], "tasker-test", "{doc}");
            assert!(emf["Timestamp"].is_u64(), "{doc}");
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                let key = match doc.get(OUTCOME).and_then(Value::as_str) {
                    Some(outcome) => format!("{name}/{outcome}"),
                    None => name.to_string(),
                };
                let values: Vec<f64> = match &doc[name] {
                    Value::Array(v) => v.iter().filter_map(Value::as_f64).collect(),
                    v => v.as_f64().into_iter().collect(),
                };
                let add = if name == CALLBACK_LATENCY {
                    values.len() as f64
                } else {
                    values.iter().sum()
                };
                *sums.entry(key).or_insert(0.0) += add;
            }
        }
    }
    Ok(sums)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binaries_run_the_example_state_machine() {
    let logs = tempfile::Builder::new()
        .prefix("tasker-logs-")
        .tempdir()
        .unwrap();
    let stack = Stack::start(StackOptions {
        binaries: Some(binaries()),
        function_logs: Some(logs.path().to_path_buf()),
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

    // A refused payload: empty SQL.
    let run = stack
        .run(
            &sm,
            json!({"sql": "", "heartbeatSeconds": 30}),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(run.status, "FAILED", "{run:?}");

    // The metric documents, parsed: two statements started, one finished with its callback timed, one ended by
    // its cancel (ABORTED here, ORPHANED on AWS), one cancel, one refusal, a cold start per function.
    let ended = format!("{SETTLED}/{}", record.status.as_str());
    let want: BTreeMap<String, f64> = [
        (STARTED.to_string(), 2.0),
        (format!("{SETTLED}/FINISHED"), 1.0),
        (ended, 1.0),
        (
            CALLBACK_LATENCY.to_string(),
            1.0 + f64::from(u8::from(record.status == RecordStatus::Aborted)),
        ),
        (CANCELLED.to_string(), 1.0),
        (REFUSED.to_string(), 1.0),
        (COLD_START.to_string(), 3.0),
    ]
    .into();
    let sums = eventually(
        "the metric documents count what happened",
        Duration::from_secs(10),
        || async {
            let sums = metric_sums(logs.path())?;
            if sums == want {
                Ok(sums)
            } else {
                Err(format!("{sums:?}"))
            }
        },
    )
    .await
    .unwrap();
    println!("metrics: {sums:?}");
}

/// `LogLevel=trace` (the functions' `RUST_LOG`): the binaries log their own decisions in detail, but the Lambda
/// runtime (which logs whole invocation events at trace), the SDK and the HTTP stack (request and response bodies)
/// stay at `info`, so neither the SQL text, a result value nor a whole task token reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_log_level_trace_the_binaries_log_no_sql_no_rows_and_no_token() {
    let logs = tempfile::Builder::new()
        .prefix("tasker-trace-")
        .tempdir()
        .unwrap();
    let stack = Stack::start(StackOptions {
        binaries: Some(binaries()),
        function_logs: Some(logs.path().to_path_buf()),
        log_level: Some("trace".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let example =
        std::fs::read_to_string(workspace_root().join("infra/statemachines/example.asl.json"))
            .unwrap();
    let sm = stack
        .create_state_machine("example-trace", &example)
        .await
        .unwrap();
    let run = stack
        .run(
            &sm,
            json!({"sql": "select 'needle-sql-4711' as secret, 'row-value-0815' as v", "heartbeatSeconds": 30}),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let tokens: Vec<String> = stack
        .front
        .calls_of("AWSStepFunctions.SendTaskSuccess")
        .iter()
        .filter_map(|c| c.body["taskToken"].as_str().map(str::to_string))
        .collect();
    assert!(!tokens.is_empty());
    let mut text = String::new();
    for f in ["starter", "completer", "canceller"] {
        text += &std::fs::read_to_string(logs.path().join(format!("{f}.log"))).unwrap_or_default();
    }
    assert!(
        text.contains("\"decision\""),
        "the functions logged their decisions"
    );
    assert!(
        !text.contains("needle-sql-4711"),
        "the SQL text is in the logs"
    );
    assert!(
        !text.contains("row-value-0815"),
        "a result value is in the logs"
    );
    for token in tokens {
        assert!(!text.contains(&token), "a whole task token is in the logs");
    }
}
