//! The `starter` Lambda: glue between the Lambda runtime and [`tasker_core::starter`].
//!
//! The typed entry points are [`Starter::decode`] (the payload to a [`StarterInput`], with the `InvalidInput`
//! mapping that names a field and never echoes a value) and [`Starter::run`] (a [`StarterInput`] to a
//! [`StarterOutput`]); [`Starter::handle`] and [`Starter::handle_invocation`] chain them for JSON callers.

use aws_config::SdkConfig;
use serde_json::Value;
use tasker_aws::Clients;
use tasker_core::config::{ConfigError, Settings, Target};
use tasker_core::invocation::{StarterInput, StarterOutput};
use tasker_core::starter::{decode, run, Invocation, StarterConfig, StarterPorts};
use tasker_core::TaskerError;

/// The starter with its clients, built once per Lambda instance.
pub struct Starter {
    clients: Clients,
    config: StarterConfig,
}

impl Starter {
    /// Reads `TABLE_NAME`, `STATEMENT_PREFIX`, `RECORD_TTL_DAYS`, `SWEEP_GRACE_SECONDS`, `FAST_PATH_SECONDS` and the
    /// target variables.
    pub fn config(get: impl Fn(&str) -> Option<String>) -> Result<StarterConfig, ConfigError> {
        Ok(StarterConfig {
            settings: Settings::from_lookup(&get)?,
            target: Target::from_lookup(&get)?,
            fast_path_seconds: tasker_core::config::fast_path_seconds(&get)?,
        })
    }

    /// Builds the clients from one SDK configuration.
    pub fn new(sdk: &SdkConfig, config: StarterConfig) -> Self {
        Starter {
            clients: Clients::from_sdk(sdk, &config.settings.table_name),
            config,
        }
    }

    fn ports(&self) -> StarterPorts<'_> {
        StarterPorts {
            data: &self.clients.data,
            store: &self.clients.store,
            callbacks: &self.clients.callbacks,
        }
    }

    /// Decodes a payload into one of the starter's invocation forms; a refused custom-resource request is
    /// answered `FAILED` on the way (see [`tasker_core::starter::decode`]).
    pub async fn decode(&self, payload: &Value) -> Result<StarterInput, TaskerError> {
        decode(&self.ports(), payload).await
    }

    /// Runs one decoded invocation; `request_id` (the Lambda request id) names the statement of a payload that
    /// does not identify its state entry.
    pub async fn run(
        &self,
        input: StarterInput,
        request_id: &str,
    ) -> Result<StarterOutput, TaskerError> {
        let invocation = Invocation {
            now: chrono::Utc::now(),
            id: request_id,
        };
        run(&self.ports(), &self.config, input, invocation).await
    }

    /// Handles one invocation payload, under a fresh invocation id.
    pub async fn handle(&self, payload: &Value) -> Result<Value, TaskerError> {
        self.handle_invocation(payload, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// Handles one invocation payload, JSON in and out; `request_id` as in [`Starter::run`].
    pub async fn handle_invocation(
        &self,
        payload: &Value,
        request_id: &str,
    ) -> Result<Value, TaskerError> {
        let input = self.decode(payload).await?;
        self.run(input, request_id)
            .await
            .map(|output| output.to_json())
    }
}
