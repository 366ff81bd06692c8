//! The S3 side of `COPY` and `UNLOAD`: a client for the local S3 (the moto server), listing and getting objects,
//! and S3's failures as Redshift reports them.

use super::error::CopyError;
use super::spec::S3Url;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use bytes::Bytes;

/// An S3 client for the local endpoint: path-style addressing (moto serves every bucket on one host) and the
/// local stack's fixed credentials (`local_sdk_config`, shared with the EventBridge client).
pub(super) fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&crate::local_sdk_config(endpoint, region))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An S3 failure as Redshift words it.
pub(super) fn s3_error<E>(e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> CopyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(service) => CopyError::S3 {
            message: service.err().message().unwrap_or_default().to_string(),
            status: service.raw().status().as_u16(),
            code: service.err().code().unwrap_or("Unknown").to_string(),
            request_id: e.request_id().unwrap_or_default().to_string(),
        },
        _ => CopyError::S3Unreachable(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()),
    }
}

/// Every key under the prefix, in S3's (lexicographic) order.
pub(super) async fn list_keys(
    s3: &aws_sdk_s3::Client,
    url: &S3Url,
) -> Result<Vec<String>, CopyError> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(&url.prefix)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(s3_error)?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    Ok(keys)
}

/// The bytes of one object.
pub(super) async fn get_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Bytes, CopyError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(s3_error)?;
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| CopyError::S3Unreachable(e.to_string()))?;
    Ok(body.into_bytes())
}
