//! The pinned moto server, with Step Functions executing state machines and Lambda without Docker, started
//! through `local/moto_server.py` and its bridges (`aws-sdk:redshiftdata:*` tasks reach redshift-local, closed
//! tasks answer `TaskTimedOut`, JSONPath array indices and JSONata as on AWS).

use crate::{die_with_parent, free_port, stop_child, venv};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server; stopped on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// Where it listens.
    pub port: u16,
}

impl Moto {
    /// Starts moto on a free port. `callback_port` is `MOTO_PORT`: where moto's own service integrations (Step
    /// Functions' Lambda tasks) send their calls, i.e. the front.
    pub async fn start(callback_port: u16) -> anyhow::Result<Moto> {
        let python = venv().join("bin/python");
        anyhow::ensure!(
            python.exists(),
            "{} is missing: run scripts/setup.sh",
            python.display()
        );
        let launcher = crate::workspace_root().join("local/moto_server.py");
        let port = free_port();
        let mut cmd = Command::new(python);
        cmd.arg(launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", callback_port.to_string())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let child = cmd.spawn()?;
        let moto = Moto { child, port };
        let http = reqwest::Client::new();
        let base = moto.url();
        crate::eventually(
            &format!("moto answers on port {port}"),
            Duration::from_secs(60),
            || async {
                http.get(format!("{base}/moto-api/"))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        )
        .await?;
        // Before any state machine exists (docs/design.md, "Local stack").
        let config = serde_json::json!({"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}});
        let r = http
            .post(format!("{base}/moto-api/config"))
            .json(&config)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "moto config refused: {}",
            r.status()
        );
        Ok(moto)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGTERM);
    }
}
