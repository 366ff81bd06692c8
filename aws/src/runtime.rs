//! What the three Lambda binaries share at their edge: logging, SDK configuration and error reporting.

use lambda_runtime::Diagnostic;
use tasker_core::TaskerError;

/// JSON logs on stdout, one object per event, filtered as [`log_filter`] says.
pub fn init_logging() {
    init_logging_with(env, std::io::stdout);
}

/// The production logging set-up with another environment and writer (the log test captures it).
pub fn init_logging_with<W>(get: impl Fn(&str) -> Option<String>, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(log_filter(get))
        .with_writer(writer)
        .try_init();
}

/// Crates whose `debug` and `trace` events carry what must never reach the logs: the Lambda runtime logs whole
/// invocation events (SQL, parameters, task tokens), the SDK and the HTTP stack log request and response bodies
/// (result rows, tokens). They are held at `info` whatever the level asked for, so `LogLevel=trace` shows our own
/// decisions in detail and nothing else.
const PINNED_AT_INFO: [&str; 12] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "aws_lambda_events",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_sigv4",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
];

/// `RUST_LOG` when set (it can filter per module), else Lambda's `AWS_LAMBDA_LOG_LEVEL` (which the template's
/// `LoggingConfig` sets: `TRACE` ... `FATAL`), else `info`; with the crates of `PINNED_AT_INFO` held at `info`
/// (or lower, if the level asked for is lower), whatever the filter says of them.
pub fn log_filter(get: impl Fn(&str) -> Option<String>) -> tracing_subscriber::EnvFilter {
    let filter = chosen_filter(get);
    let cap = match filter.max_level_hint() {
        Some(l) if l < tracing_subscriber::filter::LevelFilter::INFO => l.to_string(),
        _ => "info".to_string(),
    };
    PINNED_AT_INFO.iter().fold(filter, |f, target| {
        match format!("{target}={cap}").parse() {
            Ok(directive) => f.add_directive(directive),
            Err(_) => f,
        }
    })
}

fn chosen_filter(get: impl Fn(&str) -> Option<String>) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    if let Some(filter) = get("RUST_LOG").and_then(|f| EnvFilter::try_new(f).ok()) {
        return filter;
    }
    let level = match get("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_ascii_uppercase())
        .as_deref()
    {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR" | "FATAL") => "error",
        _ => "info",
    };
    EnvFilter::new(level)
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    fn filter(pairs: &[(&str, &str)]) -> Vec<String> {
        let mut d: Vec<String> = log_filter(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .to_string()
        .split(',')
        .map(str::to_string)
        .collect();
        d.sort();
        d
    }

    /// The directive for `target` (the bare level when `target` is empty).
    fn level_of(directives: &[String], target: &str) -> Option<String> {
        directives.iter().find_map(|d| match d.split_once('=') {
            Some((t, l)) if t == target => Some(l.to_string()),
            None if target.is_empty() => Some(d.clone()),
            _ => None,
        })
    }

    #[test]
    fn rust_log_first_then_lambdas_level_then_info() {
        assert_eq!(level_of(&filter(&[]), "").as_deref(), Some("info"));
        let warn = filter(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
        assert_eq!(level_of(&warn, "").as_deref(), Some("warn"));
        let fatal = filter(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]);
        assert_eq!(level_of(&fatal, "").as_deref(), Some("error"));
        let both = filter(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")]);
        assert_eq!(level_of(&both, "").as_deref(), Some("debug"));
    }

    #[test]
    fn the_runtime_the_sdk_and_http_stay_at_info_whatever_the_level() {
        for asked in [
            &[("RUST_LOG", "trace")][..],
            &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
            &[(
                "RUST_LOG",
                "info,lambda_runtime=trace,aws_smithy_runtime=trace",
            )],
        ] {
            let d = filter(asked);
            for target in super::PINNED_AT_INFO {
                assert_eq!(
                    level_of(&d, target).as_deref(),
                    Some("info"),
                    "{asked:?}: {d:?}"
                );
            }
        }
        let quiet = filter(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR")]);
        assert_eq!(
            level_of(&quiet, "hyper").as_deref(),
            Some("error"),
            "{quiet:?}"
        );
    }
}

/// Installs the CloudWatch embedded-metric-format recorder: namespace [`tasker_core::metrics::NAMESPACE`], the stack
/// (`STACK_NAME`, set by the template) as the `Stack` dimension, a `ColdStart` count. The Lambda integration
/// (`metrics_cloudwatch_embedded::lambda::service::run`) writes the document to stdout after each invocation,
/// where Lambda puts it in the function's log and CloudWatch turns it into metrics with no API call.
pub fn init_metrics(
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<&'static metrics_cloudwatch_embedded::Collector> {
    use tasker_core::metrics::{describe, COLD_START, NAMESPACE, STACK_DIMENSION};
    let stack = get("STACK_NAME").unwrap_or_else(|| "unknown".to_string());
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension(STACK_DIMENSION, stack)
        .lambda_cold_start_metric(COLD_START)
        .init()
        .map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    describe();
    Ok(collector)
}

/// The SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL*` for local peers).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The Lambda error: `errorType` is the Step Functions error name a state's `Catch` matches.
pub fn diagnostic(e: &TaskerError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().to_string(),
        error_message: e.to_string(),
    }
}

/// A `TaskerError` that the Lambda runtime reports with its own `errorType`.
#[derive(Debug)]
pub struct LambdaError(pub TaskerError);

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Self {
        diagnostic(&e.0)
    }
}

/// Reads one environment variable, for `Settings::from_lookup` and `Target::from_lookup`.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One of the three Lambda functions, as [`serve`] runs it: configured once from the environment, built once
/// per instance, then handed each invocation's raw JSON. The runtime's own decoding would report a Rust type name
/// as the `errorType` and quote the offending value; each function decodes itself, with `InvalidInput` naming
/// only the field.
#[async_trait::async_trait]
pub trait Function: Sized + Send + Sync {
    /// What it reads from its environment.
    type Config;
    /// Reads its configuration; an error stops the instance before it serves anything.
    fn config(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self::Config, tasker_core::ConfigError>;
    /// Builds its clients from one SDK configuration.
    fn new(sdk: &aws_config::SdkConfig, config: Self::Config) -> Self;
    /// One invocation, JSON in and out; `request_id` is Lambda's (the starter names a statement by it when the
    /// payload does not identify its state entry).
    async fn invoke(
        &self,
        payload: &serde_json::Value,
        request_id: &str,
    ) -> Result<serde_json::Value, TaskerError>;
}

/// The one `main` of the three binaries: JSON logs, the metrics recorder, the configuration, the clients, then
/// the Lambda runtime serving [`Function::invoke`] (a failure's `errorType` is the [`TaskerError`]'s name).
pub async fn serve<F: Function>() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let metrics = init_metrics(env)?;
    let config = F::config(env)?;
    let function = F::new(&sdk_config().await, config);
    let function = &function;
    metrics_cloudwatch_embedded::lambda::service::run(
        metrics,
        lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
                function
                    .invoke(&event.payload, &event.context.request_id)
                    .await
                    .map_err(LambdaError)
            },
        ),
    )
    .await
}
