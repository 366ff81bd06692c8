//! The state-table record of one statement (DESIGN section 4) and its lifecycle:
//! `SUBMITTED` -> `STARTED` -> one of the settled states.

use chrono::{DateTime, Utc};

/// Where a statement stands, as the state table knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// Written before `ExecuteStatement`; the statement may or may not have started.
    Submitted,
    /// The Data API accepted it; we wait for its completion event.
    Started,
    Finished,
    Failed,
    Aborted,
    /// It ended, but the task token was gone (timed out or deleted), so nobody could be told.
    Orphaned,
    /// The canceller cancelled it after its state timed out.
    Cancelled,
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
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUBMITTED" => Self::Submitted,
            "STARTED" => Self::Started,
            "FINISHED" => Self::Finished,
            "FAILED" => Self::Failed,
            "ABORTED" => Self::Aborted,
            "ORPHANED" => Self::Orphaned,
            "CANCELLED" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Settled records are final: no callback is ever made for them again from an event.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Submitted | Self::Started)
    }
}

/// One statement's record. Never holds SQL text: only its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRecord {
    pub statement_name: String,
    pub execution_arn: String,
    pub state_name: Option<String>,
    pub task_token: Option<String>,
    pub statement_id: Option<String>,
    pub status: RecordStatus,
    pub sql_digest: String,
    /// How many result rows the task output should carry.
    pub result_rows: u32,
    /// Whether the statement holds the singleton lock of its digest.
    pub singleton: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

/// The final word on a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub status: RecordStatus,
    pub statement_id: Option<String>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// The first ten characters of a task token: enough to correlate logs, never enough to use it.
pub fn token_hint(token: &str) -> String {
    let cut: String = token.chars().take(10).collect();
    format!("{cut}…({} chars)", token.chars().count())
}
