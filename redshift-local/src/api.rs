//! The Data API's wire protocol: `POST /` with `X-Amz-Target: RedshiftData.<Operation>` and an
//! `application/x-amz-json-1.1` body, replies and errors shaped as the service model says. A bad request gets a
//! `ValidationException` naming the field and never stops the server.

use crate::catalog::{self, Scope};
use crate::engine::{
    Description, Engine, ExecutionMode, NewStatement, ResultFormat, SessionFilter, SessionUse,
    Submitted, Target, TargetFilter,
};
use crate::error::ApiError;
use crate::paging::Page;
use crate::wire;
use crate::EventFaults;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The HTTP routes: the Data API on `/`, the test controls under `/_local/`.
pub(crate) fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/", post(data_api))
        .route("/_local/stats", get(stats))
        .route("/_local/faults", post(faults))
        .with_state(engine)
}

async fn stats(State(engine): State<Arc<Engine>>) -> Json<Value> {
    Json(wire::stats(&engine.stats()))
}

async fn faults(State(engine): State<Arc<Engine>>, Json(f): Json<EventFaults>) -> StatusCode {
    engine.set_faults(f);
    StatusCode::NO_CONTENT
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "InternalServerException" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = wire::error(&self);
        (
            status,
            [
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amzn-errortype", self.code),
            ],
            body.to_string(),
        )
            .into_response()
    }
}

fn reply(v: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        v.to_string(),
    )
        .into_response()
}

async fn data_api(State(engine): State<Arc<Engine>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix("RedshiftData.") else {
        return ApiError {
            code: "UnknownOperationException",
            message: format!("unknown target {target:?}"),
            resource_id: None,
        }
        .into_response();
    };
    engine.count_call(operation);
    let caller = caller(&headers);
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return ApiError::validation(format!("request body is not JSON: {e}"))
                    .into_response()
            }
        }
    };
    let result = match operation {
        "ExecuteStatement" | "BatchExecuteStatement" => {
            match execute(
                &engine,
                &body,
                operation == "BatchExecuteStatement",
                &caller,
            ) {
                Ok((submitted, target, wait)) => {
                    let waited = match wait {
                        Some(seconds) => {
                            wait_for_end(&engine, &submitted.id, seconds, &caller).await
                        }
                        None => None,
                    };
                    Ok(wire::submitted(&submitted, &target, waited.as_ref()))
                }
                Err(e) => Err(e),
            }
        }
        "DescribeStatement" => match id_request(&engine, &body, &caller).await {
            Ok(r) => engine
                .describe(&r.id, &caller)
                .map(|d| wire::description(&d)),
            Err(e) => Err(e),
        },
        "GetStatementResult" => match id_request(&engine, &body, &caller).await {
            Ok(r) => engine
                .result(&r.id, r.next_token.as_deref(), &caller, ResultFormat::Json)
                .map(|page| wire::result_page(&page)),
            Err(e) => Err(e),
        },
        "GetStatementResultV2" => match id_request(&engine, &body, &caller).await {
            Ok(r) => engine
                .result(&r.id, r.next_token.as_deref(), &caller, ResultFormat::Csv)
                .map(|page| wire::result_page_csv(&page)),
            Err(e) => Err(e),
        },
        "ListSessions" => list_sessions(&engine, &body, &caller),
        "ListDatabases" | "ListSchemas" | "ListTables" | "DescribeTable" => {
            catalog_operation(&engine, operation, &body).await
        }
        "CancelStatement" => {
            match decode::<IdRequest>(&body).and_then(|r| check_id(&r.id).map(|_| r)) {
                Ok(r) => engine
                    .cancel(&r.id, &caller)
                    .await
                    .map(|()| wire::cancelled()),
                Err(e) => Err(e),
            }
        }
        "ListStatements" => decode::<ListRequest>(&body).and_then(|r| {
            if let Some(s) = &r.status {
                if ![
                    "SUBMITTED",
                    "PICKED",
                    "STARTED",
                    "FINISHED",
                    "ABORTED",
                    "FAILED",
                    "ALL",
                ]
                .contains(&s.as_str())
                {
                    return Err(ApiError::validation(format!(
                        "Status: {s:?} is not a statement status"
                    )));
                }
            }
            let max = max_results(r.max_results, 100)?;
            check_target_filter(&r.cluster_identifier, &r.workgroup_name)?;
            let target = TargetFilter {
                cluster_identifier: r.cluster_identifier,
                workgroup_name: r.workgroup_name,
                database: r.database,
            };
            let page = Page::new("list", max, r.next_token.as_deref())?;
            let listing = engine.list(
                &caller,
                r.statement_name.as_deref(),
                r.status.as_deref(),
                &target,
                &page,
            );
            Ok(wire::statements(&listing))
        }),
        other => Err(ApiError {
            code: "UnknownOperationException",
            message: format!("{other} is not supported by redshift-local"),
            resource_id: None,
        }),
    };
    match result {
        Ok(v) => reply(v),
        Err(e) => e.into_response(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        ApiError::validation(if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        })
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdRequest {
    id: String,
    next_token: Option<String>,
    wait_time_seconds: Option<i64>,
}

/// `MaxResults`: absent or 0 is the service's page size (`limit`), above `limit` is refused.
fn max_results(requested: Option<u32>, limit: u32) -> Result<usize, ApiError> {
    match requested {
        None | Some(0) => Ok(limit as usize),
        Some(n) if n <= limit => Ok(n as usize),
        Some(n) => Err(ApiError::validation(format!(
            "MaxResults: {n} is above {limit}"
        ))),
    }
}

/// `WaitTimeSeconds`: 1 to 30, as the model bounds it.
fn wait_seconds(requested: Option<i64>) -> Result<Option<u64>, ApiError> {
    match requested {
        None => Ok(None),
        Some(n @ 1..=30) => Ok(Some(n as u64)),
        Some(n) => Err(ApiError::validation(format!(
            "WaitTimeSeconds: {n} is not between 1 and 30"
        ))),
    }
}

/// Decodes a request naming a statement (`Id`, `NextToken`, `WaitTimeSeconds`) and, with `WaitTimeSeconds`,
/// holds it until the statement ended or the time passed, as `DescribeStatement` and the result operations do.
async fn id_request(
    engine: &Arc<Engine>,
    body: &Value,
    caller: &str,
) -> Result<IdRequest, ApiError> {
    let r: IdRequest = decode(body)?;
    check_id(&r.id)?;
    if let Some(seconds) = wait_seconds(r.wait_time_seconds)? {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let ended = engine.describe(&r.id, caller)?.status().ended();
            if ended || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    Ok(r)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListSessionsRequest {
    next_token: Option<String>,
    max_results: Option<u32>,
    session_id: Option<String>,
    status: Option<String>,
    /// Locally an identity is one access key, so every session of the caller is of its role.
    #[allow(dead_code)]
    role_level: Option<bool>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
}

/// `ListSessions`: validates the filters as the model and the service's documentation bound them.
fn list_sessions(engine: &Arc<Engine>, body: &Value, caller: &str) -> Result<Value, ApiError> {
    let r: ListSessionsRequest = decode(body)?;
    let max = max_results(r.max_results, 100)?;
    if let Some(sid) = &r.session_id {
        check_id(sid)?;
        let others = r.status.is_some()
            || r.cluster_identifier.is_some()
            || r.workgroup_name.is_some()
            || r.database.is_some();
        if others {
            return Err(ApiError::validation(
                "SessionId: with SessionId, Status, ClusterIdentifier, WorkgroupName and Database can't be specified",
            ));
        }
    }
    if let Some(s) = &r.status {
        if !["AVAILABLE", "BUSY", "CLOSED"].contains(&s.as_str()) {
            return Err(ApiError::validation(
                "Status: must be AVAILABLE, BUSY or CLOSED",
            ));
        }
    }
    check_target_filter(&r.cluster_identifier, &r.workgroup_name)?;
    let filter = SessionFilter {
        session_id: r.session_id,
        status: r.status,
        cluster_identifier: r.cluster_identifier,
        workgroup_name: r.workgroup_name,
        database: r.database,
    };
    let page = Page::new("sessions", max, r.next_token.as_deref())?;
    engine
        .list_sessions(caller, &filter, &page)
        .map(|listing| wire::sessions(&listing))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CatalogRequest {
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
    db_user: Option<String>,
    secret_arn: Option<String>,
    connected_database: Option<String>,
    schema_pattern: Option<String>,
    table_pattern: Option<String>,
    schema: Option<String>,
    table: Option<String>,
    next_token: Option<String>,
    max_results: Option<u32>,
}

/// `ListDatabases`, `ListSchemas`, `ListTables` and `DescribeTable`: the same target and `Database` as a
/// statement needs, then the catalog query on that database.
async fn catalog_operation(
    engine: &Arc<Engine>,
    operation: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let r: CatalogRequest = decode(body)?;
    check_target(
        &r.cluster_identifier,
        &r.workgroup_name,
        &r.db_user,
        &r.secret_arn,
    )?;
    let database = required_database(r.database)?;
    let max = max_results(r.max_results, 1000)?;
    let next = r.next_token.as_deref();
    let config = engine.postgres_config();
    let scope = Scope {
        database: &database,
        connected_database: r.connected_database.as_deref().filter(|d| !d.is_empty()),
    };
    match operation {
        "ListDatabases" => {
            let page = Page::new("databases", max, next)?;
            let listing = catalog::list_databases(config, &database, &page).await?;
            Ok(wire::databases(&listing))
        }
        "ListSchemas" => {
            let page = Page::new("schemas", max, next)?;
            let listing =
                catalog::list_schemas(config, scope, r.schema_pattern.as_deref(), &page).await?;
            Ok(wire::schemas(&listing))
        }
        "ListTables" => {
            let page = Page::new("tables", max, next)?;
            let (schemas, tables) = (r.schema_pattern.as_deref(), r.table_pattern.as_deref());
            let listing = catalog::list_tables(config, scope, schemas, tables, &page).await?;
            Ok(wire::tables(&listing))
        }
        _ => {
            let page = Page::new("columns", max, next)?;
            let (schema, table) = (r.schema.as_deref(), r.table.as_deref());
            let listing = catalog::describe_table(config, scope, schema, table, &page).await?;
            Ok(wire::table_description(&listing, table))
        }
    }
}

/// `Database`: required and not empty, as every operation that connects needs it.
fn required_database(database: Option<String>) -> Result<String, ApiError> {
    database
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::validation("Database: required"))
}

/// The compute target: a cluster (with `DbUser` or `SecretArn`) or a serverless workgroup, never both.
fn check_target(
    cluster_identifier: &Option<String>,
    workgroup_name: &Option<String>,
    db_user: &Option<String>,
    secret_arn: &Option<String>,
) -> Result<(), ApiError> {
    match (cluster_identifier, workgroup_name) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "ClusterIdentifier, WorkgroupName: specify only one",
        )),
        (None, None) => Err(ApiError::validation(
            "ClusterIdentifier or WorkgroupName: one is required",
        )),
        (Some(c), None) => {
            check_cluster_identifier(c)?;
            if db_user.is_none() && secret_arn.is_none() {
                return Err(ApiError::validation(
                    "DbUser or SecretArn: one is required for a cluster",
                ));
            }
            Ok(())
        }
        (None, Some(w)) => check_workgroup_name(w),
    }
}

/// A listing's target filter: a cluster or a workgroup (or neither), each as the model bounds it.
fn check_target_filter(
    cluster_identifier: &Option<String>,
    workgroup_name: &Option<String>,
) -> Result<(), ApiError> {
    match (cluster_identifier, workgroup_name) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "ClusterIdentifier, WorkgroupName: specify only one",
        )),
        (Some(c), None) => check_cluster_identifier(c),
        (None, Some(w)) => check_workgroup_name(w),
        (None, None) => Ok(()),
    }
}

/// The model's cluster identifier pattern, `[a-z][a-z0-9]*(-[a-z0-9]+)*`, 1 to 63 characters.
fn check_cluster_identifier(c: &str) -> Result<(), ApiError> {
    let pattern_ok = !c.is_empty()
        && c.len() <= 63
        && c.starts_with(|ch: char| ch.is_ascii_lowercase())
        && c.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if pattern_ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "ClusterIdentifier: {c:?} is not a valid cluster identifier"
        )))
    }
}

/// The model's workgroup name length, 3 to 128 characters.
fn check_workgroup_name(w: &str) -> Result<(), ApiError> {
    if w.len() < 3 || w.len() > 128 {
        return Err(ApiError::validation(format!(
            "WorkgroupName: {w:?} must be 3 to 128 characters"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    next_token: Option<String>,
    max_results: Option<u32>,
    statement_name: Option<String>,
    status: Option<String>,
    /// Locally an identity is one access key, so every statement of the caller is of its role.
    #[allow(dead_code)]
    role_level: Option<bool>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
}

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

/// The service's id pattern: `[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d{0,2})?`.
fn check_id(id: &str) -> Result<(), ApiError> {
    let (base, sub) = match id.split_once(':') {
        Some((b, s)) => (b, Some(s)),
        None => (id, None),
    };
    let groups: Vec<&str> = base.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && sub.is_none_or(|s| s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Id: {id:?} does not match the statement id pattern"
        )))
    }
}

const MAX_SQL_BYTES: usize = 100 * 1024;

/// Who is calling: the access key id of the SigV4 signature (one per IAM identity here), or `anonymous` for an
/// unsigned request. The Data API scopes a statement to the identity that ran it.
fn caller(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .unwrap_or("anonymous")
        .to_string()
}

/// `WaitTimeSeconds`: holds the reply until the statement ended or the time passed; the statement as the wait
/// left it (`None` if it could not be described), whose `Status` the reply carries, as the service's does.
async fn wait_for_end(
    engine: &Arc<Engine>,
    id: &str,
    seconds: u64,
    caller: &str,
) -> Option<Description> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let d = engine.describe(id, caller).ok()?;
        if d.status().ended() || tokio::time::Instant::now() >= deadline {
            return Some(d);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Validates and submits an execute: the statement accepted, its target (the reply names it) and, with
/// `WaitTimeSeconds`, how long to wait for the end.
fn execute(
    engine: &Arc<Engine>,
    body: &Value,
    batch: bool,
    caller: &str,
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
        owner: caller.to_string(),
        session,
        result_format,
        execution_mode,
    })?;
    Ok((submitted, target, wait))
}

/// A batch's parameters are shared by its statements, and the service requires each to be used by one of them.
fn check_batch_parameters_used(
    parameters: &[(String, String)],
    sqls: &[String],
) -> Result<(), ApiError> {
    let used: Vec<String> = sqls
        .iter()
        .flat_map(|sql| crate::values::placeholders(sql))
        .collect();
    if parameters.iter().all(|(name, _)| used.contains(name)) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "Parameters: each parameter must be referenced by at least one SQL statement of the batch",
        ))
    }
}
