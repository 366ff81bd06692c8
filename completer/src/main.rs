//! The `completer` Lambda's binary: reads its configuration once, builds its clients and serves SQS batches and
//! sweeps through the Lambda runtime (the logic is in the library, so the tests drive the same code in process).

use completer::{Completer, CompleterInput};
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
        // The runtime hands over the raw JSON: its own decoding would report a Rust type name as the
        // `errorType` and quote the offending value; `decode` reports `InvalidInput` and never a value.
        service_fn(move |event: LambdaEvent<Value>| async move {
            let input = CompleterInput::decode(&event.payload).map_err(LambdaError)?;
            completer.run(input).await.map_err(LambdaError)
        }),
    )
    .await
}
