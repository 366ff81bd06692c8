//! The whole local stack: the peers, the SAM template deployed on them (`deploy.rs`), the functions run as the
//! deployed stack would run them (configured from their deployed environment, invoked through the front by their
//! deployed ARNs, driven from the deployed event source mapping and schedule), and helpers that drive executions.
//!
//! One module a job: `options` (what a test may change), `start` (peers, deployment, functions), `clients` (SDK
//! configurations and clients through the front), `executions` (state machines run to their end), `poller` (the
//! SQS event source mapping), `data_api` (statements and records, straight on the peers).

mod clients;
mod data_api;
mod executions;
mod options;
mod poller;
mod start;

pub use crate::names::{ACCOUNT, CLUSTER, DATABASE, DB_USER, REGION};
pub use clients::{sdk_config, sdk_config_as, signed_as, ROLE};
pub use data_api::{execute_on_cluster, run_finished, run_statement, statement_end};
pub use executions::Execution;
pub use options::StackOptions;

use crate::deploy::Deployment;
use crate::front::{Front, Handler};
use crate::moto::Moto;
use crate::postgres::Postgres;
use aws_config::SdkConfig;
use std::sync::Arc;
use std::time::Duration;
use tasker_core::{Settings, Target};

/// A running local stack. Field order is drop order: the poller and front stop before the servers.
pub struct Stack {
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The binaries' processes, when the stack runs them: held so that they stop with the stack.
    functions: Vec<crate::runtime_api::Function>,
    /// What the SQS poller and the sweeper invoke: the completer, in-process or its binary.
    completer_handler: Handler,
    batching_window: Duration,
    /// How many batches the event source mapping works on at once ([`StackOptions::pollers`]).
    pollers: usize,
    /// The endpoint every client uses (and its call log and faults).
    pub front: Front,
    /// The local Data API.
    pub redshift: redshift_local::Server,
    /// The moto server behind the front.
    pub moto: Moto,
    /// The PostgreSQL cluster the statements run on.
    pub postgres: Postgres,
    /// The tests' own client configuration (through the front, signed as `test`).
    pub sdk: SdkConfig,
    /// The functions' settings, read from their deployed environment.
    pub settings: Settings,
    /// The starter's target, read from its deployed environment.
    pub target: Target,
    /// The deployed state table's name.
    pub table: String,
    /// The queue the deployed event source mapping polls.
    pub queue_url: String,
    /// The deployed dead-letter queue.
    pub dlq_url: String,
    /// The in-process starter (what the front runs unless `binaries` is set).
    pub starter: Arc<starter::Starter>,
    /// The in-process completer.
    pub completer: Arc<completer::Completer>,
    /// The in-process canceller.
    pub canceller: Arc<canceller::Canceller>,
    /// The deployed template: its outputs, resources and wiring.
    pub deployment: Deployment,
}

impl std::fmt::Debug for Stack {
    /// Its endpoint and what it deployed; the handlers and background tasks are not printable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("front", &self.front)
            .field("table", &self.table)
            .field("queue_url", &self.queue_url)
            .field("dlq_url", &self.dlq_url)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
    }
}
