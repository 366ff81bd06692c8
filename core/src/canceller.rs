//! The canceller use case: after a state's heartbeat ran out, cancel its statement(s).
//!
//! It only asks the Data API to cancel and notes the request: it never settles. The `ABORTED` event (or the
//! sweeper) settles each cancelled statement through the completer's claim and callback, so a task still waiting
//! on one (a sibling `Parallel` branch or `Map` iteration when the canceller was not narrowed) fails with
//! `ABORTED` at once instead of hanging, and a singleton lock is freed only once the statement really ended.

use crate::error::TaskerError;
use crate::ports::{DataApi, FaultKind, StateStore};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

/// What the canceller talks to.
pub struct CancellerPorts<'a> {
    /// Cancels the statements and says which ones had already ended.
    pub data: &'a dyn DataApi,
    /// Finds an execution's unsettled records and notes the cancel requests.
    pub store: &'a dyn StateStore,
}

impl std::fmt::Debug for CancellerPorts<'_> {
    /// The ports are trait objects: only the type is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancellerPorts").finish_non_exhaustive()
    }
}

/// A `cancelSlowQuery` state's payload: the execution, narrowed to one state or one statement when given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CancelRequest {
    /// The execution whose unsettled statements are cancelled.
    pub execution_arn: String,
    /// Only the statements of this state (a sibling branch's keep running).
    pub state_name: Option<String>,
    /// Only this statement.
    pub statement_name: Option<String>,
}

/// Parses `{executionArn, stateName?, statementName?}`; every refusal is `InvalidInput` naming the field (public
/// for the fuzz target). The fields are bounded like the starter's: `executionArn` keys an index (2,048 bytes).
pub fn parse(payload: &Value) -> Result<CancelRequest, TaskerError> {
    let p: CancelRequest = crate::error::deserialize_payload(payload)?;
    for (field, value) in [
        ("executionArn", Some(&p.execution_arn)),
        ("stateName", p.state_name.as_ref()),
        ("statementName", p.statement_name.as_ref()),
    ] {
        let Some(value) = value else { continue };
        if value.trim().is_empty() {
            return Err(TaskerError::InvalidInput(format!(
                "{field}: must not be empty"
            )));
        }
        if value.len() > crate::payload::MAX_FIELD_BYTES {
            return Err(TaskerError::InvalidInput(format!(
                "{field}: longer than {} bytes",
                crate::payload::MAX_FIELD_BYTES
            )));
        }
    }
    Ok(p)
}

/// One statement the canceller reports on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedStatement {
    /// The statement's name.
    pub statement_name: String,
    /// Its Data API id (absent for one whose start has not produced a statement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
}

/// What a cancel did, as the `cancelSlowQuery` state gets it: a `Catch` or `Choice` can tell a cancelled statement
/// from one that had already ended or not yet started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelReport {
    /// The execution asked about.
    pub execution_arn: String,
    /// `CancelStatement` was sent; the `ABORTED` event (or the sweeper) settles each.
    pub cancelled: Vec<ReportedStatement>,
    /// They ended before the cancel; their own events settle them.
    pub already_ended: Vec<ReportedStatement>,
    /// Their start is in flight or failed: nothing to cancel yet.
    pub not_started: Vec<ReportedStatement>,
}

/// The canceller's JSON edge: [`parse`], then [`cancel`]; a refusal is counted.
pub async fn handle(
    ports: &CancellerPorts<'_>,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let request = parse(payload).inspect_err(|_| crate::metrics::refused())?;
    let report = cancel(ports, &request, now).await?;
    serde_json::to_value(report).map_err(|e| TaskerError::InvalidInput(e.to_string()))
}

/// Cancels the execution's unsettled statements (only those of `stateName` / `statementName` when given);
/// reports what it cancelled and what had already ended or not started. A throttled cancel does not stop the
/// others: the error comes at the end, so a `Retry` runs the cancel again.
pub async fn cancel(
    ports: &CancellerPorts<'_>,
    p: &CancelRequest,
    now: DateTime<Utc>,
) -> Result<CancelReport, TaskerError> {
    let records = ports
        .store
        .by_execution(&p.execution_arn)
        .await
        .map_err(TaskerError::state_table)?;
    let mut report = CancelReport {
        execution_arn: p.execution_arn.clone(),
        cancelled: Vec::new(),
        already_ended: Vec::new(),
        not_started: Vec::new(),
    };
    let mut failed = None;
    for record in records {
        let other_state = p
            .state_name
            .as_deref()
            .is_some_and(|n| record.state_name.as_deref() != Some(n));
        let other_statement = p
            .statement_name
            .as_deref()
            .is_some_and(|n| n != record.statement_name);
        if record.status.is_settled() || other_state || other_statement {
            continue;
        }
        let name = record.statement_name.clone();
        let Some(id) = record.statement_id.clone() else {
            // Its start is in flight (or failed): nothing to cancel yet. Said in the output, so a Catch can tell.
            info!(decision = "cancel_not_started", statement_name = %name);
            report.not_started.push(ReportedStatement {
                statement_name: name,
                statement_id: None,
            });
            continue;
        };
        let entry = ReportedStatement {
            statement_name: name.clone(),
            statement_id: Some(id.clone()),
        };
        match ports.data.cancel(&id).await {
            Ok(_) => {
                ports
                    .store
                    .mark_cancel_requested(&name, now)
                    .await
                    .map_err(TaskerError::state_table)?;
                crate::metrics::cancelled();
                info!(decision = "cancel_requested", statement_name = %name, statement_id = %id);
                report.cancelled.push(entry);
            }
            Err(e) if matches!(e.kind, FaultKind::Rejected | FaultKind::NotFound) => {
                // It ended first; its event (or the sweeper) settles it.
                info!(decision = "cancel_too_late", statement_name = %name, error = %e);
                report.already_ended.push(entry);
            }
            Err(e) => {
                // Throttled: the others still get their cancel; the error at the end makes a Retry run it again.
                warn!(decision = "cancel_failed", statement_name = %name, error = %e);
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(TaskerError::data_api(e)),
        None => Ok(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_name_the_field_and_the_fields_are_bounded() {
        let long = "a".repeat(crate::payload::MAX_FIELD_BYTES + 1);
        for (payload, field) in [
            (json!({}), "executionArn"),
            (json!({"executionArn": " "}), "executionArn"),
            (json!({"executionArn": long}), "executionArn"),
            (json!({"executionArn": "a", "stateName": long}), "stateName"),
            (
                json!({"executionArn": "a", "statementName": ""}),
                "statementName",
            ),
            (
                json!({"executionArn": "a", "stateName": 47110815}),
                "stateName",
            ),
            (json!({"executionArn": "a", "planted": 1}), "planted"),
        ] {
            let e = parse(&payload).unwrap_err();
            assert_eq!(e.error_type(), "InvalidInput");
            let message = e.to_string();
            assert!(message.contains(field), "{message:?} names {field}");
            assert!(
                !message.contains("47110815"),
                "{message:?} quotes the value"
            );
        }
        let at_limit = "a".repeat(crate::payload::MAX_FIELD_BYTES);
        let p = parse(&json!({"executionArn": at_limit, "stateName": "S"})).unwrap();
        assert_eq!(p.state_name.as_deref(), Some("S"));
    }
}
