//! AWS calls per phase, counted where they arrive (the front, which every call of every function passes, signed
//! by the function that made it): they are the physical minimum of each phase (README, "AWS calls per phase").
//! `cargo test -p tasker-tests --test call_counts -- --nocapture` prints the table that BENCHMARKS.md quotes.

use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The calls each function made since `from` (an index into the front's log): `{function: {operation: n}}`.
fn calls_since(stack: &Stack, from: usize) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for c in stack.front.calls().into_iter().skip(from) {
        if ["starter", "completer", "canceller"].contains(&c.principal.as_str()) {
            let op = c
                .operation
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_string();
            *out.entry(c.principal).or_default().entry(op).or_default() += 1;
        }
    }
    out
}

fn counts(pairs: &[(&str, &[(&str, usize)])]) -> BTreeMap<String, BTreeMap<String, usize>> {
    pairs
        .iter()
        .map(|(f, ops)| {
            (
                f.to_string(),
                ops.iter().map(|(o, n)| (o.to_string(), *n)).collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_phase_makes_the_minimum_of_calls() {
    let stack = Stack::start(StackOptions {
        page_rows: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut table = Vec::new();
    let mut phase = |name: &str, got: BTreeMap<String, BTreeMap<String, usize>>, want| {
        println!("{name:<40} {got:?}");
        table.push(name.to_string());
        assert_eq!(got, want, "{name}");
    };

    // start + complete FINISHED (no rows asked), FAILED, and FINISHED with 5 rows on pages of 2.
    for (name, payload, completer) in [
        (
            "FINISHED",
            json!({"sqlStatement": "select 1"}),
            &[
                ("UpdateItem", 2),
                ("DescribeStatement", 1),
                ("SendTaskSuccess", 1),
            ][..],
        ),
        (
            "FAILED",
            json!({"sqlStatement": "select 1/0"}),
            &[
                ("UpdateItem", 2),
                ("DescribeStatement", 1),
                ("SendTaskFailure", 1),
            ][..],
        ),
        (
            "FINISHED, resultRows 5 (pages of 2)",
            json!({"sqlStatement": "select generate_series(1, 5) as n", "resultRows": 5}),
            &[
                ("UpdateItem", 2),
                ("DescribeStatement", 1),
                ("GetStatementResult", 3),
                ("SendTaskSuccess", 1),
            ][..],
        ),
    ] {
        let sm = stack
            .sql_machine(
                &format!("counts-{}", uuid::Uuid::new_v4().simple()),
                payload,
            )
            .await
            .unwrap();
        let from = stack.front.calls().len();
        let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
        stack.settled(&run.arn, TIMEOUT).await.unwrap();
        let got = calls_since(&stack, from);
        phase(
            &format!("start + complete {name}"),
            got,
            counts(&[
                (
                    "starter",
                    &[("PutItem", 1), ("ExecuteStatement", 1), ("UpdateItem", 1)],
                ),
                ("completer", completer),
            ]),
        );
    }

    // A retried start of a running statement (the Lambda retry of the same payload): one conditional write that
    // finds the record, nothing started again.
    let sm = stack
        .sql_machine(
            "counts-retry",
            json!({"sqlStatement": "select pg_sleep(2)"}),
        )
        .await
        .unwrap();
    let execution = stack.start_execution(&sm, json!({})).await.unwrap();
    let payload = stack
        .invocation_payload("starter", Some(&execution), TIMEOUT)
        .await
        .unwrap();
    let from = stack.front.calls().len();
    stack.starter.handle(&payload).await.unwrap();
    phase(
        "retried start (statement running)",
        calls_since(&stack, from),
        counts(&[("starter", &[("PutItem", 1)])]),
    );
    let run = stack.wait(&execution, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");

    // Cancel: one query of the execution's records, CancelStatement, the note of the request (the ABORTED event
    // settles it through the completer).
    let sm = stack
        .sql_machine(
            "counts-cancel",
            json!({"sqlStatement": "select pg_sleep(30)"}),
        )
        .await
        .unwrap();
    let execution = stack.start_execution(&sm, json!({})).await.unwrap();
    tasker_tests::eventually("the statement is started", TIMEOUT, || async {
        let records = stack.records(&execution).await.map_err(|e| e.to_string())?;
        match records.first() {
            Some(r) if r.statement_id.is_some() => Ok(()),
            _ => Err(format!("{records:?}")),
        }
    })
    .await
    .unwrap();
    let from = stack.front.calls().len();
    stack
        .canceller
        .handle(&json!({"executionArn": execution}))
        .await
        .unwrap();
    // Only the canceller's: the ABORTED event it causes may already reach the completer.
    let mut got = calls_since(&stack, from);
    got.retain(|f, _| f == "canceller");
    phase(
        "cancel",
        got,
        counts(&[(
            "canceller",
            &[("Query", 1), ("UpdateItem", 1), ("CancelStatement", 1)],
        )]),
    );
    let _ = stack
        .sfn()
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await;
    assert_eq!(table.len(), 5);
}
