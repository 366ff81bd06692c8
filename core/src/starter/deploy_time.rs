//! Deploy-time SQL: a CloudFormation custom resource's request run as a statement whose callback is its
//! `ResponseURL`, answered exactly once.

use super::execute::execute;
use super::{StarterConfig, StarterPorts};
use crate::custom_resource::{self};
use crate::error::TaskerError;
use crate::invocation::Invocation;
use crate::invocation::StarterOutput;
use crate::naming::{statement_name, EntryKey};
use crate::payload::{self, ExecuteRequest};
use serde_json::json;
use tracing::info;

/// A CloudFormation custom-resource request: its SQL runs as a statement whose callback is the `ResponseURL`; a
/// request type without SQL, and the rollback Delete of a failed Create, are answered at once (CloudFormation would
/// otherwise wait an hour for an answer).
///
/// Exactly one answer per request: an error after the record is written is returned, never answered here, so
/// Lambda retries the event (same `RequestId`, same statement), and the completer or the sweeper answers once the
/// statement ends, or `FAILED` (with the failed-Create marker) once the sweeper finds that it never started.
pub(super) async fn deploy_time_sql(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    request: custom_resource::CustomResourceRequest,
    invocation: Invocation<'_>,
) -> Result<StarterOutput, TaskerError> {
    let callback = request.callback.clone();
    let rollback = request.request_type == "Delete"
        && custom_resource::is_failed_create(callback.physical_resource_id.as_deref());
    let Some(sql) = request.sql.clone().filter(|_| !rollback) else {
        // Nothing to run: the physical id is the one given, or a name of this deployment on create.
        let name = statement_name(
            &config.settings.prefix,
            &EntryKey::for_start(
                Some(&callback.stack_id),
                Some(&callback.logical_resource_id),
                Some(&callback.request_id),
                "no-sql",
                None,
                invocation.id,
            ),
        );
        let body = callback.response(true, "", &name, json!({}));
        ports
            .callbacks
            .respond(&callback.response_url, &body)
            .await
            .map_err(|e| TaskerError::Callback(e.to_string()))?;
        info!(decision = "custom_resource_without_sql", request_type = %request.request_type, rollback);
        return Ok(StarterOutput::Answered {
            answered: "SUCCESS",
        });
    };
    let execute_request = ExecuteRequest {
        task_token: Some(callback.to_token()),
        execution_arn: Some(callback.stack_id.clone()),
        sql,
        parameters: Default::default(),
        state_name: Some(callback.logical_resource_id.clone()),
        // CloudFormation keeps the RequestId on its retries of one request: the key of exactly-once.
        state_entered_time: Some(callback.request_id.clone()),
        result_rows: 0,
        result_max_bytes: payload::DEFAULT_RESULT_MAX_BYTES,
        singleton: false,
        wait_seconds: None,
        session: Default::default(),
    };
    // Any error may hide a statement that started, or one a retry of this invocation starts: the error goes back
    // to Lambda, which retries the event, and the completer or the sweeper answers (FAILED once the sweeper finds
    // that nothing started; a request that old is never started again).
    let started = execute(ports, config, &execute_request, invocation).await?;
    Ok(StarterOutput::Started(started))
}
