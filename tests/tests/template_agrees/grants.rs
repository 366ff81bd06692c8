//! Least privilege: on the local stack, each role's actions equal the calls its functions really make on every path, minus named platform actions.

use super::*;

/// Actions the role holds for the platform, not for calls the functions' code makes, each with why.
fn platform_actions() -> BTreeSet<&'static str> {
    [
        // Lambda writes the function's logs to its own log group.
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        // DynamoDB uses the table's customer managed key on the function's behalf (kms:ViaService).
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        // The Data API authenticates the statements as the database user, the secret or IAM.
        "redshift:GetClusterCredentials",
        "secretsmanager:GetSecretValue",
        "redshift-serverless:GetCredentials",
        // Lambda's SQS event source mapping polls the encrypted queue with the completer's role.
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    ]
    .into()
}

/// The IAM action of a call the front saw: `DynamoDB_20120810.PutItem` -> `dynamodb:PutItem`.
fn iam_action(operation: &str) -> Option<String> {
    let (target, op) = operation.split_once('.')?;
    let service = match target {
        "DynamoDB_20120810" => "dynamodb",
        "RedshiftData" => "redshift-data",
        "AWSStepFunctions" => "states",
        _ => return None,
    };
    Some(format!("{service}:{op}"))
}

/// What a role's policies grant: every action, the table indexes its resources name, and the DynamoDB actions
/// granted on the table itself (as opposed to its indexes).
struct Granted {
    actions: BTreeSet<String>,
    indexes: BTreeSet<String>,
    on_table: BTreeSet<String>,
}

fn role_actions(t: &Template, role: &str) -> Granted {
    let p = t.properties(role).unwrap();
    let mut actions = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    let mut on_table = BTreeSet::new();
    for policy in p["Policies"].as_array().unwrap() {
        for s in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            assert_eq!(s["Effect"], "Allow");
            let listed: Vec<String> = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                other => panic!("{role}: action {other}"),
            };
            let resources = match &s["Resource"] {
                Value::Array(r) => r.clone(),
                r => vec![r.clone()],
            };
            if resources.contains(&json!("GetAtt:StateTable.Arn")) {
                on_table.extend(
                    listed
                        .iter()
                        .filter(|a| a.starts_with("dynamodb:"))
                        .cloned(),
                );
            }
            actions.extend(listed);
            for r in resources {
                if let Some(i) = r.as_str().and_then(|r| r.split("/index/").nth(1)) {
                    indexes.insert(i.to_string());
                }
            }
        }
    }
    Granted {
        actions,
        indexes,
        on_table,
    }
}

/// Runs every path of the three functions on the local stack, each signing as itself, and compares the calls
/// each one made (its IAM actions, and the indexes its queries used) with its role in the template: nothing
/// missing, nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_role_allows_exactly_the_calls_its_function_makes() {
    let stack = Stack::start(StackOptions {
        sweep_grace_seconds: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let token = |n: &str| format!("gone-token-{n}");
    let exec = |n: &str| format!("arn:aws:states:us-east-1:123456789012:execution:iam:{n}");
    let start = |n: &str, extra: Value| {
        let mut p = json!({"taskToken": token(n), "executionArn": exec(n), "stateName": "RunSql",
                           "stateEnteredTime": "2026-11-25T12:00:00.000Z"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let settled = |n: &'static str| {
        let stack = &stack;
        async move {
            stack
                .settled(&exec(n), Duration::from_secs(30))
                .await
                .unwrap()
                .status
        }
    };

    // A statement with rows to return, a batch and a failing one: the completer reads results, describes the
    // failure, calls back (the tokens are gone, so it follows them and settles ORPHANED).
    for (n, extra) in [
        (
            "rows",
            json!({"sqlStatement": "select 1 as one", "resultRows": 5}),
        ),
        (
            "batch",
            json!({"sqlStatements": ["create temp table t (i int)", "insert into t values (1)"]}),
        ),
        ("fails", json!({"sqlStatement": "select 1/0"})),
        (
            "single",
            json!({"sqlStatement": "select pg_sleep(0.5)", "singleton": true}),
        ),
    ] {
        stack.starter.handle(&start(n, extra)).await.unwrap();
    }
    // The same singleton SQL while the first runs: the starter reads the lock owner's record and refuses.
    let refused = stack
        .starter
        .handle(&start(
            "single2",
            json!({"sqlStatement": "select pg_sleep(0.5)", "singleton": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type(), "ConcurrentExecution");
    for n in ["rows", "batch", "fails", "single"] {
        assert_eq!(settled(n).await, RecordStatus::Orphaned, "{n}");
    }
    // Retried starts of settled statements answer their new tokens from the starter.
    for (n, extra) in [
        (
            "rows",
            json!({"sqlStatement": "select 1 as one", "resultRows": 5}),
        ),
        ("fails", json!({"sqlStatement": "select 1/0"})),
    ] {
        let mut p = start(n, extra);
        p["taskToken"] = json!(format!("retry-{}", token(n)));
        stack.starter.handle(&p).await.unwrap();
    }
    // The seed's actions, by LATEST and by id (checked against the statement-id index).
    for action in ["describeStatement", "getStatementResult", "cancelStatement"] {
        let _ = stack
            .starter
            .handle(
                &json!({"action": action, "statementId": "LATEST", "executionArn": exec("rows")}),
            )
            .await;
    }
    let id = stack.records(&exec("rows")).await.unwrap()[0]
        .statement_id
        .clone()
        .unwrap();
    stack
        .starter
        .handle(&json!({"action": "describeStatement", "statementId": id}))
        .await
        .unwrap();
    // A start whose ExecuteStatement answer was lost finds its statement by name (ListStatements)...
    stack.front.chaos(Chaos {
        operation: "RedshiftData.ExecuteStatement".into(),
        principal: "starter".into(),
        probability: 1.0,
        kind: FaultKind::LostResponse,
        burst: 3,
    });
    stack
        .starter
        .handle(&start("answer-lost", json!({"sqlStatement": "select 4"})))
        .await
        .unwrap();
    stack.front.calm();
    assert_eq!(settled("answer-lost").await, RecordStatus::Orphaned);
    // ...and one whose STARTED write failed still succeeds; the completer checks its event by name.
    stack.front.chaos(Chaos {
        operation: "DynamoDB_20120810.UpdateItem".into(),
        principal: "starter".into(),
        probability: 1.0,
        kind: FaultKind::Refused,
        burst: 100,
    });
    stack
        .starter
        .handle(&start("unmarked", json!({"sqlStatement": "select 5"})))
        .await
        .unwrap();
    stack.front.calm();
    assert_eq!(settled("unmarked").await, RecordStatus::Orphaned);
    // A singleton whose start failed gives its lock back.
    stack.front.inject("RedshiftData.ExecuteStatement", &[403]);
    let failed = stack
        .starter
        .handle(&start(
            "refused",
            json!({"sqlStatement": "select 6", "singleton": true}),
        ))
        .await
        .unwrap_err();
    assert_eq!(failed.error_type(), "AccessDeniedException");
    // A lost event is settled by the sweeper.
    stack.event_faults(redshift_local::EventFaults {
        drop_next: 1,
        ..Default::default()
    });
    stack
        .starter
        .handle(&start("lost", json!({"sqlStatement": "select 3"})))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack
        .completer
        .handle(&json!({"sweep": true}))
        .await
        .unwrap();
    assert_eq!(settled("lost").await, RecordStatus::Orphaned);
    // A slow statement cancelled by the canceller.
    stack
        .starter
        .handle(&start(
            "slow",
            json!({"sqlStatement": "select pg_sleep(30)", "singleton": true}),
        ))
        .await
        .unwrap();
    let cancelled = stack
        .canceller
        .handle(&json!({"executionArn": exec("slow")}))
        .await
        .unwrap();
    assert_eq!(
        cancelled["cancelled"].as_array().map(Vec::len),
        Some(1),
        "{cancelled}"
    );

    // The functions' calls (the tests' own, signed `test`, do not count), all made under the one role.
    let mut called = BTreeSet::new();
    let mut used_indexes = BTreeSet::new();
    let mut used_on_table = BTreeSet::new();
    let mut by_function: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for call in stack.front.calls() {
        let Some(action) = iam_action(&call.operation) else {
            continue;
        };
        if !FUNCTIONS.iter().any(|(_, name, _)| *name == call.principal) {
            continue;
        }
        by_function
            .entry(call.principal.clone())
            .or_default()
            .insert(action.clone());
        match call.body["IndexName"].as_str() {
            Some(i) => {
                used_indexes.insert(i.to_string());
            }
            None if action.starts_with("dynamodb:") => {
                used_on_table.insert(action.clone());
            }
            None => {}
        }
        called.insert(action);
    }
    assert_eq!(
        by_function.len(),
        3,
        "every function made calls: {by_function:?}"
    );
    let t = Template::load("tasker-test", CLUSTER).unwrap();
    let granted = role_actions(&t, ROLE);
    let platform = platform_actions();
    let for_code: BTreeSet<String> = granted
        .actions
        .iter()
        .filter(|a| !platform.contains(a.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        for_code, called,
        "{ROLE}: granted (left) vs called by the functions (right)"
    );
    assert_eq!(
        granted.indexes, used_indexes,
        "{ROLE}: indexes granted vs queried"
    );
    assert_eq!(
        granted.on_table, used_on_table,
        "{ROLE}: actions granted on the table itself vs made on it (queries go to indexes)"
    );
}
