//! The SDK clients of the three Lambdas, built in one place so that each binary (and the tests' in-process stack)
//! gets the same adapters from one SDK configuration.

use crate::{DynamoStateTable, RedshiftDataApi, SfnCallbacks};
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use std::time::Duration;

/// Every SDK call's limits: a call that hangs must not eat a sweep's 20-second budget (or the 30-second Lambda):
/// at most 10 s with its retries (5 s an attempt), so a stalled call ends well before the function's timeout. An
/// `ExecuteStatement` that waits (`WaitTimeSeconds`) gets its wait on top (`RedshiftDataApi`).
pub fn call_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(10))
        .build()
}

/// Every adapter a Lambda may talk to; built once per Lambda instance, so the connections are reused across
/// invocations.
#[derive(Debug)]
pub struct Clients {
    /// Starts, describes, reads and cancels statements.
    pub data: RedshiftDataApi,
    /// The deployment's state table.
    pub store: DynamoStateTable,
    /// Answers Step Functions tasks and CloudFormation custom resources.
    pub callbacks: SfnCallbacks,
}

impl Clients {
    /// The Data API, DynamoDB and Step Functions clients from one SDK configuration (region, credentials and
    /// `AWS_ENDPOINT_URL*`), the state table adapter bound to `table_name`.
    pub fn from_sdk(sdk: &SdkConfig, table_name: &str) -> Self {
        let sdk = sdk.to_builder().timeout_config(call_timeouts()).build();
        Clients {
            data: RedshiftDataApi(aws_sdk_redshiftdata::Client::new(&sdk)),
            store: DynamoStateTable::new(aws_sdk_dynamodb::Client::new(&sdk), table_name),
            callbacks: SfnCallbacks::new(aws_sdk_sfn::Client::new(&sdk)),
        }
    }
}
