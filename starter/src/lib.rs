//! The `starter` Lambda: glue between the Lambda runtime and [`tasker_core::starter`].

use aws_config::SdkConfig;
use serde_json::Value;
use tasker_aws::{DynamoStateTable, RedshiftDataApi, SfnCallbacks};
use tasker_core::config::{ConfigError, Settings, Target};
use tasker_core::starter::{handle, Invocation, StarterConfig, StarterPorts};
use tasker_core::TaskerError;

/// The starter with its clients, built once per Lambda instance.
pub struct Starter {
    data: RedshiftDataApi,
    store: DynamoStateTable,
    callbacks: SfnCallbacks,
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
            data: RedshiftDataApi(aws_sdk_redshiftdata::Client::new(sdk)),
            store: DynamoStateTable::new(
                aws_sdk_dynamodb::Client::new(sdk),
                &config.settings.table_name,
            ),
            callbacks: SfnCallbacks::new(aws_sdk_sfn::Client::new(sdk)),
            config,
        }
    }

    /// Handles one invocation payload, under a fresh invocation id.
    pub async fn handle(&self, payload: &Value) -> Result<Value, TaskerError> {
        self.handle_invocation(payload, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// Handles one invocation payload; `request_id` (the Lambda request id) names the statement of a payload
    /// that does not identify its state entry.
    pub async fn handle_invocation(
        &self,
        payload: &Value,
        request_id: &str,
    ) -> Result<Value, TaskerError> {
        let ports = StarterPorts {
            data: &self.data,
            store: &self.store,
            callbacks: &self.callbacks,
        };
        let invocation = Invocation {
            now: chrono::Utc::now(),
            id: request_id,
        };
        handle(&ports, &self.config, payload, invocation).await
    }
}
