//! The soak: N executions through the whole local flow with random faults at every step (events dropped and
//! duplicated; the starter dying right after its create, its `ExecuteStatement` or its `STARTED` update; the
//! completer's callback refused or applied with its answer lost), the sweeper on a one-second schedule. At the end,
//! counted on the Step Functions side: no execution lost, no task answered twice, and no SQL run twice.
//!
//! N is 200 in CI (`cargo test`); `SOAK_N=1000 cargo test -p tasker-tests --test soak -- --nocapture`
//! runs a thousand and prints the counts. The fan-out variant runs executions of a `Map` of three SQL states
//! (`SOAK_FANOUT_N`, 60 in CI), each iteration named by its index.

use futures::StreamExt;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tasker_tests::asl::machine;
use tasker_tests::front::{Chaos, FaultKind};
use tasker_tests::stack::{Stack, StackOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The SQL step, retried on the starter's own errors (a dead starter is a Lambda error to Step Functions), named
/// by `state_name` and inserting the value at `value_path`.
fn sql_step(state_name: serde_json::Value, value_path: &str) -> serde_json::Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
            "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
            "stateName.$": state_name, "stateEnteredTime.$": "$$.State.EnteredTime",
            "sqlStatement": "insert into soak values (:i)", "parameters": {"i.$": value_path}}},
        "HeartbeatSeconds": 90, "TimeoutSeconds": 120,
        "Retry": [{"ErrorEquals": ["StateTableError", "ServiceUnavailable", "InternalServerException", "Lambda.Unknown"],
                   "IntervalSeconds": 1, "MaxAttempts": 6, "BackoffRate": 1.0}]
    })
}

/// One SQL step per execution.
fn soak_machine() -> String {
    let mut step = sql_step(json!("$$.State.Name"), "$.i");
    step["Catch"] =
        json!([{"ErrorEquals": ["FAILED"], "ResultPath": "$.error", "Next": "SqlFailed"}]);
    step["Next"] = json!("Done");
    machine(json!({ "RunSql": step }), "RunSql")
}

/// A `Map` over `$.items` of the SQL step, each iteration its own state entry (`RunSql-<index>`).
fn fan_out_machine() -> String {
    let mut step = sql_step(json!("States.Format('RunSql-{}', $.index)"), "$.v");
    step["End"] = json!(true);
    let iteration = json!({"StartAt": "RunSql", "States": {"RunSql": step}});
    machine(
        json!({"Fan": {"Type": "Map", "ItemsPath": "$.items", "Iterator": iteration,
                       "Parameters": {"index.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
                       "ResultPath": "$.fan", "Next": "Done"}}),
        "Fan",
    )
}

fn chaos(
    front: &tasker_tests::front::Front,
    principal: &str,
    operation: &str,
    p: f64,
    kind: FaultKind,
) {
    front.chaos(Chaos {
        operation: operation.into(),
        principal: principal.into(),
        probability: p,
        kind,
        burst: 4,
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_or_doubled_under_random_faults() {
    let n = env_or("SOAK_N", 200);
    let inputs = (0..n).map(|i| json!({"i": i.to_string()})).collect();
    soak("soak", &soak_machine(), inputs, n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_map_of_sql_states_loses_and_doubles_nothing_under_random_faults() {
    let n = env_or("SOAK_FANOUT_N", 60);
    let inputs = (0..n)
        .map(|i| json!({"items": [(3 * i).to_string(), (3 * i + 1).to_string(), (3 * i + 2).to_string()]}))
        .collect();
    soak("soak-fan-out", &fan_out_machine(), inputs, 3 * n).await;
}

/// Runs one execution per input of `definition` under the faults, then counts: every execution succeeded, no task
/// answered twice, and each of the `statements` SQL values inserted exactly once.
async fn soak(name: &str, definition: &str, inputs: Vec<serde_json::Value>, statements: usize) {
    let n = inputs.len();
    let concurrency = env_or("SOAK_CONCURRENCY", 16);
    let started_at = Instant::now();
    // About faults, not throttling: as many starter slots as starts at once (a fan-out of three per execution).
    let stack = Stack::start(StackOptions {
        sweep_grace_seconds: 2,
        sweep_every: Some(Duration::from_secs(1)),
        starter_reserved_concurrency: Some(3 * concurrency as u32),
        ..Default::default()
    })
    .await
    .unwrap();
    let db = stack.sql().await.unwrap();
    db.batch_execute("create table soak (i int not null)")
        .await
        .unwrap();
    let sm = stack.create_state_machine(name, definition).await.unwrap();
    stack.event_faults(redshift_local::EventFaults {
        drop: 0.1,
        duplicate: 0.1,
        ..Default::default()
    });
    let f = &stack.front;
    chaos(
        f,
        "starter",
        "DynamoDB_20120810.PutItem",
        0.03,
        FaultKind::LostResponse,
    );
    chaos(
        f,
        "starter",
        "RedshiftData.ExecuteStatement",
        0.03,
        FaultKind::LostResponse,
    );
    chaos(
        f,
        "starter",
        "DynamoDB_20120810.UpdateItem",
        0.03,
        FaultKind::LostResponse,
    );
    chaos(
        f,
        "completer",
        "AWSStepFunctions.SendTaskSuccess",
        0.05,
        FaultKind::Refused,
    );
    chaos(
        f,
        "completer",
        "AWSStepFunctions.SendTaskSuccess",
        0.03,
        FaultKind::LostResponse,
    );

    let runs: Vec<_> = futures::stream::iter(inputs.into_iter().enumerate())
        .map(|(i, input)| {
            let stack = &stack;
            let sm = &sm;
            async move {
                let run = stack.run(sm, input, Duration::from_secs(150)).await;
                (i, run)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    stack.front.calm();

    let mut status: BTreeMap<String, usize> = BTreeMap::new();
    let mut arns = Vec::new();
    for (i, run) in &runs {
        match run {
            Ok(r) => {
                *status.entry(r.status.clone()).or_default() += 1;
                if r.status != "SUCCEEDED" {
                    eprintln!("execution {i}: {} {:?} {}", r.status, r.error, r.arn);
                }
                arns.push(r.arn.clone());
            }
            Err(e) => {
                *status.entry("STUCK".into()).or_default() += 1;
                eprintln!("execution {i}: {e:#}");
            }
        }
    }
    // Double callbacks: any answer sent to a task after its caller had seen an earlier answer accepted (the front
    // refuses it as Step Functions would, so it is counted where it was sent). A resend after a lost answer is
    // not one: its sender never saw the first accepted. An answer is lost when the fault says so, and also when
    // its caller had stopped waiting (the SDK's attempt or operation timeout, `tasker_aws::clients::call_timeouts`)
    // before the front, slowed by the load on 2 cores, accepted it.
    let calls = stack.front.calls();
    let timeouts = tasker_aws::clients::call_timeouts();
    let attempt_limit = timeouts
        .operation_attempt_timeout()
        .expect("an attempt timeout");
    let operation_limit = timeouts.operation_timeout().expect("an operation timeout");
    let callbacks: Vec<_> = calls
        .iter()
        .filter(|c| c.operation.starts_with("AWSStepFunctions.SendTask"))
        .collect();
    let task_of = |c: &tasker_tests::front::Call| {
        let token = c.body["taskToken"].as_str().unwrap_or_default();
        token.rsplit_once('~').map_or(token, |(t, _)| t).to_string()
    };
    let abandoned = |c: &tasker_tests::front::Call| {
        let held = c.at.duration_since(c.received).unwrap_or_default();
        // The operation began with the first attempt the same caller made for the task within one operation.
        let began = callbacks
            .iter()
            .filter(|o| o.principal == c.principal && task_of(o) == task_of(c))
            .map(|o| o.received)
            .filter(|r| {
                *r <= c.received
                    && c.received.duration_since(*r).unwrap_or_default() < operation_limit
            })
            .min()
            .unwrap_or(c.received);
        held >= attempt_limit || c.at.duration_since(began).unwrap_or_default() >= operation_limit
    };
    let mut answered: BTreeMap<String, (bool, usize, usize)> = BTreeMap::new();
    for c in &callbacks {
        let e = answered.entry(task_of(c)).or_default();
        if e.0 {
            e.1 += 1;
        }
        let lost = c.fault == Some(FaultKind::LostResponse)
            || (c.status < 300 && c.fault.is_none() && abandoned(c));
        if c.status < 300 && c.fault.is_none() && !lost {
            e.0 = true;
        }
        if lost {
            e.2 += 1;
        }
    }
    let doubled_tokens = answered.values().filter(|(_, after, _)| *after > 0).count();
    let resent_after_lost_answer = answered.values().filter(|(_, _, lost)| *lost > 0).count();
    // What happened to each execution that did not succeed and each task answered twice, for the failure message.
    let mut suspects: Vec<String> = answered
        .iter()
        .filter(|(_, (_, after, _))| *after > 0)
        .map(|(t, _)| t.clone())
        .collect();
    // The statements of tasks answered twice (their name is in the callback's output).
    for c in &calls {
        if c.operation.starts_with("AWSStepFunctions.SendTask")
            && suspects.iter().any(|t| {
                c.body["taskToken"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(t.as_str())
            })
        {
            let output: serde_json::Value =
                serde_json::from_str(c.body["output"].as_str().unwrap_or("{}")).unwrap_or_default();
            if let Some(name) = output["statementName"].as_str() {
                suspects.push(name.to_string());
            }
        }
    }
    for (_, run) in &runs {
        if let Ok(r) = run {
            if r.status != "SUCCEEDED" {
                for rec in stack.records(&r.arn).await.unwrap() {
                    eprintln!("  record {rec:?}");
                    suspects.push(rec.statement_name.clone());
                    suspects.extend(rec.task_token.clone());
                }
                suspects.push(r.arn.clone());
            }
        }
    }
    for c in calls.iter().filter(|c| c.principal != "test") {
        let body = c.body.to_string();
        if suspects.iter().any(|s| body.contains(s.as_str())) {
            eprintln!(
                "  call {} {} {} {:?} {}",
                c.principal,
                c.operation,
                c.status,
                c.fault,
                body.chars().take(300).collect::<String>()
            );
        }
    }
    let ran: Vec<(i32, i64)> = db
        .query("select i, count(*) from soak group by i", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let sql_doubled = ran.iter().filter(|(_, k)| *k > 1).count();
    let faults: BTreeMap<String, usize> = calls
        .iter()
        .filter_map(|c| {
            c.fault
                .map(|k| format!("{} {:?} {}", c.principal, k, c.operation))
        })
        .fold(BTreeMap::new(), |mut m, k| {
            *m.entry(k).or_default() += 1;
            m
        });
    let stats = stack.redshift_stats().await.unwrap();
    let succeeded = status.get("SUCCEEDED").copied().unwrap_or(0);
    println!(
        "{name}: {n} executions, {statements} statements, in {:.1} s (concurrency {concurrency}); outcomes {status:?}; lost {}; \
         tasks answered twice {doubled_tokens} (tasks with a lost answer {resent_after_lost_answer}); \
         SQL run twice {sql_doubled}; SQL rows {}",
        started_at.elapsed().as_secs_f64(),
        n - succeeded,
        ran.len()
    );
    println!(
        "{name}: events {}; faulted calls (each fault is a burst of 4 attempts) {faults:?}",
        stats["events"]
    );
    assert_eq!(succeeded, n, "every execution succeeded: {status:?}");
    assert_eq!(doubled_tokens, 0, "no task answered twice");
    assert_eq!(ran.len(), statements, "every statement's SQL ran");
    assert_eq!(sql_doubled, 0, "no SQL ran twice");
    assert!(
        stats["events"]["dropped"].as_u64().unwrap_or(0) > 0 && !faults.is_empty(),
        "faults were injected: {stats} {faults:?}"
    );
}
