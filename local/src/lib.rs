//! The local stack that every integration test and the `tasker-local` command run on, all on 127.0.0.1:
//!
//! - [`postgres`]: a throw-away PostgreSQL cluster in a temporary directory.
//! - [`moto`]: the pinned moto server (DynamoDB, SQS, EventBridge, KMS, Step Functions that really executes).
//! - `redshift-local` over that PostgreSQL, emitting events to moto's EventBridge.
//! - [`front`]: the one endpoint every client uses. It sends Lambda invocations from moto's Step Functions to our
//!   real handlers, Data API calls to `redshift-local` and everything else to moto; it counts calls per operation
//!   and can inject faults.
//! - [`stack`]: creates the table, queue, DLQ, rule and key as the SAM template does, and drives `completer` from
//!   the queue the way Lambda's event source mapping would.
//!
//! - [`trial`]: what the `tasker-local` command does on it (the example ELT, a user's state machine, the stack
//!   kept up), told through [`report`] as prose or as one JSON report.
//!
//! Every process is stopped and every temporary directory removed when the [`stack::Stack`] is dropped, also when a
//! test panics.

pub mod asl;
pub mod deploy;
pub mod front;
pub mod moto;
pub mod names;
pub mod postgres;
pub mod report;
pub mod runtime_api;
pub mod stack;
pub mod template;
pub mod trial;

use std::net::TcpListener;
use std::path::PathBuf;

/// Polls `probe` every 50 ms until it returns `Ok`, or fails after `timeout` with what it last saw: `probe`
/// returns `Err(what it saw)` while the condition does not hold yet.
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    eventually_every(what, timeout, std::time::Duration::from_millis(50), probe).await
}

/// [`eventually`], polling every `interval` (for a probe that costs the peers something, such as an execution's
/// status, which many tests wait on at once).
pub async fn eventually_every<T, F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    interval: std::time::Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(last) if std::time::Instant::now() >= deadline => {
                anyhow::bail!("{what}: not reached after {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(interval).await,
        }
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The Python venv with the pinned moto server (`TASKER_VENV`, default `.venv` at the workspace root), made by
/// `scripts/setup.sh`.
pub fn venv() -> PathBuf {
    std::env::var_os("TASKER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"))
}

/// Makes a child process die with the test process even if it is killed (Linux `PR_SET_PDEATHSIG`).
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Stops a child: a polite signal first, then SIGKILL after a grace period.
pub fn stop_child(child: &mut std::process::Child, signal: i32) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: sending a signal to our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
