//! Init (cold start) time and peak memory of each release binary under a local Lambda Runtime API, beside a
//! Python 3 + boto3 handler that builds the same four clients (the seed's runtime, its floor): the time from
//! process start to its first `GET /2018-06-01/runtime/invocation/next`, and the peak resident set (VmHWM) at
//! that moment, median of `INIT_RUNS` (default 20) runs each, in one run.
//!
//! `bash scripts/bench.sh` builds the release binaries and runs this; not part of the test command.

use axum::extract::State;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

type Arrivals = Arc<mpsc::UnboundedSender<Instant>>;

/// The Runtime API's `next`: note the arrival, then never answer (the process is stopped by the bench).
async fn next(State(arrivals): State<Arrivals>) -> &'static str {
    let _ = arrivals.send(Instant::now());
    std::future::pending::<()>().await;
    ""
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("INIT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let root = tasker_tests::workspace_root();
    let release = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    let app = axum::Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            axum::routing::get(next),
        )
        .with_state(Arc::new(tx));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let python = tasker_tests::venv().join("bin/python");
    let candidates: Vec<(String, Vec<String>)> = ["starter", "completer", "canceller"]
        .iter()
        .map(|b| (b.to_string(), vec![release.join(b).display().to_string()]))
        .chain([(
            "python3 + boto3".to_string(),
            vec![
                python.display().to_string(),
                root.join("bench/python_init.py").display().to_string(),
            ],
        )])
        .collect();
    println!(
        "init until the first Runtime API `next`, median of {runs} runs (peak RSS at that moment)"
    );
    let mut results = Vec::new();
    for (name, argv) in &candidates {
        let mut times = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..runs {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("AWS_LAMBDA_RUNTIME_API", &api)
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "/bench")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("TABLE_NAME", "bench-state")
                .env("STATEMENT_PREFIX", "bench")
                .env("CLUSTER_IDENTIFIER", "bench")
                .env("DATABASE", "dev")
                .env("DB_USER", "etl")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let started = Instant::now();
            let mut child = cmd.spawn()?;
            let arrived = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await?
                .ok_or_else(|| anyhow::anyhow!("runtime API closed"))?;
            rss.push(peak_rss_kib(child.id()).unwrap_or(0) as f64);
            times.push(arrived.duration_since(started).as_secs_f64() * 1000.0);
            child.kill()?;
            child.wait()?;
        }
        let (t, m) = (median(times), median(rss));
        println!(
            "{name:<16} init {t:8.1} ms   peak RSS {:7.1} MiB",
            m / 1024.0
        );
        results.push((name.clone(), t, m));
    }
    let python_ms = results.last().map(|r| r.1).unwrap_or(f64::NAN);
    for (name, t, _) in &results[..results.len() - 1] {
        println!("{name:<16} init is 1/{:.0} of Python's", python_ms / t);
    }
    Ok(())
}
