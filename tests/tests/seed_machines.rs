//! The drop-in promise: state machines shaped like the `SfnRedshiftTasker` construct's own README and integration
//! stack run against the starter unchanged (seed payloads without `stateName`/`stateEnteredTime`, both invocation
//! styles, `Parallel` and `Map` fan-out), each checked as a user would: the execution's status and output, which
//! branch ran, and the rows the SQL left in PostgreSQL.

use serde_json::{json, Value};
use std::time::Duration;
use tasker_tests::stack::{Execution, Stack, StackOptions};

const TIMEOUT: Duration = Duration::from_secs(90);

/// The seed's execute state: `lambda:invoke.waitForTaskToken` with `{taskToken, executionArn, sqlStatement}`.
fn seed_execute(sql: &str, result_path: &str, next: Value) -> Value {
    let mut state = json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": {
            "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id", "sqlStatement": sql}},
        "HeartbeatSeconds": 60, "TimeoutSeconds": 120, "ResultPath": result_path
    });
    merge(&mut state, next);
    state
}

/// The seed's request-response action through `lambda:invoke` (the output is under `Payload`).
fn seed_action(payload: Value, result_path: &str, next: &str) -> Value {
    json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${StarterFunctionArn}", "Payload": payload},
        "ResultPath": result_path, "Next": next
    })
}

/// The direct style (CDK's `payloadResponseOnly`): the function ARN as `Resource`, the payload as `Parameters`.
fn direct(parameters: Value, result_path: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": "${StarterFunctionArn}", "Parameters": parameters,
           "ResultPath": result_path, "Next": next})
}

fn merge(into: &mut Value, extra: Value) {
    into.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
}

fn latest(action: &str) -> Value {
    json!({"action": action, "statementId": "LATEST", "executionArn.$": "$$.Execution.Id"})
}

/// A stack with a `seed_runs` table that the SQL of these machines writes to.
async fn stack() -> Stack {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    stack
        .sql()
        .await
        .unwrap()
        .batch_execute("create table seed_runs (tag text not null)")
        .await
        .unwrap();
    stack
}

async fn runs(stack: &Stack, tag: &str) -> i64 {
    stack
        .sql()
        .await
        .unwrap()
        .query_one("select count(*) from seed_runs where tag = $1", &[&tag])
        .await
        .unwrap()
        .get(0)
}

async fn run(stack: &Stack, name: &str, states: Value, start: &str) -> Execution {
    let definition = json!({"StartAt": start, "States": states}).to_string();
    let sm = stack.create_state_machine(name, &definition).await.unwrap();
    stack.run(&sm, json!({}), TIMEOUT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn success_then_an_invalid_statement_caught_on_failed() {
    let stack = stack().await;
    let states = json!({
        // The construct's own first statement: Redshift SQL, run by redshift-local.
        "Good": seed_execute("select getdate()", "$.good", json!({"Next": "Rows?"})),
        // The seed's users read the completion event's fields: `$.detail.rows` in a later state.
        "Rows?": {"Type": "Choice", "Choices": [
            {"Variable": "$.good.detail.rows", "NumericEquals": 1, "Next": "Bad"}], "Default": "WrongRows"},
        "Bad": seed_execute("select * from no_such_table", "$.bad", json!({
            "Next": "Done", "Catch": [{"ErrorEquals": ["FAILED"], "ResultPath": "$.error", "Next": "Caught"}]})),
        "Caught": {"Type": "Succeed"},
        "WrongRows": {"Type": "Fail", "Error": "WrongRows"},
        "Done": {"Type": "Fail", "Error": "NotCaught"}
    });
    let run = run(&stack, "seed-invalid", states, "Good").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let good = &run.output["good"];
    assert_eq!(good["state"], "FINISHED");
    assert_eq!(good["detail"]["state"], "FINISHED");
    assert_eq!(good["detail"]["statementId"], good["statementId"]);
    assert_eq!(run.output["error"]["Error"], "FAILED");
    // moto drops the cause; the front saw it: the seed's `detail.error` with PostgreSQL's text.
    let (_, cause) = stack.front.first_task_failure().expect("a SendTaskFailure");
    assert!(
        cause["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("no_such_table"),
        "{cause}"
    );
    assert_eq!(cause["error"], cause["detail"]["error"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn success_then_get_statement_result_latest() {
    let stack = stack().await;
    let states = json!({
        "Run": seed_execute("select 7 as n, 'x' as s", "$.run", json!({"Next": "Result"})),
        "Result": seed_action(latest("getStatementResult"), "$.result", "Done"),
        "Done": {"Type": "Succeed"}
    });
    let run = run(&stack, "seed-result", states, "Run").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(
        run.output["result"]["Payload"]["Records"],
        json!([[{"longValue": 7}, {"stringValue": "x"}]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_caught_then_describe_statement_latest() {
    let stack = stack().await;
    let states = json!({
        "Run": seed_execute("select 1/0", "$.run", json!({
            "Next": "Unexpected", "Catch": [{"ErrorEquals": ["FAILED"], "ResultPath": "$.error", "Next": "Describe"}]})),
        "Describe": seed_action(latest("describeStatement"), "$.describe", "Done"),
        "Unexpected": {"Type": "Fail", "Error": "Unexpected"},
        "Done": {"Type": "Succeed"}
    });
    let run = run(&stack, "seed-describe", states, "Run").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let d = &run.output["describe"]["Payload"];
    assert_eq!(d["Status"], "FAILED");
    assert!(
        d["Error"].as_str().unwrap().contains("division by zero"),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_polling_loop_with_an_ad_hoc_start_invoked_directly() {
    let stack = stack().await;
    // The construct's polling machine: only `sqlStatement`, no token, no executionArn; `Id` read back.
    let states = json!({
        "Start": direct(json!({"sqlStatement": "insert into seed_runs values ('poll')"}), "$.executionDetails", "Wait"),
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Describe"},
        "Describe": direct(json!({"action": "describeStatement", "statementId.$": "$.executionDetails.Id"}), "$.describe", "Finished?"),
        "Finished?": {"Type": "Choice", "Choices": [
            {"Variable": "$.describe.Status", "StringEquals": "FINISHED", "Next": "Done"},
            {"Variable": "$.describe.Status", "StringEquals": "FAILED", "Next": "Failed"}
        ], "Default": "Wait"},
        "Failed": {"Type": "Fail", "Error": "SqlFailed"},
        "Done": {"Type": "Succeed"}
    });
    let run = run(&stack, "seed-polling-direct", states, "Start").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(
        run.output["describe"]["Id"],
        run.output["executionDetails"]["Id"]
    );
    assert_eq!(runs(&stack, "poll").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_singleton_branches_in_a_parallel_run_exactly_one() {
    let stack = stack().await;
    let sql = "insert into seed_runs select 'singleton' from (select pg_sleep(2)) s";
    let branches: Vec<Value> = (0..10)
        .map(|_| {
            let mut run = seed_execute(sql, "$.run", json!({"End": true,
                "Catch": [{"ErrorEquals": ["ConcurrentExecution"], "ResultPath": "$.refused", "Next": "Refused"}]}));
            run["Parameters"]["Payload"]["action"] = json!("executeSingletonStatement");
            json!({"StartAt": "Run", "States": {"Run": run, "Refused": {"Type": "Succeed"}}})
        })
        .collect();
    let states = json!({"Fan": {"Type": "Parallel", "Branches": branches, "End": true}});
    let run = run(&stack, "seed-parallel", states, "Fan").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let outputs = run.output.as_array().expect("one output per branch");
    let ran = outputs.iter().filter(|o| o.get("run").is_some()).count();
    let refused = outputs
        .iter()
        .filter(|o| o["refused"]["Error"] == "ConcurrentExecution")
        .count();
    assert_eq!((ran, refused), (1, 9), "{outputs:?}");
    assert_eq!(runs(&stack, "singleton").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn map_iterations_and_two_states_with_the_same_sql_each_run() {
    let stack = stack().await;
    let sql = "insert into seed_runs values ('same')";
    let iteration = json!({"StartAt": "Run", "States": {
        "Run": seed_execute(sql, "$.run", json!({"End": true}))}});
    let states = json!({
        "First": seed_execute(sql, "$.first", json!({"Next": "Second"})),
        "Second": seed_execute(sql, "$.second", json!({"Next": "Fan"})),
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "Iterator": iteration, "ResultPath": "$.fan", "End": true}
    });
    let definition = json!({"StartAt": "First", "States": states}).to_string();
    let sm = stack
        .create_state_machine("seed-same-sql", &definition)
        .await
        .unwrap();
    let run = stack
        .run(
            &sm,
            json!({"items": [{"i": 1}, {"i": 2}, {"i": 3}]}),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let mut ids: Vec<&Value> = vec![
        &run.output["first"]["statementId"],
        &run.output["second"]["statementId"],
    ];
    ids.extend(
        run.output["fan"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| &o["run"]["statementId"]),
    );
    ids.sort_by_key(|v| v.to_string());
    ids.dedup();
    assert_eq!(ids.len(), 5, "five statements: {}", run.output);
    assert_eq!(runs(&stack, "same").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_statement_past_its_heartbeat_cancelled_by_latest_then_described_until_aborted() {
    let stack = stack().await;
    let mut slow = seed_execute(
        "select pg_sleep(60)",
        "$.run",
        json!({"Next": "Unexpected",
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Cancel"}]}),
    );
    slow["HeartbeatSeconds"] = json!(10);
    let states = json!({
        "Slow": slow,
        "Cancel": seed_action(latest("cancelStatement"), "$.cancel", "Wait"),
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Describe"},
        "Describe": seed_action(latest("describeStatement"), "$.describe", "Aborted?"),
        "Aborted?": {"Type": "Choice", "Choices": [
            {"Variable": "$.describe.Payload.Status", "StringEquals": "ABORTED", "Next": "Done"}], "Default": "Wait"},
        "Unexpected": {"Type": "Fail", "Error": "Unexpected"},
        "Done": {"Type": "Succeed"}
    });
    let run = run(&stack, "seed-cancel", states, "Slow").await;
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["timeout"]["Error"], "States.Timeout");
    assert_eq!(run.output["cancel"]["Payload"], json!({"Status": true}));
    let db = stack.sql().await.unwrap();
    let sleeping: i64 = db
        .query_one(
            "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sleeping, 0, "the statement really stopped");
}
