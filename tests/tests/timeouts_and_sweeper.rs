//! Nothing lost: a step past its heartbeat is cancelled for real by the canceller, and a statement whose event
//! was dropped is still settled by the sweeper. Both run the example state machine of `infra/statemachines/`,
//! the one the SAM template deploys.

use serde_json::json;
use std::time::Duration;
use tasker_core::RecordStatus;
use tasker_tests::asl::{machine, sql_state};
use tasker_tests::stack::{Stack, StackOptions};
use tasker_tests::workspace_root;

const TIMEOUT: Duration = Duration::from_secs(60);

fn example() -> String {
    std::fs::read_to_string(workspace_root().join("infra/statemachines/example.asl.json"))
        .expect("example state machine")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timed_out_step_is_cancelled_and_its_late_event_settles_quietly() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let sm = stack
        .create_state_machine("example-timeout", &example())
        .await
        .unwrap();
    let run = stack
        .run(
            &sm,
            json!({"sql": "select pg_sleep(60)", "heartbeatSeconds": 2}),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(run.status, "FAILED", "{run:?}");
    assert_eq!(
        run.error.as_deref(),
        Some("SqlTimedOut"),
        "States.Timeout went to cancelSlowQuery"
    );
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(
        records[0].cancel_requested_at.is_some(),
        "the canceller noted its request: {records:?}"
    );
    let db = stack.sql().await.unwrap();
    tasker_tests::eventually(
        "the query leaves pg_stat_activity",
        Duration::from_secs(5),
        || async {
            let n: i64 = db
                .query_one(
                    "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            (n == 0).then_some(()).ok_or(format!("{n} still running"))
        },
    )
    .await
    .unwrap();
    // The canceller does not settle: the ABORTED event does, through the normal callback, which finds the timed-out
    // task gone (TaskTimedOut, as AWS answers and local/moto_server.py makes moto answer) and settles ORPHANED. The
    // execution saw nothing of it.
    let record = stack.settled(&run.arn, TIMEOUT).await.unwrap();
    assert_eq!(record.status, RecordStatus::Orphaned, "{record:?}");
    assert_eq!(stack.front.count("AWSStepFunctions.SendTaskSuccess"), 0);
    let failures: Vec<_> = stack.front.calls_of("AWSStepFunctions.SendTaskFailure");
    assert_eq!(failures.len(), 1, "one ABORTED callback: {failures:?}");
    assert_eq!(failures[0].body["error"], "ABORTED");
    assert_eq!(failures[0].status, 400, "refused: the task timed out");
}

/// A step past its heartbeat whose statement then finishes while the execution still runs (its `Catch` waits): the
/// completer's `SendTaskSuccess` on the timed-out task is refused with `TaskTimedOut`, as on AWS, and the record
/// says `ORPHANED`. (moto accepted and dropped that answer, and the record said `FINISHED`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_to_a_timed_out_task_is_refused_and_its_record_is_orphaned() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let mut run_sql = sql_state(json!({"sqlStatement": "select pg_sleep(2)"}), "Done");
    run_sql["HeartbeatSeconds"] = json!(1);
    run_sql["Catch"] =
        json!([{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Linger"}]);
    let states =
        json!({"RunSql": run_sql, "Linger": {"Type": "Wait", "Seconds": 6, "Next": "Done"}});
    let sm = stack
        .create_state_machine("timed-out-then-finished", &machine(states, "RunSql"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["error"]["Error"], "States.Timeout", "{run:?}");
    let record = stack.settled(&run.arn, TIMEOUT).await.unwrap();
    assert_eq!(record.status, RecordStatus::Orphaned, "{record:?}");
    let answers = stack.front.calls_of("AWSStepFunctions.SendTaskSuccess");
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].status, 400, "TaskTimedOut: {answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweeper_completes_an_execution_whose_event_was_lost() {
    let stack = Stack::start(StackOptions {
        sweep_grace_seconds: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    stack.event_faults(redshift_local::EventFaults {
        drop_next: 1,
        ..Default::default()
    });
    let sm = stack
        .create_state_machine("example-sweep", &example())
        .await
        .unwrap();
    let started = stack
        .start_execution(&sm, json!({"sql": "select 7 as n", "heartbeatSeconds": 30}))
        .await
        .unwrap();
    // Wait until the statement ended (its event was dropped), then run the scheduled sweeper.
    stack
        .events_dropped(1, Duration::from_secs(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = stack
        .completer
        .handle(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    assert_eq!(report["settled"], 1, "{report}");
    let run = stack.wait(&started, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["result"]["state"], "FINISHED");
    assert_eq!(
        stack.records(&run.arn).await.unwrap()[0].status,
        RecordStatus::Finished
    );
    assert_eq!(stack.front.count("AWSStepFunctions.SendTaskSuccess"), 1);
}

/// A statement past the Data API's retention whose event was lost: AWS then answers `DescribeStatement` with the
/// expired `ValidationException` (redshift-local, told to keep statements 2 s, answers the same), and one sweep
/// fails the waiting task with `StatementLost` instead of leaving it to its heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_past_retention_fails_its_task_with_statement_lost_in_one_sweep() {
    let stack = Stack::start(StackOptions {
        sweep_grace_seconds: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    stack.statement_retention(Duration::from_secs(2));
    stack.event_faults(redshift_local::EventFaults {
        drop_next: 1,
        ..Default::default()
    });
    let sm = stack
        .create_state_machine("example-expired", &example())
        .await
        .unwrap();
    let started = stack
        .start_execution(&sm, json!({"sql": "select 7 as n", "heartbeatSeconds": 60}))
        .await
        .unwrap();
    stack
        .events_dropped(1, Duration::from_secs(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = stack
        .completer
        .handle(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    assert_eq!(
        (report["settled"].clone(), report["lost"].clone()),
        (json!(1), json!(1)),
        "{report}"
    );
    let run = stack.wait(&started, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "FAILED", "{run:?}");
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records[0].status, RecordStatus::Lost, "{records:?}");
    assert_eq!(stack.front.count("AWSStepFunctions.SendTaskFailure"), 1);
}
