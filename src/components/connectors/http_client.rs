//! The HTTP client behind the `http` processor and the `http_client` output: Bento's fields,
//! retry rules and error texts, over one pooled reqwest client per component.

use std::collections::BTreeMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use std::sync::Arc;

use crate::bloblang::InterpolatedString;
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::inputs::http_server::{
    metadata_filter_field, MetadataFilter, MetadataFilterConfig,
};
use crate::components::rate_limits::RateLimitStage;
use crate::components::Resources;
use crate::message::{Message, Metadata, Value};
use crate::spec::{component_config, FieldSpec, FieldType, Refused};

component_config! {
    @open
    /// The client's fields, which the `http` processor and the `http_client` output read from
    /// their config besides their own (so neither struct is strict about keys; lint checks
    /// them).
    pub struct HttpClientConfig {
        pub url: InterpolatedString = string("The URL to connect to.")
            .interpolated()
            .example("http://localhost:8000/v1/infer"),
        pub verb: String = string("A verb to connect with.")
            .default("POST")
            .example("GET"),
        pub headers: BTreeMap<String, InterpolatedString> = map(
            FieldType::String,
            "A map of headers to add to the request; values may be interpolated.",
        )
        .default(serde_json::json!({}))
        .example(serde_json::json!({"Content-Type": "application/json"})),
        pub metadata: MetadataFilterConfig = spec(metadata_filter_field(
            "metadata",
            "Metadata of the message sent as request headers.",
        )),
        pub extract_headers: MetadataFilterConfig = spec(metadata_filter_field(
            "extract_headers",
            "Response headers added to the message metadata (keys lowercased).",
        )),
        pub payload: Option<InterpolatedString> = string(
            "A body sent instead of the message payload. An engine extension.",
        )
        .interpolated()
        .optional()
        .advanced(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub timeout: Duration = string("A static timeout to apply to requests.").default("5s").duration(),
        pub rate_limit: String = string(
            "A rate limit resource to throttle requests by: each request waits for it.",
        )
        .default(""),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub retry_period: Duration = string(
            "The base period to wait between failed requests.",
        )
        .default("1s")
        .advanced().duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub max_retry_backoff: Duration = string(
            "The maximum period to wait between failed requests.",
        )
        .default("300s")
        .advanced().duration(),
        pub retries: i64 = int("The maximum number of retry attempts to make.")
            .default(3)
            .advanced(),
        pub backoff_on: Vec<u16> = array(
            FieldType::Int,
            "Status codes that retry the request with exponentially growing waits.",
        )
        .default(serde_json::json!([429]))
        .advanced(),
        pub drop_on: Vec<u16> = array(
            FieldType::Int,
            "Status codes that fail the request at once, without retries.",
        )
        .default(serde_json::json!([]))
        .advanced(),
        pub successful_on: Vec<u16> = array(
            FieldType::Int,
            "Status codes counted as success besides 2xx.",
        )
        .default(serde_json::json!([]))
        .advanced(),
        pub basic_auth: BasicAuthConfig = object("HTTP basic authentication.", BasicAuthConfig::fields())
            .default(serde_json::json!({}))
            .advanced(),
        pub tls: TlsConfig = spec(tls_field()),
        pub follow_redirects: bool = bool("Whether or not to transparently follow redirects, i.e. responses with 300-399 status codes. If disabled, the response message will contain the body, status, and headers from the redirect response and the processor will not make a request to the URL set in the Location header of the response.")
            .default(true)
            .advanced(),
        pub proxy_url: String = string("An optional HTTP proxy URL; empty takes the proxy from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`, as Go does.")
            .default("")
            .advanced(),
        pub dump_request_log_level: String = string("EXPERIMENTAL: Optionally set a level at which the request and response payload of each request made will be logged.")
            .default("")
            .options(&["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", ""])
            .advanced(),
        pub oauth: OAuthConfig = object("Allows you to specify open authentication via OAuth version 1 (HMAC-SHA1 request signing).", OAuthConfig::fields())
            .default(serde_json::json!({}))
            .advanced(),
        pub oauth2: OAuth2Config = object("Allows you to specify open authentication via OAuth version 2 using the client credentials token flow.", OAuth2Config::fields())
            .default(serde_json::json!({}))
            .advanced(),
        pub jwt: JwtConfig = object("Allows you to specify JWT authentication: each request carries the token of these claims and headers, signed with the private key.", JwtConfig::fields())
            .default(serde_json::json!({}))
            .advanced(),
        pub transport: TransportConfig = object("Custom transport options.", TransportConfig::fields())
            .default(serde_json::json!({}))
            .advanced(),
    }
}

component_config! {
    /// Bento's `transport` (Go's `http.Transport`), on reqwest's pool and connector.
    pub struct TransportConfig {
        // Go's http.DefaultTransport values, which Bento's docs give as the defaults.
        pub dial_context: DialConfig = object("Settings for the dialer used to create new connections.", DialConfig::fields())
            .default(serde_json::json!({})),
        pub force_http2: bool = bool("If true, HTTP/2 is negotiated with servers that offer it over TLS (ALPN); if false, HTTP/1.1 only.").default(true),
        pub max_idle_connections: i64 = int("Maximum number of idle connections kept (per host, reqwest keeps its pool per host).").default(100),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub idle_connection_timeout: Duration = string("Maximum amount of time an idle connection will remain idle before closing itself.").default("90s").duration(),
        #[serde(skip)]
        #[allow(dead_code)]
        tls_handshake_timeout: Refused = refused("the TLS handshake is bounded by dial_context.timeout and timeout, not on its own").default("10s"),
        #[serde(skip)]
        #[allow(dead_code)]
        expect_continue_timeout: Refused = refused("engine does not send Expect: 100-continue").default("1s"),
    }
}

component_config! {
    pub struct DialConfig {
        #[serde(deserialize_with = "crate::spec::duration")]
        pub timeout: Duration = string("Timeout for establishing new network connections.").default("30s").duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub keep_alive: Duration = string("Keep-alive period for active network connections used by the dialer.").default("30s").duration(),
    }
}

component_config! {
    /// Bento's `oauth`: OAuth 1.0 request signing with HMAC-SHA1.
    #[derive(Default, Clone)]
    #[serde(default)]
    pub struct OAuthConfig {
        pub enabled: bool = bool("Whether to use OAuth version 1 in requests.").default(false),
        pub consumer_key: String = string("A value used to identify the client to the service provider.").default(""),
        pub consumer_secret: String = string("A secret used to establish ownership of the consumer key.").default(""),
        pub access_token: String = string("A value used to gain access to the protected resources on behalf of the user.").default(""),
        pub access_token_secret: String = string("A secret provided in order to establish ownership of a given access token.").default(""),
    }
}

/// Go's `url.QueryEscape`: all but letters, digits and `-_.~` escaped, space as `+`.
fn query_escape(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET)
        .to_string()
        .replace("%20", "+")
}

impl OAuthConfig {
    /// The `Authorization` header of Bento's OAuth 1 signer for a request.
    fn authorization(&self, method: &str, url: &str) -> Result<String, String> {
        use base64::Engine;
        use hmac::Mac;
        let nonce = rand::random::<u64>() >> 1;
        let ts = chrono::Utc::now().timestamp();
        let mut params = [
            ("oauth_consumer_key", self.consumer_key.clone()),
            ("oauth_nonce", nonce.to_string()),
            ("oauth_signature_method", "HMAC-SHA1".to_owned()),
            ("oauth_timestamp", ts.to_string()),
            ("oauth_token", self.access_token.clone()),
            ("oauth_version", "1.0".to_owned()),
        ];
        params.sort();
        let encoded = params
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect::<Vec<_>>()
            .join("&");
        let base = format!("{method}&{}&{}", query_escape(url), query_escape(&encoded));
        let key = format!(
            "{}&{}",
            query_escape(&self.consumer_secret),
            query_escape(&self.access_token_secret)
        );
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
            .map_err(|e| format!("oauth: {e}"))?;
        mac.update(base.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Ok(format!(
            "OAuth oauth_consumer_key=\"{}\", oauth_nonce=\"{nonce}\", oauth_signature=\"{}\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"{ts}\", oauth_token=\"{}\", oauth_version=\"1.0\"",
            query_escape(&self.consumer_key),
            query_escape(&sig),
            query_escape(&self.access_token)
        ))
    }
}

component_config! {
    /// Bento's `jwt`: each request carries a token signed with a private key.
    #[derive(Default)]
    #[serde(default)]
    pub struct JwtConfig {
        pub enabled: bool = bool("Whether to use JWT authentication in requests.").default(false),
        pub private_key_file: String = string("A file with the PEM encoded via PKCS1 or PKCS8 as private key.").default(""),
        pub signing_method: String = string("A method used to sign the token such as RS256, RS384, RS512 or ES256.").default(""),
        pub claims: serde_json::Map<String, serde_json::Value> = map(FieldType::Any, "A value used to identify the claims that issued the JWT.").default(serde_json::json!({})),
        pub headers: serde_json::Map<String, serde_json::Value> = map(FieldType::Any, "Add optional key/value headers to the JWT.").default(serde_json::json!({})),
    }
}

component_config! {
    /// Bento's `oauth2`: the client-credentials flow (golang.org/x/oauth2/clientcredentials).
    #[derive(Default)]
    #[serde(default)]
    pub struct OAuth2Config {
        pub enabled: bool = bool("Whether to use OAuth version 2 in requests.").default(false),
        pub client_key: String = string("A value used to identify the client to the token provider.").default(""),
        pub client_secret: String = string("A secret used to establish ownership of the client key.").default(""),
        pub token_url: String = string("The URL of the token provider.").default(""),
        pub scopes: Vec<String> = array(FieldType::String, "A list of optional requested permissions.").default(serde_json::json!([])),
        pub endpoint_params: BTreeMap<String, Vec<String>> = map(FieldType::Array(Box::new(FieldType::String)), "A list of optional endpoint parameters, values should be arrays of strings.").default(serde_json::json!({})),
    }
}

component_config! {
    pub struct BasicAuthConfig {
        pub enabled: bool = bool("Whether to use basic authentication in requests.").default(false),
        pub username: String = string("A username to authenticate as.").default(""),
        pub password: String = string("A password to authenticate with.").default(""),
    }
}

/// The fields shared by the `http` processor and the `http_client` output.
pub fn client_fields() -> Vec<FieldSpec> {
    HttpClientConfig::fields()
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
    dump_level: Option<tracing::Level>,
    oauth: Option<OAuthConfig>,
    oauth2: Option<OAuth2>,
    /// The `jwt` bearer token: its claims are fixed, so it is signed once, at build (a key or
    /// method that cannot sign fails there, not on every request).
    jwt: Option<String>,
    /// The `http_client` output's `multipart`: each request a multipart body of these parts
    /// (content type, content disposition, body), rendered for its message.
    multipart: Vec<[InterpolatedString; 3]>,
}

component_config! {
    /// One part of the `http_client` output's `multipart` field.
    pub struct MultipartPartConfig {
        pub content_type: InterpolatedString = string("The content type of the individual message part.").interpolated().default("").example("application/bin"),
        pub content_disposition: InterpolatedString = string("The content disposition of the individual message part.").interpolated().default("").example("form-data; name=\"bin\"; filename='${! @AttachmentName }"),
        pub body: InterpolatedString = string("The body of the individual message part.").interpolated().default("").example("${! this.data.part1 }"),
    }
}

/// The token Bento's `jwt` auth sends: the claims and headers signed with the private key.
fn jwt_token(c: &JwtConfig) -> Result<String, String> {
    let key = std::fs::read(&c.private_key_file)
        .map_err(|e| format!("jwt.private_key_file {}: {e}", c.private_key_file))?;
    let object = |m: &serde_json::Map<String, serde_json::Value>| match Value::from(
        serde_json::Value::Object(m.clone()),
    ) {
        Value::Object(o) => o,
        _ => Default::default(),
    };
    crate::bloblang::library::jwt::sign_token(
        &c.signing_method,
        &key,
        &object(&c.claims),
        &object(&c.headers),
    )
    .map_err(|e| format!("jwt: {e}"))
}

/// A client-credentials token source: a token is fetched when there is none or it has expired
/// (a little early, as Go's oauth2 does), and shared by every request of the component.
struct OAuth2 {
    client_key: String,
    client_secret: String,
    token_url: String,
    scopes: Vec<String>,
    endpoint_params: BTreeMap<String, Vec<String>>,
    token: tokio::sync::Mutex<Option<(String, Option<std::time::Instant>)>>,
}

impl OAuth2 {
    async fn token(&self, client: &reqwest::Client) -> Result<String, String> {
        let mut held = self.token.lock().await;
        if let Some((token, expires)) = held.as_ref() {
            if expires.is_none_or(|e| std::time::Instant::now() < e) {
                return Ok(token.clone());
            }
        }
        let mut form: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into())];
        if !self.scopes.is_empty() {
            form.push(("scope".into(), self.scopes.join(" ")));
        }
        for (k, vs) in &self.endpoint_params {
            form.extend(vs.iter().map(|v| (k.clone(), v.clone())));
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let resp = client
            .post(&self.token_url)
            .basic_auth(&self.client_key, Some(&self.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("oauth2: cannot fetch token: {}", error_chain(&e)))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| format!("oauth2: cannot fetch token: {e}"))?;
        let token = body
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .filter(|_| status.is_success())
            .ok_or_else(|| format!("oauth2: cannot fetch token: {status}: {body}"))?
            .to_owned();
        // Go's oauth2 treats a token as expired 10 s before it says.
        let expires = body
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map(|s| std::time::Instant::now() + Duration::from_secs(s.saturating_sub(10)));
        *held = Some((token.clone(), expires));
        Ok(token)
    }
}

/// `dump_request_log_level`: the request or response as text, at the configured level.
fn dump(level: tracing::Level, what: &str, text: &str) {
    match level {
        tracing::Level::TRACE => tracing::trace!(dump = text, "{what}"),
        tracing::Level::DEBUG => tracing::debug!(dump = text, "{what}"),
        tracing::Level::INFO => tracing::info!(dump = text, "{what}"),
        tracing::Level::WARN => tracing::warn!(dump = text, "{what}"),
        tracing::Level::ERROR => tracing::error!(dump = text, "{what}"),
    }
}

fn request_text(req: &reqwest::Request) -> String {
    let mut text = format!("{} {}\n", req.method(), redacted(req.url()));
    for (k, v) in req.headers() {
        text.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
    }
    if let Some(body) = req.body().and_then(reqwest::Body::as_bytes) {
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(body));
    }
    text
}

/// The `tls` field on reqwest's rustls client: extra root CAs, a client certificate, and
/// `skip_cert_verify`, which reqwest can do (the AMQP and Redis clients cannot).
fn tls_options(
    builder: reqwest::ClientBuilder,
    tls: &TlsConfig,
) -> Result<reqwest::ClientBuilder, String> {
    if !tls.enabled {
        return Ok(builder);
    }
    tls.check_common()?;
    let mut builder = builder.tls_danger_accept_invalid_certs(tls.skip_cert_verify);
    if let Some(pem) = tls.root_cas()? {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("tls.root_cas: {e}"))?;
        builder = builder.tls_certs_merge(certs);
    }
    if let Some((mut pem, key)) = tls.client_cert()? {
        pem.push(b'\n');
        pem.extend(key);
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|e| format!("tls.client_certs: {e}"))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
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
        let t = &c.transport;
        // Go's zero means no limit.
        let set = |d: Duration| (!d.is_zero()).then_some(d);
        let mut builder = reqwest::Client::builder()
            .timeout(c.timeout)
            .tcp_keepalive(set(t.dial_context.keep_alive))
            .pool_idle_timeout(set(t.idle_connection_timeout))
            .pool_max_idle_per_host(usize::try_from(t.max_idle_connections.max(0)).unwrap_or(0));
        if let Some(d) = set(t.dial_context.timeout) {
            builder = builder.connect_timeout(d);
        }
        // As Go's transport: HTTP/2 when TLS negotiates it (ALPN), unless turned off.
        if !t.force_http2 {
            builder = builder.http1_only();
        }
        if !c.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        if !c.proxy_url.is_empty() {
            let proxy = reqwest::Proxy::all(&c.proxy_url).map_err(|e| format!("proxy_url: {e}"))?;
            builder = builder.proxy(proxy);
        }
        let client = tls_options(builder, &c.tls)?
            .build()
            .map_err(|e| format!("failed to create the HTTP client: {e}"))?;
        let dump_level = match c.dump_request_log_level.as_str() {
            "" => None,
            "TRACE" => Some(tracing::Level::TRACE),
            "DEBUG" => Some(tracing::Level::DEBUG),
            "INFO" => Some(tracing::Level::INFO),
            "WARN" => Some(tracing::Level::WARN),
            // Bento's FATAL logs at its highest level too.
            "ERROR" | "FATAL" => Some(tracing::Level::ERROR),
            other => return Err(format!("dump_request_log_level: unknown level {other}")),
        };
        let mut headers = Vec::new();
        for (k, v) in &c.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("headers: {k}: {e}"))?;
            headers.push((name, v.clone()));
        }
        Ok(HttpClient {
            client,
            url: c.url.clone(),
            verb: reqwest::Method::from_bytes(c.verb.to_ascii_uppercase().as_bytes())
                .map_err(|e| format!("verb: {e}"))?,
            headers,
            metadata: MetadataFilter::new(&c.metadata).map_err(|e| format!("metadata: {e}"))?,
            extract: MetadataFilter::new(&c.extract_headers)
                .map_err(|e| format!("extract_headers: {e}"))?,
            payload: c.payload.clone(),
            retry_period: c.retry_period,
            max_backoff: c.max_retry_backoff,
            retries: u32::try_from(c.retries.max(0)).unwrap_or(u32::MAX),
            backoff_on: c.backoff_on.clone(),
            drop_on: c.drop_on.clone(),
            successful_on: c.successful_on.clone(),
            basic_auth: c
                .basic_auth
                .enabled
                .then(|| (c.basic_auth.username.clone(), c.basic_auth.password.clone())),
            rate_limit,
            dump_level,
            oauth: c.oauth.enabled.then(|| c.oauth.clone()),
            multipart: Vec::new(),
            jwt: c.jwt.enabled.then(|| jwt_token(&c.jwt)).transpose()?,
            oauth2: c.oauth2.enabled.then(|| OAuth2 {
                client_key: c.oauth2.client_key.clone(),
                client_secret: c.oauth2.client_secret.clone(),
                token_url: c.oauth2.token_url.clone(),
                scopes: c.oauth2.scopes.clone(),
                endpoint_params: c.oauth2.endpoint_params.clone(),
                token: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The `http_client` output's `multipart` parts: each request sends them, rendered for its
    /// message, as a multipart body instead of the message.
    pub fn with_multipart(mut self, parts: &[MultipartPartConfig]) -> HttpClient {
        for p in parts {
            self.multipart.push([
                p.content_type.clone(),
                p.content_disposition.clone(),
                p.body.clone(),
            ]);
        }
        self
    }

    /// The whole batch as one multipart request (the output's `batch_as_multipart`): the URL
    /// and headers of its first message, one part per message typed by the `Content-Type`
    /// header rendered for it (`application/octet-stream` without one), as Bento sends them.
    fn build_multipart(&self, batch: &[Message]) -> Result<reqwest::RequestBuilder, String> {
        let rb = self.build(batch, 0)?;
        let content_type = self
            .headers
            .iter()
            .find(|(n, _)| n == reqwest::header::CONTENT_TYPE)
            .map(|(_, v)| v);
        let mut parts = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
            let ct = match content_type {
                Some(v) => v
                    .render(batch, i)
                    .map_err(|e| format!("headers.Content-Type: {e}"))?,
                None => "application/octet-stream".to_owned(),
            };
            parts.push((vec![("Content-Type", ct)], m.bytes().to_vec()));
        }
        self.multipart_request(rb, &parts)
    }

    /// The request `rb` with a multipart body of `parts`: its own `Content-Type` replaces any
    /// configured one, which (rendered per part) types the parts instead.
    fn multipart_request(
        &self,
        rb: reqwest::RequestBuilder,
        parts: &[crate::http::MultipartPart<'_>],
    ) -> Result<reqwest::RequestBuilder, String> {
        let (content_type, body) = crate::http::multipart_form(parts);
        let mut req = rb.body(body).build().map_err(|e| e.to_string())?;
        let ct = HeaderValue::from_str(&content_type).map_err(|e| e.to_string())?;
        req.headers_mut().insert(reqwest::header::CONTENT_TYPE, ct);
        Ok(reqwest::RequestBuilder::from_parts(
            self.client.clone(),
            req,
        ))
    }

    fn build(&self, batch: &[Message], i: usize) -> Result<reqwest::RequestBuilder, String> {
        let url = self.url.render(batch, i).map_err(|e| format!("url: {e}"))?;
        let mut rb = self.client.request(self.verb.clone(), url);
        for (k, v) in batch[i].meta() {
            if self.metadata.matches(k) {
                rb = rb.header(k.as_ref(), v.to_string());
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
        if !self.multipart.is_empty() {
            let mut parts = Vec::with_capacity(self.multipart.len());
            for (k, [ct, cd, body]) in self.multipart.iter().enumerate() {
                let render = |v: &InterpolatedString, name: &str| {
                    v.render(batch, i)
                        .map_err(|e| format!("multipart.{k}.{name}: {e}"))
                };
                parts.push((
                    vec![
                        ("Content-Type", render(ct, "content_type")?),
                        ("Content-Disposition", render(cd, "content_disposition")?),
                    ],
                    render(body, "body")?.into_bytes(),
                ));
            }
            return self.multipart_request(rb, &parts);
        }
        let body: Bytes = match &self.payload {
            Some(p) => Bytes::from(p.render(batch, i).map_err(|e| format!("payload: {e}"))?),
            None => batch[i].bytes().clone(),
        };
        Ok(rb.body(body))
    }

    /// Send message `i` of `batch`, retrying as configured.
    pub async fn send(&self, batch: &[Message], i: usize) -> Result<HttpResponse, HttpError> {
        self.send_with(batch, i, false).await
    }

    /// Send the whole batch as one multipart request, retrying as configured.
    pub async fn send_multipart(&self, batch: &[Message]) -> Result<HttpResponse, HttpError> {
        self.send_with(batch, 0, true).await
    }

    async fn send_with(
        &self,
        batch: &[Message],
        i: usize,
        multipart: bool,
    ) -> Result<HttpResponse, HttpError> {
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
            let built = match multipart {
                true => self.build_multipart(batch),
                false => self.build(batch, i),
            };
            let mut rb = built.map_err(|message| HttpError {
                status: None,
                message,
            })?;
            if let Some(token) = &self.jwt {
                rb = rb.bearer_auth(token);
            }
            if let Some(o) = &self.oauth2 {
                let token = o.token(&self.client).await.map_err(|message| HttpError {
                    status: None,
                    message,
                })?;
                rb = rb.bearer_auth(token);
            }
            let sent = match rb.build() {
                Ok(mut req) => {
                    if let Some(o) = &self.oauth {
                        let auth = o
                            .authorization(req.method().as_str(), req.url().as_str())
                            .map_err(|message| HttpError {
                                status: None,
                                message,
                            })?;
                        let value = HeaderValue::from_str(&auth).map_err(|e| HttpError {
                            status: None,
                            message: format!("oauth: {e}"),
                        })?;
                        req.headers_mut()
                            .insert(reqwest::header::AUTHORIZATION, value);
                    }
                    if let Some(level) = self.dump_level {
                        dump(level, "HTTP request", &request_text(&req));
                    }
                    self.client.execute(req).await
                }
                Err(e) => Err(e),
            };
            let (err, exponential) = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let code = status.as_u16();
                    let headers = resp.headers().clone();
                    let url = redacted(resp.url());
                    let body = match read_limited(resp, MAX_RESPONSE_BYTES).await {
                        Ok(b) => {
                            if let Some(level) = self.dump_level {
                                let text = format!("{status}\n{}", String::from_utf8_lossy(&b));
                                dump(level, "HTTP response", &text);
                            }
                            b
                        }
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
                        // Bento's text: the URL first, the body without its line breaks.
                        message: format!(
                            "{url}: HTTP request returned unexpected response code ({code}): {code} {}, Error: {}",
                            status.canonical_reason().unwrap_or(""),
                            String::from_utf8_lossy(&body).replace('\n', "")
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
                    m.insert(key.into(), Value::from(s));
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
