//! The completer use case: settle a statement that ended, exactly once, and tell the waiting task.
//!
//! A record is claimed with a conditional write (a lease) before its callback, and settled after it, so two
//! completers racing on one event, duplicated or late events, and the sweeper never call back twice; a crash
//! between claim and settle only delays the settle until the lease ends and the message (or sweeper) comes back.
//! The settle is also conditional on the task token just answered: a token that a retried start stored
//! meanwhile is answered too, never left waiting. An event is only a hint: the outcome comes from the record's
//! own statement, so a forged or stray event can settle nothing that has not really ended.

use crate::config::Settings;
use crate::custom_resource::CustomResourceCallback;
use crate::error::TaskerError;
use crate::event::StatusChange;
use crate::metrics;
use crate::outcome::{callback_for, deliver, lost, not_started, Outcome};
use crate::ports::{
    Claim, Claimant, DataApi, FaultKind, Settled, SingletonLocks, StateStore, TaskCallbacks,
};
use crate::record::{settled_expiry, token_hint, RecordStatus, Settlement, StatementRecord};
use crate::statement::Description;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use tracing::{info, warn};

/// How long a claim keeps other completers away; longer than one settle takes, short enough for a quick retry.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);
/// How many times a callback follows a token that a retried start replaced meanwhile.
const TOKEN_FOLLOWS: usize = 3;
/// Tries of the settle write under one claim.
const SETTLE_TRIES: usize = 3;
/// A record still `SUBMITTED` without a statement this long after its creation had its start fail (a start
/// lasts at most the starter's 15-minute Lambda limit).
pub const NOT_STARTED_AFTER: Duration = Duration::minutes(30);

/// How long CloudFormation waits for a custom resource's answer (its `ServiceTimeout` is at most an hour), with a
/// margin: past it nobody reads an answer, and a late one could only contradict an earlier answer whose
/// acknowledgement was lost (a `FAILED` `StatementLost` a day after a `SUCCESS`), so it is not sent.
pub const CLOUDFORMATION_WAIT: Duration = Duration::minutes(75);

/// What the completer talks to.
pub struct CompleterPorts<'a> {
    /// Tells the outcome: the record's own statement, never the event's word.
    pub data: &'a dyn DataApi,
    /// Holds the claim that makes a callback happen once.
    pub store: &'a dyn StateStore,
    /// Frees a singleton's lock once its statement ended.
    pub locks: &'a dyn SingletonLocks,
    /// Answers the waiting task (or CloudFormation).
    pub callbacks: &'a dyn TaskCallbacks,
}

impl std::fmt::Debug for CompleterPorts<'_> {
    /// The ports are trait objects: only the type is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompleterPorts").finish_non_exhaustive()
    }
}

/// What became of one ending.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// No record of that name: not ours.
    NotOurs,
    /// Already settled: a duplicate or late event.
    Duplicate,
    /// Another completer holds the claim (or took it over); try again later.
    Busy,
    /// The event names another statement than the record's (or one the Data API does not know by that name).
    Mismatch,
    /// The record's statement has not ended (a forged or early event); its real event settles it.
    StillRunning,
    /// Settled now, with this status.
    Settled(RecordStatus),
}

/// What says that a record's statement ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Evidence<'a> {
    /// A completion event naming this statement id, with its `detail`.
    Event {
        /// Must match the record's statement, so a stray event settles nothing.
        statement_id: &'a str,
        /// Becomes the success output's `detail`, as the seed returned it.
        detail: &'a Value,
    },
    /// The sweeper's `DescribeStatement` of the record's statement, which has ended.
    Described(Box<Description>),
    /// The Data API no longer knows the record's statement.
    Lost {
        /// Named in the `StatementLost` failure, so a person can look it up.
        statement_id: String,
    },
    /// No statement of the record's name exists: the start failed and was never retried.
    NeverStarted,
}

/// Settles the statement of a completion event.
pub async fn complete_event(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    change: &StatusChange,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let evidence = Evidence::Event {
        statement_id: &change.statement_id,
        detail: &change.detail,
    };
    settle_statement(ports, settings, &change.statement_name, evidence, now).await
}

/// The statement id without a batch member's `:N`.
fn parent_id(id: &str) -> &str {
    id.split_once(':').map_or(id, |(parent, _)| parent)
}

/// Claims, checks the evidence against the record, calls back and settles one statement.
pub(crate) async fn settle_statement(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    name: &str,
    evidence: Evidence<'_>,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let lease = now + CLAIM_LEASE;
    let record = match ports
        .store
        .claim(name, Claimant::Settler, lease, now)
        .await
        .map_err(TaskerError::state_table)?
    {
        Claim::Won(r) => r,
        Claim::Missing => {
            info!(decision = "not_ours", statement_name = %name);
            return Ok(Disposition::NotOurs);
        }
        Claim::Settled(r) => {
            info!(decision = "duplicate", statement_name = %name, status = r.status.as_str());
            return Ok(Disposition::Duplicate);
        }
        Claim::Busy(_) => {
            info!(decision = "busy", statement_name = %name);
            return Ok(Disposition::Busy);
        }
    };
    let result = finish(ports, settings, &record, evidence, lease, now).await;
    if !matches!(result, Ok(Disposition::Settled(_))) {
        // Give the claim back so the retry (or the real event) need not wait for the lease.
        if let Err(e) = ports.store.release(name, lease).await {
            warn!(decision = "release_failed", statement_name = %name, error = %e);
        }
    }
    result
}

async fn finish(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    record: &StatementRecord,
    evidence: Evidence<'_>,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let name = record.statement_name.as_str();
    let (statement_id, outcome) = match evidence {
        Evidence::NeverStarted => {
            if record.statement_id.is_some() || record.status != RecordStatus::Submitted {
                // A restart got its statement going between our look-up and our claim.
                return Ok(Disposition::StillRunning);
            }
            let why = "the start failed and was not retried".to_string();
            info!(decision = "not_started", statement_name = %name);
            let settlement = Settlement {
                status: RecordStatus::NotStarted,
                statement_id: None,
                error: Some(why.clone()),
                at: now,
                expires_at: settled_expiry(now, settings.record_ttl_days),
                if_token: record.task_token.clone(),
                if_no_statement: true,
            };
            // The lock goes first, while our claim keeps restarts away: once the record reads NOT_STARTED, a late
            // retry may revive it and re-take the lock under the same name, which a later unlock would free.
            free_lock(ports.locks, record).await?;
            let unlocked = StatementRecord {
                singleton: false,
                ..record.clone()
            };
            // A CloudFormation request still waits for its answer (a Step Functions task saw its start fail): it
            // gets FAILED, before the settle, so a crash in between answers again rather than never (no start can
            // interfere: a request this old is never started again).
            let cfn = record
                .task_token
                .as_deref()
                .filter(|t| CustomResourceCallback::from_token(t).is_some());
            let Some(token) = cfn else {
                return settle_quietly(ports, &unlocked, &settlement, lease).await;
            };
            if now - record.created_at > CLOUDFORMATION_WAIT {
                // Nobody reads an answer this late (a sweep that did not run for an hour): settled unanswered,
                // as the completer settles a late statement (CloudFormation failed the operation on its own).
                info!(decision = "cloudformation_stopped_waiting", statement_name = %name);
                return settle_quietly(ports, &unlocked, &settlement, lease).await;
            }
            let outcome = not_started(record, &why);
            answer_not_started(ports, token, name, &outcome).await?;
            return settle_quietly(ports, &unlocked, &settlement, lease).await;
        }
        Evidence::Lost { statement_id } => {
            let outcome = lost(record, &statement_id);
            (statement_id, outcome)
        }
        Evidence::Described(d) => {
            let Some(ending) = d.status.ending() else {
                return Ok(Disposition::StillRunning);
            };
            let outcome = callback_for(ports.data, record, &d, ending, None)
                .await
                .map_err(TaskerError::data_api)?;
            (d.id.clone(), outcome)
        }
        Evidence::Event {
            statement_id,
            detail,
        } => {
            let claimed = parent_id(statement_id);
            let own = match &record.statement_id {
                Some(own) => own.clone(),
                // The starter has not stored the id (yet): ask the Data API which statement has our name.
                None => match ports
                    .data
                    .find_by_name(name)
                    .await
                    .map_err(TaskerError::data_api)?
                {
                    Some(found) => found,
                    None => {
                        warn!(decision = "event_unverified", statement_name = %name);
                        return Ok(Disposition::Mismatch);
                    }
                },
            };
            if own != claimed {
                warn!(decision = "event_mismatch", statement_name = %name, "the event names another statement than the record's");
                return Ok(Disposition::Mismatch);
            }
            let d = ports
                .data
                .describe(&own)
                .await
                .map_err(TaskerError::data_api)?;
            let Some(ending) = d.status.ending() else {
                warn!(decision = "event_early", statement_name = %name, status = d.status.as_str());
                return Ok(Disposition::StillRunning);
            };
            let outcome = callback_for(ports.data, record, &d, ending, Some(detail))
                .await
                .map_err(TaskerError::data_api)?;
            (own, outcome)
        }
    };
    call_back(ports, settings, record, &statement_id, outcome, lease, now).await
}

/// Answers a CloudFormation request whose statement never started: a refused answer (an expired URL) is final,
/// a fault is the caller's to retry.
pub(crate) async fn answer_not_started(
    ports: &CompleterPorts<'_>,
    token: &str,
    name: &str,
    outcome: &Outcome,
) -> Result<(), TaskerError> {
    match deliver(ports.callbacks, token, name, &outcome.callback).await {
        Ok(()) => {
            info!(decision = "called_back", statement_name = %name, status = "NOT_STARTED");
            Ok(())
        }
        Err(e) if e.kind == FaultKind::Retryable => {
            warn!(decision = "callback_retry", statement_name = %name, error = %e);
            Err(TaskerError::Callback(e.to_string()))
        }
        Err(e) => {
            warn!(decision = "callback_refused", statement_name = %name, error = %e);
            Ok(())
        }
    }
}

/// Delivers the outcome to the record's task token and settles the record, following a token that a retried
/// start stored meanwhile.
async fn call_back(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    record: &StatementRecord,
    statement_id: &str,
    outcome: Outcome,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let name = record.statement_name.as_str();
    let settlement =
        |status: RecordStatus, error: Option<String>, token: Option<&str>| Settlement {
            status,
            statement_id: Some(statement_id.to_string()),
            error,
            at: now,
            expires_at: settled_expiry(now, settings.record_ttl_days),
            if_token: token.map(str::to_string),
            if_no_statement: false,
        };
    let Some(mut token) = record.task_token.clone() else {
        // Fire-and-forget: nobody waits, the record just ends.
        let s = settlement(outcome.status, outcome.error.clone(), None);
        return settle_quietly(ports, record, &s, lease).await;
    };
    for _ in 0..TOKEN_FOLLOWS {
        let too_late = CustomResourceCallback::from_token(&token).is_some()
            && now - record.created_at > CLOUDFORMATION_WAIT;
        let delivered = if too_late {
            Err(crate::ports::PortError::new(
                FaultKind::TokenGone,
                "CloudFormationStoppedWaiting",
                "the request is older than CloudFormation's wait for an answer",
            ))
        } else {
            deliver(ports.callbacks, &token, name, &outcome.callback).await
        };
        let s = match delivered {
            Ok(()) => {
                if let Some(ended) = outcome.ended_at {
                    metrics::callback_latency((now - ended).num_milliseconds());
                }
                info!(decision = "called_back", statement_name = %name, status = outcome.status.as_str(), token = %token_hint(&token));
                settlement(outcome.status, outcome.error.clone(), Some(&token))
            }
            Err(e) if e.kind == FaultKind::Rejected => {
                // Refused for good (an output or token Step Functions will never take): retrying cannot help.
                warn!(decision = "undeliverable", statement_name = %name, code = %e.code);
                let why = format!(
                    "{}; the statement ended {}",
                    e.code,
                    outcome.status.as_str()
                );
                settlement(RecordStatus::Undeliverable, Some(why), Some(&token))
            }
            Err(e) if e.kind == FaultKind::TokenGone => {
                warn!(decision = "token_gone", statement_name = %name, error = %e);
                let why = format!("{e}; the statement ended {}", outcome.status.as_str());
                // LOST says what became of the statement; ORPHANED only that its task was gone.
                let status = match outcome.status {
                    RecordStatus::Lost => RecordStatus::Lost,
                    _ => RecordStatus::Orphaned,
                };
                settlement(status, Some(why), Some(&token))
            }
            Err(e) => {
                warn!(decision = "callback_retry", statement_name = %name, error = %e);
                return Err(TaskerError::Callback(e.to_string()));
            }
        };
        match settle(ports, record, &s, lease).await? {
            Ok(status) => return Ok(Disposition::Settled(status)),
            // The token changed (a retried start is waiting now): answer that one too.
            Err(Some(current)) if !current.status.is_settled() => match current.task_token {
                Some(newer) if newer != token => {
                    info!(decision = "token_followed", statement_name = %name);
                    token = newer;
                }
                _ => return Ok(Disposition::Busy),
            },
            // Our lease is gone and another completer settled it, or the record is gone.
            Err(_) => return Ok(Disposition::Busy),
        }
    }
    Err(TaskerError::Callback(format!(
        "{name}: the task token kept changing"
    )))
}

/// Settles under our claim and frees the singleton lock: the statement has really ended (or never existed).
/// `Err` with the record as it stands when a condition failed (a newer token, or our lease is gone).
async fn settle(
    ports: &CompleterPorts<'_>,
    record: &StatementRecord,
    settlement: &Settlement,
    lease: DateTime<Utc>,
) -> Result<Result<RecordStatus, Option<Box<StatementRecord>>>, TaskerError> {
    let name = record.statement_name.as_str();
    // Retried: after a delivered callback, giving up here would let the next attempt answer a closed task.
    let mut tries = 0;
    let settled = loop {
        tries += 1;
        match ports.store.settle(name, settlement, Some(lease)).await {
            Ok(settled) => break settled,
            Err(e) if tries < SETTLE_TRIES && e.kind == FaultKind::Retryable => {
                warn!(decision = "settle_retry", statement_name = %name, error = %e);
            }
            Err(e) => return Err(TaskerError::state_table(e)),
        }
    };
    match settled {
        Settled::Done => {}
        Settled::Refused(current) => {
            warn!(decision = "settle_refused", statement_name = %name, "a newer token, or another completer took over after the lease ended");
            return Ok(Err(current));
        }
    }
    metrics::settled(settlement.status);
    info!(decision = "settled", statement_name = %name, status = settlement.status.as_str());
    free_lock(ports.locks, record).await?;
    Ok(Ok(settlement.status))
}

/// Frees the singleton lock the record's statement holds, if it holds one.
async fn free_lock(
    locks: &dyn SingletonLocks,
    record: &StatementRecord,
) -> Result<(), TaskerError> {
    if record.singleton {
        locks
            .unlock(&record.sql_digest, &record.statement_name)
            .await
            .map_err(TaskerError::state_table)?;
    }
    Ok(())
}

/// [`settle`] for a record nobody waits on: a refused condition means another completer has it.
async fn settle_quietly(
    ports: &CompleterPorts<'_>,
    record: &StatementRecord,
    settlement: &Settlement,
    lease: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    Ok(match settle(ports, record, settlement, lease).await? {
        Ok(status) => Disposition::Settled(status),
        Err(_) => Disposition::Busy,
    })
}
