//! The completer use case: settle a statement that ended, exactly once, and tell the waiting task.
//!
//! A record is claimed with a conditional write (a lease) before its callback, and settled after it, so two
//! completers racing on one event, duplicated or late events, and the sweeper never call back twice; a crash
//! between claim and settle only delays the settle until the lease ends and the message (or sweeper) comes back.

use crate::config::Settings;
use crate::error::TaskerError;
use crate::event::StatusChange;
use crate::outcome::{callback_for, deliver};
use crate::ports::{Claim, DataApi, FaultKind, StateStore, TaskCallbacks};
use crate::record::{token_hint, RecordStatus, Settlement, StatementRecord};
use crate::statement::Ending;
use chrono::{DateTime, Duration, Utc};
use tracing::{error, info, warn};

/// How long a claim keeps other completers away; longer than one settle takes, short enough for a quick retry.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);
/// How many times a callback follows a token that a retried start replaced meanwhile.
const TOKEN_FOLLOWS: usize = 3;
/// Records the sweeper looks at per run.
pub const SWEEP_BATCH: usize = 100;

/// What the completer talks to.
pub struct CompleterPorts<'a> {
    pub data: &'a dyn DataApi,
    pub store: &'a dyn StateStore,
    pub callbacks: &'a dyn TaskCallbacks,
}

/// What became of one ending.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// No record of that name: not ours.
    NotOurs,
    /// Already settled: a duplicate or late event.
    Duplicate,
    /// Another completer holds the claim; try again later.
    Busy,
    /// Settled now, with this status.
    Settled(RecordStatus),
}

/// Settles the statement of a completion event.
pub async fn complete_event(
    ports: &CompleterPorts<'_>,
    change: &StatusChange,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    settle_ending(
        ports,
        &change.statement_name,
        &change.statement_id,
        change.ending,
        change.rows,
        now,
    )
    .await
}

/// Claims, calls back and settles one statement that ended.
pub async fn settle_ending(
    ports: &CompleterPorts<'_>,
    name: &str,
    statement_id: &str,
    ending: Ending,
    rows: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let lease = now + CLAIM_LEASE;
    let record = match ports
        .store
        .claim(name, lease, now)
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
    let result = call_back(ports, &record, statement_id, ending, rows, lease, now).await;
    if result.is_err() {
        // Give the claim back so the retry need not wait for the lease.
        if let Err(e) = ports.store.release(name, lease).await {
            warn!(decision = "release_failed", statement_name = %name, error = %e);
        }
    }
    result
}

async fn call_back(
    ports: &CompleterPorts<'_>,
    record: &StatementRecord,
    statement_id: &str,
    ending: Ending,
    rows: Option<i64>,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let name = record.statement_name.as_str();
    let Some(mut token) = record.task_token.clone() else {
        // Fire-and-forget: nobody waits, the record just ends.
        let status = RecordStatus::from(ending);
        settle(ports, record, statement_id, status, None, lease, now).await?;
        return Ok(Disposition::Settled(status));
    };
    let outcome = callback_for(ports.data, record, statement_id, ending, rows)
        .await
        .map_err(TaskerError::data_api)?;
    let status = RecordStatus::from(outcome.callback.ending());
    for _ in 0..TOKEN_FOLLOWS {
        match deliver(ports.callbacks, &token, &outcome.callback).await {
            Ok(()) => {
                info!(decision = "called_back", statement_name = %name, status = status.as_str(), token = %token_hint(&token));
                settle(
                    ports,
                    record,
                    statement_id,
                    status,
                    outcome.error.clone(),
                    lease,
                    now,
                )
                .await?;
                return Ok(Disposition::Settled(status));
            }
            Err(e) if e.kind == FaultKind::TokenGone => {
                // A retried start may have stored a newer token meanwhile: that task is the one waiting.
                let current = ports
                    .store
                    .get(name)
                    .await
                    .map_err(TaskerError::state_table)?;
                match current.and_then(|r| r.task_token).filter(|t| *t != token) {
                    Some(newer) => {
                        info!(decision = "token_followed", statement_name = %name);
                        token = newer;
                    }
                    None => {
                        warn!(decision = "orphaned", statement_name = %name, error = %e);
                        let why = format!("{}; the statement ended {}", e, ending.as_str());
                        settle(
                            ports,
                            record,
                            statement_id,
                            RecordStatus::Orphaned,
                            Some(why),
                            lease,
                            now,
                        )
                        .await?;
                        return Ok(Disposition::Settled(RecordStatus::Orphaned));
                    }
                }
            }
            Err(e) => {
                warn!(decision = "callback_retry", statement_name = %name, error = %e);
                return Err(TaskerError::Callback(e.to_string()));
            }
        }
    }
    Err(TaskerError::Callback(format!(
        "{name}: the task token kept changing"
    )))
}

async fn settle(
    ports: &CompleterPorts<'_>,
    record: &StatementRecord,
    statement_id: &str,
    status: RecordStatus,
    error: Option<String>,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), TaskerError> {
    let name = record.statement_name.as_str();
    let settlement = Settlement {
        status,
        statement_id: Some(statement_id.to_string()),
        error,
        at: now,
    };
    let kept = ports
        .store
        .settle(name, &settlement, Some(lease))
        .await
        .map_err(TaskerError::state_table)?;
    if !kept {
        error!(decision = "lease_lost", statement_name = %name, "another completer took over after the lease ended");
    }
    if record.singleton {
        ports
            .store
            .unlock(&record.sql_digest, name)
            .await
            .map_err(TaskerError::state_table)?;
    }
    Ok(())
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    pub examined: usize,
    pub settled: usize,
    pub still_running: usize,
    pub failed: usize,
}

/// The sweeper: settles statements whose event never came, exactly as if it had.
pub async fn sweep(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<SweepReport, TaskerError> {
    let grace =
        Duration::seconds(i64::try_from(settings.sweep_grace_seconds).unwrap_or(i64::MAX / 1000));
    let records = ports
        .store
        .unsettled_before(now - grace, SWEEP_BATCH)
        .await
        .map_err(TaskerError::state_table)?;
    let mut report = SweepReport {
        examined: records.len(),
        ..Default::default()
    };
    for record in records {
        let Some(id) = record.statement_id.as_deref() else {
            // Never started, or the starter died before STARTED: the state's retry restarts it.
            report.still_running += 1;
            continue;
        };
        let ending = match ports.data.describe(id).await {
            Ok(d) => d.status.ending().map(|e| (e, d.result_rows)),
            Err(e) => {
                warn!(decision = "sweep_describe_failed", statement_name = %record.statement_name, error = %e);
                report.failed += 1;
                continue;
            }
        };
        let Some((ending, rows)) = ending else {
            report.still_running += 1;
            continue;
        };
        match settle_ending(ports, &record.statement_name, id, ending, rows, now).await {
            Ok(Disposition::Settled(_)) => report.settled += 1,
            Ok(_) => {}
            Err(e) => {
                warn!(decision = "sweep_settle_failed", statement_name = %record.statement_name, error = %e);
                report.failed += 1;
            }
        }
    }
    info!(
        decision = "swept",
        examined = report.examined,
        settled = report.settled,
        still_running = report.still_running,
        failed = report.failed
    );
    Ok(report)
}
