//! The `canceller` Lambda: glue between the Lambda runtime and [`tasker_core::canceller`]; a [`Function`] like the
//! starter and the completer.

use aws_config::SdkConfig;
use serde_json::Value;
use tasker_aws::runtime::Function;
use tasker_aws::Clients;
use tasker_core::canceller::{handle, CancellerPorts};
use tasker_core::{ConfigError, Settings, TaskerError};

/// The canceller with its clients.
#[derive(Debug)]
pub struct Canceller {
    clients: Clients,
}

#[async_trait::async_trait]
impl Function for Canceller {
    type Config = Settings;

    /// Reads the shared settings (it needs the table; the prefix is validated like everywhere).
    fn config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(get)
    }

    fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        Canceller {
            clients: Clients::from_sdk(sdk, &settings.table_name),
        }
    }

    /// A `cancelSlowQuery` state's payload; the request id is not needed.
    async fn invoke(&self, payload: &Value, _request_id: &str) -> Result<Value, TaskerError> {
        self.handle(payload).await
    }
}

impl Canceller {
    /// Handles one invocation payload.
    pub async fn handle(&self, payload: &Value) -> Result<Value, TaskerError> {
        let ports = CancellerPorts {
            data: &self.clients.data,
            store: &self.clients.store,
        };
        handle(&ports, payload, chrono::Utc::now()).await
    }
}
