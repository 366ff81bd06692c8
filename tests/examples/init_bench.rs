//! Init (cold start) time and peak memory of each release binary under a local Lambda Runtime API, beside a
//! Python 3 + boto3 handler that builds the same four clients (the seed's runtime, its floor): the time from
//! process start to its first `GET /2018-06-01/runtime/invocation/next`, and the peak resident set (VmHWM) at
//! that moment, median of `INIT_RUNS` (default 20) runs each, in one run.
//!
//! `bash scripts/bench.sh` builds the release binaries and runs this; not part of the test command.

use std::path::PathBuf;
use std::time::Duration;
use tasker_tests::runtime_api::Function;

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
    // The SDK loads the trusted roots when its first client is built (rustls-native-certs: `SSL_CERT_FILE` and
    // `SSL_CERT_DIR` when set, else the system's bundle and certificate directory). Debian's directory holds about
    // 150 files besides the bundle; Amazon Linux, which Lambda's `provided.al2023` runs, keeps its roots in bundle
    // files (`/etc/pki/tls/certs`). Both are measured: this machine as it is, and one bundle.
    let empty_dir = tempfile::tempdir()?;
    let trust: [(&str, Vec<(String, String)>); 2] = [
        ("this machine's roots (bundle and directory)", Vec::new()),
        (
            "one bundle (SSL_CERT_FILE, empty SSL_CERT_DIR)",
            vec![
                (
                    "SSL_CERT_FILE".into(),
                    "/etc/ssl/certs/ca-certificates.crt".into(),
                ),
                (
                    "SSL_CERT_DIR".into(),
                    empty_dir.path().display().to_string(),
                ),
            ],
        ),
    ];
    for (setting, extra) in &trust {
        println!("-- trusted roots: {setting}");
        let mut results = Vec::new();
        for (name, argv) in &candidates {
            let mut times = Vec::new();
            let mut rss = Vec::new();
            let env: Vec<(String, String)> = [
                ("PATH", std::env::var("PATH").unwrap_or_default()),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_DEFAULT_REGION", "us-east-1".into()),
                ("AWS_ACCESS_KEY_ID", "bench".into()),
                ("AWS_SECRET_ACCESS_KEY", "bench".into()),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
                ("TABLE_NAME", "bench-state".into()),
                ("STATEMENT_PREFIX", "bench".into()),
                ("CLUSTER_IDENTIFIER", "bench".into()),
                ("DATABASE", "dev".into()),
                ("DB_USER", "etl".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(extra.iter().cloned())
            .collect();
            let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
            for _ in 0..runs {
                let f = Function::start_command(
                    PathBuf::from(&argv[0]).as_path(),
                    &args,
                    name,
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                    &env,
                    None,
                )
                .await?;
                let ready =
                    tokio::time::timeout(Duration::from_secs(30), f.initialised()).await??;
                rss.push(peak_rss_kib(f.pid()).unwrap_or(0) as f64);
                times.push(ready.duration_since(f.spawned).as_secs_f64() * 1000.0);
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
    }
    Ok(())
}
