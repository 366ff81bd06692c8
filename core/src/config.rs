//! Deployment configuration, read once at start-up from the environment (docs/design.md, "Configuration").
//!
//! The target database is fixed per deployment and never taken from a payload, so a deployment can only ever act as
//! its own database user.

pub(crate) use crate::error::ConfigError;
use crate::naming::StatementPrefix;
use crate::statement::MAX_WAIT_SECONDS;
pub(crate) use crate::statement::{ClusterAuth, Target};

/// `FAST_PATH_SECONDS`: the starter's default `waitSeconds` (0, the default, turns the fast path off).
pub fn fast_path_seconds(get: impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    match get("FAST_PATH_SECONDS").filter(|v| !v.trim().is_empty()) {
        None => Ok(0),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n <= MAX_WAIT_SECONDS => Ok(n),
            _ => Err(ConfigError(format!(
                "FAST_PATH_SECONDS must be 0 to {}, got {v:?}",
                MAX_WAIT_SECONDS
            ))),
        },
    }
}

impl Target {
    /// Reads `CLUSTER_IDENTIFIER` or `WORKGROUP_NAME`, `DATABASE`, and `DB_USER` or `SECRET_ARN`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let database = get("DATABASE").ok_or_else(|| ConfigError("DATABASE is required".into()))?;
        let secret = get("SECRET_ARN");
        let db_user = get("DB_USER");
        match (get("CLUSTER_IDENTIFIER"), get("WORKGROUP_NAME")) {
            (Some(_), Some(_)) => Err(ConfigError(
                "set only one of CLUSTER_IDENTIFIER and WORKGROUP_NAME".into(),
            )),
            (None, None) => Err(ConfigError(
                "CLUSTER_IDENTIFIER or WORKGROUP_NAME is required".into(),
            )),
            (Some(identifier), None) => {
                let auth = match (db_user, secret) {
                    (Some(_), Some(_)) => {
                        return Err(ConfigError(
                            "set only one of DB_USER and SECRET_ARN for a cluster".into(),
                        ))
                    }
                    (Some(u), None) => ClusterAuth::DbUser(u),
                    (None, Some(s)) => ClusterAuth::SecretArn(s),
                    (None, None) => {
                        return Err(ConfigError("a cluster needs DB_USER or SECRET_ARN".into()))
                    }
                };
                Ok(Target::Cluster {
                    identifier,
                    database,
                    auth,
                })
            }
            (None, Some(name)) => {
                if db_user.is_some() {
                    return Err(ConfigError(
                        "DB_USER applies to clusters only; a workgroup uses SECRET_ARN or IAM"
                            .into(),
                    ));
                }
                Ok(Target::Workgroup {
                    name,
                    database,
                    secret_arn: secret,
                })
            }
        }
    }
}

/// Settings every function shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The state table every function reads and writes.
    pub table_name: String,
    /// Names this deployment's statements and tells ours from others'.
    pub prefix: StatementPrefix,
    /// How long a settled record is kept (DynamoDB TTL).
    pub record_ttl_days: u32,
    /// Age of an unsettled record before the sweeper asks the Data API about it, so it does not race the event.
    pub sweep_grace_seconds: u64,
}

impl Settings {
    /// Default life of a record before DynamoDB's TTL may delete it.
    pub const DEFAULT_TTL_DAYS: u32 = 7;
    /// Default age of a `STARTED` record before the sweeper asks the Data API about it.
    pub const DEFAULT_SWEEP_GRACE_SECONDS: u64 = 300;

    /// Reads `TABLE_NAME`, `STATEMENT_PREFIX`, `RECORD_TTL_DAYS` and `SWEEP_GRACE_SECONDS`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let table_name =
            get("TABLE_NAME").ok_or_else(|| ConfigError("TABLE_NAME is required".into()))?;
        let prefix = get("STATEMENT_PREFIX")
            .ok_or_else(|| ConfigError("STATEMENT_PREFIX is required".into()))?;
        let prefix = StatementPrefix::parse(&prefix)?;
        let record_ttl_days = parse_number(
            get("RECORD_TTL_DAYS"),
            "RECORD_TTL_DAYS",
            Self::DEFAULT_TTL_DAYS,
        )?;
        if record_ttl_days == 0 {
            return Err(ConfigError("RECORD_TTL_DAYS must be at least 1".into()));
        }
        let sweep_grace_seconds = parse_number(
            get("SWEEP_GRACE_SECONDS"),
            "SWEEP_GRACE_SECONDS",
            Self::DEFAULT_SWEEP_GRACE_SECONDS,
        )?;
        Ok(Settings {
            table_name,
            prefix,
            record_ttl_days,
            sweep_grace_seconds,
        })
    }
}

fn parse_number<T: std::str::FromStr>(
    value: Option<String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a whole number, got {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn cluster_with_db_user() {
        let t = Target::from_lookup(lookup(&[
            ("CLUSTER_IDENTIFIER", "c1"),
            ("DATABASE", "dev"),
            ("DB_USER", "etl"),
        ]));
        assert_eq!(
            t.unwrap(),
            Target::Cluster {
                identifier: "c1".into(),
                database: "dev".into(),
                auth: ClusterAuth::DbUser("etl".into())
            }
        );
    }

    #[test]
    fn workgroup_with_iam_and_secret() {
        let t =
            Target::from_lookup(lookup(&[("WORKGROUP_NAME", "wg"), ("DATABASE", "dev")])).unwrap();
        assert!(matches!(
            t,
            Target::Workgroup {
                secret_arn: None,
                ..
            }
        ));
        let t = Target::from_lookup(lookup(&[
            ("WORKGROUP_NAME", "wg"),
            ("DATABASE", "dev"),
            ("SECRET_ARN", "arn:s"),
        ]))
        .unwrap();
        assert!(matches!(
            t,
            Target::Workgroup {
                secret_arn: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn target_errors_name_the_variable() {
        let e = Target::from_lookup(lookup(&[("CLUSTER_IDENTIFIER", "c1")])).unwrap_err();
        assert!(e.0.contains("DATABASE"));
        let e = Target::from_lookup(lookup(&[
            ("CLUSTER_IDENTIFIER", "c"),
            ("WORKGROUP_NAME", "w"),
            ("DATABASE", "d"),
        ]))
        .unwrap_err();
        assert!(e.0.contains("only one"));
        let e = Target::from_lookup(lookup(&[("CLUSTER_IDENTIFIER", "c"), ("DATABASE", "d")]))
            .unwrap_err();
        assert!(e.0.contains("DB_USER or SECRET_ARN"));
    }

    #[test]
    fn settings_defaults_and_bad_numbers() {
        let s = Settings::from_lookup(lookup(&[("TABLE_NAME", "t"), ("STATEMENT_PREFIX", "etl")]))
            .unwrap();
        assert_eq!(s.record_ttl_days, 7);
        assert_eq!(s.sweep_grace_seconds, 300);
        let e = Settings::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("STATEMENT_PREFIX", "etl"),
            ("RECORD_TTL_DAYS", "x"),
        ]))
        .unwrap_err();
        assert!(e.0.contains("RECORD_TTL_DAYS"));
        let e = Settings::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("STATEMENT_PREFIX", "bad_prefix"),
        ]))
        .unwrap_err();
        assert!(e.0.contains("STATEMENT_PREFIX"));
    }
}
