//! Domain of sfn-redshift-tasker.
//!
//! Everything that decides something lives here, free of AWS SDK types, so that it can be unit-tested with
//! mocks of the ports ([`DataApi`], [`StateStore`], [`SingletonLocks`], [`TaskCallbacks`]) and reused by the
//! three Lambda binaries. The use cases are public modules; everything they share is re-exported at the root:
//!
//! - [`starter`], [`completer`], [`sweep`] and [`canceller`] are the use cases, written against the ports;
//!   [`starter::parse`] validates what a Step Functions state sends (seed-compatible), [`StarterInput`] and
//!   [`StarterOutput`] type the invocation.
//! - [`custom_resource`] lets CloudFormation run SQL at deploy time through the same protocol.
//! - [`metrics`] names what they count (CloudWatch embedded metrics, written by the binaries).
//! - [`statement_name`] derives the deterministic name that makes a retried start idempotent.
//! - [`StatementRecord`] is the state-table record and its lifecycle.
//! - [`parse_body`] reads the Data API's completion event out of its EventBridge/SQS envelope.
//! - [`Callback`] is what a finished statement becomes for Step Functions (docs/design.md, "Task output").
//!
//! # Layers
//!
//! A module imports only from layers below its own, so there is no import circle: shared types live in the low
//! layer that owns them (`error` for every error, `statement` for the SQL, its target and the Data API's
//! limits), not in the module that happens to parse them. The `layer_tests` unit test reads the module files and
//! fails if an import goes sideways or up, so this drawing stays true.
//!
//! ```text
//! 5  starter  sweep
//! 4  completer  canceller
//! 3  config  event  outcome  invocation
//! 2  naming  payload  custom_resource  ports  metrics
//! 1  statement
//! 0  error  record
//! ```

// The use cases are namespaces: each has its own `parse`, `handle` or `run`, named for what it does.
pub mod canceller;
pub mod completer;
pub mod custom_resource;
pub mod metrics;
pub mod starter;
pub mod sweep;

// The layers below them are private: what the binaries, `tasker-aws`, `tasker-local` and the tests need is
// re-exported here, one flat facade (as ripgrep's crates do), so a module can be split or renamed without
// touching its callers.
mod config;
mod error;
mod event;
mod invocation;
mod naming;
mod outcome;
mod payload;
mod ports;
mod record;
mod statement;

pub use config::{fast_path_seconds, Settings};
pub use error::{ConfigError, FaultKind, PortError, TaskerError};
pub use event::{
    parse_body, MalformedEvent, Message, StatusChange, EVENT_DETAIL_TYPE, EVENT_SOURCE,
};
pub use invocation::{Started, StarterInput, StarterOutput};
pub use naming::{sql_digest, statement_name, EntryKey, StatementPrefix};
pub use outcome::{success_output, Callback, Finished, MAX_CAUSE_CHARS};
pub use payload::{ExecuteRequest, StarterRequest, StatementRef, DEFAULT_RESULT_MAX_BYTES};
pub use ports::{
    Claim, Claimant, Created, DataApi, Lock, LockSteal, Settled, SingletonLocks, StateStore,
    TaskCallbacks, UnsettledPage,
};
pub use record::{RecordStatus, Settlement, StatementRecord};
pub use statement::{
    ClusterAuth, Column, DataApiStatus, Description, Ending, ExecuteCall, Executed, Field,
    ResultPage, Session, SqlText, Target, MAX_SQL_BYTES,
};

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod use_case_tests;
