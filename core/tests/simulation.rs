//! Deterministic simulation of the starter, completer (events and sweeper) and canceller use cases.
//!
//! The model (`simulation/`):
//! - `table.rs` is the state table: the conditional writes of `aws/src/state_table.rs`, TTL, and lagging indexes
//!   (the GSI queries read a copy refreshed when time passes).
//! - `data_api.rs` is the Data API: statement lifecycles, an 8-hour `ClientToken` memory, 24-hour retention
//!   (`ListStatements` and `DescribeStatement` forget a statement a day after it ended), cancellation, result
//!   pages, and a count of the runs of each statement name.
//! - `model.rs` is the world around them: Step Functions tasks (one token per attempt; one answer accepted while
//!   running or waiting, `TaskTimedOut` otherwise), the faults, and the checks made as calls happen.
//! - `fakes.rs` puts the world behind the port traits. Every port call yields to the scheduler first, so
//!   invocations interleave call by call; a call may fail before its effect or lose its response after it.
//! - `harness.rs` plays AWS around the use cases: a task waits only if its starter returned `Ok`; failed
//!   completer messages come back (then the dead-letter queue); ended statements emit events that may be lost,
//!   duplicated, delayed or reordered; an invocation dropped between two calls has crashed, and one older than
//!   the 30-second Lambda timeout is dropped when time passes. `quiesce` ends every statement, delivers every
//!   event and runs the sweeper past its grace period until nothing is unsettled.
//! - `schedule.rs` draws one schedule per seed (entries in every payload style, Map fan-outs, singleton
//!   contention, Step Functions retries with new tokens, forged events, heartbeat timeouts with narrowed and
//!   unnarrowed cancellers, budgeted sweeps, clock jumps of hours).
//! - `scenarios.rs` replays, as short fixed schedules, the eight findings of the review and every bug the random
//!   schedules found since (each fails if its fix is reverted).
//!
//! The invariants (a message names the one broken, with the seed):
//! 1. every task still waiting when its statement ends gets exactly one answer, and it is that statement's
//!    (success for `FINISHED`, `FAILED`/`ABORTED`, or `StatementLost` once the Data API forgot it); and a start
//!    that got its statement's id never fails its task;
//! 2. with `stateEnteredTime`, no state entry runs its SQL twice;
//! 3. no singleton lock is held by a holder that ended or never started: a failed start frees it, nothing but the
//!    end of its statement frees a running one (two singleton statements of one SQL never run at once), and none
//!    is left behind at rest (except by a crash or a failed state-table write, which the next run steals over);
//! 4. no record stays unsettled once its statement ended and the sweeper ran, and a record settles only to its
//!    statement's real outcome;
//! 5. no token is answered again after its task was answered, unless whoever answered it could not know or
//!    record that it had: it died, lost the callback's response, or failed to write the settle (callbacks are
//!    at least once; Step Functions refuses the second with `TaskTimedOut`).
//!
//! Replay one seed, with its trace printed:
//! `SIM_SEED=123 cargo test -p tasker-core --test simulation -- --nocapture`
//! Hunt longer than the fixed seeds: `SIM_SEEDS=0..100000 cargo test -p tasker-core --test simulation`

#[path = "simulation/checks.rs"]
mod checks;
#[path = "simulation/data_api.rs"]
mod data_api;
#[path = "simulation/fakes.rs"]
mod fakes;
#[path = "simulation/harness.rs"]
mod harness;
#[path = "simulation/model.rs"]
mod model;
#[path = "simulation/rng.rs"]
mod rng;
#[path = "simulation/scenarios.rs"]
mod scenarios;
#[path = "simulation/schedule.rs"]
mod schedule;
#[path = "simulation/table.rs"]
mod table;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The fixed seeds every run checks.
const FIXED_SEEDS: std::ops::Range<u64> = 0..3000;
/// Fresh seeds per run, from the clock, printed for replay.
const RANDOM_SEEDS: u64 = 3;

#[test]
fn random_schedules_keep_the_invariants() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.trim().parse().expect("SIM_SEED must be a number");
        let outcome = schedule::run(seed, true);
        for line in &outcome.trace {
            println!("{line}");
        }
        assert!(
            outcome.violations.is_empty(),
            "seed {seed}:\n{}",
            outcome.violations.join("\n")
        );
        return;
    }
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let random: Vec<u64> = (0..RANDOM_SEEDS)
        .map(|i| base.wrapping_add(i.wrapping_mul(0x9e37_79b9)))
        .collect();
    println!("random seeds this run: {random:?}");
    let seeds: Vec<u64> = match std::env::var("SIM_SEEDS") {
        Ok(range) => parse_range(&range),
        Err(_) => FIXED_SEEDS.chain(random).collect(),
    };
    let started = Instant::now();
    let failures = run_in_parallel(&seeds);
    println!(
        "{} schedules in {:.1?}, {} failed",
        seeds.len(),
        started.elapsed(),
        failures.len()
    );
    if let Some((seed, _)) = failures.first() {
        let trace = schedule::run(*seed, true).trace;
        let tail = trace.len().saturating_sub(120);
        println!(
            "trace of seed {seed} (last lines):\n{}",
            trace[tail..].join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} schedules broke an invariant (replay one: SIM_SEED=<seed> cargo test -p tasker-core --test simulation -- --nocapture)\n{}",
        failures.len(),
        seeds.len(),
        by_invariant(&failures)
    );
}

/// `SIM_SEEDS=a..b`: a longer hunt than the fixed range.
fn parse_range(range: &str) -> Vec<u64> {
    let (a, b) = range.split_once("..").expect("SIM_SEEDS=<from>..<to>");
    let bound = |s: &str| {
        s.trim()
            .parse::<u64>()
            .expect("SIM_SEEDS bounds are numbers")
    };
    (bound(a)..bound(b)).collect()
}

/// The failures grouped by the invariant they broke: how many seeds, the first few, one message each.
fn by_invariant(failures: &[(u64, Vec<String>)]) -> String {
    let mut groups: std::collections::BTreeMap<String, (Vec<u64>, String)> = Default::default();
    for (seed, violations) in failures {
        for v in violations {
            let label = v.split(" at ").next().unwrap_or(v).to_string();
            let group = groups
                .entry(label)
                .or_insert_with(|| (Vec::new(), v.clone()));
            if group.0.last() != Some(seed) {
                group.0.push(*seed);
            }
        }
    }
    groups
        .iter()
        .map(|(label, (seeds, example))| {
            let first: Vec<String> = seeds.iter().take(8).map(u64::to_string).collect();
            format!(
                "{label}: {} seeds ({}{})\n    e.g. seed {}: {example}",
                seeds.len(),
                first.join(", "),
                if seeds.len() > 8 { ", ..." } else { "" },
                seeds[0]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs one schedule; a panic (of a use case or of the harness) counts as a violation of that seed.
fn run_caught(seed: u64) -> Vec<String> {
    std::panic::catch_unwind(|| schedule::run(seed, false).violations)
        .unwrap_or_else(|_| vec!["the schedule panicked (see the output above)".into()])
}

/// Runs the seeds on every core; returns the failing ones with their violations, in seed order.
fn run_in_parallel(seeds: &[u64]) -> Vec<(u64, Vec<String>)> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut failures: Vec<(u64, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    seeds
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|&seed| (seed, run_caught(seed)))
                        .filter(|(_, v)| !v.is_empty())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a schedule panicked"))
            .collect()
    });
    failures.sort_by_key(|(seed, _)| *seed);
    failures
}
