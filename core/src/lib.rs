//! Domain of sfn-redshift-tasker.
//!
//! Everything that decides something lives here, free of AWS SDK types, so that it can be unit-tested with
//! mocks of the [`ports`] and reused by the three Lambda binaries:
//!
//! - [`payload`] parses and validates what a Step Functions state sends to the starter (seed-compatible).
//! - [`naming`] derives the deterministic statement name that makes a retried start idempotent.
//! - [`record`] is the state-table record and its lifecycle.
//! - [`event`] parses the Data API's completion event out of its EventBridge/SQS envelope.
//! - [`outcome`] maps a finished statement to the Step Functions callback (section 5 of the design).
//! - [`starter`], [`completer`] and [`canceller`] are the use cases, written against the [`ports`].
//! - [`custom_resource`] lets CloudFormation run SQL at deploy time through the same protocol.
//! - [`metrics`] names what they count (CloudWatch embedded metrics, written by the binaries).

pub mod canceller;
pub mod completer;
pub mod config;
pub mod custom_resource;
pub mod error;
pub mod event;
pub mod metrics;
pub mod naming;
pub mod outcome;
pub mod payload;
pub mod ports;
pub mod record;
pub mod starter;
pub mod statement;

pub use error::TaskerError;

#[cfg(test)]
mod use_case_tests;
