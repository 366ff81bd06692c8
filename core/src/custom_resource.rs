//! SQL at deploy time (docs/design.md, "Deploy-time SQL"): the starter as a CloudFormation custom resource.
//!
//! A request runs the SQL its `ResourceProperties` give for its `RequestType`, like any statement, with the
//! presigned `ResponseURL` stored where a task token goes (so every path that answers a task, the completer, the
//! fast path and the sweeper, answers CloudFormation instead, exactly once, through the same claim). Its key is
//! the stack, the logical id and the `RequestId`, which CloudFormation keeps on its own retries of a request, so a
//! retried request never runs its SQL twice.

use crate::error::TaskerError;
use crate::statement::{check_sql, SqlText, MAX_BATCH_STATEMENTS};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::CALLBACK_PREFIX as PREFIX;
/// CloudFormation's limit on a response body; the reason is cut to fit.
const MAX_RESPONSE_BYTES: usize = 4096;
/// The `PhysicalResourceId` of a failed Create. CloudFormation's rollback then sends a Delete carrying it, which
/// must run no `DeleteSql`: nothing was created, and the SQL would drop what existed before (an `etl.day` the
/// failed `create table` met). CDK's provider framework does the same with its own marker.
pub const CREATE_FAILED: &str = "SfnRedshiftTasker::CREATE_FAILED";
/// The physical ids earlier versions answered a Create that could not start with; a Delete carrying one is a
/// rollback of a failed Create too.
const LEGACY_CREATE_FAILED: [&str; 2] = ["not-started", "invalid-request"];

/// Whether a Delete's physical id says its Create failed (so the Delete must not run SQL).
pub fn is_failed_create(physical_resource_id: Option<&str>) -> bool {
    physical_resource_id.is_some_and(|id| id == CREATE_FAILED || LEGACY_CREATE_FAILED.contains(&id))
}

/// One custom-resource request, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomResourceRequest {
    /// `Create`, `Update` or `Delete`.
    pub request_type: String,
    /// The SQL for this request type, if the resource gives one.
    pub sql: Option<SqlText>,
    /// Where the answer goes, and what it must repeat.
    pub callback: CustomResourceCallback,
}

/// What an answer to CloudFormation needs: stored in the record in place of a task token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceCallback {
    #[serde(rename = "ResponseURL")]
    /// Where the answer is `PUT`: the callback, kept like a task token and never logged whole.
    pub response_url: String,
    /// Repeated in the answer, as CloudFormation requires.
    pub stack_id: String,
    /// Repeated in the answer; also keys the statement, so a retried request runs its SQL once.
    pub request_id: String,
    /// Repeated in the answer; also keys the statement.
    pub logical_resource_id: String,
    /// Given on update and delete (and kept unchanged); on create the statement's name becomes it.
    pub physical_resource_id: Option<String>,
}

impl CustomResourceCallback {
    /// The value stored as the record's task token.
    pub fn to_token(&self) -> String {
        format!(
            "{PREFIX}{}",
            serde_json::to_string(self).expect("a struct of strings serialises")
        )
    }

    /// Reads a stored callback back; `None` for a Step Functions task token.
    pub fn from_token(token: &str) -> Option<Self> {
        serde_json::from_str(token.strip_prefix(PREFIX)?).ok()
    }

    /// The body of the `PUT` to `ResponseURL`: `SUCCESS` or `FAILED` with the reason, cut so the whole body stays
    /// within CloudFormation's 4,096 bytes. A failed Create (no physical id given) answers [`CREATE_FAILED`], so
    /// its rollback Delete runs no SQL; a successful one names the statement.
    pub fn response(
        &self,
        success: bool,
        reason: &str,
        statement_name: &str,
        data: Value,
    ) -> String {
        // Fn::GetAtt reads `Data` as strings: each value is sent as its text.
        let data: std::collections::HashMap<String, String> = data
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        let body = |reason: &str| {
            let mut r = CloudFormationCustomResourceResponse::default();
            r.status = if success {
                CloudFormationCustomResourceResponseStatus::Success
            } else {
                CloudFormationCustomResourceResponseStatus::Failed
            };
            r.reason = Some(reason.to_string());
            r.physical_resource_id = self.physical_resource_id.clone().unwrap_or_else(|| {
                (if success {
                    statement_name
                } else {
                    CREATE_FAILED
                })
                .to_string()
            });
            r.stack_id = self.stack_id.clone();
            r.request_id = self.request_id.clone();
            r.logical_resource_id = self.logical_resource_id.clone();
            r.data = data.clone();
            serde_json::to_string(&r).expect("a response of strings serialises")
        };
        let mut text: String = reason.to_string();
        while body(&text).len() > MAX_RESPONSE_BYTES && !text.is_empty() {
            let keep = text.chars().count().saturating_sub(64);
            text = text.chars().take(keep).collect::<String>();
            text.push('…');
            if keep == 0 {
                text.clear();
            }
        }
        body(&text)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRequest {
    request_type: String,
    #[serde(rename = "ResponseURL")]
    response_url: String,
    stack_id: String,
    request_id: String,
    logical_resource_id: String,
    physical_resource_id: Option<String>,
    #[serde(default)]
    resource_properties: Value,
}

/// The bucket-name prefix of CloudFormation's presigned response URLs (`cloudformation-custom-resource-response-`
/// plus the region without dashes, e.g. `useast1`).
const RESPONSE_BUCKET: &str = "cloudformation-custom-resource-response-";

/// Whether `url` is a `ResponseURL` CloudFormation gives: `https` to one of its presigned S3 response buckets, in
/// the global (`<bucket>.s3.amazonaws.com`), dashed regional (`<bucket>.s3-<region>.amazonaws.com`) or dotted
/// regional (`<bucket>.s3.<region>.amazonaws.com`) form, or China's `.amazonaws.com.cn`, with no port or user
/// part. Anything else is refused before a record is written, so no request can make the functions call a host of
/// its choosing (the answer is a `PUT` of the outcome).
pub fn is_cloudformation_response_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some(after) = host.strip_prefix(RESPONSE_BUCKET) else {
        return false;
    };
    let Some((region_key, s3)) = after.split_once('.') else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let region = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
    };
    let Some(endpoint) = s3
        .strip_suffix(".amazonaws.com")
        .or_else(|| s3.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    let endpoint_ok = endpoint == "s3"
        || endpoint.strip_prefix("s3-").is_some_and(region)
        || endpoint.strip_prefix("s3.").is_some_and(region);
    word(region_key) && endpoint_ok
}

/// Whether a payload is a CloudFormation custom-resource request (it has `RequestType`).
pub(crate) fn is_request(payload: &Value) -> bool {
    payload.get("RequestType").is_some()
}

/// Parses a custom-resource request; the SQL of the request type is `CreateSql`, `UpdateSql` or `DeleteSql` in
/// `ResourceProperties`, a string or a list (run in one transaction).
pub fn parse(payload: &Value) -> Result<CustomResourceRequest, TaskerError> {
    let raw: RawRequest = crate::error::deserialize_payload(payload)?;
    let key = match raw.request_type.as_str() {
        "Create" => "CreateSql",
        "Update" => "UpdateSql",
        "Delete" => "DeleteSql",
        _ => {
            return Err(TaskerError::InvalidInput(
                "RequestType: expected Create, Update or Delete".into(),
            ))
        }
    };
    let sql = match raw.resource_properties.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            check_sql(&format!("ResourceProperties.{key}"), s)?;
            Some(SqlText::Single(s.clone()))
        }
        Some(Value::Array(list)) => {
            let mut sqls = Vec::new();
            for (i, v) in list.iter().enumerate() {
                let field = format!("ResourceProperties.{key}[{i}]");
                let s = v.as_str().ok_or_else(|| {
                    TaskerError::InvalidInput(format!("{field}: expected a string"))
                })?;
                check_sql(&field, s)?;
                sqls.push(s.to_string());
            }
            if sqls.is_empty() || sqls.len() > MAX_BATCH_STATEMENTS {
                return Err(TaskerError::InvalidInput(format!(
                    "ResourceProperties.{key}: 1 to {MAX_BATCH_STATEMENTS} statements"
                )));
            }
            Some(SqlText::Batch(sqls))
        }
        Some(_) => {
            return Err(TaskerError::InvalidInput(format!(
                "ResourceProperties.{key}: expected a string or a list of strings"
            )))
        }
    };
    if !is_cloudformation_response_url(&raw.response_url) {
        return Err(TaskerError::InvalidInput(
            "ResponseURL: not an https URL of CloudFormation's response buckets".into(),
        ));
    }
    for (field, value) in [
        ("ResponseURL", &raw.response_url),
        ("StackId", &raw.stack_id),
        ("RequestId", &raw.request_id),
        ("LogicalResourceId", &raw.logical_resource_id),
    ] {
        if value.trim().is_empty() {
            return Err(TaskerError::InvalidInput(format!(
                "{field}: must not be empty"
            )));
        }
    }
    Ok(CustomResourceRequest {
        request_type: raw.request_type,
        sql,
        callback: CustomResourceCallback {
            response_url: raw.response_url,
            stack_id: raw.stack_id,
            request_id: raw.request_id,
            logical_resource_id: raw.logical_resource_id,
            physical_resource_id: raw.physical_resource_id,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(kind: &str, props: Value) -> Value {
        json!({"RequestType": kind, "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=x", "StackId": "arn:stack",
               "RequestId": "r-1", "LogicalResourceId": "Migration", "ResourceType": "Custom::RedshiftSql",
               "ServiceToken": "arn:fn", "ResourceProperties": props})
    }

    #[test]
    fn only_cloudformations_response_buckets_over_https_are_accepted() {
        let bucket = "cloudformation-custom-resource-response";
        for ok in [
            format!("https://{bucket}-useast1.s3.amazonaws.com/arn%3Aaws/r-1?X-Amz-Signature=a"),
            format!("https://{bucket}-uswest2.s3-us-west-2.amazonaws.com/k?sig=b"),
            format!("https://{bucket}-eucentral1.s3.eu-central-1.amazonaws.com/k"),
            format!("https://{bucket}-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k"),
        ] {
            assert!(is_cloudformation_response_url(&ok), "{ok}");
        }
        for bad in [
            format!("http://{bucket}-useast1.s3.amazonaws.com/k"),
            format!("https://{bucket}-useast1.s3.amazonaws.com.evil.example/k"),
            format!("https://{bucket}-useast1.s3.amazonaws.com:8443/k"),
            format!("https://user@{bucket}-useast1.s3.amazonaws.com/k"),
            format!("https://evil.example/{bucket}-useast1.s3.amazonaws.com"),
            format!("https://{bucket}-.s3.amazonaws.com/k"),
            format!("https://{bucket}-useast1.evil.amazonaws.com/k"),
            "https://169.254.169.254/latest/meta-data".to_string(),
            "https://127.0.0.1:9000/k".to_string(),
            String::new(),
        ] {
            assert!(!is_cloudformation_response_url(&bad), "{bad}");
        }
        let mut req = request("Create", json!({"CreateSql": "s"}));
        req["ResponseURL"] = json!("http://127.0.0.1:1/k");
        let err = parse(&req).unwrap_err().to_string();
        assert!(
            err.starts_with("ResponseURL") && !err.contains("127.0.0.1"),
            "{err}"
        );
    }

    #[test]
    fn each_request_type_takes_its_own_sql() {
        let r = parse(&request(
            "Create",
            json!({"CreateSql": "create table t (i int)", "DeleteSql": "drop table t"}),
        ))
        .unwrap();
        assert_eq!(
            r.sql,
            Some(SqlText::Single("create table t (i int)".into()))
        );
        let r = parse(&request("Update", json!({"UpdateSql": ["a", "b"]}))).unwrap();
        assert_eq!(r.sql, Some(SqlText::Batch(vec!["a".into(), "b".into()])));
        let r = parse(&request("Delete", json!({"CreateSql": "x"}))).unwrap();
        assert_eq!(r.sql, None, "a delete without SQL succeeds at once");
        assert!(is_request(&request("Delete", json!({}))));
    }

    #[test]
    fn bad_requests_name_the_field() {
        for (payload, field) in [
            (request("Create", json!({"CreateSql": 5})), "CreateSql"),
            (
                request("Create", json!({"CreateSql": [""]})),
                "CreateSql[0]",
            ),
            (request("Replace", json!({})), "RequestType"),
        ] {
            let err = parse(&payload).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn the_callback_round_trips_through_the_token_and_answers_within_4096_bytes() {
        let r = parse(&request("Create", json!({"CreateSql": "s"}))).unwrap();
        let token = r.callback.to_token();
        assert_eq!(
            CustomResourceCallback::from_token(&token),
            Some(r.callback.clone())
        );
        assert_eq!(
            CustomResourceCallback::from_token("AQCEAAAA-task-token"),
            None
        );
        let body = r
            .callback
            .response(false, &"e".repeat(10_000), "etl-abc", json!({}));
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Status"], "FAILED");
        assert_eq!(v["PhysicalResourceId"], CREATE_FAILED, "a failed create");
        let ok: Value =
            serde_json::from_str(&r.callback.response(true, "", "etl-abc", json!({}))).unwrap();
        assert_eq!(ok["PhysicalResourceId"], "etl-abc");
        assert!(is_failed_create(Some(CREATE_FAILED)));
        assert!(is_failed_create(Some("not-started")));
        assert!(!is_failed_create(Some("etl-abc")) && !is_failed_create(None));
        assert_eq!(v["RequestId"], "r-1");
    }
}
