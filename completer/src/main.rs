//! The `completer` Lambda's binary: reads its configuration once, builds its clients and serves SQS batches and
//! sweeps through the Lambda runtime (the logic is in the library, so the tests drive the same code in process).

use completer::Completer;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tasker_aws::runtime::{env, init_logging, init_metrics, sdk_config, LambdaError};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let metrics = init_metrics(env)?;
    let settings = Completer::config(env)?;
    let completer = Completer::new(&sdk_config().await, settings);
    let completer = &completer;
    metrics_cloudwatch_embedded::lambda::service::run(
        metrics,
        service_fn(move |event: LambdaEvent<Value>| async move {
            completer.handle(&event.payload).await.map_err(LambdaError)
        }),
    )
    .await
}
