//! The state table: it and its key outlive the stack, and it has the key, indexes and TTL that `tasker-aws` uses.

use super::*;

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
