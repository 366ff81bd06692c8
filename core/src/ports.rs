//! The three services the use cases talk to, as traits: the Data API, the state table and Step Functions'
//! task callbacks. The binaries implement them with the AWS SDK; unit tests use the mockall mocks.

pub(crate) use crate::error::{FaultKind, PortError};
use crate::record::{Settlement, StatementRecord};
use crate::statement::{Description, ExecuteCall, Executed, ResultPage};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The Redshift Data API.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DataApi: Send + Sync {
    /// Starts the SQL; returns the statement id (and, when the call waited, its status). Idempotent by the call's
    /// `ClientToken` (its statement name).
    async fn execute(&self, call: &ExecuteCall) -> Result<Executed, PortError>;
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
    /// The id of the statement of that name (`ListStatements` by `StatementName`), if the Data API still knows
    /// one. Asked where a `ClientToken` can no longer be trusted to find it: after its 8-hour memory, or when the
    /// starter never learnt the id.
    async fn find_by_name(&self, statement_name: &str) -> Result<Option<String>, PortError>;
}

/// What [`StateStore::create`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The record is new: this call owns the start.
    New,
    /// A record of that name exists already (a retry of the same state entry).
    Existing(Box<StatementRecord>),
}

/// Who claims a record: whoever settles it, or a start that (re)starts its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimant {
    /// The completer (event or sweeper), to call back and settle.
    Settler,
    /// A retried start, to start the statement while no settler judges the record.
    Restart,
}

impl Claimant {
    /// The stored spelling (`leaseBy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Claimant::Settler => "settler",
            Claimant::Restart => "restart",
        }
    }
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

/// What [`StateStore::settle`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The record is settled now.
    Done,
    /// A condition failed; the record as it stands (`None` if it is gone).
    Refused(Option<Box<StatementRecord>>),
}

/// One page of unsettled records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnsettledPage {
    /// The records to examine, oldest first.
    pub records: Vec<StatementRecord>,
    /// Names of records that could not be decoded (left for a person; they never stop the sweep).
    pub undecodable: Vec<String>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<String>,
}

/// What [`SingletonLocks::lock`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lock {
    /// The lock is this statement's now.
    Acquired,
    /// Another statement holds the lock, taken at `since` (unknown for locks written by older versions).
    HeldBy {
        /// The statement holding it: its record says whether it still runs.
        owner: String,
        /// When it was taken: a steal must find it unchanged.
        since: Option<DateTime<Utc>>,
    },
}

/// Taking over a singleton lock from a holder that is done with it: applied only if the lock is still the one
/// seen, held by `from` since `from_since`.
#[derive(Debug, Clone, PartialEq)]
pub struct LockSteal {
    /// The SQL digest the lock guards.
    pub sql_digest: String,
    /// The statement seen holding it.
    pub from: String,
    /// When `from` took it, as seen (`None`: a lock written before locks carried the time).
    pub from_since: Option<DateTime<Utc>>,
    /// The statement taking it over.
    pub owner: String,
    /// When it is taken over.
    pub now: DateTime<Utc>,
    /// Its TTL, as for a lock taken fresh.
    pub expires_at: i64,
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
    /// `SUBMITTED` (or `NOT_STARTED`, revived by a late retry) -> `STARTED` with the statement id and an
    /// unsettled record's TTL; `false` when the record had already moved on.
    async fn mark_started(
        &self,
        statement_name: &str,
        statement_id: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError>;
    /// `NOT_STARTED` (or `SUBMITTED` without a statement id) -> `SUBMITTED` with a fresh `createdAt`, for a retry
    /// about to start its entry's statement: the record is unsettled (in the sweeper's index, and young, so the
    /// sweeper gives this start time before it judges it never started) *before* the statement starts, so that
    /// whatever fails after `ExecuteStatement` leaves a record its event or the sweeper completes. The claim, if
    /// any, is left as it is. `false` when the record had a statement or another final status.
    async fn revive(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError>;
    /// Claims an unsettled record, unless another live claim holds it; a restart may also take over a restart's
    /// claim (a retried start whose earlier attempt's claim answer was lost must not wait for its lease).
    async fn claim(
        &self,
        statement_name: &str,
        by: Claimant,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim, PortError>;
    /// Gives a claim back so that a retry can take it at once.
    async fn release(
        &self,
        statement_name: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// Settles a record; with `lease_until`, only if that claim is still ours, and with `settlement.if_token`, only
    /// if the record still holds that token. When a condition failed: the record as it is now (in the same call,
    /// so the completer can follow a token a retried start stored meanwhile without another read).
    async fn settle(
        &self,
        statement_name: &str,
        settlement: &Settlement,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<Settled, PortError>;
    /// The record of a statement id (the `statementId` index), if this deployment started it.
    async fn by_statement_id(
        &self,
        statement_id: &str,
    ) -> Result<Option<StatementRecord>, PortError>;
    /// The records of an execution, newest first (the `executionArn` index).
    async fn by_execution(&self, execution_arn: &str) -> Result<Vec<StatementRecord>, PortError>;
    /// One page of the unsettled records last updated before `cutoff` (the sparse index), oldest first, at most
    /// `limit`, starting after the page token `after`. A record that cannot be decoded is reported by name, never
    /// an error for the whole page.
    async fn unsettled_page(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
        after: Option<String>,
    ) -> Result<UnsettledPage, PortError>;
    /// Moves an unsettled record to the back of the sweep order (its `updatedAt` to now), so that one sweep
    /// resumes where the previous one stopped.
    async fn touch(&self, statement_name: &str, now: DateTime<Utc>) -> Result<(), PortError>;
    /// Notes that `CancelStatement` was sent for an unsettled record.
    async fn mark_cancel_requested(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError>;
}

/// The singleton locks (items of the state table keyed by a SQL digest), apart from [`StateStore`]: only a
/// singleton start and the settling of its statement use them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SingletonLocks: Send + Sync {
    /// Takes the singleton lock of a SQL digest for a statement at `now`; re-taking one's own lock succeeds.
    async fn lock(
        &self,
        sql_digest: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Lock, PortError>;
    /// Takes over a lock from a previous owner whose statement has settled (or never got a record), only if the
    /// lock is still the one seen (a holder that re-took it meanwhile keeps it); `true` when taken.
    async fn steal_lock(&self, steal: &LockSteal) -> Result<bool, PortError>;
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
    /// The `PUT` of a CloudFormation custom-resource response to its presigned `ResponseURL`: `TokenGone` when
    /// the URL refuses it for good (expired), `Retryable` on a 5xx or a network fault.
    async fn respond(&self, url: &str, body: &str) -> Result<(), PortError>;
}
