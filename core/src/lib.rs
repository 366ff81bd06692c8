//! Domain of sfn-redshift-tasker.
//!
//! Everything that decides something lives here, free of AWS SDK types, so that it can be unit-tested with
//! mocks of the [`ports`] and reused by the three Lambda binaries:
//!
//! - [`payload`] parses and validates what a Step Functions state sends to the starter (seed-compatible).
//! - [`naming`] derives the deterministic statement name that makes a retried start idempotent.
//! - [`record`] is the state-table record and its lifecycle.
//! - [`event`] parses the Data API's completion event out of its EventBridge/SQS envelope.
//! - [`outcome`] maps a finished statement to the Step Functions callback (docs/design.md, "Task output").
//! - [`starter`], [`completer`], [`sweep`] and [`canceller`] are the use cases, written against the [`ports`];
//!   [`invocation`] types the starter's input and output.
//! - [`custom_resource`] lets CloudFormation run SQL at deploy time through the same protocol.
//! - [`metrics`] names what they count (CloudWatch embedded metrics, written by the binaries).
//!
//! # Layers
//!
//! A module imports only from layers below its own, so there is no import circle: shared types live in the low
//! layer that owns them ([`error`] for every error, [`statement`] for the SQL, its target and the Data API's
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

pub mod canceller;
pub mod completer;
pub mod config;
pub mod custom_resource;
pub mod error;
pub mod event;
pub mod invocation;
pub mod metrics;
pub mod naming;
pub mod outcome;
pub mod payload;
pub mod ports;
pub mod record;
pub mod starter;
pub mod statement;
pub mod sweep;

pub use error::TaskerError;

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod use_case_tests;
