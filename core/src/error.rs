//! The errors of the domain, in one leaf module that imports nothing from the crate, so that every other module
//! can use them without an import circle: what a use case ends with ([`TaskerError`], whose variant names are the
//! `errorType` a Lambda reports, which Step Functions turns into the error name a state's `Catch`/`Retry` matches
//! on, so the names are part of the contract), what a port call meets ([`PortError`], [`FaultKind`]) and what a
//! bad configuration is refused with ([`ConfigError`]).

/// What kind of failure a port call met; the use cases decide on this, never on error strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Throttling, a 5xx or a network fault: the same call may succeed later.
    Retryable,
    /// The task token is gone (`TaskTimedOut`, `TaskDoesNotExist`, `InvalidToken`).
    TokenGone,
    /// The thing asked about does not exist.
    NotFound,
    /// Refused for good (validation and other client errors).
    Rejected,
}

/// A failed port call, with the service's own error name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PortError {
    /// Decides what the use case does: retry, orphan or refuse.
    pub kind: FaultKind,
    /// The service's error name, kept so that a `Retry` can match it.
    pub code: String,
    /// The service's explanation, for the logs and the error message.
    pub message: String,
}

/// Step Functions' answers meaning the task token can never be used again (botocore's `stepfunctions` model:
/// the errors of `SendTaskSuccess`/`SendTaskFailure`).
const TOKEN_GONE: [&str; 3] = ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"];

/// Throttling error names across the services we call.
const THROTTLED: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ActiveStatementsExceededException",
    "KmsThrottlingException",
];

impl FaultKind {
    /// What a service's error answer means, from its error name, its message and whether it was a 5xx; the one
    /// classification the AWS adapters and the simulation share, so the simulation judges the real rule.
    ///
    /// A `DescribeStatement` (or result) of a statement past the Data API's 24-hour retention is answered
    /// `ValidationException` with a message saying it expired, not `ResourceNotFoundException`:
    /// terraform-provider-aws's `FindStatementByID` (internal/service/redshiftdata) maps a `ValidationException`
    /// containing "expired" to an expired statement, and other clients match "Could not retrieve the query result
    /// as it has expired after 24 hours". Both mean the statement is no longer known: [`FaultKind::NotFound`].
    pub fn classify(code: &str, message: &str, server_error: bool) -> FaultKind {
        if TOKEN_GONE.contains(&code) {
            FaultKind::TokenGone
        } else if THROTTLED.contains(&code) || server_error {
            FaultKind::Retryable
        } else if code == "ResourceNotFoundException" || is_expired_statement(code, message) {
            FaultKind::NotFound
        } else {
            FaultKind::Rejected
        }
    }
}

/// The Data API's answer for a statement past its retention (see [`FaultKind::classify`]).
pub(crate) fn is_expired_statement(code: &str, message: &str) -> bool {
    code == "ValidationException" && message.to_ascii_lowercase().contains("expired")
}

impl PortError {
    /// Builds an error of a kind.
    pub fn new(kind: FaultKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        PortError {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A configuration problem found at start-up; the function refuses to start rather than misbehave later.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Why a starter, completer or canceller call failed, typed so that callers can `Catch` on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskerError {
    /// The payload is malformed; the message names the field. Nothing was written.
    #[error("{0}")]
    InvalidInput(String),
    /// A `singleton` statement with the same SQL is still running from this deployment.
    #[error("{0}")]
    ConcurrentExecution(String),
    /// A statement id or `LATEST` that matches nothing this deployment knows of.
    #[error("{0}")]
    StatementNotFound(String),
    /// The Data API refused or failed the call; `code` is its error name (for example
    /// `ActiveStatementsExceededException`), kept so a `Retry` can match it.
    #[error("{code}: {message}")]
    DataApi {
        /// The Data API's error name, reported as the `errorType`.
        code: String,
        /// The Data API's explanation.
        message: String,
    },
    /// The state table could not be read or written; the record is left for a retry or the sweeper.
    #[error("{0}")]
    StateTable(String),
    /// Step Functions refused a callback for a reason other than a gone token.
    #[error("{0}")]
    Callback(String),
}

impl TaskerError {
    /// The `errorType` reported by the Lambda (the Step Functions error name).
    pub fn error_type(&self) -> &str {
        match self {
            TaskerError::InvalidInput(_) => "InvalidInput",
            TaskerError::ConcurrentExecution(_) => "ConcurrentExecution",
            TaskerError::StatementNotFound(_) => "StatementNotFound",
            TaskerError::DataApi { code, .. } => code,
            TaskerError::StateTable(_) => "StateTableError",
            TaskerError::Callback(_) => "CallbackError",
        }
    }

    /// Wraps a Data API port failure, keeping its error name.
    pub fn data_api(err: PortError) -> Self {
        match err.kind {
            FaultKind::NotFound => TaskerError::StatementNotFound(err.message),
            _ => TaskerError::DataApi {
                code: err.code,
                message: err.message,
            },
        }
    }

    /// Wraps a state-table port failure.
    pub fn state_table(err: PortError) -> Self {
        TaskerError::StateTable(format!("{}: {}", err.code, err.message))
    }
}

/// Deserializes a payload strictly; the `InvalidInput` message starts with the offending field's path and says
/// what was expected, never what was found (a misplaced SQL text or parameter value must not reach the logs).
pub(crate) fn deserialize_payload<T: serde::de::DeserializeOwned>(
    payload: &serde_json::Value,
) -> Result<T, TaskerError> {
    decode_naming_the_field(payload, "").map_err(TaskerError::InvalidInput)
}

/// Deserializes a JSON value found at `within` (a field path, empty for a whole payload); the error is the
/// offending field's path and what was expected, never the value found (shared by every parser of outside input:
/// payloads, events, custom-resource requests).
pub(crate) fn decode_naming_the_field<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    within: &str,
) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_value(&e.into_inner().to_string());
        match (within.is_empty(), path == ".") {
            (true, true) => inner,
            (true, false) => format!("{path}: {inner}"),
            (false, true) => format!("{within}: {inner}"),
            (false, false) => format!("{within}.{path}: {inner}"),
        }
    })
}

/// A JSON text that does not parse, said without its content: the kind of error and where (serde_json's syntax
/// messages quote no input today, but a position is all a reader needs).
pub(crate) fn unparsable_json(e: &serde_json::Error) -> String {
    format!(
        "not JSON ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// serde's message without the value it quotes: `invalid type: string "…", expected u64` becomes
/// `expected u64`. Unknown-field messages name a key, not a value, and stay as they are.
fn without_value(message: &str) -> String {
    // serde_json appends a position that means nothing for an already-parsed payload.
    let message = message.split(" at line ").next().unwrap_or(message);
    let quotes_a_value = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|p| message.starts_with(p));
    if quotes_a_value {
        return match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("expected {expected}"),
            None => "wrong type or value".to_string(),
        };
    }
    if message.starts_with("data did not match any variant") {
        return "expected a string, number or boolean".to_string();
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_statement_is_not_found_and_other_refusals_are_final() {
        let expired = "Could not retrieve the query result as it has expired after 24 hours.";
        assert_eq!(
            FaultKind::classify("ValidationException", expired, false),
            FaultKind::NotFound
        );
        assert_eq!(
            FaultKind::classify("ResourceNotFoundException", "Query does not exist", false),
            FaultKind::NotFound
        );
        assert_eq!(
            FaultKind::classify("ValidationException", "1 validation error", false),
            FaultKind::Rejected
        );
        assert_eq!(
            FaultKind::classify("InvalidOutput", "too long", false),
            FaultKind::Rejected
        );
        assert_eq!(
            FaultKind::classify("TaskTimedOut", "", false),
            FaultKind::TokenGone
        );
        assert_eq!(
            FaultKind::classify("KmsThrottlingException", "", false),
            FaultKind::Retryable
        );
        assert_eq!(
            FaultKind::classify("InternalServerException", "", true),
            FaultKind::Retryable
        );
    }

    #[test]
    fn serde_messages_lose_their_value() {
        for (message, want) in [
            (
                "invalid type: string \"drop table x\", expected u64 at line 1 column 5",
                "expected u64",
            ),
            ("invalid value: integer `-1`, expected u64", "expected u64"),
            (
                "data did not match any variant of untagged enum ParamValue",
                "expected a string, number or boolean",
            ),
            (
                "unknown field `bogus`, expected one of `a`",
                "unknown field `bogus`, expected one of `a`",
            ),
        ] {
            assert_eq!(without_value(message), want);
        }
    }
}
