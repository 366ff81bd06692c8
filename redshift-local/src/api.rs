//! The Data API's wire protocol: `POST /` with `X-Amz-Target: RedshiftData.<Operation>` and an
//! `application/x-amz-json-1.1` body, replies and errors shaped as the service model says. A bad request gets a
//! `ValidationException` naming the field and never stops the server.

use crate::engine::{ApiError, Engine, NewStatement, SessionUse, Target};
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
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/", post(data_api))
        .route("/_local/stats", get(stats))
        .route("/_local/faults", post(faults))
        .with_state(engine)
}

async fn stats(State(engine): State<Arc<Engine>>) -> Json<Value> {
    Json(engine.stats())
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
        let mut body =
            json!({"__type": self.code, "message": self.message, "Message": self.message});
        if let Some(id) = self.resource_id {
            body["ResourceId"] = json!(id);
        }
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
                Ok((out, Some(wait))) => Ok(wait_for_end(&engine, out, wait, &caller).await),
                other => other.map(|(out, _)| out),
            }
        }
        "DescribeStatement" => decode::<IdRequest>(&body)
            .and_then(|r| check_id(&r.id).and_then(|_| engine.describe(&r.id, &caller))),
        "GetStatementResult" => decode::<IdRequest>(&body).and_then(|r| {
            check_id(&r.id).and_then(|_| engine.result(&r.id, r.next_token.as_deref(), &caller))
        }),
        "CancelStatement" => {
            match decode::<IdRequest>(&body).and_then(|r| check_id(&r.id).map(|_| r)) {
                Ok(r) => engine.cancel(&r.id, &caller).await,
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
            let max = match r.max_results {
                None | Some(0) => 100,
                Some(n) if n <= 100 => n as usize,
                Some(n) => {
                    return Err(ApiError::validation(format!(
                        "MaxResults: {n} is above 100"
                    )))
                }
            };
            engine.list(
                &caller,
                r.statement_name.as_deref(),
                r.status.as_deref(),
                max,
                r.next_token.as_deref(),
            )
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
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    next_token: Option<String>,
    max_results: Option<u32>,
    statement_name: Option<String>,
    status: Option<String>,
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

/// `WaitTimeSeconds`: holds the reply until the statement ended or the time passed, then answers its `Status`
/// (and `HasResultSet`), as the service does.
async fn wait_for_end(engine: &Arc<Engine>, mut out: Value, seconds: u64, caller: &str) -> Value {
    let id = out["Id"].as_str().unwrap_or_default().to_string();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let Ok(d) = engine.describe(&id, caller) else {
            return out;
        };
        let status = d["Status"].as_str().unwrap_or_default();
        let ended = matches!(status, "FINISHED" | "FAILED" | "ABORTED");
        if ended || tokio::time::Instant::now() >= deadline {
            out["Status"] = d["Status"].clone();
            if ended {
                if let Some(h) = d.get("HasResultSet") {
                    out["HasResultSet"] = h.clone();
                }
            }
            return out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Validates and submits an execute; the reply and, with `WaitTimeSeconds`, how long to wait for the end.
fn execute(
    engine: &Arc<Engine>,
    body: &Value,
    batch: bool,
    caller: &str,
) -> Result<(Value, Option<u64>), ApiError> {
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
    let wait = match r.wait_time_seconds {
        None => None,
        Some(n @ 1..=30) => Some(n as u64),
        Some(n) => {
            return Err(ApiError::validation(format!(
                "WaitTimeSeconds: {n} is not between 1 and 30"
            )))
        }
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
    match (&r.cluster_identifier, &r.workgroup_name) {
        // On a session, the session's target.
        (None, None) if matches!(session, SessionUse::Use(_)) => {}
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "ClusterIdentifier, WorkgroupName: specify only one",
            ))
        }
        (None, None) => {
            return Err(ApiError::validation(
                "ClusterIdentifier or WorkgroupName: one is required",
            ))
        }
        (Some(c), None) => {
            let pattern_ok = !c.is_empty()
                && c.len() <= 63
                && c.starts_with(|ch: char| ch.is_ascii_lowercase())
                && c.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                });
            if !pattern_ok {
                return Err(ApiError::validation(format!(
                    "ClusterIdentifier: {c:?} is not a valid cluster identifier"
                )));
            }
            if r.db_user.is_none() && r.secret_arn.is_none() {
                return Err(ApiError::validation(
                    "DbUser or SecretArn: one is required for a cluster",
                ));
            }
        }
        (None, Some(w)) => {
            if w.len() < 3 || w.len() > 128 {
                return Err(ApiError::validation(format!(
                    "WorkgroupName: {w:?} must be 3 to 128 characters"
                )));
            }
        }
    }
    let database = match &session {
        SessionUse::Use(_) => r.database.unwrap_or_default(),
        _ => r
            .database
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ApiError::validation("Database: required"))?,
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
    let target = Target {
        cluster_identifier: r.cluster_identifier,
        workgroup_name: r.workgroup_name,
        database,
        db_user: r.db_user,
        secret_arn: r.secret_arn,
    };
    let (id, created_at, session_id) = engine.submit(NewStatement {
        sqls,
        is_batch: batch,
        parameters,
        name: r.statement_name,
        target: target.clone(),
        with_event: r.with_event.unwrap_or(false),
        client_token: r.client_token,
        owner: caller.to_string(),
        session,
    })?;
    let mut out = json!({"Id": id, "CreatedAt": created_at.timestamp_millis() as f64 / 1000.0, "Database": target.database});
    for (k, v) in [
        ("ClusterIdentifier", target.cluster_identifier),
        ("WorkgroupName", target.workgroup_name),
        ("DbUser", target.db_user),
        ("SecretArn", target.secret_arn),
    ] {
        if let Some(v) = v {
            out[k] = json!(v);
        }
    }
    if let Some(sid) = session_id {
        out["SessionId"] = json!(sid);
    }
    Ok((out, wait))
}
