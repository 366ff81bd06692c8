//! The callbacks: Step Functions task tokens, and CloudFormation custom-resource responses.

use crate::errors::port_error;
use async_trait::async_trait;
use tasker_core::ports::{FaultKind, PortError, TaskCallbacks};

/// `SendTaskSuccess` / `SendTaskFailure` through the SDK, and a plain HTTPS client for the `PUT` of a custom
/// resource's response to its presigned URL.
pub struct SfnCallbacks {
    sfn: aws_sdk_sfn::Client,
    http: reqwest::Client,
    response_endpoint: Option<String>,
}

/// The variable that sends CloudFormation responses to a local stand-in instead of S3 (tests and the local
/// stack only, like the SDK's `AWS_ENDPOINT_URL`; the template never sets it): the `PUT` goes to this origin with
/// the response URL's path and query. The URL itself is still checked to be CloudFormation's before anything runs.
pub const RESPONSE_ENDPOINT_VAR: &str = "CFN_RESPONSE_ENDPOINT";

impl SfnCallbacks {
    /// Callbacks through this Step Functions client.
    pub fn new(sfn: aws_sdk_sfn::Client) -> Self {
        // A response URL that accepts and never answers must not hold the starter or a sweep: short connect and
        // total limits, and no redirect (a presigned S3 URL never redirects; following one would let it send
        // the answer elsewhere).
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(6))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with timeouts builds");
        let response_endpoint = std::env::var(RESPONSE_ENDPOINT_VAR)
            .ok()
            .filter(|e| !e.is_empty());
        SfnCallbacks {
            sfn,
            http,
            response_endpoint,
        }
    }
}

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError> {
        self.sfn
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .map(|_| ())
            .map_err(port_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.sfn
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(port_error)
    }

    async fn respond(&self, url: &str, body: &str) -> Result<(), PortError> {
        let url = match &self.response_endpoint {
            Some(origin) => {
                let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
                let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
                format!("{}{path}", origin.trim_end_matches('/'))
            }
            None => url.to_string(),
        };
        // A presigned S3 URL signs an empty content type.
        let sent = self
            .http
            .put(&url)
            .header("content-type", "")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if r.status().is_client_error() => Err(PortError::new(
                FaultKind::TokenGone,
                "ResponseRefused",
                format!("the response URL answered {}", r.status()),
            )),
            Ok(r) => Err(PortError::new(
                FaultKind::Retryable,
                "ResponseFailed",
                format!("the response URL answered {}", r.status()),
            )),
            // The error's text may hold the URL, which carries a signature: keep only its kind.
            Err(e) => Err(PortError::new(
                FaultKind::Retryable,
                "ResponseFailed",
                format!(
                    "the response URL could not be reached (timeout: {}, connect: {})",
                    e.is_timeout(),
                    e.is_connect()
                ),
            )),
        }
    }
}
