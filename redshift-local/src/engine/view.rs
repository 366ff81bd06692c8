//! What the engine answers about its statements: typed views, read under the engine's lock and handed to the
//! API layer, which shapes them as the Data API's replies.

use super::{ExecutionMode, ResultFormat, Status, Target};
use crate::values::{Cell, Column};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The fields a statement and a batch's sub-statement share in `DescribeStatement` (and the status part of
/// `ListStatements`).
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    /// The statement's id, `uuid:N` for a batch's N-th sub-statement.
    pub(crate) id: String,
    /// Where it is in its lifecycle.
    pub(crate) status: Status,
    /// Why it failed or was aborted.
    pub(crate) error: Option<String>,
    /// When it was submitted.
    pub(crate) created_at: DateTime<Utc>,
    /// When its status last changed.
    pub(crate) updated_at: DateTime<Utc>,
}

/// One statement of a batch, as `DescribeStatement` reports it (alone for `uuid:N`, or among `SubStatements`).
#[derive(Debug, Clone)]
pub(crate) struct SubStatementView {
    /// Its id, status, error and times.
    pub(crate) lifecycle: Lifecycle,
    /// Nanoseconds it ran, -1 before it ended.
    pub(crate) duration_ns: i64,
    /// Its SQL.
    pub(crate) sql: String,
    /// Rows it returned or changed, -1 before it finished.
    pub(crate) result_rows: i64,
    /// Bytes of its result, -1 before it finished.
    pub(crate) result_size: i64,
    /// The query id it ran as, -1 before it started.
    pub(crate) query_id: i64,
    /// Whether it returned rows (then a result operation serves them).
    pub(crate) has_result_set: bool,
}

/// A statement, as `DescribeStatement` reports it.
#[derive(Debug, Clone)]
pub(crate) struct StatementView {
    /// Its id, status, error and times.
    pub(crate) lifecycle: Lifecycle,
    /// Nanoseconds it ran, -1 before it ended.
    pub(crate) duration_ns: i64,
    /// Whether one of its statements returned rows.
    pub(crate) has_result_set: bool,
    /// Its SQL (a batch's joined by `; `).
    pub(crate) query_string: String,
    /// The most rows one of its statements returned or changed, -1 before any finished.
    pub(crate) result_rows: i64,
    /// The largest result of its statements in bytes, -1 before any finished.
    pub(crate) result_size: i64,
    /// The query id of its last statement, -1 before it started.
    pub(crate) query_id: i64,
    /// The PostgreSQL backend that runs it, once it has a connection.
    pub(crate) pid: Option<i64>,
    /// The session it runs on, if any.
    pub(crate) session_id: Option<String>,
    /// Where it runs, as the request named it.
    pub(crate) target: Target,
    /// Its named parameters, in request order.
    pub(crate) parameters: Vec<(String, String)>,
    /// The format its result is kept in.
    pub(crate) result_format: ResultFormat,
    /// A batch's execution mode and statements; `None` for a single statement.
    pub(crate) batch: Option<BatchView>,
}

/// What only a batch reports.
#[derive(Debug, Clone)]
pub(crate) struct BatchView {
    /// Whether its statements share one transaction.
    pub(crate) execution_mode: ExecutionMode,
    /// Its statements, in order (ids `uuid:1`, `uuid:2`, ...).
    pub(crate) subs: Vec<SubStatementView>,
}

/// `DescribeStatement`'s answer: a statement, or a batch's sub-statement when asked by `uuid:N`.
#[derive(Debug, Clone)]
pub(crate) enum Description {
    /// A statement (single or batch), asked by its id.
    Statement(Box<StatementView>),
    /// One statement of a batch, asked by `uuid:N`.
    Sub(SubStatementView),
}

impl Description {
    /// Its status: what the `WaitTimeSeconds` waits poll.
    pub(crate) fn status(&self) -> Status {
        match self {
            Description::Statement(s) => s.lifecycle.status,
            Description::Sub(s) => s.lifecycle.status,
        }
    }

    /// Whether it has rows to read, as an execute with `WaitTimeSeconds` reports once it ended.
    pub(crate) fn has_result_set(&self) -> bool {
        match self {
            Description::Statement(s) => s.has_result_set,
            Description::Sub(s) => s.has_result_set,
        }
    }
}

/// A statement the engine accepted: what an execute answers (with the target the request named).
#[derive(Debug, Clone)]
pub(crate) struct Submitted {
    /// Its id (the first statement's, for a repeated `ClientToken`).
    pub(crate) id: String,
    /// When it was submitted.
    pub(crate) created_at: DateTime<Utc>,
    /// The session it runs on, if any.
    pub(crate) session_id: Option<String>,
}

/// One page of a finished statement's rows, for either result operation.
#[derive(Debug, Clone)]
pub(crate) struct ResultPage {
    /// The result's columns.
    pub(crate) columns: Vec<Column>,
    /// The page's rows.
    pub(crate) records: Vec<Vec<Cell>>,
    /// Rows in the whole result.
    pub(crate) total_rows: usize,
    /// Where the next page starts, absent on the last page.
    pub(crate) next_token: Option<String>,
}

/// A statement as `ListStatements` reports it.
#[derive(Debug, Clone)]
pub(crate) struct StatementSummary {
    /// Its id, status and times (a listed statement reports no error).
    pub(crate) lifecycle: Lifecycle,
    /// Whether it was a `BatchExecuteStatement`.
    pub(crate) is_batch: bool,
    /// Its SQL, one per statement of a batch.
    pub(crate) sqls: Vec<String>,
    /// Its `StatementName`.
    pub(crate) name: Option<String>,
    /// The `SecretArn` it ran with.
    pub(crate) secret_arn: Option<String>,
    /// Its named parameters, in request order.
    pub(crate) parameters: Vec<(String, String)>,
    /// The format its result is kept in.
    pub(crate) result_format: ResultFormat,
    /// The session it ran on, if any.
    pub(crate) session_id: Option<String>,
}

/// A session as `ListSessions` reports it.
#[derive(Debug, Clone)]
pub(crate) struct SessionView {
    /// Its id.
    pub(crate) session_id: String,
    /// `AVAILABLE`, `BUSY` or `CLOSED`.
    pub(crate) status: &'static str,
    /// When its first statement opened it.
    pub(crate) created_at: DateTime<Utc>,
    /// When it last changed (a statement started or ended, or it closed).
    pub(crate) updated_at: DateTime<Utc>,
    /// Where its statements run.
    pub(crate) target: Target,
    /// Its keep-alive after each statement.
    pub(crate) keep_alive_seconds: u64,
    /// When it closes if no statement comes (open and idle), or when it closed.
    pub(crate) ttl: Option<DateTime<Utc>>,
    /// The statement it runs, while `BUSY`.
    pub(crate) current_statement: Option<String>,
}

/// What `GET /_local/stats` reports: calls per operation, statements really run, and what happened to events.
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    /// Calls per Data API operation.
    pub(crate) calls: BTreeMap<String, u64>,
    /// Statements (and batches) submitted to run, repeated `ClientToken`s not counted.
    pub(crate) statements_run: u64,
    /// Completion events put on EventBridge.
    pub(crate) events_sent: u64,
    /// Completion events dropped by the fault setting.
    pub(crate) events_dropped: u64,
    /// Completion events sent twice by the fault setting.
    pub(crate) events_duplicated: u64,
    /// Completion events EventBridge refused or never got.
    pub(crate) events_failed: u64,
}
