//! From a statement's ending to the Step Functions callback (docs/design.md, "Completion" and "Task output").
//!
//! The outcome is always worked out from the record's own statement (`DescribeStatement`), never from what an
//! event claims: an event only says "look now".

use crate::custom_resource::CustomResourceCallback;
use crate::ports::{DataApi, PortError, TaskCallbacks};
use crate::record::{RecordStatus, StatementRecord};
use crate::statement::{Column, Description, Ending, Field};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

/// Step Functions' limit on a task output (and on a state's whole input/output).
pub(crate) const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// `SendTaskFailure`'s limit on `cause`, in characters.
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// The error a task gets when its statement is past the Data API's retention and its ending cannot be known.
pub(crate) const STATEMENT_LOST: &str = "StatementLost";
/// How long the Data API keeps a statement's metadata and results (the event's `expireAt`).
const RETENTION: Duration = Duration::hours(24);

/// The call to make on the task token.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `SendTaskSuccess`: the statement finished.
    Success {
        /// The task output (docs/design.md, "Task output").
        output: String,
    },
    /// `SendTaskFailure`: the statement failed, was aborted or is lost.
    Failure {
        /// The error name a state's `Catch` matches (`FAILED`, `ABORTED`, `StatementLost`).
        error: String,
        /// JSON with the statement and its error text, cut to `SendTaskFailure`'s limit.
        cause: String,
    },
}

/// What the success output says of a finished statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Lets a later state find the statement in the state table and the logs.
    pub statement_name: String,
    /// Lets a later state ask the Data API about the statement.
    pub statement_id: String,
    /// What the SQL changed or returned, the value users branch on most.
    pub rows: i64,
    /// How long the statement ran, for the user's own monitoring.
    pub duration_ms: i64,
    /// Tells whether `records` could be asked for.
    pub has_result_set: bool,
    /// Present when the state asked for `resultRows`.
    pub records: Option<(Vec<Column>, Vec<Vec<Field>>)>,
    /// Byte budget of the `records` array.
    pub records_budget: usize,
    /// The completion event's `detail`, as the seed returned it.
    pub detail: Value,
    /// The Data API session it ran on: a later state passes it as `sessionId`.
    pub session_id: Option<String>,
}

/// The success output, with `records` cut to their budget (and never past `MAX_OUTPUT_BYTES`).
pub fn success_output(f: &Finished) -> String {
    let mut base = json!({
        "statementName": f.statement_name,
        "statementId": f.statement_id,
        "state": "FINISHED",
        "rows": f.rows,
        "durationMs": f.duration_ms,
        "hasResultSet": f.has_result_set,
        "detail": f.detail,
    });
    if let Some(sid) = &f.session_id {
        base["sessionId"] = json!(sid);
    }
    let Some((columns, rows)) = &f.records else {
        return base.to_string();
    };
    // Room left for the records array and a possible `"truncated":true`.
    let reserve = r#","records":[],"truncated":true"#.len();
    let mut budget = f
        .records_budget
        .min(MAX_OUTPUT_BYTES.saturating_sub(base.to_string().len() + reserve));
    let mut kept = Vec::new();
    let mut truncated = false;
    for row in rows {
        let record = plain_record(columns, row);
        let len = record.to_string().len() + 1;
        if len > budget {
            truncated = true;
            break;
        }
        budget -= len;
        kept.push(record);
    }
    base["records"] = Value::Array(kept);
    if truncated {
        base["truncated"] = json!(true);
    }
    base.to_string()
}

/// A result row as `{column: typed value}`.
pub(crate) fn plain_record(columns: &[Column], row: &[Field]) -> Value {
    let mut m = Map::new();
    for (i, field) in row.iter().enumerate() {
        let name = columns
            .get(i)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("column{}", i + 1));
        m.insert(name, field.to_plain_json());
    }
    Value::Object(m)
}

/// The failure callback: error `FAILED`, `ABORTED` or `StatementLost`, cause a JSON object the user's `Catch`
/// can parse, `{statementName, statementId, error, detail}` with `detail.error` as the seed's later versions
/// had it. The cause stays within [`MAX_CAUSE_CHARS`]: the error text is cut, never the JSON.
pub(crate) fn failure(
    error_name: &str,
    statement_name: &str,
    statement_id: &str,
    error: &str,
    detail: &Value,
) -> Callback {
    let cause_with = |text: &str| {
        let mut detail = match detail {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        detail["error"] = json!(text);
        json!({"statementName": statement_name, "statementId": statement_id, "error": text, "detail": detail})
            .to_string()
    };
    let mut cause = cause_with(error);
    if cause.chars().count() > MAX_CAUSE_CHARS {
        // The text appears twice and may grow when escaped: keep the longest prefix that fits.
        let chars: Vec<char> = error.chars().collect();
        let (mut lo, mut hi) = (0usize, chars.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let candidate: String = chars[..mid].iter().collect();
            if cause_with(&format!("{candidate}…")).chars().count() <= MAX_CAUSE_CHARS {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let kept: String = chars[..lo].iter().collect();
        cause = cause_with(&format!("{kept}…"));
    }
    Callback::Failure {
        error: error_name.to_string(),
        cause,
    }
}

/// A callback, the record status it settles to once delivered, and the error text to keep in the record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// What the task (or CloudFormation) is told.
    pub callback: Callback,
    /// What the record becomes once the callback is delivered.
    pub status: RecordStatus,
    /// The error text kept in the record, for a person looking at it later.
    pub error: Option<String>,
    /// When the statement ended, as the Data API says (for the callback latency).
    pub ended_at: Option<DateTime<Utc>>,
}

/// The completion event's `detail` for the output: the event's own when it agrees with the description,
/// otherwise built from `DescribeStatement` (a swept statement, or an event that claimed another state).
/// A built one has no `principal` (the description does not say who ran it).
pub(crate) fn detail_for(name: &str, d: &Description, event_detail: Option<&Value>) -> Value {
    if let Some(detail) = event_detail {
        if detail.get("state").and_then(Value::as_str) == Some(d.status.as_str())
            && detail.to_string().len() <= MAX_EVENT_DETAIL_BYTES
        {
            return detail.clone();
        }
    }
    let mut detail = json!({
        "statementName": name,
        "statementId": d.id,
        "state": d.status.as_str(),
        "rows": d.result_rows.unwrap_or(-1),
        "redshiftQueryId": d.redshift_query_id.unwrap_or(-1),
    });
    if let Some(t) = d.updated_at.or(d.created_at) {
        detail["expireAt"] = json!((t + RETENTION).timestamp());
    }
    detail
}

/// The outcome of a statement the Data API no longer knows: its ending cannot be learnt, so a waiting task
/// fails with `STATEMENT_LOST` instead of waiting for ever.
pub(crate) fn lost(record: &StatementRecord, statement_id: &str) -> Outcome {
    let error = "The Data API no longer knows this statement (its metadata is kept 24 hours); \
                 whether it finished cannot be told.";
    let detail = json!({"statementName": record.statement_name, "statementId": statement_id, "state": "LOST"});
    Outcome {
        callback: failure(
            STATEMENT_LOST,
            &record.statement_name,
            statement_id,
            error,
            &detail,
        ),
        status: RecordStatus::Lost,
        error: Some(error.into()),
        ended_at: None,
    }
}

/// The outcome of a start that never made a statement: only a CloudFormation request still waits then (a Step
/// Functions task saw its start fail), and it gets `FAILED` with the refusal.
pub(crate) fn not_started(record: &StatementRecord, why: &str) -> Outcome {
    let detail = json!({"statementName": record.statement_name, "state": "NOT_STARTED"});
    Outcome {
        callback: failure("NotStarted", &record.statement_name, "", why, &detail),
        status: RecordStatus::NotStarted,
        error: Some(why.to_string()),
        ended_at: None,
    }
}

/// The answer to a retry of an entry that already settled, from its record alone (the Data API is not asked
/// again: past its 24-hour retention it would call a finished statement lost). The record keeps the ending and the
/// error text, not the result, so a `FINISHED` answer carries the statement and its state with `rows` -1 and
/// `detail.fromRecord: true`.
pub(crate) fn record_outcome(record: &StatementRecord, id: &str) -> Outcome {
    let name = record.statement_name.as_str();
    let ending = match record.status {
        RecordStatus::Orphaned | RecordStatus::Undeliverable => record
            .error
            .as_deref()
            .and_then(|e| e.rsplit(' ').next())
            .and_then(RecordStatus::parse)
            .unwrap_or(RecordStatus::Lost),
        other => other,
    };
    let detail = json!({"statementName": name, "statementId": id, "state": ending.as_str(), "fromRecord": true});
    let text = record.error.clone().unwrap_or_default();
    let failed = |error_name: &str| Outcome {
        callback: failure(error_name, name, id, &text, &detail),
        status: ending,
        error: record.error.clone(),
        ended_at: None,
    };
    match ending {
        RecordStatus::Finished => Outcome {
            callback: Callback::Success {
                output: success_output(&Finished {
                    statement_name: name.to_string(),
                    statement_id: id.to_string(),
                    rows: -1,
                    duration_ms: 0,
                    has_result_set: false,
                    records: None,
                    records_budget: 0,
                    detail,
                    session_id: None,
                }),
            },
            status: RecordStatus::Finished,
            error: None,
            ended_at: None,
        },
        RecordStatus::Failed => failed("FAILED"),
        RecordStatus::Aborted => failed("ABORTED"),
        _ => lost(record, id),
    }
}

/// The largest event `detail` copied into an output or a cause: the Data API's is a few hundred bytes, so a larger
/// one is forged or broken, and the detail is built from `DescribeStatement` instead (an uncapped copy could push
/// the output past Step Functions' 256 KiB, which it refuses for good).
const MAX_EVENT_DETAIL_BYTES: usize = 4096;

/// Works out the callback for a statement that ended, from its description `d`: the duration and result set of a
/// finished one (and its rows when the state asked for them), the error text of a failed one.
pub(crate) async fn callback_for(
    data: &dyn DataApi,
    record: &StatementRecord,
    d: &Description,
    ending: Ending,
    event_detail: Option<&Value>,
) -> Result<Outcome, PortError> {
    let name = record.statement_name.as_str();
    let detail = detail_for(name, d, event_detail);
    let failed = |error_name: &str, status: RecordStatus, text: String| Outcome {
        callback: failure(error_name, name, &d.id, &text, &detail),
        status,
        error: Some(text),
        ended_at: d.updated_at,
    };
    match ending {
        Ending::Aborted => {
            let text = d.error.clone().unwrap_or_else(|| {
                "The statement was aborted (cancelled) before it finished.".into()
            });
            Ok(failed("ABORTED", RecordStatus::Aborted, text))
        }
        Ending::Failed => {
            let text = d
                .error
                .clone()
                .or_else(|| d.sub_statements.iter().find_map(|s| s.error.clone()))
                .unwrap_or_else(|| "The statement failed; the Data API gave no error text.".into());
            Ok(failed("FAILED", RecordStatus::Failed, text))
        }
        Ending::Finished => {
            let source = d.result_source().map(str::to_string);
            let records = match (&source, record.result_rows) {
                (Some(src), wanted) if wanted > 0 => {
                    Some(read_rows(data, src, wanted as usize).await?)
                }
                _ => None,
            };
            let event_rows = event_detail
                .and_then(|v| v.get("rows"))
                .and_then(Value::as_i64);
            let rows = d
                .result_rows
                .filter(|r| *r >= 0)
                .or(event_rows)
                .unwrap_or(0);
            Ok(Outcome {
                callback: Callback::Success {
                    output: success_output(&Finished {
                        statement_name: name.to_string(),
                        statement_id: d.id.clone(),
                        rows,
                        duration_ms: d.duration_ns.unwrap_or(0) / 1_000_000,
                        has_result_set: source.is_some(),
                        records,
                        records_budget: record.result_max_bytes as usize,
                        detail,
                        session_id: d.session_id.clone(),
                    }),
                },
                status: RecordStatus::Finished,
                error: None,
                ended_at: d.updated_at,
            })
        }
    }
}

/// Reads result pages until `wanted` rows are in hand or the result ends.
async fn read_rows(
    data: &dyn DataApi,
    id: &str,
    wanted: usize,
) -> Result<(Vec<Column>, Vec<Vec<Field>>), PortError> {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut next = None;
    loop {
        let page = data.result_page(id, next).await?;
        if columns.is_empty() {
            columns = page.columns;
        }
        rows.extend(page.records);
        next = page.next_token;
        if rows.len() >= wanted || next.is_none() {
            rows.truncate(wanted);
            return Ok((columns, rows));
        }
    }
}

/// Delivers a callback on a task token, or, for a CloudFormation custom resource (its callback stored in place of
/// the token), as the response to its `ResponseURL`.
pub(crate) async fn deliver(
    callbacks: &dyn TaskCallbacks,
    token: &str,
    statement_name: &str,
    callback: &Callback,
) -> Result<(), PortError> {
    if let Some(cfn) = CustomResourceCallback::from_token(token) {
        let body = match callback {
            Callback::Success { output } => {
                let out: Value = serde_json::from_str(output).unwrap_or_default();
                let data = json!({"StatementId": out["statementId"], "Rows": out["rows"]});
                cfn.response(true, "", statement_name, data)
            }
            Callback::Failure { error, cause } => {
                let cause: Value = serde_json::from_str(cause).unwrap_or_default();
                let text = cause["error"].as_str().unwrap_or_default();
                let data = json!({"StatementId": cause["statementId"]});
                cfn.response(false, &format!("{error}: {text}"), statement_name, data)
            }
        };
        return callbacks.respond(&cfn.response_url, &body).await;
    }
    match callback {
        Callback::Success { output } => callbacks.succeed(token, output).await,
        Callback::Failure { error, cause } => callbacks.fail(token, error, cause).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(records: Option<(Vec<Column>, Vec<Vec<Field>>)>) -> Finished {
        Finished {
            statement_name: "etl-x".into(),
            statement_id: "id".into(),
            rows: 2,
            duration_ms: 12,
            has_result_set: true,
            records,
            records_budget: crate::payload::DEFAULT_RESULT_MAX_BYTES as usize,
            detail: json!({"state": "FINISHED", "rows": 2}),
            session_id: None,
        }
    }

    fn column(name: &str) -> Column {
        Column {
            name: name.into(),
            type_name: None,
            nullable: None,
        }
    }

    #[test]
    fn output_without_records() {
        let v: Value = serde_json::from_str(&success_output(&finished(None))).unwrap();
        assert_eq!(
            v,
            json!({"statementName": "etl-x", "statementId": "id", "state": "FINISHED", "rows": 2,
                   "durationMs": 12, "hasResultSet": true, "detail": {"state": "FINISHED", "rows": 2}})
        );
    }

    #[test]
    fn typed_records() {
        let cols = vec![column("n"), column("s"), column("z")];
        let rows = vec![vec![Field::Long(1), Field::Text("a".into()), Field::Null]];
        let v: Value =
            serde_json::from_str(&success_output(&finished(Some((cols, rows))))).unwrap();
        assert_eq!(v["records"], json!([{"n": 1, "s": "a", "z": null}]));
        assert!(v.get("truncated").is_none());
    }

    #[test]
    fn records_are_cut_to_their_budget() {
        let rows = vec![vec![Field::Text("x".repeat(10_000))]; 100];
        let out = success_output(&finished(Some((vec![column("s")], rows.clone()))));
        assert!(out.len() <= 64 * 1024 + 1024, "{}", out.len());
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["truncated"], json!(true));
        assert_eq!(v["records"].as_array().unwrap().len(), 6);
        let mut big = finished(Some((vec![column("s")], rows)));
        big.records_budget = crate::payload::MAX_RESULT_MAX_BYTES as usize;
        let out = success_output(&big);
        assert!(out.len() <= MAX_OUTPUT_BYTES - 15 * 1024, "{}", out.len());
        let kept = serde_json::from_str::<Value>(&out).unwrap()["records"]
            .as_array()
            .unwrap()
            .len();
        assert!((20..100).contains(&kept), "{kept}");
    }

    #[test]
    fn failure_cause_is_json_with_detail() {
        let Callback::Failure { error, cause } = failure(
            "FAILED",
            "n",
            "i",
            "relation \"x\" does not exist",
            &json!({"state": "FAILED"}),
        ) else {
            panic!()
        };
        assert_eq!(error, "FAILED");
        let v: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(v["error"], json!("relation \"x\" does not exist"));
        assert_eq!(v["detail"]["error"], v["error"]);
        assert_eq!(v["detail"]["state"], "FAILED");
    }

    #[test]
    fn a_long_error_is_cut_to_the_cause_limit_and_stays_json() {
        for text in ["e".repeat(100_000), "\"\u{1}é".repeat(40_000)] {
            let Callback::Failure { cause, .. } = failure("FAILED", "n", "i", &text, &json!({}))
            else {
                panic!()
            };
            let len = cause.chars().count();
            assert!(
                (MAX_CAUSE_CHARS - 64..=MAX_CAUSE_CHARS).contains(&len),
                "{len}"
            );
            let v: Value = serde_json::from_str(&cause).unwrap();
            assert!(v["error"].as_str().unwrap().ends_with('…'));
        }
    }

    #[test]
    fn detail_comes_from_the_event_only_when_it_agrees() {
        let mut d = Description::new("id", crate::statement::DataApiStatus::Finished);
        d.result_rows = Some(3);
        let event = json!({"principal": "p", "state": "FINISHED", "rows": 3});
        assert_eq!(detail_for("n", &d, Some(&event)), event);
        let huge = json!({"state": "FINISHED", "pad": "x".repeat(MAX_EVENT_DETAIL_BYTES)});
        assert_eq!(detail_for("n", &d, Some(&huge))["statementId"], "id");
        let forged = json!({"state": "FAILED"});
        let built = detail_for("n", &d, Some(&forged));
        assert_eq!(built["state"], "FINISHED");
        assert_eq!(built["rows"], 3);
        assert_eq!(built["statementId"], "id");
    }
}
