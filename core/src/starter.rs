//! The starter use case: record the state entry, start its SQL exactly once, and answer the seed's
//! request-response actions.
//!
//! Order matters for "exactly once" and "nothing lost": the record is written (conditionally) before the
//! statement starts, and the statement starts with its name as `ClientToken`, so any retry, whatever step the
//! previous attempt died at, converges on the same statement.

use crate::config::{Settings, Target};
use crate::error::TaskerError;
use crate::naming::{sql_digest, statement_name, EntryKey};
use crate::outcome::{callback_for, deliver, MAX_OUTPUT_BYTES};
use crate::payload::{self, ExecuteRequest, StarterRequest, StatementRef};
use crate::ports::{Created, DataApi, FaultKind, Lock, StateStore, TaskCallbacks};
use crate::record::{token_hint, RecordStatus, StatementRecord};
use crate::statement::ExecuteCall;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tracing::{info, warn};

/// What the starter talks to.
pub struct StarterPorts<'a> {
    pub data: &'a dyn DataApi,
    pub store: &'a dyn StateStore,
    pub callbacks: &'a dyn TaskCallbacks,
}

/// The starter's configuration: the shared settings and the one target it may run SQL on.
#[derive(Debug, Clone)]
pub struct StarterConfig {
    pub settings: Settings,
    pub target: Target,
}

/// Handles one invocation of the starter.
pub async fn handle(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let request = payload::parse(payload)
        .inspect_err(|e| warn!(decision = "rejected", error = %e, "invalid input"))?;
    match request {
        StarterRequest::Execute(req) => execute(ports, config, &req, now).await,
        StarterRequest::Describe(r) => {
            let id = resolve(ports.store, &r).await?;
            let d = ports
                .data
                .describe(&id)
                .await
                .map_err(TaskerError::data_api)?;
            info!(decision = "described", statement_id = %id, status = d.status.as_str());
            Ok(d.to_data_api_json())
        }
        StarterRequest::GetResult(r) => get_result(ports, &r).await,
        StarterRequest::Cancel(r) => {
            let id = resolve(ports.store, &r).await?;
            let status = ports
                .data
                .cancel(&id)
                .await
                .map_err(TaskerError::data_api)?;
            info!(decision = "cancel_requested", statement_id = %id, status);
            Ok(json!({"Status": status}))
        }
    }
}

async fn execute(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let settings = &config.settings;
    let digest = sql_digest(&req.sql, &req.parameters);
    let name = statement_name(
        &settings.prefix,
        &EntryKey {
            execution_arn: &req.execution_arn,
            state_name: req.state_name.as_deref(),
            state_entered_time: req.state_entered_time.as_deref(),
            sql_digest: &digest,
        },
    );
    let expires_at = now.timestamp() + i64::from(settings.record_ttl_days) * 86_400;
    if req.singleton {
        take_singleton_lock(ports.store, &digest, &name, expires_at).await?;
    }
    let record = StatementRecord {
        statement_name: name.clone(),
        execution_arn: req.execution_arn.clone(),
        state_name: req.state_name.clone(),
        task_token: req.task_token.clone(),
        statement_id: None,
        status: RecordStatus::Submitted,
        sql_digest: digest,
        result_rows: req.result_rows,
        singleton: req.singleton,
        created_at: now,
        updated_at: now,
        settled_at: None,
        error: None,
        expires_at,
    };
    match ports
        .store
        .create(&record)
        .await
        .map_err(TaskerError::state_table)?
    {
        Created::New => {
            info!(decision = "recorded", statement_name = %name, waits = req.task_token.is_some());
            start(ports, config, req, &name, now).await
        }
        Created::Existing(existing) => resume(ports, config, req, *existing, now).await,
    }
}

/// Starts the SQL and marks the record `STARTED`. A failure leaves the record `SUBMITTED`: a retry calls the Data
/// API again with the same `ClientToken` and gets the same statement back.
async fn start(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let call = ExecuteCall {
        statement_name: name.to_string(),
        sql: req.sql.clone(),
        parameters: req.parameters.clone(),
        target: config.target.clone(),
        with_event: true,
    };
    let id = ports.data.execute(&call).await.map_err(|e| {
        warn!(decision = "start_failed", statement_name = %name, error = %e, "record left SUBMITTED for a retry");
        TaskerError::data_api(e)
    })?;
    let moved = ports
        .store
        .mark_started(name, &id, now)
        .await
        .map_err(TaskerError::state_table)?;
    info!(decision = "started", statement_name = %name, statement_id = %id, already_moved_on = !moved);
    Ok(started_reply(name, &id))
}

/// The reply of an execute: our names, plus the Data API's `Id` that the seed's polling state machines read.
fn started_reply(name: &str, id: &str) -> Value {
    json!({"statementName": name, "statementId": id, "Id": id})
}

/// A retried invocation of a state entry that already has a record.
async fn resume(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    existing: StatementRecord,
    now: DateTime<Utc>,
) -> Result<Value, TaskerError> {
    let name = existing.statement_name.clone();
    let record = match &req.task_token {
        Some(token) if existing.task_token.as_deref() != Some(token.as_str()) => {
            info!(decision = "token_replaced", statement_name = %name, token = %token_hint(token));
            ports
                .store
                .set_token(&name, token, now)
                .await
                .map_err(TaskerError::state_table)?
        }
        _ => existing,
    };
    let id = match (record.status, &record.statement_id) {
        (RecordStatus::Submitted, _) | (_, None) => {
            info!(decision = "restart", statement_name = %name, "previous attempt stopped before STARTED");
            return start(ports, config, req, &name, now).await;
        }
        (_, Some(id)) => id.clone(),
    };
    if !record.status.is_settled() {
        info!(decision = "already_running", statement_name = %name, statement_id = %id);
        return Ok(started_reply(&name, &id));
    }
    // Settled before this retry: its callback went to the old token, so answer the new one now.
    if let Some(token) = &req.task_token {
        let d = ports
            .data
            .describe(&id)
            .await
            .map_err(TaskerError::data_api)?;
        if let Some(ending) = d.status.ending() {
            let outcome = callback_for(ports.data, &record, &id, ending, d.result_rows)
                .await
                .map_err(TaskerError::data_api)?;
            match deliver(ports.callbacks, token, &outcome.callback).await {
                Ok(()) => {
                    info!(decision = "called_back_on_retry", statement_name = %name, ending = ending.as_str())
                }
                Err(e) if e.kind == FaultKind::TokenGone => {
                    warn!(decision = "retry_token_gone", statement_name = %name, error = %e)
                }
                Err(e) => return Err(TaskerError::Callback(e.to_string())),
            }
        }
    }
    Ok(started_reply(&name, &id))
}

async fn take_singleton_lock(
    store: &dyn StateStore,
    digest: &str,
    name: &str,
    expires_at: i64,
) -> Result<(), TaskerError> {
    match store
        .lock(digest, name, expires_at)
        .await
        .map_err(TaskerError::state_table)?
    {
        Lock::Acquired => Ok(()),
        Lock::HeldBy(owner) => {
            let owner_done = store
                .get(&owner)
                .await
                .map_err(TaskerError::state_table)?
                .is_none_or(|r| r.status.is_settled());
            if owner_done
                && store
                    .steal_lock(digest, &owner, name, expires_at)
                    .await
                    .map_err(TaskerError::state_table)?
            {
                return Ok(());
            }
            info!(decision = "singleton_refused", statement_name = %name, holder = %owner);
            Err(TaskerError::ConcurrentExecution(format!(
                "There is already an instance of this SQL running (statement {owner})."
            )))
        }
    }
}

/// A statement id, or the newest statement of an execution from the state table (never a racy name search).
async fn resolve(store: &dyn StateStore, r: &StatementRef) -> Result<String, TaskerError> {
    match r {
        StatementRef::Id(id) => Ok(id.clone()),
        StatementRef::Latest { execution_arn } => {
            let records = store
                .by_execution(execution_arn)
                .await
                .map_err(TaskerError::state_table)?;
            let newest = records.into_iter().next().ok_or_else(|| {
                TaskerError::StatementNotFound(format!(
                    "no statement recorded for execution {execution_arn}"
                ))
            })?;
            newest.statement_id.ok_or_else(|| {
                TaskerError::StatementNotFound(format!(
                    "the newest statement of execution {execution_arn} ({}) has not started",
                    newest.statement_name
                ))
            })
        }
    }
}

/// `getStatementResult`, following `NextToken` to the end (the seed read one page), cut at the output limit.
async fn get_result(ports: &StarterPorts<'_>, r: &StatementRef) -> Result<Value, TaskerError> {
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
            if size > MAX_OUTPUT_BYTES - 1024 {
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
