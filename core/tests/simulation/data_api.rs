//! The simulated Redshift Data API: statement lifecycles, the 8-hour `ClientToken` memory, 24-hour retention,
//! cancellation, result pages, and the completion events of statements started `WithEvent`.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use tasker_core::{
    sql_digest, Column, DataApiStatus, Description, ExecuteCall, FaultKind, Field, PortError,
    ResultPage,
};

/// The Data API remembers a `ClientToken` this long.
pub(crate) const CLIENT_TOKEN_MEMORY: Duration = Duration::hours(8);
/// The Data API keeps an ended statement's metadata (and `ListStatements` knows it) this long.
pub(crate) const RETENTION: Duration = Duration::hours(24);
/// The Data API fails a statement that runs longer than this.
pub(crate) const MAX_RUN: Duration = Duration::hours(24);

/// A statement the simulated Data API knows (or knew).
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub id: String,
    pub name: String,
    pub digest: String,
    /// Started by a singleton start (for the mutual-exclusion check).
    pub singleton: bool,
    pub status: DataApiStatus,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub has_result_set: bool,
    pub rows: i64,
    pub with_event: bool,
}

impl Statement {
    pub(crate) fn ended(&self) -> bool {
        self.status.ending().is_some()
    }

    /// Still kept by the Data API (running, or ended less than 24 hours ago).
    pub(crate) fn known(&self, clock: DateTime<Utc>) -> bool {
        self.ended_at.is_none_or(|e| clock < e + RETENTION)
    }
}

/// The Redshift Data API: statements, `ClientToken` memory, retention.
#[derive(Debug, Default)]
pub(crate) struct DataApi {
    pub statements: Vec<Statement>,
    by_id: BTreeMap<String, usize>,
    /// `ClientToken` (our statement name) -> the statement it started and when.
    tokens: BTreeMap<String, (usize, DateTime<Utc>)>,
    /// How many times each statement name's SQL really ran (reached `STARTED`).
    pub runs: BTreeMap<String, usize>,
    next_id: u64,
}

fn not_found(id: &str) -> PortError {
    PortError::new(
        FaultKind::NotFound,
        "ResourceNotFoundException",
        format!("Query does not exist: {id}"),
    )
}

/// AWS's answer for a statement past retention: a `ValidationException` saying it expired (not
/// `ResourceNotFoundException`), classified by the same rule the AWS adapter uses.
fn expired() -> PortError {
    let (code, message) = (
        "ValidationException",
        "Could not retrieve the query result as it has expired after 24 hours.",
    );
    PortError::new(FaultKind::classify(code, message, false), code, message)
}

impl DataApi {
    pub(crate) fn get(&self, id: &str) -> Option<&Statement> {
        self.by_id.get(id).map(|&i| &self.statements[i])
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The newest statement of that name still kept and already listed (`ListStatements` lags behind a start by
    /// `lag`).
    pub(crate) fn find_by_name(
        &self,
        name: &str,
        clock: DateTime<Utc>,
        lag: Duration,
    ) -> Option<String> {
        self.statements
            .iter()
            .rev()
            .find(|s| s.name == name && s.known(clock) && s.created_at + lag <= clock)
            .map(|s| s.id.clone())
    }

    /// A statement that is still kept, or the Data API's answer for one it does not know (expired or never).
    fn kept(&self, id: &str, clock: DateTime<Utc>) -> Result<&Statement, PortError> {
        match self.get(id) {
            Some(s) if s.known(clock) => Ok(s),
            Some(_) => Err(expired()),
            None => Err(not_found(id)),
        }
    }

    /// `ExecuteStatement`: the same `ClientToken` within 8 hours returns the same statement, otherwise a new one
    /// starts. Returns its index and whether it is new.
    pub(crate) fn execute(
        &mut self,
        call: &ExecuteCall,
        clock: DateTime<Utc>,
        singleton: bool,
    ) -> (usize, bool) {
        if let Some(&(i, at)) = self.tokens.get(&call.statement_name) {
            if clock < at + CLIENT_TOKEN_MEMORY {
                return (i, false);
            }
        }
        self.next_id += 1;
        let id = format!("5ea1da7a-0000-4000-8000-{:012x}", self.next_id);
        let i = self.statements.len();
        self.statements.push(Statement {
            id: id.clone(),
            name: call.statement_name.clone(),
            digest: sql_digest(&call.sql, &call.parameters),
            singleton,
            status: DataApiStatus::Submitted,
            created_at: clock,
            ended_at: None,
            cancel_requested: false,
            has_result_set: self.next_id & 1 == 0,
            rows: (self.next_id % 5) as i64,
            with_event: call.with_event,
        });
        self.by_id.insert(id, i);
        self.tokens.insert(call.statement_name.clone(), (i, clock));
        (i, true)
    }

    pub(crate) fn describe(
        &self,
        id: &str,
        clock: DateTime<Utc>,
    ) -> Result<Description, PortError> {
        let s = self.kept(id, clock)?;
        let mut d = Description::new(&s.id, s.status);
        d.created_at = Some(s.created_at);
        d.updated_at = Some(s.ended_at.unwrap_or(s.created_at));
        d.duration_ns = s
            .ended_at
            .map(|e| (e - s.created_at).num_milliseconds() * 1_000_000);
        d.error = match s.status {
            DataApiStatus::Failed => Some("ERROR: division by zero".into()),
            DataApiStatus::Aborted => Some("Query cancelled on user's request".into()),
            _ => None,
        };
        if s.status == DataApiStatus::Finished {
            d.has_result_set = Some(s.has_result_set);
            d.result_rows = Some(if s.has_result_set { s.rows } else { -1 });
        }
        d.redshift_query_id = Some(1000 + self.by_id[id] as i64);
        Ok(d)
    }

    /// Result pages of two rows of one `n` column.
    pub(crate) fn result_page(
        &self,
        id: &str,
        next: Option<String>,
        clock: DateTime<Utc>,
    ) -> Result<ResultPage, PortError> {
        let s = self.kept(id, clock)?;
        if s.status != DataApiStatus::Finished || !s.has_result_set {
            return Err(PortError::new(
                FaultKind::Rejected,
                "ValidationException",
                "no result set",
            ));
        }
        let from: i64 = next.as_deref().map_or(0, |n| n.parse().unwrap_or(0));
        let to = (from + 2).min(s.rows);
        Ok(ResultPage {
            columns: vec![Column {
                name: "n".into(),
                type_name: Some("int4".into()),
                nullable: Some(0),
            }],
            records: (from..to).map(|n| vec![Field::Long(n)]).collect(),
            total_rows: Some(s.rows),
            next_token: (to < s.rows).then(|| to.to_string()),
        })
    }

    /// `CancelStatement`: the statement aborts at its next progress step.
    pub(crate) fn cancel(&mut self, id: &str, clock: DateTime<Utc>) -> Result<bool, PortError> {
        self.kept(id, clock)?;
        let i = self.index_of(id).expect("kept");
        let s = &mut self.statements[i];
        if s.ended() {
            return Err(PortError::new(
                FaultKind::Rejected,
                "ValidationException",
                format!(
                    "Could not cancel a query that is already in {} state.",
                    s.status.as_str()
                ),
            ));
        }
        s.cancel_requested = true;
        Ok(true)
    }

    /// `SUBMITTED` -> `STARTED`: the SQL really runs now.
    pub(crate) fn run(&mut self, i: usize) -> usize {
        let s = &mut self.statements[i];
        s.status = DataApiStatus::Started;
        let runs = self.runs.entry(s.name.clone()).or_default();
        *runs += 1;
        *runs
    }

    /// Ends a statement; returns the completion event's body when it was started `WithEvent`.
    pub(crate) fn end(
        &mut self,
        i: usize,
        status: DataApiStatus,
        at: DateTime<Utc>,
    ) -> Option<String> {
        let s = &mut self.statements[i];
        s.status = status;
        s.ended_at = Some(at);
        s.with_event
            .then(|| event_body(&s.name, &s.id, status.as_str(), s.rows, at))
    }
}

/// A completion event as EventBridge puts it on the completer's queue.
pub(crate) fn event_body(
    name: &str,
    id: &str,
    state: &str,
    rows: i64,
    at: DateTime<Utc>,
) -> String {
    json!({
        "version": "0", "id": format!("ev-{id}"), "detail-type": tasker_core::EVENT_DETAIL_TYPE,
        "source": tasker_core::EVENT_SOURCE, "time": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1", "resources": [],
        "detail": {"principal": "arn:aws:sts::123456789012:assumed-role/sim/starter", "statementName": name,
                   "statementId": id, "redshiftQueryId": 1, "state": state, "rows": rows,
                   "expireAt": (at + RETENTION).timestamp()}
    })
    .to_string()
}
