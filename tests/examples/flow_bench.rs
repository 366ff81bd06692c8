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
        }
    }
}

/// One cell of the side-by-side table.
struct Cell {
    latencies_ms: Vec<f64>,
    transitions: f64,
    data_api_calls: f64,
}

/// Runs `n` executions of `pattern` on `sql`, 8 at a time, and measures each from the statement's end (the Data
/// API's `UpdatedAt`) to the next state's entry (`Done`'s `StateEntered` in the execution history), with the
/// state transitions (states entered) and Data API calls per statement.
async fn cell(stack: &Stack, pattern: Pattern, sql: &str, n: usize) -> anyhow::Result<Cell> {
    let name = format!("m{}", uuid::Uuid::new_v4().simple());
    let sm = match pattern {
        Pattern::Event { .. } => {
            stack
                .sql_machine(&name, json!({"sqlStatement": sql}))
                .await?
        }
        Pattern::Fast { wait_seconds } => {
            stack
                .sql_machine(
                    &name,
                    json!({"sqlStatement": sql, "waitSeconds": wait_seconds}),
                )
                .await?
        }
        Pattern::Polling { interval } => {
            let states = tasker_tests::asl::native_polling_states(sql, interval, "Done");
            stack
                .create_state_machine(&name, &tasker_tests::asl::machine(states, "Execute"))
                .await?
        }
    };
    let began = SystemTime::now();
    let runs: Vec<_> = futures::stream::iter(0..n)
        .map(|_| stack.run(&sm, json!({}), Duration::from_secs(300)))
        .buffer_unordered(8)
        .collect()
        .await;
    let data_api_calls = stack
        .front
        .calls()
        .iter()
        .filter(|c| c.at >= began && c.operation.starts_with("RedshiftData."))
        .count();
    // Moto signs the native tasks' calls with its own key, `ak`; the Data API lets only that identity describe them.
    let data = match pattern {
        Pattern::Polling { .. } => aws_sdk_redshiftdata::Client::new(
            &tasker_tests::stack::signed_as(&stack.redshift.url(), "ak", None),
        ),
        _ => stack.redshift_data(),
    };
    let sfn = stack.sfn();
    let (mut latencies_ms, mut transitions) = (Vec::new(), 0usize);
    for run in runs {
        let run = run?;
        anyhow::ensure!(run.status == "SUCCEEDED", "{run:?}");
        let id = match pattern {
            Pattern::Polling { .. } => run.output["statement"]["Id"]
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
        let ms = match next.duration_since(ended) {
            Ok(d) => d.as_secs_f64() * 1000.0,
            Err(e) => -e.duration().as_secs_f64() * 1000.0,
        };
        latencies_ms.push(ms);
    }
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(Cell {
        latencies_ms,
        transitions: transitions as f64 / n as f64,
        data_api_calls: data_api_calls as f64 / n as f64,
    })
}

/// The side-by-side table of BENCHMARKS.md: the same three statements (short, 5 s, 30 s) through the event path,
/// the fast path and the native polling pattern at 1 s and 5 s, in one run; plus the event path with a 1 s
/// batching window on the short statement (what the window the template dropped would cost).
async fn side_by_side() -> anyhow::Result<()> {
    let statements = [
        ("short", "select 1", env_or("SHORT_N", 40)),
        ("5 s", "select pg_sleep(5)", env_or("FIVE_N", 16)),
        ("30 s", "select pg_sleep(30)", env_or("THIRTY_N", 8)),
    ];
    let patterns = [
        Pattern::Event { window_seconds: 0 },
        Pattern::Fast { wait_seconds: 10 },
        Pattern::Polling { interval: 1 },
        Pattern::Polling { interval: 5 },
    ];
    println!("| statement | pattern | n | p50 | p99 | state transitions | Data API calls |");
    println!("|---|---|---|---|---|---|---|");
    let print = |label: &str, pattern: Pattern, n: usize, c: &Cell| {
        println!(
            "| {label} | {pattern} | {n} | {:.0} ms | {:.0} ms | {:.1} | {:.1} |",
            percentile(&c.latencies_ms, 0.5),
            percentile(&c.latencies_ms, 0.99),
            c.transitions,
            c.data_api_calls
        );
    };
    let stack = Stack::start(StackOptions::default()).await?;
    for (label, sql, n) in statements {
        for pattern in patterns {
            let c = cell(&stack, pattern, sql, n).await?;
            print(label, pattern, n, &c);
        }
    }
    drop(stack);
    let window = Stack::start(StackOptions {
        batching_window: Duration::from_secs(1),
        ..Default::default()
    })
    .await?;
    let (label, sql, n) = statements[0];
    let pattern = Pattern::Event { window_seconds: 1 };
    let c = cell(&window, pattern, sql, n).await?;
    print(label, pattern, n, &c);
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
    side_by_side().await?;
    batch(Duration::ZERO).await?;
    batch(Duration::from_millis(50)).await?;
    throughput(env_or("STARTS_N", 200)).await?;
    Ok(())
}
