//! Lambda invocations as the front serves them: a registered handler per function name, and its error shaped
//! as Lambda reports it (`X-Amz-Function-Error: Unhandled`, `{errorType, errorMessage}`).
//!
//! Each function runs within its deployed limits ([`FunctionLimits`]), as Lambda runs it: an invocation beyond
//! its `ReservedConcurrentExecutions` is refused with HTTP 429 `TooManyRequestsException` (botocore's `lambda`
//! model: `TooManyRequestsException`, `httpStatusCode` 429, `Reason`
//! `ReservedFunctionConcurrentInvocationLimitExceeded`), which moto's Step Functions, like AWS's, names
//! `Lambda.TooManyRequestsException`; one running past its `Timeout` is cut off (its handler dropped, as Lambda
//! stops the sandbox) and answered as a timed-out invocation: `X-Amz-Function-Error: Unhandled` with
//! `{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task timed out after 1.00 seconds"}`
//! (the form real Lambda returns; AWS's runtime interface emulator names the error `Sandbox.Timedout` with
//! "Task timed out after %.2f seconds").

use super::{Front, FrontState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tasker_core::TaskerError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A Lambda handler as the front calls it: in-process, or a real binary behind a Runtime API.
pub type Handler = Arc<
    dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send>>
        + Send
        + Sync,
>;

/// A function's error as Lambda reports it: `errorType` becomes the Step Functions error name.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    /// Lambda's `errorType`: the Step Functions error name.
    pub error_type: String,
    /// Lambda's `errorMessage`: the cause.
    pub message: String,
}

impl From<TaskerError> for FunctionError {
    /// Through the binaries' own mapping (`tasker_aws::runtime::diagnostic`), so an in-process handler fails
    /// exactly as the deployed function does.
    fn from(e: TaskerError) -> Self {
        let d = tasker_aws::runtime::diagnostic(&e);
        FunctionError {
            error_type: d.error_type,
            message: d.error_message,
        }
    }
}

/// How Lambda runs a function, from its deployed configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionLimits {
    /// `ReservedConcurrentExecutions`: at most this many invocations at once, the others throttled (429
    /// `TooManyRequestsException`); `None` when the function reserves none (the account's pool: not limited here).
    pub reserved_concurrency: Option<u32>,
    /// `Timeout`: an invocation running longer is cut off (`Sandbox.Timedout`).
    pub timeout: Duration,
}

/// A function's limits and its free concurrency slots.
pub(crate) struct Limiter {
    limits: FunctionLimits,
    slots: Option<Arc<Semaphore>>,
}

/// How an invocation ended.
pub(crate) enum Outcome {
    /// No handler is registered under the function's name.
    NotFound,
    /// Refused: the function's reserved concurrency is in use.
    Throttled,
    /// Cut off at the function's timeout, after this long.
    TimedOut(Duration),
    /// The handler's answer.
    Finished(Result<Value, FunctionError>),
}

impl Front {
    /// Runs the function registered as `name` within `limits` from now on (its deployed concurrency and timeout).
    pub fn limit(&self, name: &str, limits: FunctionLimits) {
        let slots = limits
            .reserved_concurrency
            .map(|n| Arc::new(Semaphore::new(n as usize)));
        self.state
            .limits
            .lock()
            .expect("limits")
            .insert(name.to_string(), Limiter { limits, slots });
    }

    /// The limits the function registered as `name` runs within, if any.
    pub fn limits(&self, name: &str) -> Option<FunctionLimits> {
        let limits = self.state.limits.lock().expect("limits");
        limits.get(name).map(|l| l.limits)
    }

    /// A handler that invokes the function registered as `name` as Lambda would, within its limits (what the
    /// emulated event source mapping and schedule invoke): a throttled invocation fails with
    /// `TooManyRequestsException` and a timed-out one with `Sandbox.Timedout`.
    pub fn invoker(&self, name: &str) -> Handler {
        let state = self.state.clone();
        let name = name.to_string();
        Arc::new(move |payload| {
            let state = state.clone();
            let name = name.clone();
            Box::pin(async move {
                match state.run_function(&name, payload).await {
                    Outcome::Finished(result) => result,
                    Outcome::NotFound => Err(FunctionError {
                        error_type: "ResourceNotFoundException".into(),
                        message: format!("Function not found: {name}"),
                    }),
                    Outcome::Throttled => Err(FunctionError {
                        error_type: "TooManyRequestsException".into(),
                        message: "Rate Exceeded.".into(),
                    }),
                    Outcome::TimedOut(after) => Err(timed_out(after)),
                }
            })
        })
    }

    /// Routes invocations of the deployed function `deployed_name` (the last part of the ARN a state machine
    /// names) to the handler registered as `name`; calls are logged as `Lambda.Invoke:<name>`.
    pub fn route_function(&self, deployed_name: &str, name: &str) {
        self.state
            .aliases
            .lock()
            .expect("aliases")
            .insert(deployed_name.to_string(), name.to_string());
    }
}

impl FrontState {
    /// The name a function's handler is registered under.
    pub(crate) fn registered_name(&self, function: String) -> String {
        let aliases = self.aliases.lock().expect("aliases");
        aliases.get(&function).cloned().unwrap_or(function)
    }
}

/// The function named in `POST /2015-03-31/functions/<name or ARN>/invocations`.
pub(crate) fn function_name(path: &str) -> Option<String> {
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

impl FrontState {
    /// A concurrency slot of `function` (none needed when it reserves none); `Err` when all are in use.
    pub(crate) fn admit(&self, function: &str) -> Result<Option<OwnedSemaphorePermit>, ()> {
        let limits = self.limits.lock().expect("limits");
        match limits.get(function).and_then(|l| l.slots.clone()) {
            None => Ok(None),
            Some(slots) => slots.try_acquire_owned().map(Some).map_err(|_| ()),
        }
    }

    /// Runs `function`'s handler on `payload` within its limits.
    pub(crate) async fn run_function(&self, function: &str, payload: Value) -> Outcome {
        let Ok(slot) = self.admit(function) else {
            return Outcome::Throttled;
        };
        self.run_admitted(function, payload, slot).await
    }

    /// Runs `function`'s handler on `payload` in the slot it was admitted to, cut off at its timeout.
    pub(crate) async fn run_admitted(
        &self,
        function: &str,
        payload: Value,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Outcome {
        let handler = self
            .functions
            .lock()
            .expect("functions")
            .get(function)
            .cloned();
        let Some(handler) = handler else {
            return Outcome::NotFound;
        };
        let timeout = self
            .limits
            .lock()
            .expect("limits")
            .get(function)
            .map(|l| l.limits.timeout);
        let outcome = match timeout {
            Some(timeout) => match tokio::time::timeout(timeout, handler(payload)).await {
                Ok(result) => Outcome::Finished(result),
                Err(_) => Outcome::TimedOut(timeout),
            },
            None => Outcome::Finished(handler(payload).await),
        };
        drop(slot);
        outcome
    }
}

/// A timed-out invocation's error, as Lambda reports it.
pub(crate) fn timed_out(after: Duration) -> FunctionError {
    FunctionError {
        error_type: "Sandbox.Timedout".into(),
        message: format!(
            "RequestId: {} Error: Task timed out after {:.2} seconds",
            uuid::Uuid::new_v4(),
            after.as_secs_f64()
        ),
    }
}

/// Lambda's answer to an invocation beyond the function's reserved concurrency.
pub(crate) fn throttled() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("content-type", "application/json".to_string()),
            ("x-amzn-errortype", "TooManyRequestsException".to_string()),
            // Lambda sends one with every answer; Step Functions quotes it in the error's cause.
            ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
        ],
        json!({
            "__type": "TooManyRequestsException",
            "Type": "User",
            "message": "Rate Exceeded.",
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"
        })
        .to_string(),
    )
        .into_response()
}

/// Answers an invocation's outcome as Lambda does.
pub(crate) fn answer(function: &str, outcome: Outcome) -> Response {
    let result = match outcome {
        Outcome::NotFound => {
            return (
                StatusCode::NOT_FOUND,
                [("x-amzn-errortype", "ResourceNotFoundException")],
                json!({"Type": "User", "Message": format!("Function not found: {function}")})
                    .to_string(),
            )
                .into_response()
        }
        Outcome::Throttled => return throttled(),
        Outcome::TimedOut(after) => Err(timed_out(after)),
        Outcome::Finished(result) => result,
    };
    match result {
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
