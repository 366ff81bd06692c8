//! The front: one loopback endpoint for every AWS call of the local stack.
//!
//! - `POST /2015-03-31/functions/<function>/invocations` (moto's Step Functions running a Lambda task) goes to the
//!   registered handler; its error becomes `X-Amz-Function-Error: Unhandled` with `{errorType, errorMessage}`,
//!   exactly as Lambda reports it, so a state's `Catch` on the error name works.
//!   Each invocation gets its own attempt token `<moto token>~<n>`, as AWS gives each attempt of a task a new
//!   token while moto re-sends the same one on `Retry`; a callback on the current attempt is honoured, also while
//!   its invocation still runs (moto would drop it; the answer then wins over the invocation's error), and one on a
//!   failed or retried attempt, or on a task already answered, is `TaskTimedOut`.
//! - `X-Amz-Target: RedshiftData.*` goes to `redshift-local`.
//! - Everything else goes to moto.
//!
//! - Every JSON-protocol request (`X-Amz-Target`) is first checked against its service's botocore model
//!   (`model_check`) and refused as the service refuses it (`ValidationException`) before moto or redshift-local
//!   sees it.
//! - Each function runs within its deployed reserved concurrency and timeout (`lambda`): beyond the one, 429
//!   `TooManyRequestsException`; past the other, `Sandbox.Timedout`.
//!
//! Each call is logged by operation (with its JSON body and signer) for the tests' assertions and the call counts.
//! Faults: an operation can be refused with an HTTP status a number of times (throttling and 5xx injection), and
//! [`Chaos`] rules make a function's calls fail at random, either refused before they reach the service or
//! *applied and then answered with a 500* (a lost response: the caller crashed right after that step).
//!
//! This module is the proxy (routing and forwarding); each other job has its own: `lambda` (invocations, their
//! limits and their errors), `attempts` (the task-token attempt model), `model_check` (the service models'
//! constraints), `faults` and `call_log`.

mod attempts;
mod call_log;
mod faults;
mod lambda;
pub mod model_check;

pub use call_log::Call;
pub use faults::{Chaos, FaultKind};
pub use lambda::{FunctionError, FunctionLimits, Handler};

use attempts::{task_timed_out, Attempt, Callback};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use call_log::{log, signer};
use faults::refusal;
use lambda::{answer, function_name, throttled, Limiter};
use model_check::{Models, Refusal};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Shared state of the front.
pub struct FrontState {
    moto: String,
    redshift: String,
    http: reqwest::Client,
    functions: Mutex<HashMap<String, Handler>>,
    /// Each function's deployed concurrency and timeout, by the name its handler is registered under.
    limits: Mutex<HashMap<String, Limiter>>,
    /// The service models requests are checked against (none: nothing is checked).
    models: Mutex<Option<Arc<Models>>>,
    /// Deployed function names (`<stack>-StarterFunction-XYZ`) to the names handlers are registered under.
    aliases: Mutex<HashMap<String, String>>,
    /// Attempts per moto task token (see [`Attempt`]).
    attempts: Mutex<HashMap<String, Attempt>>,
    calls: Mutex<Vec<Call>>,
    faults: Mutex<HashMap<String, VecDeque<u16>>>,
    chaos: Mutex<Vec<(Chaos, u32)>>,
    /// Added before each forwarded call, to stand in for a real service's network latency in benchmarks.
    latency: Mutex<std::time::Duration>,
    /// Held across a conditional DynamoDB write or a callback: moto checks a write's condition and applies it
    /// without a lock, so two concurrent claims can both win, where DynamoDB makes each conditional write
    /// atomic; and Step Functions accepts one answer per task, which the front's bookkeeping must see in order.
    atomic: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for FrontState {
    /// Where it forwards to; its handlers and call log are not printable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontState")
            .field("moto", &self.moto)
            .field("redshift", &self.redshift)
            .finish_non_exhaustive()
    }
}

/// The running front; stopped on drop.
#[derive(Debug)]
pub struct Front {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What its routes share.
    pub state: Arc<FrontState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    /// Serves on `listener`, forwarding to moto and redshift-local.
    pub fn serve(listener: tokio::net::TcpListener, moto: String, redshift: String) -> Front {
        let addr = listener.local_addr().expect("front address");
        let state = Arc::new(FrontState {
            moto,
            redshift,
            http: reqwest::Client::new(),
            functions: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            models: Mutex::new(None),
            aliases: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
            chaos: Mutex::new(Vec::new()),
            latency: Mutex::new(std::time::Duration::ZERO),
            atomic: tokio::sync::Mutex::new(()),
        });
        let app = axum::Router::new()
            .fallback(route)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Front { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Checks every JSON-protocol request against `models` from now on, refusing what they refuse.
    pub fn check_models(&self, models: Arc<Models>) {
        *self.state.models.lock().expect("models") = Some(models);
    }

    /// Routes invocations of the function named `name` (the last part of its ARN) to `handler`.
    pub fn register(&self, name: &str, handler: Handler) {
        self.state
            .functions
            .lock()
            .expect("functions")
            .insert(name.to_string(), handler);
    }
}

async fn route(
    State(state): State<Arc<FrontState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = std::time::SystemTime::now();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let function = (method == Method::POST)
        .then(|| function_name(uri.path()))
        .flatten()
        .map(|f| state.registered_name(f));
    let operation = match (&function, &target) {
        (Some(f), _) => format!("Lambda.Invoke:{f}"),
        (None, Some(t)) => t.clone(),
        (None, None) => format!("{method} {}", uri.path()),
    };
    let mut json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let principal = signer(&headers).unwrap_or_default();
    if let (None, Some(target), false) = (&function, &target, json_body.is_null()) {
        let models = state.models.lock().expect("models").clone();
        if let Some(refusal) = models.and_then(|m| m.check(target, &json_body)) {
            return log(
                &state,
                received,
                operation,
                principal,
                json_body,
                refused(&refusal),
                None,
            );
        }
    }
    let fault = state.fault_for(&operation, &principal);
    let must_be_atomic = matches!(
        operation.as_str(),
        "DynamoDB_20120810.PutItem"
            | "DynamoDB_20120810.UpdateItem"
            | "DynamoDB_20120810.DeleteItem"
            | "AWSStepFunctions.SendTaskSuccess"
            | "AWSStepFunctions.SendTaskFailure"
    );
    let latency = *state.latency.lock().expect("latency");
    if !latency.is_zero() && function.is_none() {
        tokio::time::sleep(latency).await;
    }
    let _atomic = match must_be_atomic {
        true => Some(state.atomic.lock().await),
        false => None,
    };
    let (response, status) = match fault {
        Some((FaultKind::Refused, status)) => (refusal(status), status),
        _ => {
            let upstream = if let Some(f) = function {
                match state.admit(&f) {
                    // Refused before it ran: no attempt, no handler.
                    Err(()) => throttled(),
                    Ok(slot) => {
                        let mut payload = json_body.clone();
                        let attempt = state.begin_attempt(&mut payload);
                        // Logged as the handler got it (with its attempt token), so a test can replay it.
                        json_body = payload.clone();
                        let response = answer(&f, state.run_admitted(&f, payload, slot).await);
                        let failed = response.headers().contains_key("x-amz-function-error");
                        if state.end_attempt(attempt, failed) && failed {
                            // Answered while it ran: the task is over, its error no longer counts.
                            (StatusCode::OK, [("content-type", "application/json")], "{}")
                                .into_response()
                        } else {
                            response
                        }
                    }
                }
            } else {
                let mut callback = json_body.clone();
                if operation.starts_with("AWSStepFunctions.SendTask") {
                    let later = (method.clone(), uri.clone(), headers.clone());
                    match state.route_callback(&mut callback, later) {
                        Callback::Forward => {}
                        Callback::Accepted => {
                            let ok = (
                                StatusCode::OK,
                                [("content-type", "application/x-amz-json-1.0")],
                                "{}",
                            )
                                .into_response();
                            return log(
                                &state, received, operation, principal, json_body, ok, fault,
                            );
                        }
                        Callback::Closed => {
                            return log(
                                &state,
                                received,
                                operation,
                                principal,
                                json_body,
                                task_timed_out(),
                                fault,
                            )
                        }
                    }
                }
                let body = if callback != json_body {
                    Bytes::from(callback.to_string())
                } else {
                    body
                };
                let base = if target
                    .as_deref()
                    .is_some_and(|t| t.starts_with("RedshiftData."))
                {
                    &state.redshift
                } else {
                    &state.moto
                };
                forward_to(&state, base, method, &uri, &headers, body).await
            };
            let status = upstream.status().as_u16();
            if operation.starts_with("AWSStepFunctions.SendTask") && status < 300 {
                state.close(&json_body);
            }
            match fault {
                Some((_, injected)) => (refusal(injected), status),
                None => (upstream, status),
            }
        }
    };
    state.calls.lock().expect("calls").push(Call {
        operation,
        principal,
        body: json_body,
        status,
        fault: fault.map(|(k, _)| k),
        received,
        at: std::time::SystemTime::now(),
    });
    response
}

/// A request the service model refuses, answered as the service answers it.
fn refused(refusal: &Refusal) -> Response {
    let mut response = (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amzn-errortype", refusal.code.clone()),
        ],
        serde_json::json!({"__type": refusal.code, "message": refusal.message}).to_string(),
    )
        .into_response();
    if refusal.query_compatible {
        // What a query-compatible service (SQS) adds: its SDKs read the query-era code from it.
        if let Ok(v) = format!("{};Sender", refusal.code).parse() {
            response.headers_mut().insert("x-amzn-query-error", v);
        }
    }
    response
}

pub(crate) async fn forward_to(
    state: &FrontState,
    base: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{base}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut req = state.http.request(method, url).body(body);
    for (k, v) in headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status();
            let mut out_headers = HeaderMap::new();
            for (k, v) in r.headers() {
                if k != "content-length" && k != "transfer-encoding" && k != "connection" {
                    out_headers.insert(k.clone(), v.clone());
                }
            }
            let bytes = r.bytes().await.unwrap_or_default();
            (status, out_headers, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
