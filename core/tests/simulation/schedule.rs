//! One random schedule per seed: a seeded interleaving of state entries and their retries, port-call steps of
//! in-flight invocations, crashes, statement progress, event deliveries (and forgeries), heartbeat timeouts
//! with their cancellers, sweeps, index catch-up and clock jumps; then quiescence and the final checks.

use super::data_api::event_body;
use super::fakes::Sim;
use super::harness::{config, epoch, iso, EntrySpec, Harness, Msg, Plan};
use super::model::{short, Faults, State};
use super::rng::Rng;
use chrono::Duration;
use serde_json::json;

/// What one schedule produced.
pub(crate) struct Outcome {
    pub violations: Vec<String>,
    pub trace: Vec<String>,
}

/// The scheduler's moves, with their weights.
#[derive(Debug, Clone, Copy)]
enum Move {
    NewEntry,
    Launch,
    Poll,
    Crash,
    Deliver,
    Forge,
    Progress,
    Timeout,
    Sweep,
    Tick,
    Jump,
    RefreshIndex,
    SeedCancel,
    Cfn,
}

const PLAIN_SQL: [&str; 4] = [
    "select 1",
    "select count(*) from sales",
    "call etl.load_day()",
    "vacuum sales",
];
/// Few singleton texts, so that singleton entries contend for the same lock.
const SINGLETON_SQL: [&str; 2] = [
    "call etl.rebuild_totals()",
    "unload ('select 1') to 's3://b/x'",
];
/// Step Functions retries a failed attempt at most this often...
const MAX_ATTEMPTS: usize = 4;
/// ...and up to the record's TTL after the entry began (`RECORD_TTL_DAYS`: Step Functions' `Retry` can wait days;
/// past the TTL a retry is a new entry, as the README says).
fn retry_window(ttl_days: u32) -> Duration {
    Duration::days(i64::from(ttl_days)) - Duration::hours(1)
}

/// Runs the schedule of one seed.
pub(crate) fn run(seed: u64, trace: bool) -> Outcome {
    let mut rng = Rng::new(seed);
    let chaos = rng.below(4);
    let config = config(*rng.pick(&[1, 7]), *rng.pick(&[60, 300]));
    let mut state = State::new(seed, epoch(), trace);
    state.list_lag = Duration::seconds(*rng.pick(&[0, 0, 2, 15]));
    state.ttl_lag = Duration::hours(*rng.pick(&[0, 1, 48]));
    state.ends_in_wait = *rng.pick(&[0.0, 0.5, 0.9]);
    let p = [0.0, 0.02, 0.06, 0.12][chaos];
    state.faults = Faults {
        before: p,
        lost_response: p / 2.0,
        refuse_execute: p / 2.0,
    };
    let sim = Sim::new(state);
    let plan = Plan {
        lose_event: [0.0, 0.1, 0.3, 0.5][chaos],
        dup_event: [0.0, 0.1, 0.2, 0.3][chaos],
        lose_result: p / 2.0,
        starter_concurrency: *rng.pick(&[1, 1, 2, 4]),
        scheduled_sweeps: true,
        refuse_for_good: [0.0, 0.0, 0.03, 0.06][chaos],
    };
    let steps = rng.between(40, 140);
    let mut h = Harness::new(&sim, &config, rng, plan);
    h.log(|| {
        format!(
            "seed {seed}: chaos {chaos}, {steps} steps, {:?}, {:?}",
            h.plan, config.settings
        )
    });
    let mut g = Generator {
        crash_weight: [0, 1, 2, 4][chaos],
        executions: (0..3)
            .map(|k| format!("arn:aws:states:us-east-1:123456789012:execution:sim:run-{seed}-{k}"))
            .collect(),
        counter: 0,
    };
    if h.rng.chance(0.05) {
        let at = h.clock() - Duration::hours(1);
        sim.world().table.corrupt.insert("sim-corrupt".into(), at);
    }
    for _ in 0..steps {
        g.step(&mut h);
    }
    h.quiesce();
    h.final_checks();
    drop(h);
    let w = sim.world();
    Outcome {
        violations: w.violations.clone(),
        trace: w.trace.clone().unwrap_or_default(),
    }
}

struct Generator {
    crash_weight: u32,
    executions: Vec<String>,
    counter: u64,
}

impl Generator {
    fn step(&mut self, h: &mut Harness<'_>) {
        let moves = [
            (Move::NewEntry, 5),
            (Move::Launch, 6),
            (Move::Poll, 30),
            (Move::Crash, self.crash_weight),
            (Move::Deliver, 10),
            (Move::Forge, 1),
            (Move::Progress, 10),
            (Move::Timeout, 2),
            (Move::Sweep, 3),
            (Move::Tick, 8),
            (Move::Jump, 2),
            (Move::RefreshIndex, 3),
            (Move::SeedCancel, 1),
            (Move::Cfn, 2),
        ];
        let weights: Vec<u32> = moves.iter().map(|(_, w)| *w).collect();
        match moves[h.rng.weighted(&weights)].0 {
            Move::NewEntry => self.new_entries(h),
            Move::Launch => launch_one(h),
            Move::Poll => {
                let flights = h.in_flight();
                if !flights.is_empty() {
                    let id = *h.rng.pick(&flights);
                    h.poll(id);
                }
            }
            Move::Crash => {
                let flights = h.in_flight();
                if !flights.is_empty() {
                    let id = *h.rng.pick(&flights);
                    h.crash(id);
                }
            }
            Move::Deliver => {
                if !h.queue.is_empty() {
                    let i = h.rng.below(h.queue.len());
                    h.deliver(i);
                }
            }
            Move::Forge => forge(h),
            Move::Progress => {
                let open: Vec<usize> = h
                    .statements()
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.ended())
                    .map(|(i, _)| i)
                    .collect();
                if !open.is_empty() {
                    let i = *h.rng.pick(&open);
                    h.progress(i);
                }
            }
            Move::Timeout => time_out_and_cancel(h),
            Move::Sweep => {
                if !h.sweeping() {
                    let budget = h.rng.chance(0.5).then(|| h.rng.between(1, 5) as usize);
                    h.spawn_sweep(budget);
                }
            }
            Move::Tick => {
                let s = h.rng.between(1, 20);
                h.advance(Duration::seconds(s));
            }
            Move::Jump => {
                let minutes = if h.rng.chance(0.2) {
                    h.rng.between(6 * 60, 30 * 60)
                } else {
                    h.rng.between(1, 120)
                };
                h.log(|| format!("jump {minutes} min"));
                h.advance(Duration::minutes(minutes));
            }
            Move::RefreshIndex => h.refresh_index(),
            Move::Cfn => self.cfn_request(h),
            Move::SeedCancel => {
                if h.starters_in_flight() < h.plan.starter_concurrency {
                    let arn = h.rng.pick(&self.executions).clone();
                    h.seed_cancel_latest(&arn);
                }
            }
        }
    }

    /// One state entry in one of the payload styles, or a `Map` fan-out of identical SQL.
    /// A CloudFormation request: a new resource's Create, or the Delete (or Update) of one whose Create was
    /// answered, with the physical id it was given (the rollback Delete of a failed Create among them).
    fn cfn_request(&mut self, h: &mut Harness<'_>) {
        if h.entries.len() >= 14 {
            return;
        }
        self.counter += 1;
        let n = self.counter;
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/sim/1";
        let answered: Vec<(String, String, String)> = {
            let w = h.sim.world();
            h.entries
                .iter()
                .filter_map(|e| {
                    let c = e.spec.cfn.as_ref().filter(|c| c.request_type == "Create")?;
                    let (status, physical) = w.cfn.get(&c.url)?.answers.first()?.clone();
                    Some((e.spec.state_name.clone()?, status, physical))
                })
                .collect()
        };
        let request_id = format!("req-{n}");
        let spec = if !answered.is_empty() && h.rng.chance(0.5) {
            let (logical, status, physical) = h.rng.pick(&answered).clone();
            let kind = if status == "FAILED" || h.rng.chance(0.5) {
                "Delete"
            } else {
                "Update"
            };
            let sql = h.rng.chance(0.8).then_some("drop table etl.day");
            EntrySpec::cfn(stack, &logical, &request_id, kind, Some(physical), sql)
        } else {
            let sql = *h.rng.pick(&[
                "create table etl.day (d date)",
                "grant select on etl.day to bi",
            ]);
            EntrySpec::cfn(
                stack,
                &format!("Sql{n}"),
                &request_id,
                "Create",
                None,
                Some(sql),
            )
        };
        let url = spec.cfn.as_ref().map(|c| c.url.clone()).unwrap_or_default();
        h.add_entry(spec);
        if h.rng.chance(0.05) {
            if let Some(r) = h.sim.world().cfn.get_mut(&url) {
                r.expired = true;
            }
        }
        launch_one(h);
    }

    fn new_entries(&mut self, h: &mut Harness<'_>) {
        if h.entries.len() >= 12 {
            return;
        }
        self.counter += 1;
        let n = self.counter;
        let execution = h.rng.pick(&self.executions).clone();
        let entered = iso(h.clock() + Duration::milliseconds(n as i64));
        let singleton = h.rng.chance(0.3);
        let sql = if singleton {
            h.rng.pick(&SINGLETON_SQL).to_string()
        } else {
            h.rng.pick(&PLAIN_SQL).to_string()
        };
        let mut spec = EntrySpec::recommended(&execution, &format!("State{n}"), &entered, &sql);
        spec.singleton = singleton;
        spec.singleton_action = h.rng.chance(0.3);
        spec.result_rows = if h.rng.chance(0.2) { 3 } else { 0 };
        if h.rng.chance(0.3) {
            spec.wait_seconds = Some(10);
        }
        match h.rng.below(20) {
            // The seed's payload: no stateEnteredTime (every attempt is its own statement).
            0..=3 => {
                spec.entered = None;
                if h.rng.chance(0.5) {
                    spec.state_name = None;
                }
            }
            // Fire-and-forget, the seed's polling style.
            4..=5 => spec.waits = false,
            // Ad hoc: only the SQL.
            6 => {
                spec = EntrySpec {
                    execution: None,
                    state_name: None,
                    entered: None,
                    waits: false,
                    ..spec
                }
            }
            // A Map fan-out: identical SQL, distinct stateName, one entered time.
            7..=10 => {
                let width = h.rng.between(2, 3);
                for i in 0..width {
                    let mut item = spec.clone();
                    item.state_name = Some(format!("Map{n}-{i}"));
                    h.add_entry(item);
                }
                h.log(|| format!("map fan-out of {width} in {}", short(&execution)));
                launch_one(h);
                return;
            }
            _ => {}
        }
        h.add_entry(spec);
        launch_one(h);
    }
}

/// Step Functions starts an entry that has no attempt yet, or retries one whose last attempt failed.
fn launch_one(h: &mut Harness<'_>) {
    if h.starters_in_flight() >= h.plan.starter_concurrency {
        return;
    }
    let clock = h.clock();
    let ready: Vec<usize> = h
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| match e.attempts.last() {
            None => true,
            Some(a) => {
                a.failed()
                    && e.attempts.len() < MAX_ATTEMPTS
                    && clock < e.first_at + retry_window(h.settings().record_ttl_days)
            }
        })
        .map(|(i, _)| i)
        .collect();
    if !ready.is_empty() {
        let entry = *h.rng.pick(&ready);
        h.start_attempt(entry);
    }
}

/// A waiting task's heartbeat runs out; its `Catch` may call the canceller, narrowed or not.
fn time_out_and_cancel(h: &mut Harness<'_>) {
    let waiting = h.waiting_tokens();
    if waiting.is_empty() {
        return;
    }
    let token = h.rng.pick(&waiting).clone();
    h.time_out(&token);
    let Some(entry) = h.entry_of(&token) else {
        return;
    };
    let spec = h.entries[entry].spec.clone();
    let (Some(arn), true) = (spec.execution.clone(), h.rng.chance(0.7)) else {
        return;
    };
    let mut payload = json!({"executionArn": arn});
    match h.rng.below(10) {
        0..=3 => {
            if let Some(state) = &spec.state_name {
                payload["stateName"] = json!(state);
            }
        }
        4 => payload["statementName"] = json!(h.task(&token).name),
        _ => {}
    }
    h.spawn_cancel(payload);
}

/// An event that names one of our statements with another id (unknown, or another statement's), or claims a
/// state the statement is not in.
fn forge(h: &mut Harness<'_>) {
    let names: Vec<String> = h.sim.world().table.rows.keys().cloned().collect();
    let statements = h.statements();
    if names.is_empty() || statements.is_empty() {
        return;
    }
    let name = h.rng.pick(&names).clone();
    let state = *h.rng.pick(&["FINISHED", "FAILED", "ABORTED"]);
    let id = match h.rng.below(3) {
        0 => h.statement_named(&name).map(|i| statements[i].id.clone()),
        1 => Some(h.rng.pick(&statements).id.clone()),
        _ => None,
    }
    .unwrap_or_else(|| format!("5ea1da7a-0000-4000-8000-f0{:010x}", h.rng.below(1 << 20)));
    h.log(|| format!("forged event: {} {} {state}", short(&name), short(&id)));
    let body = event_body(&name, &id, state, 7, h.clock());
    h.queue.push(Msg { body, receives: 0 });
}
