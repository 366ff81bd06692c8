//! No task left hanging, end to end on the local stack: a `Map` whose one iteration times out (the canceller
//! narrowed by `stateName` spares its siblings; not narrowed, it fails them with `ABORTED` at once instead of
//! leaving them to their heartbeat), a singleton whose start failed gives its lock back, one left by a dead start
//! is taken over, and a sweep that still
//! finds a lost event behind 150 records that can never settle the normal way.

use chrono::{Duration as Age, Utc};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tasker_core::{
    statement_name, EntryKey, RecordStatus, SingletonLocks, StateStore, StatementPrefix,
    StatementRecord,
};
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A `Map` over `$.items` (`{sql, heartbeat}` each) of the recommended SQL state, named per iteration by its index
/// (`RunSql-0`, ...); a timed-out
/// iteration calls the canceller with `cancel` (plus the execution) and ends quietly, an `ABORTED` one is caught.
fn map_machine(cancel: Value) -> String {
    let mut payload = json!({
        "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
        "stateName.$": "States.Format('RunSql-{}', $.index)",
        "stateEnteredTime.$": "$$.State.EnteredTime", "sqlStatement.$": "$.sql"
    });
    let mut cancel_payload = json!({"executionArn.$": "$$.Execution.Id"});
    cancel_payload
        .as_object_mut()
        .unwrap()
        .extend(cancel.as_object().unwrap().clone());
    payload["resultRows"] = json!(0);
    let iteration = json!({"StartAt": "RunSql", "States": {
        "RunSql": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": payload},
            "HeartbeatSecondsPath": "$.heartbeat", "TimeoutSeconds": 60, "ResultPath": "$.result",
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1.5}],
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "cancelSlowQuery"},
                {"ErrorEquals": ["ABORTED"], "ResultPath": "$.aborted", "Next": "Aborted"}
            ],
            "End": true
        },
        "cancelSlowQuery": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${CancellerFunctionArn}", "Payload": cancel_payload},
            "ResultPath": "$.cancel", "End": true
        },
        "Aborted": {"Type": "Pass", "End": true}
    }});
    json!({"StartAt": "Fan", "States": {
        // `$$.Map.Item.Index` exists only in the Map's own `Parameters`: pass it to the iteration there.
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "Iterator": iteration, "End": true,
                "Parameters": {"index.$": "$$.Map.Item.Index", "sql.$": "$$.Map.Item.Value.sql",
                               "heartbeat.$": "$$.Map.Item.Value.heartbeat"}}
    }})
    .to_string()
}

/// One slow iteration with a 2 s heartbeat, two 5 s siblings with 30 s heartbeats.
fn map_input() -> Value {
    json!({"items": [
        {"sql": "select pg_sleep(60)", "heartbeat": 2},
        {"sql": "select pg_sleep(5), 1 as sibling", "heartbeat": 30},
        {"sql": "select pg_sleep(5), 2 as sibling", "heartbeat": 30}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canceller_narrowed_by_state_name_spares_the_map_siblings() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let definition = map_machine(json!({"stateName.$": "States.Format('RunSql-{}', $.index)"}));
    let sm = stack
        .create_state_machine("map-narrowed", &definition)
        .await
        .unwrap();
    let run = stack.run(&sm, map_input(), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let out = run.output.as_array().expect("one output per iteration");
    assert_eq!(out[0]["timeout"]["Error"], "States.Timeout");
    assert_eq!(
        out[0]["cancel"]["Payload"]["cancelled"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "only its own statement: {}",
        out[0]
    );
    for sibling in &out[1..] {
        assert_eq!(sibling["result"]["state"], "FINISHED", "{sibling}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canceller_given_only_the_execution_fails_the_siblings_with_aborted_at_once() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let sm = stack
        .create_state_machine("map-unnarrowed", &map_machine(json!({})))
        .await
        .unwrap();
    let began = Instant::now();
    let run = stack.run(&sm, map_input(), TIMEOUT).await.unwrap();
    let took = began.elapsed();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let out = run.output.as_array().expect("one output per iteration");
    assert_eq!(
        out[0]["cancel"]["Payload"]["cancelled"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{}",
        out[0]
    );
    for sibling in &out[1..] {
        assert_eq!(sibling["aborted"]["Error"], "ABORTED", "{sibling}");
    }
    // Before: the siblings ended only at their 30 s heartbeat.
    assert!(
        took < Duration::from_secs(20),
        "the siblings were answered at once, not at their heartbeat ({took:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_singleton_whose_start_failed_does_not_block_the_next_run() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payload = |execution: &str| json!({"executionArn": execution, "sqlStatement": "select pg_sleep(1)", "singleton": true});
    stack.front.inject("RedshiftData.ExecuteStatement", &[403]);
    let failed = stack
        .starter
        .handle(&payload("arn:first"))
        .await
        .unwrap_err();
    assert_eq!(failed.error_type(), "AccessDeniedException");
    let next = stack.starter.handle(&payload("arn:second")).await.unwrap();
    assert!(next["statementId"].is_string(), "{next}");
}

/// A singleton lock left by a start that died between its lock and its record (no record, taken 20 minutes ago)
/// is taken over by the next run through the table's conditional steal; a live holder's is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_singleton_lock_left_by_a_dead_start_is_taken_over_and_a_live_ones_is_not() {
    use tasker_core::SqlText;
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let sql = "select pg_sleep(1)";
    let digest = tasker_core::sql_digest(&SqlText::Single(sql.into()), &Default::default());
    let table = stack.state_table();
    let far = (Utc::now() + Age::days(3)).timestamp();
    let dead = "tasker-test-dead-holder";
    let taken = table
        .lock(&digest, dead, Utc::now() - Age::minutes(20), far)
        .await
        .unwrap();
    assert_eq!(taken, tasker_core::Lock::Acquired);
    let payload = |execution: &str| json!({"executionArn": execution, "sqlStatement": sql, "singleton": true});
    let next = stack.starter.handle(&payload("arn:next")).await.unwrap();
    assert!(next["statementId"].is_string(), "{next}");
    // Now held by a running statement with a record: a second run is refused.
    let refused = stack
        .starter
        .handle(&payload("arn:third"))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type(), "ConcurrentExecution", "{refused}");
}

/// A record written as a starter would have, `age` ago.
fn stuck_record(
    prefix: &StatementPrefix,
    i: usize,
    id: Option<String>,
    age: Age,
) -> StatementRecord {
    let at = Utc::now() - age;
    let invocation = format!("stuck-{i}");
    StatementRecord {
        statement_name: statement_name(
            prefix,
            &EntryKey::for_start(Some("arn:stuck"), None, None, "d", None, &invocation),
        ),
        execution_arn: Some("arn:stuck".into()),
        state_name: None,
        task_token: None,
        status: if id.is_some() {
            RecordStatus::Started
        } else {
            RecordStatus::Submitted
        },
        statement_id: id,
        sql_digest: "d".into(),
        result_rows: 0,
        result_max_bytes: 0,
        singleton: false,
        created_at: at,
        updated_at: at,
        settled_at: None,
        cancel_requested_at: None,
        error: None,
        expires_at: (at + Age::days(7)).timestamp(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweeper_finds_a_lost_event_behind_150_records_that_can_never_settle() {
    let stack = Stack::start(StackOptions {
        sweep_grace_seconds: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let table = stack.state_table();
    let prefix = StatementPrefix::parse("tasker-test").unwrap();
    // 100 starts that failed and were never retried, 50 statements past the Data API's retention, all older
    // than the statement whose event is lost, so an oldest-first sweep meets them first.
    for i in 0..150 {
        let id = (i >= 100).then(|| uuid::Uuid::new_v4().to_string());
        let record = stuck_record(&prefix, i, id, Age::hours(2));
        table.create(&record).await.unwrap();
    }
    // One record nobody can decode must not stop the sweep either.
    stack
        .dynamodb()
        .put_item()
        .table_name(&stack.table)
        .item(
            "statementName",
            aws_sdk_dynamodb::types::AttributeValue::S("tasker-test-broken".into()),
        )
        .item(
            "unsettled",
            aws_sdk_dynamodb::types::AttributeValue::S("1".into()),
        )
        .item(
            "updatedAt",
            aws_sdk_dynamodb::types::AttributeValue::S("2000-01-01T00:00:00.000Z".into()),
        )
        .item(
            "status",
            aws_sdk_dynamodb::types::AttributeValue::S("???".into()),
        )
        .send()
        .await
        .unwrap();
    stack.event_faults(redshift_local::EventFaults {
        drop_next: 1,
        ..Default::default()
    });
    let started = stack
        .starter
        .handle(&json!({"executionArn": "arn:lost-event", "sqlStatement": "select 7 as n"}))
        .await
        .unwrap();
    stack.events_dropped(1, TIMEOUT).await.unwrap();
    let report = stack
        .completer
        .handle(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    assert_eq!(report["examined"], 151, "{report}");
    assert_eq!(report["notStarted"], 100, "{report}");
    assert_eq!(report["lost"], 50, "{report}");
    assert_eq!(report["undecodable"], 1, "{report}");
    assert_eq!(report["settled"], 151, "{report}");
    let record = stack.settled("arn:lost-event", TIMEOUT).await.unwrap();
    assert_eq!(record.status, RecordStatus::Finished);
    assert_eq!(
        record.statement_id.as_deref(),
        started["statementId"].as_str()
    );
    // Nothing of them is left for the next sweep.
    let again = stack
        .completer
        .handle(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    assert_eq!(again["examined"], 0, "{again}");
}
