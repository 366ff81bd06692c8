//! Adapters from sfn-redshift-tasker's ports to the AWS SDK for Rust.
//!
//! Each adapter wraps one SDK client and translates both ways: domain types in, domain types and
//! [`tasker_core::PortError`]s out, so no SDK type leaks into the use cases.

pub mod callbacks;
pub mod clients;
pub mod data_api;
pub mod errors;
pub mod state_table;

pub mod runtime;

pub use callbacks::SfnCallbacks;
pub use clients::Clients;
pub use data_api::RedshiftDataApi;
pub use state_table::DynamoStateTable;
