//! The three services the use cases talk to, as traits: the Data API, the state table and Step Functions'
//! task callbacks. The binaries implement them with the AWS SDK; unit tests use the mockall mocks.

use crate::record::{Settlement, StatementRecord};
use crate::statement::{Description, ExecuteCall, ResultPage};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
    pub kind: FaultKind,
    pub code: String,
    pub message: String,
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

/// The Redshift Data API.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DataApi: Send + Sync {
    /// Starts the SQL; returns the statement id. Idempotent by the call's `ClientToken` (its statement name).
    async fn execute(&self, call: &ExecuteCall) -> Result<String, PortError>;
    /// `DescribeStatement`.
    async fn describe(&self, id: &str) -> Result<Description, PortError>;
    /// One `GetStatementResult` page.
    async fn result_page(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<ResultPage, PortError>;
    /// `CancelStatement`; `Rejected` when the statement already ended.
    async fn cancel(&self, id: &str) -> Result<bool, PortError>;
}

/// What [`StateStore::create`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The record is new: this call owns the start.
    New,
    /// A record of that name exists already (a retry of the same state entry).
    Existing(Box<StatementRecord>),
}

/// What [`StateStore::claim`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The record is ours to settle until the lease ends.
    Won(StatementRecord),
    /// It was settled already: a duplicate or late event.
    Settled(StatementRecord),
    /// Another completer holds a live claim on it.
    Busy(StatementRecord),
    /// No such record: not a statement of this deployment (or its record expired).
    Missing,
}

/// What [`StateStore::lock`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lock {
    Acquired,
    /// Another statement holds the lock.
    HeldBy(String),
}

/// The DynamoDB state table.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Writes a new `SUBMITTED` record unless one of that name exists.
    async fn create(&self, record: &StatementRecord) -> Result<Created, PortError>;
    /// Reads a record (strongly consistent).
    async fn get(&self, statement_name: &str) -> Result<Option<StatementRecord>, PortError>;
    /// Stores the task token of a retried invocation; returns the record after the update.
    async fn set_token(
        &self,
        statement_name: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<StatementRecord, PortError>;
    /// `SUBMITTED` -> `STARTED` with the statement id; `false` when the record had already moved on.
    async fn mark_started(
        &self,
        statement_name: &str,
        statement_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;
    /// Claims an unsettled record for settling, unless another live claim holds it.
    async fn claim(
        &self,
        statement_name: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim, PortError>;
    /// Gives a claim back so that a retry can take it at once.
    async fn release(
        &self,
        statement_name: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// Settles a record; with `lease_until`, only if that claim is still ours. `false` when the condition failed.
    async fn settle(
        &self,
        statement_name: &str,
        settlement: &Settlement,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<bool, PortError>;
    /// The records of an execution, newest first (the `executionArn` index).
    async fn by_execution(&self, execution_arn: &str) -> Result<Vec<StatementRecord>, PortError>;
    /// Unsettled records last updated before `cutoff` (the sparse index), oldest first, at most `limit`.
    async fn unsettled_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StatementRecord>, PortError>;
    /// Takes the singleton lock of a SQL digest for a statement; re-taking one's own lock succeeds.
    async fn lock(&self, sql_digest: &str, owner: &str, expires_at: i64)
        -> Result<Lock, PortError>;
    /// Takes over a lock from a previous owner whose statement has settled.
    async fn steal_lock(
        &self,
        sql_digest: &str,
        from: &str,
        owner: &str,
        expires_at: i64,
    ) -> Result<bool, PortError>;
    /// Frees the lock if `owner` still holds it.
    async fn unlock(&self, sql_digest: &str, owner: &str) -> Result<(), PortError>;
}

/// Step Functions' task-token callbacks.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// `SendTaskSuccess`.
    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError>;
    /// `SendTaskFailure`.
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError>;
}
