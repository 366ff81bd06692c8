//! What the three Lambda binaries share at their edge: logging, SDK configuration and error reporting.

use lambda_runtime::Diagnostic;
use tasker_core::TaskerError;

/// JSON logs, one object per event, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// The SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL*` for local peers).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The Lambda error: `errorType` is the Step Functions error name a state's `Catch` matches.
pub fn diagnostic(e: &TaskerError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_string(),
        error_message: e.to_string(),
    }
}

/// A `TaskerError` that the Lambda runtime reports with its own `errorType`.
#[derive(Debug)]
pub struct LambdaError(pub TaskerError);

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Self {
        diagnostic(&e.0)
    }
}

/// Reads one environment variable, for `Settings::from_lookup` and `Target::from_lookup`.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
