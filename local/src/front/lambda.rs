//! Lambda invocations as the front serves them: a registered handler per function name, and its error shaped
//! as Lambda reports it (`X-Amz-Function-Error: Unhandled`, `{errorType, errorMessage}`).

use super::{Front, FrontState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

impl Front {
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

/// Runs `function`'s handler on `payload` and answers as Lambda does.
pub(crate) async fn invoke(state: &FrontState, function: &str, payload: Value) -> Response {
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
