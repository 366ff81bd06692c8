//! The `starter` Lambda: glue between the Lambda runtime and [`tasker_core::starter`].
//!
//! Like the completer and the canceller, a [`Function`]: `config`, `new`, and `invoke` (JSON in and out), which
//! [`tasker_aws::runtime::serve`] runs. The typed steps are [`Starter::decode`] (the payload to a
//! [`StarterInput`], with the `InvalidInput` mapping that names a field and never echoes a value) and
//! [`Starter::run`] (a [`StarterInput`] to a [`StarterOutput`]); [`Starter::handle`] is `invoke` under a fresh
//! request id, for in-process callers.

use aws_config::SdkConfig;
use serde_json::Value;
use tasker_aws::runtime::Function;
use tasker_aws::Clients;
use tasker_core::starter::{decode, run, Invocation, StarterConfig, StarterPorts};
use tasker_core::{ConfigError, Settings, StarterInput, StarterOutput, Target, TaskerError};

/// The starter with its clients, built once per Lambda instance.
#[derive(Debug)]
pub struct Starter {
    clients: Clients,
    config: StarterConfig,
}

#[async_trait::async_trait]
impl Function for Starter {
    type Config = StarterConfig;

    /// Reads `TABLE_NAME`, `STATEMENT_PREFIX`, `RECORD_TTL_DAYS`, `SWEEP_GRACE_SECONDS`, `FAST_PATH_SECONDS` and the
    /// target variables.
    fn config(get: impl Fn(&str) -> Option<String>) -> Result<StarterConfig, ConfigError> {
        Ok(StarterConfig {
            settings: Settings::from_lookup(&get)?,
            target: Target::from_lookup(&get)?,
            fast_path_seconds: tasker_core::fast_path_seconds(&get)?,
        })
    }

    fn new(sdk: &SdkConfig, config: StarterConfig) -> Self {
        Starter {
            clients: Clients::from_sdk(sdk, &config.settings.table_name),
            config,
        }
    }

    async fn invoke(&self, payload: &Value, request_id: &str) -> Result<Value, TaskerError> {
        let input = self.decode(payload).await?;
        self.run(input, request_id)
            .await
            .map(|output| output.to_json())
    }
}

impl Starter {
    fn ports(&self) -> StarterPorts<'_> {
        StarterPorts {
            data: &self.clients.data,
            store: &self.clients.store,
            locks: &self.clients.store,
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
        self.invoke(payload, &uuid::Uuid::new_v4().to_string())
            .await
    }
}
