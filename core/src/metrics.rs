//! What the use cases count, through the `metrics` facade: the binaries install a CloudWatch embedded-metric-format
//! recorder (one namespace, the stack as a dimension) that writes them to the logs, so a metric costs no API call;
//! anywhere else (unit tests, the simulation) no recorder is installed and the counts go nowhere.
//!
//! The names are the contract of the template's alarms and dashboard (`template_agrees` checks that every alarm
//! watches a name of [`ALL`]).

use crate::record::RecordStatus;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "SfnRedshiftTasker";
/// The dimension every metric carries: the stack (deployment) name.
pub const STACK_DIMENSION: &str = "Stack";
/// Statements the Data API accepted (counted once per record, when it moves to `STARTED`).
pub const STARTED: &str = "StatementsStarted";
/// Records settled, with dimension [`OUTCOME`] (`FINISHED`, `FAILED`, `ABORTED`, `ORPHANED`, `LOST`,
/// `NOT_STARTED`, `UNDELIVERABLE`).
pub const SETTLED: &str = "StatementsSettled";
/// The dimension of [`SETTLED`].
pub const OUTCOME: &str = "Outcome";
/// Milliseconds from a statement's end (the Data API's `UpdatedAt`) to its delivered callback.
pub const CALLBACK_LATENCY: &str = "CallbackLatency";
/// Statements the sweeper settled because their completion event never came.
pub(crate) const SWEPT: &str = "SettledBySweeper";
/// Statements a canceller (or the `cancelStatement` action) asked the Data API to cancel.
pub const CANCELLED: &str = "StatementsCancelled";
/// Payloads refused with `InvalidInput`.
pub const REFUSED: &str = "InputsRefused";
/// Lambda cold starts (emitted by the recorder's Lambda integration).
pub const COLD_START: &str = "ColdStart";
/// Every metric name the functions emit.
pub const ALL: &[&str] = &[
    STARTED,
    SETTLED,
    CALLBACK_LATENCY,
    SWEPT,
    CANCELLED,
    REFUSED,
    COLD_START,
];

/// Gives the recorder the units of the metrics (call once, after installing it).
pub fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(STARTED, Unit::Count, "statements started");
    metrics::describe_counter!(SETTLED, Unit::Count, "records settled, by outcome");
    metrics::describe_histogram!(
        CALLBACK_LATENCY,
        Unit::Milliseconds,
        "statement end to delivered callback"
    );
    metrics::describe_counter!(SWEPT, Unit::Count, "settled by the sweeper");
    metrics::describe_counter!(CANCELLED, Unit::Count, "cancel requests sent");
    metrics::describe_counter!(REFUSED, Unit::Count, "payloads refused");
}

pub(crate) fn started() {
    metrics::counter!(STARTED).increment(1);
}

pub(crate) fn settled(status: RecordStatus) {
    metrics::counter!(SETTLED, OUTCOME => status.as_str()).increment(1);
}

pub(crate) fn callback_latency(millis: i64) {
    metrics::histogram!(CALLBACK_LATENCY).record(millis.max(0) as f64);
}

pub(crate) fn swept() {
    metrics::counter!(SWEPT).increment(1);
}

pub(crate) fn cancelled() {
    metrics::counter!(CANCELLED).increment(1);
}

pub(crate) fn refused() {
    metrics::counter!(REFUSED).increment(1);
}
