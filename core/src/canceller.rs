//! The canceller use case: after a state's heartbeat ran out, cancel every unsettled statement of its execution.

use crate::completer::CLAIM_LEASE;
use crate::error::TaskerError;
use crate::ports::{Claim, DataApi, FaultKind, StateStore};
use crate::record::{RecordStatus, Settlement};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::info;

/// What the canceller talks to.
pub struct CancellerPorts<'a> {
    pub data: &'a dyn DataApi,
    pub store: &'a dyn StateStore,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CancelPayload {
    execution_arn: String,
    statement_name: Option<String>,
}

/// Parses `{executionArn, statementName?}`.
fn parse(payload: &Value) -> Result<CancelPayload, TaskerError> {
    let p: CancelPayload = crate::error::deserialize_payload(payload)?;
    if p.execution_arn.trim().is_empty() {
        return Err(TaskerError::InvalidInput(
            "executionArn: must not be empty".into(),
        ));
    }
    if p.statement_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(TaskerError::InvalidInput(
            "statementName: must not be empty".into(),
        ));
    }
    Ok(p)
}

/// Cancels the execution's unsettled statements; returns what it cancelled and what had already ended.
pub async fn handle(
    ports: &CancellerPorts<'_>,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let p = parse(payload)?;
    let records = ports
        .store
        .by_execution(&p.execution_arn)
        .await
        .map_err(TaskerError::state_table)?;
    let mut cancelled = Vec::new();
    let mut already_ended = Vec::new();
    for record in records {
        if record.status.is_settled()
            || p.statement_name
                .as_deref()
                .is_some_and(|n| n != record.statement_name)
        {
            continue;
        }
        let name = record.statement_name.clone();
        let Some(id) = record.statement_id.clone() else {
            continue;
        };
        // Claim before cancelling, so the ABORTED event that the cancel causes finds the record taken and cannot
        // call back (or orphan it) in between.
        let lease = now + CLAIM_LEASE;
        if !matches!(
            ports
                .store
                .claim(&name, lease, now)
                .await
                .map_err(TaskerError::state_table)?,
            Claim::Won(_)
        ) {
            continue;
        }
        match ports.data.cancel(&id).await {
            Ok(_) => {}
            Err(e) => {
                ports
                    .store
                    .release(&name, lease)
                    .await
                    .map_err(TaskerError::state_table)?;
                if matches!(e.kind, FaultKind::Rejected | FaultKind::NotFound) {
                    // It ended first; its event (or the sweeper) settles it.
                    info!(decision = "cancel_too_late", statement_name = %name, error = %e);
                    already_ended.push(json!({"statementName": name, "statementId": id}));
                    continue;
                }
                return Err(TaskerError::data_api(e));
            }
        }
        let settlement = Settlement {
            status: RecordStatus::Cancelled,
            statement_id: Some(id.clone()),
            error: Some("cancelled after the state timed out".into()),
            at: now,
        };
        ports
            .store
            .settle(&name, &settlement, Some(lease))
            .await
            .map_err(TaskerError::state_table)?;
        if record.singleton {
            ports
                .store
                .unlock(&record.sql_digest, &name)
                .await
                .map_err(TaskerError::state_table)?;
        }
        info!(decision = "cancelled", statement_name = %name, statement_id = %id);
        cancelled.push(json!({"statementName": name, "statementId": id}));
    }
    Ok(
        json!({"executionArn": p.execution_arn, "cancelled": cancelled, "alreadyEnded": already_ended}),
    )
}
