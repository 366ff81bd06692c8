//! The local stack is the template deployed on moto, and the example state machine is the tested file.

use super::*;

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
