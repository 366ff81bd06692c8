//! Why a `COPY` or `UNLOAD` failed: [`CopyError`], whose text is the statement's `Error`, in Redshift's own words
//! wherever Redshift has words for it.

use tokio_postgres::error::SqlState;

/// Redshift's text for authorization it cannot read (documented under "Invalid credentials string").
const INVALID_CREDENTIALS: &str = "Invalid credentials. Must be of the format: credentials \
'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'";

/// Why a `COPY` or `UNLOAD` failed; its `Display` is the statement's `Error` in `DescribeStatement`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CopyError {
    /// Authorization that is neither an IAM role ARN, `default`, nor a credentials string (Redshift's text).
    #[error("ERROR: {INVALID_CREDENTIALS}")]
    InvalidCredentials,
    /// A statement or option redshift-local cannot run: refused rather than half-done.
    #[error("ERROR: {0} is not supported by redshift-local")]
    Unsupported(String),
    /// An option whose value Redshift would not accept either (the text says which and why).
    #[error("ERROR: {0}")]
    InvalidOption(String),
    /// The statement could not be read (sqlparser's message names the token).
    #[error("ERROR: syntax error in {statement}: {detail}")]
    Syntax {
        statement: &'static str,
        detail: String,
    },
    /// `COPY` from something that is not an object store (Redshift's text).
    #[error("ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)")]
    LoadSource,
    /// No object has the key prefix (Redshift's text, naming the prefix without the bucket).
    #[error("ERROR: The specified S3 prefix '{0}' does not exist")]
    NoSuchPrefix(String),
    /// `UNLOAD` onto objects without `ALLOWOVERWRITE` (Redshift's text).
    #[error(
        "ERROR: Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, \
         manually removing the target files in S3, or using the ALLOWOVERWRITE option."
    )]
    DestinationNotEmpty,
    /// `COPY` into a table that does not exist (Redshift's text).
    #[error("ERROR: Cannot COPY into nonexistent table {0}")]
    NoSuchTable(String),
    /// S3 refused a request; formatted as Redshift reports S3 errors.
    #[error("ERROR: S3ServiceException:{message},Status {status},Error {code},Rid {request_id},CanRetry 1")]
    S3 {
        message: String,
        status: u16,
        code: String,
        request_id: String,
    },
    /// S3 could not be reached at all.
    #[error("ERROR: S3 request failed: {0}")]
    S3Unreachable(String),
    /// A `MANIFEST` that is not what Redshift reads, or that names a mandatory file that is missing.
    #[error("ERROR: {0}")]
    Manifest(String),
    /// redshift-local was started without an S3 endpoint.
    #[error("ERROR: COPY and UNLOAD need an S3 endpoint: start redshift-local with --s3-endpoint")]
    NoEndpoint,
    /// A data file that cannot be read as the format says, or more rejected rows than `MAXERROR` allows
    /// (Redshift points at `stl_load_errors`, where redshift-local records the rows too).
    #[error(
        "ERROR: Load into table '{table}' failed. Check 'stl_load_errors' system table for details. \
         (redshift-local: {detail})"
    )]
    Load { table: String, detail: String },
    /// PostgreSQL's own error for the rows or the query.
    #[error("ERROR: {}", postgres_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

impl CopyError {
    /// Whether PostgreSQL stopped because the statement was cancelled (the engine reports it as `ABORTED`).
    pub(crate) fn cancelled(&self) -> bool {
        matches!(self, CopyError::Postgres(e) if e.code() == Some(&SqlState::QUERY_CANCELED))
    }
}

/// PostgreSQL's message, as the rest of redshift-local reports it.
fn postgres_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}
