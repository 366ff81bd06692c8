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

mod alarms;
mod configuration;
mod deployed;
mod event_path;
mod grants;
mod table;

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
