//! The `canceller` Lambda: glue between the Lambda runtime and [`tasker_core::canceller`].

use aws_config::SdkConfig;
use serde_json::Value;
use tasker_aws::Clients;
use tasker_core::canceller::{handle, CancellerPorts};
use tasker_core::config::{ConfigError, Settings};
use tasker_core::TaskerError;

/// The canceller with its clients.
pub struct Canceller {
    clients: Clients,
}

impl Canceller {
    /// Reads the shared settings (it needs the table; the prefix is validated like everywhere).
    pub fn config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(get)
    }

    /// Builds the clients from one SDK configuration.
    pub fn new(sdk: &SdkConfig, settings: &Settings) -> Self {
        Canceller {
            clients: Clients::from_sdk(sdk, &settings.table_name),
        }
    }

    /// Handles one invocation payload.
    pub async fn handle(&self, payload: &Value) -> Result<Value, TaskerError> {
        let ports = CancellerPorts {
            data: &self.clients.data,
            store: &self.clients.store,
        };
        handle(&ports, payload, chrono::Utc::now()).await
    }
}
