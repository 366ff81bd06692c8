//! The `canceller` Lambda's binary: reads its configuration once, builds its clients and serves invocations
//! through the Lambda runtime (the logic is in the library, so the tests drive the same code in process).

use canceller::Canceller;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tasker_aws::runtime::{env, init_logging, init_metrics, sdk_config, LambdaError};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let metrics = init_metrics(env)?;
    let settings = Canceller::config(env)?;
    let canceller = Canceller::new(&sdk_config().await, &settings);
    let canceller = &canceller;
    metrics_cloudwatch_embedded::lambda::service::run(
        metrics,
        service_fn(move |event: LambdaEvent<Value>| async move {
            canceller.handle(&event.payload).await.map_err(LambdaError)
        }),
    )
    .await
}
