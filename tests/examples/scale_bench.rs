//! Scale on the local stack (BENCHMARKS.md, "Scale"): `SCALE_N` statements (2,000) in flight at once through the
//! real functions at an AWS-like latency per call (`LATENCY_MS`, 30), then one sweep over as many unsettled
//! records.
//!
//! - **In flight:** every start is a Lambda `Invoke` of the deployed starter through the front, as Step Functions'
//!   `lambda:invoke.waitForTaskToken` makes it, with the front's real throttling at the template's reserved
//!   concurrency and the seed's `Retry` (1 s, x1.5) on a 429; the completion events go EventBridge -> SQS -> the
//!   emulated event source mapping -> the completer. The tokens are not Step Functions' own (no 2,000-execution
//!   load on moto): Step Functions answers each callback `InvalidToken`, which the completer takes as the task
//!   being over, so a task counts as answered when its first `SendTaskSuccess` reaches the front.
//! - **Sweep:** the same starts on a stack with no poller (every event left in the queue), then the scheduled
//!   sweeper invoked until nothing is unsettled: the time and records of each pass.
//! - **A `Map` of 40** (an inline `Map`'s largest fan-out) through Step Functions, on the event path and on the
//!   fast path, of short and of 5-second statements: from the execution's start to the last iteration's answer
//!   at the front, and to the execution's end (Step Functions' own `startDate` and `stopDate`).
//!
//! `cargo run -p tasker-tests --example scale_bench` (also run by `bash scripts/bench.sh`). Nothing is asserted.
//! `SCALE_N`, `LATENCY_MS`, `SCALE_PARTS` (`map,in_flight,sweep`) and `SCALE_LOG` (a file for the functions'
//! JSON logs) change what it runs.

use futures::StreamExt;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};
use tasker_tests::stack::{Stack, StackOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How one start went: attempts throttled, and whether the seed's `Retry` (10 attempts) would have given up.
struct Started {
    throttled: u32,
    beyond_seed_retry: bool,
}

/// Invokes the deployed starter for statement `i` as Step Functions would, retrying a throttled invoke: as the
/// seed's `Retry` does for its 10 attempts (1 s, x1.5), then, to finish the measurement, as a user who raised
/// `MaxAttempts` with `JitterStrategy: FULL` and `MaxDelaySeconds: 30` would (up to 40 attempts).
async fn start(
    http: &reqwest::Client,
    stack: &Stack,
    function: &str,
    i: usize,
) -> anyhow::Result<Started> {
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        stack.front.url(),
        urlencode(function)
    );
    let payload = json!({
        "taskToken": format!("scale-{i}-{}", uuid::Uuid::new_v4().simple()),
        "executionArn": format!("arn:aws:states:us-east-1:123456789012:execution:scale:{i}"),
        "stateName": "RunSql", "stateEnteredTime": chrono::Utc::now().to_rfc3339(),
        "sqlStatement": "select 1"
    });
    let (mut throttled, mut wait) = (0u32, 1.0f64);
    loop {
        let r = http.post(&url).json(&payload).send().await?;
        if r.status().as_u16() != 429 {
            anyhow::ensure!(r.status().is_success(), "start {i}: {}", r.status());
            return Ok(Started {
                throttled,
                beyond_seed_retry: throttled > 10,
            });
        }
        throttled += 1;
        anyhow::ensure!(throttled <= 40, "start {i} throttled 40 times");
        let delay = if throttled <= 10 {
            wait
        } else {
            // Full jitter: a uniform delay up to the capped backoff.
            let cap = wait.min(30.0);
            cap * (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0
        };
        tokio::time::sleep(Duration::from_secs_f64(delay)).await;
        wait *= 1.5;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// All `n` starts at once; how long until every one was accepted, the throttled attempts, and the starts the
/// seed's `Retry` would have failed with `Lambda.TooManyRequestsException`.
async fn start_all(stack: &Stack, n: usize) -> anyhow::Result<(Duration, u32, usize)> {
    let http = reqwest::Client::new();
    let function = stack.deployment.output("StarterFunctionArn")?.to_string();
    let began = Instant::now();
    let results: Vec<anyhow::Result<Started>> = futures::stream::iter(0..n)
        .map(|i| {
            let (http, function) = (&http, &function);
            async move { start(http, stack, function, i).await }
        })
        .buffer_unordered(n)
        .collect()
        .await;
    let (mut throttled, mut failed) = (0, 0);
    for r in results {
        let r = r?;
        throttled += r.throttled;
        failed += usize::from(r.beyond_seed_retry);
    }
    Ok((began.elapsed(), throttled, failed))
}

/// The first `SendTaskSuccess`/`SendTaskFailure` of each task token so far.
fn answered(stack: &Stack) -> BTreeMap<String, SystemTime> {
    let mut first = BTreeMap::new();
    for c in stack.front.calls() {
        if c.operation.starts_with("AWSStepFunctions.SendTask") {
            if let Some(t) = c.body["taskToken"].as_str() {
                first.entry(t.to_string()).or_insert(c.received);
            }
        }
    }
    first
}

/// The stack of the scale runs: the event queue keeps the template's `VisibilityTimeout`. The tests' 2 s brings a
/// message back while a loaded completer still works on it (a run with 2 s logged 562 duplicate and 117 busy
/// decisions for 1,000 statements); a deployment never does that at 180 s.
async fn scale_stack(options: StackOptions) -> anyhow::Result<Stack> {
    let template = tasker_local::template::Template::load(
        &options.prefix,
        &[
            ("ClusterIdentifier", "local"),
            ("Database", "dev"),
            ("DbUser", "etl"),
        ],
    )?;
    let visibility = template.properties("EventQueue")?["VisibilityTimeout"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("the template's EventQueue has no VisibilityTimeout"))?;
    Stack::start(StackOptions {
        visibility_timeout: u32::try_from(visibility)?,
        ..options
    })
    .await
}

async fn in_flight(n: usize, latency: Duration) -> anyhow::Result<()> {
    let stack = scale_stack(StackOptions::default()).await?;
    stack.front.set_latency(latency);
    let t0 = SystemTime::now();
    let (accepted, throttled, beyond_seed) = start_all(&stack, n).await?;
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut last = 0;
    loop {
        let got = answered(&stack).len();
        if got >= n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {got} of {n} answered after 900 s"
        );
        if got != last {
            last = got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answers = answered(&stack);
    let done = answers.values().max().copied().unwrap_or(t0);
    let took = done.duration_since(t0)?.as_secs_f64();
    let calls: Vec<_> = stack
        .front
        .calls()
        .into_iter()
        .filter(|c| c.received >= t0)
        .collect();
    let completer: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == "Lambda.Invoke:completer")
        .collect();
    let batch: f64 = completer
        .iter()
        .map(|c| c.body["Records"].as_array().map_or(0, Vec::len) as f64)
        .sum::<f64>()
        / completer.len().max(1) as f64;
    // The most completer invocations running at one time.
    let mut edges: Vec<(SystemTime, i32)> = completer
        .iter()
        .flat_map(|c| [(c.received, 1), (c.at, -1)])
        .collect();
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    let dynamodb = calls
        .iter()
        .filter(|c| c.operation.starts_with("DynamoDB_"))
        .count();
    let starters = calls
        .iter()
        .filter(|c| c.operation == "Lambda.Invoke:starter" && c.status < 300)
        .count();
    println!(
        "{n} statements at once, {} ms per AWS call: all starts accepted in {:.1} s ({throttled} throttled attempts \
         retried; {beyond_seed} starts needed more than the seed's 10 attempts), every task answered {took:.1} s after the first start ({:.0} answers/s); completer: {} \
         invocations, {batch:.1} events per batch, at most {most} at once; DynamoDB calls per statement: {:.2}; \
         starter invocations that ran: {starters}",
        latency.as_millis(),
        accepted.as_secs_f64(),
        n as f64 / took,
        completer.len(),
        dynamodb as f64 / n as f64,
    );
    let distinct: BTreeSet<_> = answers.keys().collect();
    anyhow::ensure!(distinct.len() == n, "{} tokens answered", distinct.len());
    Ok(())
}

async fn sweep(n: usize, latency: Duration) -> anyhow::Result<()> {
    let stack = scale_stack(StackOptions {
        poll: false,
        sweep_grace_seconds: 0,
        ..Default::default()
    })
    .await?;
    stack.front.set_latency(latency);
    start_all(&stack, n).await?;
    // Let every statement end (each is `select 1`) before the sweeper looks.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (mut passes, began) = (Vec::new(), Instant::now());
    loop {
        let t = Instant::now();
        let report = stack.completer.handle(&json!({"sweep": true})).await?;
        passes.push((t.elapsed().as_secs_f64(), report.clone()));
        let settled = report["settled"].as_u64().unwrap_or(0);
        if !report["stoppedEarly"].as_bool().unwrap_or(false) && settled == 0 {
            break;
        }
        anyhow::ensure!(passes.len() < 50, "50 sweeps and still not done: {report}");
    }
    let answered = answered(&stack).len();
    for (secs, report) in &passes {
        println!(
            "sweep pass over {n} unsettled records, {} ms per AWS call: {secs:.1} s, {report}",
            latency.as_millis()
        );
    }
    println!(
        "sweeper: {} passes, {:.1} s in all, {answered} of {n} tasks answered",
        passes.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Seconds since the Unix epoch.
fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn map_of_40(latency: Duration) -> anyhow::Result<()> {
    use tasker_local::asl::{map_items, map_of_sql};
    let stack = scale_stack(StackOptions::default()).await?;
    stack.front.set_latency(latency);
    let cells = [
        ("event path", None, "select 1"),
        ("fast path (waitSeconds 10)", Some(10), "select 1"),
        ("event path", None, "select pg_sleep(5)"),
        ("fast path (waitSeconds 10)", Some(10), "select pg_sleep(5)"),
    ];
    for (i, (path, wait, sql)) in cells.into_iter().enumerate() {
        let sm = stack
            .create_state_machine(&format!("map40-{i}"), &map_of_sql(wait))
            .await?;
        let throttled_before = stack.front.throttled("Lambda.Invoke:starter");
        let t0 = SystemTime::now();
        let arn = stack.start_execution(&sm, map_items(40, sql)).await?;
        let run = stack.wait(&arn, Duration::from_secs(600)).await?;
        anyhow::ensure!(run.status == "SUCCEEDED", "Map of 40 ({path}): {run:?}");
        let d = stack
            .sfn()
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await?;
        let start = d.start_date().as_secs_f64();
        let stop = d.stop_date().map_or(f64::NAN, |t| t.as_secs_f64());
        let answers: Vec<f64> = stack
            .front
            .calls()
            .iter()
            .filter(|c| c.received >= t0 && c.operation.starts_with("AWSStepFunctions.SendTask"))
            .map(|c| epoch_secs(c.received))
            .collect();
        let last = answers.iter().copied().fold(f64::NAN, f64::max);
        println!(
            "Map of 40 `{sql}`, {path}, {} ms per AWS call: last answer {:.2} s after the execution's start, \
             execution ended at {:.2} s; {} answers, {} starts throttled",
            latency.as_millis(),
            last - start,
            stop - start,
            answers.len(),
            stack.front.throttled("Lambda.Invoke:starter") - throttled_before,
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    // `SCALE_LOG=<file>`: the in-process functions' JSON logs (one event per decision) go to that file, so the
    // decisions behind the figures can be counted.
    if let Ok(path) = std::env::var("SCALE_LOG") {
        let file = std::sync::Mutex::new(std::fs::File::create(path)?);
        tasker_aws::runtime::init_logging_with(|k| std::env::var(k).ok(), file);
    }
    let n = env_or("SCALE_N", 2000);
    let latency = Duration::from_millis(env_or("LATENCY_MS", 30) as u64);
    // `SCALE_PARTS` (default all three): which of `map`, `in_flight` and `sweep` to run.
    let parts = std::env::var("SCALE_PARTS").unwrap_or_else(|_| "map,in_flight,sweep".into());
    let run = |part: &str| parts.split(',').any(|p| p.trim() == part);
    if run("map") {
        map_of_40(latency).await?;
    }
    if run("in_flight") {
        in_flight(n, latency).await?;
    }
    if run("sweep") {
        sweep(n, latency).await?;
    }
    Ok(())
}
