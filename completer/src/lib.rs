//! The `completer` Lambda: SQS batches of completion events (with partial batch failures) and the sweeper
//! schedule, glued to [`tasker_core::completer`].
//!
//! The typed entry point is [`Completer::run`] ([`CompleterInput`] to [`CompleterOutput`]); [`Completer::handle`]
//! decodes JSON into it and encodes the answer back; [`Function::invoke`] is that for the runtime, as for the
//! starter and the canceller.

mod input;

pub use input::{CompleterInput, CompleterOutput};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;
use tasker_aws::runtime::Function;
use tasker_aws::Clients;
use tasker_core::completer::{complete_event, CompleterPorts, Disposition};
use tasker_core::sweep::{sweep, SweepBudget};
use tasker_core::{parse_body, ConfigError, Message, Settings, TaskerError};
use tracing::{info, warn};

/// How long one sweep may examine records: the function's 30 s timeout less room for the last settle.
pub const SWEEP_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// The completer with its clients.
#[derive(Debug)]
pub struct Completer {
    clients: Clients,
    settings: Settings,
}

#[async_trait::async_trait]
impl Function for Completer {
    type Config = Settings;

    /// Reads the shared settings.
    fn config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(get)
    }

    fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        Completer {
            clients: Clients::from_sdk(sdk, &settings.table_name),
            settings,
        }
    }

    /// An SQS batch (`Records`) or the sweeper's schedule event (anything else); the request id is not needed.
    async fn invoke(&self, payload: &Value, _request_id: &str) -> Result<Value, TaskerError> {
        self.handle(payload).await
    }
}

impl Completer {
    fn ports(&self) -> CompleterPorts<'_> {
        CompleterPorts {
            data: &self.clients.data,
            store: &self.clients.store,
            locks: &self.clients.store,
            callbacks: &self.clients.callbacks,
        }
    }

    /// One invocation, JSON in and out: an SQS batch (`Records`) or the sweeper's schedule event (anything else).
    pub async fn handle(&self, payload: &Value) -> Result<Value, TaskerError> {
        let input = CompleterInput::decode(payload)?;
        self.run(input).await?.to_json()
    }

    /// One decoded invocation: settles a batch, or sweeps within [`SWEEP_BUDGET`].
    pub async fn run(&self, input: CompleterInput) -> Result<CompleterOutput, TaskerError> {
        match input {
            CompleterInput::Batch(event) => {
                Ok(CompleterOutput::Batch(self.handle_batch(event).await))
            }
            CompleterInput::Sweep => {
                let budget = SweepBudget {
                    until: Some(std::time::Instant::now() + SWEEP_BUDGET),
                    max_records: None,
                };
                let report =
                    sweep(&self.ports(), &self.settings, budget, chrono::Utc::now()).await?;
                Ok(CompleterOutput::Sweep(report))
            }
        }
    }

    /// Settles a batch concurrently; the messages that must come back are reported, their neighbours are not.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let outcomes =
            futures::future::join_all(event.records.iter().map(|m| self.handle_message(m))).await;
        let batch_item_failures = event
            .records
            .iter()
            .zip(outcomes)
            .filter(|(_, ok)| !ok)
            .map(|(m, _)| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = m.message_id.clone().unwrap_or_default();
                f
            })
            .collect();
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = batch_item_failures;
        response
    }

    /// `true` when the message may be deleted.
    async fn handle_message(&self, message: &SqsMessage) -> bool {
        let id = message.message_id.as_deref().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or_default();
        let change = match parse_body(body, &self.settings.prefix) {
            Ok(Message::Ours(change)) => change,
            Ok(Message::Foreign(why)) => {
                info!(decision = "foreign_event_deleted", message_id = %id, why = %why);
                return true;
            }
            Err(e) => {
                warn!(decision = "malformed_event_retried", message_id = %id, error = %e);
                return false;
            }
        };
        match complete_event(&self.ports(), &self.settings, &change, chrono::Utc::now()).await {
            Ok(Disposition::Busy) => false,
            Ok(_) => true,
            Err(e) => {
                warn!(decision = "event_retried", message_id = %id, statement_name = %change.statement_name, error = %e);
                false
            }
        }
    }
}
