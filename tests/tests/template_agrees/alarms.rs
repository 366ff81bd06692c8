//! Every alarm watches a metric the code emits, or one AWS gives.

use super::*;

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
