//! `ExecuteStatement` and `BatchExecuteStatement`: the request decoded and checked, then submitted.

use super::checks::{
    check_batch_parameters_used, check_id, check_target, required_database, wait_seconds,
    MAX_SQL_BYTES,
};
use super::{decode, Caller};
use crate::engine::{
    Engine, ExecutionMode, NewStatement, ResultFormat, SessionUse, Submitted, Target,
};
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize)]
struct Parameter {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExecuteRequest {
    sql: Option<String>,
    sqls: Option<Vec<String>>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
    db_user: Option<String>,
    secret_arn: Option<String>,
    with_event: Option<bool>,
    statement_name: Option<String>,
    parameters: Option<Vec<Parameter>>,
    client_token: Option<String>,
    wait_time_seconds: Option<i64>,
    session_keep_alive_seconds: Option<i64>,
    session_id: Option<String>,
    result_format: Option<String>,
    execution_mode: Option<String>,
}

/// Validates and submits an execute: the statement accepted, its target (the reply names it) and, with
/// `WaitTimeSeconds`, how long to wait for the end.
pub(super) fn execute(
    engine: &Arc<Engine>,
    body: &Value,
    batch: bool,
    caller: &Caller,
) -> Result<(Submitted, Target, Option<u64>), ApiError> {
    let r: ExecuteRequest = decode(body)?;
    let session = match (r.session_keep_alive_seconds, &r.session_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "SessionKeepAliveSeconds, SessionId: give one, not both",
            ))
        }
        (Some(n @ 0..=86400), None) => SessionUse::Start {
            keep_alive_seconds: n as u64,
        },
        (Some(n), None) => {
            return Err(ApiError::validation(format!(
                "SessionKeepAliveSeconds: {n} is not between 0 and 86400"
            )))
        }
        (None, Some(sid)) => {
            check_id(sid)?;
            SessionUse::Use(sid.clone())
        }
        (None, None) => SessionUse::None,
    };
    let wait = wait_seconds(r.wait_time_seconds)?;
    let result_format = match r.result_format.as_deref() {
        None => ResultFormat::Json,
        Some(f) => ResultFormat::parse(f)
            .ok_or_else(|| ApiError::validation("ResultFormat: must be JSON or CSV"))?,
    };
    // Only BatchExecuteStatement has ExecutionMode in the model.
    let execution_mode = match r.execution_mode.as_deref().filter(|_| batch) {
        None => ExecutionMode::Transaction,
        Some(m) => ExecutionMode::parse(m).ok_or_else(|| {
            ApiError::validation("ExecutionMode: must be TRANSACTION or AUTO_COMMIT")
        })?,
    };
    let sqls = if batch {
        let sqls = r
            .sqls
            .ok_or_else(|| ApiError::validation("Sqls: required"))?;
        if sqls.is_empty() || sqls.len() > 40 {
            return Err(ApiError::validation(format!(
                "Sqls: must hold 1 to 40 statements, got {}",
                sqls.len()
            )));
        }
        sqls
    } else {
        vec![r.sql.ok_or_else(|| ApiError::validation("Sql: required"))?]
    };
    for (i, sql) in sqls.iter().enumerate() {
        let field = if batch {
            format!("Sqls[{i}]")
        } else {
            "Sql".into()
        };
        if sql.trim().is_empty() {
            return Err(ApiError::validation(format!("{field}: must not be empty")));
        }
        if sql.len() > MAX_SQL_BYTES {
            return Err(ApiError::validation(format!("{field}: longer than 100 KB")));
        }
    }
    // On a session with no target named, the session's target.
    let on_session = matches!(session, SessionUse::Use(_))
        && r.cluster_identifier.is_none()
        && r.workgroup_name.is_none();
    if !on_session {
        check_target(
            &r.cluster_identifier,
            &r.workgroup_name,
            &r.db_user,
            &r.secret_arn,
        )?;
    }
    let database = match &session {
        SessionUse::Use(_) => r.database.unwrap_or_default(),
        _ => required_database(r.database)?,
    };
    if let Some(t) = &r.client_token {
        if t.is_empty() || t.len() > 64 {
            return Err(ApiError::validation(
                "ClientToken: must be 1 to 64 characters",
            ));
        }
    }
    if r.statement_name.as_ref().is_some_and(|n| n.len() > 2048) {
        return Err(ApiError::validation(
            "StatementName: longer than 2048 characters",
        ));
    }
    let mut parameters = Vec::new();
    if let Some(params) = r.parameters {
        if params.is_empty() {
            return Err(ApiError::validation(
                "Parameters: must hold at least one parameter",
            ));
        }
        for p in params {
            if p.name.is_empty()
                || !p
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(ApiError::validation(format!(
                    "Parameters.name: {:?} must match [0-9a-zA-Z_]+",
                    p.name
                )));
            }
            if p.value.is_empty() {
                return Err(ApiError::validation(format!(
                    "Parameters.value: the value of {} must not be empty",
                    p.name
                )));
            }
            parameters.push((p.name, p.value));
        }
    }
    if batch {
        check_batch_parameters_used(&parameters, &sqls)?;
    }
    let target = Target {
        cluster_identifier: r.cluster_identifier,
        workgroup_name: r.workgroup_name,
        database,
        db_user: r.db_user,
        secret_arn: r.secret_arn,
    };
    let submitted = engine.submit(NewStatement {
        sqls,
        is_batch: batch,
        parameters,
        name: r.statement_name,
        target: target.clone(),
        with_event: r.with_event.unwrap_or(false),
        client_token: r.client_token,
        owner: caller.key.clone(),
        owner_session: caller.session.clone(),
        session,
        result_format,
        execution_mode,
    })?;
    Ok((submitted, target, wait))
}
