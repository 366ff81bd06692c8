//! Runs invocations of the three use cases against the simulated world, one port call at a time, and plays
//! Step Functions, SQS and EventBridge around them: a task waits only if its starter returned `Ok`; a completer
//! message that failed comes back (up to five receives, then the dead-letter queue); a statement that ends
//! emits its event, which may be lost or duplicated and is delivered in any order.

use super::data_api::{Statement, MAX_RUN};
use super::fakes::Sim;
use super::model::{
    short, CfnRequest, Faults, InvId, InvMeta, Kind, Scripted, Task, TaskState, HARNESS,
    LAMBDA_TIMEOUT, STARTER_TIMEOUT,
};
use super::rng::Rng;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tasker_core::canceller::{self, CancellerPorts};
use tasker_core::completer::{complete_event, CompleterPorts, Disposition, NOT_STARTED_AFTER};
use tasker_core::starter::{self, Invocation, StarterConfig, StarterPorts};
use tasker_core::sweep::{sweep, SweepBudget, SweepReport};
use tasker_core::{
    parse_body, sql_digest, statement_name, ClusterAuth, DataApiStatus, EntryKey, Message,
    PortError, Settings, SqlText, StatementPrefix, Target, TaskerError,
};

/// SQS `maxReceiveCount` of the completer's queue: then the message goes to the dead-letter queue.
const MAX_RECEIVES: u32 = 5;

/// The simulation's epoch.
pub(crate) fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

/// A deployment's configuration, as core/src/use_case_tests.rs builds it.
pub(crate) fn config(record_ttl_days: u32, sweep_grace_seconds: u64) -> StarterConfig {
    StarterConfig {
        settings: Settings {
            table_name: "sim".into(),
            prefix: StatementPrefix::parse("sim").expect("valid prefix"),
            record_ttl_days,
            sweep_grace_seconds,
        },
        target: Target::Cluster {
            identifier: "c".into(),
            database: "dev".into(),
            auth: ClusterAuth::DbUser("etl".into()),
        },
        fast_path_seconds: 0,
    }
}

/// What an invocation ended with.
pub(crate) enum Done {
    Start(Result<Value, TaskerError>),
    Complete(Result<Disposition, TaskerError>),
    Sweep(Result<SweepReport, TaskerError>),
    Cancel(Result<Value, TaskerError>),
}

type Flight<'a> = Pin<Box<dyn Future<Output = Done> + 'a>>;

/// Why an invocation runs, which says what its end means.
#[derive(Clone)]
enum Origin {
    Attempt { entry: usize, attempt: usize },
    SeedAction,
    Message(Msg),
    Sweep,
    Cancel,
}

/// An SQS message of the completer's queue.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub body: String,
    pub receives: u32,
}

/// Chaos outside the port calls.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub lose_event: f64,
    pub dup_event: f64,
    /// An invocation dies right after its last call: its work is done, its caller sees a Lambda error.
    pub lose_result: f64,
    /// The starter's reserved concurrency (default 1 in the template).
    pub starter_concurrency: usize,
    /// The completer's schedule: a sweep whenever at least five minutes pass at once.
    pub scheduled_sweeps: bool,
    /// Chance that a new task's answers are refused for good (an output Step Functions never takes).
    pub refuse_for_good: f64,
}

/// One state entry of a state machine: what its Task state sends to the starter.
#[derive(Clone, Debug)]
pub(crate) struct EntrySpec {
    pub execution: Option<String>,
    pub state_name: Option<String>,
    pub entered: Option<String>,
    pub sql: String,
    pub singleton: bool,
    /// `action: executeSingletonStatement` rather than `singleton: true`.
    pub singleton_action: bool,
    /// Has a task token (`waitForTaskToken`); otherwise fire-and-forget.
    pub waits: bool,
    pub result_rows: u32,
    /// `waitSeconds`: the fast path.
    pub wait_seconds: Option<u32>,
    /// A CloudFormation custom-resource request instead of a Step Functions payload.
    pub cfn: Option<CfnSpec>,
}

/// A CloudFormation custom-resource request (its SQL is the entry's `sql`; its stack, logical id and request id
/// are the entry's execution, state name and entered time, as the starter keys it).
#[derive(Clone, Debug)]
pub(crate) struct CfnSpec {
    pub request_type: &'static str,
    pub physical_id: Option<String>,
    /// No SQL for this request type.
    pub no_sql: bool,
    pub url: String,
}

impl EntrySpec {
    /// The recommended payload: token, execution, state name and entered time.
    pub(crate) fn recommended(execution: &str, state: &str, entered: &str, sql: &str) -> Self {
        EntrySpec {
            execution: Some(execution.into()),
            state_name: Some(state.into()),
            entered: Some(entered.into()),
            sql: sql.into(),
            singleton: false,
            singleton_action: false,
            waits: true,
            result_rows: 0,
            wait_seconds: None,
            cfn: None,
        }
    }

    /// A CloudFormation request of `request_type` for the resource `logical_id` of `stack`.
    pub(crate) fn cfn(
        stack: &str,
        logical_id: &str,
        request_id: &str,
        request_type: &'static str,
        physical_id: Option<String>,
        sql: Option<&str>,
    ) -> Self {
        EntrySpec {
            waits: false,
            cfn: Some(CfnSpec {
                request_type,
                physical_id,
                no_sql: sql.is_none(),
                url: format!(
                    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{request_id}?sig=x"
                ),
            }),
            ..EntrySpec::recommended(stack, logical_id, request_id, sql.unwrap_or("-"))
        }
    }

    fn payload(&self, token: Option<&str>) -> Value {
        if let Some(c) = &self.cfn {
            let key = format!("{}Sql", c.request_type);
            let mut props = Map::new();
            if !c.no_sql {
                props.insert(key, json!(self.sql));
            }
            let mut p = json!({"RequestType": c.request_type, "ResponseURL": c.url,
                "StackId": self.execution, "RequestId": self.entered, "LogicalResourceId": self.state_name,
                "ResourceType": "Custom::RedshiftSql", "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:starter",
                "ResourceProperties": props});
            if let Some(id) = &c.physical_id {
                p["PhysicalResourceId"] = json!(id);
            }
            return p;
        }
        let mut p = Map::new();
        p.insert("sqlStatement".into(), json!(self.sql));
        let optional = [
            ("taskToken", token),
            ("executionArn", self.execution.as_deref()),
            ("stateName", self.state_name.as_deref()),
            ("stateEnteredTime", self.entered.as_deref()),
        ];
        for (field, value) in optional {
            if let Some(v) = value {
                p.insert(field.into(), json!(v));
            }
        }
        if self.singleton && self.singleton_action {
            p.insert("action".into(), json!("executeSingletonStatement"));
        } else if self.singleton {
            p.insert("singleton".into(), json!(true));
        }
        if self.result_rows > 0 {
            p.insert("resultRows".into(), json!(self.result_rows));
        }
        if let Some(w) = self.wait_seconds {
            p.insert("waitSeconds".into(), json!(w));
        }
        Value::Object(p)
    }

    fn digest(&self) -> String {
        sql_digest(&SqlText::Single(self.sql.clone()), &BTreeMap::new())
    }

    /// The statement name the starter derives for this attempt (docs/design.md, "Statement names").
    fn statement_name(
        &self,
        prefix: &StatementPrefix,
        token: Option<&str>,
        request: &str,
    ) -> String {
        let digest = self.digest();
        let key = EntryKey::for_start(
            self.execution.as_deref(),
            self.state_name.as_deref(),
            self.entered.as_deref(),
            &digest,
            token,
            request,
        );
        statement_name(prefix, &key)
    }
}

/// How one attempt (one starter invocation) ended.
#[derive(Clone, Debug)]
pub(crate) enum AttemptEnd {
    Running,
    Returned(Result<Value, TaskerError>),
    /// Crashed, timed out, or its result was lost: a Lambda error for Step Functions.
    Died,
}

#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    pub token: Option<String>,
    pub name: String,
    pub end: AttemptEnd,
}

impl Attempt {
    pub(crate) fn failed(&self) -> bool {
        matches!(self.end, AttemptEnd::Died | AttemptEnd::Returned(Err(_)))
    }
}

/// A state entry and its attempts (Step Functions retries after a Lambda error, with a new token).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub spec: EntrySpec,
    pub first_at: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
}

/// The scheduler's hands: spawn, poll, crash invocations, move time, end statements, deliver events.
pub(crate) struct Harness<'a> {
    pub sim: &'a Sim,
    pub config: &'a StarterConfig,
    pub rng: Rng,
    pub plan: Plan,
    flights: BTreeMap<InvId, (Flight<'a>, Origin)>,
    next_inv: InvId,
    next_token: u64,
    pub queue: Vec<Msg>,
    pub entries: Vec<Entry>,
    pub sweeps: Vec<Result<SweepReport, TaskerError>>,
    pub cancels: Vec<Result<Value, TaskerError>>,
}

impl<'a> Harness<'a> {
    pub(crate) fn new(sim: &'a Sim, config: &'a StarterConfig, rng: Rng, plan: Plan) -> Self {
        Harness {
            sim,
            config,
            rng,
            plan,
            flights: BTreeMap::new(),
            next_inv: HARNESS,
            next_token: 0,
            queue: Vec::new(),
            entries: Vec::new(),
            sweeps: Vec::new(),
            cancels: Vec::new(),
        }
    }

    pub(crate) fn clock(&self) -> DateTime<Utc> {
        self.sim.world().clock
    }

    pub(crate) fn log(&self, line: impl FnOnce() -> String) {
        self.sim.world().log(line);
    }

    pub(crate) fn settings(&self) -> &'a Settings {
        &self.config.settings
    }

    /// Makes the next `times` calls of `op` (about `key`, when given) fail.
    pub(crate) fn script(
        &self,
        op: &'static str,
        key: Option<&str>,
        error: PortError,
        after_effect: bool,
        times: usize,
    ) {
        self.sim.world().scripted.push(Scripted {
            op,
            key: key.map(str::to_string),
            error,
            after_effect,
            times,
        });
    }

    // ---- invocations ----

    fn register(&mut self, kind: Kind) -> InvId {
        self.next_inv += 1;
        let id = self.next_inv;
        let mut w = self.sim.world();
        let now = w.clock;
        w.invocations.insert(
            id,
            InvMeta {
                kind,
                now,
                crashed: false,
                next_call: None,
                touched: BTreeSet::new(),
                store_fault: false,
                unlock_fault: false,
                lookup_fault: false,
                took_lock: false,
                learnt_statement: false,
            },
        );
        id
    }

    /// Starts an invocation and runs it up to its first port call.
    fn launch(&mut self, id: InvId, flight: Flight<'a>, origin: Origin) -> InvId {
        self.flights.insert(id, (flight, origin));
        self.poll(id);
        id
    }

    pub(crate) fn in_flight(&self) -> Vec<InvId> {
        self.flights.keys().copied().collect()
    }

    pub(crate) fn starters_in_flight(&self) -> usize {
        self.flights
            .values()
            .filter(|(_, o)| matches!(o, Origin::Attempt { .. } | Origin::SeedAction))
            .count()
    }

    pub(crate) fn sweeping(&self) -> bool {
        self.flights
            .values()
            .any(|(_, o)| matches!(o, Origin::Sweep))
    }

    /// The call an in-flight invocation makes when next polled.
    pub(crate) fn next_call(&self, id: InvId) -> Option<&'static str> {
        self.sim
            .world()
            .invocations
            .get(&id)
            .and_then(|m| m.next_call)
    }

    /// Runs one step of an invocation (its pending port call and what follows up to the next); `true` once it
    /// has ended.
    pub(crate) fn poll(&mut self, id: InvId) -> bool {
        let Some((flight, _)) = self.flights.get_mut(&id) else {
            return true;
        };
        self.sim.world().current = id;
        let polled = flight
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        self.sim.world().current = HARNESS;
        let outbox = std::mem::take(&mut self.sim.world().outbox);
        for body in outbox {
            self.emit(body);
        }
        let Poll::Ready(done) = polled else {
            return false;
        };
        let (_, origin) = self.flights.remove(&id).expect("in flight");
        let lost = self.rng.chance(self.plan.lose_result);
        self.finish(id, origin, done, lost);
        true
    }

    /// Runs an invocation to its end.
    pub(crate) fn run(&mut self, id: InvId) {
        for _ in 0..100_000 {
            if self.poll(id) {
                return;
            }
        }
        panic!("invocation #{id} never ends");
    }

    /// Runs an invocation until its next call is `op`.
    pub(crate) fn run_until(&mut self, id: InvId, op: &str) {
        while self.next_call(id) != Some(op) {
            assert!(!self.poll(id), "#{id} ended before calling {op}");
        }
    }

    pub(crate) fn run_all(&mut self) {
        for id in self.in_flight() {
            self.run(id);
        }
    }

    /// Kills an invocation between two port calls (its pending call never happens).
    pub(crate) fn crash(&mut self, id: InvId) {
        let Some((flight, origin)) = self.flights.remove(&id) else {
            return;
        };
        drop(flight);
        {
            let mut w = self.sim.world();
            let next = w.invocations.get(&id).and_then(|m| m.next_call);
            w.log(|| format!("#{id} CRASHED before {next:?}"));
            if let Some(m) = w.invocations.get_mut(&id) {
                m.crashed = true;
            }
        }
        match origin {
            Origin::Attempt { entry, attempt } => {
                self.end_attempt(id, entry, attempt, AttemptEnd::Died)
            }
            Origin::Message(msg) => self.requeue(msg),
            _ => {}
        }
    }

    /// Runs an invocation to its end, then loses its result (the Lambda died after its last call).
    pub(crate) fn run_and_lose_result(&mut self, id: InvId) {
        let keep = self.plan.lose_result;
        self.plan.lose_result = 1.0;
        self.run(id);
        self.plan.lose_result = keep;
    }

    fn finish(&mut self, id: InvId, origin: Origin, done: Done, lost: bool) {
        self.log(|| {
            format!(
                "#{id} ended{}: {}",
                if lost { " (result lost)" } else { "" },
                describe(&done)
            )
        });
        match (origin, done) {
            (Origin::Attempt { entry, attempt }, Done::Start(result)) => {
                let end = if lost {
                    AttemptEnd::Died
                } else {
                    AttemptEnd::Returned(result)
                };
                self.end_attempt(id, entry, attempt, end);
            }
            (Origin::Message(msg), Done::Complete(result)) => {
                let deleted = !lost && matches!(result, Ok(d) if d != Disposition::Busy);
                if !deleted {
                    self.requeue(msg);
                }
            }
            (Origin::Sweep, Done::Sweep(result)) => self.sweeps.push(result),
            (Origin::Cancel, Done::Cancel(result)) => self.cancels.push(result),
            _ => {}
        }
    }

    fn requeue(&mut self, mut msg: Msg) {
        msg.receives += 1;
        if msg.receives >= MAX_RECEIVES {
            self.log(|| "message moved to the dead-letter queue".into());
        } else {
            self.queue.push(msg);
        }
    }

    // ---- the starter and Step Functions ----

    /// A new state entry; nothing runs yet.
    pub(crate) fn add_entry(&mut self, spec: EntrySpec) -> usize {
        if spec.entered.is_some() {
            let name = spec.statement_name(&self.settings().prefix, None, "");
            self.sim.world().once_names.insert(name);
        }
        if let Some(c) = &spec.cfn {
            let name = spec.statement_name(&self.settings().prefix, None, "");
            let rollback = c.request_type == "Delete"
                && tasker_core::custom_resource::is_failed_create(c.physical_id.as_deref());
            let request_type = if c.no_sql { "NoSql" } else { c.request_type };
            self.sim.world().cfn.insert(
                c.url.clone(),
                CfnRequest {
                    request_type: request_type.to_string(),
                    name,
                    rollback,
                    expired: false,
                    answers: Vec::new(),
                    sent_at: None,
                    settled_at: None,
                },
            );
        }
        let first_at = self.clock();
        self.entries.push(Entry {
            spec,
            first_at,
            attempts: Vec::new(),
        });
        self.entries.len() - 1
    }

    /// Step Functions invokes the starter for an entry: a new attempt with a new task token.
    pub(crate) fn start_attempt(&mut self, entry: usize) -> InvId {
        let spec = self.entries[entry].spec.clone();
        let token = spec.waits.then(|| {
            self.next_token += 1;
            format!("T{}", self.next_token)
        });
        // The Lambda request id: the invocation id `register` hands out next (it names seed-style statements).
        let request = format!("req-{}", self.next_inv + 1);
        let name = spec.statement_name(&self.settings().prefix, token.as_deref(), &request);
        let id = self.register(Kind::Start {
            name: name.clone(),
            digest: spec.digest(),
            singleton: spec.singleton,
        });
        debug_assert_eq!(request, format!("req-{id}"));
        if let Some(t) = &token {
            if self.rng.chance(self.plan.refuse_for_good) {
                self.sim.world().refusing.insert(t.clone());
            }
            self.sim.world().tasks.insert(
                t.clone(),
                Task {
                    name: name.clone(),
                    state: TaskState::Running,
                    answer: None,
                    answered_by: HARNESS,
                    answer_uncertain: false,
                    refused: Vec::new(),
                },
            );
        }
        let attempt = self.entries[entry].attempts.len();
        self.entries[entry].attempts.push(Attempt {
            token: token.clone(),
            name: name.clone(),
            end: AttemptEnd::Running,
        });
        self.log(|| {
            format!(
                "#{id} start entry {entry} attempt {attempt} token {token:?} -> {}",
                short(&name)
            )
        });
        let payload = spec.payload(token.as_deref());
        let (sim, config, now) = (self.sim, self.config, self.clock());
        let flight = Box::pin(async move {
            let ports = StarterPorts {
                data: sim,
                store: sim,
                locks: sim,
                callbacks: sim,
            };
            let invocation = Invocation { now, id: &request };
            Done::Start(starter::handle(&ports, config, &payload, invocation).await)
        });
        self.launch(id, flight, Origin::Attempt { entry, attempt })
    }

    /// The seed's `cancelStatement` of the newest statement of an execution.
    pub(crate) fn seed_cancel_latest(&mut self, execution: &str) -> InvId {
        let id = self.register(Kind::SeedAction);
        let payload = json!({"action": "cancelStatement", "statementId": "LATEST", "executionArn": execution});
        let (sim, config, now) = (self.sim, self.config, self.clock());
        let request = format!("req-{id}");
        let flight = Box::pin(async move {
            let ports = StarterPorts {
                data: sim,
                store: sim,
                locks: sim,
                callbacks: sim,
            };
            let invocation = Invocation { now, id: &request };
            Done::Start(starter::handle(&ports, config, &payload, invocation).await)
        });
        self.launch(id, flight, Origin::SeedAction)
    }

    fn end_attempt(&mut self, id: InvId, entry: usize, attempt: usize, end: AttemptEnd) {
        let a = &mut self.entries[entry].attempts[attempt];
        a.end = end.clone();
        let failed = a.failed();
        if let Some(token) = a.token.clone() {
            let mut w = self.sim.world();
            if let Some(t) = w.tasks.get_mut(&token) {
                if t.state == TaskState::Running {
                    t.state = if failed {
                        TaskState::Failed
                    } else {
                        TaskState::Waiting
                    };
                }
            }
        }
        if let AttemptEnd::Returned(Err(e)) = &end {
            self.sim.world().check_failed_start(id, e);
        }
    }

    /// Step Functions' heartbeat ran out for a waiting task.
    pub(crate) fn time_out(&mut self, token: &str) {
        let mut w = self.sim.world();
        if let Some(t) = w.tasks.get_mut(token) {
            if t.state == TaskState::Waiting {
                t.state = TaskState::TimedOut;
                w.log(|| format!("token {token} timed out"));
            }
        }
    }

    pub(crate) fn task(&self, token: &str) -> Task {
        self.sim.world().tasks[token].clone()
    }

    pub(crate) fn waiting_tokens(&self) -> Vec<String> {
        let w = self.sim.world();
        w.tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Waiting)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The entry a token belongs to.
    pub(crate) fn entry_of(&self, token: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.attempts.iter().any(|a| a.token.as_deref() == Some(token)))
    }

    // ---- the completer and the canceller ----

    /// SQS hands one message to the completer.
    pub(crate) fn deliver(&mut self, index: usize) -> Option<InvId> {
        let msg = self.queue.remove(index);
        let change = match parse_body(&msg.body, &self.settings().prefix) {
            Ok(Message::Ours(change)) => change,
            other => {
                self.log(|| format!("message not for the completer: {other:?}"));
                return None;
            }
        };
        let id = self.register(Kind::Completer);
        self.log(|| {
            format!(
                "#{id} event {} {} {:?}",
                short(&change.statement_name),
                short(&change.statement_id),
                change.ending
            )
        });
        let (sim, settings, now) = (self.sim, self.settings(), self.clock());
        let flight = Box::pin(async move {
            let ports = CompleterPorts {
                data: sim,
                store: sim,
                locks: sim,
                callbacks: sim,
            };
            Done::Complete(complete_event(&ports, settings, &change, now).await)
        });
        Some(self.launch(id, flight, Origin::Message(msg)))
    }

    /// Delivers every queued message, one completer at a time, until the queue is empty.
    pub(crate) fn drain_events(&mut self) {
        while !self.queue.is_empty() {
            if let Some(id) = self.deliver(0) {
                self.run(id);
            }
        }
    }

    pub(crate) fn spawn_sweep(&mut self, max_records: Option<usize>) -> InvId {
        let id = self.register(Kind::Sweeper);
        self.log(|| format!("#{id} sweep (max {max_records:?})"));
        let (sim, settings, now) = (self.sim, self.settings(), self.clock());
        let budget = SweepBudget {
            until: None,
            max_records,
        };
        let flight = Box::pin(async move {
            let ports = CompleterPorts {
                data: sim,
                store: sim,
                locks: sim,
                callbacks: sim,
            };
            Done::Sweep(sweep(&ports, settings, budget, now).await)
        });
        self.launch(id, flight, Origin::Sweep)
    }

    pub(crate) fn spawn_cancel(&mut self, payload: Value) -> InvId {
        let id = self.register(Kind::Canceller);
        self.log(|| format!("#{id} cancel {payload}"));
        let (sim, now) = (self.sim, self.clock());
        let flight = Box::pin(async move {
            let ports = CancellerPorts {
                data: sim,
                store: sim,
            };
            Done::Cancel(canceller::handle(&ports, &payload, now).await)
        });
        self.launch(id, flight, Origin::Cancel)
    }

    // ---- the Data API's side ----

    pub(crate) fn statements(&self) -> Vec<Statement> {
        self.sim.world().data.statements.clone()
    }

    pub(crate) fn statement_named(&self, name: &str) -> Option<usize> {
        let w = self.sim.world();
        w.data.statements.iter().rposition(|s| s.name == name)
    }

    /// `SUBMITTED` -> `STARTED` (invariant 2 counts these runs).
    pub(crate) fn run_statement(&mut self, i: usize) {
        self.sim.world().run_statement(i);
    }

    /// Ends a statement and emits its event (maybe lost, maybe twice).
    pub(crate) fn end_statement(&mut self, i: usize, status: DataApiStatus) {
        let at = self.clock();
        self.end_statement_at(i, status, at);
    }

    fn end_statement_at(&mut self, i: usize, status: DataApiStatus, at: DateTime<Utc>) {
        let body = {
            let mut w = self.sim.world();
            if w.data.statements[i].ended() {
                return;
            }
            let name = w.data.statements[i].name.clone();
            w.log(|| format!("statement of {} ends {}", short(&name), status.as_str()));
            w.data.end(i, status, at)
        };
        if let Some(body) = body {
            self.emit(body);
        }
    }

    /// EventBridge puts a completion event on the queue: maybe lost, maybe twice.
    fn emit(&mut self, body: String) {
        if self.rng.chance(self.plan.lose_event) {
            self.log(|| "its event is lost".into());
            return;
        }
        let copies = if self.rng.chance(self.plan.dup_event) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.queue.push(Msg {
                body: body.clone(),
                receives: 0,
            });
        }
    }

    /// One step of a statement's life: it runs, or ends (aborted if someone cancelled it).
    pub(crate) fn progress(&mut self, i: usize) {
        let s = self.sim.world().data.statements[i].clone();
        if s.ended() {
            return;
        }
        if s.cancel_requested {
            self.end_statement(i, DataApiStatus::Aborted);
        } else if s.status == DataApiStatus::Submitted {
            self.run_statement(i);
        } else {
            let status = if self.rng.chance(0.75) {
                DataApiStatus::Finished
            } else {
                DataApiStatus::Failed
            };
            self.end_statement(i, status);
        }
    }

    /// Runs and ends every statement still going.
    pub(crate) fn end_all_statements(&mut self) {
        let n = self.sim.world().data.statements.len();
        for i in 0..n {
            while !self.sim.world().data.statements[i].ended() {
                self.progress(i);
            }
        }
    }

    // ---- time ----

    /// Moves the clock, at most four hours at a time; after each stretch: Lambda timeouts, the Data API's
    /// 24-hour limit, index catch-up, TTL, and the scheduled sweep (run through within a long jump; after the
    /// last stretch only started, so that it interleaves with whatever the scheduler does next).
    pub(crate) fn advance(&mut self, by: Duration) {
        let mut left = by;
        while left > Duration::zero() {
            let stretch = left.min(Duration::hours(4));
            left -= stretch;
            self.sim.world().clock += stretch;
            self.after(stretch, left > Duration::zero());
        }
    }

    fn after(&mut self, stretch: Duration, more_to_come: bool) {
        let clock = self.clock();
        let timed_out: Vec<InvId> = {
            let w = self.sim.world();
            self.flights
                .keys()
                .filter(|id| {
                    let m = &w.invocations[id];
                    let timeout = match m.kind {
                        Kind::Start { .. } | Kind::SeedAction => STARTER_TIMEOUT,
                        _ => LAMBDA_TIMEOUT,
                    };
                    m.now + timeout < clock
                })
                .copied()
                .collect()
        };
        for id in timed_out {
            self.crash(id);
        }
        let overdue: Vec<(usize, DateTime<Utc>)> = {
            let w = self.sim.world();
            w.data
                .statements
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.ended() && s.created_at + MAX_RUN <= clock)
                .map(|(i, s)| (i, s.created_at + MAX_RUN))
                .collect()
        };
        for (i, at) in overdue {
            self.run_statement(i);
            self.end_statement_at(i, DataApiStatus::Failed, at);
        }
        if stretch >= Duration::minutes(1) {
            self.refresh_index();
        }
        {
            let mut w = self.sim.world();
            let lag = w.ttl_lag;
            let gone = w.table.expire((clock - lag).timestamp());
            if !gone.is_empty() {
                w.log(|| {
                    format!(
                        "TTL deleted {:?}",
                        gone.iter().map(|n| short(n)).collect::<Vec<_>>()
                    )
                });
            }
        }
        if self.plan.scheduled_sweeps && stretch >= Duration::minutes(5) && !self.sweeping() {
            let id = self.spawn_sweep(None);
            if more_to_come {
                self.run(id);
            }
        }
    }

    pub(crate) fn refresh_index(&mut self) {
        self.sim.world().table.refresh_index();
    }

    // ---- the end ----

    /// Brings a schedule to rest: no more faults, every invocation finished, every statement ended, every event
    /// delivered, the sweeper run after its grace period until nothing is left unsettled.
    pub(crate) fn quiesce(&mut self) {
        self.sim.world().faults = Faults::default();
        self.plan.lose_result = 0.0;
        self.log(|| "---- quiescence ----".into());
        self.run_all();
        let grace = Duration::seconds(self.settings().sweep_grace_seconds as i64)
            .max(NOT_STARTED_AFTER)
            + Duration::minutes(1);
        for _ in 0..8 {
            self.end_all_statements();
            self.drain_events();
            self.advance(grace);
            self.run_all();
            let id = self.spawn_sweep(None);
            self.run(id);
            self.drain_events();
            let unsettled = self
                .sim
                .world()
                .table
                .rows
                .values()
                .any(|r| !r.record.status.is_settled());
            if !unsettled && self.queue.is_empty() {
                return;
            }
        }
    }

    /// The checks that need a world at rest (invariants 1, 3 and 4; 2 and 5 are checked as calls happen).
    pub(crate) fn final_checks(&mut self) {
        self.sim.world().final_checks();
    }

    pub(crate) fn violations(&self) -> Vec<String> {
        self.sim.world().violations.clone()
    }
}

/// An ISO 8601 time as Step Functions writes `$$.State.EnteredTime`.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn describe(done: &Done) -> String {
    fn err(e: &TaskerError) -> String {
        format!("Err({})", e.error_type())
    }
    match done {
        Done::Start(Ok(v)) => format!(
            "Ok {}",
            v.get("statementId")
                .map_or("-".into(), |i| short(&i.to_string()))
        ),
        Done::Start(Err(e)) | Done::Cancel(Err(e)) => err(e),
        Done::Complete(Ok(d)) => format!("{d:?}"),
        Done::Complete(Err(e)) | Done::Sweep(Err(e)) => err(e),
        Done::Sweep(Ok(r)) => format!("swept {}/{} settled", r.settled, r.examined),
        Done::Cancel(Ok(v)) => format!(
            "cancelled {}",
            v["cancelled"].as_array().map_or(0, Vec::len)
        ),
    }
}
