//! The starter use case: record the state entry, start its SQL exactly once, and answer the seed's
//! request-response actions.
//!
//! Order matters for "exactly once" and "nothing lost": the record is written (conditionally) before the
//! statement starts, and the statement starts with its name as `ClientToken`, so any retry, whatever step the
//! previous attempt died at, converges on the same statement.
//!
//! The jobs, one module each: `execute` runs a state entry's SQL once (record, start, restart, adopt, the
//! fast path); `lock` holds the singleton lock; `actions` answers the seed's request-response actions
//! (`describeStatement`, `getStatementResult`, `cancelStatement`); `deploy_time` runs a CloudFormation custom
//! resource's SQL. This module decodes an invocation and routes it.

mod actions;
mod deploy_time;
mod execute;
mod lock;

use crate::config::Settings;
use crate::custom_resource::{self};
use crate::error::TaskerError;
use crate::invocation::{StarterInput, StarterOutput};
use crate::metrics;
use crate::payload::{self, StarterRequest, MAX_RESULT_MAX_BYTES};
use crate::ports::{DataApi, SingletonLocks, StateStore, TaskCallbacks};
use crate::statement::Target;
use serde_json::{json, Value};
use tracing::{info, warn};

pub use crate::invocation::Invocation;
/// Parses and validates what a state sends (seed-compatible); [`decode`] runs it on a whole invocation.
pub use crate::payload::parse;

use actions::{get_result, resolve, resolve_record};
use deploy_time::deploy_time_sql;

/// What the starter talks to.
pub struct StarterPorts<'a> {
    /// Starts, describes, reads and cancels statements.
    pub data: &'a dyn DataApi,
    /// Records the state entry before the SQL starts, so a retry finds it.
    pub store: &'a dyn StateStore,
    /// The singleton locks of `singleton: true` starts.
    pub locks: &'a dyn SingletonLocks,
    /// Answers a task at once when the statement already ended (retries and the fast path).
    pub callbacks: &'a dyn TaskCallbacks,
}

impl std::fmt::Debug for StarterPorts<'_> {
    /// The ports are trait objects: only the type is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StarterPorts").finish_non_exhaustive()
    }
}

/// The starter's configuration: the shared settings and the one target it may run SQL on.
#[derive(Debug, Clone)]
pub struct StarterConfig {
    /// The table, the prefix and the TTLs every function shares.
    pub settings: Settings,
    /// The only database this deployment may run SQL on.
    pub target: Target,
    /// `FAST_PATH_SECONDS`: the `waitSeconds` of a payload that gives none (0: no fast path).
    pub fast_path_seconds: u32,
}

/// Handles one invocation of the starter, JSON in and out: [`decode`], then [`run`].
pub async fn handle(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    payload: &Value,
    invocation: Invocation<'_>,
) -> Result<Value, TaskerError> {
    let input = decode(ports, payload).await?;
    run(ports, config, input, invocation)
        .await
        .map(|output| output.to_json())
}

/// Decodes and validates a payload. A refusal is `InvalidInput` naming the field, never its value; it is counted,
/// logged, and, for a custom-resource request that says where, answered `FAILED` at once (CloudFormation shows
/// the reason instead of waiting an hour).
pub async fn decode(
    ports: &StarterPorts<'_>,
    payload: &Value,
) -> Result<StarterInput, TaskerError> {
    if !custom_resource::is_request(payload) {
        return payload::parse(payload)
            .map(StarterInput::Request)
            .inspect_err(|e| {
                metrics::refused();
                warn!(decision = "rejected", error = %e, "invalid input")
            });
    }
    let request = custom_resource::parse(payload).inspect_err(|e| {
        metrics::refused();
        warn!(decision = "rejected", error = %e, "invalid custom-resource request");
    });
    match request {
        Ok(r) => Ok(StarterInput::CustomResource(r)),
        Err(e) => {
            // Answer if the request says where; CloudFormation shows the reason.
            let raw: Option<custom_resource::CustomResourceCallback> =
                serde_json::from_value(payload.clone()).ok();
            if let Some(cfn) =
                raw.filter(|c| custom_resource::is_cloudformation_response_url(&c.response_url))
            {
                let body = cfn.response(false, &e.to_string(), "invalid-request", json!({}));
                let _ = ports.callbacks.respond(&cfn.response_url, &body).await;
            }
            Err(e)
        }
    }
}

/// Runs one decoded invocation.
pub async fn run(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    input: StarterInput,
    invocation: Invocation<'_>,
) -> Result<StarterOutput, TaskerError> {
    let request = match input {
        StarterInput::CustomResource(request) => {
            return deploy_time_sql(ports, config, request, invocation).await
        }
        StarterInput::Request(request) => request,
    };
    match request {
        StarterRequest::Execute(req) => execute::execute(ports, config, &req, invocation)
            .await
            .map(StarterOutput::Started),
        StarterRequest::Describe(r) => {
            let id = resolve(ports.store, &r).await?;
            let d = ports
                .data
                .describe(&id)
                .await
                .map_err(TaskerError::data_api)?;
            info!(decision = "described", statement_id = %id, status = d.status.as_str());
            Ok(StarterOutput::DataApi(
                d.to_data_api_json_within(MAX_RESULT_MAX_BYTES as usize),
            ))
        }
        StarterRequest::GetResult(r) => get_result(ports, &r).await.map(StarterOutput::DataApi),
        StarterRequest::Cancel(r) => {
            let (id, record) = resolve_record(ports.store, &r).await?;
            let status = ports
                .data
                .cancel(&id)
                .await
                .map_err(TaskerError::data_api)?;
            // Settling is left to the ABORTED event (or the sweeper), as for the canceller.
            if let Some(record) = record.filter(|r| !r.status.is_settled()) {
                ports
                    .store
                    .mark_cancel_requested(&record.statement_name, invocation.now)
                    .await
                    .map_err(TaskerError::state_table)?;
            }
            metrics::cancelled();
            info!(decision = "cancel_requested", statement_id = %id, status);
            Ok(StarterOutput::DataApi(json!({"Status": status})))
        }
    }
}
