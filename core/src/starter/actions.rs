//! The seed's request-response actions: which statement a payload names, and its result read to the end.

use super::StarterPorts;
use crate::error::TaskerError;
use crate::payload::{StatementRef, MAX_RESULT_MAX_BYTES};
use crate::ports::StateStore;
use crate::record::StatementRecord;
use serde_json::{json, Value};
use tracing::{info, warn};

/// A statement id, or the newest statement of an execution from the state table (never a racy name search).
pub(super) async fn resolve(
    store: &dyn StateStore,
    r: &StatementRef,
) -> Result<String, TaskerError> {
    resolve_record(store, r).await.map(|(id, _)| id)
}

/// The statement id a seed action is about, with its record. An id this deployment did not start is refused:
/// the starter must not become a way to read or cancel other teams' queries.
pub(super) async fn resolve_record(
    store: &dyn StateStore,
    r: &StatementRef,
) -> Result<(String, Option<StatementRecord>), TaskerError> {
    match r {
        StatementRef::Id(id) => {
            let parent = id.split_once(':').map_or(id.as_str(), |(p, _)| p);
            let record = store
                .by_statement_id(parent)
                .await
                .map_err(TaskerError::state_table)?;
            match record {
                Some(record) => Ok((id.clone(), Some(record))),
                None => {
                    warn!(decision = "foreign_statement_refused");
                    Err(TaskerError::InvalidInput(
                        "statementId: not a statement started by this deployment".into(),
                    ))
                }
            }
        }
        StatementRef::Latest { execution_arn } => {
            let records = store
                .by_execution(execution_arn)
                .await
                .map_err(TaskerError::state_table)?;
            let newest = records.into_iter().next().ok_or_else(|| {
                TaskerError::StatementNotFound(
                    "executionArn: no statement recorded for this execution".into(),
                )
            })?;
            match newest.statement_id.clone() {
                Some(id) => Ok((id, Some(newest))),
                None => Err(TaskerError::StatementNotFound(format!(
                    "executionArn: the newest statement of this execution ({}) has not started",
                    newest.statement_name
                ))),
            }
        }
    }
}

/// `getStatementResult`, following `NextToken` to the end (the seed read one page), cut at the output limit.
pub(super) async fn get_result(
    ports: &StarterPorts<'_>,
    r: &StatementRef,
) -> Result<Value, TaskerError> {
    let mut id = resolve(ports.store, r).await?;
    if matches!(r, StatementRef::Latest { .. }) {
        // A batch keeps its rows on a sub-statement.
        let d = ports
            .data
            .describe(&id)
            .await
            .map_err(TaskerError::data_api)?;
        if let Some(source) = d.result_source() {
            id = source.to_string();
        }
    }
    let mut records = Vec::new();
    let mut columns = Value::Null;
    let mut total = None;
    let mut size = 0usize;
    let mut truncated = false;
    let mut next = None;
    'pages: loop {
        let page = ports
            .data
            .result_page(&id, next)
            .await
            .map_err(TaskerError::data_api)?;
        if columns.is_null() {
            columns = Value::Array(
                page.columns
                    .iter()
                    .map(|c| {
                        json!({"name": c.name, "label": c.name, "typeName": c.type_name, "nullable": c.nullable})
                    })
                    .collect(),
            );
            size += columns.to_string().len();
        }
        total = page.total_rows.or(total);
        for row in page.records {
            let row = Value::Array(row.iter().map(|f| f.to_data_api_json()).collect());
            size += row.to_string().len() + 1;
            if size > MAX_RESULT_MAX_BYTES as usize {
                truncated = true;
                break 'pages;
            }
            records.push(row);
        }
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    info!(decision = "result_read", statement_id = %id, rows = records.len(), truncated);
    let mut out = json!({"Records": records, "ColumnMetadata": columns, "TotalNumRows": total});
    if truncated {
        out["Truncated"] = json!(true);
    }
    Ok(out)
}
