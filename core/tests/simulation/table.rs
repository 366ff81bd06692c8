//! The simulated DynamoDB state table: the conditional writes of aws/src/state_table.rs, TTL, and index lag
//! (the GSI queries read a copy of the rows taken at the last [`Table::refresh_index`]).

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;
use tasker_core::{
    Claim, Claimant, Created, FaultKind, Lock, LockSteal, PortError, RecordStatus, Settled,
    Settlement, StatementRecord, UnsettledPage,
};

/// One row of the state table with its claim lease (an attribute the record type does not carry).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub record: StatementRecord,
    pub lease: Option<DateTime<Utc>>,
    /// Who holds the lease (`leaseBy`).
    pub lease_by: Option<Claimant>,
}

/// A singleton lock item.
#[derive(Debug, Clone)]
pub(crate) struct LockItem {
    pub owner: String,
    pub taken_at: DateTime<Utc>,
    pub expires_at: i64,
}

/// The DynamoDB table with the conditions of aws/src/state_table.rs, and index lag: the GSI queries read a copy
/// of the rows taken at the last [`Table::refresh_index`].
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<String, Row>,
    /// Items that no longer decode, by name, with their `updatedAt`: they sit in the unsettled index for ever.
    pub corrupt: BTreeMap<String, DateTime<Utc>>,
    pub locks: BTreeMap<String, LockItem>,
    index: Vec<StatementRecord>,
    index_corrupt: Vec<(DateTime<Utc>, String)>,
}

fn page_token(t: DateTime<Utc>, name: &str) -> String {
    format!("{}|{name}", t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl Table {
    pub(crate) fn create(&mut self, record: StatementRecord) -> Created {
        match self.rows.get(&record.statement_name) {
            Some(row) => Created::Existing(Box::new(row.record.clone())),
            None => {
                self.rows.insert(
                    record.statement_name.clone(),
                    Row {
                        record,
                        lease: None,
                        lease_by: None,
                    },
                );
                Created::New
            }
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<StatementRecord> {
        self.rows.get(name).map(|r| r.record.clone())
    }

    pub(crate) fn set_token(
        &mut self,
        name: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<StatementRecord, PortError> {
        let row = self.rows.get_mut(name).ok_or_else(|| {
            PortError::new(
                FaultKind::NotFound,
                "RecordMissing",
                format!("no record {name}"),
            )
        })?;
        row.record.task_token = Some(token.to_string());
        row.record.updated_at = now;
        Ok(row.record.clone())
    }

    /// `SUBMITTED` or `NOT_STARTED` -> `STARTED`, back in the unsettled index.
    pub(crate) fn mark_started(
        &mut self,
        name: &str,
        id: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> bool {
        match self.rows.get_mut(name) {
            Some(row)
                if matches!(
                    row.record.status,
                    RecordStatus::Submitted | RecordStatus::NotStarted
                ) =>
            {
                let r = &mut row.record;
                r.status = RecordStatus::Started;
                r.statement_id = Some(id.to_string());
                r.updated_at = now;
                r.expires_at = expires_at;
                r.settled_at = None;
                true
            }
            _ => false,
        }
    }

    /// `NOT_STARTED` (or `SUBMITTED` without a statement) -> `SUBMITTED`, unsettled with a fresh `createdAt`.
    pub(crate) fn revive(&mut self, name: &str, now: DateTime<Utc>, expires_at: i64) -> bool {
        match self.rows.get_mut(name) {
            Some(row)
                if row.record.status == RecordStatus::NotStarted
                    || (row.record.status == RecordStatus::Submitted
                        && row.record.statement_id.is_none()) =>
            {
                let r = &mut row.record;
                r.status = RecordStatus::Submitted;
                r.created_at = now;
                r.updated_at = now;
                r.expires_at = expires_at;
                r.settled_at = None;
                r.error = None;
                true
            }
            _ => false,
        }
    }

    /// Unsettled and no live lease: take the lease.
    pub(crate) fn claim(
        &mut self,
        name: &str,
        by: Claimant,
        lease: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Claim {
        let Some(row) = self.rows.get_mut(name) else {
            return Claim::Missing;
        };
        if row.record.status.is_settled() {
            return Claim::Settled(row.record.clone());
        }
        let restart_over_restart =
            by == Claimant::Restart && row.lease_by == Some(Claimant::Restart);
        if row.lease.is_some_and(|l| l >= now) && !restart_over_restart {
            return Claim::Busy(row.record.clone());
        }
        row.lease = Some(lease);
        row.lease_by = Some(by);
        Claim::Won(row.record.clone())
    }

    pub(crate) fn release(&mut self, name: &str, lease: DateTime<Utc>) {
        if let Some(row) = self.rows.get_mut(name) {
            if row.lease == Some(lease) {
                row.lease = None;
            }
        }
    }

    /// Unsettled, the lease (when given) ours and the token (when given) the stored one: settle, drop the lease.
    /// Refused: the record as it stands.
    pub(crate) fn settle(
        &mut self,
        name: &str,
        s: &Settlement,
        lease: Option<DateTime<Utc>>,
    ) -> Settled {
        let Some(row) = self.rows.get_mut(name) else {
            return Settled::Refused(None);
        };
        let lease_ok = lease.is_none_or(|l| row.lease == Some(l));
        let token_ok = s
            .if_token
            .as_deref()
            .is_none_or(|t| row.record.task_token.as_deref() == Some(t));
        let statement_ok = !s.if_no_statement || row.record.statement_id.is_none();
        if row.record.status.is_settled() || !lease_ok || !token_ok || !statement_ok {
            return Settled::Refused(Some(Box::new(row.record.clone())));
        }
        let r = &mut row.record;
        r.status = s.status;
        r.settled_at = Some(s.at);
        r.updated_at = s.at;
        r.expires_at = s.expires_at;
        if let Some(id) = &s.statement_id {
            r.statement_id = Some(id.clone());
        }
        if let Some(e) = &s.error {
            r.error = Some(e.clone());
        }
        row.lease = None;
        Settled::Done
    }

    pub(crate) fn touch(&mut self, name: &str, now: DateTime<Utc>) {
        if let Some(row) = self.rows.get_mut(name) {
            if !row.record.status.is_settled() {
                row.record.updated_at = now;
            }
        }
    }

    pub(crate) fn mark_cancel_requested(&mut self, name: &str, now: DateTime<Utc>) {
        if let Some(row) = self.rows.get_mut(name) {
            if !row.record.status.is_settled() {
                row.record.cancel_requested_at = Some(now);
            }
        }
    }

    /// Takes the lock if it is free or already ours; the flag says whether it was newly taken.
    pub(crate) fn lock(
        &mut self,
        digest: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> (Lock, bool) {
        match self.locks.get(digest) {
            Some(l) if l.owner != owner => (
                Lock::HeldBy {
                    owner: l.owner.clone(),
                    since: Some(l.taken_at),
                },
                false,
            ),
            held => {
                let newly = held.is_none();
                self.locks.insert(
                    digest.to_string(),
                    LockItem {
                        owner: owner.to_string(),
                        taken_at: now,
                        expires_at,
                    },
                );
                (Lock::Acquired, newly)
            }
        }
    }

    pub(crate) fn steal_lock(&mut self, steal: &LockSteal) -> bool {
        match self.locks.get_mut(&steal.sql_digest) {
            Some(l)
                if l.owner == steal.from && steal.from_since.is_none_or(|t| l.taken_at == t) =>
            {
                l.owner = steal.owner.clone();
                l.taken_at = steal.now;
                l.expires_at = steal.expires_at;
                true
            }
            _ => false,
        }
    }

    /// Deletes the lock if `owner` holds it; says whether it did.
    pub(crate) fn unlock(&mut self, digest: &str, owner: &str) -> bool {
        if self.locks.get(digest).is_some_and(|l| l.owner == owner) {
            self.locks.remove(digest);
            return true;
        }
        false
    }

    /// The GSIs catch up with the table.
    pub(crate) fn refresh_index(&mut self) {
        self.index = self.rows.values().map(|r| r.record.clone()).collect();
        self.index_corrupt = self.corrupt.iter().map(|(n, t)| (*t, n.clone())).collect();
    }

    pub(crate) fn by_execution(&self, arn: &str) -> Vec<StatementRecord> {
        let mut records: Vec<StatementRecord> = self
            .index
            .iter()
            .filter(|r| r.execution_arn.as_deref() == Some(arn))
            .cloned()
            .collect();
        records.sort_by(|a, b| {
            (b.created_at, &b.statement_name).cmp(&(a.created_at, &a.statement_name))
        });
        records
    }

    pub(crate) fn by_statement_id(&self, id: &str) -> Option<StatementRecord> {
        self.index
            .iter()
            .find(|r| r.statement_id.as_deref() == Some(id))
            .cloned()
    }

    /// The sparse index, oldest `updatedAt` first; like DynamoDB's `Limit`, undecodable items count in the page.
    pub(crate) fn unsettled_page(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
        after: Option<&str>,
    ) -> UnsettledPage {
        let mut items: Vec<(DateTime<Utc>, String, Option<&StatementRecord>)> = self
            .index
            .iter()
            .filter(|r| !r.status.is_settled() && r.updated_at < cutoff)
            .map(|r| (r.updated_at, r.statement_name.clone(), Some(r)))
            .chain(
                self.index_corrupt
                    .iter()
                    .filter(|(t, _)| *t < cutoff)
                    .map(|(t, n)| (*t, n.clone(), None)),
            )
            .collect();
        items.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let start = after.map_or(0, |token| {
            items
                .iter()
                .position(|(t, n, _)| page_token(*t, n).as_str() > token)
                .unwrap_or(items.len())
        });
        let taken: Vec<_> = items.into_iter().skip(start).take(limit).collect();
        let mut page = UnsettledPage {
            next: (taken.len() == limit)
                .then(|| taken.last().map(|(t, n, _)| page_token(*t, n)))
                .flatten(),
            ..Default::default()
        };
        for (_, name, record) in taken {
            match record {
                Some(r) => page.records.push(r.clone()),
                None => page.undecodable.push(name),
            }
        }
        page
    }

    /// DynamoDB TTL: deletes what expired (conservatively at once, where the real one may lag two days).
    pub(crate) fn expire(&mut self, now: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, r)| r.record.expires_at < now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in &gone {
            self.rows.remove(name);
        }
        self.locks.retain(|_, l| l.expires_at >= now);
        gone
    }
}
