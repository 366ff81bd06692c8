//! Request field checks, as the service model bounds each field (patterns, lengths, ranges) and as the service
//! refuses their mixes.

use crate::error::ApiError;

/// `MaxResults`: absent or 0 is the service's page size (`limit`), above `limit` is refused.
pub(super) fn max_results(requested: Option<u32>, limit: u32) -> Result<usize, ApiError> {
    match requested {
        None | Some(0) => Ok(limit as usize),
        Some(n) if n <= limit => Ok(n as usize),
        Some(n) => Err(ApiError::validation(format!(
            "MaxResults: {n} is above {limit}"
        ))),
    }
}

/// `WaitTimeSeconds`: 1 to 30, as the model bounds it.
pub(super) fn wait_seconds(requested: Option<i64>) -> Result<Option<u64>, ApiError> {
    match requested {
        None => Ok(None),
        Some(n @ 1..=30) => Ok(Some(n as u64)),
        Some(n) => Err(ApiError::validation(format!(
            "WaitTimeSeconds: {n} is not between 1 and 30"
        ))),
    }
}

/// `Database`: required and not empty, as every operation that connects needs it.
pub(super) fn required_database(database: Option<String>) -> Result<String, ApiError> {
    database
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::validation("Database: required"))
}

/// The compute target: a cluster (with `DbUser` or `SecretArn`) or a serverless workgroup, never both.
pub(super) fn check_target(
    cluster_identifier: &Option<String>,
    workgroup_name: &Option<String>,
    db_user: &Option<String>,
    secret_arn: &Option<String>,
) -> Result<(), ApiError> {
    match (cluster_identifier, workgroup_name) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "ClusterIdentifier, WorkgroupName: specify only one",
        )),
        (None, None) => Err(ApiError::validation(
            "ClusterIdentifier or WorkgroupName: one is required",
        )),
        (Some(c), None) => {
            check_cluster_identifier(c)?;
            if db_user.is_none() && secret_arn.is_none() {
                return Err(ApiError::validation(
                    "DbUser or SecretArn: one is required for a cluster",
                ));
            }
            Ok(())
        }
        (None, Some(w)) => check_workgroup_name(w),
    }
}

/// A listing's target filter: a cluster or a workgroup (or neither), each as the model bounds it.
pub(super) fn check_target_filter(
    cluster_identifier: &Option<String>,
    workgroup_name: &Option<String>,
) -> Result<(), ApiError> {
    match (cluster_identifier, workgroup_name) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "ClusterIdentifier, WorkgroupName: specify only one",
        )),
        (Some(c), None) => check_cluster_identifier(c),
        (None, Some(w)) => check_workgroup_name(w),
        (None, None) => Ok(()),
    }
}

/// The model's cluster identifier pattern, `[a-z][a-z0-9]*(-[a-z0-9]+)*`, 1 to 63 characters.
fn check_cluster_identifier(c: &str) -> Result<(), ApiError> {
    let pattern_ok = !c.is_empty()
        && c.len() <= 63
        && c.starts_with(|ch: char| ch.is_ascii_lowercase())
        && c.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if pattern_ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "ClusterIdentifier: {c:?} is not a valid cluster identifier"
        )))
    }
}

/// The model's workgroup name length, 3 to 128 characters.
fn check_workgroup_name(w: &str) -> Result<(), ApiError> {
    if w.len() < 3 || w.len() > 128 {
        return Err(ApiError::validation(format!(
            "WorkgroupName: {w:?} must be 3 to 128 characters"
        )));
    }
    Ok(())
}

/// The service's id pattern: `[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d{0,2})?`.
pub(super) fn check_id(id: &str) -> Result<(), ApiError> {
    let (base, sub) = match id.split_once(':') {
        Some((b, s)) => (b, Some(s)),
        None => (id, None),
    };
    let groups: Vec<&str> = base.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && sub.is_none_or(|s| s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Id: {id:?} does not match the statement id pattern"
        )))
    }
}

/// The service's limit on one statement's SQL.
pub(super) const MAX_SQL_BYTES: usize = 100 * 1024;

/// A batch's parameters are shared by its statements, and the service requires each to be used by one of them.
pub(super) fn check_batch_parameters_used(
    parameters: &[(String, String)],
    sqls: &[String],
) -> Result<(), ApiError> {
    let used: Vec<String> = sqls
        .iter()
        .flat_map(|sql| crate::values::placeholders(sql))
        .collect();
    if parameters.iter().all(|(name, _)| used.contains(name)) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "Parameters: each parameter must be referenced by at least one SQL statement of the batch",
        ))
    }
}
