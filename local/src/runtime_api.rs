//! A local Lambda Runtime API, so that the real `bootstrap` binaries (the ones `sam build` packages) serve the
//! local stack's invocations instead of in-process handlers.
//!
//! Each function gets its own endpoint and its own process, started with `AWS_LAMBDA_RUNTIME_API` pointing here
//! and the environment a deployment gives it. An invocation is queued; the binary's `GET .../invocation/next`
//! takes it (with `Lambda-Runtime-Aws-Request-Id` and a deadline), and its `POST .../response` or
//! `.../error` answers it. The process is killed when the [`Function`] is dropped (and dies with the test process).
//!
//! An invocation the caller stops waiting for while the process runs it (the front cut it off at the function's
//! timeout) resets the sandbox as Lambda does: the process is killed and a new one started, which inits again
//! before it takes the next invocation. One cut off while still queued is never handed to the process.

use crate::front::{FunctionError, Handler};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path as FsPath;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Value, FunctionError>>;

/// Starts the function's process (again, after a reset).
type Spawn = Box<dyn Fn() -> std::io::Result<Child> + Send + Sync>;

struct Shared {
    /// When the process first asked for an invocation: the end of its init.
    first_poll: tokio::sync::watch::Sender<Option<Instant>>,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    waiting: Mutex<HashMap<String, Reply>>,
    /// The invocation the process is running, if any.
    running: Mutex<Option<String>>,
    function_arn: String,
    child: Mutex<Child>,
    spawn: Spawn,
    /// How many times the sandbox was reset after a cut-off invocation.
    resets: std::sync::atomic::AtomicU32,
    /// Set when the function stops: an invocation cut off by the shutdown itself (its future dropped after the
    /// process was killed) must not start a new process that nobody would stop or reap.
    stopped: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Stops the process and starts a new one, as Lambda resets a sandbox whose invocation timed out.
    fn reset(&self) {
        let mut child = self.child.lock().expect("child");
        let _ = child.kill();
        let _ = child.wait();
        *self.running.lock().expect("running") = None;
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        match (self.spawn)() {
            Ok(new) => *child = new,
            Err(e) => eprintln!("a function could not be restarted: {e}"),
        }
        self.resets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One function: its Runtime API endpoint and the binary process serving it.
pub struct Function {
    /// When the process was spawned.
    pub spawned: Instant,
    send: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Function {
    /// When it was spawned; its process and channels are not printable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("spawned", &self.spawned)
            .finish_non_exhaustive()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.shared
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.server.abort();
        let mut child = self.shared.child.lock().expect("child");
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// An invocation the caller waits for; dropped unanswered (cut off), it resets the sandbox if the process runs it.
struct InFlight {
    id: String,
    shared: Arc<Shared>,
    answered: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        self.shared
            .waiting
            .lock()
            .expect("waiting")
            .remove(&self.id);
        let running = self.shared.running.lock().expect("running").clone();
        if running.as_deref() == Some(self.id.as_str()) {
            self.shared.reset();
        }
    }
}

impl Function {
    /// Starts `binary` behind a new Runtime API with `env` (plus the Lambda variables the runtime reads).
    pub async fn start(
        binary: &FsPath,
        name: &str,
        function_arn: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Function> {
        Self::start_command(binary, &[], name, function_arn, env, None).await
    }

    /// [`Function::start`] with the process's stdout (its log, where Lambda would read it) written to `log`.
    pub async fn start_logging(
        binary: &FsPath,
        name: &str,
        function_arn: &str,
        env: &[(String, String)],
        log: &FsPath,
    ) -> anyhow::Result<Function> {
        Self::start_command(binary, &[], name, function_arn, env, Some(log)).await
    }

    /// [`Function::start`] for a program with arguments (an interpreter and its script, say).
    pub async fn start_command(
        program: &FsPath,
        args: &[&str],
        name: &str,
        function_arn: &str,
        env: &[(String, String)],
        log: Option<&FsPath>,
    ) -> anyhow::Result<Function> {
        let (send, receive) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = listener.local_addr()?.to_string();
        if let Some(path) = log {
            std::fs::File::create(path)?;
        }
        let (program, log) = (program.to_path_buf(), log.map(FsPath::to_path_buf));
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (name, env) = (name.to_string(), env.to_vec());
        let spawn: Spawn = Box::new(move || {
            let mut cmd = Command::new(&program);
            cmd.args(&args)
                .env("AWS_LAMBDA_RUNTIME_API", &api)
                .env("AWS_LAMBDA_FUNCTION_NAME", &name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/local/{name}"))
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(match &log {
                    // Appended: a reset sandbox logs after its predecessor, as in one log group.
                    Some(path) => Stdio::from(std::fs::OpenOptions::new().append(true).open(path)?),
                    None => Stdio::null(),
                })
                .stderr(Stdio::inherit());
            crate::die_with_parent(&mut cmd);
            cmd.spawn()
                .map_err(|e| std::io::Error::other(format!("{}: {e}", program.display())))
        });
        let spawned = Instant::now();
        let child = spawn().map_err(|e| anyhow::anyhow!("{e}"))?;
        let shared = Arc::new(Shared {
            first_poll: tokio::sync::watch::Sender::new(None),
            queue: tokio::sync::Mutex::new(receive),
            waiting: Mutex::new(HashMap::new()),
            running: Mutex::new(None),
            function_arn: function_arn.to_string(),
            child: Mutex::new(child),
            spawn,
            resets: std::sync::atomic::AtomicU32::new(0),
            stopped: std::sync::atomic::AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .route(
                "/2018-06-01/runtime/invocation/next",
                axum::routing::get(next),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                axum::routing::post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                axum::routing::post(error),
            )
            .route(
                "/2018-06-01/runtime/init/error",
                axum::routing::post(init_error),
            )
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Function {
            spawned,
            send,
            shared,
            server,
        })
    }

    /// Waits until the process first asks for an invocation (its init is over); that moment.
    pub async fn initialised(&self) -> anyhow::Result<Instant> {
        let mut polled = self.shared.first_poll.subscribe();
        let at = polled.wait_for(Option::is_some).await?;
        Ok(at.expect("waited for some"))
    }

    /// The process id (to read its memory).
    pub fn pid(&self) -> u32 {
        self.shared.child.lock().expect("child").id()
    }

    /// How many times its sandbox was reset (an invocation cut off at its timeout while the process ran it).
    pub fn resets(&self) -> u32 {
        self.shared.resets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A front handler that invokes this function through its Runtime API.
    pub fn handler(&self) -> Handler {
        let send = self.send.clone();
        let shared = self.shared.clone();
        Arc::new(move |payload| {
            let send = send.clone();
            let shared = shared.clone();
            Box::pin(async move {
                let id = uuid::Uuid::new_v4().to_string();
                let (tx, rx) = oneshot::channel();
                shared
                    .waiting
                    .lock()
                    .expect("waiting")
                    .insert(id.clone(), tx);
                let lost = |why: &str| FunctionError {
                    error_type: "Lambda.Unknown".into(),
                    message: why.into(),
                };
                let mut in_flight = InFlight {
                    id: id.clone(),
                    shared: shared.clone(),
                    answered: false,
                };
                send.send((id, payload))
                    .map_err(|_| lost("the function is stopped"))?;
                let answer = rx.await.map_err(|_| lost("the function died"));
                in_flight.answered = true;
                answer?
            })
        })
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.first_poll.send_if_modified(|at| {
        let first = at.is_none();
        if first {
            *at = Some(Instant::now());
        }
        first
    });
    let (id, payload) = loop {
        let Some((id, payload)) = shared.queue.lock().await.recv().await else {
            return StatusCode::GONE.into_response();
        };
        // One its caller stopped waiting for while it was queued is never run.
        if shared.waiting.lock().expect("waiting").contains_key(&id) {
            break (id, payload);
        }
    };
    *shared.running.lock().expect("running") = Some(id.clone());
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 900_000)
        .unwrap_or_default();
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                shared.function_arn.clone(),
            ),
            ("lambda-runtime-trace-id", "Root=1-local".to_string()),
            ("content-type", "application/json".to_string()),
        ],
        payload.to_string(),
    )
        .into_response()
}

fn answer(shared: &Shared, id: &str, result: Result<Value, FunctionError>) -> StatusCode {
    {
        let mut running = shared.running.lock().expect("running");
        if running.as_deref() == Some(id) {
            *running = None;
        }
    }
    match shared.waiting.lock().expect("waiting").remove(id) {
        Some(reply) => {
            let _ = reply.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&shared, &id, Ok(value))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let error_type = v["errorType"]
        .as_str()
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or("Unhandled")
        .to_string();
    let message = v["errorMessage"].as_str().unwrap_or_default().to_string();
    answer(
        &shared,
        &id,
        Err(FunctionError {
            error_type,
            message,
        }),
    )
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!(
        "a function failed to start: {}",
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}
