//! The CDK construct (`cdk/`, issue #27) on the local stack: the example app's `cdk synth` output
//! (scripts/check-cdk.sh synthesizes it for the local target, before `cargo test`) deployed on moto's
//! CloudFormation as the SAM template is, its assets published first, and the app's own state machine, whose SQL
//! step is `LambdaInvoke(tasker.lambdaFunction, WAIT_FOR_TASK_TOKEN)`, run to SUCCEEDED.

use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tasker_core::RecordStatus;
use tasker_tests::deploy::Deployment;
use tasker_tests::stack::{
    signed_as, Stack, StackOptions, ACCOUNT, CLUSTER, DATABASE, DB_USER, REGION,
};

const TIMEOUT: Duration = Duration::from_secs(60);
/// The synth's `statementPrefix` context (scripts/check-cdk.sh), and so the stack's name here.
const PREFIX: &str = "tasker-cdk";

fn synthesized() -> PathBuf {
    tasker_tests::workspace_root().join("cdk/cdk.out/SfnRedshiftTaskerExample.template.json")
}

async fn stack() -> Stack {
    Stack::start(StackOptions {
        prefix: PREFIX.into(),
        cdk_template: Some(synthesized()),
        ..Default::default()
    })
    .await
    .expect("the synthesized template deployed on the local stack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_example_apps_state_machine_runs_sql_through_the_construct() {
    let stack = stack().await;
    // The construct's props reached the functions: the synth's context is the local target.
    let (_, starter) = stack.deployment.function("StarterFunctionName").unwrap();
    assert_eq!(starter.environment["CLUSTER_IDENTIFIER"], CLUSTER);
    assert_eq!(starter.environment["DATABASE"], DATABASE);
    assert_eq!(starter.environment["DB_USER"], DB_USER);
    assert_eq!(starter.environment["STATEMENT_PREFIX"], PREFIX);

    let db = stack.sql().await.unwrap();
    db.batch_execute("create table loads(id int)")
        .await
        .unwrap();
    let machine = stack.deployment.output("EtlStateMachineArn").unwrap();
    let run = stack
        .run(
            machine,
            json!({"sql": "insert into loads select generate_series(1, 3)"}),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(run.status, "SUCCEEDED", "{run:?}");
    // The task's output is the starter's answer, under the example's resultPath.
    assert_eq!(run.output["result"]["state"], "FINISHED", "{run:?}");
    assert_eq!(run.output["result"]["rows"], 3, "{run:?}");
    let rows = db
        .query_one("select count(*) from loads", &[])
        .await
        .unwrap();
    assert_eq!(rows.get::<_, i64>(0), 3);
    let records = stack.records(&run.arn).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, RecordStatus::Finished);
    assert_eq!(records[0].state_name.as_deref(), Some("RunSql"));
    assert!(records[0].statement_name.starts_with(&format!("{PREFIX}-")));
}

/// One definition: the construct's stack holds the SAM template's resources under the template's logical ids and
/// types, as a `sam deploy` of infra/sam-template.yaml on the same moto makes them; what differs is the example
/// machine (the SAM app's demo, removed by the construct) and the app's own (its state machine and its role).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_construct_deploys_the_sam_templates_resources() {
    let stack = stack().await;
    let sam = Deployment::deploy(
        &stack.moto.url(),
        "tasker-sam",
        None,
        &[
            ("ClusterIdentifier", CLUSTER.to_string()),
            ("Database", DATABASE.to_string()),
            ("DbUser", DB_USER.to_string()),
            ("DeployExampleStateMachine", "true".to_string()),
        ],
    )
    .await
    .unwrap();
    let by_id = |d: &Deployment| -> BTreeMap<String, String> {
        d.resources
            .iter()
            .map(|(id, r)| (id.clone(), r.resource_type.clone()))
            .collect()
    };
    let (cdk, sam) = (by_id(&stack.deployment), by_id(&sam));
    let only_sam: Vec<_> = sam.keys().filter(|k| !cdk.contains_key(*k)).collect();
    let only_cdk: BTreeMap<_, _> = cdk.iter().filter(|(k, _)| !sam.contains_key(*k)).collect();
    assert_eq!(
        only_sam,
        ["ExampleStateMachine", "ExampleStateMachineRole"],
        "{only_cdk:?}"
    );
    for (id, t) in &cdk {
        if let Some(sam_type) = sam.get(id) {
            assert_eq!(t, sam_type, "{id}");
        }
    }
    let mut app_types: Vec<&str> = only_cdk.values().map(|t| t.as_str()).collect();
    app_types.sort();
    assert_eq!(
        app_types,
        [
            "AWS::IAM::Policy",
            "AWS::IAM::Role",
            "AWS::StepFunctions::StateMachine"
        ],
        "{only_cdk:?}"
    );
    // The functions' code: each CodeUri of the synthesized template is an object of the assets bucket, the zip
    // of that function's `sam build` bootstrap (cdk-assets' publishing, as deploy_template.py does it for moto).
    let synthesized: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(synthesized()).unwrap()).unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&signed_as(&stack.moto.url(), "test", None))
            .force_path_style(true)
            .build(),
    );
    for function in ["StarterFunction", "CompleterFunction", "CancellerFunction"] {
        let key = synthesized["Resources"][function]["Properties"]["CodeUri"]["Key"]
            .as_str()
            .unwrap();
        let object = s3
            .get_object()
            .bucket(format!("cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"))
            .key(key)
            .send()
            .await
            .unwrap();
        let zip = object.body.collect().await.unwrap().into_bytes();
        let bootstrap = tasker_tests::workspace_root()
            .join("target/sam-build")
            .join(function)
            .join("bootstrap");
        let size = std::fs::metadata(&bootstrap).unwrap().len() as usize;
        assert!(zip.starts_with(b"PK\x03\x04"), "{function}: not a zip");
        // The zip's one entry, `bootstrap` (its name right after the 30-byte local header).
        assert_eq!(&zip[30..39], b"bootstrap", "{function}");
        assert!(
            zip.len() > size / 10 && zip.len() < size,
            "{function}: {} of {size} bytes",
            zip.len()
        );
    }
}
