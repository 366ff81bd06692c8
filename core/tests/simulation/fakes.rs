//! The port traits over the simulated world. Every call first yields to the scheduler (so that invocations
//! interleave call by call, and an invocation dropped while it waits there has crashed between two calls), then
//! runs atomically under the world's mutex, possibly failing before its effect or losing its response after it.

use super::model::{Answer, Call, Service, State};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use tasker_core::{
    Claim, Claimant, Created, DataApi, Description, ExecuteCall, Executed, Lock, LockSteal,
    PortError, ResultPage, Settled, Settlement, SingletonLocks, StateStore, StatementRecord,
    TaskCallbacks, UnsettledPage,
};

/// The simulated AWS: the Data API, the state table and Step Functions in one (`Send + Sync`) object.
pub(crate) struct Sim {
    state: Mutex<State>,
}

/// Pending once, then ready: hands control back to whoever polls the invocation.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Sim {
    pub(crate) fn new(state: State) -> Self {
        Sim {
            state: Mutex::new(state),
        }
    }

    /// The world, for the harness (never held across a yield).
    pub(crate) fn world(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn call<T: Send>(
        &self,
        call: Call,
        op: impl FnOnce(&mut State) -> Result<T, PortError> + Send,
    ) -> Result<T, PortError> {
        self.world().announce(&call);
        YieldNow(false).await;
        let mut world = self.world();
        world.perform(&call, op)
    }
}

fn store(op: &'static str, key: &str) -> Call {
    Call::new(Service::Store, op, key)
}

fn data(op: &'static str, key: &str) -> Call {
    Call::new(Service::Data, op, key)
}

#[async_trait]
impl DataApi for Sim {
    async fn execute(&self, call: &ExecuteCall) -> Result<Executed, PortError> {
        let (id, status) = self
            .call(data("execute", &call.statement_name), |s| {
                let id = s.execute(call);
                // `WaitTimeSeconds`: the reply waits, and carries the status the statement reached meanwhile.
                let status = call.wait_seconds.map(|_| s.wait_for(&id));
                Ok((id, status))
            })
            .await?;
        self.world().learnt_statement(&call.statement_name);
        Ok(Executed {
            id,
            status,
            session_id: None,
        })
    }

    async fn describe(&self, id: &str) -> Result<Description, PortError> {
        self.call(data("describe", id), |s| s.data.describe(id, s.clock))
            .await
    }

    async fn result_page(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<ResultPage, PortError> {
        self.call(data("result_page", id), |s| {
            s.data.result_page(id, next_token, s.clock)
        })
        .await
    }

    async fn cancel(&self, id: &str) -> Result<bool, PortError> {
        self.call(data("cancel", id), |s| {
            let clock = s.clock;
            s.data.cancel(id, clock)
        })
        .await
    }

    async fn find_by_name(&self, statement_name: &str) -> Result<Option<String>, PortError> {
        let found = self
            .call(data("find_by_name", statement_name), |s| {
                Ok(s.data.find_by_name(statement_name, s.clock, s.list_lag))
            })
            .await?;
        if found.is_some() {
            self.world().learnt_statement(statement_name);
        }
        Ok(found)
    }
}

#[async_trait]
impl StateStore for Sim {
    async fn create(&self, record: &StatementRecord) -> Result<Created, PortError> {
        self.call(store("create", &record.statement_name), |s| {
            s.expect_own_name(&record.statement_name);
            let created = s.table.create(record.clone());
            if created == Created::New {
                // A deploy-time request's hour, as far as the code can know it, counts from its first record.
                for req in s
                    .cfn
                    .values_mut()
                    .filter(|r| r.name == record.statement_name)
                {
                    req.sent_at.get_or_insert(record.created_at);
                }
            }
            Ok(created)
        })
        .await
    }

    async fn get(&self, statement_name: &str) -> Result<Option<StatementRecord>, PortError> {
        self.call(store("get", statement_name), |s| {
            Ok(s.table.get(statement_name))
        })
        .await
    }

    async fn set_token(
        &self,
        statement_name: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<StatementRecord, PortError> {
        self.call(store("set_token", statement_name), |s| {
            s.table.set_token(statement_name, token, now)
        })
        .await
    }

    async fn mark_started(
        &self,
        statement_name: &str,
        statement_id: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError> {
        self.call(store("mark_started", statement_name), |s| {
            Ok(s.table
                .mark_started(statement_name, statement_id, now, expires_at))
        })
        .await
    }

    async fn revive(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError> {
        self.call(store("revive", statement_name), |s| {
            Ok(s.table.revive(statement_name, now, expires_at))
        })
        .await
    }

    async fn claim(
        &self,
        statement_name: &str,
        by: Claimant,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim, PortError> {
        self.call(store("claim", statement_name), |s| {
            Ok(s.table.claim(statement_name, by, lease_until, now))
        })
        .await
    }

    async fn release(
        &self,
        statement_name: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<(), PortError> {
        self.call(store("release", statement_name), |s| {
            s.table.release(statement_name, lease_until);
            Ok(())
        })
        .await
    }

    async fn settle(
        &self,
        statement_name: &str,
        settlement: &Settlement,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<Settled, PortError> {
        self.call(store("settle", statement_name), |s| {
            Ok(s.settle(statement_name, settlement, lease_until))
        })
        .await
    }

    async fn by_statement_id(
        &self,
        statement_id: &str,
    ) -> Result<Option<StatementRecord>, PortError> {
        self.call(store("by_statement_id", statement_id), |s| {
            Ok(s.table.by_statement_id(statement_id))
        })
        .await
    }

    async fn by_execution(&self, execution_arn: &str) -> Result<Vec<StatementRecord>, PortError> {
        self.call(store("by_execution", execution_arn), |s| {
            Ok(s.table.by_execution(execution_arn))
        })
        .await
    }

    async fn unsettled_page(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
        after: Option<String>,
    ) -> Result<UnsettledPage, PortError> {
        self.call(store("unsettled_page", "index"), |s| {
            Ok(s.table.unsettled_page(cutoff, limit, after.as_deref()))
        })
        .await
    }

    async fn touch(&self, statement_name: &str, now: DateTime<Utc>) -> Result<(), PortError> {
        self.call(store("touch", statement_name), |s| {
            s.table.touch(statement_name, now);
            Ok(())
        })
        .await
    }

    async fn mark_cancel_requested(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        self.call(store("mark_cancel_requested", statement_name), |s| {
            s.table.mark_cancel_requested(statement_name, now);
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl SingletonLocks for Sim {
    async fn lock(
        &self,
        sql_digest: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Lock, PortError> {
        self.call(store("lock", owner), |s| {
            Ok(s.lock(sql_digest, owner, now, expires_at))
        })
        .await
    }

    async fn steal_lock(&self, steal: &LockSteal) -> Result<bool, PortError> {
        self.call(store("steal_lock", &steal.owner), |s| {
            Ok(s.steal_lock(steal))
        })
        .await
    }

    async fn unlock(&self, sql_digest: &str, owner: &str) -> Result<(), PortError> {
        self.call(store("unlock", owner), |s| {
            s.unlock(sql_digest, owner);
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TaskCallbacks for Sim {
    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError> {
        self.call(Call::new(Service::Sfn, "succeed", token), |s| {
            s.answer(token, Answer::Success(output.to_string()))
        })
        .await
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.call(Call::new(Service::Sfn, "fail", token), |s| {
            s.answer(
                token,
                Answer::Failure {
                    error: error.to_string(),
                    cause: cause.to_string(),
                },
            )
        })
        .await
    }

    async fn respond(&self, url: &str, body: &str) -> Result<(), PortError> {
        self.call(Call::new(Service::Sfn, "respond", url), |s| {
            s.respond(url, body)
        })
        .await
    }
}
