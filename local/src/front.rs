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

/// A Lambda handler as the front calls it: in-process, or a real binary behind a Runtime API.
pub type Handler = Arc<
    dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send>>
        + Send
        + Sync,
>;

/// A function's error as Lambda reports it: `errorType` becomes the Step Functions error name.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub error_type: String,
    pub message: String,
}

impl From<TaskerError> for FunctionError {
    fn from(e: TaskerError) -> Self {
        FunctionError {
            error_type: e.error_type().to_string(),
            message: e.to_string(),
        }
    }
}

/// One call seen by the front.
#[derive(Debug, Clone)]
pub struct Call {
    /// `AWSStepFunctions.SendTaskSuccess`, `RedshiftData.ExecuteStatement`, `Lambda.Invoke:starter`, ...
    pub operation: String,
    /// The function that made the call (its session token; see `signer`), or the access key of another caller.
    pub principal: String,
    pub body: Value,
    /// The HTTP status of the service's answer (what took effect), or of the injected refusal.
    pub status: u16,
    /// A fault the front injected on this call, if any.
    pub fault: Option<FaultKind>,
    /// When the call was answered.
    pub at: std::time::SystemTime,
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

/// The attempts of one moto task token: which is current, and whether its invocation runs or failed.
#[derive(Debug, Clone, Copy, Default)]
struct Attempt {
    current: u32,
    in_flight: bool,
    failed: bool,
    /// The task was answered: Step Functions refuses any further answer.
    closed: bool,
}

/// Shared state of the front.
pub struct FrontState {
    moto: String,
    redshift: String,
    http: reqwest::Client,
    functions: Mutex<HashMap<String, Handler>>,
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

    /// Every call of an operation so far, in order, whatever its answer.
    pub fn calls_of(&self, operation: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.operation == operation)
            .collect()
    }

    /// How many calls of an operation took effect at the service (it answered 2xx, whatever the caller saw).
    pub fn count(&self, operation: &str) -> usize {
        self.calls_of(operation)
            .iter()
            .filter(|c| c.status < 300)
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

    /// Delays every forwarded call by `latency` (benchmarks: an AWS-like round trip).
    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.state.latency.lock().expect("latency") = latency;
    }

    /// Removes every random fault rule.
    pub fn calm(&self) {
        self.state.chaos.lock().expect("chaos").clear();
    }
}

impl FrontState {
    /// Gives an invocation its own attempt token `<moto token>~<attempt>`, as AWS gives each attempt of a task a
    /// new token (moto re-sends the same one on `Retry`).
    fn begin_attempt(&self, payload: &mut Value) -> Option<(String, u32)> {
        let token = payload.get("taskToken")?.as_str()?.to_string();
        let mut attempts = self.attempts.lock().expect("attempts");
        let a = attempts.entry(token.clone()).or_default();
        a.current += 1;
        a.in_flight = true;
        a.failed = false;
        payload["taskToken"] = Value::String(format!("{token}~{}", a.current));
        Some((token, a.current))
    }

    /// Ends an attempt; `true` when its task was answered while it ran (the answer wins over its error).
    ///
    /// moto starts listening for the token only once it has read the invocation's response, so the attempt
    /// counts as running for a short grace after it: a callback in that window waits too.
    fn end_attempt(self: &Arc<Self>, attempt: Option<(String, u32)>, failed: bool) -> bool {
        let Some((token, n)) = attempt else {
            return false;
        };
        let closed = {
            let mut attempts = self.attempts.lock().expect("attempts");
            let Some(a) = attempts.get_mut(&token) else {
                return false;
            };
            if a.current == n {
                a.failed = failed && !a.closed;
            }
            a.closed
        };
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if let Some(a) = me.attempts.lock().expect("attempts").get_mut(&token) {
                if a.current == n {
                    a.in_flight = false;
                }
            }
        });
        closed
    }

    /// Marks a task answered once Step Functions accepted an answer.
    fn close(&self, body: &Value) {
        let token = body["taskToken"].as_str().unwrap_or_default();
        let task = token.rsplit_once('~').map_or(token, |(t, _)| t);
        if let Some(a) = self.attempts.lock().expect("attempts").get_mut(task) {
            a.closed = true;
        }
    }

    /// What becomes of a callback on an attempt token, as AWS would treat it: the current attempt's token is
    /// honoured, also while its invocation still runs (the handler itself may answer, or another function before
    /// the handler returned; moto would answer 200 and drop it, so the front accepts it and hands it to moto when
    /// the invocation has returned); a failed or superseded attempt's token is a closed task (`TaskTimedOut`).
    fn route_callback(self: &Arc<Self>, body: &mut Value, forward: ForwardLater) -> Callback {
        let Some((token, n)) = body["taskToken"]
            .as_str()
            .and_then(|t| t.rsplit_once('~'))
            .and_then(|(t, n)| Some((t.to_string(), n.parse::<u32>().ok()?)))
        else {
            return Callback::Forward;
        };
        let state = self.attempts.lock().expect("attempts").get(&token).copied();
        match state {
            Some(a) if a.current == n && !a.failed && !a.closed => {
                body["taskToken"] = Value::String(token.clone());
                if !a.in_flight {
                    return Callback::Forward;
                }
                if let Some(a) = self.attempts.lock().expect("attempts").get_mut(&token) {
                    a.closed = true;
                }
                let me = self.clone();
                let body = Bytes::from(body.to_string());
                tokio::spawn(async move {
                    loop {
                        let a = me.attempts.lock().expect("attempts").get(&token).copied();
                        match a {
                            Some(a) if a.current == n && a.in_flight => {}
                            Some(a) if a.current == n && !a.failed => break,
                            _ => return,
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                    }
                    let (method, uri, headers) = forward;
                    let moto = me.moto.clone();
                    let _ = forward_to(&me, &moto, method, &uri, &headers, body).await;
                });
                Callback::Accepted
            }
            _ => Callback::Closed,
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

/// An injected refusal: 400 is throttling (retried by the SDK), 403 a refusal for good, anything else a 5xx.
fn refusal(status: u16) -> Response {
    let code = match status {
        400 => "ThrottlingException",
        403 => "AccessDeniedException",
        _ => "ServiceUnavailable",
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
/// Which function made a call: the session token the local stack gives each function (they share one role, so
/// one access key), or the access key of a caller without one (the tests' own clients sign as `test`).
fn signer(headers: &HeaderMap) -> Option<String> {
    if let Some(session) = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(session.to_string());
    }
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
    let mut json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let principal = signer(&headers).unwrap_or_default();
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
                let mut payload = json_body.clone();
                let attempt = state.begin_attempt(&mut payload);
                // Logged as the handler got it (with its attempt token), so a test can replay it.
                json_body = payload.clone();
                let response = invoke(&state, &f, payload).await;
                let failed = response.headers().contains_key("x-amz-function-error");
                if state.end_attempt(attempt, failed) && failed {
                    // Answered while it ran: the task is over, its error no longer counts.
                    (StatusCode::OK, [("content-type", "application/json")], "{}").into_response()
                } else {
                    response
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
                            return log(&state, operation, principal, json_body, ok, fault);
                        }
                        Callback::Closed => {
                            return log(
                                &state,
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
        at: std::time::SystemTime::now(),
    });
    response
}

/// The arguments of a request the front forwards later.
type ForwardLater = (Method, Uri, HeaderMap);

/// What the front does with a callback.
enum Callback {
    Forward,
    /// Accepted now, handed to moto once the invocation returned.
    Accepted,
    /// The attempt of the token failed or was retried.
    Closed,
}

fn task_timed_out() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", "TaskTimedOut"),
        ],
        json!({"__type": "TaskTimedOut", "message": "Task Timed Out: the attempt of this token failed or was retried"})
            .to_string(),
    )
        .into_response()
}

/// Records a call answered by the front itself.
fn log(
    state: &FrontState,
    operation: String,
    principal: String,
    body: Value,
    response: Response,
    fault: Option<(FaultKind, u16)>,
) -> Response {
    state.calls.lock().expect("calls").push(Call {
        operation,
        principal,
        body,
        status: response.status().as_u16(),
        fault: fault.map(|(k, _)| k),
        at: std::time::SystemTime::now(),
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
            json!({"errorType": e.error_type, "errorMessage": e.message}).to_string(),
        )
            .into_response(),
    }
}

async fn forward_to(
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
