//! The front: one loopback endpoint for every AWS call of the local stack.
//!
//! - `POST /2015-03-31/functions/<function>/invocations` (moto's Step Functions running a Lambda task) goes to the
//!   registered handler; its error becomes `X-Amz-Function-Error: Unhandled` with `{errorType, errorMessage}`,
//!   exactly as Lambda reports it, so a state's `Catch` on the error name works.
//! - `X-Amz-Target: RedshiftData.*` goes to `redshift-local`.
//! - Everything else goes to moto.
//!
//! Each call is logged by operation (with its JSON body and signer) for the tests' assertions and the call counts.
//! Faults: an operation can be refused with an HTTP status a number of times (throttling and 5xx injection), and
//! [`Chaos`] rules make a function's calls fail at random, either refused before they reach the service or
//! *applied and then answered with a 500* (a lost response: the caller crashed right after that step).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tasker_core::TaskerError;

/// A Lambda handler as the front calls it.
pub type Handler = Arc<
    dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, TaskerError>> + Send>> + Send + Sync,
>;

/// One call seen by the front.
#[derive(Debug, Clone)]
pub struct Call {
    /// `AWSStepFunctions.SendTaskSuccess`, `RedshiftData.ExecuteStatement`, `Lambda.Invoke:starter`, ...
    pub operation: String,
    /// The access key id the caller signed with: the local stack gives each function its own, so a call can be
    /// told apart by who made it (the IAM check of the template).
    pub principal: String,
    pub body: Value,
    /// The HTTP status of the service's answer (what took effect), or of the injected refusal.
    pub status: u16,
    /// A fault the front injected on this call, if any.
    pub fault: Option<FaultKind>,
}

/// How an injected fault looks to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Refused with a 5xx before reaching the service: nothing happened.
    Refused,
    /// Sent to the service, which applied it; the caller gets a 500 (as if it crashed after the step).
    LostResponse,
}

/// A random fault rule: each call of `operation` by `principal` starts, with `probability`, a burst of `burst`
/// faulted attempts (enough to outlast the SDK's own retries, so the caller really fails at that step). In a burst
/// of lost responses only the first attempt reaches the service.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub operation: String,
    pub principal: String,
    pub probability: f64,
    pub kind: FaultKind,
    pub burst: u32,
}

/// Shared state of the front.
pub struct FrontState {
    moto: String,
    redshift: String,
    http: reqwest::Client,
    functions: Mutex<HashMap<String, Handler>>,
    /// Task tokens of Lambda invocations still running (see [`FrontState::hold_early_callback`]).
    invoking: Mutex<HashMap<String, usize>>,
    calls: Mutex<Vec<Call>>,
    faults: Mutex<HashMap<String, VecDeque<u16>>>,
    chaos: Mutex<Vec<(Chaos, u32)>>,
}

/// The running front; stopped on drop.
pub struct Front {
    pub addr: SocketAddr,
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
            invoking: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
            chaos: Mutex::new(Vec::new()),
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

    /// Routes invocations of the function named `name` (the last part of its ARN) to `handler`.
    pub fn register(&self, name: &str, handler: Handler) {
        self.state
            .functions
            .lock()
            .expect("functions")
            .insert(name.to_string(), handler);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().expect("calls").clone()
    }

    /// How many calls of an operation took effect at the service (it answered 2xx, whatever the caller saw).
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation && c.status < 300)
            .count()
    }

    /// Makes the next `statuses.len()` calls of `operation` fail with these HTTP statuses.
    pub fn inject(&self, operation: &str, statuses: &[u16]) {
        self.state
            .faults
            .lock()
            .expect("faults")
            .entry(operation.to_string())
            .or_default()
            .extend(statuses);
    }
}

impl Front {
    /// Adds a random fault rule (see [`Chaos`]).
    pub fn chaos(&self, rule: Chaos) {
        self.state.chaos.lock().expect("chaos").push((rule, 0));
    }

    /// Removes every random fault rule.
    pub fn calm(&self) {
        self.state.chaos.lock().expect("chaos").clear();
    }
}

impl FrontState {
    fn invoking(&self, token: Option<&str>, delta: isize) {
        let Some(token) = token else { return };
        let mut running = self.invoking.lock().expect("invoking");
        let n = running.entry(token.to_string()).or_default();
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            running.remove(token);
        }
    }

    /// Step Functions honours a callback that arrives while its Lambda task is still running; moto answers it
    /// 200 and drops it. So a callback for a token whose invocation has not returned yet waits for it here.
    async fn hold_early_callback(&self, operation: &str, body: &Value) {
        if !operation.starts_with("AWSStepFunctions.SendTask") {
            return;
        }
        let Some(token) = body["taskToken"].as_str() else {
            return;
        };
        for _ in 0..600 {
            if !self.invoking.lock().expect("invoking").contains_key(token) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The fault, if any, for this call: a refusal queued by [`Front::inject`], or a chaos rule's.
    fn fault_for(&self, operation: &str, principal: &str) -> Option<(FaultKind, u16)> {
        if let Some(status) = self
            .faults
            .lock()
            .expect("faults")
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            return Some((FaultKind::Refused, status));
        }
        let mut rules = self.chaos.lock().expect("chaos");
        for (rule, left) in rules.iter_mut() {
            if rule.operation != operation || rule.principal != principal {
                continue;
            }
            if *left == 0 && fastrand::f64() < rule.probability {
                *left = rule.burst;
            }
            if *left > 0 {
                // A lost response is applied once; the caller's own retries then find it down, as if it had died.
                let kind = if *left == rule.burst {
                    rule.kind
                } else {
                    FaultKind::Refused
                };
                *left -= 1;
                return Some((kind, 500));
            }
        }
        None
    }
}

fn refusal(status: u16) -> Response {
    let code = if status == 400 {
        "ThrottlingException"
    } else {
        "ServiceUnavailable"
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", code),
        ],
        json!({"__type": code, "message": "injected by the test front"}).to_string(),
    )
        .into_response()
}

fn function_name(path: &str) -> Option<String> {
    let encoded = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?;
    let name = match decoded.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
        None => decoded.to_string(),
    };
    Some(name)
}

/// The access key id of a SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/...`.
fn signer(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

async fn route(
    State(state): State<Arc<FrontState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let function = (method == Method::POST)
        .then(|| function_name(uri.path()))
        .flatten();
    let operation = match (&function, &target) {
        (Some(f), _) => format!("Lambda.Invoke:{f}"),
        (None, Some(t)) => t.clone(),
        (None, None) => format!("{method} {}", uri.path()),
    };
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let principal = signer(&headers).unwrap_or_default();
    let fault = state.fault_for(&operation, &principal);
    let (response, status) = match fault {
        Some((FaultKind::Refused, status)) => (refusal(status), status),
        _ => {
            let upstream = if let Some(f) = function {
                let token = json_body["taskToken"].as_str().map(str::to_string);
                state.invoking(token.as_deref(), 1);
                let response = invoke(&state, &f, json_body.clone()).await;
                state.invoking(token.as_deref(), -1);
                response
            } else {
                state.hold_early_callback(&operation, &json_body).await;
                let base = if target
                    .as_deref()
                    .is_some_and(|t| t.starts_with("RedshiftData."))
                {
                    &state.redshift
                } else {
                    &state.moto
                };
                forward(&state, base, method, &uri, &headers, body).await
            };
            let status = upstream.status().as_u16();
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
    });
    response
}

async fn invoke(state: &FrontState, function: &str, payload: Value) -> Response {
    let handler = state
        .functions
        .lock()
        .expect("functions")
        .get(function)
        .cloned();
    let Some(handler) = handler else {
        return (
            StatusCode::NOT_FOUND,
            json!({"Type": "User", "Message": format!("Function not found: {function}")})
                .to_string(),
        )
            .into_response();
    };
    match handler(payload).await {
        Ok(v) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::OK,
            [
                ("content-type", "application/json"),
                ("x-amz-function-error", "Unhandled"),
            ],
            json!({"errorType": e.error_type(), "errorMessage": e.to_string()}).to_string(),
        )
            .into_response(),
    }
}

async fn forward(
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
