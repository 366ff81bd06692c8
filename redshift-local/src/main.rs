//! `redshift-local`: serve the local Redshift Data API until Ctrl-C; prints its URL on the first line.

use clap::Parser;
use redshift_local::{serve, EventFaults, Options};
use std::str::FromStr;

/// A local Redshift Data API over PostgreSQL (a test peer, never deployed).
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// PostgreSQL connection string, e.g. "host=127.0.0.1 port=5432 user=postgres".
    #[arg(long, env = "REDSHIFT_LOCAL_POSTGRES")]
    postgres: String,
    /// EventBridge endpoint for `WithEvent` events (the moto server); none: no events.
    #[arg(long, env = "REDSHIFT_LOCAL_EVENTBRIDGE")]
    eventbridge: Option<String>,
    /// S3 endpoint for COPY and UNLOAD (the moto server); none: those statements fail.
    #[arg(long, env = "REDSHIFT_LOCAL_S3")]
    s3_endpoint: Option<String>,
    /// Region of the events.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Rows per GetStatementResult page.
    #[arg(long, default_value_t = 1000)]
    page_rows: usize,
    /// Event faults, e.g. "drop=0.1,duplicate=0.1,delay_ms=200,drop_next=1".
    #[arg(long, default_value = "")]
    event_faults: String,
    /// Seconds a statement is kept after it ended, then answered as expired (the Data API keeps it 24 hours).
    #[arg(long, env = "REDSHIFT_LOCAL_STATEMENT_RETENTION_SECONDS", default_value_t = 24 * 3600)]
    statement_retention_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let options = Options {
        postgres: tokio_postgres::Config::from_str(&args.postgres)?,
        eventbridge_endpoint: args.eventbridge,
        s3_endpoint: args.s3_endpoint,
        region: args.region,
        page_rows: args.page_rows.max(1),
        faults: EventFaults::parse(&args.event_faults).map_err(anyhow::Error::msg)?,
        statement_retention: std::time::Duration::from_secs(args.statement_retention_seconds),
    };
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let server = serve(listener, options).await?;
    println!("{}", server.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
