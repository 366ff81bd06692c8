//! One state entry's SQL, started exactly once: the record is written (conditionally) before the statement
//! starts, with the statement's name as its `ClientToken`, so a retry converges on the same statement whatever
//! step the last attempt died at; a retry of a running or ended entry adopts, resumes or answers it.

use super::lock::{release_lock, take_singleton_lock};
use super::{StarterConfig, StarterPorts};
use crate::completer::{
    answer_not_started, settle_statement, CompleterPorts, Evidence, CLAIM_LEASE,
    CLOUDFORMATION_WAIT,
};
use crate::custom_resource::CustomResourceCallback;
use crate::error::TaskerError;
use crate::invocation::Invocation;
use crate::invocation::Started;
use crate::metrics;
use crate::naming::{sql_digest, statement_name, EntryKey};
use crate::outcome::{deliver, not_started, record_outcome, Outcome};
use crate::payload::ExecuteRequest;
use crate::ports::{Claim, Claimant, Created, FaultKind};
use crate::record::{token_hint, unsettled_expiry, RecordStatus, StatementRecord};
use crate::statement::{DataApiStatus, ExecuteCall};
use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

/// How long the Data API remembers a `ClientToken` is 8 hours; past this age a restart looks the statement up
/// by name before it executes again.
pub(crate) const CLIENT_TOKEN_TRUST: Duration = Duration::hours(7);
/// How long after a deploy-time request's record was written a retry may still start its statement: half of
/// [`NOT_STARTED_AFTER`](crate::completer::NOT_STARTED_AFTER), so a statement started by the last allowed retry is listed by name long before the sweeper
/// asks `ListStatements` whether it ever started.
pub(crate) const CFN_RESTART_WITHIN: Duration = Duration::minutes(15);
/// Tries of the `STARTED` write once a statement exists; after them the record is left to its event or the
/// sweeper, and the start still succeeds.
const MARK_STARTED_TRIES: usize = 3;

pub(super) async fn execute(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    invocation: Invocation<'_>,
) -> Result<Started, TaskerError> {
    let settings = &config.settings;
    let now = invocation.now;
    let digest = sql_digest(&req.sql, &req.parameters);
    let name = statement_name(
        &settings.prefix,
        &EntryKey::for_start(
            req.execution_arn.as_deref(),
            req.state_name.as_deref(),
            req.state_entered_time.as_deref(),
            &digest,
            req.task_token.as_deref(),
            invocation.id,
        ),
    );
    let expires_at = unsettled_expiry(now, settings.record_ttl_days);
    if req.singleton {
        // A retry of an entry that has a record resumes it: its lock is its own business (taken, or freed when
        // it ended), and another run's lock must not refuse it.
        let existing = ports
            .store
            .get(&name)
            .await
            .map_err(TaskerError::state_table)?;
        if let Some(existing) = existing {
            return resume(ports, config, req, existing, now).await;
        }
        take_singleton_lock(ports.store, ports.locks, &digest, &name, now, expires_at).await?;
    }
    let record = StatementRecord {
        statement_name: name.clone(),
        execution_arn: req.execution_arn.clone(),
        state_name: req.state_name.clone(),
        task_token: req.task_token.clone(),
        statement_id: None,
        status: RecordStatus::Submitted,
        sql_digest: digest,
        result_rows: req.result_rows,
        result_max_bytes: req.result_max_bytes,
        singleton: req.singleton,
        created_at: now,
        updated_at: now,
        settled_at: None,
        cancel_requested_at: None,
        error: None,
        expires_at,
    };
    let created = match ports.store.create(&record).await {
        Ok(created) => created,
        Err(e) => {
            // No statement exists: whatever the write did, a retry re-takes the lock for this entry.
            if req.singleton {
                release_lock(ports.locks, &record).await;
            }
            return Err(TaskerError::state_table(e));
        }
    };
    match created {
        Created::New => {
            info!(decision = "recorded", statement_name = %name, waits = req.task_token.is_some());
            let (started, ended) = start(ports, config, req, &record, now).await?;
            if ended {
                fast_path(ports, config, &started, now).await;
            }
            Ok(started)
        }
        Created::Existing(existing) => {
            if req.singleton && existing.status.is_settled() {
                // Raced with the entry's own earlier attempt, which ended: the lock just taken is not needed.
                release_lock(ports.locks, &record).await;
            }
            resume(ports, config, req, *existing, now).await
        }
    }
}

/// Starts the SQL and marks the record `STARTED`; the flag says the statement already ended (the fast path may
/// answer it once the caller gave back any claim it holds). A start that failed before the statement existed
/// leaves the record `SUBMITTED` for a retry (which calls the Data API again with the same `ClientToken`) and
/// frees the singleton lock; once the Data API returned an id, the start succeeds whatever follows.
async fn start(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    record: &StatementRecord,
    now: DateTime<Utc>,
) -> Result<(Started, bool), TaskerError> {
    let name = record.statement_name.as_str();
    if now - record.created_at >= CLIENT_TOKEN_TRUST {
        // The Data API may have forgotten the ClientToken: a second ExecuteStatement would run the SQL again.
        if let Some(id) = ports
            .data
            .find_by_name(name)
            .await
            .map_err(TaskerError::data_api)?
        {
            info!(decision = "found_by_name", statement_name = %name, statement_id = %id);
            return Ok((adopt(ports, config, name, &id, now).await?, false));
        }
    }
    let call = ExecuteCall {
        statement_name: name.to_string(),
        sql: req.sql.clone(),
        parameters: req.parameters.clone(),
        target: config.target.clone(),
        with_event: true,
        wait_seconds: req
            .wait_seconds
            .or((config.fast_path_seconds > 0).then_some(config.fast_path_seconds)),
        session: req.session.clone(),
    };
    match ports.data.execute(&call).await {
        Ok(executed) => {
            let mut reply = adopt(ports, config, name, &executed.id, now).await?;
            reply.session_id = executed.session_id.clone();
            let ended = executed.status.and_then(DataApiStatus::ending).is_some();
            Ok((reply, ended))
        }
        Err(e) => {
            // A fault on the way back may hide a statement that did start; a refusal cannot.
            let not_started = match e.kind {
                FaultKind::Retryable => match ports.data.find_by_name(name).await {
                    Ok(Some(id)) => {
                        info!(decision = "started_despite_error", statement_name = %name, statement_id = %id);
                        return Ok((adopt(ports, config, name, &id, now).await?, false));
                    }
                    Ok(None) => true,
                    // Unknown: keep the lock; the sweeper frees it once the record is settled.
                    Err(_) => false,
                },
                _ => true,
            };
            warn!(decision = "start_failed", statement_name = %name, error = %e, "record left SUBMITTED for a retry");
            if record.singleton && not_started {
                release_lock(ports.locks, record).await;
            }
            Err(TaskerError::data_api(e))
        }
    }
}

/// The fast path: the statement ended while the start waited for it, so the starter settles and answers it
/// itself, through the completer's claim (the event, coming later, is then a duplicate). Whatever fails here is
/// left to that event or the sweeper, as on the event path. Its clock is the statement's end when that is later
/// than the invocation's start (the start waited for it), so its lease and `settledAt` are not in the past.
async fn fast_path(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    started: &Started,
    now: DateTime<Utc>,
) {
    let (name, id) = (
        started.statement_name.as_str(),
        started.statement_id.as_str(),
    );
    let d = match ports.data.describe(id).await {
        Ok(d) if d.status.ending().is_some() => d,
        Ok(_) => return,
        Err(e) => {
            warn!(decision = "fast_path_skipped", statement_name = %name, error = %e);
            return;
        }
    };
    let now = d.updated_at.map_or(now, |ended| ended.max(now));
    let completer = CompleterPorts {
        data: ports.data,
        store: ports.store,
        locks: ports.locks,
        callbacks: ports.callbacks,
    };
    let evidence = Evidence::Described(Box::new(d));
    match settle_statement(&completer, &config.settings, name, evidence, now).await {
        Ok(disposition) => {
            info!(decision = "fast_path", statement_name = %name, disposition = ?disposition)
        }
        Err(e) => warn!(decision = "fast_path_failed", statement_name = %name, error = %e),
    }
}

/// Stores the id of a statement that exists. Never fails the start: a record that could not be marked is
/// completed by its event or the sweeper, which find the statement by name (the record is unsettled: a revived
/// record was made `SUBMITTED` again before its statement started).
async fn adopt(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    name: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Started, TaskerError> {
    let expires = unsettled_expiry(now, config.settings.record_ttl_days);
    for attempt in 1..=MARK_STARTED_TRIES {
        match ports.store.mark_started(name, id, now, expires).await {
            Ok(moved) => {
                if moved {
                    metrics::started();
                }
                info!(decision = "started", statement_name = %name, statement_id = %id, already_moved_on = !moved);
                return Ok(started_reply(name, id));
            }
            Err(e) => {
                warn!(decision = "mark_started_failed", statement_name = %name, attempt, error = %e)
            }
        }
    }
    warn!(decision = "started_unmarked", statement_name = %name, statement_id = %id, "left SUBMITTED; its event or the sweeper completes it");
    Ok(started_reply(name, id))
}

/// The reply of an execute: our names, plus the Data API's `Id` that the seed's polling state machines read.
fn started_reply(name: &str, id: &str) -> Started {
    Started {
        statement_name: name.to_string(),
        statement_id: id.to_string(),
        session_id: None,
    }
}

/// A retried invocation of a state entry that already has a record.
async fn resume(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    existing: StatementRecord,
    now: DateTime<Utc>,
) -> Result<Started, TaskerError> {
    let name = existing.statement_name.clone();
    let cfn = existing
        .task_token
        .as_deref()
        .and_then(CustomResourceCallback::from_token)
        .is_some();
    let replaced = match &req.task_token {
        Some(token) if existing.task_token.as_deref() != Some(token.as_str()) => Some(token),
        _ => None,
    };
    let record = match replaced {
        Some(token) => {
            info!(decision = "token_replaced", statement_name = %name, token = %token_hint(token));
            ports
                .store
                .set_token(&name, token, now)
                .await
                .map_err(TaskerError::state_table)?
        }
        None => existing,
    };
    let id = match (record.status, &record.statement_id) {
        // A CloudFormation request whose start was refused is answered FAILED and never started again; a retry
        // of its invocation (the first may have died before its answer went out) repeats that answer.
        (RecordStatus::NotStarted, _) if cfn => {
            if now - record.created_at > CLOUDFORMATION_WAIT {
                // Nobody reads an answer this late, and it may be a first one (the sweeper found the record late).
                info!(decision = "cloudformation_stopped_waiting", statement_name = %name);
                return Ok(started_reply(&name, ""));
            }
            let token = record.task_token.as_deref().unwrap_or_default();
            let why = record.error.clone().unwrap_or_default();
            let completer = CompleterPorts {
                data: ports.data,
                store: ports.store,
                locks: ports.locks,
                callbacks: ports.callbacks,
            };
            answer_not_started(&completer, token, &name, &not_started(&record, &why)).await?;
            return Ok(started_reply(&name, ""));
        }
        (RecordStatus::Submitted | RecordStatus::NotStarted, _) | (_, None) => {
            info!(decision = "restart", statement_name = %name, "previous attempt stopped before STARTED");
            return restart(ports, config, req, &record, now).await;
        }
        (_, Some(id)) => id.clone(),
    };
    if !record.status.is_settled() {
        info!(decision = "already_running", statement_name = %name, statement_id = %id);
        return Ok(started_reply(&name, &id));
    }
    // Settled before this retry: its callback went to the old token, so answer the new one now (a token that
    // did not change was answered already).
    if let Some(token) = replaced {
        let outcome = settled_outcome(&record, &id);
        match deliver(ports.callbacks, token, &name, &outcome.callback).await {
            Ok(()) => {
                info!(decision = "called_back_on_retry", statement_name = %name, status = outcome.status.as_str())
            }
            Err(e) if e.kind == FaultKind::TokenGone => {
                warn!(decision = "retry_token_gone", statement_name = %name, error = %e)
            }
            Err(e) => return Err(TaskerError::Callback(e.to_string())),
        }
    }
    Ok(started_reply(&name, &id))
}

/// Starts the statement of a record whose earlier start stopped before `STARTED`. An unsettled record is claimed
/// for the restart, so that the sweeper cannot judge it `NOT_STARTED` (and free its lock) while the statement is
/// being started; a record the sweeper already settled `NOT_STARTED` is first revived (made `SUBMITTED` again), so
/// that a statement started now always has an unsettled record behind it.
async fn restart(
    ports: &StarterPorts<'_>,
    config: &StarterConfig,
    req: &ExecuteRequest,
    record: &StatementRecord,
    now: DateTime<Utc>,
) -> Result<Started, TaskerError> {
    let name = record.statement_name.as_str();
    let lease = now + CLAIM_LEASE;
    let expires = unsettled_expiry(now, config.settings.record_ttl_days);
    let cfn = record
        .task_token
        .as_deref()
        .and_then(CustomResourceCallback::from_token)
        .is_some();
    if cfn && now - record.created_at >= CFN_RESTART_WITHIN {
        // The sweeper judges such a record never started at NOT_STARTED_AFTER and answers it FAILED; a start now
        // could answer the same request twice with opposite results, or hide from that judgement in
        // ListStatements' lag. A deploy-time record is never made young again (CloudFormation's hour counts from
        // the request), so restarts stop with half of that time still ahead.
        return Err(TaskerError::DataApi {
            code: "NotStarted".into(),
            message: format!("{name}: this request is too old to start; it is answered FAILED"),
        });
    }
    let mut revives = 0;
    loop {
        match ports
            .store
            .claim(name, Claimant::Restart, lease, now)
            .await
            .map_err(TaskerError::state_table)?
        {
            Claim::Won(r) => {
                if r.statement_id.is_none() && !cfn {
                    // Young again before the statement starts: a sweep after our claim ends gives the start (and
                    // ListStatements' lag) time before it calls the record never started.
                    ports
                        .store
                        .revive(name, now, expires)
                        .await
                        .map_err(TaskerError::state_table)?;
                }
                break;
            }
            Claim::Settled(r) if r.status == RecordStatus::NotStarted && revives < 2 && !cfn => {
                revives += 1;
                if ports
                    .store
                    .revive(name, now, expires)
                    .await
                    .map_err(TaskerError::state_table)?
                {
                    info!(decision = "revived", statement_name = %name);
                }
            }
            Claim::Settled(r) if r.status == RecordStatus::NotStarted => {
                return Err(TaskerError::StateTable(format!(
                    "{name}: the record keeps being settled NOT_STARTED; retry the start"
                )));
            }
            Claim::Settled(r) => {
                // Its statement was found and settled since we stored our token: the completer answered that
                // token (its settle is conditional on it), so there is nothing left to start or to answer.
                info!(decision = "settled_meanwhile", statement_name = %name, status = r.status.as_str());
                let id = r.statement_id.unwrap_or_default();
                return Ok(started_reply(name, &id));
            }
            Claim::Busy(_) | Claim::Missing => {
                info!(decision = "restart_busy", statement_name = %name);
                return Err(TaskerError::StateTable(format!(
                    "{name}: the record is being settled right now; retry the start"
                )));
            }
        }
    }
    let result = async {
        if record.singleton {
            take_singleton_lock(
                ports.store,
                ports.locks,
                &record.sql_digest,
                name,
                now,
                expires,
            )
            .await?;
        }
        start(ports, config, req, record, now).await
    }
    .await;
    if let Err(e) = ports.store.release(name, lease).await {
        warn!(decision = "release_failed", statement_name = %name, error = %e);
    }
    let (started, ended) = result?;
    if ended {
        // After the claim is given back: the fast path claims the record as its settler.
        fast_path(ports, config, &started, now).await;
    }
    Ok(started)
}

/// The answer for a retry of an entry that already settled, from the record alone: the Data API is not asked
/// again (past its 24-hour retention it would call a finished statement lost). The record keeps the ending and
/// the error text, not the result: a retried `FINISHED` entry is answered with the statement and its state, and
/// `detail.retried: true` says why `rows` and `records` are missing.
fn settled_outcome(record: &StatementRecord, id: &str) -> Outcome {
    record_outcome(record, id)
}
