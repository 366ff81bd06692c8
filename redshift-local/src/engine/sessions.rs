//! `ListSessions`: the sessions of the caller, open ones by default, closed ones for a day after they close.

use super::{Engine, Session, SessionView};
use crate::error::ApiError;
use crate::paging::{Listing, Page};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// How long a closed session stays listed (the service lists the sessions of the last 24 hours).
const CLOSED_LISTED_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What `ListSessions` narrows the caller's sessions to.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionFilter {
    /// One session (then the other filters are absent: the service refuses the mix).
    pub(crate) session_id: Option<String>,
    /// `AVAILABLE`, `BUSY` or `CLOSED`; absent means the open ones (`AVAILABLE` and `BUSY`).
    pub(crate) status: Option<String>,
    pub(crate) cluster_identifier: Option<String>,
    pub(crate) workgroup_name: Option<String>,
    pub(crate) database: Option<String>,
}

/// Closes the sessions whose keep-alive ran out (their connection goes) and forgets those closed over a day
/// ago: a closed session is still listed, but never runs a statement again.
pub(super) fn close_expired_sessions(sessions: &mut HashMap<String, Session>) {
    let now = Utc::now();
    for s in sessions.values_mut() {
        if s.closed_at.is_none() && s.expired() {
            s.closed_at = Some(now);
            s.updated_at = now;
            s.client = None;
        }
    }
    sessions.retain(|_, s| s.closed_at.is_none_or(|at| now - at < CLOSED_LISTED_FOR));
}

impl Session {
    fn status(&self) -> &'static str {
        match (self.closed_at, self.busy) {
            (Some(_), _) => "CLOSED",
            (None, true) => "BUSY",
            (None, false) => "AVAILABLE",
        }
    }

    /// When the session closes if no statement comes (an open, idle one) or closed.
    fn ttl(&self) -> Option<DateTime<Utc>> {
        match (self.closed_at, self.busy) {
            (Some(at), _) => Some(at),
            (None, true) => None,
            (None, false) => chrono::TimeDelta::from_std(self.keep_alive)
                .ok()
                .map(|keep| self.updated_at + keep),
        }
    }

    fn matches(&self, f: &SessionFilter) -> bool {
        let status_ok = match &f.status {
            Some(st) => st == self.status(),
            None => self.closed_at.is_none(),
        };
        status_ok
            && f.cluster_identifier
                .as_ref()
                .is_none_or(|c| self.target.cluster_identifier.as_ref() == Some(c))
            && f.workgroup_name
                .as_ref()
                .is_none_or(|w| self.target.workgroup_name.as_ref() == Some(w))
            && f.database
                .as_ref()
                .is_none_or(|d| &self.target.database == d)
    }
}

impl Engine {
    /// `ListSessions`: the caller's sessions, newest first, paged (`sessions-N` tokens). A `SessionId` that is
    /// not one of the caller's sessions is `ResourceNotFoundException`.
    pub(crate) fn list_sessions(
        &self,
        caller: &str,
        filter: &SessionFilter,
        page: &Page,
    ) -> Result<Listing<SessionView>, ApiError> {
        let mut inner = self.lock();
        close_expired_sessions(&mut inner.sessions);
        if let Some(sid) = &filter.session_id {
            if inner.sessions.get(sid).is_none_or(|s| s.owner != caller) {
                return Err(ApiError::session_not_found(sid));
            }
        }
        let mut mine: Vec<(&String, &Session)> = inner
            .sessions
            .iter()
            .filter(|(sid, s)| {
                s.owner == caller
                    && match &filter.session_id {
                        Some(one) => *sid == one,
                        None => s.matches(filter),
                    }
            })
            .collect();
        mine.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(a.0.cmp(b.0)));
        let (window, next_token) = page.window(mine.len());
        let items = mine[window]
            .iter()
            .map(|(sid, s)| SessionView {
                session_id: sid.to_string(),
                status: s.status(),
                created_at: s.created_at,
                updated_at: s.updated_at,
                target: s.target.clone(),
                keep_alive_seconds: s.keep_alive.as_secs(),
                ttl: s.ttl(),
                current_statement: current_statement(&inner.statements, sid, s).cloned(),
            })
            .collect();
        Ok(Listing { items, next_token })
    }
}

/// The statement a busy session runs (the service names it only while `BUSY`).
fn current_statement<'a>(
    statements: &'a HashMap<String, super::Stmt>,
    sid: &str,
    session: &Session,
) -> Option<&'a String> {
    if session.status() != "BUSY" {
        return None;
    }
    statements
        .iter()
        .find(|(_, st)| st.session_id.as_deref() == Some(sid) && !st.status.ended())
        .map(|(id, _)| id)
}
