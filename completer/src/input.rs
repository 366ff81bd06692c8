//! The completer's edge, typed: the two things it is invoked with and the two answers it gives.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Serialize;
use serde_json::Value;
use tasker_core::{sweep::SweepReport, TaskerError};

/// What invokes the completer.
#[derive(Debug, Clone, PartialEq)]
pub enum CompleterInput {
    /// A batch of completion events from the queue (a payload with `Records`).
    Batch(SqsEvent),
    /// The sweeper's schedule: the template's `{"sweep": true}`, an EventBridge scheduled event, or anything else
    /// without `Records` (a sweep is always safe, so no schedule payload is refused).
    Sweep,
}

impl CompleterInput {
    /// Tells the two apart. A payload with `Records` that is not an SQS event is `InvalidInput`, whose message
    /// names the kind of mismatch, never a value from the payload.
    pub fn decode(payload: &Value) -> Result<Self, TaskerError> {
        if payload.get("Records").is_none() {
            return Ok(CompleterInput::Sweep);
        }
        serde_json::from_value(payload.clone())
            .map(CompleterInput::Batch)
            .map_err(|e| {
                TaskerError::InvalidInput(format!(
                    "Records: not an SQS event ({:?} error)",
                    e.classify()
                ))
            })
    }
}

/// What the completer answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CompleterOutput {
    /// The messages to redeliver (`ReportBatchItemFailures`): one bad message never fails its neighbours.
    Batch(SqsBatchResponse),
    /// What the sweep did.
    Sweep(SweepReport),
}

impl CompleterOutput {
    /// The JSON the Lambda returns.
    pub fn to_json(&self) -> Result<Value, TaskerError> {
        serde_json::to_value(self).map_err(|e| TaskerError::InvalidInput(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_make_a_batch_and_anything_else_a_sweep() {
        let batch = json!({"Records": [{"messageId": "m1", "body": "{}"}]});
        assert!(matches!(
            CompleterInput::decode(&batch).unwrap(),
            CompleterInput::Batch(e) if e.records.len() == 1
        ));
        for schedule in [
            json!({"sweep": true}),
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            json!({}),
        ] {
            assert_eq!(
                CompleterInput::decode(&schedule).unwrap(),
                CompleterInput::Sweep
            );
        }
    }

    #[test]
    fn a_bad_batch_is_invalid_input_without_its_values() {
        let err = CompleterInput::decode(&json!({"Records": "secret text"})).unwrap_err();
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn outputs_keep_their_json_shapes() {
        let sweep = CompleterOutput::Sweep(SweepReport {
            not_started: 2,
            stopped_early: true,
            ..Default::default()
        });
        let json = sweep.to_json().unwrap();
        assert_eq!(json["notStarted"], 2);
        assert_eq!(json["stoppedEarly"], true);
        assert_eq!(
            CompleterOutput::Batch(SqsBatchResponse::default())
                .to_json()
                .unwrap(),
            json!({"batchItemFailures": []})
        );
    }
}
