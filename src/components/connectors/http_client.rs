//! The HTTP client behind the `http` processor and the `http_client` output: Bento's fields,
//! retry rules and error texts, over one pooled reqwest client per component.

use std::collections::BTreeMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use std::sync::Arc;

use crate::bloblang::{parse_interpolation, InterpolatedString};
use crate::components::inputs::http_server::{
    metadata_filter_field, MetadataFilter, MetadataFilterConfig,
};
use crate::components::rate_limits::RateLimitStage;
use crate::components::Resources;
use crate::config::parse_duration;
use crate::config::spec::{FieldSpec, FieldType};
use crate::message::{Message, Metadata, Value};

#[derive(Deserialize)]
pub struct HttpClientConfig {
    pub url: String,
    pub verb: String,
    pub headers: BTreeMap<String, String>,
    pub metadata: MetadataFilterConfig,
    pub extract_headers: MetadataFilterConfig,
    pub payload: Option<String>,
    pub timeout: String,
    pub retry_period: String,
    pub max_retry_backoff: String,
    pub retries: i64,
    pub backoff_on: Vec<u16>,
    pub drop_on: Vec<u16>,
    pub successful_on: Vec<u16>,
    pub basic_auth: BasicAuthConfig,
    pub rate_limit: String,
}

#[derive(Deserialize)]
pub struct BasicAuthConfig {
    pub enabled: bool,
    pub username: String,
    pub password: String,
}

/// The fields shared by the `http` processor and the `http_client` output.
pub fn client_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::string("url", "The URL to connect to.")
            .interpolated()
            .example("http://localhost:8000/v1/infer"),
        FieldSpec::string("verb", "A verb to connect with.")
            .default("POST")
            .example("GET"),
        FieldSpec::map(
            "headers",
            FieldType::String,
            "A map of headers to add to the request; values may be interpolated.",
        )
        .default(serde_json::json!({}))
        .example(serde_json::json!({"Content-Type": "application/json"})),
        metadata_filter_field(
            "metadata",
            "Metadata of the message sent as request headers.",
        ),
        metadata_filter_field(
            "extract_headers",
            "Response headers added to the message metadata (keys lowercased).",
        ),
        FieldSpec::string(
            "payload",
            "A body sent instead of the message payload. An engine extension.",
        )
        .interpolated()
        .optional()
        .advanced(),
        FieldSpec::string("timeout", "A static timeout to apply to requests.").default("5s"),
        FieldSpec::string(
            "rate_limit",
            "A rate limit resource to throttle requests by: each request waits for it.",
        )
        .default(""),
        FieldSpec::string(
            "retry_period",
            "The base period to wait between failed requests.",
        )
        .default("1s")
        .advanced(),
        FieldSpec::string(
            "max_retry_backoff",
            "The maximum period to wait between failed requests.",
        )
        .default("300s")
        .advanced(),
        FieldSpec::int("retries", "The maximum number of retry attempts to make.")
            .default(3)
            .advanced(),
        FieldSpec::array(
            "backoff_on",
            FieldType::Int,
            "Status codes that retry the request with exponentially growing waits.",
        )
        .default(serde_json::json!([429]))
        .advanced(),
        FieldSpec::array(
            "drop_on",
            FieldType::Int,
            "Status codes that fail the request at once, without retries.",
        )
        .default(serde_json::json!([]))
        .advanced(),
        FieldSpec::array(
            "successful_on",
            FieldType::Int,
            "Status codes counted as success besides 2xx.",
        )
        .default(serde_json::json!([]))
        .advanced(),
        FieldSpec::object(
            "basic_auth",
            "HTTP basic authentication.",
            vec![
                FieldSpec::bool(
                    "enabled",
                    "Whether to use basic authentication in requests.",
                )
                .default(false),
                FieldSpec::string("username", "A username to authenticate as.").default(""),
                FieldSpec::string("password", "A password to authenticate with.").default(""),
            ],
        )
        .default(serde_json::json!({}))
        .advanced(),
    ]
}

/// The outcome of a request that got an answer.
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A request that failed for good; `status` when the server answered.
#[derive(Debug)]
pub struct HttpError {
    pub status: Option<u16>,
    pub message: String,
}

pub struct HttpClient {
    client: reqwest::Client,
    url: InterpolatedString,
    verb: reqwest::Method,
    headers: Vec<(HeaderName, InterpolatedString)>,
    metadata: MetadataFilter,
    extract: MetadataFilter,
    payload: Option<InterpolatedString>,
    retry_period: Duration,
    max_backoff: Duration,
    retries: u32,
    backoff_on: Vec<u16>,
    drop_on: Vec<u16>,
    successful_on: Vec<u16>,
    basic_auth: Option<(String, String)>,
    rate_limit: Option<Arc<RateLimitStage>>,
}

impl HttpClient {
    pub fn new(c: &HttpClientConfig, resources: &Resources) -> Result<HttpClient, String> {
        let rate_limit = match c.rate_limit.as_str() {
            "" => None,
            label => Some(resources.rate_limit(label).ok_or_else(|| {
                format!("rate_limit: rate limit resource '{label}' was not found")
            })?),
        };
        crate::http::install_tls_provider();
        let timeout = parse_duration(&c.timeout).map_err(|e| format!("timeout: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("failed to create the HTTP client: {e}"))?;
        let mut headers = Vec::new();
        for (k, v) in &c.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("headers: {k}: {e}"))?;
            headers.push((
                name,
                parse_interpolation(v).map_err(|e| format!("headers.{k}: {e}"))?,
            ));
        }
        Ok(HttpClient {
            client,
            url: parse_interpolation(&c.url).map_err(|e| format!("url: {e}"))?,
            verb: reqwest::Method::from_bytes(c.verb.to_ascii_uppercase().as_bytes())
                .map_err(|e| format!("verb: {e}"))?,
            headers,
            metadata: MetadataFilter::new(&c.metadata).map_err(|e| format!("metadata: {e}"))?,
            extract: MetadataFilter::new(&c.extract_headers)
                .map_err(|e| format!("extract_headers: {e}"))?,
            payload: c
                .payload
                .as_deref()
                .map(parse_interpolation)
                .transpose()
                .map_err(|e| format!("payload: {e}"))?,
            retry_period: parse_duration(&c.retry_period)
                .map_err(|e| format!("retry_period: {e}"))?,
            max_backoff: parse_duration(&c.max_retry_backoff)
                .map_err(|e| format!("max_retry_backoff: {e}"))?,
            retries: u32::try_from(c.retries.max(0)).unwrap_or(u32::MAX),
            backoff_on: c.backoff_on.clone(),
            drop_on: c.drop_on.clone(),
            successful_on: c.successful_on.clone(),
            basic_auth: c
                .basic_auth
                .enabled
                .then(|| (c.basic_auth.username.clone(), c.basic_auth.password.clone())),
            rate_limit,
        })
    }

    fn build(&self, batch: &[Message], i: usize) -> Result<reqwest::RequestBuilder, String> {
        let url = self.url.render(batch, i).map_err(|e| format!("url: {e}"))?;
        let mut rb = self.client.request(self.verb.clone(), url);
        for (k, v) in batch[i].meta() {
            if self.metadata.matches(k) {
                rb = rb.header(k.as_str(), v.to_string());
            }
        }
        for (name, value) in &self.headers {
            let v = value
                .render(batch, i)
                .map_err(|e| format!("headers.{name}: {e}"))?;
            let hv = HeaderValue::from_str(&v).map_err(|e| format!("headers.{name}: {e}"))?;
            rb = rb.header(name.clone(), hv);
        }
        if let Some((u, p)) = &self.basic_auth {
            rb = rb.basic_auth(u, Some(p));
        }
        let body: Bytes = match &self.payload {
            Some(p) => Bytes::from(p.render(batch, i).map_err(|e| format!("payload: {e}"))?),
            None => batch[i].bytes().clone(),
        };
        Ok(rb.body(body))
    }

    /// Send message `i` of `batch`, retrying as configured.
    pub async fn send(&self, batch: &[Message], i: usize) -> Result<HttpResponse, HttpError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry_period.max(Duration::from_millis(1)))
            .with_max_delay(self.max_backoff.max(self.retry_period))
            .without_max_times()
            .build();
        let mut attempt = 0u32;
        loop {
            if let Some(rl) = &self.rate_limit {
                loop {
                    match rl.access().await {
                        Ok(wait) if wait.is_zero() => break,
                        Ok(wait) => tokio::time::sleep(wait).await,
                        Err(e) => {
                            return Err(HttpError {
                                status: None,
                                message: format!("rate limit failed: {e}"),
                            })
                        }
                    }
                }
            }
            let rb = self.build(batch, i).map_err(|message| HttpError {
                status: None,
                message,
            })?;
            let (err, exponential) = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let code = status.as_u16();
                    let headers = resp.headers().clone();
                    let url = redacted(resp.url());
                    let body = match read_limited(resp, MAX_RESPONSE_BYTES).await {
                        Ok(b) => b,
                        // A success whose body did not arrive is no success: try again.
                        Err(e) => {
                            let err = HttpError {
                                status: Some(code),
                                message: format!("{url}: failed to read the response body: {e}"),
                            };
                            if attempt >= self.retries {
                                return Err(err);
                            }
                            attempt += 1;
                            tracing::warn!("{}", err.message);
                            tokio::time::sleep(self.retry_period).await;
                            continue;
                        }
                    };
                    if status.is_success() || self.successful_on.contains(&code) {
                        return Ok(HttpResponse {
                            status: code,
                            headers,
                            body,
                        });
                    }
                    let err = HttpError {
                        status: Some(code),
                        message: format!(
                            "HTTP request returned unexpected response code ({code}): {code} {}, Error: {}",
                            status.canonical_reason().unwrap_or(""),
                            String::from_utf8_lossy(&body)
                        ),
                    };
                    if self.drop_on.contains(&code) {
                        return Err(err);
                    }
                    (err, self.backoff_on.contains(&code))
                }
                Err(e) => {
                    let url = e.url().map(redacted).unwrap_or_default();
                    (
                        HttpError {
                            status: None,
                            message: format!(
                                "{url}: HTTP request failed: {}",
                                error_chain(&e.without_url())
                            ),
                        },
                        false,
                    )
                }
            };
            if attempt >= self.retries {
                return Err(err);
            }
            attempt += 1;
            let exp_delay = backoff.next().unwrap_or(self.max_backoff);
            let delay = if exponential {
                exp_delay
            } else {
                self.retry_period
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// Response headers selected by `extract_headers`, as metadata (keys lowercased).
    pub fn extracted(&self, headers: &HeaderMap) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in headers {
            let key = k.as_str().to_ascii_lowercase();
            if self.extract.matches(&key) {
                if let Ok(s) = v.to_str() {
                    m.insert(key, Value::from(s));
                }
            }
        }
        m
    }
}

/// The largest response body read: past it the attempt fails, rather than a server (or a
/// proxy gone wrong) filling memory.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The body of `resp`, or why it could not be had whole.
async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, String> {
    let mut body = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(format!("the response is larger than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => return Err(error_chain(&e.without_url())),
        }
    }
}

/// A URL fit for logs and error texts (which reach HTTP clients): no user, password or query.
pub fn redacted(u: &reqwest::Url) -> String {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn response_bodies_past_the_limit_are_refused() {
        crate::http::install_tls_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await;
            let body = "x".repeat(1000);
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{body}");
            s.write_all(resp.as_bytes()).await.unwrap();
        });
        let resp = reqwest::get(format!("http://{addr}/")).await.unwrap();
        let err = read_limited(resp, 100).await.unwrap_err();
        assert_eq!(err, "the response is larger than 100 bytes");
    }

    #[test]
    fn urls_lose_their_credentials_and_query() {
        let u = reqwest::Url::parse("https://me:pw@host:8443/a/b?token=t#f").unwrap();
        assert_eq!(redacted(&u), "https://host:8443/a/b");
    }
}
