//! The `starter` Lambda's binary: reads its configuration once, builds its clients and serves invocations
//! through the Lambda runtime (the logic is in the library, so the tests drive the same code in process).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use starter::Starter;
use tasker_aws::runtime::{env, init_logging, init_metrics, sdk_config, LambdaError};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let metrics = init_metrics(env)?;
    let config = Starter::config(env)?;
    let starter = Starter::new(&sdk_config().await, config);
    let starter = &starter;
    metrics_cloudwatch_embedded::lambda::service::run(
        metrics,
        // The runtime hands over the raw JSON: its own decoding would report a Rust type name as the
        // `errorType` and quote the offending value; `decode` reports `InvalidInput` naming only the field.
        service_fn(move |event: LambdaEvent<Value>| async move {
            let input = starter.decode(&event.payload).await.map_err(LambdaError)?;
            starter
                .run(input, &event.context.request_id)
                .await
                .map_err(LambdaError)
        }),
    )
    .await
}
