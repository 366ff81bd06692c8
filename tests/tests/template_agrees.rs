//! `infra/sam-template.yaml` agrees with the code: the environment each function reads, the rule's prefix, the
//! table's key and indexes, the queue's policy and redrive, and (on the local stack) the IAM actions of each role
//! against the calls each function really makes; and the local stack is the template itself, deployed on moto.

use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tasker_aws::runtime::Function;
use tasker_aws::state_table::{
    BY_EXECUTION_INDEX, BY_STATEMENT_ID_INDEX, KEY, TTL_ATTR, UNSETTLED_ATTR, UNSETTLED_INDEX,
};
use tasker_core::{statement_name, ClusterAuth, ConfigError, EntryKey, RecordStatus, Target};
use tasker_tests::front::{Chaos, FaultKind};
use tasker_tests::stack::{Stack, StackOptions};
use tasker_tests::template::Template;

const CLUSTER: &[(&str, &str)] = &[
    ("ClusterIdentifier", "analytics"),
    ("Database", "dev"),
    ("DbUser", "etl"),
];
const WORKGROUP: &[(&str, &str)] = &[
    ("WorkgroupName", "lake"),
    ("WorkgroupId", "0f5a4a0e-1d6c-4f53-9f0e-4c1f5d0a8b21"),
    ("Database", "dev"),
    (
        "SecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl-AbCdEf",
    ),
];

/// The one execution role of the three functions (statement operations must run as the identity that ran the
/// statement).
const ROLE: &str = "TaskerRole";

/// The functions and the configuration reader each binary's `main` calls.
type ConfigReader = fn(&dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError>;
const FUNCTIONS: &[(&str, &str, ConfigReader)] = &[
    ("StarterFunction", "starter", |get| {
        starter::Starter::config(get).map(drop)
    }),
    ("CompleterFunction", "completer", |get| {
        completer::Completer::config(get).map(drop)
    }),
    ("CancellerFunction", "canceller", |get| {
        canceller::Canceller::config(get).map(drop)
    }),
];

/// Variables read outside the configuration readers (`tasker_aws::runtime`): `RUST_LOG` by the JSON logger,
/// `STACK_NAME` by the metrics recorder (the `Stack` dimension).
const READ_BY_THE_LOGGER: &[&str] = &["RUST_LOG", "STACK_NAME"];

#[test]
fn each_function_is_given_exactly_the_environment_its_code_reads() {
    for params in [CLUSTER, WORKGROUP] {
        let t = Template::load("etl-prod", params).unwrap();
        for (function, _, read) in FUNCTIONS {
            let env = t.environment(function).unwrap();
            let asked = RefCell::new(BTreeSet::new());
            let lookup = |k: &str| {
                asked.borrow_mut().insert(k.to_string());
                env.get(k).cloned()
            };
            read(&lookup)
                .unwrap_or_else(|e| panic!("{function} refuses its template environment: {e}"));
            let mut read_keys = asked.into_inner();
            read_keys.extend(READ_BY_THE_LOGGER.iter().map(|s| s.to_string()));
            let given: BTreeSet<String> = env.keys().cloned().collect();
            assert_eq!(
                given, read_keys,
                "{function}: template environment vs what its code reads"
            );
        }
    }
}

#[test]
fn the_starter_targets_what_the_parameters_name() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let env = t.environment("StarterFunction").unwrap();
    let config = starter::Starter::config(|k| env.get(k).cloned()).unwrap();
    assert_eq!(
        config.target,
        Target::Cluster {
            identifier: "analytics".into(),
            database: "dev".into(),
            auth: ClusterAuth::DbUser("etl".into())
        }
    );
    assert_eq!(config.settings.table_name, "Ref:StateTable");
    assert_eq!(config.settings.record_ttl_days, 7);
    assert_eq!(config.settings.sweep_grace_seconds, 300);
    let t = Template::load("etl-prod", WORKGROUP).unwrap();
    let env = t.environment("StarterFunction").unwrap();
    let config = starter::Starter::config(|k| env.get(k).cloned()).unwrap();
    assert_eq!(
        config.target,
        Target::Workgroup {
            name: "lake".into(),
            database: "dev".into(),
            secret_arn: Some(WORKGROUP[3].1.into())
        }
    );
}

#[test]
fn the_rule_routes_exactly_the_prefix_the_starter_names_statements_with() {
    for (stack, prefix_param, expected) in [
        ("etl-prod", None, "etl-prod"),
        ("etl-prod", Some("nightly"), "nightly"),
    ] {
        let mut params = CLUSTER.to_vec();
        if let Some(p) = prefix_param {
            params.push(("StatementPrefix", p));
        }
        let t = Template::load(stack, &params).unwrap();
        let env = t.environment("StarterFunction").unwrap();
        let config = starter::Starter::config(|k| env.get(k).cloned()).unwrap();
        let prefix = &config.settings.prefix;
        assert_eq!(prefix.as_str(), expected);
        let rule = t.properties("CompletionRule").unwrap();
        let pattern = &rule["EventPattern"];
        assert_eq!(pattern["source"], json!(["aws.redshift-data"]));
        // Only this account's statements: another account's forwarded events never match.
        assert_eq!(pattern["account"], json!([tasker_tests::template::ACCOUNT]));
        assert_eq!(
            pattern["detail-type"],
            json!(["Redshift Data Statement Status Change"])
        );
        let rule_prefix = pattern["detail"]["statementName"][0]["prefix"]
            .as_str()
            .unwrap();
        assert_eq!(rule_prefix, format!("{expected}-"));
        let name = statement_name(
            prefix,
            &EntryKey {
                execution_arn: Some("arn:aws:states:us-east-1:123456789012:execution:sm:x"),
                state_name: Some("RunSql"),
                state_entered_time: Some("2026-11-25T12:00:00.000Z"),
                sql_digest: "00",
                attempt: None,
            },
        );
        assert!(
            name.starts_with(rule_prefix),
            "{name} is routed by {rule_prefix}"
        );
        assert!(prefix.owns(&name));
    }
}

/// The target parameters name one database user or one secret, never a wildcard: `DbUser=*` would let the role get
/// credentials for every database user (superusers included), `secret:*` read every secret of the account. The
/// patterns are the template's own `AllowedPattern`s, which CloudFormation enforces at deploy time.
#[test]
fn the_target_parameters_admit_one_user_or_one_secret_never_a_wildcard() {
    let text =
        std::fs::read_to_string(tasker_tests::workspace_root().join("infra/sam-template.yaml"))
            .unwrap();
    let root: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let pattern = |p: &str| {
        let p = root["Parameters"][p]["AllowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{p}: no AllowedPattern"));
        regex::Regex::new(p).unwrap()
    };
    let user = pattern("DbUser");
    for ok in ["", "etl", "etl_loader$1", "_x"] {
        assert!(user.is_match(ok), "{ok}");
    }
    for bad in ["*", "etl*", "a b", "1etl"] {
        assert!(!user.is_match(bad), "{bad}");
    }
    let secret = pattern("SecretArn");
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret";
    for ok in [String::new(), format!("{arn}:etl/redshift-AbC123")] {
        assert!(secret.is_match(&ok), "{ok}");
    }
    for bad in [format!("{arn}:*"), format!("{arn}:etl*"), "*".to_string()] {
        assert!(!secret.is_match(&bad), "{bad}");
    }
}

/// Deleting the stack keeps the table (its records are the audit of what ran) and the key that encrypts it and its
/// backups: a deleted key would make the retained table unreadable (cfn-lint's I3011, run with the informational
/// rules by scripts/check-infra.sh, asks every stateful resource for an explicit policy).
#[test]
fn the_table_and_its_key_outlive_the_stack() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    for resource in ["StateTable", "Key"] {
        let raw = t.resource(resource).unwrap();
        assert_eq!(raw["DeletionPolicy"], "Retain", "{resource}");
        assert_eq!(raw["UpdateReplacePolicy"], "Retain", "{resource}");
    }
}

#[test]
fn the_table_has_the_key_indexes_and_ttl_the_code_uses() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let table = t.properties("StateTable").unwrap();
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": KEY, "KeyType": "HASH"}])
    );
    let index = |name: &str| -> Value {
        table["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["IndexName"] == name)
            .unwrap_or_else(|| panic!("no index {name}"))["KeySchema"]
            .clone()
    };
    assert_eq!(
        index(BY_EXECUTION_INDEX),
        json!([{"AttributeName": "executionArn", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}])
    );
    assert_eq!(
        index(UNSETTLED_INDEX),
        json!([{"AttributeName": UNSETTLED_ATTR, "KeyType": "HASH"}, {"AttributeName": "updatedAt", "KeyType": "RANGE"}])
    );
    assert_eq!(
        index(BY_STATEMENT_ID_INDEX),
        json!([{"AttributeName": "statementId", "KeyType": "HASH"}])
    );
    assert_eq!(table["GlobalSecondaryIndexes"].as_array().unwrap().len(), 3);
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": TTL_ATTR, "Enabled": true})
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["KMSMasterKeyId"], "Ref:Key");
}

#[test]
fn the_queue_admits_only_the_rule_and_outlives_a_claim() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let policy = t.properties("EventQueuePolicy").unwrap();
    assert_eq!(policy["Queues"], json!(["Ref:EventQueue"]));
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    let (allow, deny) = (&statements[0], &statements[1]);
    assert_eq!(allow["Effect"], "Allow");
    assert_eq!(
        allow["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(allow["Action"], "sqs:SendMessage");
    assert_eq!(
        allow["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": "GetAtt:CompletionRule.Arn"}})
    );
    // Everyone else, in-account principals included, is denied: nobody can forge a completion event.
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(deny["Action"], "sqs:SendMessage");
    assert_eq!(
        deny["Condition"],
        json!({"ArnNotEquals": {"aws:SourceArn": "GetAtt:CompletionRule.Arn"}})
    );
    let rule = t.properties("CompletionRule").unwrap();
    // The key lets EventBridge encrypt for this rule only, named by the ARN its fixed name gives.
    assert_eq!(rule["Name"], "etl-prod-statement-completions");
    let key_policy = &t.properties("Key").unwrap()["KeyPolicy"]["Statement"];
    let services: Vec<&Value> = key_policy
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Principal"].get("Service"))
        .collect();
    assert!(
        !services.iter().any(|s| *s == "sqs.amazonaws.com"),
        "no grant to SQS: {services:?}"
    );
    let events = key_policy
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"] == "events.amazonaws.com")
        .unwrap();
    assert_eq!(
        events["Condition"]["ArnEquals"]["aws:SourceArn"],
        "arn:aws:events:us-east-1:123456789012:rule/etl-prod-statement-completions"
    );
    assert_eq!(rule["Targets"].as_array().unwrap().len(), 1);
    assert_eq!(rule["Targets"][0]["Arn"], "GetAtt:EventQueue.Arn");

    let queue = t.properties("EventQueue").unwrap();
    assert_eq!(queue["KmsMasterKeyId"], "Ref:Key");
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        "GetAtt:DeadLetterQueue.Arn"
    );
    assert_eq!(
        t.properties("DeadLetterQueue").unwrap()["KmsMasterKeyId"],
        "Ref:Key"
    );
    let completer = t.properties("CompleterFunction").unwrap();
    let timeout = completer["Timeout"].as_i64().unwrap();
    let visibility = queue["VisibilityTimeout"].as_i64().unwrap();
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} s vs completer timeout {timeout} s"
    );
    assert!(
        tasker_core::completer::CLAIM_LEASE.num_seconds() > timeout,
        "a claim must outlive the invocation that made it"
    );
    let source = &completer["Events"]["Completions"]["Properties"];
    assert_eq!(source["Queue"], "GetAtt:EventQueue.Arn");
    assert_eq!(
        source["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(completer["Events"]["Sweep"]["Type"], "Schedule");
    let key = t.properties("Key").unwrap();
    assert_eq!(key["EnableKeyRotation"], true);
}

#[test]
fn every_function_is_arm64_cargo_lambda_with_the_shared_role_and_a_log_group_of_its_own() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let functions = t.resources_of_type("AWS::Serverless::Function");
    assert_eq!(functions.len(), FUNCTIONS.len());
    assert_eq!(t.resources_of_type("AWS::IAM::Role").len(), 1, "one role");
    for (function, binary, _) in FUNCTIONS {
        let raw = t.resource(function).unwrap();
        let meta = &raw["Metadata"];
        assert_eq!(meta["BuildMethod"].as_str(), Some("rust-cargolambda"));
        assert_eq!(meta["BuildProperties"]["Binary"].as_str(), Some(*binary));
        let p = t.properties(function).unwrap();
        assert_eq!(p["Role"], format!("GetAtt:{ROLE}.Arn"));
        let log_group = p["LoggingConfig"]["LogGroup"].as_str().unwrap().to_string();
        let group = t.properties(log_group.trim_start_matches("Ref:")).unwrap();
        assert_eq!(group["KmsKeyId"], "GetAtt:Key.Arn");
        assert!(group["LogGroupName"].as_str().unwrap().ends_with(binary));
    }
    let starter = t.properties("StarterFunction").unwrap();
    assert_eq!(starter["ReservedConcurrentExecutions"], "40");
}

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

#[test]
fn every_alarm_watches_a_metric_the_code_emits_or_one_aws_gives() {
    use tasker_core::metrics::{ALL, NAMESPACE, OUTCOME, STACK_DIMENSION};
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let alarms = t.resources_of_type("AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 6, "{alarms:?}");
    let mut ours = BTreeSet::new();
    for alarm in &alarms {
        let p = t.properties(alarm).unwrap();
        let metric = p["MetricName"].as_str().unwrap().to_string();
        let dimensions: BTreeMap<String, Value> = p["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["Name"].as_str().unwrap().to_string(), d["Value"].clone()))
            .collect();
        match p["Namespace"].as_str().unwrap() {
            ns if ns == NAMESPACE => {
                assert!(
                    ALL.contains(&metric.as_str()),
                    "{alarm}: {metric} is not emitted"
                );
                assert_eq!(dimensions[STACK_DIMENSION], "etl-prod", "{alarm}");
                for name in dimensions.keys() {
                    assert!(
                        [STACK_DIMENSION, OUTCOME].contains(&name.as_str()),
                        "{alarm}: dimension {name}"
                    );
                }
                ours.insert(metric);
            }
            "AWS/SQS" => assert_eq!(
                (metric.as_str(), &dimensions["QueueName"]),
                (
                    "ApproximateNumberOfMessagesVisible",
                    &json!("GetAtt:DeadLetterQueue.QueueName")
                )
            ),
            "AWS/Lambda" => assert_eq!(metric, "Errors"),
            other => panic!("{alarm}: namespace {other}"),
        }
        assert_eq!(p["TreatMissingData"], "notBreaching", "{alarm}");
    }
    let watched: BTreeSet<&str> =
        ["StatementsSettled", "SettledBySweeper", "CallbackLatency"].into();
    assert_eq!(
        ours.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        watched
    );
    // The functions name the stack the recorder puts in the `Stack` dimension.
    for (function, _, _) in FUNCTIONS {
        assert_eq!(t.environment(function).unwrap()["STACK_NAME"], "etl-prod");
    }
    // No batching window: a callback waits for no batch to fill.
    let completer = t.properties("CompleterFunction").unwrap();
    assert!(completer["Events"]["Completions"]["Properties"]
        .get("MaximumBatchingWindowInSeconds")
        .is_none());
}

#[test]
fn the_example_state_machine_is_the_tested_file_with_every_substitution_filled() {
    let t = Template::load("etl-prod", CLUSTER).unwrap();
    let raw = t.resource("ExampleStateMachine").unwrap();
    assert_eq!(raw["Condition"].as_str(), Some("DeployExample"));
    let sm = t.properties("ExampleStateMachine").unwrap();
    let uri = sm["DefinitionUri"].as_str().unwrap();
    let path = tasker_tests::workspace_root().join("infra").join(uri);
    let definition = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<Value>(&definition).expect("the definition is JSON");
    let filled: BTreeSet<&str> = sm["DefinitionSubstitutions"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let used: BTreeSet<&str> = definition
        .split("${")
        .skip(1)
        .filter_map(|s| s.split('}').next())
        .collect();
    assert_eq!(used, filled);
    assert!(!t.condition("DeployExample").unwrap(), "off by default");
    assert!(Template::load(
        "etl-prod",
        &[CLUSTER, &[("DeployExampleStateMachine", "true")]].concat()
    )
    .unwrap()
    .condition("DeployExample")
    .unwrap());
}

/// The local stack is the template deployed on moto's CloudFormation (`local/deploy_template.py`): every resource
/// the template declares is there, checked through the services' own APIs, and the outputs name them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_stack_is_the_template_deployed() {
    let stack = Stack::start(StackOptions {
        prefix: "deployed".into(),
        poll: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let d = &stack.deployment;
    // Every resource of the translated template, by type (the alarms and the queue policy through the APIs,
    // which moto's CloudFormation skips).
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for r in d.resources.values() {
        assert!(!r.physical_id.is_empty() || r.resource_type == "AWS::Lambda::Permission");
        *types.entry(r.resource_type.clone()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("AWS::KMS::Key", 1),
        ("AWS::KMS::Alias", 1),
        ("AWS::DynamoDB::Table", 1),
        ("AWS::SQS::Queue", 2),
        ("AWS::SQS::QueuePolicy", 1),
        ("AWS::Events::Rule", 2),
        ("AWS::Logs::LogGroup", 3),
        ("AWS::IAM::Role", 2),
        ("AWS::Lambda::Function", 3),
        ("AWS::Lambda::EventSourceMapping", 1),
        ("AWS::Lambda::Permission", 1),
        ("AWS::StepFunctions::StateMachine", 1),
        ("AWS::CloudWatch::Alarm", 7),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(types, expected);

    // The table, with the three indexes, named by the output.
    let table = d.output("StateTableName").unwrap();
    assert_eq!(stack.table, table);
    let described = stack
        .dynamodb()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<String> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .map(|i| i.index_name().unwrap().to_string())
        .collect();
    indexes.sort();
    let mut want = vec![BY_EXECUTION_INDEX, BY_STATEMENT_ID_INDEX, UNSETTLED_INDEX];
    want.sort();
    assert_eq!(indexes, want);

    // The event queue redrives to the DLQ, and the completion rule sends only this prefix's events to it.
    let attrs = stack
        .sqs()
        .get_queue_attributes()
        .queue_url(&stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let redrive: Value =
        serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .contains("DeadLetterQueue"),
        "{redrive}"
    );
    // moto leaves `Policy` out of `All`: asked for by name.
    let policy = stack
        .sqs()
        .get_queue_attributes()
        .queue_url(&stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    let policy = &policy.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::Policy];
    assert!(
        policy.contains("OnlyTheCompletionRule") && policy.contains("Deny"),
        "{policy}"
    );
    let events = aws_sdk_eventbridge::Client::new(&stack.sdk);
    let rule = events
        .describe_rule()
        .name("deployed-statement-completions")
        .send()
        .await
        .unwrap();
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    assert_eq!(
        pattern["detail"]["statementName"],
        json!([{"prefix": "deployed-"}])
    );
    let targets = events
        .list_targets_by_rule()
        .rule("deployed-statement-completions")
        .send()
        .await
        .unwrap();
    assert_eq!(
        targets.targets()[0].arn(),
        d.output("EventQueueArn").unwrap()
    );

    // The functions, their event source mapping and schedule, and the example state machine with its
    // substitutions filled.
    assert_eq!(d.wiring.functions.len(), 3);
    let (completer, _) = d.function("CompleterFunctionName").unwrap();
    let mapping = &d.wiring.event_source_mappings[0];
    assert_eq!(mapping.function_name, completer);
    assert_eq!(
        (mapping.batch_size, mapping.batching_window_seconds),
        (10, 0)
    );
    assert!(mapping.report_batch_item_failures);
    let schedule = &d.wiring.schedules[0];
    assert_eq!(
        (
            schedule.function_name.as_str(),
            schedule.schedule_expression.as_str()
        ),
        (completer, "rate(5 minutes)")
    );
    assert_eq!(schedule.input, json!({"sweep": true}));
    let example = stack
        .sfn()
        .describe_state_machine()
        .state_machine_arn(d.output("ExampleStateMachineArn").unwrap())
        .send()
        .await
        .unwrap();
    assert!(example
        .definition()
        .contains(d.output("StarterFunctionArn").unwrap()));
    assert!(!example.definition().contains("${"));
}
