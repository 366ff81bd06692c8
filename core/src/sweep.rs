//! The sweeper: the completer's scheduled pass over every record still unsettled after a grace period. It
//! settles those whose statement ended exactly as their event would have (the event was lost or never sent),
//! fails those past the Data API's retention (`LOST`) or never started (`NOT_STARTED`), and moves the ones still
//! running to the back of the order, so a pass cut short by its budget is resumed by the next.

use crate::completer::{
    settle_statement, CompleterPorts, Disposition, Evidence, NOT_STARTED_AFTER,
};
use crate::config::Settings;
use crate::error::TaskerError;
use crate::metrics;
use crate::ports::FaultKind;
use crate::record::{unsettled_expiry, RecordStatus, StatementRecord};
use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

/// Records the sweeper reads per page.
pub(crate) const SWEEP_PAGE: usize = 100;

/// Records of a page the sweeper settles at once. Each record is its own claim, so they are independent; one
/// after the other, a burst of 2,000 lost events took 19 scheduled passes to drain at 30 ms per AWS call
/// (BENCHMARKS.md, "Scale"). Bounded, so that a pass stays well inside DynamoDB's and Step Functions' rates.
const SWEEP_CONCURRENCY: usize = 8;

/// How much one sweep may do: the Lambda's time, or (in tests) a number of records.
#[derive(Debug, Clone, Copy)]
pub struct SweepBudget {
    /// Stop examining records at this instant.
    pub until: Option<std::time::Instant>,
    /// Stop after this many records.
    pub max_records: Option<usize>,
}

impl SweepBudget {
    fn exhausted(&self, examined: usize) -> bool {
        self.until.is_some_and(|t| std::time::Instant::now() >= t)
            || self.max_records.is_some_and(|n| examined >= n)
    }
}

/// What one sweep did: the completer returns it (camelCase JSON) so a sweep's reach shows in its invocation log.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Records looked at, to see a sweep's reach in its log.
    pub examined: usize,
    /// Records settled because their event never came.
    pub settled: usize,
    /// Records past the Data API's retention, failed with `StatementLost`.
    pub lost: usize,
    /// Records whose start failed and was never retried.
    pub not_started: usize,
    /// Records whose statement still runs (moved to the back of the order).
    pub still_running: usize,
    /// Records that could not be read: left for a person, never blocking the sweep.
    pub undecodable: usize,
    /// Records whose settle failed (left for the next sweep).
    pub failed: usize,
    /// The budget ran out before the last page; the next sweep resumes with the records this one did not reach.
    pub stopped_early: bool,
}

/// The sweeper: pages through every record still unsettled after the grace period and settles those whose
/// statement ended exactly as if their event had come; moves hopeless ones to `NOT_STARTED` or `LOST`.
/// Records it found running are moved to the back of the order, so a sweep cut short by its budget is resumed
/// by the next one where it stopped, and no stuck record hides the others.
pub async fn sweep(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    budget: SweepBudget,
    now: DateTime<Utc>,
) -> Result<SweepReport, TaskerError> {
    let grace =
        Duration::seconds(i64::try_from(settings.sweep_grace_seconds).unwrap_or(i64::MAX / 1000));
    let mut report = SweepReport::default();
    let mut after = None;
    'pages: loop {
        let page = ports
            .store
            .unsettled_page(now - grace, SWEEP_PAGE, after)
            .await
            .map_err(TaskerError::state_table)?;
        for name in &page.undecodable {
            warn!(decision = "sweep_undecodable", statement_name = %name);
        }
        report.undecodable += page.undecodable.len();
        let mut records = page.records.into_iter();
        loop {
            let room = match budget.max_records {
                Some(n) => n.saturating_sub(report.examined).min(SWEEP_CONCURRENCY),
                None => SWEEP_CONCURRENCY,
            };
            let chunk: Vec<StatementRecord> = records.by_ref().take(room.max(1)).collect();
            if chunk.is_empty() {
                break;
            }
            if budget.exhausted(report.examined) {
                report.stopped_early = true;
                break 'pages;
            }
            report.examined += chunk.len();
            let verdicts = futures::future::join_all(
                chunk
                    .iter()
                    .map(|record| sweep_record(ports, settings, record, now)),
            )
            .await;
            for (record, verdict) in chunk.iter().zip(verdicts) {
                let name = record.statement_name.as_str();
                match verdict {
                    Ok(Disposition::Settled(status)) => {
                        report.settled += 1;
                        match status {
                            RecordStatus::Lost => report.lost += 1,
                            RecordStatus::NotStarted => report.not_started += 1,
                            _ => {}
                        }
                    }
                    Ok(Disposition::StillRunning) => report.still_running += 1,
                    Ok(_) => {}
                    Err(e) => {
                        warn!(decision = "sweep_settle_failed", statement_name = %name, error = %e);
                        report.failed += 1;
                    }
                }
            }
        }
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    info!(
        decision = "swept",
        examined = report.examined,
        settled = report.settled,
        lost = report.lost,
        not_started = report.not_started,
        still_running = report.still_running,
        undecodable = report.undecodable,
        failed = report.failed,
        stopped_early = report.stopped_early
    );
    Ok(report)
}

/// Sweeps one record, and moves it to the back of the order when it stays unsettled, whatever kept it so (still
/// running, busy, or failing at every sweep): the next sweep, or this one cut short by the Lambda timeout, goes on
/// with the others. The index is paged by position, so a record moved out of the range is not met again.
async fn sweep_record(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    record: &StatementRecord,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let verdict = sweep_one(ports, settings, record, now).await;
    if !matches!(verdict, Ok(Disposition::Settled(_))) {
        let name = record.statement_name.as_str();
        if let Err(e) = ports.store.touch(name, now).await {
            warn!(decision = "sweep_touch_failed", statement_name = %name, error = %e);
        }
    }
    verdict
}

/// Looks at one unsettled record and settles it if its statement ended (or never existed, or is lost).
async fn sweep_one(
    ports: &CompleterPorts<'_>,
    settings: &Settings,
    record: &StatementRecord,
    now: DateTime<Utc>,
) -> Result<Disposition, TaskerError> {
    let name = record.statement_name.as_str();
    let id = match &record.statement_id {
        Some(id) => id.clone(),
        None => {
            if now - record.created_at < NOT_STARTED_AFTER {
                // Its start may still be under way, or about to be retried.
                return Ok(Disposition::StillRunning);
            }
            match ports
                .data
                .find_by_name(name)
                .await
                .map_err(TaskerError::data_api)?
            {
                None => {
                    return settle_statement(ports, settings, name, Evidence::NeverStarted, now)
                        .await
                }
                Some(id) => {
                    // It started, but the starter never stored the id: store it now.
                    let expires = unsettled_expiry(now, settings.record_ttl_days);
                    ports
                        .store
                        .mark_started(name, &id, now, expires)
                        .await
                        .map_err(TaskerError::state_table)?;
                    id
                }
            }
        }
    };
    match ports.data.describe(&id).await {
        Ok(d) if d.status.ending().is_some() => {
            let settled =
                settle_statement(ports, settings, name, Evidence::Described(Box::new(d)), now)
                    .await;
            if matches!(settled, Ok(Disposition::Settled(_))) {
                // Its event never came (or came too late): the sweep is what found it.
                metrics::swept();
            }
            settled
        }
        Ok(_) => Ok(Disposition::StillRunning),
        Err(e) if e.kind == FaultKind::NotFound => {
            warn!(decision = "statement_lost", statement_name = %name);
            settle_statement(
                ports,
                settings,
                name,
                Evidence::Lost { statement_id: id },
                now,
            )
            .await
        }
        Err(e) => Err(TaskerError::data_api(e)),
    }
}
