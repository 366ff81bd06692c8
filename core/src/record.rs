//! The state-table record of one statement (docs/design.md, "State record") and its lifecycle:
//! `SUBMITTED` -> `STARTED` -> one final status.

use chrono::{DateTime, Duration, Utc};

/// Where a statement stands, as the state table knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// Written before `ExecuteStatement`; the statement may or may not have started.
    Submitted,
    /// The Data API accepted it; we wait for its completion event.
    Started,
    /// It finished and its task (if any) was answered with the success output.
    Finished,
    /// It failed and its task (if any) was failed with error `FAILED`.
    Failed,
    /// It was aborted (cancelled) and its task (if any) was failed with error `ABORTED`.
    Aborted,
    /// It ended, but the task token was gone (timed out or deleted), so nobody could be told.
    Orphaned,
    /// Its start failed and was never retried: no statement exists, nobody waits.
    NotStarted,
    /// The Data API no longer knows the statement (past its 24 h retention); a waiting task got `StatementLost`.
    Lost,
    /// It ended, but Step Functions (or CloudFormation) refused its answer for good (an output or token it will
    /// never accept): retrying cannot help, so the record ends here, counted by a metric for the alarm.
    Undeliverable,
}

impl RecordStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Started => "STARTED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
            Self::Orphaned => "ORPHANED",
            Self::NotStarted => "NOT_STARTED",
            Self::Lost => "LOST",
            Self::Undeliverable => "UNDELIVERABLE",
        }
    }

    /// Parses the stored spelling. `CANCELLED`, written by versions whose canceller settled records itself,
    /// reads as `ABORTED`, which is what those statements became.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUBMITTED" => Self::Submitted,
            "STARTED" => Self::Started,
            "FINISHED" => Self::Finished,
            "FAILED" => Self::Failed,
            "ABORTED" | "CANCELLED" => Self::Aborted,
            "ORPHANED" => Self::Orphaned,
            "NOT_STARTED" => Self::NotStarted,
            "LOST" => Self::Lost,
            "UNDELIVERABLE" => Self::Undeliverable,
            _ => return None,
        })
    }

    /// Settled records are final: no callback is ever made for them again from an event.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Submitted | Self::Started)
    }
}

/// The shortest life of an unsettled record: the Data API runs a statement at most 24 hours, so three days
/// after its creation a record can only belong to a statement that has ended.
pub(crate) const MIN_UNSETTLED_LIFE: Duration = Duration::days(3);

/// The TTL of a record written now and not yet settled.
pub(crate) fn unsettled_expiry(now: DateTime<Utc>, ttl_days: u32) -> i64 {
    (now + MIN_UNSETTLED_LIFE.max(Duration::days(i64::from(ttl_days)))).timestamp()
}

/// The TTL of a record settled now: `RECORD_TTL_DAYS` from its settling.
pub(crate) fn settled_expiry(now: DateTime<Utc>, ttl_days: u32) -> i64 {
    (now + Duration::days(i64::from(ttl_days))).timestamp()
}

/// One statement's record. Never holds SQL text: only its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRecord {
    /// The key: the deterministic statement name.
    pub statement_name: String,
    /// `None` for the seed's ad-hoc starts, which send only the SQL.
    pub execution_arn: Option<String>,
    /// Lets the canceller narrow to one state.
    pub state_name: Option<String>,
    /// The callback: a Step Functions task token or a custom resource's `ResponseURL`; `None` for fire-and-forget.
    pub task_token: Option<String>,
    /// The Data API statement; `None` until the start succeeded.
    pub statement_id: Option<String>,
    /// Where the statement stands; decides every conditional write.
    pub status: RecordStatus,
    /// Identifies the SQL without storing it; the key of the singleton lock.
    pub sql_digest: String,
    /// How many result rows the task output should carry.
    pub result_rows: u32,
    /// The byte budget of those rows in the output.
    pub result_max_bytes: u32,
    /// Whether the statement holds the singleton lock of its digest.
    pub singleton: bool,
    /// The `LATEST` order and the age checks of the sweeper.
    pub created_at: DateTime<Utc>,
    /// The sweeper's order: the oldest untouched records first.
    pub updated_at: DateTime<Utc>,
    /// Counts the TTL from the settling.
    pub settled_at: Option<DateTime<Utc>>,
    /// When a canceller sent `CancelStatement` for it (the `ABORTED` event settles it later).
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// The Data API's error text of a failed statement, for a person looking at it later.
    pub error: Option<String>,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

/// The final word on a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// The final status.
    pub status: RecordStatus,
    /// The statement the settling is about (a record may learn its id only now).
    pub statement_id: Option<String>,
    /// The error text kept in the record.
    pub error: Option<String>,
    /// When it settled (`settledAt`), the start of its TTL.
    pub at: DateTime<Utc>,
    /// TTL from now on, counted from the settling.
    pub expires_at: i64,
    /// Settle only if the record still holds this task token (the one just answered or found gone), so that a
    /// token stored meanwhile by a retried start is answered instead of lost. `None`: whatever the token.
    pub if_token: Option<String>,
    /// Settle only if the record still has no statement id: a `NOT_STARTED` verdict must not overwrite a start
    /// that a retry made meanwhile.
    pub if_no_statement: bool,
}

/// The marker that tells a stored custom-resource callback (a CloudFormation `ResponseURL`) from a Step Functions
/// task token in a record's `taskToken`.
pub(crate) const CALLBACK_PREFIX: &str = "cfn:";

/// Whether a task token is spelled like a stored custom-resource callback: refused in payloads, so only a
/// CloudFormation request can make the functions answer a URL.
pub(crate) fn looks_like_callback(token: &str) -> bool {
    token.starts_with(CALLBACK_PREFIX)
}

/// The first ten characters of a task token: enough to correlate logs, never enough to use it.
pub(crate) fn token_hint(token: &str) -> String {
    let cut: String = token.chars().take(10).collect();
    format!("{cut}…({} chars)", token.chars().count())
}
