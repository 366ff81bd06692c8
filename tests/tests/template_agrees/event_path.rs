//! The completion event's path: the rule routes exactly the starter's prefix, the queue admits only the rule and outlives a claim.

use super::*;

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
