//! The local stack refuses, throttles and cuts off as AWS does (issue 22, points 1 and 2):
//!
//! - Lambda: each function runs within its deployed `ReservedConcurrentExecutions` (beyond it, 429
//!   `TooManyRequestsException`, which a state sees as `Lambda.TooManyRequestsException`) and `Timeout` (past it,
//!   the invocation is cut off and fails with `Sandbox.Timedout`), both read from the deployed template.
//! - Service models: a request the botocore model refuses is refused by the front with the service's
//!   `ValidationException`, before moto or redshift-local sees it (a task token over 2,048 characters, an output
//!   over 262,144, an error over 256, a `WaitTimeSeconds` over 30).

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tasker_tests::asl::sql_state;
use tasker_tests::front::{FunctionLimits, Handler};
use tasker_tests::stack::{signed_as, Stack, StackOptions, ACCOUNT, REGION, ROLE};
use tasker_tests::workspace_root;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn stack() -> Stack {
    Stack::start(StackOptions::default()).await.unwrap()
}

/// A stack whose starter has one slot (`StarterReservedConcurrency` 1, the seed's value).
async fn one_slot_stack() -> Stack {
    Stack::start(StackOptions {
        starter_reserved_concurrency: Some(1),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A fast-path SQL state (the starter holds its slot while the 2 s statement runs) that ends its branch.
fn slow_start(retry: bool) -> Value {
    let mut state = sql_state(
        json!({"sqlStatement": "select pg_sleep(2)", "waitSeconds": 5}),
        "unused",
    );
    let s = state.as_object_mut().unwrap();
    s.remove("Next");
    s.insert("End".into(), json!(true));
    if !retry {
        s.remove("Retry");
        s.insert(
            "Catch".into(),
            json!([{"ErrorEquals": ["Lambda.TooManyRequestsException"], "ResultPath": "$.throttled", "Next": "Throttled"}]),
        );
    }
    state
}

/// Two branches whose starts overlap, each with its own state name.
fn two_starts(retry: bool) -> String {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: slow_start(retry), "Throttled": {"Type": "Pass", "End": true}}});
    json!({"StartAt": "Fan", "States": {"Fan": {
        "Type": "Parallel", "Branches": [branch("RunA"), branch("RunB")], "End": true}}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_deployed_reserved_concurrency_and_timeouts_are_what_the_front_enforces() {
    let stack = stack().await;
    let limits = |name: &str| stack.front.limits(name).unwrap();
    assert_eq!(
        limits("starter"),
        FunctionLimits {
            reserved_concurrency: Some(40),
            timeout: Duration::from_secs(60)
        },
        "the template's StarterReservedConcurrency default and the starter's Timeout"
    );
    assert_eq!(
        limits("completer"),
        FunctionLimits {
            reserved_concurrency: None,
            timeout: Duration::from_secs(30)
        }
    );
    assert_eq!(limits("canceller").timeout, Duration::from_secs(30));
    let wider = Stack::start(StackOptions {
        prefix: "tasker-wide".into(),
        starter_reserved_concurrency: Some(4),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        wider.front.limits("starter").unwrap().reserved_concurrency,
        Some(4)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_start_beyond_the_reserved_concurrency_is_throttled_as_lambda_too_many_requests() {
    let stack = one_slot_stack().await;
    let sm = stack
        .create_state_machine("throttle-caught", &two_starts(false))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let branches = run.output.as_array().expect("one output per branch");
    let caught: Vec<&Value> = branches.iter().filter_map(|b| b.get("throttled")).collect();
    assert_eq!(
        caught.len(),
        1,
        "one start held the only slot: {branches:?}"
    );
    assert_eq!(caught[0]["Error"], "Lambda.TooManyRequestsException");
    assert!(
        caught[0]["Cause"]
            .as_str()
            .unwrap()
            .contains("Status Code: 429"),
        "{caught:?}"
    );
    assert_eq!(
        branches.iter().filter(|b| b["state"] == "FINISHED").count(),
        1
    );
    assert_eq!(stack.front.throttled("Lambda.Invoke:starter"), 1);
    assert_eq!(
        stack.front.count("RedshiftData.ExecuteStatement"),
        1,
        "the throttled invocation never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_recommended_retry_absorbs_the_throttle() {
    let stack = one_slot_stack().await;
    let sm = stack
        .create_state_machine("throttle-retried", &two_starts(true))
        .await
        .unwrap();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let branches = run.output.as_array().unwrap();
    assert!(
        branches.iter().all(|b| b["state"] == "FINISHED"),
        "{branches:?}"
    );
    assert!(
        stack.front.throttled("Lambda.Invoke:starter") >= 1,
        "the second start was throttled"
    );
    assert_eq!(stack.front.count("RedshiftData.ExecuteStatement"), 2);
}

/// A test-only function: sleeps `seconds`, then sets `finished`.
fn sleeper(seconds: u64, finished: Arc<AtomicBool>) -> Handler {
    Arc::new(move |_payload| {
        let finished = finished.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            finished.store(true, Ordering::SeqCst);
            Ok(json!({"slept": seconds}))
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invocation_past_its_timeout_is_cut_off_as_sandbox_timedout() {
    let stack = stack().await;
    let finished = Arc::new(AtomicBool::new(false));
    stack
        .front
        .register("sleeper", sleeper(3, finished.clone()));
    stack.front.limit(
        "sleeper",
        FunctionLimits {
            reserved_concurrency: None,
            timeout: Duration::from_secs(1),
        },
    );
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:sleeper");
    let definition = json!({"StartAt": "Sleep", "States": {
        "Sleep": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": arn, "Payload": {}},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "TimedOut"}],
                  "End": true},
        "TimedOut": {"Type": "Pass", "End": true}}})
    .to_string();
    let sm = stack
        .create_state_machine("timeout", &definition)
        .await
        .unwrap();
    let started = Instant::now();
    let run = stack.run(&sm, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output["error"]["Error"], "Sandbox.Timedout", "{run:?}");
    let cause: Value =
        serde_json::from_str(run.output["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorType"], "Sandbox.Timedout");
    let message = cause["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("RequestId: "), "{message}");
    assert!(
        message.ends_with(" Error: Task timed out after 1.00 seconds"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(started.elapsed())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler was cut off, not left running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binary_cut_off_at_its_timeout_is_restarted_as_lambda_resets_its_sandbox() {
    let binaries = workspace_root().join("target/debug");
    assert!(
        binaries.join("starter").exists(),
        "build the workspace first (cargo build --workspace)"
    );
    let stack = Stack::start(StackOptions {
        prefix: "tasker-reset".into(),
        binaries: Some(binaries),
        ..Default::default()
    })
    .await
    .unwrap();
    stack.front.limit(
        "starter",
        FunctionLimits {
            reserved_concurrency: Some(1),
            timeout: Duration::from_secs(1),
        },
    );
    // The starter holds ExecuteStatement (the fast path) past its 1 s timeout.
    let slow = stack
        .sql_machine(
            "cut-off",
            json!({"sqlStatement": "select pg_sleep(8)", "waitSeconds": 20}),
        )
        .await
        .unwrap();
    let run = stack.run(&slow, json!({}), TIMEOUT).await.unwrap();
    assert_eq!(run.status, "FAILED", "{run:?}");
    assert_eq!(run.error.as_deref(), Some("Sandbox.Timedout"), "{run:?}");
    assert_eq!(stack.sandbox_resets(), 1);
    // A new sandbox takes the next start at once; the old process, still waiting on its 8 s statement, would not.
    let quick = stack
        .sql_machine("after-reset", json!({"sqlStatement": "select 1"}))
        .await
        .unwrap();
    let asked = Instant::now();
    let execution = stack.start_execution(&quick, json!({})).await.unwrap();
    stack
        .invocation_payload("starter", Some(&execution), TIMEOUT)
        .await
        .unwrap();
    let answered = asked.elapsed();
    assert!(
        answered < Duration::from_secs(4),
        "the start took {answered:?}"
    );
    let run = stack.wait(&execution, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
}

/// A test-only function that takes a task token and returns at once: its task waits for a callback.
fn parker() -> Handler {
    Arc::new(|_payload| Box::pin(async { Ok(json!({})) }))
}

/// The error code and message of a refused call.
fn refusal<E: aws_sdk_sfn::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_beyond_the_step_functions_model_are_refused_with_validation_exception() {
    let stack = stack().await;
    stack.front.register("parker", parker());
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:parker");
    let definition = json!({"StartAt": "Wait", "States": {
        "Wait": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                 "Parameters": {"FunctionName": arn, "Payload": {"taskToken.$": "$$.Task.Token"}},
                 "TimeoutSeconds": 60, "End": true}}})
    .to_string();
    let sm = stack
        .create_state_machine("callbacks", &definition)
        .await
        .unwrap();
    let execution = stack.start_execution(&sm, json!({})).await.unwrap();
    let payload = stack
        .invocation_payload("parker", None, TIMEOUT)
        .await
        .unwrap();
    let token = payload["taskToken"].as_str().unwrap().to_string();
    let sfn = stack.sfn();

    let long_token = sfn
        .send_task_success()
        .task_token("t".repeat(2049))
        .output("{}")
        .send()
        .await
        .unwrap_err();
    let (code, message) = refusal(long_token.as_service_error().unwrap());
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length less than or equal to 2048");

    let big_output = format!("\"{}\"", "o".repeat(262_143));
    let too_big = sfn
        .send_task_success()
        .task_token(&token)
        .output(big_output)
        .send()
        .await
        .unwrap_err();
    let (code, message) = refusal(too_big.as_service_error().unwrap());
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("'output' failed to satisfy constraint: Member must have length less than or equal to 262144"),
        "{message}"
    );

    let long_error = sfn
        .send_task_failure()
        .task_token(&token)
        .error("E".repeat(257))
        .send()
        .await
        .unwrap_err();
    let (code, message) = refusal(long_error.as_service_error().unwrap());
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("'error' failed to satisfy constraint: Member must have length less than or equal to 256"),
        "{message}"
    );
    assert!(
        !message.contains(&token),
        "the answer never echoes the token"
    );

    // The refusals left the task open: a valid answer still ends it.
    sfn.send_task_success()
        .task_token(&token)
        .output(json!({"done": true}).to_string())
        .send()
        .await
        .unwrap();
    let run = stack.wait(&execution, TIMEOUT).await.unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    assert_eq!(run.output, json!({"done": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_data_api_call_beyond_its_model_is_refused_before_redshift_local() {
    let stack = stack().await;
    let data =
        aws_sdk_redshiftdata::Client::new(&signed_as(&stack.front.url(), ROLE, Some("test")));
    let refused = data
        .execute_statement()
        .cluster_identifier(tasker_tests::stack::CLUSTER)
        .database(tasker_tests::stack::DATABASE)
        .db_user(tasker_tests::stack::DB_USER)
        .sql("select 1")
        .wait_time_seconds(31)
        .send()
        .await
        .unwrap_err();
    let e = refused.as_service_error().unwrap();
    assert!(e.is_validation_exception(), "{e:?}");
    assert_eq!(
        aws_sdk_redshiftdata::error::ProvideErrorMetadata::message(e),
        Some("1 validation error detected: Value at 'waitTimeSeconds' failed to satisfy constraint: Member must have value less than or equal to 30")
    );
    let stats = stack.redshift_stats().await.unwrap();
    assert_eq!(
        stats["calls"]["ExecuteStatement"],
        Value::Null,
        "redshift-local never saw it: {stats}"
    );
    // Within the model, the same call runs.
    let ok = data
        .execute_statement()
        .cluster_identifier(tasker_tests::stack::CLUSTER)
        .database(tasker_tests::stack::DATABASE)
        .db_user(tasker_tests::stack::DB_USER)
        .sql("select 1")
        .wait_time_seconds(30)
        .send()
        .await
        .unwrap();
    assert!(ok.id().is_some());
}
