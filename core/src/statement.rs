//! The Data API as the domain sees it: what we ask it to run (the SQL, where, on which session, within which
//! limits) and what it tells us back, without SDK types. A low layer: the payload, naming, configuration and the
//! ports all speak of these types, so they live here rather than in any one of those modules.

use crate::error::TaskerError;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The Data API's limit on one SQL text.
pub const MAX_SQL_BYTES: usize = 100 * 1024;
/// The Data API's limit on statements in one `BatchExecuteStatement`.
pub(crate) const MAX_BATCH_STATEMENTS: usize = 40;
/// Longest `waitSeconds` (the Data API's `WaitTimeSeconds` limit).
pub(crate) const MAX_WAIT_SECONDS: u32 = 30;

/// Checks one SQL text against the Data API's limits; the error names `field`.
pub(crate) fn check_sql(field: &str, sql: &str) -> Result<(), TaskerError> {
    if sql.trim().is_empty() {
        return Err(TaskerError::InvalidInput(format!(
            "{field}: the SQL must not be empty"
        )));
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(TaskerError::InvalidInput(format!(
            "{field}: the SQL is {} bytes; the Data API takes at most {MAX_SQL_BYTES}",
            sql.len()
        )));
    }
    Ok(())
}

/// The SQL of one state: one statement, or a list run in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlText {
    /// `sqlStatement`: run with `ExecuteStatement`.
    Single(String),
    /// `sqlStatements`: run in one transaction with `BatchExecuteStatement`.
    Batch(Vec<String>),
}

/// A statement's use of a Data API session (one connection across states: temporary tables survive).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Session {
    /// Its own connection.
    #[default]
    None,
    /// Start a session kept alive this many seconds after each statement (`sessionKeepAliveSeconds`).
    Start(u32),
    /// Run on this session (`sessionId`, from an earlier state's output).
    Use(String),
}

/// Where statements run: exactly one of a provisioned cluster or a Serverless workgroup.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A provisioned cluster, authenticated with temporary credentials for `DbUser` or with a secret.
    Cluster {
        /// `ClusterIdentifier`.
        identifier: String,
        /// The database every statement runs in.
        database: String,
        /// How the Data API logs in: as a database user or through a secret.
        auth: ClusterAuth,
    },
    /// A Redshift Serverless workgroup, authenticated with a secret or with the function's IAM identity.
    Workgroup {
        /// `WorkgroupName`.
        name: String,
        /// The database every statement runs in.
        database: String,
        /// `SecretArn`; `None` to authenticate as the function's IAM role.
        secret_arn: Option<String>,
    },
}

/// How the Data API authenticates to a provisioned cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterAuth {
    /// Temporary credentials for this database user (`DbUser`).
    DbUser(String),
    /// A Secrets Manager secret holding the credentials (`SecretArn`).
    SecretArn(String),
}

/// One `ExecuteStatement` / `BatchExecuteStatement` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteCall {
    /// Both the `StatementName` and the `ClientToken`.
    pub statement_name: String,
    /// The SQL to run.
    pub sql: SqlText,
    /// Bound by the Data API, so values never get into the SQL text.
    pub parameters: BTreeMap<String, String>,
    /// The deployment's one database.
    pub target: Target,
    /// Whether the Data API should emit the completion event (only when someone waits for it).
    pub with_event: bool,
    /// `WaitTimeSeconds`: how long the Data API may hold the reply for the statement to end (the fast path).
    pub wait_seconds: Option<u32>,
    /// `SessionKeepAliveSeconds` or `SessionId`.
    pub session: Session,
}

/// What `ExecuteStatement` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The statement id.
    pub id: String,
    /// The status in the reply, when the call waited (`WaitTimeSeconds`): an ended one needs no event.
    pub status: Option<DataApiStatus>,
    /// The session it ran on (started by it, or given).
    pub session_id: Option<String>,
}

/// The Data API's statement status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataApiStatus {
    /// Accepted, not yet queued: still running as far as we care.
    Submitted,
    /// Queued: still running as far as we care.
    Picked,
    /// Running.
    Started,
    /// Ended well: the task gets the success output.
    Finished,
    /// Ended in error: the task gets error `FAILED`.
    Failed,
    /// Cancelled: the task gets error `ABORTED`.
    Aborted,
}

impl DataApiStatus {
    /// Parses the Data API's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUBMITTED" => Self::Submitted,
            "PICKED" => Self::Picked,
            "STARTED" => Self::Started,
            "FINISHED" => Self::Finished,
            "FAILED" => Self::Failed,
            "ABORTED" => Self::Aborted,
            _ => return None,
        })
    }

    /// The Data API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Picked => "PICKED",
            Self::Started => "STARTED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
        }
    }

    /// The ending, when the statement has ended.
    pub fn ending(self) -> Option<Ending> {
        match self {
            Self::Finished => Some(Ending::Finished),
            Self::Failed => Some(Ending::Failed),
            Self::Aborted => Some(Ending::Aborted),
            _ => None,
        }
    }
}

/// How a statement ended; each maps to one callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Answered with the success output.
    Finished,
    /// Answered with error `FAILED`.
    Failed,
    /// Answered with error `ABORTED`.
    Aborted,
}

impl Ending {
    /// The Data API's (and our record's) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Finished => "FINISHED",
            Ending::Failed => "FAILED",
            Ending::Aborted => "ABORTED",
        }
    }
}

/// `DescribeStatement` (or one of its `SubStatements`).
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The statement id (a batch member's ends in `:N`).
    pub id: String,
    /// Whether and how it ended.
    pub status: DataApiStatus,
    /// Why it failed: the `cause` of the `FAILED` callback.
    pub error: Option<String>,
    /// Nanoseconds it ran: the output's `durationMs`.
    pub duration_ns: Option<i64>,
    /// Kept for the seed-compatible `describeStatement`.
    pub created_at: Option<DateTime<Utc>>,
    /// When it ended: the start of the callback latency and of the retention.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether result rows can be read.
    pub has_result_set: Option<bool>,
    /// Rows affected or returned: the output's `rows`.
    pub result_rows: Option<i64>,
    /// Kept for the seed-compatible `describeStatement`.
    pub result_size: Option<i64>,
    /// The event's `redshiftQueryId`, kept in the output's `detail`.
    pub redshift_query_id: Option<i64>,
    /// Kept for the seed-compatible `describeStatement`.
    pub redshift_pid: Option<i64>,
    /// Kept for the seed-compatible `describeStatement` (never logged).
    pub query_string: Option<String>,
    /// Kept for the seed-compatible `describeStatement`.
    pub database: Option<String>,
    /// Kept for the seed-compatible `describeStatement`.
    pub db_user: Option<String>,
    /// Kept for the seed-compatible `describeStatement`.
    pub cluster_identifier: Option<String>,
    /// Kept for the seed-compatible `describeStatement`.
    pub workgroup_name: Option<String>,
    /// Kept for the seed-compatible `describeStatement`.
    pub secret_arn: Option<String>,
    /// The session it ran on, if any.
    pub session_id: Option<String>,
    /// A batch's members, each with its own status and result.
    pub sub_statements: Vec<Description>,
}

impl Description {
    /// A description with only an id and a status; the rest is filled by whoever knows it.
    pub fn new(id: impl Into<String>, status: DataApiStatus) -> Self {
        Description {
            id: id.into(),
            status,
            error: None,
            duration_ns: None,
            created_at: None,
            updated_at: None,
            has_result_set: None,
            result_rows: None,
            result_size: None,
            redshift_query_id: None,
            redshift_pid: None,
            query_string: None,
            database: None,
            db_user: None,
            cluster_identifier: None,
            workgroup_name: None,
            secret_arn: None,
            session_id: None,
            sub_statements: Vec::new(),
        }
    }

    /// The statement whose rows a result request should read: itself, or a batch's last sub-statement with a
    /// result set.
    pub fn result_source(&self) -> Option<&str> {
        if self.sub_statements.is_empty() {
            return self
                .has_result_set
                .unwrap_or(false)
                .then_some(self.id.as_str());
        }
        self.sub_statements
            .iter()
            .rev()
            .find(|s| s.has_result_set.unwrap_or(false))
            .map(|s| s.id.as_str())
    }

    /// The Data API's own JSON field names (the seed returned boto3's response), timestamps as ISO 8601.
    pub fn to_data_api_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                m.insert(k.to_string(), v);
            }
        };
        put("Id", json!(self.id));
        put("Status", json!(self.status.as_str()));
        put("Error", json!(self.error));
        put("Duration", json!(self.duration_ns));
        put("CreatedAt", json!(self.created_at.map(iso)));
        put("UpdatedAt", json!(self.updated_at.map(iso)));
        put("HasResultSet", json!(self.has_result_set));
        put("ResultRows", json!(self.result_rows));
        put("ResultSize", json!(self.result_size));
        put("RedshiftQueryId", json!(self.redshift_query_id));
        put("RedshiftPid", json!(self.redshift_pid));
        put("QueryString", json!(self.query_string));
        put("Database", json!(self.database));
        put("DbUser", json!(self.db_user));
        put("ClusterIdentifier", json!(self.cluster_identifier));
        put("WorkgroupName", json!(self.workgroup_name));
        put("SecretArn", json!(self.secret_arn));
        put("SessionId", json!(self.session_id));
        if !self.sub_statements.is_empty() {
            put(
                "SubStatements",
                Value::Array(
                    self.sub_statements
                        .iter()
                        .map(Description::to_data_api_json)
                        .collect(),
                ),
            );
        }
        Value::Object(m)
    }
}

impl Description {
    /// [`Description::to_data_api_json`] within `max` bytes (the seed's `describeStatement` answer goes into a
    /// Step Functions state, at most 256 KiB): a batch of 40 statements of 100 KB each would not fit, so past the
    /// budget each `QueryString` is cut to its first 1,024 characters (then dropped), and `"Truncated": true`
    /// says so. Everything else is kept.
    pub fn to_data_api_json_within(&self, max: usize) -> Value {
        let full = self.to_data_api_json();
        if full.to_string().len() <= max {
            return full;
        }
        for keep in [Some(1024), None] {
            let mut cut = full.clone();
            cut_query_strings(&mut cut, keep);
            cut["Truncated"] = json!(true);
            if cut.to_string().len() <= max || keep.is_none() {
                return cut;
            }
        }
        unreachable!("the last pass returns")
    }
}

/// Cuts (`Some(n)`: to n characters) or drops (`None`) every `QueryString`, the statement's and its members'.
fn cut_query_strings(v: &mut Value, keep: Option<usize>) {
    if let Some(m) = v.as_object_mut() {
        match (keep, m.get("QueryString").and_then(Value::as_str)) {
            (Some(n), Some(q)) if q.chars().count() > n => {
                let short: String = q.chars().take(n).collect();
                m.insert("QueryString".into(), json!(format!("{short}…")));
            }
            (None, Some(_)) => {
                m.remove("QueryString");
            }
            _ => {}
        }
        if let Some(Value::Array(subs)) = m.get_mut("SubStatements") {
            for sub in subs {
                cut_query_strings(sub, keep);
            }
        }
    }
}

/// ISO 8601 with milliseconds and `Z`, as Step Functions writes its own timestamps.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One typed value of a result row, as the Data API's `Field` union.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// SQL `NULL`.
    Null,
    /// A boolean column.
    Bool(bool),
    /// An integer column.
    Long(i64),
    /// A floating-point column.
    Double(f64),
    /// A text (or date, time, numeric) column, as the Data API writes it.
    Text(String),
    /// Base64, as the Data API's JSON carries blobs.
    Blob(String),
}

impl Field {
    /// The plain JSON value used in task output records.
    pub fn to_plain_json(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Bool(b) => json!(b),
            Field::Long(n) => json!(n),
            Field::Double(d) => json!(d),
            Field::Text(s) | Field::Blob(s) => json!(s),
        }
    }

    /// The Data API's union spelling, kept by the seed-compatible `getStatementResult`.
    pub fn to_data_api_json(&self) -> Value {
        match self {
            Field::Null => json!({"isNull": true}),
            Field::Bool(b) => json!({"booleanValue": b}),
            Field::Long(n) => json!({"longValue": n}),
            Field::Double(d) => json!({"doubleValue": d}),
            Field::Text(s) => json!({"stringValue": s}),
            Field::Blob(s) => json!({"blobValue": s}),
        }
    }
}

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The output's record keys.
    pub name: String,
    /// Kept for the seed-compatible `getStatementResult`'s `ColumnMetadata`.
    pub type_name: Option<String>,
    /// Kept for the seed-compatible `getStatementResult`'s `ColumnMetadata`.
    pub nullable: Option<i32>,
}

/// One `GetStatementResult` page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultPage {
    /// Name the values of each record.
    pub columns: Vec<Column>,
    /// The rows of this page.
    pub records: Vec<Vec<Field>>,
    /// The seed-compatible `TotalNumRows`.
    pub total_rows: Option<i64>,
    /// Where the next page starts; `None` after the last.
    pub next_token: Option<String>,
}

impl From<Ending> for crate::record::RecordStatus {
    fn from(e: Ending) -> Self {
        match e {
            Ending::Finished => Self::Finished,
            Ending::Failed => Self::Failed,
            Ending::Aborted => Self::Aborted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_batch_description_is_cut_to_its_budget_keeping_the_rest() {
        let mut d = Description::new("id", DataApiStatus::Finished);
        d.query_string = Some("x".repeat(100_000));
        d.sub_statements = (0..40)
            .map(|i| {
                let mut s = Description::new(format!("id:{i}"), DataApiStatus::Finished);
                s.query_string = Some("y".repeat(100_000));
                s
            })
            .collect();
        let v = d.to_data_api_json_within(240 * 1024);
        assert!(v.to_string().len() <= 240 * 1024, "{}", v.to_string().len());
        assert_eq!(v["Truncated"], json!(true));
        assert_eq!(v["SubStatements"].as_array().unwrap().len(), 40);
        assert_eq!(v["SubStatements"][39]["Id"], "id:39");
        let small = Description::new("id", DataApiStatus::Failed);
        assert_eq!(
            small.to_data_api_json_within(1024),
            small.to_data_api_json()
        );
    }
}
