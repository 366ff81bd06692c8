//! Figures of the whole flow on the local stack (BENCHMARKS.md): the side-by-side of the event path, the fast
//! path and the native polling pattern on the same statements (latency from the statement's end to the next
//! state, p50/p99; state transitions and Data API calls per statement; `SHORT_N`, `FIVE_N`, `THIRTY_N`
//! executions each), the completer's batch-of-10 concurrency, and the throughput of one starter (reserved
//! concurrency 1: one start after the other).
//!
//! `cargo run -p tasker-tests --example flow_bench` (also run by `bash scripts/bench.sh`).

use futures::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};
use tasker_tests::stack::{Stack, StackOptions};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How a step waits for its statement.
#[derive(Clone, Copy)]
enum Pattern {
    /// This tasker, answered by the completer from the completion event; `window` is the completer's SQS
    /// batching window (the template sets none).
    Event { window_seconds: u64 },
    /// This tasker with payload `waitSeconds`: the starter answers a statement that ends while it waits.
    Fast { wait_seconds: u32 },
    /// What users write without it: `aws-sdk:redshiftdata` execute, then Wait -> describe -> Choice.
    Polling { interval: u32 },
    /// The strongest alternative: execute and describe with `WaitTimeSeconds` 30, a Choice, no Wait state.
    LongPoll,
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Event { window_seconds: 0 } => write!(f, "event path"),
            Pattern::Event { window_seconds } => {
                write!(f, "event path, {window_seconds} s batching window")
            }
            Pattern::Fast { wait_seconds } => write!(f, "fast path (waitSeconds {wait_seconds})"),
            Pattern::Polling { interval } => write!(f, "native polling, {interval} s interval"),
            Pattern::LongPoll => write!(f, "native long-poll (WaitTimeSeconds 30)"),
        }
    }
}

/// One cell of the side-by-side table.
struct Cell {
    /// Statement end -> the next state's `StateEntered` (what the user sees).
    latencies_ms: Vec<f64>,
    /// Statement end -> the answer reaching the front: our `SendTaskSuccess`, or for the native patterns the
    /// Data API reply that carried the final status (what the code, ours or the Data API's, controls).
    answer_ms: Vec<f64>,
    transitions: f64,
    data_api_calls: f64,
    /// The median time one plain AWS call took at the front during the cell (DynamoDB, and Data API calls that do
    /// not wait): the per-call latency the physical limit is counted in.
    call_ms: f64,
    /// What a statement costs, per statement: the billable calls the front saw (BENCHMARKS.md, "Cost").
    counts: std::collections::BTreeMap<&'static str, f64>,
}

/// The billable calls among `calls`, per statement over `n`: Lambda requests and run time (what Lambda bills as
/// GB-seconds), DynamoDB reads and writes (each item here is under 1 KB: one request unit each), SQS requests (the
/// poller's receives and deletes; EventBridge's delivery is one more per event, added by `bench/cost.py`), and
/// the Data API's calls (free, shown for the quota).
fn billable(
    calls: &[tasker_tests::front::Call],
    n: usize,
    transitions: f64,
) -> std::collections::BTreeMap<&'static str, f64> {
    let mut m = std::collections::BTreeMap::new();
    let mut add = |k: &'static str, v: f64| *m.entry(k).or_insert(0.0) += v / n as f64;
    for c in calls {
        let op = c.operation.as_str();
        if op.starts_with("Lambda.Invoke:") {
            add("lambda_requests", 1.0);
            let ms =
                c.at.duration_since(c.received)
                    .map(|d| d.as_secs_f64() * 1000.0)
                    .unwrap_or(0.0);
            add("lambda_ms", ms);
        } else if let Some(action) = op.strip_prefix("DynamoDB_20120810.") {
            match action {
                "GetItem" | "Query" | "Scan" | "BatchGetItem" => add("dynamodb_reads", 1.0),
                _ => add("dynamodb_writes", 1.0),
            }
        } else if op.starts_with("AmazonSQS.") {
            add("sqs_requests", 1.0);
        } else if op.starts_with("RedshiftData.") {
            add("data_api_calls", 1.0);
        }
    }
    m.insert("transitions", transitions);
    m
}

/// Runs `n` executions of `pattern` on `sql`, 8 at a time, and measures each from the statement's end (the Data
/// API's `UpdatedAt`) to the next state's entry (`Done`'s `StateEntered` in the execution history), with the
/// state transitions (states entered) and Data API calls per statement.
async fn cell(stack: &Stack, pattern: Pattern, sql: &str, n: usize) -> anyhow::Result<Cell> {
    let name = format!("m{}", uuid::Uuid::new_v4().simple());
    let sm = match pattern {
        Pattern::Event { .. } | Pattern::Fast { .. } => {
            let mut payload = json!({"sqlStatement": sql});
            if let Pattern::Fast { wait_seconds } = pattern {
                payload["waitSeconds"] = json!(wait_seconds);
            }
            // The recommended state, with timeouts that let the 2-minute statement end.
            let mut state = tasker_tests::asl::sql_state(payload, "Done");
            state["TimeoutSeconds"] = json!(600);
            state["HeartbeatSeconds"] = json!(300);
            let definition = tasker_tests::asl::machine(json!({ "RunSql": state }), "RunSql");
            stack.create_state_machine(&name, &definition).await?
        }
        Pattern::Polling { .. } | Pattern::LongPoll => {
            let mut states = match pattern {
                Pattern::Polling { interval } => {
                    tasker_tests::asl::native_polling_states(sql, interval, "Done")
                }
                _ => tasker_tests::asl::native_long_poll_states(sql, "Done"),
            };
            // Each execution's SQL carries its own comment, so the front's log tells its Data API calls apart.
            let p = states["Execute"]["Parameters"].as_object_mut().unwrap();
            p.remove("Sql");
            p.insert("Sql.$".into(), json!("$.sql"));
            stack
                .create_state_machine(&name, &tasker_tests::asl::machine(states, "Execute"))
                .await?
        }
    };
    let began = SystemTime::now();
    let runs: Vec<_> = futures::stream::iter(0..n)
        .map(|_| {
            let input = json!({"sql": format!("{sql} /* {} */", uuid::Uuid::new_v4().simple())});
            let sm = &sm;
            async move {
                let run = stack.run(sm, input.clone(), Duration::from_secs(300)).await;
                (input, run)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // The completer settles just after the callback: let its last writes land before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls: Vec<_> = stack
        .front
        .calls()
        .into_iter()
        .filter(|c| c.at >= began)
        .collect();
    let data_api_calls = calls
        .iter()
        .filter(|c| c.at >= began && c.operation.starts_with("RedshiftData."))
        .count();
    // Moto signs the native tasks' calls with its own key, `ak`; the Data API lets only that identity describe them.
    let data = match pattern {
        Pattern::Polling { .. } | Pattern::LongPoll => aws_sdk_redshiftdata::Client::new(
            &tasker_tests::stack::signed_as(&stack.redshift.url(), "ak", None),
        ),
        _ => stack.redshift_data(),
    };
    let sfn = stack.sfn();
    let (mut latencies_ms, mut answer_ms, mut transitions) = (Vec::new(), Vec::new(), 0usize);
    let since = |ended: SystemTime, t: SystemTime| match t.duration_since(ended) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    };
    for (input, run) in runs {
        let run = run?;
        anyhow::ensure!(run.status == "SUCCEEDED", "{run:?}");
        let id = match pattern {
            Pattern::Polling { .. } | Pattern::LongPoll => run.output["statement"]["Id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            _ => stack
                .records(&run.arn)
                .await?
                .remove(0)
                .statement_id
                .unwrap_or_default(),
        };
        let ended: SystemTime = data
            .describe_statement()
            .id(&id)
            .send()
            .await?
            .updated_at
            .ok_or_else(|| anyhow::anyhow!("no UpdatedAt"))?
            .try_into()?;
        let history = sfn
            .get_execution_history()
            .execution_arn(&run.arn)
            .max_results(1000)
            .send()
            .await?;
        let entered: Vec<_> = history
            .events()
            .iter()
            .filter(|e| e.r#type().as_str().ends_with("StateEntered"))
            .collect();
        transitions += entered.len();
        let next: SystemTime = entered
            .iter()
            .find(|e| {
                e.state_entered_event_details()
                    .is_some_and(|d| d.name() == "Done")
            })
            .ok_or_else(|| anyhow::anyhow!("{} never entered Done", run.arn))?
            .timestamp()
            .to_owned()
            .try_into()?;
        latencies_ms.push(since(ended, next));
        let answered = match pattern {
            Pattern::Polling { .. } | Pattern::LongPoll => calls
                .iter()
                .filter(|c| {
                    c.operation.starts_with("RedshiftData.")
                        && (c.body["Sql"] == input["sql"] || c.body["Id"].as_str() == Some(&id))
                })
                .map(|c| c.at)
                .max(),
            _ => {
                let token = calls
                    .iter()
                    .find(|c| {
                        c.operation == "Lambda.Invoke:starter"
                            && c.body["executionArn"].as_str() == Some(&run.arn)
                    })
                    .map(|c| c.body["taskToken"].clone());
                calls
                    .iter()
                    .filter(|c| {
                        c.operation == "AWSStepFunctions.SendTaskSuccess"
                            && Some(&c.body["taskToken"]) == token.as_ref()
                    })
                    .map(|c| c.received)
                    .min()
            }
        };
        let answered =
            answered.ok_or_else(|| anyhow::anyhow!("{}: no answer in the call log", run.arn))?;
        answer_ms.push(since(ended, answered));
    }
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    answer_ms.sort_by(|a, b| a.total_cmp(b));
    let mut call_ms: Vec<f64> = calls
        .iter()
        .filter(|c| {
            c.operation.starts_with("DynamoDB_")
                || (c.operation.starts_with("RedshiftData.") && c.body["WaitTimeSeconds"].is_null())
        })
        .filter_map(|c| c.at.duration_since(c.received).ok())
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    call_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(Cell {
        call_ms: if call_ms.is_empty() {
            f64::NAN
        } else {
            percentile(&call_ms, 0.5)
        },
        counts: billable(&calls, n, transitions as f64 / n as f64),
        latencies_ms,
        answer_ms,
        transitions: transitions as f64 / n as f64,
        data_api_calls: data_api_calls as f64 / n as f64,
    })
}

/// The AWS round trips between a statement's end and its answer reaching the front, for a pattern: the fewest
/// the path could make (issue 26: the event path needs the event's delivery, a describe and the claim before
/// the callback; the fast path only the claim; the long-poll's answer is the reply already in flight), and the
/// ones this tasker makes (the fast path marks the record `STARTED` and describes the statement before it
/// claims). The front adds its latency as each request arrives, so each of these costs one added latency.
fn round_trips(pattern: Pattern) -> Option<(u32, u32)> {
    match pattern {
        Pattern::Event { .. } => Some((3, 3)),
        Pattern::Fast { .. } => Some((1, 3)),
        Pattern::LongPoll => Some((0, 0)),
        Pattern::Polling { .. } => None,
    }
}

/// The side-by-side table of BENCHMARKS.md: the same statements (short, 5 s, 10 s, 30 s, 2 min) through the event path,
/// the fast path, native polling at 1 s and 5 s and the native long-poll, in one run; then the short and 5 s
/// statements again with `latency` added to every AWS call (an AWS-like round trip). Each cell's billable counts
/// go to `target/bench/flow_counts.json`, which `bench/cost.py` prices.
async fn side_by_side(latency: Duration) -> anyhow::Result<()> {
    let statements = [
        ("short", 0.0, "select 1", env_or("SHORT_N", 24)),
        ("5 s", 5.0, "select pg_sleep(5)", env_or("FIVE_N", 12)),
        ("10 s", 10.0, "select pg_sleep(10)", env_or("TEN_N", 4)),
        ("30 s", 30.0, "select pg_sleep(30)", env_or("THIRTY_N", 8)),
        (
            "2 min",
            120.0,
            "select pg_sleep(120)",
            env_or("TWO_MIN_N", 4),
        ),
    ];
    let patterns = [
        Pattern::Event { window_seconds: 0 },
        Pattern::Fast { wait_seconds: 10 },
        Pattern::Polling { interval: 1 },
        Pattern::Polling { interval: 5 },
        Pattern::LongPoll,
    ];
    println!(
        "| statement | pattern | added latency | n | end -> answer p50/p99 | end -> next state p50/p99 | \
         transitions | Data API calls | Lambda requests | DynamoDB calls |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut records = Vec::new();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out)?;
    let stack = Stack::start(StackOptions::default()).await?;
    let mut limits = Vec::new();
    for added in [Duration::ZERO, latency] {
        stack.front.set_latency(added);
        for (label, seconds, sql, n) in statements {
            if !added.is_zero() && seconds > 5.0 {
                continue;
            }
            for pattern in patterns {
                let c = cell(&stack, pattern, sql, n).await?;
                println!(
                    "| {label} | {pattern} | {} ms | {n} | {:.0}/{:.0} ms | {:.0}/{:.0} ms | {:.1} | {:.1} | {:.1} | {:.1} |",
                    added.as_millis(),
                    percentile(&c.answer_ms, 0.5),
                    percentile(&c.answer_ms, 0.99),
                    percentile(&c.latencies_ms, 0.5),
                    percentile(&c.latencies_ms, 0.99),
                    c.transitions,
                    c.data_api_calls,
                    c.counts.get("lambda_requests").copied().unwrap_or(0.0),
                    c.counts.get("dynamodb_reads").copied().unwrap_or(0.0)
                        + c.counts.get("dynamodb_writes").copied().unwrap_or(0.0),
                );
                if let (false, Some((least, ours))) = (added.is_zero(), round_trips(pattern)) {
                    let measured = percentile(&c.answer_ms, 0.5);
                    // No call after the end (the long-poll): the floor is nothing, whatever a call costs.
                    let floor = match ours {
                        0 => 0.0,
                        n => f64::from(n) * c.call_ms,
                    };
                    let (one_call, worth) = match c.call_ms.is_nan() {
                        true => ("no plain call".to_string(), String::new()),
                        false => (
                            format!("{:.1} ms", c.call_ms),
                            format!(" ({:.1} calls' worth)", (measured - floor) / c.call_ms),
                        ),
                    };
                    limits.push(format!(
                        "| {label} | {pattern} | {least} | {ours} | {one_call} | {floor:.0} ms | {measured:.0} ms | {:+.0} ms{worth} |",
                        measured - floor,
                    ));
                }
                records.push(json!({
                    "pattern": pattern.to_string(), "statement_seconds": seconds,
                    "added_latency_ms": added.as_millis() as u64, "n": n, "counts": c.counts,
                    "answer_p50_ms": percentile(&c.answer_ms, 0.5),
                    "next_state_p50_ms": percentile(&c.latencies_ms, 0.5),
                }));
                // After each cell, so that a run cut short keeps what it measured.
                std::fs::write(
                    out.join("flow_counts.json"),
                    serde_json::to_string_pretty(&records)?,
                )?;
            }
        }
    }
    stack.front.set_latency(Duration::ZERO);
    println!(
        "\nPhysical limit, {} ms added per AWS call: round trips between the statement's end and the answer \
         (the fewest the path needs, and ours), the median time of one AWS call measured in the same cell, ours \
         times that, the measured p50 end -> answer, and how far it is beyond that floor",
        latency.as_millis()
    );
    println!(
        "| statement | pattern | fewest round trips | ours | one call (median) | floor | end -> answer p50 | beyond the floor |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for line in limits {
        println!("{line}");
    }
    Ok(())
}

/// One event alone, then ten in one batch: the completer settles a batch's messages concurrently. `latency` is
/// added to every AWS call, as a real service's round trip (on loopback moto's own time dominates).
async fn batch(latency: Duration) -> anyhow::Result<()> {
    let stack = Stack::start(StackOptions {
        poll: false,
        ..Default::default()
    })
    .await?;
    let sm = stack
        .sql_machine("batch", json!({"sqlStatement": "select 1"}))
        .await?;
    let mut timings = Vec::new();
    for size in [1usize, 10, 1, 10, 1, 10] {
        for _ in 0..size {
            stack.start_execution(&sm, json!({})).await?;
        }
        let mut records = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while records.len() < size {
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} events queued",
                records.len()
            );
            let got = stack
                .sqs()
                .receive_message()
                .queue_url(&stack.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await?;
            for m in got.messages.unwrap_or_default() {
                records.push(
                    json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                    "body": m.body(), "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                    "attributes": {}, "messageAttributes": {}}),
                );
            }
        }
        stack.front.set_latency(latency);
        let started = Instant::now();
        let response = stack.completer.handle(&json!({"Records": records})).await?;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            response["batchItemFailures"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "{response}"
        );
        stack.front.set_latency(Duration::ZERO);
        timings.push((size, took));
    }
    let avg = |s: usize| {
        let v: Vec<f64> = timings
            .iter()
            .filter(|(n, _)| *n == s)
            .map(|(_, t)| *t)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (one, ten) = (avg(1), avg(10));
    println!(
        "completer batch, {} ms added per AWS call: 1 event {one:.0} ms, 10 events {ten:.0} ms, ratio {:.2} \
         (10 would be sequential)",
        latency.as_millis(),
        ten / one
    );
    Ok(())
}

/// Starts one after the other through the starter (as at reserved concurrency 1).
async fn throughput(n: usize) -> anyhow::Result<()> {
    let stack = Stack::start(StackOptions {
        poll: false,
        ..Default::default()
    })
    .await?;
    let started = Instant::now();
    for i in 0..n {
        stack
            .starter
            .handle(&json!({
                "taskToken": format!("bench-{i}"),
                "executionArn": format!("arn:aws:states:us-east-1:123456789012:execution:bench:{i}"),
                "stateName": "RunSql", "stateEnteredTime": "2026-11-25T12:00:00.000Z",
                "sqlStatement": "select 1"
            }))
            .await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "one starter, {n} starts one after the other: {:.1} starts/s ({:.1} ms each)",
        n as f64 / secs,
        secs * 1000.0 / n as f64
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    side_by_side(Duration::from_millis(env_or("LATENCY_MS", 30) as u64)).await?;
    batch(Duration::ZERO).await?;
    batch(Duration::from_millis(50)).await?;
    throughput(env_or("STARTS_N", 200)).await?;
    Ok(())
}
