//! The SDK clients of the three Lambdas, built in one place so that each binary (and the tests' in-process stack)
//! gets the same adapters from one SDK configuration.

use crate::{DynamoStateTable, RedshiftDataApi, SfnCallbacks};
use aws_config::SdkConfig;

/// Every adapter a Lambda may talk to; built once per Lambda instance, so the connections are reused across
/// invocations.
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
        Clients {
            data: RedshiftDataApi(aws_sdk_redshiftdata::Client::new(sdk)),
            store: DynamoStateTable::new(aws_sdk_dynamodb::Client::new(sdk), table_name),
            callbacks: SfnCallbacks::new(aws_sdk_sfn::Client::new(sdk)),
        }
    }
}
