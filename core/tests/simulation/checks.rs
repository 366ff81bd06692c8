//! The invariants, judged against the simulated world: as calls happen (an answer, a settlement, a failed start)
//! and once the world is at rest.

use super::model::{short, Answer, InvId, Kind, State, Task, TaskState};
use serde_json::Value;
use std::collections::BTreeSet;
use tasker_core::{DataApiStatus, RecordStatus, Settlement, TaskerError};

/// `Ok`, or why what a use case did is wrong.
pub(crate) type Verdict = Result<(), String>;

impl State {
    /// The checks a start that returned an error must pass.
    pub(crate) fn check_failed_start(&mut self, id: InvId, error: &TaskerError) {
        let meta = self.invocations[&id].clone();
        let Kind::Start { name, digest, .. } = &meta.kind else {
            return;
        };
        if meta.learnt_statement {
            self.violate(
                "1 (a start with a statement never fails)",
                format!(
                    "start of {} returned {} after the Data API gave it its statement",
                    short(name),
                    error.error_type()
                ),
            );
        }
        let ran_before = self.data.statements.iter().any(|s| &s.name == name);
        if matches!(error, TaskerError::ConcurrentExecution(_)) && ran_before {
            self.violate(
                "3 (the lock guards only new SQL)",
                format!(
                    "a retry of {}, whose SQL already ran, was refused ConcurrentExecution",
                    short(name)
                ),
            );
        }
        let clock = self.clock;
        let blocks = self
            .table
            .locks
            .get(digest)
            .is_some_and(|l| &l.owner == name)
            && self.table.get(name).is_some_and(|r| !r.status.is_settled())
            && self
                .data
                .find_by_name(name, clock, chrono::Duration::zero())
                .is_none();
        if meta.took_lock && !meta.unlock_fault && !meta.lookup_fault && blocks {
            self.violate(
                "3 (a failed start frees its lock)",
                format!(
                    "start of {} failed ({}) before its statement existed but keeps the singleton lock: later runs are refused",
                    short(name),
                    error.error_type()
                ),
            );
        }
    }

    /// The checks that need a world at rest (invariants 1, 3 and 4; 2 and 5 are checked as calls happen).
    pub(crate) fn final_checks(&mut self) {
        let waiting: Vec<(String, Task)> = self
            .tasks
            .iter()
            // A token whose answers Step Functions refuses for good cannot be answered: its record must end
            // UNDELIVERABLE instead (invariant 4 sees it if it stays unsettled).
            .filter(|(k, t)| t.state == TaskState::Waiting && !self.refusing.contains(*k))
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        for (token, task) in waiting {
            let record = self.table.get(&task.name).map(|r| {
                format!(
                    "{} token {:?} id {:?}",
                    r.status.as_str(),
                    r.task_token,
                    r.statement_id.as_deref().map(short)
                )
            });
            let statements: Vec<String> = self
                .data
                .statements
                .iter()
                .filter(|s| s.name == task.name)
                .map(|s| format!("{} {}", short(&s.id), s.status.as_str()))
                .collect();
            self.violate(
                "1 (every waiting task is answered)",
                format!("token {token} of {} never answered; record {record:?}; statements {statements:?}", short(&task.name)),
            );
        }
        let unsettled: Vec<String> = self
            .table
            .rows
            .values()
            .filter(|r| !r.record.status.is_settled())
            .map(|r| {
                format!(
                    "{} {}",
                    short(&r.record.statement_name),
                    r.record.status.as_str()
                )
            })
            .collect();
        for r in unsettled {
            self.violate(
                "4 (nothing stays unsettled)",
                format!("record {r} after the sweeper ran"),
            );
        }
        self.cfn_checks();
        let excused: BTreeSet<String> = self
            .invocations
            .values()
            .filter(|m| m.crashed || m.store_fault)
            .flat_map(|m| m.touched.iter().cloned())
            .collect();
        let stale: Vec<String> = self
            .table
            .locks
            .values()
            .filter(|l| !excused.contains(&l.owner))
            .filter(|l| {
                self.table
                    .get(&l.owner)
                    .is_none_or(|r| r.status.is_settled())
            })
            .map(|l| {
                let owner = self.table.get(&l.owner).map(|r| r.status.as_str());
                format!("{} (record {owner:?})", short(&l.owner))
            })
            .collect();
        for l in stale {
            self.violate(
                "3 (no lock outlives its holder)",
                format!("lock held by {l}"),
            );
        }
    }

    /// Invariant 6 at rest: a CloudFormation request that left a record (or a statement) was answered, and a
    /// rollback Delete ran no SQL. (Two different answers are caught as they happen, in `State::respond`.)
    fn cfn_checks(&mut self) {
        let requests: Vec<(String, super::model::CfnRequest)> = self
            .cfn
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (url, req) in requests {
            let ran = self.data.statements.iter().any(|s| s.name == req.name);
            if req.rollback && ran {
                self.violate(
                    "6 (a Delete after a failed Create runs no SQL)",
                    format!("{url}: its DeleteSql ran"),
                );
            }
            let recorded = self.table.get(&req.name);
            // ORPHANED (or LOST): its answer came after CloudFormation stopped waiting, which then failed the
            // stack operation on its own.
            let last = recorded
                .as_ref()
                .map(|r| r.status)
                .or_else(|| self.settled_as.get(&req.name).copied());
            let orphaned = matches!(last, Some(RecordStatus::Orphaned | RecordStatus::Lost));
            // Found only after CloudFormation stopped waiting (no sweep ran for an hour): settled unanswered.
            let late = req
                .sent_at
                .zip(req.settled_at)
                .is_some_and(|(sent, settled)| {
                    settled - sent > tasker_core::completer::CLOUDFORMATION_WAIT
                });
            if req.answers.is_empty()
                && (recorded.is_some() || ran)
                && !req.expired
                && !orphaned
                && !late
            {
                self.violate(
                    "6 (every CloudFormation request is answered)",
                    format!(
                        "{url} never answered; record {:?}",
                        recorded.map(|r| r.status.as_str())
                    ),
                );
            }
        }
    }

    /// Whether a settlement agrees with the Data API. `NOT_STARTED` is wrong once the record holds the id of a
    /// statement of its name (nobody will revive it; before that, the starter's `STARTED` mark still does).
    pub(crate) fn judge_settlement(
        &self,
        name: &str,
        s: &Settlement,
        known_id: Option<&str>,
    ) -> Verdict {
        let statement = s.statement_id.as_deref().and_then(|id| self.data.get(id));
        let ended_as = |want: DataApiStatus| match statement {
            Some(st) if st.status == want && st.name == name => Ok(()),
            Some(st) => Err(format!(
                "its statement {} is {}",
                short(&st.id),
                st.status.as_str()
            )),
            None => Err("no such statement".into()),
        };
        match s.status {
            RecordStatus::Finished => ended_as(DataApiStatus::Finished),
            RecordStatus::Failed => ended_as(DataApiStatus::Failed),
            RecordStatus::Aborted => ended_as(DataApiStatus::Aborted),
            RecordStatus::Orphaned | RecordStatus::Undeliverable => match statement {
                Some(st) if st.ended() => Ok(()),
                _ => Err("its statement has not ended".into()),
            },
            RecordStatus::Lost => match statement {
                Some(st) if !st.known(self.clock) => Ok(()),
                _ => Err("the Data API still knows its statement".into()),
            },
            RecordStatus::NotStarted => match known_id.and_then(|id| self.data.get(id)) {
                Some(st) if st.known(self.clock) => Err(format!(
                    "the record holds statement {}, which is {}",
                    short(&st.id),
                    st.status.as_str()
                )),
                _ => Ok(()),
            },
            RecordStatus::Submitted | RecordStatus::Started => Err("not a final status".into()),
        }
    }

    /// Whether an answer is the task's own statement's outcome (invariant 1).
    pub(crate) fn judge_answer(&self, name: &str, answer: &Answer) -> Verdict {
        let (error, body) = match answer {
            Answer::Success(out) => (None, out),
            Answer::Failure { error, cause } => (Some(error.as_str()), cause),
        };
        let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
        let id = v["statementId"].as_str().unwrap_or_default();
        if v["statementName"].as_str() != Some(name) {
            return Err(format!(
                "answer names {}, the task's statement is {}",
                v["statementName"],
                short(name)
            ));
        }
        let st = self
            .data
            .get(id)
            .ok_or_else(|| format!("answer names statement {id}, which never existed"))?;
        if st.name != name {
            return Err(format!(
                "statement {id} is {}'s, not {}",
                short(&st.name),
                short(name)
            ));
        }
        let ok = match error {
            None => st.status == DataApiStatus::Finished && v["state"] == "FINISHED",
            Some("FAILED") => st.status == DataApiStatus::Failed,
            Some("ABORTED") => st.status == DataApiStatus::Aborted,
            Some("StatementLost") => !st.known(self.clock),
            Some(_) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "answered {} while statement {} is {}{}",
                error.unwrap_or("success"),
                short(id),
                st.status.as_str(),
                if st.known(self.clock) {
                    ""
                } else {
                    " (past retention)"
                }
            ))
        }
    }
}
