//! The eight findings of the review, and the bugs the random schedules found, as short fixed schedules (random
//! seeds shift whenever the use cases change; these do not). Each fails (by its own assertions and by the
//! simulation's invariants) if its fix is reverted.

use super::data_api::event_body;
use super::fakes::Sim;
use super::harness::{config, epoch, iso, AttemptEnd, EntrySpec, Harness, Msg, Plan};
use super::model::{Answer, State, TaskState};
use super::rng::Rng;
use chrono::Duration;
use serde_json::{json, Value};
use tasker_core::{starter::StarterConfig, DataApiStatus, FaultKind, PortError, RecordStatus};

const EXEC: &str = "arn:aws:states:us-east-1:123456789012:execution:sim:scenario";
const OTHER_EXEC: &str = "arn:aws:states:us-east-1:123456789012:execution:sim:other";

fn world(record_ttl_days: u32) -> (Sim, StarterConfig) {
    (
        Sim::new(State::new(0, epoch(), true)),
        config(record_ttl_days, 300),
    )
}

/// No random chaos: the scenario scripts its own faults.
fn harness<'a>(sim: &'a Sim, config: &'a StarterConfig) -> Harness<'a> {
    let plan = Plan {
        starter_concurrency: 1,
        scheduled_sweeps: true,
        ..Plan::default()
    };
    Harness::new(sim, config, Rng::new(0), plan)
}

fn retryable(code: &str) -> PortError {
    PortError::new(FaultKind::Retryable, code, "scripted")
}

/// An entry with the recommended payload, started and run to its end.
fn start(h: &mut Harness<'_>, spec: EntrySpec) -> usize {
    let e = h.add_entry(spec);
    let id = h.start_attempt(e);
    h.run(id);
    e
}

fn token(h: &Harness<'_>, entry: usize, attempt: usize) -> String {
    h.entries[entry].attempts[attempt]
        .token
        .clone()
        .expect("a waiting entry")
}

fn name(h: &Harness<'_>, entry: usize) -> String {
    h.entries[entry].attempts[0].name.clone()
}

fn result(h: &Harness<'_>, entry: usize, attempt: usize) -> Result<Value, String> {
    match &h.entries[entry].attempts[attempt].end {
        AttemptEnd::Returned(Ok(v)) => Ok(v.clone()),
        AttemptEnd::Returned(Err(e)) => Err(e.error_type().to_string()),
        other => Err(format!("{other:?}")),
    }
}

/// `success` or the error name the task was answered with; `None` while unanswered.
fn answer(h: &Harness<'_>, token: &str) -> Option<String> {
    match h.task(token).answer? {
        Answer::Success(_) => Some("success".into()),
        Answer::Failure { error, .. } => Some(error),
    }
}

/// A `singleton: true` entry with the recommended payload.
fn singleton(execution: &str, state: &str, entered: &str, sql: &str) -> EntrySpec {
    EntrySpec {
        singleton: true,
        ..EntrySpec::recommended(execution, state, entered, sql)
    }
}

/// Whether the entry's statement name holds a singleton lock.
fn holds_lock(h: &Harness<'_>, entry: usize) -> bool {
    let n = name(h, entry);
    h.sim.world().table.locks.values().any(|l| l.owner == n)
}

/// How many statements the Data API started under the entry's name.
fn statements_of(h: &Harness<'_>, entry: usize) -> usize {
    let n = name(h, entry);
    h.statements().iter().filter(|s| s.name == n).count()
}

fn statement(h: &Harness<'_>, entry: usize) -> usize {
    h.statement_named(&name(h, entry)).expect("a statement")
}

fn record_status(h: &Harness<'_>, entry: usize) -> Option<RecordStatus> {
    h.sim.world().table.get(&name(h, entry)).map(|r| r.status)
}

/// Quiescence, the final checks, and no violation anywhere in the scenario.
fn assert_clean(h: &mut Harness<'_>) {
    h.quiesce();
    h.final_checks();
    let violations = h.violations();
    if !violations.is_empty() {
        let trace = h.sim.world().trace.clone().unwrap_or_default();
        panic!(
            "{}\n---- trace ----\n{}",
            violations.join("\n"),
            trace.join("\n")
        );
    }
}

/// Finding 1: a canceller given only the execution cancels every running statement of it; a sibling `Map`
/// iteration still waiting must then fail with `ABORTED`, not hang.
#[test]
fn finding_1_cancelled_siblings_get_aborted_instead_of_hanging() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let entries: Vec<usize> = (0..3)
        .map(|i| {
            let spec =
                EntrySpec::recommended(EXEC, &format!("RunSql-{i}"), &t, "call etl.load_day()");
            start(&mut h, spec)
        })
        .collect();
    for &e in &entries {
        let i = statement(&h, e);
        h.run_statement(i);
    }
    let tokens: Vec<String> = entries.iter().map(|&e| token(&h, e, 0)).collect();
    h.time_out(&tokens[0]);
    h.advance(Duration::minutes(1));
    let c = h.spawn_cancel(json!({"executionArn": EXEC}));
    h.run(c);
    let cancelled = h.cancels[0].as_ref().expect("cancel")["cancelled"].clone();
    assert_eq!(cancelled.as_array().map(Vec::len), Some(3), "{cancelled}");
    for &e in &entries {
        let i = statement(&h, e);
        h.progress(i);
    }
    h.drain_events();
    for t in &tokens[1..] {
        assert_eq!(answer(&h, t).as_deref(), Some("ABORTED"), "sibling {t}");
    }
    assert_eq!(h.task(&tokens[0]).state, TaskState::TimedOut);
    assert_clean(&mut h);
}

/// Finding 2: more than a page of stuck records (starts that died before their statement existed, statements
/// past the Data API's retention) and an undecodable item must not hide a statement whose event was lost.
#[test]
fn finding_2_one_sweep_reaches_a_lost_event_behind_a_hundred_stuck_records() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    h.plan.lose_event = 1.0;
    let t = iso(h.clock());
    for i in 0..60 {
        let e = h.add_entry(EntrySpec::recommended(
            EXEC,
            &format!("Dead{i}"),
            &t,
            "select 1",
        ));
        let id = h.start_attempt(e);
        h.run_until(id, "execute");
        h.crash(id);
    }
    let old: Vec<usize> = (0..60)
        .map(|i| {
            start(
                &mut h,
                EntrySpec::recommended(EXEC, &format!("Old{i}"), &t, "select 1"),
            )
        })
        .collect();
    for &e in &old {
        let i = statement(&h, e);
        h.run_statement(i);
        h.end_statement(i, DataApiStatus::Finished);
    }
    h.sim
        .world()
        .table
        .corrupt
        .insert("sim-undecodable".into(), epoch());
    h.advance(Duration::hours(25));
    let t = iso(h.clock());
    let fresh = start(
        &mut h,
        EntrySpec::recommended(EXEC, "Fresh", &t, "select 2"),
    );
    let i = statement(&h, fresh);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.advance(Duration::minutes(10));
    let s = h.spawn_sweep(None);
    h.run(s);
    let report = h.sweeps[0].clone().expect("the sweep must not fail");
    assert_eq!(report.undecodable, 1, "{report:?}");
    assert_eq!(answer(&h, &token(&h, fresh, 0)).as_deref(), Some("success"));
    assert_eq!(
        answer(&h, &token(&h, old[0], 0)).as_deref(),
        Some("StatementLost")
    );
    assert_eq!(record_status(&h, 0), Some(RecordStatus::NotStarted));
    assert_clean(&mut h);
}

/// Finding 3: a singleton start whose `ExecuteStatement` failed frees its lock (the next run starts at once),
/// and a canceller does not free the lock of a statement that has not ended yet.
#[test]
fn finding_3_the_singleton_lock_follows_the_statement_not_the_start_or_the_cancel() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let sql = "call etl.rebuild_totals()";
    let singleton = |exec: &str, state: &str, t: &str| EntrySpec {
        singleton: true,
        ..EntrySpec::recommended(exec, state, t, sql)
    };
    let refused = PortError::new(FaultKind::Rejected, "ValidationException", "scripted");
    h.script("execute", None, refused, false, 1);
    let a = {
        let t = iso(h.clock());
        start(&mut h, singleton(EXEC, "A", &t))
    };
    assert_eq!(result(&h, a, 0).unwrap_err(), "ValidationException");
    h.advance(Duration::seconds(5));
    let b = {
        let t = iso(h.clock());
        start(&mut h, singleton(EXEC, "B", &t))
    };
    assert!(
        result(&h, b, 0).is_ok(),
        "the failed start blocks: {:?}",
        result(&h, b, 0)
    );
    let i = statement(&h, b);
    h.run_statement(i);
    h.advance(Duration::minutes(1));
    let c = h.spawn_cancel(json!({"executionArn": EXEC, "stateName": "B"}));
    h.run(c);
    h.advance(Duration::seconds(5));
    let other = {
        let t = iso(h.clock());
        start(&mut h, singleton(OTHER_EXEC, "C", &t))
    };
    assert_eq!(
        result(&h, other, 0).unwrap_err(),
        "ConcurrentExecution",
        "a cancel that has not aborted the statement yet must keep its lock"
    );
    h.progress(i);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, b, 0)).as_deref(), Some("ABORTED"));
    let retry = h.start_attempt(other);
    h.run(retry);
    assert!(result(&h, other, 1).is_ok(), "{:?}", result(&h, other, 1));
    assert_clean(&mut h);
}

/// Finding 4: the completer finds token T1 gone while a retried start stores T2; it must answer T2, not settle
/// the record `ORPHANED` over it.
#[test]
fn finding_4_a_token_stored_while_the_old_one_is_orphaned_gets_the_answer() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let e = h.add_entry(EntrySpec::recommended(
        EXEC,
        "RunSql",
        &iso(h.clock()),
        "select 1",
    ));
    let first = h.start_attempt(e);
    h.run_and_lose_result(first);
    assert_eq!(h.task(&token(&h, e, 0)).state, TaskState::Failed);
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    let completer = h.deliver(0).expect("our event");
    h.run_until(completer, "settle");
    let retry = h.start_attempt(e);
    h.run(retry);
    assert!(result(&h, e, 1).is_ok());
    h.run(completer);
    assert_eq!(answer(&h, &token(&h, e, 1)).as_deref(), Some("success"));
    assert_eq!(record_status(&h, e), Some(RecordStatus::Finished));
    assert_clean(&mut h);
}

/// Finding 5: once `ExecuteStatement` returned an id the start returns `Ok` even if the `STARTED` mark fails;
/// the event (or the sweeper, which finds the statement by name) answers the task later.
#[test]
fn finding_5_a_start_that_cannot_mark_started_still_succeeds_and_is_answered() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let throttled = retryable("ProvisionedThroughputExceededException");
    h.script("mark_started", None, throttled.clone(), false, 3);
    let by_event = {
        let t = iso(h.clock());
        start(&mut h, EntrySpec::recommended(EXEC, "A", &t, "select 1"))
    };
    assert!(
        result(&h, by_event, 0).is_ok(),
        "{:?}",
        result(&h, by_event, 0)
    );
    assert_eq!(record_status(&h, by_event), Some(RecordStatus::Submitted));
    let i = statement(&h, by_event);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(
        answer(&h, &token(&h, by_event, 0)).as_deref(),
        Some("success")
    );

    h.script("mark_started", None, throttled, false, 3);
    h.plan.lose_event = 1.0;
    let by_sweep = {
        let t = iso(h.clock());
        start(&mut h, EntrySpec::recommended(EXEC, "B", &t, "select 2"))
    };
    assert!(
        result(&h, by_sweep, 0).is_ok(),
        "{:?}",
        result(&h, by_sweep, 0)
    );
    let i = statement(&h, by_sweep);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Failed);
    h.advance(Duration::minutes(31));
    h.run_all();
    assert_eq!(
        answer(&h, &token(&h, by_sweep, 0)).as_deref(),
        Some("FAILED")
    );
    assert_clean(&mut h);
}

/// Finding 6: a retry of a record still `SUBMITTED` more than 8 hours after its start (the Data API forgot the
/// `ClientToken`) must find the statement by name instead of running the SQL again.
#[test]
fn finding_6_a_retry_after_the_client_token_window_does_not_run_the_sql_again() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let e = h.add_entry(EntrySpec::recommended(
        EXEC,
        "RunSql",
        &iso(h.clock()),
        "call etl.load_day()",
    ));
    let first = h.start_attempt(e);
    h.run_until(first, "mark_started");
    h.crash(first);
    let i = statement(&h, e);
    h.run_statement(i);
    h.advance(Duration::hours(9));
    let retry = h.start_attempt(e);
    h.run(retry);
    assert!(result(&h, e, 1).is_ok(), "{:?}", result(&h, e, 1));
    let runs = h
        .statements()
        .iter()
        .filter(|s| s.name == name(&h, e))
        .count();
    assert_eq!(runs, 1, "the retry started the SQL again");
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, e, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// Finding 7: with `RECORD_TTL_DAYS` 1, the record of a statement that runs for nearly 24 hours must still be
/// there when its (late) event arrives: TTL counts from the settling, and an unsettled record lives 3 days.
#[test]
fn finding_7_a_day_long_statement_outlives_a_one_day_ttl() {
    let (sim, config) = world(1);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let e = {
        let t = iso(h.clock());
        start(
            &mut h,
            EntrySpec::recommended(EXEC, "Long", &t, "call etl.rebuild()"),
        )
    };
    let i = statement(&h, e);
    h.run_statement(i);
    h.advance(Duration::hours(23) + Duration::minutes(50));
    h.end_statement(i, DataApiStatus::Finished);
    h.advance(Duration::minutes(20));
    assert!(
        record_status(&h, e).is_some(),
        "TTL deleted a running statement's record"
    );
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, e, 0)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// Finding 8: an event naming our statement with another id (unknown, or another statement's that finished),
/// or claiming `FINISHED` while it runs, settles nothing; the real ending still answers the task with the real
/// outcome.
#[test]
fn finding_8_forged_events_settle_nothing() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let other = start(
        &mut h,
        EntrySpec::recommended(EXEC, "Other", &t, "select 2"),
    );
    let e = start(
        &mut h,
        EntrySpec::recommended(EXEC, "RunSql", &t, "select 1"),
    );
    let finished = statement(&h, other);
    h.run_statement(finished);
    h.end_statement(finished, DataApiStatus::Finished);
    h.drain_events();
    let i = statement(&h, e);
    h.run_statement(i);
    let (n, real_id) = (name(&h, e), h.statements()[i].id.clone());
    let other_id = h.statements()[finished].id.clone();
    for id in ["5ea1da7a-0000-4000-8000-0000deadbeef", &other_id, &real_id] {
        let body = event_body(&n, id, "FINISHED", 3, h.clock());
        h.queue.push(Msg { body, receives: 0 });
    }
    h.drain_events();
    assert_eq!(h.task(&token(&h, e, 0)).state, TaskState::Waiting);
    assert_eq!(record_status(&h, e), Some(RecordStatus::Started));
    h.end_statement(i, DataApiStatus::Failed);
    let lie = event_body(&n, &real_id, "FINISHED", 3, h.clock());
    h.queue.insert(
        0,
        Msg {
            body: lie,
            receives: 0,
        },
    );
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, e, 0)).as_deref(), Some("FAILED"));
    assert_clean(&mut h);
}

// ---- the bugs the random schedules found ----

/// Sweeper vs late retry: the sweeper looked the statement up by name and found none; then a retry started it.
/// The `NOT_STARTED` settle is conditional on the record still having no statement id, so it cannot bury a
/// started record (whose task would never be answered). And a singleton restart claims the record: a sweep that
/// comes to settle in the middle of the restart finds it claimed, so it neither frees the lock the restart
/// re-took nor settles the record `NOT_STARTED` just before the restart starts the statement.
#[test]
fn a_sweep_that_found_no_statement_cannot_settle_a_retry_that_started_meanwhile() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let e = h.add_entry(EntrySpec::recommended(
        EXEC,
        "RunSql",
        &iso(h.clock()),
        "select 1",
    ));
    let first = h.start_attempt(e);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    let s = h.spawn_sweep(None);
    h.run_until(s, "claim");
    let retry = h.start_attempt(e);
    h.run(retry);
    assert!(result(&h, e, 1).is_ok(), "{:?}", result(&h, e, 1));
    h.run(s);
    assert_eq!(
        record_status(&h, e),
        Some(RecordStatus::Started),
        "the sweep settled a started record NOT_STARTED"
    );
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, e, 1)).as_deref(), Some("success"));

    // A singleton: the restart holds its claim (and the lock it re-took) when the sweep comes to settle.
    let sql = "call etl.rebuild_totals()";
    let c = h.add_entry(singleton(EXEC, "Single", &iso(h.clock()), sql));
    let first = h.start_attempt(c);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    let s = h.spawn_sweep(None);
    h.run_until(s, "claim");
    let retry = h.start_attempt(c);
    h.run_until(retry, "execute");
    h.run(s);
    h.run(retry);
    assert!(result(&h, c, 1).is_ok(), "{:?}", result(&h, c, 1));
    assert_eq!(record_status(&h, c), Some(RecordStatus::Started));
    assert!(
        holds_lock(&h, c),
        "the sweep freed the lock of the restarted statement"
    );
    let rival = {
        let t = iso(h.clock());
        start(&mut h, singleton(OTHER_EXEC, "Rival", &t, sql))
    };
    assert_eq!(result(&h, rival, 0).unwrap_err(), "ConcurrentExecution");
    let i = statement(&h, c);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, c, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// Lock steal race: B finds A's lock without a record for over 15 minutes and goes to steal it, while A's retry
/// re-takes its own lock and starts. The steal is conditional on the lock as B saw it (`takenAt`), so it fails
/// and two singleton statements of one SQL never run at once.
#[test]
fn a_lock_its_holder_took_again_cannot_be_stolen() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &iso(h.clock()), sql));
    let first = h.start_attempt(a);
    h.run_until(first, "create");
    h.crash(first);
    h.advance(Duration::minutes(16));
    let b = h.add_entry(singleton(OTHER_EXEC, "B", &iso(h.clock()), sql));
    let thief = h.start_attempt(b);
    h.run_until(thief, "steal_lock");
    let retry = h.start_attempt(a);
    h.run(retry);
    assert!(result(&h, a, 1).is_ok(), "{:?}", result(&h, a, 1));
    h.run(thief);
    assert_eq!(result(&h, b, 0).unwrap_err(), "ConcurrentExecution");
    assert!(
        holds_lock(&h, a),
        "the lock was stolen from a running start"
    );
    let i = statement(&h, a);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, a, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// A singleton start whose record write failed (here: took effect, answer lost) frees its lock, as does one
/// whose `lock` call lost its answer (it may hold the lock): the next run of the SQL starts at once instead of
/// being refused for 15 minutes or until the sweeper settles the record.
#[test]
fn a_singleton_start_whose_record_or_lock_write_failed_gives_the_lock_back() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let lost_answer = || retryable("InternalServerError");

    let sql = "call etl.rebuild_totals()";
    h.script("create", None, lost_answer(), true, 1);
    let a = start(&mut h, singleton(EXEC, "A", &t, sql));
    assert_eq!(result(&h, a, 0).unwrap_err(), "StateTableError");
    assert_eq!(record_status(&h, a), Some(RecordStatus::Submitted));
    assert!(!holds_lock(&h, a), "a failed record write kept the lock");
    let b = start(&mut h, singleton(OTHER_EXEC, "B", &t, sql));
    assert!(result(&h, b, 0).is_ok(), "{:?}", result(&h, b, 0));

    let sql = "unload ('select 1') to 's3://b/x'";
    h.script("lock", None, lost_answer(), true, 1);
    let c = start(&mut h, singleton(EXEC, "C", &t, sql));
    assert_eq!(result(&h, c, 0).unwrap_err(), "StateTableError");
    assert!(!holds_lock(&h, c), "a lock whose answer was lost was kept");
    let d = start(&mut h, singleton(OTHER_EXEC, "D", &t, sql));
    assert!(result(&h, d, 0).is_ok(), "{:?}", result(&h, d, 0));
    assert_clean(&mut h);
}

/// A retry of a singleton entry that has a record resumes it without the lock: it is answered even while
/// another run of the SQL holds the lock (its own SQL ran already), and it leaves no lock behind when its entry
/// has ended. Also when the record appears between the retry's look-up and its write (two invocations of one
/// entry): the lock taken meanwhile is given back.
#[test]
fn a_singleton_retry_of_a_recorded_entry_resumes_without_the_lock() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &t, sql));
    let first = h.start_attempt(a);
    h.run_and_lose_result(first);
    let i = statement(&h, a);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(record_status(&h, a), Some(RecordStatus::Orphaned));
    // The lock is free: the retry of the ended entry answers its token and takes nothing.
    let second = h.start_attempt(a);
    h.run_and_lose_result(second);
    assert_eq!(answer(&h, &token(&h, a, 1)).as_deref(), Some("success"));
    assert!(
        !holds_lock(&h, a),
        "the retry of an ended entry kept a lock"
    );
    // Another run holds the lock: the next retry is still answered, not refused.
    let b = start(&mut h, singleton(OTHER_EXEC, "B", &t, sql));
    assert!(result(&h, b, 0).is_ok(), "{:?}", result(&h, b, 0));
    let third = h.start_attempt(a);
    h.run(third);
    assert!(result(&h, a, 2).is_ok(), "{:?}", result(&h, a, 2));
    assert_eq!(answer(&h, &token(&h, a, 2)).as_deref(), Some("success"));
    assert_eq!(statements_of(&h, a), 1);

    // Two invocations of one entry: the second finds no record, then the first records, runs and ends.
    let sql = "unload ('select 1') to 's3://b/x'";
    let c = h.add_entry(singleton(EXEC, "C", &t, sql));
    let first = h.start_attempt(c);
    h.run_until(first, "create");
    let second = h.start_attempt(c);
    h.run_until(second, "lock");
    h.run(first);
    let i = statement(&h, c);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    h.run(second);
    assert!(result(&h, c, 1).is_ok(), "{:?}", result(&h, c, 1));
    assert!(!holds_lock(&h, c), "the late invocation kept the lock");
    assert_clean(&mut h);
}

/// After a delivered callback, a failing settle write is retried under the same claim: the record ends
/// `FINISHED`, not `ORPHANED` by a second completer whose second answer Step Functions refuses.
#[test]
fn a_settle_that_fails_after_the_callback_is_retried_not_answered_again() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.script(
        "settle",
        None,
        retryable("ProvisionedThroughputExceededException"),
        false,
        1,
    );
    let e = {
        let t = iso(h.clock());
        start(
            &mut h,
            EntrySpec::recommended(EXEC, "RunSql", &t, "select 1"),
        )
    };
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    let t = token(&h, e, 0);
    assert_eq!(answer(&h, &t).as_deref(), Some("success"));
    assert_eq!(record_status(&h, e), Some(RecordStatus::Finished));
    assert!(
        h.task(&t).refused.is_empty(),
        "answered again: {:?}",
        h.task(&t).refused
    );
    assert_clean(&mut h);
}

/// Restart vs the sweeper's revive: the sweeper settles a singleton record `NOT_STARTED` and a late retry
/// revives it, re-taking the lock under the same name. The sweeper frees the lock before it settles (under its
/// claim, which keeps restarts away), never after, so the revived statement keeps its lock.
#[test]
fn a_record_revived_after_a_not_started_sweep_keeps_its_lock() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &iso(h.clock()), sql));
    let first = h.start_attempt(a);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    let s = h.spawn_sweep(None);
    h.run_until(s, "settle");
    h.poll(s);
    assert_eq!(record_status(&h, a), Some(RecordStatus::NotStarted));
    let retry = h.start_attempt(a);
    h.run(retry);
    assert!(result(&h, a, 1).is_ok(), "{:?}", result(&h, a, 1));
    h.run(s);
    assert_eq!(record_status(&h, a), Some(RecordStatus::Started));
    assert!(
        holds_lock(&h, a),
        "the sweep freed the lock of the revived statement"
    );
    let rival = {
        let t = iso(h.clock());
        start(&mut h, singleton(OTHER_EXEC, "Rival", &t, sql))
    };
    assert_eq!(result(&h, rival, 0).unwrap_err(), "ConcurrentExecution");
    let i = statement(&h, a);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, a, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// Settled meanwhile: a retry stored its token on a `SUBMITTED` record; the event's completer then found the
/// statement by name, answered that token and settled `FINISHED`. The retry's restart, finding the record
/// settled, starts nothing, answers nothing, and is not refused by the lock another run holds by now.
#[test]
fn a_restart_that_finds_its_record_settled_meanwhile_does_nothing_more() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &t, sql));
    let first = h.start_attempt(a);
    h.run_until(first, "mark_started");
    h.crash(first);
    let i = statement(&h, a);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    let retry = h.start_attempt(a);
    h.run_until(retry, "set_token");
    h.poll(retry);
    h.drain_events();
    let t2 = token(&h, a, 1);
    assert_eq!(answer(&h, &t2).as_deref(), Some("success"));
    assert_eq!(record_status(&h, a), Some(RecordStatus::Finished));
    let b = start(&mut h, singleton(OTHER_EXEC, "B", &t, sql));
    assert!(result(&h, b, 0).is_ok(), "{:?}", result(&h, b, 0));
    h.run(retry);
    assert!(result(&h, a, 1).is_ok(), "{:?}", result(&h, a, 1));
    assert_eq!(statements_of(&h, a), 1, "the restart started the SQL again");
    assert!(
        h.task(&t2).refused.is_empty(),
        "answered again: {:?}",
        h.task(&t2).refused
    );
    assert!(!holds_lock(&h, a), "the restart took the lock");
    assert_clean(&mut h);
}

/// Was open (found while writing the scenarios above; fixed: the NOT_STARTED branch checks the claimed record): the sweep found no statement by name; a singleton retry then
/// claimed the record, re-took the lock, started its statement, marked it `STARTED` and released its claim, all
/// before the sweep's claim. The sweep's claim wins, and its `NeverStarted` branch frees the lock before its
/// (correctly refused) settle: the running statement loses its lock. The claimed record already holds a
/// statement id, which the branch could check before unlocking.
#[test]

fn a_sweep_claiming_after_a_restart_finished_keeps_its_lock() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &iso(h.clock()), sql));
    let first = h.start_attempt(a);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    let s = h.spawn_sweep(None);
    h.run_until(s, "claim");
    let retry = h.start_attempt(a);
    h.run(retry);
    assert!(result(&h, a, 1).is_ok(), "{:?}", result(&h, a, 1));
    h.run(s);
    assert_eq!(record_status(&h, a), Some(RecordStatus::Started));
    assert!(
        holds_lock(&h, a),
        "the sweep freed the lock of the restarted statement"
    );
    assert_clean(&mut h);
}

/// Was open (seed 36370 of `SIM_SEEDS=3000..60000`): a retry reviving a record the sweeper settled `NOT_STARTED`
/// re-takes the lock, but the record reads `NOT_STARTED` until its statement is marked: another run of the SQL
/// sees a settled holder in between, steals the lock, and both statements run.
#[test]

fn a_lock_retaken_to_revive_a_not_started_record_cannot_be_stolen() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let sql = "call etl.rebuild_totals()";
    let a = h.add_entry(singleton(EXEC, "A", &iso(h.clock()), sql));
    let first = h.start_attempt(a);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    let s = h.spawn_sweep(None);
    h.run(s);
    assert_eq!(record_status(&h, a), Some(RecordStatus::NotStarted));
    let retry = h.start_attempt(a);
    h.run_until(retry, "execute");
    assert!(holds_lock(&h, a));
    let b = {
        let t = iso(h.clock());
        start(&mut h, singleton(OTHER_EXEC, "B", &t, sql))
    };
    assert_eq!(result(&h, b, 0).unwrap_err(), "ConcurrentExecution");
    h.run(retry);
    assert!(result(&h, a, 1).is_ok(), "{:?}", result(&h, a, 1));
    assert_clean(&mut h);
}

/// Found by the soak: a retried start whose restart died right after claiming the record (its claim's answer
/// lost, then the Lambda failing) must not keep the next retries waiting for the 60 s lease: a restart may take
/// over a restart's claim (never a settler's).
#[test]
fn a_restart_takes_over_the_claim_of_a_restart_that_died() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let a = h.add_entry(EntrySpec::recommended(
        EXEC,
        "A",
        &iso(h.clock()),
        "select 1",
    ));
    let first = h.start_attempt(a);
    h.run_until(first, "execute");
    h.crash(first);
    let second = h.start_attempt(a);
    h.run_until(second, "claim");
    assert!(!h.poll(second), "the claim is made and the restart goes on");
    h.crash(second);
    let third = h.start_attempt(a);
    h.run(third);
    assert!(result(&h, a, 2).is_ok(), "{:?}", result(&h, a, 2));
    assert_eq!(record_status(&h, a), Some(RecordStatus::Started));
    assert_clean(&mut h);
}

// ---- The findings of the second review (issue 21): each fails if its fix is reverted. ----

/// Review 2, finding 1: attempt 1 dies before `ExecuteStatement`, the sweeper settles the record `NOT_STARTED`, a
/// later retry starts the statement but cannot mark it `STARTED`: its task must still be answered.
#[test]
fn review2_1_a_revived_record_whose_start_cannot_be_marked_is_still_answered() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let e = h.add_entry(EntrySpec::recommended(EXEC, "A", &t, "select 1"));
    let first = h.start_attempt(e);
    h.run_until(first, "execute");
    h.crash(first);
    h.advance(Duration::minutes(31));
    h.run_all();
    let sweep = h.spawn_sweep(None);
    h.run(sweep);
    assert_eq!(record_status(&h, e), Some(RecordStatus::NotStarted));
    h.script(
        "mark_started",
        None,
        retryable("ProvisionedThroughputExceededException"),
        false,
        3,
    );
    let retry = h.start_attempt(e);
    h.run(retry);
    assert!(result(&h, e, 1).is_ok(), "{:?}", result(&h, e, 1));
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(answer(&h, &token(&h, e, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1";

/// The `(Status, PhysicalResourceId)` answers a CloudFormation entry's URL received.
fn cfn_answers(h: &Harness<'_>, entry: usize) -> Vec<(String, String)> {
    let url = h.entries[entry]
        .spec
        .cfn
        .as_ref()
        .expect("a request")
        .url
        .clone();
    h.sim.world().cfn[&url].answers.clone()
}

/// Review 2, finding 2: an `ExecuteStatement` whose answer was lost, and whose lookup by name failed too, may have
/// started the statement: the request must not be answered FAILED then, and gets one answer when it ends.
#[test]
fn review2_2_a_deploy_time_start_that_may_have_started_is_answered_once() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let sql = Some("create table etl.day (d date)");
    let e = h.add_entry(EntrySpec::cfn(STACK, "Day", "r-1", "Create", None, sql));
    h.script("execute", None, retryable("ThrottlingException"), true, 1);
    h.script(
        "find_by_name",
        None,
        retryable("ThrottlingException"),
        false,
        1,
    );
    let first = h.start_attempt(e);
    h.run(first);
    assert!(cfn_answers(&h, e).is_empty(), "{:?}", cfn_answers(&h, e));
    // Lambda retries the event: the same ClientToken finds the same statement.
    let retry = h.start_attempt(e);
    h.run(retry);
    assert_eq!(statements_of(&h, e), 1);
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_clean(&mut h);
    let answers = cfn_answers(&h, e);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].0, "SUCCESS");
}

/// Review 2, finding 3: a Create whose SQL fails is answered with the failed-Create marker, and CloudFormation's
/// rollback Delete carrying it runs no `DeleteSql` (it would drop the table the Create met).
#[test]
fn review2_3_the_rollback_delete_of_a_failed_create_runs_no_sql() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let sql = Some("create table etl.day (d date)");
    let create = start(
        &mut h,
        EntrySpec::cfn(STACK, "Day", "r-1", "Create", None, sql),
    );
    let i = statement(&h, create);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Failed);
    h.drain_events();
    let answers = cfn_answers(&h, create);
    assert_eq!(answers.len(), 1, "{answers:?}");
    let (status, physical) = answers[0].clone();
    assert_eq!(status, "FAILED");
    let drop = Some("drop table etl.day");
    let rollback = start(
        &mut h,
        EntrySpec::cfn(STACK, "Day", "r-2", "Delete", Some(physical), drop),
    );
    assert_eq!(statements_of(&h, rollback), 0, "the DeleteSql ran");
    assert_eq!(cfn_answers(&h, rollback)[0].0, "SUCCESS");
    assert_clean(&mut h);
}

/// Review 2, finding 4: ten records whose callbacks are refused at every try stay first in the sweep's order
/// unless each is moved back as it is met; a sweep budget of ten must still reach the eleventh within a few sweeps.
#[test]
fn review2_4_records_failing_at_every_sweep_do_not_blind_the_sweeper() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.lose_event = 1.0;
    h.plan.scheduled_sweeps = false;
    let t = iso(h.clock());
    let stuck: Vec<usize> = (0..10)
        .map(|k| {
            start(
                &mut h,
                EntrySpec::recommended(EXEC, &format!("S{k}"), &t, "select 1"),
            )
        })
        .collect();
    for &e in &stuck {
        let tok = token(&h, e, 0);
        h.script(
            "succeed",
            Some(&tok),
            retryable("ThrottlingException"),
            false,
            10_000,
        );
        h.script(
            "fail",
            Some(&tok),
            retryable("ThrottlingException"),
            false,
            10_000,
        );
    }
    h.advance(Duration::seconds(1));
    let last = start(&mut h, EntrySpec::recommended(EXEC, "Last", &t, "select 2"));
    for e in stuck.iter().copied().chain([last]) {
        let i = statement(&h, e);
        h.run_statement(i);
        h.end_statement(i, DataApiStatus::Finished);
    }
    for _ in 0..3 {
        h.advance(Duration::minutes(6));
        h.refresh_index();
        let sweep = h.spawn_sweep(Some(10));
        h.run(sweep);
    }
    assert_eq!(answer(&h, &token(&h, last, 0)).as_deref(), Some("success"));
    h.sim.world().scripted.clear();
    assert_clean(&mut h);
}

/// Review 2, finding 5: past the Data API's retention AWS answers `ValidationException` ("expired"), not
/// `ResourceNotFoundException`: the record must still become `LOST` and its task fail with `StatementLost`.
#[test]
fn review2_5_an_expired_statement_is_lost_not_failing_at_every_sweep() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.lose_event = 1.0;
    h.plan.scheduled_sweeps = false;
    let t = iso(h.clock());
    let e = start(&mut h, EntrySpec::recommended(EXEC, "A", &t, "select 1"));
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.advance(Duration::hours(25));
    h.refresh_index();
    let sweep = h.spawn_sweep(None);
    h.run(sweep);
    assert_eq!(record_status(&h, e), Some(RecordStatus::Lost));
    assert_eq!(
        answer(&h, &token(&h, e, 0)).as_deref(),
        Some("StatementLost")
    );
    assert_clean(&mut h);
}

/// Review 2, finding 6: a callback refused for good (`InvalidOutput`) is not retried for ever: the record ends
/// `UNDELIVERABLE` and the message is gone from the queue.
#[test]
fn review2_6_a_callback_refused_for_good_settles_undeliverable() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    let t = iso(h.clock());
    let e = start(&mut h, EntrySpec::recommended(EXEC, "A", &t, "select 1"));
    h.sim.world().refusing.insert(token(&h, e, 0));
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(record_status(&h, e), Some(RecordStatus::Undeliverable));
    assert!(h.queue.is_empty());
    assert_clean(&mut h);
}

/// Review 2, finding 7: the fast path answers a retried start too (its own restart claim used to make the fast
/// path's claim busy), and a retry of a settled entry past the Data API's retention answers from the record
/// (a finished statement is not called lost).
#[test]
fn review2_7_the_fast_path_on_a_retry_and_a_settled_retry_after_a_day() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.lose_event = 1.0;
    h.plan.scheduled_sweeps = false;
    h.sim.world().ends_in_wait = 1.0;
    let t = iso(h.clock());
    let mut spec = EntrySpec::recommended(EXEC, "Fast", &t, "select 1");
    spec.wait_seconds = Some(10);
    let e = h.add_entry(spec);
    let first = h.start_attempt(e);
    h.run_until(first, "execute");
    h.crash(first);
    let retry = h.start_attempt(e);
    h.run(retry);
    assert!(
        answer(&h, &token(&h, e, 1)).is_some(),
        "the fast path did not answer the retry"
    );

    h.sim.world().ends_in_wait = 0.0;
    h.plan.lose_event = 0.0;
    let later = h.add_entry(EntrySpec::recommended(EXEC, "Later", &t, "select 2"));
    let first = h.start_attempt(later);
    h.run_and_lose_result(first);
    let i = statement(&h, later);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.drain_events();
    assert_eq!(record_status(&h, later), Some(RecordStatus::Orphaned));
    h.advance(Duration::hours(25));
    let retry = h.start_attempt(later);
    h.run(retry);
    assert_eq!(answer(&h, &token(&h, later, 1)).as_deref(), Some("success"));
    assert_clean(&mut h);
}

/// Found by the schedules (seed 7115 of 30,000): a deploy-time answer delivered with its acknowledgement lost is
/// sent again at the next sweep; a day later the statement is past retention and the retry would answer
/// `FAILED` (`StatementLost`) after `SUCCESS`. CloudFormation stops waiting after an hour, so no answer is sent
/// past that: the record ends without a second, contradicting answer.
#[test]
fn a_deploy_time_answer_is_not_contradicted_after_cloudformation_stopped_waiting() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.lose_event = 1.0;
    h.plan.scheduled_sweeps = false;
    let sql = Some("create table etl.day (d date)");
    let e = start(
        &mut h,
        EntrySpec::cfn(STACK, "Day", "r-1", "Create", None, sql),
    );
    let i = statement(&h, e);
    h.run_statement(i);
    h.end_statement(i, DataApiStatus::Finished);
    h.advance(Duration::minutes(6));
    h.refresh_index();
    h.script("respond", None, retryable("RequestTimeout"), true, 1);
    let sweep = h.spawn_sweep(None);
    h.run(sweep);
    assert_eq!(cfn_answers(&h, e).len(), 1);
    h.advance(Duration::hours(25));
    h.refresh_index();
    let sweep = h.spawn_sweep(None);
    h.run(sweep);
    let answers = cfn_answers(&h, e);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(record_status(&h, e).is_some_and(|s| s.is_settled()));
    assert_clean(&mut h);
}

/// A deploy-time request whose first start failed before its statement existed keeps the age it was sent with:
/// a Lambda retry twenty minutes later must not make it young again (its statement could then end, and be
/// answered, after CloudFormation stopped waiting), nor start it so late that the sweeper's never-started judgement
/// at half an hour could miss it in `ListStatements`' lag.
#[test]
fn a_late_retry_of_a_deploy_time_start_keeps_the_requests_age() {
    let (sim, config) = world(7);
    let mut h = harness(&sim, &config);
    h.plan.scheduled_sweeps = false;
    let sql = Some("create table etl.day (d date)");
    let e = h.add_entry(EntrySpec::cfn(STACK, "Day", "r-1", "Create", None, sql));
    h.script("execute", None, retryable("ThrottlingException"), false, 1);
    let first = h.start_attempt(e);
    h.run(first);
    assert_eq!(statements_of(&h, e), 0);
    h.advance(Duration::minutes(20));
    let retry = h.start_attempt(e);
    h.run(retry);
    if statements_of(&h, e) == 1 {
        let i = statement(&h, e);
        h.run_statement(i);
        h.advance(Duration::minutes(75));
        h.end_statement(i, DataApiStatus::Finished);
        h.drain_events();
    }
    h.advance(Duration::minutes(15));
    h.refresh_index();
    let sweep = h.spawn_sweep(None);
    h.run(sweep);
    assert_clean(&mut h);
    let answers = cfn_answers(&h, e);
    assert!(answers.len() <= 1, "{answers:?}");
}
