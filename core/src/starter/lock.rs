//! The singleton lock: at most one running statement per singleton key; a lock left by a holder that died is
//! stolen after a bound.

use crate::error::TaskerError;
use crate::ports::{Lock, LockSteal, SingletonLocks, StateStore};
use crate::record::StatementRecord;
use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

/// Frees a singleton lock of a start that has no statement (best effort: the lock is otherwise freed when the
/// record settles `NOT_STARTED`, or stolen 15 minutes after a start that never wrote its record).
pub(super) async fn release_lock(locks: &dyn SingletonLocks, record: &StatementRecord) {
    if let Err(e) = locks
        .unlock(&record.sql_digest, &record.statement_name)
        .await
    {
        warn!(decision = "unlock_failed", statement_name = %record.statement_name, error = %e);
    }
}

/// How long a lock may be held by a statement that has no record yet: the holder writes its record right after
/// the lock, so only a holder that died in between (within a Lambda's 15 minutes) leaves it so longer.
pub(crate) const LOCK_WITHOUT_RECORD: Duration = Duration::minutes(15);

pub(super) async fn take_singleton_lock(
    store: &dyn StateStore,
    locks: &dyn SingletonLocks,
    digest: &str,
    name: &str,
    now: DateTime<Utc>,
    expires_at: i64,
) -> Result<(), TaskerError> {
    let state_table = TaskerError::state_table;
    let (owner, since) = match locks.lock(digest, name, now, expires_at).await {
        Ok(Lock::Acquired) => return Ok(()),
        Ok(Lock::HeldBy { owner, since }) => (owner, since),
        Err(e) => {
            // The write may have taken effect with its answer lost: give back what may be ours.
            let _ = locks.unlock(digest, name).await;
            return Err(state_table(e));
        }
    };
    // A lock this old without a live holder was left by a start that died between two writes.
    let abandoned = since.is_none_or(|t| now - t >= LOCK_WITHOUT_RECORD);
    let holder_done = match store.get(&owner).await.map_err(state_table)? {
        // Settled after it took the lock: it ended. Settled before: a retry is reviving it (NOT_STARTED) and
        // took the lock again a moment ago.
        Some(record) if record.status.is_settled() => {
            abandoned || record.settled_at.zip(since).is_none_or(|(s, t)| s > t)
        }
        Some(_) => false,
        // Not written yet (it is between its lock and its record), or its start died in between.
        None => abandoned,
    };
    if holder_done
        && locks
            .steal_lock(&LockSteal {
                sql_digest: digest.to_string(),
                from: owner.clone(),
                from_since: since,
                owner: name.to_string(),
                now,
                expires_at,
            })
            .await
            .map_err(state_table)?
    {
        return Ok(());
    }
    info!(decision = "singleton_refused", statement_name = %name, holder = %owner);
    Err(TaskerError::ConcurrentExecution(format!(
        "There is already an instance of this SQL running (statement {owner})."
    )))
}
