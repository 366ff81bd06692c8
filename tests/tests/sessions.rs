//! Sessions across states (what Airflow offers as `session_id`): a state starts a Data API session with
//! `sessionKeepAliveSeconds` and returns its `sessionId`; a later state passes it and runs on the same connection,
//! so a temporary table of the first is read by the second.

use serde_json::json;
use std::time::Duration;
use tasker_tests::asl::{machine, sql_state};
use tasker_tests::stack::{Stack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_states_share_a_temporary_table_through_a_session() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let mut create = sql_state(
        json!({"sqlStatement": "create temp table staged as select 42 as x", "sessionKeepAliveSeconds": 60}),
        "Read",
    );
    create["ResultPath"] = json!("$.create");
    let mut read = sql_state(
        json!({"sqlStatement": "select x from staged", "sessionId.$": "$.create.sessionId", "resultRows": 1}),
        "Done",
    );
    read["ResultPath"] = json!("$.read");
    let definition = machine(json!({"Create": create, "Read": read}), "Create");
    let sm = stack
        .create_state_machine("sessions", &definition)
        .await
        .unwrap();
    let run = stack
        .run(&sm, json!({}), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    let session = run.output["create"]["sessionId"]
        .as_str()
        .expect("a sessionId");
    assert_eq!(run.output["read"]["sessionId"], session);
    assert_eq!(run.output["read"]["records"], json!([{"x": 42}]));
}
