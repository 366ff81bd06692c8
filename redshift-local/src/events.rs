//! Completion events to EventBridge, as the Data API emits them for `WithEvent: true`, with a fault setting.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How events misbehave: the real service delivers events best effort.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventFaults {
    /// Probability of dropping an event.
    pub drop: f64,
    /// Probability of sending an event twice.
    pub duplicate: f64,
    /// Delay before an event is sent.
    pub delay_ms: u64,
    /// Drop the next N events for certain (deterministic tests).
    pub drop_next: u32,
}

impl EventFaults {
    /// Parses `drop=0.1,duplicate=0.1,delay_ms=200,drop_next=1` (empty: no faults).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut f = EventFaults::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("event fault {part:?}: expected key=value"))?;
            let bad = || format!("event fault {k}: bad value {v:?}");
            match k {
                "drop" => f.drop = v.parse().map_err(|_| bad())?,
                "duplicate" => f.duplicate = v.parse().map_err(|_| bad())?,
                "delay_ms" => f.delay_ms = v.parse().map_err(|_| bad())?,
                "drop_next" => f.drop_next = v.parse().map_err(|_| bad())?,
                _ => {
                    return Err(format!(
                        "event fault {k:?}: unknown (drop, duplicate, delay_ms, drop_next)"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// Counters of what happened to events.
#[derive(Debug, Default)]
pub(crate) struct EventCounts {
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) failed: AtomicU64,
}

/// A statement that ended with `WithEvent`: what its completion event reports.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    /// The identity that ran it (locally its access key id, which names the role in the event's ARN).
    pub(crate) owner: String,
    /// Its `StatementName`.
    pub(crate) name: Option<String>,
    /// Its id.
    pub(crate) id: String,
    /// The query id of its last statement.
    pub(crate) query_id: i64,
    /// `FINISHED`, `FAILED` or `ABORTED`.
    pub(crate) state: &'static str,
    /// Rows its statements returned or changed, summed.
    pub(crate) rows: i64,
    /// The cluster it ran on, if on a cluster.
    pub(crate) cluster_identifier: Option<String>,
    /// The serverless workgroup it ran on, if on one.
    pub(crate) workgroup_name: Option<String>,
}

impl Completion {
    /// The event's `detail`, as the Data API's "Redshift Data Statement Status Change" event holds it.
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            // The identity that ran it, as an ARN (locally, its access key id names the role).
            "principal": format!("arn:aws:iam::123456789012:role/{}", self.owner),
            "statementName": self.name,
            "statementId": self.id,
            "redshiftQueryId": self.query_id,
            "state": self.state,
            "rows": self.rows,
            "expireAt": (chrono::Utc::now() + chrono::Duration::hours(24)).timestamp(),
        })
    }

    /// The event's resource: the ARN of the cluster or workgroup it ran on.
    fn resource(&self, region: &str) -> String {
        match (&self.cluster_identifier, &self.workgroup_name) {
            (Some(c), _) => format!("arn:aws:redshift:{region}:123456789012:cluster:{c}"),
            (_, Some(w)) => {
                format!("arn:aws:redshift-serverless:{region}:123456789012:workgroup/{w}")
            }
            _ => String::new(),
        }
    }
}

/// Puts completion events on EventBridge.
pub(crate) struct EventSender {
    client: Option<aws_sdk_eventbridge::Client>,
    region: String,
    pub(crate) faults: Mutex<EventFaults>,
    pub(crate) counts: EventCounts,
}

impl EventSender {
    /// A sender to `endpoint`, or one that only counts when there is none.
    pub(crate) async fn new(endpoint: Option<String>, region: &str, faults: EventFaults) -> Self {
        let client = endpoint
            .map(|url| aws_sdk_eventbridge::Client::new(&crate::local_sdk_config(&url, region)));
        EventSender {
            client,
            region: region.to_string(),
            faults: Mutex::new(faults),
            counts: EventCounts::default(),
        }
    }

    /// Emits a statement's completion event, applying the fault setting.
    pub(crate) async fn emit(&self, completion: Completion) {
        let detail = completion.detail();
        let resource = completion.resource(&self.region);
        let (copies, delay) = {
            let mut f = self.faults.lock().expect("faults lock");
            let dropped = if f.drop_next > 0 {
                f.drop_next -= 1;
                true
            } else {
                fastrand::f64() < f.drop
            };
            let copies = if dropped {
                0
            } else if fastrand::f64() < f.duplicate {
                2
            } else {
                1
            };
            (copies, f.delay_ms)
        };
        if copies == 0 {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::info!(decision = "event_dropped", detail = %detail);
            return;
        }
        if copies == 2 {
            self.counts.duplicated.fetch_add(1, Ordering::Relaxed);
        }
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let Some(client) = &self.client else {
            return;
        };
        for _ in 0..copies {
            let entry = PutEventsRequestEntry::builder()
                .source("aws.redshift-data")
                .detail_type("Redshift Data Statement Status Change")
                .detail(detail.to_string())
                .resources(resource.clone())
                .event_bus_name("default")
                .build();
            match client.put_events().entries(entry).send().await {
                Ok(out) if out.failed_entry_count() == 0 => {
                    self.counts.sent.fetch_add(1, Ordering::Relaxed);
                }
                Ok(out) => {
                    self.counts.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        failed = out.failed_entry_count(),
                        "PutEvents rejected the event"
                    );
                }
                Err(e) => {
                    self.counts.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_faults() {
        assert_eq!(EventFaults::parse("").unwrap(), EventFaults::default());
        let f = EventFaults::parse("drop=0.5, duplicate=0.25,delay_ms=10,drop_next=2").unwrap();
        assert_eq!(
            (f.drop, f.duplicate, f.delay_ms, f.drop_next),
            (0.5, 0.25, 10, 2)
        );
        assert!(EventFaults::parse("lose=1").is_err());
        assert!(EventFaults::parse("drop").is_err());
    }
}
