//! The starter's edge, typed: what one invocation is ([`Invocation`]), the forms its payload comes in
//! ([`StarterInput`]) and what it answers ([`StarterOutput`]), so that the Lambda glue and the tests deal in these
//! types and only the JSON boundary converts.

use crate::custom_resource::CustomResourceRequest;
use crate::payload::StarterRequest;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One invocation: when it runs and its own unique id (the Lambda request id), which names the statement of a
/// payload that does not identify its state entry.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// The clock of this invocation, so the use case is testable without a real one.
    pub now: DateTime<Utc>,
    /// Names the statement of a payload that does not identify its state entry.
    pub id: &'a str,
}

/// The starter's invocation forms, decoded (and validated) from its payload.
#[derive(Debug, Clone, PartialEq)]
pub enum StarterInput {
    /// A Step Functions state's payload: run SQL or one of the seed's actions (docs/design.md, "Starter payload").
    Request(StarterRequest),
    /// A CloudFormation custom-resource request: SQL at deploy time (docs/design.md, "Deploy-time SQL").
    CustomResource(CustomResourceRequest),
}

/// What the starter answers; serialised as the JSON the seed's state machines read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StarterOutput {
    /// A statement was started (or found started): the task output when no task token waits for the callback.
    Started(Started),
    /// A seed action's answer, passed through in the Data API's own field names (`Id`, `Status`, `Records`, ...),
    /// which the seed's `Choice` states match on.
    DataApi(Value),
    /// A custom-resource request answered at once (no SQL for its request type, or SQL that could not start).
    Answered {
        /// `SUCCESS` or `FAILED`: what CloudFormation was told.
        answered: &'static str,
    },
}

impl StarterOutput {
    /// The JSON the Lambda returns.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an output of strings and JSON values serialises")
    }
}

/// The answer of an execute: `{statementName, statementId, Id, sessionId?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Finds the statement's record in the state table and the logs.
    pub statement_name: String,
    /// The Data API id: also written as `Id`, which the seed's polling state machines read.
    pub statement_id: String,
    /// The session the statement started or used, for a later state's `sessionId`.
    pub session_id: Option<String>,
}

impl Serialize for Started {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            statement_name: &'a str,
            statement_id: &'a str,
            #[serde(rename = "Id")]
            id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            session_id: Option<&'a str>,
        }
        Wire {
            statement_name: &self.statement_name,
            statement_id: &self.statement_id,
            id: &self.statement_id,
            session_id: self.session_id.as_deref(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outputs_keep_the_seed_shapes() {
        let started = Started {
            statement_name: "etl-1".into(),
            statement_id: "id".into(),
            session_id: None,
        };
        assert_eq!(
            StarterOutput::Started(started.clone()).to_json(),
            json!({"statementName": "etl-1", "statementId": "id", "Id": "id"})
        );
        let in_session = Started {
            session_id: Some("s".into()),
            ..started
        };
        assert_eq!(
            StarterOutput::Started(in_session).to_json()["sessionId"],
            "s"
        );
        assert_eq!(
            StarterOutput::Answered { answered: "FAILED" }.to_json(),
            json!({"answered": "FAILED"})
        );
        assert_eq!(
            StarterOutput::DataApi(json!({"Status": true})).to_json(),
            json!({"Status": true})
        );
    }
}
