//! The call log: every call the front saw, by operation, with its body, signer, answer and time, for the tests'
//! assertions and the call counts.

use super::faults::FaultKind;
use super::{Front, FrontState};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

/// One call seen by the front.
#[derive(Debug, Clone)]
pub struct Call {
    /// `AWSStepFunctions.SendTaskSuccess`, `RedshiftData.ExecuteStatement`, `Lambda.Invoke:starter`, ...
    pub operation: String,
    /// The function that made the call (its session token; see `signer`), or the access key of another caller.
    pub principal: String,
    /// The request's JSON body (an invocation's payload as the handler got it).
    pub body: Value,
    /// The HTTP status of the service's answer (what took effect), or of the injected refusal.
    pub status: u16,
    /// A fault the front injected on this call, if any.
    pub fault: Option<FaultKind>,
    /// When the front got the request: with `at`, how long the call took as its caller saw it (for a Lambda
    /// invocation, the handler's run: what Lambda bills).
    pub received: std::time::SystemTime,
    /// When the call was answered.
    pub at: std::time::SystemTime,
}

impl Front {
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

    /// The first `SendTaskFailure` a function made (moto drops the cause; the front keeps it): the call, with its
    /// cause parsed as the JSON the completer writes.
    pub fn first_task_failure(&self) -> Option<(Call, serde_json::Value)> {
        let call = self
            .calls_of("AWSStepFunctions.SendTaskFailure")
            .into_iter()
            .next()?;
        let cause = call.body["cause"]
            .as_str()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        Some((call, cause))
    }

    /// How many calls of an operation took effect at the service (it answered 2xx, whatever the caller saw).
    pub fn count(&self, operation: &str) -> usize {
        self.calls_of(operation)
            .iter()
            .filter(|c| c.status < 300)
            .count()
    }

    /// How many calls of `operation` were refused with HTTP 429 (Lambda's throttling): what a fan-out lost to the
    /// functions' reserved concurrency.
    pub fn throttled(&self, operation: &str) -> usize {
        self.calls_of(operation)
            .iter()
            .filter(|c| c.status == 429)
            .count()
    }
}

/// The access key id of a SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/...`.
/// Which function made a call: the session token the local stack gives each function (they share one role, so
/// one access key), or the access key of a caller without one (the tests' own clients sign as `test`).
pub(crate) fn signer(headers: &HeaderMap) -> Option<String> {
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

impl FrontState {
    /// Logs an invocation that did not pass through the front: the emulated SQS event source mapping runs the
    /// completer in process, as Lambda's poller would invoke it, and the call log must still count every Lambda
    /// request and its run time (what Lambda bills).
    pub fn note_invocation(
        &self,
        function: &str,
        payload: Value,
        received: std::time::SystemTime,
        failed: bool,
    ) {
        self.calls.lock().expect("calls").push(Call {
            operation: format!("Lambda.Invoke:{function}"),
            principal: "lambda".into(),
            body: payload,
            status: if failed { 500 } else { 200 },
            fault: None,
            received,
            at: std::time::SystemTime::now(),
        });
    }
}

/// Records a call answered by the front itself.
pub(crate) fn log(
    state: &FrontState,
    received: std::time::SystemTime,
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
        received,
        at: std::time::SystemTime::now(),
    });
    response
}
