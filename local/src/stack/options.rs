//! What a test or the trial may change about the stack it starts.

use std::time::Duration;

/// Knobs of a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The stack name and `StatementPrefix` of the deploy (statement names start with it).
    pub prefix: String,
    /// SQS visibility timeout: how soon a message the completer left comes back.
    pub visibility_timeout: u32,
    /// The event queue's `maxReceiveCount` before the DLQ.
    pub max_receive_count: u32,
    /// redshift-local's rows per result page.
    pub page_rows: usize,
    /// The template's `SweepGraceSeconds`.
    pub sweep_grace_seconds: u64,
    /// Run the SQS pollers that drive the completer (or start them later with [`Stack::start_polling`](crate::stack::Stack::start_polling)).
    pub poll: bool,
    /// How many batches the event source mapping works on at once. Lambda "starts processing five batches at a
    /// time with five concurrent invocations of your function" once messages are available (AWS Lambda Developer
    /// Guide, "Configuring scaling behavior for SQS event source mappings"), and scales up from there with the
    /// queue's depth, which is not emulated: five pollers, each receiving and invoking one batch at a time.
    pub pollers: usize,
    /// Run the completer's sweeper this often, as its schedule would.
    pub sweep_every: Option<Duration>,
    /// Serve the functions with the real binaries in this directory (`starter`, `completer`, `canceller`)
    /// behind a local Runtime API, instead of in-process handlers.
    pub binaries: Option<std::path::PathBuf>,
    /// With `binaries`: write each function's stdout (its log: JSON events and metric documents) to
    /// `<dir>/<function>.log`.
    pub function_logs: Option<std::path::PathBuf>,
    /// The starter's `FAST_PATH_SECONDS`.
    pub fast_path_seconds: u32,
    /// The poller's `MaximumBatchingWindowInSeconds`: once a message is in, keep gathering up to 10 for this
    /// long before invoking the completer, as Lambda does. The template sets none (zero); the bench measures
    /// what one would cost.
    pub batching_window: Duration,
    /// The template's `StarterReservedConcurrency` (its default, 40, when `None`): the starter's slots, beyond
    /// which an invocation is throttled.
    pub starter_reserved_concurrency: Option<u32>,
    /// The template's `LogLevel` (the functions' `RUST_LOG`; its default, `info`, when `None`).
    pub log_level: Option<String>,
    /// Deploy this CDK-synthesized template (`cdk.out/<stack>.template.json`, the construct of `cdk/`, which
    /// includes infra/sam-template.yaml) instead of the SAM template: its assets are published from the cloud
    /// assembly beside it. Its parameter values are the app's props, so the template knobs above
    /// (`sweep_grace_seconds`, `fast_path_seconds`, `starter_reserved_concurrency`, `log_level`) do not apply
    /// and `prefix` must be the app's `statementPrefix`.
    pub cdk_template: Option<std::path::PathBuf>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            prefix: "tasker-test".into(),
            visibility_timeout: 2,
            max_receive_count: 3,
            page_rows: 1000,
            sweep_grace_seconds: 300,
            poll: true,
            pollers: 5,
            sweep_every: None,
            binaries: None,
            function_logs: None,
            fast_path_seconds: 0,
            batching_window: Duration::ZERO,
            starter_reserved_concurrency: None,
            log_level: None,
            cdk_template: None,
        }
    }
}
