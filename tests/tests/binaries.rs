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
use tasker_core::{statement_name, EntryKey, RecordStatus};
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

/// Values planted in every kind of input each function refuses or sets aside: payloads with wrongly typed or
/// unknown fields, an execution with no statement, custom-resource requests, cancel requests, and queue messages
/// that are malformed or foreign. Each is invoked (or queued) on the binaries; returns the planted values once
/// the functions have logged their decisions on all of them.
async fn refuse_planted_values(stack: &Stack, logs: &Path) -> Vec<&'static str> {
    const P: &str = "planted-7001";
    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:planted-7002:x";
    const URL: &str = "https://planted-7003.example.com/response";
    let starter = stack.front.invoker("starter");
    let canceller = stack.front.invoker("canceller");
    let cfn = |fields: Value| {
        let mut r = json!({"RequestType": "Create", "ResponseURL": URL, "StackId": P, "RequestId": P,
            "LogicalResourceId": P, "ResourceType": "Custom::Sql", "ResourceProperties": {"CreateSql": P}});
        for (k, v) in fields.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let mut refused = Vec::new();
    for payload in [
        json!({"executionArn": ARN, "sqlStatement": {"p": P}}),
        json!({"executionArn": ARN, "sqlStatement": "select 1", "parameters": P}),
        json!({"executionArn": ARN, "sqlStatement": "select 1", "resultRows": P}),
        json!({"action": P, "sqlStatement": "select 1"}),
        json!({"action": "describeStatement", "executionArn": ARN}),
        json!({"action": "getStatementResult", "statementId": P}),
        json!({"taskToken": P.repeat(200), "executionArn": ARN, "sqlStatement": "select 1"}),
        cfn(json!({})),
        cfn(json!({"RequestType": P})),
        // SQL of the wrong type (checked before the URL, which is not CloudFormation's: nothing is PUT).
        cfn(json!({"ResourceProperties": {"CreateSql": 47110815}})),
    ] {
        refused.push(starter(payload).await.expect_err("refused").error_type);
    }
    for payload in [
        json!({"executionArn": {"p": P}}),
        json!({"executionArn": ARN, "stateName": 47110815}),
    ] {
        refused.push(canceller(payload).await.expect_err("refused").error_type);
    }
    assert!(
        refused
            .iter()
            .all(|t| t == "InvalidInput" || t == "StatementNotFound"),
        "{refused:?}"
    );
    let sqs = stack.sqs();
    let ours = statement_name(
        &stack.settings.prefix,
        &EntryKey::for_start(Some(ARN), None, None, "d", None, "i"),
    );
    let other_prefix = json!({"source": "aws.redshift-data", "detail-type": "Redshift Data Statement Status Change",
        "detail": {"statementName": format!("other-{P}"), "statementId": P, "state": "FINISHED"}});
    for body in [
        format!("{{\"source\": \"{P}"),
        json!({"source": P, "detail-type": P}).to_string(),
        json!({"source": "aws.redshift-data", "detail-type": "Redshift Data Statement Status Change",
            "detail": {"statementName": ours, "statementId": P, "state": P}}).to_string(),
        other_prefix.to_string(),
    ] {
        sqs.send_message()
            .queue_url(&stack.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // Two foreign messages deleted, two malformed ones retried: every one has been read and decided on.
    eventually(
        "the completer decided on every planted message",
        Duration::from_secs(30),
        || async {
            let log = std::fs::read_to_string(logs.join("completer.log")).unwrap_or_default();
            let foreign = log.matches("foreign_event_deleted").count();
            let malformed = log.matches("malformed_event_retried").count();
            if foreign >= 2 && malformed >= 2 {
                Ok(())
            } else {
                Err(format!("{foreign} foreign, {malformed} malformed"))
            }
        },
    )
    .await
    .unwrap();
    vec!["planted-7001", "planted-7002", "planted-7003", "47110815"]
}

/// `LogLevel=trace` (the functions' `RUST_LOG`): the binaries log their own decisions in detail, but the Lambda
/// runtime (which logs whole invocation events at trace), the SDK and the HTTP stack (request and response bodies)
/// stay at `info`, so neither the SQL text, a result value nor a whole task token reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_log_level_trace_the_binaries_log_no_sql_no_rows_no_token_and_no_planted_value() {
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
    let planted = refuse_planted_values(&stack, logs.path()).await;
    let mut text = String::new();
    for f in ["starter", "completer", "canceller"] {
        text += &std::fs::read_to_string(logs.path().join(format!("{f}.log"))).unwrap_or_default();
    }
    assert!(
        text.contains("\"decision\""),
        "the functions logged their decisions"
    );
    for value in planted {
        assert!(
            !text.contains(value),
            "{value:?}, planted in an input, is in the logs"
        );
    }
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
