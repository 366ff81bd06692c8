//! The simulated world behind the fakes: the state table and the Data API (`table.rs`, `data_api.rs`), Step
//! Functions' tasks, the fault plan, and the ground truth the invariants are judged against as calls happen.
//! Everything here is plain synchronous data; `fakes.rs` puts it behind the port traits and `harness.rs` drives
//! it.

use super::data_api::DataApi;
use super::rng::Rng;
use super::table::Table;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use tasker_core::{ExecuteCall, FaultKind, Lock, LockSteal, PortError, Settled, Settlement};

/// The completer's and canceller's Lambda timeout (infra/sam-template.yaml): an invocation older than this is
/// killed.
pub(crate) const LAMBDA_TIMEOUT: Duration = Duration::seconds(30);
/// The starter's Lambda timeout (it may wait up to 30 s for a statement on the fast path).
pub(crate) const STARTER_TIMEOUT: Duration = Duration::seconds(60);

/// One CloudFormation custom-resource request, as CloudFormation sees it: the answers its `ResponseURL` got.
#[derive(Debug, Clone)]
pub(crate) struct CfnRequest {
    pub request_type: String,
    /// The statement name its SQL runs under (`None`: a rollback Delete, which must run nothing).
    pub name: String,
    /// A Delete carrying the physical id of a failed Create: it must run no SQL.
    pub rollback: bool,
    /// The URL refuses every answer (expired): the record may end `ORPHANED`.
    pub expired: bool,
    /// `(Status, PhysicalResourceId)` of every answer it received.
    pub answers: Vec<(String, String)>,
    /// When its record was first written (the closest the code can know to when CloudFormation sent it): past [`tasker_core::completer::CLOUDFORMATION_WAIT`] from here nobody reads an
    /// answer, and a late one could contradict an earlier one whose acknowledgement was lost.
    pub sent_at: Option<DateTime<Utc>>,
    /// When its record first settled: one settled unanswered more than the wait after `sent_at` was found too late
    /// to answer (no sweep ran for an hour), which the at-rest check excuses.
    pub settled_at: Option<DateTime<Utc>>,
}

/// An invocation of a use case; 0 is the harness itself (setup and checks, never faulted).
pub(crate) type InvId = u64;
pub(crate) const HARNESS: InvId = 0;

/// The service a port call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Data,
    Store,
    Sfn,
}

/// One port call as the fakes see it: the operation and what it is about (a statement name, a statement id, a
/// lock owner or a task token).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub service: Service,
    pub op: &'static str,
    pub key: String,
}

impl Call {
    pub(crate) fn new(service: Service, op: &'static str, key: &str) -> Self {
        Call {
            service,
            op,
            key: key.to_string(),
        }
    }
}

/// Random faults of port calls, per call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    /// The call fails before it takes effect (throttling, 5xx).
    pub before: f64,
    /// The call takes effect but its response is lost (a timeout on the way back).
    pub lost_response: f64,
    /// `ExecuteStatement` is refused for good (`ValidationException`).
    pub refuse_execute: f64,
}

/// A fault a scenario asks for: the next `times` calls of `op` (about `key`, if given) fail with `error`.
#[derive(Debug, Clone)]
pub(crate) struct Scripted {
    pub op: &'static str,
    pub key: Option<String>,
    pub error: PortError,
    pub after_effect: bool,
    pub times: usize,
}

/// What an invocation is, as far as the checks need to know.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A starter execute: the statement name it works on, its SQL digest and whether it is a singleton start.
    Start {
        name: String,
        digest: String,
        singleton: bool,
    },
    /// A starter request-response action (the seed's `cancelStatement` and friends).
    SeedAction,
    Completer,
    Sweeper,
    Canceller,
}

/// Book-keeping of one invocation, kept by the fakes as its calls go by.
#[derive(Debug, Clone)]
pub(crate) struct InvMeta {
    pub kind: Kind,
    pub now: DateTime<Utc>,
    pub crashed: bool,
    /// The call it will make when next polled.
    pub next_call: Option<&'static str>,
    /// Statement names its state-table calls were about.
    pub touched: BTreeSet<String>,
    /// An injected fault hit one of its state-table calls.
    pub store_fault: bool,
    /// An injected fault hit its `unlock`.
    pub unlock_fault: bool,
    /// An injected fault hit its `find_by_name`: whether its statement exists is unknown to it, so it keeps a
    /// singleton lock (exclusion first) and leaves it to the sweeper.
    pub lookup_fault: bool,
    /// It newly took (or stole) a singleton lock.
    pub took_lock: bool,
    /// The Data API gave it the id of a statement of its name (`execute` or `find_by_name` answered).
    pub learnt_statement: bool,
}

/// A Step Functions task attempt, as its token's holder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// Its starter invocation is running.
    Running,
    /// The starter returned: the task waits for a callback.
    Waiting,
    Answered,
    /// The starter failed (a Lambda error): the attempt is over, Step Functions may retry.
    Failed,
    /// `HeartbeatSeconds` ran out.
    TimedOut,
}

/// A callback a token received.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Success(String),
    Failure { error: String, cause: String },
}

/// One task attempt (one token).
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// The statement name this attempt's payload maps to.
    pub name: String,
    pub state: TaskState,
    pub answer: Option<Answer>,
    pub answered_by: InvId,
    /// The answer's sender may send it again: it lost the response, or could not settle the record after it.
    pub answer_uncertain: bool,
    /// Every callback refused on this token (late, duplicate or after a timeout), by invocation.
    pub refused: Vec<(InvId, Answer)>,
}

/// The whole world, behind one mutex in `fakes::Sim`.
pub(crate) struct State {
    pub clock: DateTime<Utc>,
    /// Drives the faults inside port calls (the harness has its own stream for scheduling).
    pub rng: Rng,
    pub faults: Faults,
    pub scripted: Vec<Scripted>,
    /// The invocation being polled.
    pub current: InvId,
    pub invocations: BTreeMap<InvId, InvMeta>,
    pub table: Table,
    pub data: DataApi,
    pub tasks: BTreeMap<String, Task>,
    /// Statement names of state entries with `stateEnteredTime`: their SQL must run at most once.
    pub once_names: BTreeSet<String>,
    /// Names whose singleton lock a starter freed while a statement of that name ran (its `ExecuteStatement`
    /// answered with an error, yet the statement existed): the known gap (docs/design.md, "Singleton lock"), excused from mutual exclusion.
    pub unguarded: BTreeSet<String>,
    pub violations: Vec<String>,
    pub trace: Option<Vec<String>>,
    /// `ListStatements` knows a statement only this long after it started.
    pub list_lag: Duration,
    /// DynamoDB deletes an expired item only this long after its TTL (it stays readable meanwhile).
    pub ttl_lag: Duration,
    /// Chance that a statement started with `WaitTimeSeconds` ends within the wait.
    pub ends_in_wait: f64,
    /// Completion events of statements that ended inside a port call (the fast path's wait): the harness moves
    /// them to the queue.
    pub outbox: Vec<String>,
    /// Tokens whose callbacks Step Functions refuses for good (`InvalidOutput`).
    pub refusing: BTreeSet<String>,
    /// CloudFormation requests by `ResponseURL`.
    pub cfn: BTreeMap<String, CfnRequest>,
    /// The last status each record settled to (kept after TTL deletes the record).
    pub settled_as: BTreeMap<String, tasker_core::RecordStatus>,
}

impl State {
    pub(crate) fn new(seed: u64, clock: DateTime<Utc>, trace: bool) -> Self {
        State {
            clock,
            rng: Rng::new(seed.wrapping_mul(31).wrapping_add(7)),
            faults: Faults::default(),
            scripted: Vec::new(),
            current: HARNESS,
            invocations: BTreeMap::new(),
            table: Table::default(),
            data: DataApi::default(),
            tasks: BTreeMap::new(),
            once_names: BTreeSet::new(),
            unguarded: BTreeSet::new(),
            violations: Vec::new(),
            trace: trace.then(Vec::new),
            list_lag: Duration::zero(),
            ttl_lag: Duration::zero(),
            ends_in_wait: 0.5,
            outbox: Vec::new(),
            refusing: BTreeSet::new(),
            cfn: BTreeMap::new(),
            settled_as: BTreeMap::new(),
        }
    }

    /// Adds a line to the replay trace (built only when tracing).
    pub(crate) fn log(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.push(format!(
                "[{}] {}",
                self.clock.format("%dd %H:%M:%S"),
                line()
            ));
        }
    }

    /// Records a broken invariant.
    pub(crate) fn violate(&mut self, invariant: &str, message: String) {
        let line = format!(
            "invariant {invariant} at {}: {message}",
            self.clock.format("%dd %H:%M:%S")
        );
        self.log(|| format!("VIOLATION {line}"));
        self.violations.push(line);
    }

    fn meta(&mut self) -> Option<&mut InvMeta> {
        let current = self.current;
        self.invocations.get_mut(&current)
    }

    /// A call is about to be made: note it (the scheduler sees it as the invocation's next step).
    pub(crate) fn announce(&mut self, call: &Call) {
        if let Some(m) = self.meta() {
            m.next_call = Some(call.op);
            if call.service == Service::Store {
                m.touched.insert(call.key.clone());
            }
        }
    }

    /// Makes a call: maybe a fault before it, maybe its effect, maybe a lost response after it.
    pub(crate) fn perform<T>(
        &mut self,
        call: &Call,
        op: impl FnOnce(&mut State) -> Result<T, PortError>,
    ) -> Result<T, PortError> {
        let current = self.current;
        self.log(|| format!("#{current} {} {}", call.op, short(&call.key)));
        let Some((error, after_effect)) = self.draw_fault(call) else {
            return op(self);
        };
        self.log(|| {
            format!(
                "#{current}   fault {} ({})",
                error.code,
                if after_effect {
                    "after effect"
                } else {
                    "before effect"
                }
            )
        });
        if let Some(m) = self.meta() {
            m.store_fault |= call.service == Service::Store;
            m.unlock_fault |= call.op == "unlock";
            m.lookup_fault |= call.op == "find_by_name";
        }
        if after_effect {
            let applied = op(self).is_ok();
            if applied && call.service == Service::Sfn {
                self.answers_uncertain(|_, token| token == call.key);
            }
        } else if call.op == "settle" {
            self.answers_uncertain(|name, _| name == call.key);
        }
        Err(error)
    }

    /// The current invocation's answers matching `which` (statement name, token) may be sent again: their
    /// sender lost the response, or could not settle the record after answering (at-least-once callbacks).
    fn answers_uncertain(&mut self, which: impl Fn(&str, &str) -> bool) {
        let current = self.current;
        for (token, t) in self.tasks.iter_mut() {
            if t.answered_by == current && which(&t.name, token) {
                t.answer_uncertain = true;
            }
        }
    }

    fn draw_fault(&mut self, call: &Call) -> Option<(PortError, bool)> {
        if let Some(i) = self
            .scripted
            .iter()
            .position(|s| s.op == call.op && s.key.as_ref().is_none_or(|k| *k == call.key))
        {
            let s = &mut self.scripted[i];
            s.times -= 1;
            let fault = (s.error.clone(), s.after_effect);
            if s.times == 0 {
                self.scripted.remove(i);
            }
            return Some(fault);
        }
        if self.current == HARNESS {
            return None;
        }
        let f = self.faults.clone();
        if call.op == "execute" && self.rng.chance(f.refuse_execute) {
            let e = PortError::new(FaultKind::Rejected, "ValidationException", "refused");
            return Some((e, false));
        }
        let code = match call.service {
            Service::Data => "ThrottlingException",
            Service::Store => "ProvisionedThroughputExceededException",
            Service::Sfn => "ThrottlingException",
        };
        let e = || PortError::new(FaultKind::Retryable, code, "injected");
        if self.rng.chance(f.before) {
            return Some((e(), false));
        }
        if self.rng.chance(f.lost_response) {
            return Some((e(), true));
        }
        None
    }

    /// `ExecuteStatement`, with the mutual-exclusion check of singleton starts.
    pub(crate) fn execute(&mut self, call: &ExecuteCall) -> String {
        let singleton = matches!(
            self.meta().map(|m| &m.kind),
            Some(Kind::Start {
                singleton: true,
                ..
            })
        );
        let (i, new) = self.data.execute(call, self.clock, singleton);
        let s = self.data.statements[i].clone();
        self.log(|| {
            format!(
                "   -> {} ({})",
                short(&s.id),
                if new { "new" } else { "same ClientToken" }
            )
        });
        if new && singleton {
            let rival = self.data.statements.iter().find(|o| {
                o.singleton
                    && o.digest == s.digest
                    && o.name != s.name
                    && !o.ended()
                    && !self.unguarded.contains(&o.name)
            });
            if let Some(o) = rival {
                let msg = format!(
                    "singleton statement {} started while {} of the same SQL still runs (lock: {:?})",
                    short(&s.name),
                    short(&o.name),
                    self.table.locks.get(&s.digest).map(|l| short(&l.owner))
                );
                self.violate("3 (singleton exclusion)", msg);
            }
        }
        s.id
    }

    /// A starter writes the record of the name the harness derived for it (both use the library's naming).
    pub(crate) fn expect_own_name(&mut self, name: &str) {
        if let Some(Kind::Start { name: n, .. }) = self.meta().map(|m| &m.kind) {
            assert_eq!(
                n, name,
                "the harness and the starter disagree on the statement name"
            );
        }
    }

    /// The Data API's answer naming a statement reached the invocation (a lost response does not count).
    pub(crate) fn learnt_statement(&mut self, name: &str) {
        if let Some(m) = self.meta() {
            if matches!(&m.kind, Kind::Start { name: n, .. } if n == name) {
                m.learnt_statement = true;
            }
        }
    }

    pub(crate) fn lock(
        &mut self,
        digest: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Lock {
        let (lock, newly) = self.table.lock(digest, owner, now, expires_at);
        if let (true, Some(m)) = (newly, self.meta()) {
            m.took_lock = true;
        }
        lock
    }

    pub(crate) fn steal_lock(&mut self, steal: &LockSteal) -> bool {
        let stolen = self.table.steal_lock(steal);
        if let (true, Some(m)) = (stolen, self.meta()) {
            m.took_lock = true;
        }
        stolen
    }

    /// Frees a lock; a lock freed while its holder's statement still runs is a violation, except by a starter
    /// that saw its `ExecuteStatement` fail (it cannot know the statement exists).
    pub(crate) fn unlock(&mut self, digest: &str, owner: &str) {
        if !self.table.unlock(digest, owner) {
            return;
        }
        let running = self
            .data
            .statements
            .iter()
            .any(|s| s.name == owner && !s.ended());
        if !running {
            return;
        }
        if matches!(self.meta().map(|m| &m.kind), Some(Kind::Start { .. })) {
            self.log(|| {
                format!(
                    "   lock of {} freed while it runs (start saw an error)",
                    short(owner)
                )
            });
            self.unguarded.insert(owner.to_string());
        } else {
            self.violate(
                "3 (a lock is freed only once its statement ended)",
                format!(
                    "the singleton lock of {} was released while its statement still runs",
                    short(owner)
                ),
            );
        }
    }

    /// Settles a record, checking that the settlement tells the truth about its statement.
    pub(crate) fn settle(
        &mut self,
        name: &str,
        s: &Settlement,
        lease: Option<DateTime<Utc>>,
    ) -> Settled {
        let before = self.table.get(name);
        let settled = self.table.settle(name, s, lease);
        if settled == Settled::Done {
            self.settled_as.insert(name.to_string(), s.status);
            let now = self.clock;
            for req in self.cfn.values_mut().filter(|r| r.name == name) {
                req.settled_at.get_or_insert(now);
            }
            self.log(|| format!("   settled {} {}", short(name), s.status.as_str()));
            let known_id = before.and_then(|r| r.statement_id);
            if let Err(why) = self.judge_settlement(name, s, known_id.as_deref()) {
                let msg = format!("{} settled {}: {why}", short(name), s.status.as_str());
                self.violate("4 (settled to its real outcome)", msg);
            }
        }
        settled
    }

    /// A callback on a token: accepted once, while the task runs or waits; judged against the statement.
    pub(crate) fn answer(&mut self, token: &str, answer: Answer) -> Result<(), PortError> {
        let gone = |code: &str| PortError::new(FaultKind::TokenGone, code, "Task Timed Out");
        let Some(task) = self.tasks.get(token).cloned() else {
            return Err(gone("TaskDoesNotExist"));
        };
        if self.refusing.contains(token) {
            // Refused for good, whatever the task's state: an output Step Functions will never take.
            self.log(|| format!("   refused for good {token}"));
            return Err(PortError::new(
                FaultKind::Rejected,
                "InvalidOutput",
                "the output is not valid JSON or is too large",
            ));
        }
        match task.state {
            TaskState::Running | TaskState::Waiting => {
                if let Err(why) = self.judge_answer(&task.name, &answer) {
                    self.violate(
                        "1 (the task's own outcome)",
                        format!("token {token}: {why}"),
                    );
                }
                let current = self.current;
                self.log(|| format!("   answered {token}: {}", describe_answer(&answer)));
                let t = self.tasks.get_mut(token).expect("checked");
                t.state = TaskState::Answered;
                t.answer = Some(answer);
                t.answered_by = current;
                Ok(())
            }
            TaskState::Answered => {
                let current = self.current;
                if let Some(t) = self.tasks.get_mut(token) {
                    t.refused.push((current, answer.clone()));
                }
                let first_crashed = self
                    .invocations
                    .get(&task.answered_by)
                    .is_some_and(|m| m.crashed);
                if !task.answer_uncertain && !first_crashed {
                    self.violate(
                        "5 (no double answer)",
                        format!(
                            "token {token} answered again ({}) after #{} answered it",
                            describe_answer(&answer),
                            task.answered_by
                        ),
                    );
                }
                Err(gone("TaskTimedOut"))
            }
            TaskState::Failed | TaskState::TimedOut => {
                let current = self.current;
                if let Some(t) = self.tasks.get_mut(token) {
                    t.refused.push((current, answer));
                }
                Err(gone("TaskTimedOut"))
            }
        }
    }
}

impl State {
    /// `SUBMITTED` -> `STARTED`: the SQL really runs now (invariant 2 counts these runs).
    pub(crate) fn run_statement(&mut self, i: usize) {
        if self.data.statements[i].status != tasker_core::DataApiStatus::Submitted {
            return;
        }
        let runs = self.data.run(i);
        let name = self.data.statements[i].name.clone();
        self.log(|| format!("statement of {} runs (run {runs})", short(&name)));
        if runs > 1 && self.once_names.contains(&name) {
            self.violate(
                "2 (an entry's SQL runs once)",
                format!("the SQL of {} ran {runs} times", short(&name)),
            );
        }
    }

    /// `ExecuteStatement` with `WaitTimeSeconds`: the statement may run and end within the wait; the reply says
    /// where it stands. Its completion event goes out as usual (through the outbox).
    pub(crate) fn wait_for(&mut self, id: &str) -> tasker_core::DataApiStatus {
        use tasker_core::DataApiStatus;
        let i = self.data.index_of(id).expect("just executed");
        let current = self.data.statements[i].status;
        if self.data.statements[i].ended() || !self.rng.chance(self.ends_in_wait) {
            return current;
        }
        self.run_statement(i);
        let status = if self.data.statements[i].cancel_requested {
            DataApiStatus::Aborted
        } else if self.rng.chance(0.75) {
            DataApiStatus::Finished
        } else {
            DataApiStatus::Failed
        };
        let at = self.clock;
        self.log(|| format!("   it ends {} within the wait", status.as_str()));
        if let Some(body) = self.data.end(i, status, at) {
            self.outbox.push(body);
        }
        status
    }

    /// A CloudFormation response `PUT`: noted per request, judged against the statement it reports on.
    pub(crate) fn respond(&mut self, url: &str, body: &str) -> Result<(), PortError> {
        let v: serde_json::Value = serde_json::from_str(body).expect("a response body is JSON");
        let status = v["Status"].as_str().unwrap_or_default().to_string();
        let physical = v["PhysicalResourceId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(req) = self.cfn.get(url).cloned() else {
            self.violate(
                "6 (CloudFormation answers)",
                format!("an answer to an unknown URL {url}"),
            );
            return Ok(());
        };
        if req.expired {
            return Err(PortError::new(
                FaultKind::TokenGone,
                "ResponseRefused",
                "the response URL answered 403",
            ));
        }
        self.log(|| format!("   answered {url}: {status} {}", short(&physical)));
        // Late, nobody reads it: only a repeat of an answer already given may still be sent (a retried start
        // repeats it), never a first or a different one.
        // The code decides with the clock its invocation read (a sweep's `now` is read once), so an answer
        // decided in time may go out a little later: the functions' timeouts are a minute at most.
        let age = self.clock - req.sent_at.unwrap_or(self.clock);
        let repeat = req.answers.contains(&(status.clone(), physical.clone()));
        let deadline = tasker_core::completer::CLOUDFORMATION_WAIT + Duration::minutes(2);
        if age > deadline && !repeat {
            self.violate(
                "6 (no answer after CloudFormation stopped waiting)",
                format!(
                    "{url} answered {status} {} min after it was sent",
                    age.num_minutes()
                ),
            );
        }
        let statement = self
            .data
            .statements
            .iter()
            .rev()
            .find(|s| s.name == req.name)
            .cloned();
        let wrong = match (status.as_str(), &statement) {
            ("SUCCESS", Some(st)) => (st.status != tasker_core::DataApiStatus::Finished)
                .then(|| format!("SUCCESS while its statement is {}", st.status.as_str())),
            ("SUCCESS", None) => (!req.rollback && req.request_type != "NoSql")
                .then(|| "SUCCESS without a statement".to_string()),
            // Past retention its end cannot be learnt: StatementLost is a FAILED answer.
            ("FAILED", Some(st))
                if st.status == tasker_core::DataApiStatus::Finished && st.known(self.clock) =>
            {
                Some("FAILED while its statement finished".to_string())
            }
            ("FAILED", _)
                if req.request_type == "Create"
                    && physical != tasker_core::custom_resource::CREATE_FAILED =>
            {
                Some(format!(
                    "a failed Create answered physical id {physical}, not the marker"
                ))
            }
            _ => None,
        };
        if let Some(why) = wrong {
            self.violate("6 (CloudFormation answers)", format!("{url}: {why}"));
        }
        let first = req.answers.first().cloned();
        if let Some(first) = first {
            if first != (status.clone(), physical.clone()) {
                self.violate(
                    "6 (exactly one answer per CloudFormation request)",
                    format!("{url} answered {first:?}, then ({status}, {physical})"),
                );
            }
        }
        self.cfn
            .get_mut(url)
            .expect("checked")
            .answers
            .push((status, physical));
        Ok(())
    }
}

/// A long name or id cut for messages: enough to tell them apart.
pub(crate) fn short(s: &str) -> String {
    if s.len() > 16 {
        format!("…{}", &s[s.len() - 8..])
    } else {
        s.to_string()
    }
}

pub(crate) fn describe_answer(a: &Answer) -> String {
    match a {
        Answer::Success(_) => "success".into(),
        Answer::Failure { error, .. } => format!("failure {error}"),
    }
}
