//! SDK errors to port errors: the kind decides retry, orphaning or refusal.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tasker_core::{FaultKind, PortError};

/// Classifies any SDK error.
pub fn port_error<E>(err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or("Unknown").to_string();
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string());
    let status = err.raw_response().map(|r| r.status().as_u16());
    let kind = match &err {
        SdkError::ServiceError(_) => {
            FaultKind::classify(&code, &message, status.is_some_and(|s| s >= 500))
        }
        _ => FaultKind::Retryable,
    };
    PortError {
        kind,
        code,
        message,
    }
}
