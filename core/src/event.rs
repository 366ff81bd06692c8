//! The Data API's completion event, as it reaches the completer: an EventBridge envelope in an SQS body.

use crate::error::{decode_naming_the_field, unparsable_json};
use crate::naming::StatementPrefix;
use crate::statement::{DataApiStatus, Ending};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// EventBridge `source` of Data API events.
pub const EVENT_SOURCE: &str = "aws.redshift-data";
/// EventBridge `detail-type` of statement completion events.
pub const EVENT_DETAIL_TYPE: &str = "Redshift Data Statement Status Change";

/// A completion event of one of this deployment's statements.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// Finds the record: the name is the state table's key.
    pub statement_name: String,
    /// Checked against the record's statement id before anything settles.
    pub statement_id: String,
    /// What the event claims; only a hint, confirmed by `DescribeStatement`.
    pub ending: Ending,
    /// The row count the event reports, for the logs.
    pub rows: Option<i64>,
    /// When EventBridge saw the ending (for the callback latency).
    pub time: Option<DateTime<Utc>>,
    /// The event's `detail` object as it came: the seed answered with it, so its fields become the output's
    /// `detail` once the record's own statement confirms the ending.
    pub detail: serde_json::Value,
}

/// What an SQS body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A completion event of this deployment's statement: settle it.
    Ours(StatusChange),
    /// Well-formed but not for us (another source, another deployment's prefix): deleted without a write.
    Foreign(String),
}

/// A body that cannot be understood; left to SQS's redrive so it ends in the DLQ.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct MalformedEvent(pub String);

#[derive(Deserialize)]
struct Envelope {
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    time: Option<String>,
    detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    statement_name: Option<String>,
    statement_id: String,
    state: String,
    rows: Option<i64>,
}

/// Parses an SQS message body.
pub fn parse_body(body: &str, prefix: &StatementPrefix) -> Result<Message, MalformedEvent> {
    // Every message names the field and never quotes the body: a forged event must not write into the logs.
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| MalformedEvent(format!("body: {}", unparsable_json(&e))))?;
    let envelope: Envelope = decode_naming_the_field(&value, "").map_err(MalformedEvent)?;
    if envelope.source.as_deref() != Some(EVENT_SOURCE)
        || envelope.detail_type.as_deref() != Some(EVENT_DETAIL_TYPE)
    {
        return Ok(Message::Foreign(
            "source or detail-type: not a Data API status change".into(),
        ));
    }
    let detail = envelope
        .detail
        .ok_or_else(|| MalformedEvent("detail: missing".into()))?;
    let parsed: Detail = decode_naming_the_field(&detail, "detail").map_err(MalformedEvent)?;
    let Some(statement_name) = parsed.statement_name.filter(|n| prefix.owns(n)) else {
        return Ok(Message::Foreign(
            "detail.statementName: another deployment's".into(),
        ));
    };
    let ending = DataApiStatus::parse(&parsed.state)
        .and_then(DataApiStatus::ending)
        .ok_or_else(|| MalformedEvent("detail.state: not an end state".into()))?;
    let time = envelope
        .time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Message::Ours(StatusChange {
        statement_name,
        statement_id: parsed.statement_id,
        ending,
        rows: parsed.rows,
        time,
        detail,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::{statement_name, EntryKey};
    use proptest::prelude::*;
    use serde_json::json;

    fn prefix() -> StatementPrefix {
        StatementPrefix::parse("etl").unwrap()
    }

    fn name() -> String {
        statement_name(
            &prefix(),
            &EntryKey::for_start(Some("a"), None, None, "d", None, "i"),
        )
    }

    fn body(detail: serde_json::Value) -> String {
        json!({"version": "0", "id": "e", "detail-type": EVENT_DETAIL_TYPE, "source": EVENT_SOURCE,
               "time": "2026-11-25T12:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
        .to_string()
    }

    #[test]
    fn parses_each_end_state() {
        for (state, ending) in [
            ("FINISHED", Ending::Finished),
            ("FAILED", Ending::Failed),
            ("ABORTED", Ending::Aborted),
        ] {
            let m = parse_body(
                &body(
                    json!({"statementName": name(), "statementId": "id", "state": state, "rows": 3}),
                ),
                &prefix(),
            );
            match m.unwrap() {
                Message::Ours(e) => {
                    assert_eq!(e.ending, ending);
                    assert_eq!(e.rows, Some(3));
                    assert!(e.time.is_some());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn foreign_and_malformed() {
        let other = statement_name(
            &StatementPrefix::parse("etl-dev").unwrap(),
            &EntryKey::for_start(Some("a"), None, None, "d", None, "i"),
        );
        assert!(matches!(
            parse_body(
                &body(json!({"statementName": other, "statementId": "i", "state": "FINISHED"})),
                &prefix()
            ),
            Ok(Message::Foreign(_))
        ));
        assert!(matches!(
            parse_body(
                &body(json!({"statementId": "i", "state": "FINISHED"})),
                &prefix()
            ),
            Ok(Message::Foreign(_))
        ));
        assert!(matches!(
            parse_body(r#"{"source":"aws.s3","detail-type":"x"}"#, &prefix()),
            Ok(Message::Foreign(_))
        ));
        assert!(parse_body("not json", &prefix()).is_err());
        assert!(parse_body(
            &body(json!({"statementName": name(), "state": "FINISHED"})),
            &prefix()
        )
        .is_err());
        assert!(parse_body(
            &body(json!({"statementName": name(), "statementId": "i", "state": "STARTED"})),
            &prefix()
        )
        .is_err());
        assert!(parse_body(
            &json!({"source": EVENT_SOURCE, "detail-type": EVENT_DETAIL_TYPE}).to_string(),
            &prefix()
        )
        .is_err());
    }

    #[test]
    fn refusals_name_the_field_and_never_quote_the_body() {
        let planted = "planted-4711";
        let cases = [
            (format!("{{\"source\": \"{planted}"), "body"),
            (json!({"source": {"x": planted}}).to_string(), "source"),
            (
                json!({"source": planted, "detail-type": planted}).to_string(),
                "source",
            ),
            (body(json!(planted)), "detail"),
            (
                body(json!({"statementName": name(), "statementId": 7, "state": planted})),
                "detail.statementId",
            ),
            (
                body(json!({"statementName": name(), "statementId": "i", "state": planted})),
                "detail.state",
            ),
            (
                body(
                    json!({"statementName": name(), "statementId": "i", "state": "FINISHED", "rows": planted}),
                ),
                "detail.rows",
            ),
            (
                body(
                    json!({"statementName": format!("etl-{planted}"), "statementId": "i", "state": "FINISHED"}),
                ),
                "detail.statementName",
            ),
        ];
        for (body, field) in cases {
            let said = match parse_body(&body, &prefix()) {
                Ok(Message::Foreign(why)) => why,
                Err(MalformedEvent(why)) => why,
                Ok(other) => panic!("{other:?}"),
            };
            assert!(said.starts_with(field), "{said:?} names {field}");
            assert!(!said.contains("planted"), "{said:?} quotes the body");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse_body(&s, &prefix());
        }

        #[test]
        fn never_panics_on_json_shapes(state in ".*", rows in proptest::option::of(any::<i64>()), id in ".*") {
            let _ = parse_body(&body(json!({"statementName": name(), "statementId": id, "state": state, "rows": rows})), &prefix());
        }
    }
}
