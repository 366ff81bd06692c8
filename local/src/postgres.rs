//! A throw-away PostgreSQL cluster: `initdb` in a temporary directory, `postgres` on a free port, run as the
//! `postgres` user when the tests run as root (PostgreSQL refuses root).

use crate::{die_with_parent, free_port, stop_child};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running cluster; stopped and deleted on drop.
#[derive(Debug)]
pub struct Postgres {
    child: Child,
    /// Where it listens.
    pub port: u16,
    dir: tempfile::TempDir,
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() && dir.join("postgres").exists() {
            return Ok(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        anyhow::anyhow!(
            "no PostgreSQL server found: run scripts/setup.sh (apt-get install postgresql)"
        )
    })
}

/// The uid/gid to run as: `postgres` when we are root, ourselves otherwise.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").expect("cstring");
    // SAFETY: getpwnam returns a pointer to static storage or null; read immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "running as root needs a 'postgres' user (scripts/setup.sh creates it)"
    );
    // SAFETY: pw is non-null.
    unsafe { Some(((*pw).pw_uid, (*pw).pw_gid)) }
}

impl Postgres {
    /// initdb + start + wait until it accepts connections, then create the database `dev`.
    pub async fn start() -> anyhow::Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("tasker-pg-").tempdir()?;
        let user = run_as();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = user {
            initdb.uid(uid).gid(gid);
        }
        let out = initdb.output()?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log"))?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path().join("postgres.log"), Some(uid), Some(gid))?;
        }
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        die_with_parent(&mut cmd);
        let child = cmd.spawn()?;
        let pg = Postgres { child, port, dir };
        let connected = crate::eventually(
            "PostgreSQL accepts connections",
            Duration::from_secs(30),
            || async { pg.connect("postgres").await.map_err(|e| e.to_string()) },
        )
        .await;
        match connected {
            Ok(client) => {
                client.batch_execute("create database dev").await?;
                Ok(pg)
            }
            Err(e) => {
                let log =
                    std::fs::read_to_string(pg.dir.path().join("postgres.log")).unwrap_or_default();
                anyhow::bail!("{e}\n{log}")
            }
        }
    }

    /// The connection settings of this cluster (database left to the caller).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host("127.0.0.1").port(self.port).user("postgres");
        c
    }

    /// The libpq connection string, for `redshift-local --postgres`.
    pub fn conninfo(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres", self.port)
    }

    /// A client on `database`.
    pub async fn connect(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut c = self.config();
        c.dbname(database);
        let (client, conn) = c.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok(client)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown; nothing here needs to survive.
        stop_child(&mut self.child, libc::SIGQUIT);
    }
}
