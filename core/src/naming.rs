//! Deterministic statement names (docs/design.md, "Statement names").
//!
//! The name is both the Data API `StatementName` and its `ClientToken`, so a retried start of the same state entry
//! maps to the same statement and can never run the SQL twice. It is `PREFIX-<32 hex>`: at most 64 characters
//! (the `ClientToken` limit), only `[A-Za-z0-9-]`, and safe in an EventBridge `prefix` pattern.

use crate::error::ConfigError;
use crate::statement::SqlText;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Hex characters of the hash part: 128 bits, far from any collision in a deployment's lifetime.
pub(crate) const HASH_CHARS: usize = 32;
/// Longest prefix that keeps the name within the Data API's 64-character `ClientToken`.
pub(crate) const MAX_PREFIX_LEN: usize = 64 - 1 - HASH_CHARS;

/// A validated `STATEMENT_PREFIX`: the deployment's namespace for statement names and event routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPrefix(String);

impl StatementPrefix {
    /// Checks the prefix at start-up, so that a bad one fails the deployment, not the first statement.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let ok_chars = raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if raw.is_empty()
            || raw.len() > MAX_PREFIX_LEN
            || !ok_chars
            || raw.starts_with('-')
            || raw.ends_with('-')
        {
            return Err(ConfigError(format!(
                "STATEMENT_PREFIX must be 1 to {MAX_PREFIX_LEN} characters of [A-Za-z0-9-], not starting or \
                 ending with '-', got {raw:?}"
            )));
        }
        Ok(StatementPrefix(raw.to_string()))
    }

    /// The prefix as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a statement name was made by this deployment: the exact shape, not a mere prefix match, so that a
    /// deployment `etl` never claims the statements of a deployment `etl-dev`.
    pub fn owns(&self, name: &str) -> bool {
        name.strip_prefix(self.0.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hash| {
                hash.len() == HASH_CHARS
                    && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
    }
}

/// What identifies one state entry's statement: the same inputs give the same name on every retry.
#[derive(Debug, Clone, Copy)]
pub struct EntryKey<'a> {
    /// Separates executions.
    pub execution_arn: Option<&'a str>,
    /// Separates the SQL states of one execution.
    pub state_name: Option<&'a str>,
    /// Separates entries of one state (loops, retries of a new entry), and makes a retry find its statement.
    pub state_entered_time: Option<&'a str>,
    /// Separates `Map` iterations that run different SQL or parameters.
    pub sql_digest: &'a str,
    /// What tells invocations apart when the payload does not identify the state entry (no
    /// `stateEnteredTime`): the task token, new on every attempt, or the invocation's own id. `None` with
    /// `stateEnteredTime`, so that every retry of the entry gets the same name.
    pub attempt: Option<&'a str>,
}

impl<'a> EntryKey<'a> {
    /// The key of a start: deterministic with `stateEnteredTime`; otherwise unique to this attempt (its task
    /// token) or, without one, to this invocation, as the seed's statements were.
    pub fn for_start(
        execution_arn: Option<&'a str>,
        state_name: Option<&'a str>,
        state_entered_time: Option<&'a str>,
        sql_digest: &'a str,
        task_token: Option<&'a str>,
        invocation_id: &'a str,
    ) -> Self {
        let attempt = match state_entered_time {
            Some(_) => None,
            None => Some(task_token.unwrap_or(invocation_id)),
        };
        EntryKey {
            execution_arn,
            state_name,
            state_entered_time,
            sql_digest,
            attempt,
        }
    }
}

/// SHA-256 (hex) over the SQL text(s) and parameters. Stored instead of the SQL, and the key of the singleton lock.
pub fn sql_digest(sql: &SqlText, parameters: &BTreeMap<String, String>) -> String {
    // A JSON array is an unambiguous encoding: no choice of texts can make two different inputs collide.
    let canonical = match sql {
        SqlText::Single(s) => serde_json::json!(["single", s, parameters]),
        SqlText::Batch(list) => serde_json::json!(["batch", list, parameters]),
    };
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The statement name for one state entry.
pub fn statement_name(prefix: &StatementPrefix, key: &EntryKey<'_>) -> String {
    let canonical = serde_json::json!([
        key.execution_arn,
        key.state_name,
        key.state_entered_time,
        key.sql_digest,
        key.attempt
    ]);
    let hash = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
    format!("{}-{}", prefix.as_str(), &hash[..HASH_CHARS])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key<'a>(arn: &'a str, state: Option<&'a str>, digest: &'a str) -> EntryKey<'a> {
        EntryKey::for_start(
            Some(arn),
            state,
            Some("2026-11-25T12:00:00.000Z"),
            digest,
            Some("token"),
            "invocation",
        )
    }

    #[test]
    fn prefix_rules() {
        assert!(StatementPrefix::parse("etl-prod").is_ok());
        assert!(StatementPrefix::parse(&"a".repeat(MAX_PREFIX_LEN)).is_ok());
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a b",
            "ä",
            &"a".repeat(MAX_PREFIX_LEN + 1),
        ] {
            assert!(StatementPrefix::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn name_is_deterministic_and_distinguishes_entries() {
        let p = StatementPrefix::parse("etl").unwrap();
        let a = statement_name(&p, &key("arn:1", Some("Load"), "d1"));
        assert_eq!(a, statement_name(&p, &key("arn:1", Some("Load"), "d1")));
        assert_ne!(a, statement_name(&p, &key("arn:1", Some("Other"), "d1")));
        assert_ne!(a, statement_name(&p, &key("arn:1", Some("Load"), "d2")));
        assert_ne!(a, statement_name(&p, &key("arn:2", Some("Load"), "d1")));
        assert_ne!(a, statement_name(&p, &key("arn:1", None, "d1")));
        assert!(p.owns(&a));
    }

    #[test]
    fn without_entered_time_each_attempt_is_its_own_statement() {
        let p = StatementPrefix::parse("etl").unwrap();
        let k = |token, invocation| {
            statement_name(
                &p,
                &EntryKey::for_start(Some("arn"), None, None, "d", token, invocation),
            )
        };
        assert_ne!(k(Some("t1"), "i"), k(Some("t2"), "i"));
        assert_ne!(k(None, "i1"), k(None, "i2"));
        // With stateEnteredTime the token does not count: a retry finds the same statement.
        let entered = |token| {
            statement_name(
                &p,
                &EntryKey::for_start(Some("arn"), None, Some("T"), "d", token, "i"),
            )
        };
        assert_eq!(entered(Some("t1")), entered(Some("t2")));
    }

    #[test]
    fn owns_is_exact() {
        let etl = StatementPrefix::parse("etl").unwrap();
        let dev = StatementPrefix::parse("etl-dev").unwrap();
        let dev_name = statement_name(&dev, &key("arn", None, "d"));
        assert!(dev.owns(&dev_name));
        assert!(
            !etl.owns(&dev_name),
            "etl must not claim etl-dev's statements"
        );
        assert!(!etl.owns("etl-xyz"));
    }

    #[test]
    fn digest_covers_sql_and_parameters() {
        let p1: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        let p2: BTreeMap<String, String> = [("a".to_string(), "2".to_string())].into();
        let s = SqlText::Single("select :a".into());
        assert_ne!(sql_digest(&s, &p1), sql_digest(&s, &p2));
        assert_ne!(
            sql_digest(&SqlText::Single("a;b".into()), &BTreeMap::new()),
            sql_digest(
                &SqlText::Batch(vec!["a".into(), "b".into()]),
                &BTreeMap::new()
            )
        );
        assert_eq!(sql_digest(&s, &p1).len(), 64);
    }

    proptest! {
        #[test]
        fn names_always_fit_the_client_token(prefix in "[A-Za-z0-9]([A-Za-z0-9-]{0,29}[A-Za-z0-9])?", arn in ".*", state in proptest::option::of(".*")) {
            let p = StatementPrefix::parse(&prefix).unwrap();
            let name = statement_name(&p, &EntryKey { execution_arn: Some(&arn), state_name: state.as_deref(), state_entered_time: None, sql_digest: "d", attempt: Some("t") });
            prop_assert!(name.len() <= 64);
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            prop_assert!(p.owns(&name));
        }
    }
}
