//! The `completer` Lambda's binary: reads its configuration once, builds its clients and serves SQS batches and
//! sweeps through the Lambda runtime (the logic is in the library, so the tests drive the same code in process).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tasker_aws::runtime::serve::<completer::Completer>().await
}
