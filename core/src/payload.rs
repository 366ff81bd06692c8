//! The starter's payload (docs/design.md, "Starter payload"), parsed strictly: any unknown field, wrong type, empty SQL or
//! out-of-limit value is an `InvalidInput` whose message names the field, and nothing is written.

use crate::error::TaskerError;
use crate::statement::check_sql;
pub(crate) use crate::statement::{Session, SqlText};
use crate::statement::{MAX_BATCH_STATEMENTS, MAX_WAIT_SECONDS};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most result rows a task output may carry; larger `resultRows` are capped to it (the output is also cut to
/// Step Functions' 256 KiB).
pub(crate) const MAX_RESULT_ROWS: u32 = 1000;
/// Default byte budget of `records` in a task output: leaves room for a state's input when a `ResultPath`
/// merges the output into it.
pub const DEFAULT_RESULT_MAX_BYTES: u32 = 64 * 1024;
/// Largest `resultMaxBytes`: 16 KiB under Step Functions' 256 KiB state limit for the rest of the output.
pub(crate) const MAX_RESULT_MAX_BYTES: u32 = 240 * 1024;
/// Longest `sessionKeepAliveSeconds` (the Data API's limit: 24 hours).
const MAX_SESSION_SECONDS: u64 = 86_400;
const MAX_WAIT_SECONDS_U64: u64 = MAX_WAIT_SECONDS as u64;
/// Longest `executionArn`, `stateName`, `stateEnteredTime` or `taskToken` accepted, in bytes: a DynamoDB key
/// attribute of an index (`executionArn` partitions the `byExecution` index) holds at most 2,048 bytes, and Step
/// Functions' own limits are lower still (an ARN 256 characters, a state name 80).
pub(crate) const MAX_FIELD_BYTES: usize = 2048;
/// Step Functions' limit on a task token (botocore's `stepfunctions` model: `TaskToken` max 2,048): a longer one
/// would be refused by `SendTaskSuccess` for good, after its SQL ran, so it is refused before.
pub(crate) const MAX_TASK_TOKEN_CHARS: usize = 2048;

/// A request to run SQL for one state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteRequest {
    /// `None`: fire-and-forget (the seed's polling style); the call returns the statement id at once.
    pub task_token: Option<String>,
    /// `None` only without a task token (the seed's ad-hoc starts).
    pub execution_arn: Option<String>,
    /// The SQL to run.
    pub sql: SqlText,
    /// Bound by the Data API, so values never get into the SQL text.
    pub parameters: BTreeMap<String, String>,
    /// Lets one execution run many SQL states: part of the statement's key.
    pub state_name: Option<String>,
    /// Makes the key deterministic, so a retry of the state entry finds its statement.
    pub state_entered_time: Option<String>,
    /// Result rows the task output carries (capped).
    pub result_rows: u32,
    /// Byte budget of `records` in the output.
    pub result_max_bytes: u32,
    /// Refuse while the same SQL still runs from this deployment.
    pub singleton: bool,
    /// The fast path: seconds the Data API may hold the start for the statement to end (1 to 30).
    pub wait_seconds: Option<u32>,
    /// What the statement does with a Data API session.
    pub session: Session,
}

/// Which statement a seed-style request-response action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementRef {
    /// A Data API statement id.
    Id(String),
    /// The newest statement of an execution, looked up in the state table.
    Latest {
        /// The execution whose newest statement is meant.
        execution_arn: String,
    },
}

/// Everything the starter can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum StarterRequest {
    /// Run SQL (`executeStatement`, `executeSingletonStatement`, or no action).
    Execute(ExecuteRequest),
    /// The seed's `describeStatement`.
    Describe(StatementRef),
    /// The seed's `getStatementResult`.
    GetResult(StatementRef),
    /// The seed's `cancelStatement`.
    Cancel(StatementRef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPayload {
    action: Option<String>,
    task_token: Option<String>,
    execution_arn: Option<String>,
    sql_statement: Option<String>,
    sql_statements: Option<Vec<String>>,
    parameters: Option<BTreeMap<String, ParamValue>>,
    state_name: Option<String>,
    state_entered_time: Option<String>,
    result_rows: Option<u64>,
    result_max_bytes: Option<u64>,
    singleton: Option<bool>,
    wait_seconds: Option<u64>,
    session_keep_alive_seconds: Option<u64>,
    session_id: Option<String>,
    statement_id: Option<String>,
    // The seed accepted it and never used it; so do we.
    #[allow(dead_code)]
    next_token: Option<serde_json::Value>,
}

/// A parameter value: the Data API takes strings; numbers and booleans from JSONPath are accepted as their text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ParamValue {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

fn invalid(msg: impl Into<String>) -> TaskerError {
    TaskerError::InvalidInput(msg.into())
}

/// Parses a starter payload.
pub fn parse(payload: &serde_json::Value) -> Result<StarterRequest, TaskerError> {
    if !payload.is_object() {
        return Err(invalid("payload: expected a JSON object"));
    }
    let raw: RawPayload = crate::error::deserialize_payload(payload)?;
    let action = raw.action.clone();
    match action.as_deref() {
        None | Some("executeStatement") => execute(raw, false),
        Some("executeSingletonStatement") => execute(raw, true),
        Some("describeStatement") => statement_ref(raw).map(StarterRequest::Describe),
        Some("getStatementResult") => statement_ref(raw).map(StarterRequest::GetResult),
        Some("cancelStatement") => statement_ref(raw).map(StarterRequest::Cancel),
        Some(_) => Err(invalid(
            "action: unknown action; expected executeStatement, executeSingletonStatement, \
             describeStatement, getStatementResult or cancelStatement",
        )),
    }
}

fn text_field(name: &str, value: Option<String>) -> Result<Option<String>, TaskerError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(invalid(format!("{name}: must not be empty"))),
        Some(v) if v.len() > MAX_FIELD_BYTES => Err(invalid(format!(
            "{name}: longer than {MAX_FIELD_BYTES} bytes"
        ))),
        other => Ok(other),
    }
}

fn execute(raw: RawPayload, singleton_action: bool) -> Result<StarterRequest, TaskerError> {
    if raw.statement_id.is_some() {
        return Err(invalid("statementId: not allowed when executing SQL"));
    }
    let execution_arn = text_field("executionArn", raw.execution_arn)?;
    let task_token = text_field("taskToken", raw.task_token)?;
    if task_token
        .as_deref()
        .is_some_and(|t| t.chars().count() > MAX_TASK_TOKEN_CHARS)
    {
        return Err(invalid(format!(
            "taskToken: longer than Step Functions' {MAX_TASK_TOKEN_CHARS} characters"
        )));
    }
    if task_token
        .as_deref()
        .is_some_and(crate::record::looks_like_callback)
    {
        // Only a CloudFormation request stores a ResponseURL as its callback: a payload must not make the
        // functions PUT to a URL of its choosing.
        return Err(invalid("taskToken: not a Step Functions task token"));
    }
    if task_token.is_some() && execution_arn.is_none() {
        return Err(invalid(
            "executionArn: required with taskToken (pass $$.Execution.Id)",
        ));
    }
    let state_name = text_field("stateName", raw.state_name)?;
    let state_entered_time = text_field("stateEnteredTime", raw.state_entered_time)?;
    let sql = match (raw.sql_statement, raw.sql_statements) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "sqlStatement, sqlStatements: give exactly one, not both",
            ))
        }
        (None, None) => {
            return Err(invalid(
                "sqlStatement: required (or sqlStatements for a batch)",
            ))
        }
        (Some(s), None) => {
            check_sql("sqlStatement", &s)?;
            SqlText::Single(s)
        }
        (None, Some(list)) => {
            if list.is_empty() {
                return Err(invalid("sqlStatements: the list must not be empty"));
            }
            if list.len() > MAX_BATCH_STATEMENTS {
                return Err(invalid(format!(
                    "sqlStatements: {} statements; the Data API takes at most {MAX_BATCH_STATEMENTS}",
                    list.len()
                )));
            }
            for (i, s) in list.iter().enumerate() {
                check_sql(&format!("sqlStatements[{i}]"), s)?;
            }
            SqlText::Batch(list)
        }
    };
    let mut parameters = BTreeMap::new();
    if let Some(params) = raw.parameters {
        if matches!(sql, SqlText::Batch(_)) {
            return Err(invalid(
                "parameters: only allowed with sqlStatement, not sqlStatements",
            ));
        }
        for (name, value) in params {
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(invalid(
                    "parameters: names must match [0-9a-zA-Z_]+ (and be at most 64 characters)",
                ));
            }
            let value = match value {
                ParamValue::Text(s) => s,
                ParamValue::Number(n) => n.to_string(),
                ParamValue::Bool(b) => b.to_string(),
            };
            if value.is_empty() {
                return Err(invalid(format!(
                    "parameters.{name}: the value must not be empty"
                )));
            }
            parameters.insert(name, value);
        }
    }
    let result_rows = raw.result_rows.unwrap_or(0).min(u64::from(MAX_RESULT_ROWS)) as u32;
    let result_max_bytes = match raw.result_max_bytes {
        None => DEFAULT_RESULT_MAX_BYTES,
        Some(n) if n <= u64::from(MAX_RESULT_MAX_BYTES) => n as u32,
        Some(_) => {
            return Err(invalid(format!(
                "resultMaxBytes: at most {MAX_RESULT_MAX_BYTES} (240 KiB)"
            )))
        }
    };
    let wait_seconds = match raw.wait_seconds {
        None => None,
        Some(n @ 1..=MAX_WAIT_SECONDS_U64) => Some(n as u32),
        Some(_) => {
            return Err(invalid(format!(
                "waitSeconds: 1 to {MAX_WAIT_SECONDS} (the Data API's WaitTimeSeconds)"
            )))
        }
    };
    let session = match (raw.session_keep_alive_seconds, raw.session_id) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "sessionKeepAliveSeconds, sessionId: give one, not both",
            ))
        }
        (Some(n @ 1..=MAX_SESSION_SECONDS), None) => Session::Start(n as u32),
        (Some(_), None) => {
            return Err(invalid(format!(
                "sessionKeepAliveSeconds: 1 to {MAX_SESSION_SECONDS} (24 hours)"
            )))
        }
        (None, Some(id)) if is_statement_id(&id) && !id.contains(':') => Session::Use(id),
        (None, Some(_)) => return Err(invalid("sessionId: expected a Data API session id")),
        (None, None) => Session::None,
    };
    Ok(StarterRequest::Execute(ExecuteRequest {
        task_token,
        execution_arn,
        sql,
        parameters,
        state_name,
        state_entered_time,
        result_rows,
        result_max_bytes,
        wait_seconds,
        session,
        singleton: singleton_action || raw.singleton.unwrap_or(false),
    }))
}

fn statement_ref(raw: RawPayload) -> Result<StatementRef, TaskerError> {
    let action = raw.action.as_deref().unwrap_or_default();
    for (present, field) in [
        (raw.sql_statement.is_some(), "sqlStatement"),
        (raw.sql_statements.is_some(), "sqlStatements"),
        (raw.parameters.is_some(), "parameters"),
        (raw.task_token.is_some(), "taskToken"),
        (raw.result_rows.is_some(), "resultRows"),
        (raw.result_max_bytes.is_some(), "resultMaxBytes"),
        (raw.wait_seconds.is_some(), "waitSeconds"),
        (
            raw.session_keep_alive_seconds.is_some(),
            "sessionKeepAliveSeconds",
        ),
        (raw.session_id.is_some(), "sessionId"),
        (raw.singleton.is_some(), "singleton"),
    ] {
        if present {
            return Err(invalid(format!(
                "{field}: not allowed with action {action}"
            )));
        }
    }
    let id = text_field("statementId", raw.statement_id)?
        .ok_or_else(|| invalid(format!("statementId: required with action {action}")))?;
    if id == "LATEST" {
        let execution_arn = text_field("executionArn", raw.execution_arn)?
            .ok_or_else(|| invalid("executionArn: required with statementId \"LATEST\""))?;
        return Ok(StatementRef::Latest { execution_arn });
    }
    if !is_statement_id(&id) {
        return Err(invalid(
            "statementId: expected a Data API statement id or \"LATEST\"",
        ));
    }
    Ok(StatementRef::Id(id))
}

/// The Data API's id pattern: a lowercase UUID, optionally `:N` for a batch's sub-statement.
pub(crate) fn is_statement_id(id: &str) -> bool {
    let (uuid, sub) = match id.split_once(':') {
        Some((u, s)) => (u, Some(s)),
        None => (id, None),
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        });
    shape_ok && sub.is_none_or(|s| s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::MAX_SQL_BYTES;
    use serde_json::json;

    fn err(v: serde_json::Value) -> String {
        match parse(&v) {
            Err(TaskerError::InvalidInput(m)) => m,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn exec(v: serde_json::Value) -> ExecuteRequest {
        match parse(&v).unwrap() {
            StarterRequest::Execute(e) => e,
            other => panic!("expected Execute, got {other:?}"),
        }
    }

    #[test]
    fn seed_payload_is_accepted() {
        let e =
            exec(json!({"taskToken": "tok", "executionArn": "arn:x", "sqlStatement": "select 1"}));
        assert_eq!(e.sql, SqlText::Single("select 1".into()));
        assert_eq!(e.task_token.as_deref(), Some("tok"));
        assert_eq!(e.result_max_bytes, DEFAULT_RESULT_MAX_BYTES);
        assert!(!e.singleton);
        // The seed's polling machine sends only the SQL.
        let e = exec(json!({"sqlStatement": "select getdate()"}));
        assert!(e.execution_arn.is_none() && e.task_token.is_none());
        let e = exec(
            json!({"action": "executeSingletonStatement", "executionArn": "a", "sqlStatement": "s"}),
        );
        assert!(e.singleton && e.task_token.is_none());
    }

    #[test]
    fn full_payload() {
        let e = exec(json!({
            "taskToken": "t", "executionArn": "a", "sqlStatement": "select :id, :name",
            "parameters": {"id": 5, "name": "x", "flag": true}, "stateName": "S", "stateEnteredTime": "T",
            "resultRows": 5000, "singleton": true
        }));
        assert_eq!(e.parameters["id"], "5");
        assert_eq!(e.parameters["flag"], "true");
        assert_eq!(e.result_rows, MAX_RESULT_ROWS);
        assert!(e.singleton);
    }

    #[test]
    fn each_malformed_field_is_named() {
        let cases = [
            (
                json!({"executionArn": "a", "sqlStatement": 5}),
                "sqlStatement",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": ""}),
                "sqlStatement",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "x".repeat(MAX_SQL_BYTES + 1)}),
                "sqlStatement",
            ),
            (json!({"executionArn": "a"}), "sqlStatement"),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "sqlStatements": ["s"]}),
                "sqlStatements",
            ),
            (
                json!({"executionArn": "a", "sqlStatements": []}),
                "sqlStatements",
            ),
            (
                json!({"executionArn": "a", "sqlStatements": vec!["s"; 41]}),
                "sqlStatements",
            ),
            (
                json!({"executionArn": "a", "sqlStatements": ["s", " "]}),
                "sqlStatements[1]",
            ),
            (
                json!({"sqlStatement": "s", "taskToken": "t"}),
                "executionArn",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "resultMaxBytes": 240 * 1024 + 1}),
                "resultMaxBytes",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "waitSeconds": 31}),
                "waitSeconds",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "waitSeconds": 0}),
                "waitSeconds",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "sessionKeepAliveSeconds": 60, "sessionId": "0b8c5d5e-8d6e-4f43-a0f4-5e8b1c2d3e4f"}),
                "sessionId",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "sessionId": "nope"}),
                "sessionId",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "sessionKeepAliveSeconds": 86_401}),
                "sessionKeepAliveSeconds",
            ),
            (
                json!({"executionArn": 1, "sqlStatement": "s"}),
                "executionArn",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "taskToken": ""}),
                "taskToken",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "taskToken": "t".repeat(2049)}),
                "taskToken",
            ),
            (
                json!({"executionArn": "a".repeat(2049), "sqlStatement": "s"}),
                "executionArn",
            ),
            (
                json!({"executionArn": "a", "stateName": "é".repeat(1025), "sqlStatement": "s"}),
                "stateName",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "taskToken": "cfn:{\"ResponseURL\": \"https://x\"}"}),
                "taskToken",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "parameters": {"bad-name": "1"}}),
                "parameters",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "parameters": {"p": ""}}),
                "parameters.p",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "parameters": {"p": null}}),
                "parameters.p",
            ),
            (
                json!({"executionArn": "a", "sqlStatements": ["s"], "parameters": {"p": "1"}}),
                "parameters",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "resultRows": -1}),
                "resultRows",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "singleton": "yes"}),
                "singleton",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "stateName": ""}),
                "stateName",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "bogus": 1}),
                "bogus",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "action": "drop"}),
                "action",
            ),
            (
                json!({"executionArn": "a", "sqlStatement": "s", "statementId": "x"}),
                "statementId",
            ),
            (json!({"action": "describeStatement"}), "statementId"),
            (
                json!({"action": "describeStatement", "statementId": "nope"}),
                "statementId",
            ),
            (
                json!({"action": "describeStatement", "statementId": "LATEST"}),
                "executionArn",
            ),
            (
                json!({"action": "cancelStatement", "statementId": "LATEST", "executionArn": "a", "sqlStatement": "s"}),
                "sqlStatement",
            ),
            (
                json!({"action": "getStatementResult", "statementId": "LATEST", "executionArn": "a", "taskToken": "t"}),
                "taskToken",
            ),
        ];
        for (payload, field) in cases {
            let msg = err(payload.clone());
            assert!(
                msg.contains(field),
                "{payload} -> {msg:?} does not name {field}"
            );
        }
        assert!(err(json!([1])).contains("payload"));
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            let keys = prop_oneof![
                Just("action".to_string()),
                Just("taskToken".to_string()),
                Just("executionArn".to_string()),
                Just("sqlStatement".to_string()),
                Just("sqlStatements".to_string()),
                Just("parameters".to_string()),
                Just("stateName".to_string()),
                Just("resultRows".to_string()),
                Just("singleton".to_string()),
                Just("statementId".to_string()),
                "[a-z]{1,8}".prop_map(|s| s),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(keys, inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_json_parses_or_is_invalid_input(v in arbitrary_json()) {
            match parse(&v) {
                Ok(_) | Err(TaskerError::InvalidInput(_)) => {}
                Err(other) => proptest::prop_assert!(false, "untyped error {other:?}"),
            }
        }
    }

    #[test]
    fn seed_actions() {
        let id = "0b8c5d5e-8d6e-4f43-a0f4-5e8b1c2d3e4f";
        assert_eq!(
            parse(
                &json!({"action": "describeStatement", "statementId": id, "nextToken": "ignored"})
            )
            .unwrap(),
            StarterRequest::Describe(StatementRef::Id(id.into()))
        );
        assert_eq!(
            parse(&json!({"action": "getStatementResult", "statementId": "LATEST", "executionArn": "a"})).unwrap(),
            StarterRequest::GetResult(StatementRef::Latest { execution_arn: "a".into() })
        );
        assert!(matches!(
            parse(&json!({"action": "cancelStatement", "statementId": format!("{id}:2")})).unwrap(),
            StarterRequest::Cancel(StatementRef::Id(_))
        ));
    }
}
