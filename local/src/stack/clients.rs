//! SDK configurations and clients through the front: the tests' own (signed `test`) and the functions' (each
//! signing as itself under the one role).

use super::Stack;
use crate::names::{DATABASE, REGION};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::time::Duration;

/// The SDK configuration the tests' own clients use: all calls go to the front, signed as `test`.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    signed_as(endpoint, "test", None)
}

/// The IAM role all three functions run as (the template's `TaskerRole`): the Data API scopes a statement to the
/// identity that ran it, which redshift-local enforces by the access key id.
pub const ROLE: &str = "tasker-role";

/// The SDK configuration of one function: signed with the shared role's access key id (the identity the Data API
/// sees) and the function's name as the session token, so the front can tell which function made each call.
pub fn sdk_config_as(endpoint: &str, function: &str) -> SdkConfig {
    signed_as(endpoint, ROLE, Some(function))
}

/// An SDK configuration signed with `access_key` (and a session token, when given).
pub fn signed_as(endpoint: &str, access_key: &str, session: Option<&str>) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(
                access_key,
                "test",
                session.map(str::to_string),
                None,
                "local-stack",
            ),
        ))
        .build()
}

impl Stack {
    /// How many times a binary's sandbox was reset (an invocation cut off at its timeout while the process ran
    /// it); always 0 with in-process handlers.
    pub fn sandbox_resets(&self) -> u32 {
        self.functions.iter().map(|f| f.resets()).sum()
    }

    /// A Step Functions client through the front.
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    /// A DynamoDB client through the front.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// An SQS client through the front.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// An S3 client on the stack's moto (path-style, as the local S3 needs): what `COPY` reads and `UNLOAD` writes.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&signed_as(&self.moto.url(), "test", None))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Every row of a query read in PostgreSQL directly, each field as text ("NULL" for NULL): what a load left.
    pub async fn text_rows(&self, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let pg = self.sql().await?;
        Ok(pg
            .simple_query(sql)
            .await?
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// Every message of a queue, received and deleted until a one-second long poll comes back empty: what the
    /// tests read off the completion queue and its dead-letter queue.
    pub async fn drain_queue(&self, queue_url: &str) -> anyhow::Result<Vec<String>> {
        let sqs = self.sqs();
        let mut bodies = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await?;
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(bodies);
            }
            for m in messages {
                bodies.push(m.body().unwrap_or_default().to_string());
                if let Some(handle) = m.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
            }
        }
    }

    /// A Data API client straight to redshift-local.
    /// A Data API client signed as the functions' role, so it may read their statements (the Data API shows a
    /// statement only to the identity that ran it).
    pub fn redshift_data(&self) -> aws_sdk_redshiftdata::Client {
        aws_sdk_redshiftdata::Client::new(&signed_as(&self.redshift.url(), ROLE, Some("test")))
    }

    /// The state table's adapter, to read records as the code sees them.
    pub fn state_table(&self) -> tasker_aws::DynamoStateTable {
        tasker_aws::DynamoStateTable::new(self.dynamodb(), &self.table)
    }

    /// A PostgreSQL client on the database the statements run in, as the role they run as (no superuser), so that
    /// what it creates the statements may use, and the other way round.
    pub async fn sql(&self) -> anyhow::Result<tokio_postgres::Client> {
        let mut config = self.redshift.engine.statement_config().clone();
        config.dbname(DATABASE);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Sets how long redshift-local keeps a statement after it ended (24 hours by default, as the Data API), so a
    /// test sees statements expire.
    pub fn statement_retention(&self, retention: Duration) {
        self.redshift.engine.set_statement_retention(retention);
    }
}
