//! The SQS event source mapping: pollers that receive the queue's batches and invoke the completer as Lambda
//! does, five batches at a time as Lambda starts (it scales up beyond that with the queue's depth; not emulated).

use super::Stack;
use crate::front::Handler;
use crate::names::REGION;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

impl Stack {
    /// Starts the event source mapping's pollers ([`StackOptions::pollers`](super::StackOptions::pollers) of
    /// them, each receiving and invoking one batch at a time) driving the stack's completer.
    pub fn start_polling(&mut self) {
        for _ in 0..self.pollers {
            self.background.push(tokio::spawn(poll(
                self.sdk.clone(),
                self.queue_url.clone(),
                self.completer_handler.clone(),
                self.batching_window,
                self.front.state.clone(),
            )));
        }
    }
}

pub(super) async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    Ok(a.attributes()
        .and_then(|m| m.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default())
}

/// Up to `max` messages from the queue, waiting at most `wait_seconds` for the first.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max: i32,
    wait_seconds: i32,
) -> Vec<aws_sdk_sqs::types::Message> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max)
        .wait_time_seconds(wait_seconds)
        .send()
        .await;
    match received {
        Ok(r) => r.messages.unwrap_or_default(),
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Vec::new()
        }
    }
}

/// Drives the completer from the queue as Lambda's SQS event source mapping does: batches of up to 10 (gathered
/// for up to `window` once the first message is in), deleting only the messages not reported in
/// `batchItemFailures`.
pub(super) async fn poll(
    sdk: SdkConfig,
    queue_url: String,
    completer: Handler,
    window: Duration,
    log: std::sync::Arc<crate::front::FrontState>,
) {
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    loop {
        let mut messages = receive(&sqs, &queue_url, 10, 1).await;
        if messages.is_empty() {
            continue;
        }
        // Short polls, so that no receive is cut off holding messages it took.
        let gathering = Instant::now() + window;
        while messages.len() < 10 && Instant::now() < gathering {
            let more = receive(&sqs, &queue_url, 10 - messages.len() as i32, 0).await;
            if more.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            messages.extend(more);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                       "eventSource": "aws:sqs", "awsRegion": REGION, "attributes": {}, "messageAttributes": {}})
            })
            .collect();
        let payload = json!({"Records": records});
        let received = std::time::SystemTime::now();
        let response = completer(payload.clone()).await;
        log.note_invocation("completer", payload, received, response.is_err());
        let failed: Vec<String> = match &response {
            Ok(v) => v["batchItemFailures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_string))
                .collect(),
        };
        for m in &messages {
            if m.message_id()
                .is_some_and(|id| failed.iter().any(|f| f == id))
            {
                continue;
            }
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}
