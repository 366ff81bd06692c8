//! Step Functions task callbacks.

use crate::errors::port_error;
use async_trait::async_trait;
use tasker_core::ports::{PortError, TaskCallbacks};

/// `SendTaskSuccess` / `SendTaskFailure` through the SDK.
pub struct SfnCallbacks(pub aws_sdk_sfn::Client);

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError> {
        self.0
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .map(|_| ())
            .map_err(port_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.0
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(port_error)
    }
}
