//! From a statement's ending to the Step Functions callback (DESIGN sections 1.5 and 5).

use crate::ports::{DataApi, PortError, TaskCallbacks};
use crate::record::StatementRecord;
use crate::statement::{Column, Ending, Field};
use serde_json::{json, Map, Value};

/// Step Functions' limit on a task output (and on a failure cause).
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// The call to make on the task token.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Success { output: String },
    Failure { error: String, cause: String },
}

impl Callback {
    /// The record status that this callback settles to once delivered.
    pub fn ending(&self) -> Ending {
        match self {
            Callback::Success { .. } => Ending::Finished,
            Callback::Failure { error, .. } if error == Ending::Aborted.as_str() => Ending::Aborted,
            Callback::Failure { .. } => Ending::Failed,
        }
    }
}

/// What the success output says of a finished statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub statement_name: String,
    pub statement_id: String,
    pub rows: i64,
    pub duration_ms: i64,
    pub has_result_set: bool,
    /// Present when the state asked for `resultRows`.
    pub records: Option<(Vec<Column>, Vec<Vec<Field>>)>,
}

/// The success output, with `records` cut so that the whole output stays within [`MAX_OUTPUT_BYTES`].
pub fn success_output(f: &Finished) -> String {
    let mut base = json!({
        "statementName": f.statement_name,
        "statementId": f.statement_id,
        "state": "FINISHED",
        "rows": f.rows,
        "durationMs": f.duration_ms,
        "hasResultSet": f.has_result_set,
    });
    let Some((columns, rows)) = &f.records else {
        return base.to_string();
    };
    // Room left for the records array and a possible `"truncated":true`.
    let reserve = r#","records":[],"truncated":true"#.len();
    let mut budget = MAX_OUTPUT_BYTES.saturating_sub(base.to_string().len() + reserve);
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
pub fn plain_record(columns: &[Column], row: &[Field]) -> Value {
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

/// The failure callback: error `FAILED` or `ABORTED`, cause a JSON object the user's `Catch` can parse.
pub fn failure(ending: Ending, statement_name: &str, statement_id: &str, error: &str) -> Callback {
    let mut cause =
        json!({"statementName": statement_name, "statementId": statement_id, "error": error});
    if cause.to_string().len() > MAX_OUTPUT_BYTES {
        let cut: String = error.chars().take(MAX_OUTPUT_BYTES / 2).collect();
        cause["error"] = json!(cut);
    }
    Callback::Failure {
        error: ending.as_str().to_string(),
        cause: cause.to_string(),
    }
}

/// A callback together with the error text to keep in the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub callback: Callback,
    pub error: Option<String>,
}

/// Works out the callback for a statement that ended, asking the Data API for what the event does not say:
/// the duration and result set of a finished one (and its rows when the state asked for them), the error text
/// of a failed one.
pub async fn callback_for(
    data: &dyn DataApi,
    record: &StatementRecord,
    statement_id: &str,
    ending: Ending,
    event_rows: Option<i64>,
) -> Result<Outcome, PortError> {
    let name = record.statement_name.as_str();
    match ending {
        Ending::Aborted => {
            let error = "The statement was aborted (cancelled) before it finished.";
            Ok(Outcome {
                callback: failure(Ending::Aborted, name, statement_id, error),
                error: Some(error.into()),
            })
        }
        Ending::Failed => {
            let d = data.describe(statement_id).await?;
            let error = d
                .error
                .clone()
                .or_else(|| d.sub_statements.iter().find_map(|s| s.error.clone()))
                .unwrap_or_else(|| "The statement failed; the Data API gave no error text.".into());
            Ok(Outcome {
                callback: failure(Ending::Failed, name, statement_id, &error),
                error: Some(error),
            })
        }
        Ending::Finished => {
            let d = data.describe(statement_id).await?;
            let source = d.result_source().map(str::to_string);
            let records = match (&source, record.result_rows) {
                (Some(src), wanted) if wanted > 0 => {
                    Some(read_rows(data, src, wanted as usize).await?)
                }
                _ => None,
            };
            let rows = d
                .result_rows
                .filter(|r| *r >= 0)
                .or(event_rows)
                .unwrap_or(0);
            Ok(Outcome {
                callback: Callback::Success {
                    output: success_output(&Finished {
                        statement_name: name.to_string(),
                        statement_id: statement_id.to_string(),
                        rows,
                        duration_ms: d.duration_ns.unwrap_or(0) / 1_000_000,
                        has_result_set: source.is_some(),
                        records,
                    }),
                },
                error: None,
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

/// Delivers a callback on a task token.
pub async fn deliver(
    callbacks: &dyn TaskCallbacks,
    token: &str,
    callback: &Callback,
) -> Result<(), PortError> {
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
        }
    }

    #[test]
    fn output_without_records() {
        let v: Value = serde_json::from_str(&success_output(&finished(None))).unwrap();
        assert_eq!(
            v,
            json!({"statementName": "etl-x", "statementId": "id", "state": "FINISHED", "rows": 2,
                             "durationMs": 12, "hasResultSet": true})
        );
    }

    #[test]
    fn typed_records() {
        let cols = vec![
            Column {
                name: "n".into(),
                type_name: None,
                nullable: None,
            },
            Column {
                name: "s".into(),
                type_name: None,
                nullable: None,
            },
            Column {
                name: "z".into(),
                type_name: None,
                nullable: None,
            },
        ];
        let rows = vec![vec![Field::Long(1), Field::Text("a".into()), Field::Null]];
        let v: Value =
            serde_json::from_str(&success_output(&finished(Some((cols, rows))))).unwrap();
        assert_eq!(v["records"], json!([{"n": 1, "s": "a", "z": null}]));
        assert!(v.get("truncated").is_none());
    }

    #[test]
    fn records_are_cut_to_the_output_limit() {
        let cols = vec![Column {
            name: "s".into(),
            type_name: None,
            nullable: None,
        }];
        let rows = vec![vec![Field::Text("x".repeat(10_000))]; 100];
        let out = success_output(&finished(Some((cols, rows))));
        assert!(out.len() <= MAX_OUTPUT_BYTES, "{}", out.len());
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["truncated"], json!(true));
        let kept = v["records"].as_array().unwrap().len();
        assert!((20..100).contains(&kept), "{kept}");
    }

    #[test]
    fn failure_cause_is_json() {
        let Callback::Failure { error, cause } =
            failure(Ending::Failed, "n", "i", "relation \"x\" does not exist")
        else {
            panic!()
        };
        assert_eq!(error, "FAILED");
        let v: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(v["error"], json!("relation \"x\" does not exist"));
        assert_eq!(
            failure(Ending::Aborted, "n", "i", "e").ending(),
            Ending::Aborted
        );
    }
}
