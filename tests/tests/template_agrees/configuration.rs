//! What each function is configured with: exactly the environment its code reads, the target the parameters name, and parameters that admit one user or one secret, never a wildcard.

use super::*;

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
