//! What a statement asks for: its SQL, target, session use and result format, as the API layer decoded them.

/// Where a statement runs, as the request named it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// The provisioned cluster, if on one.
    pub(crate) cluster_identifier: Option<String>,
    /// The serverless workgroup, if on one.
    pub(crate) workgroup_name: Option<String>,
    /// The database it connects to.
    pub(crate) database: String,
    /// The database user (temporary credentials), if named.
    pub(crate) db_user: Option<String>,
    /// The secret holding the credentials, if named.
    pub(crate) secret_arn: Option<String>,
}

/// The compute target and database `ListStatements` narrows the caller's statements to.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetFilter {
    pub(crate) cluster_identifier: Option<String>,
    pub(crate) workgroup_name: Option<String>,
    pub(crate) database: Option<String>,
}

impl TargetFilter {
    /// Whether a statement run on `target` is listed: every filter given must name the statement's.
    pub(super) fn matches(&self, target: &Target) -> bool {
        let same = |want: &Option<String>, have: Option<&String>| {
            want.as_ref().is_none_or(|w| have == Some(w))
        };
        same(&self.cluster_identifier, target.cluster_identifier.as_ref())
            && same(&self.workgroup_name, target.workgroup_name.as_ref())
            && same(&self.database, Some(&target.database))
    }
}

/// A validated `ExecuteStatement` or `BatchExecuteStatement`.
#[derive(Debug, Clone)]
pub(crate) struct NewStatement {
    pub(crate) sqls: Vec<String>,
    pub(crate) is_batch: bool,
    pub(crate) parameters: Vec<(String, String)>,
    pub(crate) name: Option<String>,
    pub(crate) target: Target,
    pub(crate) with_event: bool,
    pub(crate) client_token: Option<String>,
    /// The identity (access key id) that ran it: only it may describe, read or cancel the statement.
    pub(crate) owner: String,
    /// The IAM session (session token) of the identity that ran it: `ListStatements` with `RoleLevel` false
    /// shows only the statements of the caller's session.
    pub(crate) owner_session: Option<String>,
    /// Whether it runs on a session's connection (temporary tables of earlier statements survive).
    pub(crate) session: SessionUse,
    /// Which result operation serves its rows: the service keeps the format the statement was run with.
    pub(crate) result_format: ResultFormat,
    /// Whether a batch's statements share one transaction.
    pub(crate) execution_mode: ExecutionMode,
}

/// `ResultFormat`: the service stores a result in one format, served by one operation only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ResultFormat {
    /// Typed `Field`s, served by `GetStatementResult`.
    #[default]
    Json,
    /// CSV text, served by `GetStatementResultV2`.
    Csv,
}

impl ResultFormat {
    /// The wire name, as requests and replies spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ResultFormat::Json => "JSON",
            ResultFormat::Csv => "CSV",
        }
    }

    /// The wire name back, `None` for a value outside the model's enum.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "JSON" => Some(ResultFormat::Json),
            "CSV" => Some(ResultFormat::Csv),
            _ => None,
        }
    }

    /// The operation that serves results of this format (named in the refusal of the other one).
    pub(crate) fn operation(self) -> &'static str {
        match self {
            ResultFormat::Json => "GetStatementResult",
            ResultFormat::Csv => "GetStatementResultV2",
        }
    }
}

/// `ExecutionMode` of a batch: what a failing statement undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ExecutionMode {
    /// One transaction: a failure rolls back every earlier statement of the batch.
    #[default]
    Transaction,
    /// Each statement commits on its own: a failure keeps what earlier statements did.
    AutoCommit,
}

impl ExecutionMode {
    /// The wire name, as requests and replies spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::Transaction => "TRANSACTION",
            ExecutionMode::AutoCommit => "AUTO_COMMIT",
        }
    }

    /// The wire name back, `None` for a value outside the model's enum.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "TRANSACTION" => Some(ExecutionMode::Transaction),
            "AUTO_COMMIT" => Some(ExecutionMode::AutoCommit),
            _ => None,
        }
    }
}

/// How a statement uses a session: a connection kept between statements of one identity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SessionUse {
    /// Its own connection, closed after it.
    None,
    /// Opens a session kept alive this long after each statement ends (`SessionKeepAliveSeconds`).
    Start { keep_alive_seconds: u64 },
    /// Runs on this session (`SessionId`); one statement at a time.
    Use(String),
}
