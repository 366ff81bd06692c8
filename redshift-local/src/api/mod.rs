//! The Data API's wire protocol: `POST /` with `X-Amz-Target: RedshiftData.<Operation>` and an
//! `application/x-amz-json-1.1` body, routed to the engine or the catalog; [`crate::wire`] shapes the replies and
//! errors as the service model says. A bad request gets a `ValidationException` naming the field and never stops
//! the server.

mod checks;
mod execute;
mod listings;

use crate::engine::{Description, Engine, ResultFormat};
use crate::error::ApiError;
use crate::wire;
use crate::EventFaults;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use checks::{check_id, wait_seconds};
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
            "MissingAuthenticationTokenException" => StatusCode::FORBIDDEN,
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
    // AWS authenticates a request before it reads its operation.
    let caller = match Caller::of(&headers) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
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
            match execute::execute(
                &engine,
                &body,
                operation == "BatchExecuteStatement",
                &caller,
            ) {
                Ok((submitted, target, wait)) => {
                    let waited = match wait {
                        Some(seconds) => {
                            wait_for_end(&engine, &submitted.id, seconds, &caller.key).await
                        }
                        None => None,
                    };
                    Ok(wire::submitted(&submitted, &target, waited.as_ref()))
                }
                Err(e) => Err(e),
            }
        }
        "DescribeStatement" => match id_request(&engine, &body, &caller.key).await {
            Ok(r) => engine
                .describe(&r.id, &caller.key)
                .map(|d| wire::description(&d)),
            Err(e) => Err(e),
        },
        "GetStatementResult" => match id_request(&engine, &body, &caller.key).await {
            Ok(r) => engine
                .result(
                    &r.id,
                    r.next_token.as_deref(),
                    &caller.key,
                    ResultFormat::Json,
                )
                .map(|page| wire::result_page(&page)),
            Err(e) => Err(e),
        },
        "GetStatementResultV2" => match id_request(&engine, &body, &caller.key).await {
            Ok(r) => engine
                .result(
                    &r.id,
                    r.next_token.as_deref(),
                    &caller.key,
                    ResultFormat::Csv,
                )
                .map(|page| wire::result_page_csv(&page)),
            Err(e) => Err(e),
        },
        "ListSessions" => listings::list_sessions(&engine, &body, &caller.key),
        "ListDatabases" | "ListSchemas" | "ListTables" | "DescribeTable" => {
            listings::catalog_operation(&engine, operation, &body).await
        }
        "CancelStatement" => {
            match decode::<IdRequest>(&body).and_then(|r| check_id(&r.id).map(|_| r)) {
                Ok(r) => engine
                    .cancel(&r.id, &caller.key)
                    .await
                    .map(|()| wire::cancelled()),
                Err(e) => Err(e),
            }
        }
        "ListStatements" => listings::list_statements(&engine, &body, &caller),
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

/// Decodes a request body; a field of the wrong shape is a `ValidationException` naming its path.
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

/// Who is calling, read from the request's SigV4 signature (the signature itself is not verified).
pub(crate) struct Caller {
    /// The access key id of the signature: one per IAM identity (role) here. The Data API scopes a statement to
    /// the identity that ran it.
    pub(crate) key: String,
    /// The session token (`X-Amz-Security-Token`), if any: one per IAM session of the role here, what
    /// `ListStatements` with `RoleLevel` false narrows to.
    pub(crate) session: Option<String>,
}

impl Caller {
    /// The caller of a request; an unsigned one is refused as AWS refuses it (`MissingAuthenticationToken`), an
    /// `Authorization` header that is not a SigV4 signature naming its credential as `IncompleteSignature`.
    fn of(headers: &HeaderMap) -> Result<Caller, ApiError> {
        let auth = headers
            .get("authorization")
            .ok_or_else(ApiError::missing_authentication_token)?
            .to_str()
            .map_err(|_| ApiError::incomplete_signature())?;
        let key = auth
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .and_then(|rest| rest.split("Credential=").nth(1))
            .and_then(|credential| credential.split('/').next())
            .filter(|key| !key.is_empty())
            .ok_or_else(ApiError::incomplete_signature)?;
        let session = headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Caller {
            key: key.to_string(),
            session,
        })
    }
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
