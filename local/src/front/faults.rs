//! Faults the front injects: refusals queued per operation (throttling, 5xx), and [`Chaos`] rules that fail a
//! function's calls at random, refused before they reach the service or applied and then answered with a 500.

use super::{Front, FrontState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::VecDeque;

/// How an injected fault looks to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Refused with a 5xx before reaching the service: nothing happened.
    Refused,
    /// Sent to the service, which applied it; the caller gets a 500 (as if it crashed after the step).
    LostResponse,
}

/// A random fault rule: each call of `operation` by `principal` starts, with `probability`, a burst of `burst`
/// faulted attempts (enough to outlast the SDK's own retries, so the caller really fails at that step). In a burst
/// of lost responses only the first attempt reaches the service.
#[derive(Debug, Clone)]
pub struct Chaos {
    /// The operation it faults (`DynamoDB_20120810.UpdateItem`, ...).
    pub operation: String,
    /// Whose calls (a function's name).
    pub principal: String,
    /// The chance that a call starts a burst.
    pub probability: f64,
    /// How the burst's first attempt fails.
    pub kind: FaultKind,
    /// Attempts faulted in a burst.
    pub burst: u32,
}

impl Front {
    /// Makes the next `statuses.len()` calls of `operation` fail with these HTTP statuses.
    pub fn inject(&self, operation: &str, statuses: &[u16]) {
        self.state
            .faults
            .lock()
            .expect("faults")
            .entry(operation.to_string())
            .or_default()
            .extend(statuses);
    }
}

impl Front {
    /// Adds a random fault rule (see [`Chaos`]).
    pub fn chaos(&self, rule: Chaos) {
        self.state.chaos.lock().expect("chaos").push((rule, 0));
    }

    /// Delays every forwarded call by `latency` (benchmarks: an AWS-like round trip).
    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.state.latency.lock().expect("latency") = latency;
    }

    /// Removes every random fault rule.
    pub fn calm(&self) {
        self.state.chaos.lock().expect("chaos").clear();
    }
}

impl FrontState {
    /// The fault, if any, for this call: a refusal queued by [`Front::inject`], or a chaos rule's.
    pub(crate) fn fault_for(&self, operation: &str, principal: &str) -> Option<(FaultKind, u16)> {
        if let Some(status) = self
            .faults
            .lock()
            .expect("faults")
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            return Some((FaultKind::Refused, status));
        }
        let mut rules = self.chaos.lock().expect("chaos");
        for (rule, left) in rules.iter_mut() {
            if rule.operation != operation || rule.principal != principal {
                continue;
            }
            if *left == 0 && fastrand::f64() < rule.probability {
                *left = rule.burst;
            }
            if *left > 0 {
                // A lost response is applied once; the caller's own retries then find it down, as if it had died.
                let kind = if *left == rule.burst {
                    rule.kind
                } else {
                    FaultKind::Refused
                };
                *left -= 1;
                return Some((kind, 500));
            }
        }
        None
    }
}

/// An injected refusal: 400 is throttling (retried by the SDK), 403 a refusal for good, anything else a 5xx.
pub(crate) fn refusal(status: u16) -> Response {
    let code = match status {
        400 => "ThrottlingException",
        403 => "AccessDeniedException",
        _ => "ServiceUnavailable",
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", code),
        ],
        json!({"__type": code, "message": "injected by the test front"}).to_string(),
    )
        .into_response()
}
