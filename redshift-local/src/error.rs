//! The Data API's errors, as the engine, the catalog and the request checks raise them; the API layer turns
//! them into the service's error replies.

/// A Data API error: its name (the `__type`) and message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    /// The error's shape name, e.g. `ValidationException`: the SDKs pick the error type by it.
    pub(crate) code: &'static str,
    /// What went wrong, for the caller.
    pub(crate) message: String,
    /// The statement or session the error is about (`ResourceNotFoundException` names it).
    pub(crate) resource_id: Option<String>,
}

impl ApiError {
    /// `ValidationException`.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        ApiError {
            code: "ValidationException",
            message: message.into(),
            resource_id: None,
        }
    }

    /// A statement of another identity: the Data API scopes statements to the IAM identity that ran them.
    pub(crate) fn not_owner(id: &str) -> Self {
        ApiError {
            code: "AccessDeniedException",
            message: format!(
                "Query {id} was run by another identity; a statement can be described, read or cancelled only by \
                 the identity that ran it"
            ),
            resource_id: None,
        }
    }

    /// `InternalServerException`: a failure of the local service, not of the request.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError {
            code: "InternalServerException",
            message: message.into(),
            resource_id: None,
        }
    }

    /// `ResourceNotFoundException` for a session id: unknown, of another identity, or closed.
    pub(crate) fn session_not_found(sid: &str) -> Self {
        ApiError {
            code: "ResourceNotFoundException",
            message: format!("Session {sid} does not exist or has expired"),
            resource_id: Some(sid.to_string()),
        }
    }

    /// `ValidationException` for a statement past the Data API's retention. The text is the service's: public
    /// clients match it (terraform-provider-aws' `internal/service/redshiftdata/find.go` `FindStatementByID` treats
    /// a `ValidationException` containing "expired" as an expired statement;
    /// ministryofjustice/hmpps-digital-prison-reporting-mi's `configuration/SentryConfig.kt` matches
    /// "Could not retrieve the query result as it has expired after 24 hours"), so it names 24 hours even when a
    /// test shortens the retention.
    pub(crate) fn expired() -> Self {
        ApiError {
            code: "ValidationException",
            message: "Could not retrieve the query result as it has expired after 24 hours".into(),
            resource_id: None,
        }
    }

    /// An unsigned request (no SigV4 `Authorization` header): AWS's common error `MissingAuthenticationToken`
    /// ("The request must contain either a valid (registered) AWS access key ID or X.509 certificate.", HTTP 403,
    /// <https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html>), named with the `Exception`
    /// suffix as the JSON protocol's `__type` carries it.
    pub(crate) fn missing_authentication_token() -> Self {
        ApiError {
            code: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token".into(),
            resource_id: None,
        }
    }

    /// An `Authorization` header that is not a SigV4 signature naming its credential: AWS's common error
    /// `IncompleteSignature` ("The request signature does not conform to AWS standards.", HTTP 400).
    pub(crate) fn incomplete_signature() -> Self {
        ApiError {
            code: "IncompleteSignatureException",
            message: "The request signature does not conform to AWS standards.".into(),
            resource_id: None,
        }
    }

    /// `ResourceNotFoundException` for a statement id.
    pub(crate) fn not_found(id: &str) -> Self {
        ApiError {
            code: "ResourceNotFoundException",
            message: format!("Query does not exist: {id}"),
            resource_id: Some(id.to_string()),
        }
    }
}
