//! A local Redshift Data API over PostgreSQL.
//!
//! Serves the Data API's JSON protocol (`POST /`, `X-Amz-Target: RedshiftData.<Operation>`) exactly as
//! `aws-sdk-redshiftdata` and boto3 parse it, and runs every statement for real on PostgreSQL, on its own
//! connection, in the background: real errors, real `pg_sleep`, real cancellation. With `WithEvent` it puts the
//! completion event on an EventBridge endpoint (the local moto server), optionally dropping, delaying or
//! duplicating it to exercise the sweeper and de-duplication.
//!
//! - `api` decodes requests and routes them (`api::checks` the field checks, `api::execute` the executes,
//!   `api::listings` the listing operations); `wire` shapes the typed answers and errors as the
//!   Data API's JSON (`wire::csv` the `CSVRecords` of `GetStatementResultV2`).
//! - `records` is the result rows as the Data API's `Records` and their `ResultSize`, shared by `wire` and
//!   `engine` so that `engine` never depends on `wire`.
//! - `engine` keeps statements and runs their lifecycle (`engine::request` what a statement asks for,
//!   `engine::run` one statement on PostgreSQL, `engine::sessions` the connections statements share),
//!   answering typed views (`engine::view`).
//! - `catalog` answers the catalog operations from PostgreSQL's catalogs, as typed rows.
//! - `paging` reads `MaxResults`/`NextToken` and hands pages back; `error` is the Data API's errors.
//! - `values` binds named parameters and types result values (`Field`s and `ColumnMetadata`).
//! - `dialect` translates Redshift's SQL to PostgreSQL's.
//! - `events` emits completion events, with faults.
//! - `copy` runs Redshift's `COPY` from S3 and `UNLOAD` to S3 against the local S3.
//! - `sql_role` sets up the PostgreSQL role statements run as, never a superuser.
//!
//! Also served, for tests and the bench: `GET /_local/stats` (calls and events counted) and
//! `POST /_local/faults` (the event fault setting).

mod api;
mod catalog;
mod copy;
mod dialect;
mod engine;
mod error;
mod events;
mod paging;
mod records;
mod sql_role;
mod values;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub use engine::{Engine, DEFAULT_STATEMENT_RETENTION};
pub use events::EventFaults;

/// How the local Data API is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// PostgreSQL to run statements on; the request's `Database` picks the database.
    pub postgres: tokio_postgres::Config,
    /// Where `WithEvent` events go (an EventBridge endpoint such as the moto server); `None` sends none.
    pub eventbridge_endpoint: Option<String>,
    /// Where `COPY ... FROM 's3://...'` reads and `UNLOAD` writes (an S3 endpoint such as the moto server, addressed
    /// path-style); `None` fails those statements.
    pub s3_endpoint: Option<String>,
    /// The region the events are put in (and the S3 client's).
    pub region: String,
    /// Rows per `GetStatementResult` page (the real service pages by size; a small value exercises paging).
    pub page_rows: usize,
    /// Initial event fault setting.
    pub faults: EventFaults,
    /// How long a statement is kept after it ended ([`DEFAULT_STATEMENT_RETENTION`], the Data API's 24 hours,
    /// unless a test shortens it); then it is answered as expired.
    pub statement_retention: std::time::Duration,
}

/// A running server: where it listens, and its engine for the test controls the stack drives directly.
#[derive(Debug)]
pub struct Server {
    /// Where it listens (the port picked when the listener asked for port 0).
    pub addr: SocketAddr,
    /// The statements and counters, shared with the routes; tests change the event faults through it.
    pub engine: Arc<engine::Engine>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_REDSHIFT_DATA`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts serving on `listener` in the background of the current tokio runtime. `options.postgres` must be up:
/// when its user is a superuser, the role statements run as is created now (see `sql_role`).
pub async fn serve(listener: TcpListener, options: Options) -> anyhow::Result<Server> {
    let addr = listener.local_addr()?;
    let statement_config = sql_role::statement_config(&options.postgres).await?;
    let events = events::EventSender::new(
        options.eventbridge_endpoint.clone(),
        &options.region,
        options.faults.clone(),
    )
    .await;
    let engine = Arc::new(engine::Engine::new(options, statement_config, events));
    let app = api::router(engine.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "redshift-local stopped");
        }
    });
    Ok(Server { addr, engine, task })
}

/// The SDK configuration redshift-local's own clients use towards the local stack's services (EventBridge for
/// the completion events, S3 for `COPY`/`UNLOAD`): `endpoint`, `region` and the local stack's fixed credentials.
pub(crate) fn local_sdk_config(endpoint: &str, region: &str) -> aws_types::SdkConfig {
    use aws_types::region::Region;
    aws_types::SdkConfig::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "redshift-local",
                ),
            ),
        )
        .build()
}
