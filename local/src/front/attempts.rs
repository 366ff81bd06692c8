//! The task-token attempt model: AWS gives each attempt of a task a new token while moto re-sends the same one on
//! `Retry`, so the front gives each invocation its own `<moto token>~<n>` and treats callbacks as AWS would.

use super::{forward_to, FrontState};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

/// The attempts of one moto task token: which is current, and whether its invocation runs or failed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Attempt {
    current: u32,
    in_flight: bool,
    failed: bool,
    /// The task was answered: Step Functions refuses any further answer.
    closed: bool,
}

impl FrontState {
    /// Gives an invocation its own attempt token `<moto token>~<attempt>`, as AWS gives each attempt of a task a
    /// new token (moto re-sends the same one on `Retry`).
    pub(crate) fn begin_attempt(&self, payload: &mut Value) -> Option<(String, u32)> {
        let token = payload.get("taskToken")?.as_str()?.to_string();
        let mut attempts = self.attempts.lock().expect("attempts");
        let a = attempts.entry(token.clone()).or_default();
        a.current += 1;
        a.in_flight = true;
        a.failed = false;
        payload["taskToken"] = Value::String(format!("{token}~{}", a.current));
        Some((token, a.current))
    }

    /// Ends an attempt; `true` when its task was answered while it ran (the answer wins over its error).
    ///
    /// moto starts listening for the token only once it has read the invocation's response, so the attempt
    /// counts as running for a short grace after it: a callback in that window waits too.
    pub(crate) fn end_attempt(
        self: &Arc<Self>,
        attempt: Option<(String, u32)>,
        failed: bool,
    ) -> bool {
        let Some((token, n)) = attempt else {
            return false;
        };
        let closed = {
            let mut attempts = self.attempts.lock().expect("attempts");
            let Some(a) = attempts.get_mut(&token) else {
                return false;
            };
            if a.current == n {
                a.failed = failed && !a.closed;
            }
            a.closed
        };
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if let Some(a) = me.attempts.lock().expect("attempts").get_mut(&token) {
                if a.current == n {
                    a.in_flight = false;
                }
            }
        });
        closed
    }

    /// Marks a task answered once Step Functions accepted an answer.
    pub(crate) fn close(&self, body: &Value) {
        let token = body["taskToken"].as_str().unwrap_or_default();
        let task = token.rsplit_once('~').map_or(token, |(t, _)| t);
        if let Some(a) = self.attempts.lock().expect("attempts").get_mut(task) {
            a.closed = true;
        }
    }

    /// What becomes of a callback on an attempt token, as AWS would treat it: the current attempt's token is
    /// honoured, also while its invocation still runs (the handler itself may answer, or another function before
    /// the handler returned; moto would answer 200 and drop it, so the front accepts it and hands it to moto when
    /// the invocation has returned); a failed or superseded attempt's token is a closed task (`TaskTimedOut`).
    pub(crate) fn route_callback(
        self: &Arc<Self>,
        body: &mut Value,
        forward: ForwardLater,
    ) -> Callback {
        let Some((token, n)) = body["taskToken"]
            .as_str()
            .and_then(|t| t.rsplit_once('~'))
            .and_then(|(t, n)| Some((t.to_string(), n.parse::<u32>().ok()?)))
        else {
            return Callback::Forward;
        };
        let state = self.attempts.lock().expect("attempts").get(&token).copied();
        match state {
            Some(a) if a.current == n && !a.failed && !a.closed => {
                body["taskToken"] = Value::String(token.clone());
                if !a.in_flight {
                    return Callback::Forward;
                }
                if let Some(a) = self.attempts.lock().expect("attempts").get_mut(&token) {
                    a.closed = true;
                }
                let me = self.clone();
                let body = Bytes::from(body.to_string());
                tokio::spawn(async move {
                    loop {
                        let a = me.attempts.lock().expect("attempts").get(&token).copied();
                        match a {
                            Some(a) if a.current == n && a.in_flight => {}
                            Some(a) if a.current == n && !a.failed => break,
                            _ => return,
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                    }
                    let (method, uri, headers) = forward;
                    let moto = me.moto.clone();
                    let _ = forward_to(&me, &moto, method, &uri, &headers, body).await;
                });
                Callback::Accepted
            }
            _ => Callback::Closed,
        }
    }
}

/// The arguments of a request the front forwards later.
pub(crate) type ForwardLater = (Method, Uri, HeaderMap);

/// What the front does with a callback.
pub(crate) enum Callback {
    Forward,
    /// Accepted now, handed to moto once the invocation returned.
    Accepted,
    /// The attempt of the token failed or was retried.
    Closed,
}

pub(crate) fn task_timed_out() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", "TaskTimedOut"),
        ],
        json!({"__type": "TaskTimedOut", "message": "Task Timed Out: the attempt of this token failed or was retried"})
            .to_string(),
    )
        .into_response()
}
