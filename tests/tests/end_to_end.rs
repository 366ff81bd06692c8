//! The product end to end on the local stack: real state machine executions in moto's Step Functions, our real
//! handlers behind its Lambda tasks, real SQL on PostgreSQL through redshift-local, completion events through
//! moto's EventBridge and SQS to the completer.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_core::RecordStatus;
use tasker_tests::asl::{machine, native_polling_states, sql_state};
use tasker_tests::stack::{Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn stack() -> Stack {
    Stack::start(StackOptions::default())
        .await
        .expect("local stack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn select_succeeds_with_output_and_finished_record() {
    let stack = stack().await;
    let db = stack.sql().await.unwrap();
    db.batch_execute("create table sales(id int, amount numeric(10,2)); insert into sales values (1, 10.50), (2, 3.25)")
        .await
        .unwrap();
    let sm = stack
        .create_state_machine("select", &machine(json!({"RunSql": sql_state(json!({"sqlStatement": "select count(*) from sales"}), "Done")}), "RunSql"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.status, RecordStatus::Finished);
    assert_eq!(record.state_name.as_deref(), Some("RunSql"));
    assert!(record.settled_at.is_some());
    // The task output (docs/design.md, "Task output") is in the execution history's TaskSucceeded event.
    let history = stack
        .sfn()
        .get_execution_history()
        .execution_arn(&run.arn)
        .send()
        .await
        .unwrap();
    let output: Value = history
        .events()
        .iter()
        .find_map(|e| e.task_succeeded_event_details().and_then(|d| d.output()))
        .map(|o| serde_json::from_str(o).unwrap())
        .expect("a TaskSucceeded event");
    assert_eq!(output["statementName"], json!(record.statement_name));
    assert_eq!(
        output["statementId"],
        json!(record.statement_id.clone().unwrap())
    );
    assert_eq!(output["state"], "FINISHED");
    assert_eq!(output["rows"], 1);
    assert_eq!(output["hasResultSet"], true);
    assert!(output["durationMs"].as_i64().unwrap() >= 0);
    assert!(output.get("records").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_sql_takes_the_failed_catch_with_the_postgres_error() {
    let stack = stack().await;
    let sm = stack
        .create_state_machine(
            "failing",
            &machine(json!({"RunSql": sql_state(json!({"sqlStatement": "select * from no_such_table"}), "Done")}), "RunSql"),
        )
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "FAILED", "{run:?}");
    assert_eq!(
        run.error.as_deref(),
        Some("SqlFailed"),
        "the Catch on FAILED was taken"
    );
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records[0].status, RecordStatus::Failed);
    assert_eq!(
        records[0].error.as_deref(),
        Some("ERROR: relation \"no_such_table\" does not exist")
    );
    // moto drops the cause; the front saw it.
    let (failure, cause) = stack.front.first_task_failure().expect("a SendTaskFailure");
    assert_eq!(failure.body["error"], "FAILED");
    assert_eq!(
        cause["error"],
        "ERROR: relation \"no_such_table\" does not exist"
    );
    assert_eq!(cause["statementName"], json!(records[0].statement_name));
    assert_eq!(
        cause["statementId"],
        json!(records[0].statement_id.clone().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_states_batch_parameters_and_typed_records() {
    let stack = stack().await;
    let states = json!({
        "Create": sql_state(json!({"sqlStatements": [
            "create table items(id int, big bigint, price numeric(8,2), ratio double precision, ok boolean, name text, day date, at timestamp)",
            "insert into items values (1, 9000000000, 1.50, 0.5, true, 'one', '2026-11-25', '2026-11-25 10:00:00'), (2, 2, 2.00, 1.5, false, null, '2026-11-26', '2026-11-26 11:30:00')"
        ]}), "Insert"),
        "Insert": sql_state(json!({"sqlStatement": "insert into items(id, name) values (:id, :name)", "parameters": {"id": 3, "name": "O'Brien"}}), "Read"),
        "Read": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
                "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
                "stateName.$": "$$.State.Name", "stateEnteredTime.$": "$$.State.EnteredTime",
                "sqlStatement": "select id, big, price, ratio, ok, name, day, at from items order by id", "resultRows": 5}},
            "HeartbeatSeconds": 60, "TimeoutSeconds": 120, "ResultPath": "$.read", "Next": "Done"
        }
    });
    let sm = stack
        .create_state_machine("several", &machine(states, "Create"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 3, "one record per state");
    assert!(records.iter().all(|r| r.status == RecordStatus::Finished));
    let names: std::collections::HashSet<_> =
        records.iter().map(|r| r.statement_name.clone()).collect();
    assert_eq!(names.len(), 3, "distinct statement names per state");
    let read = &run.output["read"];
    assert_eq!(read["rows"], 3);
    assert_eq!(read["records"].as_array().unwrap().len(), 3);
    assert_eq!(
        read["records"][0],
        json!({"id": 1, "big": 9000000000i64, "price": "1.50", "ratio": 0.5, "ok": true, "name": "one",
               "day": "2026-11-25", "at": "2026-11-25 10:00:00"})
    );
    assert_eq!(read["records"][1]["name"], Value::Null);
    assert_eq!(
        read["records"][2],
        json!({"id": 3, "big": null, "price": null, "ratio": null, "ok": null,
                                          "name": "O'Brien", "day": null, "at": null})
    );
    // The batch really ran in PostgreSQL.
    let db = stack.sql().await.unwrap();
    let n: i64 = db
        .query_one("select count(*) from items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_batch_rolls_back_everything() {
    let stack = stack().await;
    let db = stack.sql().await.unwrap();
    db.batch_execute("create table ledger(id int primary key)")
        .await
        .unwrap();
    let sm = stack
        .create_state_machine(
            "batch-rollback",
            &machine(
                json!({"RunSql": sql_state(json!({"sqlStatements": ["insert into ledger values (1)", "insert into ledger values (1)"]}), "Done")}),
                "RunSql",
            ),
        )
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.error.as_deref(), Some("SqlFailed"), "{run:?}");
    let n: i64 = db
        .query_one("select count(*) from ledger", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the first insert was rolled back with the batch");
    let records = stack.records(&run.arn).await.unwrap();
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .contains("duplicate key"),
        "{:?}",
        records[0].error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_invocation_of_the_same_state_entry_runs_the_sql_once() {
    let stack = stack().await;
    let db = stack.sql().await.unwrap();
    db.batch_execute("create table hits(n int)").await.unwrap();
    let sm = stack
        .create_state_machine(
            "retry",
            &machine(
                json!({"RunSql": sql_state(json!({"sqlStatement": "insert into hits select 1 from pg_sleep(2)"}), "Done")}),
                "RunSql",
            ),
        )
        .await
        .unwrap();
    let started = stack.start_execution(&sm, json!({})).await.unwrap();
    // Wait for moto's invocation of the starter, then invoke it again with the very same payload, as a Lambda
    // retry would.
    let payload = stack
        .invocation_payload("starter", None, TIMEOUT)
        .await
        .unwrap();
    let first = stack.records(&started).await.unwrap();
    let again = stack
        .starter
        .handle(&payload)
        .await
        .expect("the retry is accepted");
    assert_eq!(again["statementName"], json!(first[0].statement_name));
    assert_eq!(
        again["statementId"],
        json!(first[0].statement_id.clone().unwrap())
    );
    // A starter that died after ExecuteStatement but before marking STARTED: the retry calls the Data API again
    // with the same ClientToken and gets the same statement back.
    stack
        .dynamodb()
        .update_item()
        .table_name(&stack.table)
        .key(
            "statementName",
            aws_sdk_dynamodb::types::AttributeValue::S(first[0].statement_name.clone()),
        )
        .update_expression("SET #s = :s REMOVE statementId")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(
            ":s",
            aws_sdk_dynamodb::types::AttributeValue::S("SUBMITTED".into()),
        )
        .send()
        .await
        .unwrap();
    let third = stack
        .starter
        .handle(&payload)
        .await
        .expect("the second retry is accepted");
    assert_eq!(
        third["statementId"],
        json!(first[0].statement_id.clone().unwrap())
    );
    let run = stack.wait(&started, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let stats = stack.redshift_stats().await.unwrap();
    assert_eq!(stats["statementsRun"], 1, "{stats}");
    assert_eq!(
        stats["calls"]["ExecuteStatement"], 2,
        "the first start and the post-crash retry called it: {stats}"
    );
    let n: i64 = db
        .query_one("select count(*) from hits", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the SQL ran once");
    assert_eq!(
        stack.front.count("AWSStepFunctions.SendTaskSuccess"),
        1,
        "one callback"
    );
}

/// A user's machine mixing the native Data API polling loop with this tasker's step runs locally: moto's
/// `aws-sdk:redshiftdata` tasks reach redshift-local (local/moto_server.py maps the service name).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn native_data_api_tasks_and_ours_in_one_machine() {
    let stack = stack().await;
    let mut states =
        native_polling_states("create table native_made as select 42 as answer", 1, "Read");
    states["Read"] = sql_state(
        json!({"sqlStatement": "select answer from native_made", "resultRows": 1}),
        "Done",
    );
    states["Read"]["ResultPath"] = json!("$.read");
    let sm = stack
        .create_state_machine("native", &machine(states, "Execute"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["described"]["Status"], "FINISHED", "{run:?}");
    assert_eq!(run.output["read"]["records"], json!([{"answer": 42}]));
    // The native tasks went through the Data API (the front logged them), not around it.
    assert_eq!(
        stack.front.calls_of("RedshiftData.ExecuteStatement").len(),
        2,
        "the native Execute and the starter's"
    );
    assert!(!stack
        .front
        .calls_of("RedshiftData.DescribeStatement")
        .is_empty());
}

/// The native long-poll pattern (the alternative BENCHMARKS.md measures this tasker against) runs locally as on
/// AWS: the `WaitTimeSeconds` of `executeStatement` reaches redshift-local through moto's `aws-sdk:redshiftdata`
/// task, the reply waits for the statement's end, and the Choice needs no `describeStatement` for a short one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_native_long_poll_ends_with_the_statement_and_no_wait_state() {
    let stack = stack().await;
    let states = tasker_tests::asl::native_long_poll_states("select pg_sleep(2)", "Done");
    let sm = stack
        .create_state_machine("long-poll", &machine(states, "Execute"))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["statement"]["Status"], "FINISHED", "{run:?}");
    let executes = stack.front.calls_of("RedshiftData.ExecuteStatement");
    assert_eq!(executes.len(), 1, "{executes:?}");
    assert!(
        stack
            .front
            .calls_of("RedshiftData.DescribeStatement")
            .is_empty(),
        "a 2 s statement ends within the execute's 30 s wait"
    );
}
