//! Figures of the whole flow on the local stack (BENCHMARKS.md): completion latency from the statement's end to
//! its task's callback (p50/p99 over `LATENCY_N` statements, default 200), the completer's batch-of-10
//! concurrency, and the throughput of one starter (reserved concurrency 1: one start after the other).
//!
//! `cargo run -p tasker-tests --example flow_bench` (also run by `bash scripts/bench.sh`).

use futures::StreamExt;
use serde_json::{json, Value};
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

/// Statement end (the Data API's `UpdatedAt` of the finished statement) to the callback Step Functions got, on
/// the event path or, with `wait_seconds`, the fast path (the starter answers a statement that ended while it
/// waited).
async fn latency(n: usize, wait_seconds: Option<u32>) -> anyhow::Result<()> {
    let stack = Stack::start(StackOptions::default()).await?;
    let mut payload = json!({"sqlStatement": "select 1"});
    if let Some(w) = wait_seconds {
        payload["waitSeconds"] = json!(w);
    }
    let sm = stack.sql_machine("latency", payload).await?;
    let runs: Vec<_> = futures::stream::iter(0..n)
        .map(|_| stack.run(&sm, json!({}), Duration::from_secs(120)))
        .buffer_unordered(8)
        .collect()
        .await;
    let calls = stack.front.calls();
    let data = stack.redshift_data();
    let mut ms = Vec::new();
    for run in runs {
        let run = run?;
        anyhow::ensure!(run.status == "SUCCEEDED", "{run:?}");
        let record = stack.records(&run.arn).await?.remove(0);
        let id = record.statement_id.clone().unwrap_or_default();
        let ended = data.describe_statement().id(&id).send().await?;
        let ended: SystemTime = ended
            .updated_at
            .ok_or_else(|| anyhow::anyhow!("no UpdatedAt"))?
            .try_into()?;
        let called = calls
            .iter()
            .filter(|c| c.operation == "AWSStepFunctions.SendTaskSuccess" && c.status < 300)
            .find(|c| {
                let output: Value = serde_json::from_str(c.body["output"].as_str().unwrap_or("{}"))
                    .unwrap_or_default();
                output["statementId"] == json!(id)
            })
            .ok_or_else(|| anyhow::anyhow!("no callback for {id}"))?;
        ms.push(called.at.duration_since(ended)?.as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let path = match wait_seconds {
        Some(w) => format!("fast path (waitSeconds {w})"),
        None => "event path".to_string(),
    };
    println!(
        "completion latency, {path}, statement end -> callback, {n} statements: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
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
    latency(env_or("LATENCY_N", 200), None).await?;
    latency(env_or("LATENCY_N", 200), Some(5)).await?;
    batch(Duration::ZERO).await?;
    batch(Duration::from_millis(50)).await?;
    throughput(env_or("STARTS_N", 200)).await?;
    Ok(())
}
