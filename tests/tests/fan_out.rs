//! Fan-outs under Lambda's real throttling (the front answers 429 beyond the starter's deployed reserved
//! concurrency): a `Map` of the recommended state, with the seed's `Retry` block, never fails with
//! `Lambda.TooManyRequestsException`, and the fast path (each start waiting for its statement) does not make a
//! fan-out queue behind one waiting start. Timings are printed and kept in BENCHMARKS.md, not asserted: what is
//! asserted is the mechanism (no start throttled, each fast-path iteration answered by the starter itself).

use std::time::{Duration, Instant};
use tasker_local::asl::{map_items as items, map_of_sql as fan_out};
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_map_of_40_with_the_seed_retry_is_never_throttled_out() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let sm = stack
        .create_state_machine("fan-40", &fan_out(None))
        .await
        .unwrap();
    let run = stack
        .run(&sm, items(40, "select 1 as one"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let out = run.output.as_array().expect("one output per iteration");
    assert_eq!(out.len(), 40);
    assert!(out.iter().all(|o| o["state"] == "FINISHED"), "{out:?}");
    assert_eq!(
        stack.front.throttled("Lambda.Invoke:starter"),
        0,
        "the deployed reservation covers a 40-wide Map"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fast_path_map_is_answered_by_its_starters_without_queueing() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    // Events take a second, as EventBridge -> SQS -> Lambda may on AWS (locally they arrive in milliseconds and
    // could beat the starter's own answer; still one answer, but from the completer).
    stack.event_faults(redshift_local::EventFaults {
        delay_ms: 1000,
        ..Default::default()
    });
    let mut took = Vec::new();
    for (name, wait) in [("fan-event", None), ("fan-fast", Some(10))] {
        let sm = stack
            .create_state_machine(name, &fan_out(wait))
            .await
            .unwrap();
        let started = Instant::now();
        let run = stack
            .run(&sm, items(6, "select pg_sleep(2), 1 as one"), TIMEOUT)
            .await
            .unwrap();
        took.push(started.elapsed());
        assert_eq!(run.status, "SUCCEEDED", "{name}: {run:?}");
    }
    assert_eq!(stack.front.throttled("Lambda.Invoke:starter"), 0);
    let by_starter = stack
        .front
        .calls_of("AWSStepFunctions.SendTaskSuccess")
        .iter()
        .filter(|c| c.principal.contains("starter"))
        .count();
    assert_eq!(
        by_starter, 6,
        "each fast-path iteration is answered by its own start"
    );
    println!(
        "Map of 6 two-second statements: event path {:?}, fast path {:?} (ratio {:.2})",
        took[0],
        took[1],
        took[1].as_secs_f64() / took[0].as_secs_f64()
    );
}
