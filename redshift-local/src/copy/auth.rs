//! The authorization a `COPY` or `UNLOAD` carries (`IAM_ROLE` or `CREDENTIALS`), checked for form only: there is
//! no IAM locally, and the moto S3 accepts any signature.

use super::error::CopyError;
use sqlparser::ast::IamRoleKind;

/// Checks an `IAM_ROLE` value: `default`, or one or more role ARNs separated by commas (role chaining).
fn check_iam_role(role: &IamRoleKind) -> Result<(), CopyError> {
    match role {
        IamRoleKind::Default => Ok(()),
        IamRoleKind::Arn(arns) if arns.split(',').all(is_role_arn) => Ok(()),
        IamRoleKind::Arn(_) => Err(CopyError::InvalidCredentials),
    }
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/name>`.
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":iam::") else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":role/") else {
        return false;
    };
    matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// Checks a `CREDENTIALS` string: `aws_iam_role=<arn>` or access keys (with an optional token).
fn check_credentials(credentials: &str) -> Result<(), CopyError> {
    let pairs: Option<Vec<(&str, &str)>> = credentials
        .split(';')
        .map(|p| p.split_once('=').filter(|(_, v)| !v.is_empty()))
        .collect();
    let ok = match pairs.as_deref() {
        Some([("aws_iam_role", arn)]) => check_iam_role(&IamRoleKind::Arn(arn.to_string())).is_ok(),
        Some([("aws_access_key_id", _), ("aws_secret_access_key", _)])
        | Some([("aws_access_key_id", _), ("aws_secret_access_key", _), ("token", _)]) => true,
        _ => false,
    };
    ok.then_some(()).ok_or(CopyError::InvalidCredentials)
}

/// Checks that exactly one authorization was given and that it is well formed.
pub(super) fn check_authorization(
    roles: &[&IamRoleKind],
    credentials: &[&str],
) -> Result<(), CopyError> {
    match (roles, credentials) {
        ([role], []) => check_iam_role(role),
        ([], [credentials]) => check_credentials(credentials),
        _ => Err(CopyError::InvalidCredentials),
    }
}
