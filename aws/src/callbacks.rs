//! The callbacks: Step Functions task tokens, and CloudFormation custom-resource responses.

use crate::errors::port_error;
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tasker_core::{FaultKind, PortError, TaskCallbacks};

/// `SendTaskSuccess` / `SendTaskFailure` through the SDK, and the `PUT` of a custom resource's response to its
/// presigned URL on hyper and rustls (the stack the SDK itself links, so the binaries carry one TLS stack).
#[derive(Debug)]
pub struct SfnCallbacks {
    sfn: aws_sdk_sfn::Client,
    /// Built on the first `PUT`: loading the system's trusted roots is a measurable part of every cold
    /// start (`BENCHMARKS.md`, init), and only deploy-time SQL ever sends a response.
    http: std::sync::OnceLock<Result<ResponseClient, String>>,
    response_endpoint: Option<String>,
}

type ResponseClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long a response URL may take to accept a connection, and to answer in all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(6);

/// The variable that sends CloudFormation responses to a local stand-in instead of S3 (tests and the local
/// stack only, like the SDK's `AWS_ENDPOINT_URL`; the template never sets it): the `PUT` goes to this origin with
/// the response URL's path and query. The URL itself is still checked to be CloudFormation's before anything runs.
pub const RESPONSE_ENDPOINT_VAR: &str = "CFN_RESPONSE_ENDPOINT";

/// A client that follows no redirect (hyper's never does: a presigned S3 URL never redirects, and following one
/// would let it send the answer elsewhere), with a connect timeout and the system's trusted roots. The URL is
/// checked to be `https` before a `PUT`; plain `http` is reachable only through [`RESPONSE_ENDPOINT_VAR`].
fn response_client() -> Result<ResponseClient, String> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no trusted roots: {}", e.kind()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

impl SfnCallbacks {
    /// Callbacks through this Step Functions client.
    pub fn new(sfn: aws_sdk_sfn::Client) -> Self {
        let response_endpoint = std::env::var(RESPONSE_ENDPOINT_VAR)
            .ok()
            .filter(|e| !e.is_empty());
        SfnCallbacks {
            sfn,
            http: std::sync::OnceLock::new(),
            response_endpoint,
        }
    }

    /// One `PUT` within [`RESPONSE_TIMEOUT`]: the status, or why there is none (never the URL: it carries a
    /// signature).
    async fn put(&self, url: &str, body: &str) -> Result<StatusCode, String> {
        let client = self
            .http
            .get_or_init(response_client)
            .as_ref()
            .map_err(Clone::clone)?;
        // A presigned S3 URL signs an empty content type.
        let request = Request::put(url)
            .header(CONTENT_TYPE, "")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| "not a valid request URL".to_string())?;
        let exchange = async {
            let response = client.request(request).await.map_err(|e| {
                format!(
                    "the response URL could not be reached (connect: {})",
                    e.is_connect()
                )
            })?;
            let status = response.status();
            // Read the answer to its end so the connection is reused or closed cleanly.
            let _ = response.into_body().collect().await;
            Ok(status)
        };
        tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
            .await
            .map_err(|_| "the response URL did not answer in time (timeout: true)".to_string())?
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
        match self.put(&url, body).await {
            Ok(status) if status.is_success() => Ok(()),
            Ok(status) if status.is_client_error() => Err(PortError::new(
                FaultKind::TokenGone,
                "ResponseRefused",
                format!("the response URL answered {status}"),
            )),
            Ok(status) => Err(PortError::new(
                FaultKind::Retryable,
                "ResponseFailed",
                format!("the response URL answered {status}"),
            )),
            Err(why) => Err(PortError::new(FaultKind::Retryable, "ResponseFailed", why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn callbacks() -> SfnCallbacks {
        let sfn = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder()
                .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
                .build(),
        );
        SfnCallbacks::new(sfn)
    }

    /// A URL that accepts the connection and never answers is given up (it must not hold the starter or a
    /// sweep); one that redirects is not followed (the answer would go elsewhere). Both stay retryable.
    #[tokio::test]
    async fn a_silent_url_is_given_up_and_a_redirect_is_not_followed() {
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_at = silent.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            loop {
                let (s, _) = silent.accept().await.unwrap();
                open.push(s);
            }
        });
        let redirect = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirect_at = redirect.local_addr().unwrap();
        let redirecting = tokio::spawn(async move {
            loop {
                let (mut s, _) = redirect.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{silent_at}/elsewhere\r\ncontent-length: 0\r\n\r\n"
                );
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        let c = callbacks();
        let deadline = Duration::from_secs(30);
        let gave_up =
            tokio::time::timeout(deadline, c.respond(&format!("http://{silent_at}/r"), "{}"))
                .await
                .expect("given up before the test's own deadline")
                .unwrap_err();
        assert_eq!(gave_up.kind, FaultKind::Retryable);
        assert!(gave_up.message.contains("timeout: true"), "{gave_up:?}");
        let redirected = tokio::time::timeout(
            deadline,
            c.respond(&format!("http://{redirect_at}/r"), "{}"),
        )
        .await
        .expect("answered")
        .unwrap_err();
        assert_eq!(redirected.kind, FaultKind::Retryable);
        assert!(redirected.message.contains("307"), "{redirected:?}");
        held.abort();
        redirecting.abort();
    }
}
