//! `http_server`: receives messages as HTTP requests and answers each request once its message
//! was delivered (or with the error that stopped it).
//!
//! Without an `address` the path is served by the management server; with one, by a server of
//! its own. A request becomes one message carrying the request's metadata; the response waits
//! for the transaction's acknowledgement: 200 with the `sync_response` reply (or an empty body),
//! 502 with the error text on a nack, 408 after `timeout`, 503 while shutting down.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use regex::Regex;
use tokio::sync::{mpsc, oneshot};

use crate::bloblang::InterpolatedString;
use crate::components::{BuildCtx, BuildError, ComponentError, Delivery, Input, Intake, Plugin};
use crate::http::{text, ApiState, Body, Handler, Peer};
use crate::message::ack::AckFn;
use crate::message::{
    AckStatus, Batch, Deferred, Message, Metadata, MetadataSource, SyncResponse, Value,
};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldSpec, FieldType, Refused};

component_config! {
    pub struct HttpServerConfig {
        pub address: String = string("An address to listen on; empty serves the path on the management server (`http.address`).").default(""),
        pub path: String = string("The path to receive requests on. `{name}` segments and `{name:regex}` variables become metadata; a trailing `/` matches every path below.").default("/post"),
        pub allowed_verbs: Vec<String> = array(FieldType::String, "HTTP verbs accepted.").default(serde_json::json!(["POST"])),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub timeout: Duration = string("How long to wait for a message to be delivered before answering 408.").default("5s").duration(),
        pub rate_limit: String = string("A rate limit resource to apply to requests: over the limit a request is answered 429 with a `Retry-After` header; an error of the rate limit gives 502.").default(""),
        pub max_body_size: i64 = int("The largest request body accepted, in bytes (413 beyond). An engine extension.").default(10 * 1024 * 1024).advanced(),
        pub cors: CorsConfig = object("Cross-origin resource sharing headers.", CorsConfig::fields()).default(serde_json::json!({})).advanced(),
        pub sync_response: SyncResponseConfig = object("How the response to a request is built from the stored reply.", SyncResponseConfig::fields()).default(serde_json::json!({})).advanced(),
        pub prefix_metadata_keys: bool = bool("Whether to prefix metadata keys extracted from headers with `header_`, keys extracted from path parameters with `path_`, keys extracted from query parameters with `query_`, and keys extracted from cookies with `cookie_`, in order to avoid naming collisions between headers, path parameters, query parameters and cookies.").default(false).advanced(),
        #[serde(skip)]
        #[allow(dead_code)]
        ws_path: Refused = refused("websocket connections are not built").default("/post/ws"),
        #[serde(skip)]
        #[allow(dead_code)]
        ws_welcome_message: Refused = refused("websocket connections are not built").default(""),
        #[serde(skip)]
        #[allow(dead_code)]
        ws_rate_limit_message: Refused = refused("websocket connections are not built").default(""),
        pub cert_file: String = string("Enable TLS by specifying a certificate and key file (PEM). Only valid with a custom `address`; the inputs sharing an address must give the same files.").default("").advanced(),
        pub key_file: String = string("Enable TLS by specifying a certificate and key file (PEM; PKCS#8, PKCS#1 or SEC1). Only valid with a custom `address`.").default("").advanced(),
    }
}

component_config! {
    pub struct CorsConfig {
        pub enabled: bool = bool("Whether to answer CORS preflight requests and add CORS headers.").default(false),
        pub allowed_origins: Vec<String> = array(FieldType::String, "An explicit list of origins that are allowed for CORS requests (`*` for any); at least one when enabled.").default(serde_json::json!([])),
        pub allowed_headers: Vec<String> = array(FieldType::String, "Appends additional headers to the list of default allowed headers: Accept, Accept-Language, Content-Language & Origin. These default headers are therefore always allowed.").default(serde_json::json!([])),
        pub allowed_methods: Vec<String> = array(FieldType::String, "Used to explicitly set allowed methods in the Access-Control-Allow-Methods header.").default(serde_json::json!(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])),
    }
}

/// Bento's CORS middleware is gorilla/handlers' `CORS`; this answers as it does.
struct Cors {
    origins: Vec<String>,
    /// Canonical header names (`Content-Type`), the always-allowed four first.
    headers: Vec<String>,
    methods: Vec<String>,
}

/// Headers and methods that gorilla allows without a word in its answer.
const CORS_SIMPLE_HEADERS: [&str; 4] = ["Accept", "Accept-Language", "Content-Language", "Origin"];
const CORS_SIMPLE_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

impl Cors {
    fn new(c: &CorsConfig) -> Result<Option<Cors>, String> {
        if !c.enabled {
            return Ok(None);
        }
        if c.allowed_origins.is_empty() {
            return Err("cors: must specify at least one allowed origin".into());
        }
        let mut headers: Vec<String> = CORS_SIMPLE_HEADERS.iter().map(|h| h.to_string()).collect();
        headers.extend(
            c.allowed_headers
                .iter()
                .map(|h| canonical_header(h.trim()).into_owned()),
        );
        Ok(Some(Cors {
            origins: c.allowed_origins.clone(),
            headers,
            methods: c
                .allowed_methods
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
        }))
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    /// The headers of the answer to a request from an allowed origin, or for a preflight
    /// request the status that refuses it.
    fn answer(
        &self,
        req: &Request<Incoming>,
        origin: &str,
    ) -> Result<Vec<(&'static str, String)>, StatusCode> {
        let mut out = Vec::new();
        if req.method() == hyper::Method::OPTIONS {
            let method = req
                .headers()
                .get("access-control-request-method")
                .ok_or(StatusCode::BAD_REQUEST)?
                .to_str()
                .unwrap_or_default();
            if !self.methods.iter().any(|m| m == method) {
                return Err(StatusCode::METHOD_NOT_ALLOWED);
            }
            let asked = req
                .headers()
                .get("access-control-request-headers")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let mut allowed = Vec::new();
            for h in asked
                .split(',')
                .map(|h| canonical_header(h.trim()).into_owned())
            {
                if h.is_empty() || CORS_SIMPLE_HEADERS.contains(&h.as_str()) {
                    continue;
                }
                if !self.headers.contains(&h) {
                    return Err(StatusCode::FORBIDDEN);
                }
                allowed.push(h);
            }
            if !allowed.is_empty() {
                out.push(("access-control-allow-headers", allowed.join(",")));
            }
            if !CORS_SIMPLE_METHODS.contains(&method) {
                out.push(("access-control-allow-methods", method.to_owned()));
            }
        }
        if self.origins.len() > 1 {
            out.push(("vary", "Origin".to_owned()));
        }
        let origin = if self.origins.iter().any(|o| o == "*") {
            "*"
        } else {
            origin
        };
        out.push(("access-control-allow-origin", origin.to_owned()));
        Ok(out)
    }
}

component_config! {
    pub struct SyncResponseConfig {
        pub status: InterpolatedString = string("The status code of the response.").interpolated().default("200").example("${! @status.or(\"200\") }"),
        pub headers: std::collections::BTreeMap<String, InterpolatedString> = map(FieldType::String, "Headers of the response.").default(serde_json::json!({"Content-Type": "application/octet-stream"})),
        pub metadata_headers: MetadataFilterConfig = spec(metadata_filter_field("metadata_headers", "Metadata of the reply copied into response headers.")),
    }
}

component_config! {
    pub struct MetadataFilterConfig {
        pub include_prefixes: Vec<String> = array(FieldType::String, "Metadata keys with any of these prefixes are included.").default(serde_json::json!([])),
        pub include_patterns: Vec<String> = array(FieldType::String, "Metadata keys matching any of these regular expressions are included.").default(serde_json::json!([])),
    }
}

/// The `include_prefixes`/`include_patterns` metadata filter fields, shared by components that
/// copy metadata into headers or back.
pub fn metadata_filter_field(name: &'static str, description: &'static str) -> FieldSpec {
    FieldSpec::object(name, description, MetadataFilterConfig::fields())
        .default(serde_json::json!({}))
}

/// A compiled metadata filter.
#[derive(Clone, Default)]
pub struct MetadataFilter {
    prefixes: Vec<String>,
    patterns: Vec<Regex>,
}

impl MetadataFilter {
    pub fn new(c: &MetadataFilterConfig) -> Result<MetadataFilter, String> {
        let patterns = c
            .include_patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| format!("include_patterns: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(MetadataFilter {
            prefixes: c.include_prefixes.clone(),
            patterns,
        })
    }

    pub fn matches(&self, key: &str) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
            || self.patterns.iter().any(|r| r.is_match(key))
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("http_server", ComponentKind::Input, "Receive messages as HTTP requests and answer each once it was processed.")
        .description("The request body becomes a message (a `multipart/*` body one message per part); metadata holds `http_server_user_agent`, `http_server_request_path` (decoded), `http_server_verb`, `http_server_remote_ip`, every header (first value), query parameter, path variable (`{name}`, or gorilla/mux's `{name:regex}`) and cookie. With an empty `address` the path is served on the management server, also under `http.root_path`. Several stored replies are answered as `multipart/form-data`; a reply without a `Content-Type` in `sync_response.headers` gets one sniffed from its body, as Go's `http.DetectContentType` does. The response waits until the message was delivered: 200 with what a `sync_response` output or processor stored (an empty body when nothing did), 502 with the error text when it was rejected (an empty 502, and an error logged, when `sync_response.status` does not give a status code), 408 after `timeout`, 503 while shutting down, 405 for a verb not allowed, 413 for a body over `max_body_size`.")
        .fields(HttpServerConfig::fields())
        .example(
            "An API that answers with the processed document",
            "input:\n  http_server:\n    path: /infer\n    allowed_verbs: [ POST ]\n    sync_response:\n      headers:\n        Content-Type: application/json\npipeline:\n  processors:\n    - mapping: 'root.received = this'\noutput:\n  sync_response: {}\n",
        )
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

/// A request waiting for the stream: its message and where to send the verdict.
type Pending = (Batch, oneshot::Sender<AckStatus>);

struct Responder {
    status: InterpolatedString,
    headers: Vec<(HeaderName, InterpolatedString)>,
    metadata_headers: MetadataFilter,
}

struct Route {
    path: String,
    pattern: Arc<crate::http::RoutePattern>,
    /// Compared as methods, not strings: no text to read for the common verbs. A verb that is
    /// not an HTTP token can match no request, as in Bento, and is left out.
    verbs: Vec<hyper::Method>,
    timeout: Duration,
    max_body: usize,
    cors: Option<Cors>,
    tx: mpsc::Sender<Pending>,
    rate_limit: Option<Arc<crate::components::rate_limits::RateLimitStage>>,
    responder: Responder,
    api: Arc<ApiState>,
    /// Set once the input closes; an atomic, as every request reads it.
    closed: std::sync::atomic::AtomicBool,
    /// Where requests go when the runtime offered it ([`Input::take_intake`]), rather than
    /// through `tx` to `read`.
    intake: OnceLock<Weak<dyn Intake>>,
    prefix_metadata_keys: bool,
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: HttpServerConfig = ctx.parse(conf)?;
    let timeout = c.timeout;
    let status = c.sync_response.status.clone();
    let mut headers = Vec::new();
    for (k, v) in &c.sync_response.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| ctx.error(format!("sync_response.headers: {k}: {e}")))?;
        headers.push((name, v.clone()));
    }
    let metadata_headers = MetadataFilter::new(&c.sync_response.metadata_headers)
        .map_err(|e| ctx.error(format!("sync_response.metadata_headers: {e}")))?;
    let rate_limit = match c.rate_limit.as_str() {
        "" => None,
        label => Some(ctx.resources.rate_limit(label).ok_or_else(|| {
            ctx.error(format!(
                "rate_limit: rate limit resource '{label}' was not found"
            ))
        })?),
    };
    let tls = server_tls(&c).map_err(|e| ctx.error(e))?;
    let (tx, rx) = mpsc::channel(64);
    let server = (!c.address.is_empty()).then(|| ctx.shared.server(&c.address));
    if let (Some(s), Some(_)) = (&server, &tls) {
        s.claim_tls((c.cert_file.clone(), c.key_file.clone()))
            .map_err(|e| ctx.error(e))?;
    }
    let api = match &server {
        Some(s) => {
            s.join();
            s.api.clone()
        }
        None => ctx.shared.api.clone(),
    };
    let pattern = Arc::new(
        crate::http::RoutePattern::new(&c.path).map_err(|e| ctx.error(format!("path: {e}")))?,
    );
    let route = Arc::new(Route {
        path: c.path.clone(),
        pattern,
        verbs: c
            .allowed_verbs
            .iter()
            .filter_map(|v| hyper::Method::from_bytes(v.to_ascii_uppercase().as_bytes()).ok())
            .collect(),
        timeout,
        max_body: usize::try_from(c.max_body_size.max(0)).unwrap_or(usize::MAX),
        cors: Cors::new(&c.cors).map_err(|e| ctx.error(e))?,
        tx,
        rate_limit,
        responder: Responder {
            status,
            headers,
            metadata_headers,
        },
        api: api.clone(),
        closed: std::sync::atomic::AtomicBool::new(false),
        intake: OnceLock::new(),
        prefix_metadata_keys: c.prefix_metadata_keys,
    });
    Ok(Box::new(HttpServerInput {
        route,
        rx,
        server: server.map(|s| (c.address, s)),
        tls,
        api,
        connected: false,
    }))
}

/// The TLS settings of `cert_file` and `key_file`, read and checked at build time.
fn server_tls(c: &HttpServerConfig) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    match (c.cert_file.as_str(), c.key_file.as_str()) {
        ("", "") => return Ok(None),
        ("", _) | (_, "") => return Err("cert_file and key_file must be given together".into()),
        _ if c.address.is_empty() => {
            return Err("cert_file and key_file are only valid with a custom address".into())
        }
        _ => {}
    }
    let certs = CertificateDer::pem_file_iter(&c.cert_file)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cert_file {}: {e}", c.cert_file))?;
    if certs.is_empty() {
        return Err(format!("cert_file {}: no certificate in it", c.cert_file));
    }
    let key = PrivateKeyDer::from_pem_file(&c.key_file)
        .map_err(|e| format!("key_file {}: {e}", c.key_file))?;
    crate::http::install_tls_provider();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert_file/key_file: {e}"))?;
    Ok(Some(Arc::new(config)))
}

pub struct HttpServerInput {
    route: Arc<Route>,
    rx: mpsc::Receiver<Pending>,
    /// The address of its own and the server it shares with other inputs on that address.
    server: Option<(String, Arc<crate::http::AddressServer>)>,
    tls: Option<Arc<rustls::ServerConfig>>,
    api: Arc<ApiState>,
    connected: bool,
}

#[async_trait]
impl Input for HttpServerInput {
    // Requests wait in a channel until a read takes one.
    fn reads_cancel_safely(&self) -> bool {
        true
    }

    fn take_intake(&mut self, intake: Weak<dyn Intake>) -> bool {
        self.route.intake.set(intake).is_ok()
    }

    async fn connect(&mut self) -> Result<(), ComponentError> {
        if self.connected {
            return Ok(());
        }
        let route = self.route.clone();
        let handler: Handler = Arc::new(move |req, peer| route.clone().handle(req, peer));
        self.api.add_route(
            self.route.pattern.clone(),
            &self.route.path,
            "Receives messages (http_server input).",
            handler,
        );
        if let Some((addr, server)) = &self.server {
            let started = server
                .start(addr, self.tls.clone())
                .await
                .map_err(|e| ComponentError::failed(format!("failed to listen on {addr}: {e}")))?;
            if let Some(bound) = started {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                tracing::info!("Listening for HTTP requests at: {scheme}://{bound}");
            }
        }
        tracing::info!("Receiving HTTP messages at: {}", self.route.path);
        self.connected = true;
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        let next = self.rx.recv().await;
        match next {
            Some((batch, reply)) => Ok((
                batch,
                Box::new(move |status| {
                    let _ = reply.send(status);
                    Box::pin(async {})
                }),
            )),
            None => Err(ComponentError::EndOfInput),
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        // New requests get 503; those already queued are dropped, which answers them 503 too.
        self.route.closed.store(true, Ordering::Relaxed);
        self.rx.close();
        if let Some((_, server)) = self.server.take() {
            // Requests already in the stream are answered as their messages are delivered;
            // the stream's own shutdown timeout bounds that, this one only the connections.
            server.leave(std::time::Duration::from_secs(60)).await;
        }
        Ok(())
    }
}

impl Route {
    /// The answer to a request. Without CORS (most routes) it is the request's own future,
    /// boxed as it is made: one future built and moved instead of one inside another.
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: Arc<Peer>,
    ) -> BoxFuture<'static, Response<Body>> {
        let cors = match &self.cors {
            None => return self.respond(req, peer),
            Some(cors) => Self::cors_headers(cors, &req),
        };
        let headers = match cors {
            ControlFlow::Continue(headers) => headers,
            ControlFlow::Break(answer) => return Box::pin(std::future::ready(answer)),
        };
        Box::pin(async move {
            let mut resp = self.respond(req, peer).await;
            add_headers(&mut resp, headers);
            resp
        })
    }

    /// The CORS headers of the answer to `req`, or the whole answer when it is a preflight
    /// request or refused.
    fn cors_headers(
        cors: &Cors,
        req: &Request<Incoming>,
    ) -> ControlFlow<Response<Body>, Vec<(&'static str, String)>> {
        let origin = req
            .headers()
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .unwrap_or_default();
        let preflight = req.method() == hyper::Method::OPTIONS;
        if !cors.origin_allowed(origin) {
            // gorilla answers a preflight from elsewhere with an empty 200 and passes the rest.
            return match preflight {
                true => ControlFlow::Break(text(StatusCode::OK, "")),
                false => ControlFlow::Continue(Vec::new()),
            };
        }
        let headers = match cors.answer(req, origin) {
            Ok(headers) => headers,
            Err(status) => return ControlFlow::Break(text(status, "")),
        };
        if !preflight {
            return ControlFlow::Continue(headers);
        }
        let mut resp = text(StatusCode::OK, "");
        add_headers(&mut resp, headers);
        ControlFlow::Break(resp)
    }

    /// The answer to a request, without CORS headers: at once when it is refused, else the
    /// future that reads, delivers and answers it. The checks that need no waiting are made
    /// before the future, which then holds the request's head and body rather than the whole
    /// request beside them.
    fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: Arc<Peer>,
    ) -> BoxFuture<'static, Response<Body>> {
        let now = |r| -> BoxFuture<'static, Response<Body>> { Box::pin(std::future::ready(r)) };
        if self.closed.load(Ordering::Relaxed) || self.api.shutting_down.load(Ordering::Relaxed) {
            return now(closing());
        }
        if !self.verbs.contains(req.method()) {
            return now(text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n"));
        }
        // The head goes where its message will keep it, once: the future then holds a
        // pointer, not the head's 224 bytes, and is moved and boxed smaller.
        let (head, body) = req.into_parts();
        let request = Deferred::new(RequestMetadata {
            head,
            peer,
            route: self.clone(),
        });
        if self.rate_limit.is_none() {
            return Box::pin(self.receive(request, body));
        }
        Box::pin(async move {
            match self.rate_limited().await {
                Some(answer) => answer,
                None => self.receive(request, body).await,
            }
        })
    }

    /// The answer when the rate limit refuses a request now.
    async fn rate_limited(&self) -> Option<Response<Body>> {
        let rl = self.rate_limit.as_ref()?;
        match rl.access().await {
            Ok(wait) if !wait.is_zero() => {
                let mut r = text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(secs.max(1)));
                Some(r)
            }
            Ok(_) => None,
            Err(e) => Some(text(
                StatusCode::BAD_GATEWAY,
                format!("rate limit failed: {e}\n"),
            )),
        }
    }

    /// Read a request's body, deliver it and answer with its fate. An `async` block, not an
    /// `async fn`: an `async fn`'s future keeps its arguments twice (as given, and moved into
    /// its body).
    #[allow(clippy::manual_async_fn)]
    fn receive(
        self: Arc<Self>,
        request: Arc<Deferred<RequestMetadata>>,
        body: Incoming,
    ) -> impl std::future::Future<Output = Response<Body>> + Send + 'static {
        async move {
            let content_type = request
                .source()
                .head
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let body = match read_body(body, self.max_body).await {
                Ok(b) => b,
                Err(e) => {
                    return if e
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        text(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("request body larger than {} bytes\n", self.max_body),
                        )
                    } else {
                        text(
                            StatusCode::BAD_REQUEST,
                            format!("failed to read request body: {e}\n"),
                        )
                    };
                }
            };
            let parts = match request_parts(content_type, body).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("Request read failed: {e}");
                    return text(StatusCode::BAD_REQUEST, "Bad request\n");
                }
            };
            // A multipart body without parts has nothing to deliver: delivered, whichever way the
            // stream takes requests.
            if matches!(&parts, Parts::Many(p) if p.is_empty()) {
                return self.responder.reply(Vec::new());
            }
            // The intake when the runtime offered it; the request is queued for `read` without.
            let intake = match self.intake.get().map(Weak::upgrade) {
                None => None,
                Some(Some(intake)) => Some(intake),
                Some(None) => return closing(),
            };
            // A place for the reply only where something on the way may store one: through a
            // stream whose output settles at once and stores none (`drop`) the answer is an
            // empty 200 whatever happens, and the place would cost an allocation and a lock.
            let slot = intake
                .as_ref()
                .is_none_or(|i| i.keeps_replies())
                .then(|| Arc::new(SyncResponse::default()));
            // Every part carries the request's metadata (built when first read) and its reply slot.
            let (mut template, many) = match parts {
                Parts::One(body) => (Message::from_bytes(body), None),
                Parts::Many(parts) => (Message::default(), Some(parts)),
            };
            template.set_deferred(request);
            if let Some(slot) = &slot {
                template.set_sync_response(slot.clone());
            }
            let batch: Batch = match many {
                None => vec![template],
                Some(parts) => parts
                    .into_iter()
                    .map(|part| {
                        let mut msg = template.clone();
                        msg.set_bytes(part);
                        msg
                    })
                    .collect(),
            };
            // The waits (a delivery on its way, a request queued for `read`) are futures of their
            // own, boxed when needed: this one, made for every request, then need not hold them.
            let Some(intake) = intake else {
                return Box::pin(self.queued(batch, slot)).await;
            };
            // Where the acknowledgement comes when the delivery does not settle at once.
            let mut reply_rx = None;
            let mut ack = || -> AckFn {
                let (reply_tx, rx) = oneshot::channel();
                reply_rx = Some(rx);
                Box::new(move |status| {
                    let _ = reply_tx.send(status);
                    Box::pin(async {})
                })
            };
            let delivery = match intake.deliver(batch, &mut ack) {
                Delivery::Refused => return closing(),
                Delivery::Settled(status) => return self.answer(Some(status), slot.as_deref()),
                Delivery::Pending(delivery) => delivery,
            };
            Box::pin(self.delivering(delivery, reply_rx, slot)).await
        }
    }

    /// The answer to a request whose delivery is on its way: once it was taken, its fate, or
    /// 408 when `timeout` passes first.
    async fn delivering(
        &self,
        mut delivery: BoxFuture<'static, bool>,
        reply_rx: Option<oneshot::Receiver<AckStatus>>,
        slot: Option<Arc<SyncResponse>>,
    ) -> Response<Body> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, &mut delivery).await {
            Ok(true) => {}
            Ok(false) => return closing(),
            Err(_) => {
                // The request was taken: it goes on without its client, as one queued for
                // `read` would.
                tokio::spawn(delivery);
                return timed_out();
            }
        }
        match reply_rx {
            Some(reply_rx) => {
                self.answer_when_acknowledged(reply_rx, deadline, slot.as_deref())
                    .await
            }
            // Taken without asking for an acknowledgement: nothing will tell its fate.
            None => closing(),
        }
    }

    /// The answer to a request queued for `read` (the runtime did not offer the intake).
    async fn queued(&self, batch: Batch, slot: Option<Arc<SyncResponse>>) -> Response<Body> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let (reply_tx, reply_rx) = oneshot::channel();
        if let Err(answer) = self.queue((batch, reply_tx), deadline).await {
            return answer;
        }
        self.answer_when_acknowledged(reply_rx, deadline, slot.as_deref())
            .await
    }

    /// The answer once the acknowledgement comes, or 408 at `deadline`.
    async fn answer_when_acknowledged(
        &self,
        mut reply_rx: oneshot::Receiver<AckStatus>,
        deadline: tokio::time::Instant,
        slot: Option<&SyncResponse>,
    ) -> Response<Body> {
        let status = match reply_rx.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, reply_rx).await {
                    Err(_) => return timed_out(),
                    Ok(status) => status.ok(),
                }
            }
            status => status.ok(),
        };
        self.answer(status, slot)
    }

    /// The answer for a request's fate; None when it was dropped unacknowledged (the stream
    /// stopped).
    fn answer(&self, status: Option<AckStatus>, slot: Option<&SyncResponse>) -> Response<Body> {
        match status {
            None => closing(),
            Some(AckStatus::Failed(e)) => text(StatusCode::BAD_GATEWAY, format!("{e}\n")),
            Some(AckStatus::Delivered) => self
                .responder
                .reply(slot.map(SyncResponse::take).unwrap_or_default()),
        }
    }

    /// Queue a request for `read`; the answer when it cannot be.
    async fn queue(
        &self,
        pending: Pending,
        deadline: tokio::time::Instant,
    ) -> Result<(), Response<Body>> {
        // Only a full queue needs the timer: most requests find room at once.
        match self.tx.try_send(pending) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(closing()),
            Err(mpsc::error::TrySendError::Full(pending)) => tokio::select! {
                r = self.tx.send(pending) => r.map_err(|_| closing()),
                _ = tokio::time::sleep_until(deadline) => Err(timed_out()),
            },
        }
    }

    /// Bento's order: headers (first value), then query parameters, `{name}` path segments and
    /// cookies, each overwriting a key set before it, unless `prefix_metadata_keys` keeps them
    /// apart (`header_`, `query_`, `path_`, `cookie_`).
    fn request_metadata(&self, req: &hyper::http::request::Parts, peer: &Peer) -> Metadata {
        let mut meta = Metadata::new();
        // The key as it stands, or behind its prefix.
        let key = |prefix: &str, k: Cow<'static, str>| -> Cow<'static, str> {
            match self.prefix_metadata_keys {
                true => format!("{prefix}{k}").into(),
                false => k,
            }
        };
        // The first value of each header, as Go's `Header.Get`: the map yields the values of a
        // name one after the other.
        let mut last: Option<&HeaderName> = None;
        for (k, v) in &req.headers {
            if last == Some(k) {
                continue;
            }
            last = Some(k);
            if let Ok(s) = v.to_str() {
                meta.insert(key("header_", canonical_header(k.as_str())), Value::from(s));
            }
        }
        let uri = &req.uri;
        if let Some(q) = uri.query() {
            let mut seen = std::collections::HashSet::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                // The first value of a repeated parameter, as Go's `Query()[k][0]`.
                if seen.insert(k.clone()) {
                    meta.insert(
                        key("query_", k.into_owned().into()),
                        Value::from(v.into_owned()),
                    );
                }
            }
        }
        let path = crate::http::decoded_path(uri.path());
        // The route matched to get here: the pattern runs again only for its variables.
        let params = self.pattern.has_variables().then(|| {
            self.pattern.captures(&path).or_else(|| {
                // Served under `http.root_path` as well: match what follows it.
                let root = &self.api.root_path;
                path.strip_prefix(root.as_str())
                    .filter(|_| !root.is_empty())
                    .and_then(|p| self.pattern.captures(p))
            })
        });
        for (name, value) in params.flatten().unwrap_or_default() {
            meta.insert(key("path_", name.into()), Value::from(value));
        }
        for header in req.headers.get_all(hyper::header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for c in cookie::Cookie::split_parse(text).flatten() {
                meta.insert(
                    key("cookie_", c.name().to_owned().into()),
                    Value::from(c.value_trimmed()),
                );
            }
        }
        meta.insert(
            "http_server_request_path".into(),
            Value::from(path.into_owned()),
        );
        meta.insert("http_server_verb".into(), Value::from(req.method.as_str()));
        if let Some(ua) = req
            .headers
            .get(hyper::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            meta.insert("http_server_user_agent".into(), Value::from(ua));
        }
        if let Some(tls) = &peer.tls {
            meta.insert("http_server_tls_version".into(), Value::from(tls.version));
            meta.insert(
                "http_server_tls_cipher_suite".into(),
                Value::from(tls.cipher_suite.as_str()),
            );
        }
        meta.insert(
            "http_server_remote_ip".into(),
            Value::from(peer.ip.as_str()),
        );
        meta
    }
}

/// A request's metadata, built from its head when the pipeline first reads it.
struct RequestMetadata {
    head: hyper::http::request::Parts,
    peer: Arc<Peer>,
    route: Arc<Route>,
}

impl MetadataSource for RequestMetadata {
    fn build(&self) -> Metadata {
        self.route.request_metadata(&self.head, &self.peer)
    }
}

impl Responder {
    fn reply(&self, parts: Vec<Message>) -> Response<Body> {
        let Some(first) = parts.first() else {
            return text(StatusCode::OK, "");
        };
        let batch = std::slice::from_ref(first);
        // As Bento: a status that does not render, or is not a number, is an empty 502 and a
        // logged error (Go's net/http panics on codes outside 100–999; engine answers 502).
        let status = match self.status.render(batch, 0) {
            Err(e) => {
                tracing::error!("Interpolation of response status code error: {e}");
                return text(StatusCode::BAD_GATEWAY, "");
            }
            Ok(s) => match s
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(code) => code,
                None => {
                    tracing::error!(
                        "Failed to parse sync response status code expression: {s:?} is not a status code"
                    );
                    return text(StatusCode::BAD_GATEWAY, "");
                }
            },
        };
        let mut resp = text(status, Bytes::new());
        for (name, value) in &self.headers {
            if let Ok(v) = value.render(batch, 0) {
                if let Ok(hv) = HeaderValue::from_str(&v) {
                    resp.headers_mut().insert(name.clone(), hv);
                }
            }
        }
        // Each reply's metadata headers, the last one's winning, as Bento writes them.
        for part in &parts {
            for (k, v) in part.meta() {
                if self.metadata_headers.matches(k) {
                    if let (Ok(n), Ok(hv)) = (
                        HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(&v.to_string()),
                    ) {
                        resp.headers_mut().insert(n, hv);
                    }
                }
            }
        }
        let body = match parts.as_slice() {
            [one] => {
                if !resp.headers().contains_key(hyper::header::CONTENT_TYPE) {
                    resp.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        HeaderValue::from_static(detect_content_type(one.bytes())),
                    );
                }
                one.bytes().clone()
            }
            // Several replies go back as `multipart/form-data`, each part typed by a
            // `content-type` header of `sync_response.headers` (interpolated for it) or
            // sniffed, as Bento's multipart writer types them.
            many => {
                let custom = self
                    .headers
                    .iter()
                    .find(|(n, _)| n.as_str() == "content-type")
                    .map(|(_, v)| v);
                let typed: Vec<crate::http::MultipartPart<'_>> = many
                    .iter()
                    .enumerate()
                    .map(|(i, part)| {
                        let ct = custom
                            .and_then(|v| v.render(&parts, i).ok())
                            .unwrap_or_else(|| detect_content_type(part.bytes()).to_owned());
                        (vec![("Content-Type", ct)], part.bytes().to_vec())
                    })
                    .collect();
                let (content_type, body) = crate::http::multipart_form(&typed);
                if let Ok(hv) = HeaderValue::from_str(&content_type) {
                    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hv);
                }
                Bytes::from(body)
            }
        };
        *resp.body_mut() = Body::from(body);
        resp
    }
}

/// The usual header names (as hyper holds them, lower case) and their canonical form, so that
/// these need no work nor an allocation.
const KNOWN_HEADERS: [(&str, &str); 16] = [
    ("accept", "Accept"),
    ("accept-encoding", "Accept-Encoding"),
    ("accept-language", "Accept-Language"),
    ("authorization", "Authorization"),
    ("cache-control", "Cache-Control"),
    ("connection", "Connection"),
    ("content-length", "Content-Length"),
    ("content-type", "Content-Type"),
    ("cookie", "Cookie"),
    ("host", "Host"),
    ("origin", "Origin"),
    ("referer", "Referer"),
    ("user-agent", "User-Agent"),
    ("x-api-key", "X-Api-Key"),
    ("x-forwarded-for", "X-Forwarded-For"),
    ("x-request-id", "X-Request-Id"),
];

/// Go's canonical header form (`content-type` → `Content-Type`), as Bento's metadata keys are.
fn canonical_header(k: &str) -> Cow<'static, str> {
    match KNOWN_HEADERS.iter().find(|(lower, _)| *lower == k) {
        Some((_, canonical)) => Cow::Borrowed(canonical),
        None => canonicalise(k).into(),
    }
}

/// Go's rule: upper case the first letter and each letter after a `-`, lower case the rest.
fn canonicalise(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut upper = true;
    for c in k.chars() {
        out.push(match upper {
            true => c.to_ascii_uppercase(),
            false => c.to_ascii_lowercase(),
        });
        upper = c == '-';
    }
    out
}

/// The messages of a request body.
enum Parts {
    One(Bytes),
    Many(Vec<Bytes>),
}

/// 503: the input is closing (or closed) and takes no more requests.
fn closing() -> Response<Body> {
    text(StatusCode::SERVICE_UNAVAILABLE, "Server closing\n")
}

/// 408: the request was not delivered, or not acknowledged, within `timeout`.
fn timed_out() -> Response<Body> {
    text(StatusCode::REQUEST_TIMEOUT, "Request timed out\n")
}

/// Add CORS headers to a response (a value that is not a valid header value is left out).
fn add_headers(resp: &mut Response<Body>, headers: Vec<(&'static str, String)>) {
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
}

/// A request's body, at most `max` bytes. A body that comes in one data frame (most do) is
/// kept as it came: `collect` would first queue it in a list allocated for it.
async fn read_body(
    body: Incoming,
    max: usize,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    let mut body = Limited::new(body, max);
    let mut first: Option<Bytes> = None;
    let mut joined = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            Some(f) => {
                joined.extend_from_slice(&f);
                joined.extend_from_slice(&data);
            }
            None => joined.extend_from_slice(&data),
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// One message per part of a `multipart/*` body, else the body, as Bento splits them (a
/// `Content-Type` that does not parse is a bad request).
async fn request_parts(content_type: Option<&str>, body: Bytes) -> Result<Parts, String> {
    // The common types first: a trim costs more than the comparison that makes it needless.
    let Some(ct) = content_type.filter(|c| !is_plain_media_type(c) && !c.trim().is_empty()) else {
        return Ok(Parts::One(body));
    };
    let mime: mime::Mime = ct.parse().map_err(|e| format!("mime: {e}"))?;
    if mime.type_() != mime::MULTIPART {
        return Ok(Parts::One(body));
    }
    // Boxed, so that the request future does not carry a multipart reader's size.
    Box::pin(multipart_parts(ct, body)).await.map(Parts::Many)
}

/// Whether `ct` is a well-formed media type without parameters and not `multipart/*`
/// (`application/json`): most requests, which then need no parse.
fn is_plain_media_type(ct: &str) -> bool {
    // The types most requests carry, compared whole before any byte is looked up.
    if ["application/json", "text/plain", "application/octet-stream"].contains(&ct) {
        return true;
    }
    let ct = ct.as_bytes();
    let Some(slash) = ct.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (kind, sub) = (&ct[..slash], &ct[slash + 1..]);
    let token = |s: &[u8]| !s.is_empty() && s.iter().all(|&b| TOKEN[usize::from(b)]);
    token(kind) && token(sub) && !kind.eq_ignore_ascii_case(b"multipart")
}

/// RFC 7230's token characters, by byte.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = matches!(b as u8, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'`' | b'|' | b'~');
        b += 1;
    }
    t
};

async fn multipart_parts(ct: &str, body: Bytes) -> Result<Vec<Bytes>, String> {
    let boundary = multer::parse_boundary(ct).map_err(|e| e.to_string())?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        parts.push(field.bytes().await.map_err(|e| e.to_string())?);
    }
    Ok(parts)
}

/// Go's `http.DetectContentType` (the WHATWG sniffing rules) for the types a reply is likely
/// to hold, which Bento sets when `sync_response.headers` gives no `Content-Type`.
pub fn detect_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(512)];
    let trimmed = {
        let start = data
            .iter()
            .position(|b| !matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
            .unwrap_or(data.len());
        &data[start..]
    };
    const HTML: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for tag in HTML {
        if trimmed.len() > tag.len()
            && trimmed[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(trimmed[tag.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    const EXACT: [(&[u8], &str); 14] = [
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"\xFE\xFF", "text/plain; charset=utf-16be"),
        (b"\xFF\xFE", "text/plain; charset=utf-16le"),
        (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"BM", "image/bmp"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1F\x8B\x08", "application/x-gzip"),
        (b"OggS\x00", "application/ogg"),
        (b"\x00asm", "application/wasm"),
    ];
    for (sig, ty) in EXACT {
        if data.starts_with(sig) {
            return ty;
        }
    }
    let binary = data
        .iter()
        .any(|b| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_media_types_are_those_that_need_no_parse() {
        for ct in [
            "application/json",
            "text/plain",
            "application/octet-stream",
            "Application/JSON",
            "application/vnd.api+json",
            "x/y",
        ] {
            assert!(is_plain_media_type(ct), "{ct}");
            let parsed: Result<mime::Mime, _> = ct.parse();
            assert!(parsed.is_ok_and(|m| m.type_() != mime::MULTIPART), "{ct}");
        }
        for ct in [
            "multipart/form-data",
            "MULTIPART/mixed",
            "text/plain; charset=utf-8",
            "application/",
            "/json",
            "json",
            "a/b/c",
            "text /plain",
        ] {
            assert!(!is_plain_media_type(ct), "{ct}");
        }
    }

    #[test]
    fn headers_are_canonicalised_like_go() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("x-api-key"), "X-Api-Key");
        assert_eq!(canonical_header("x-custom-thing"), "X-Custom-Thing");
        // The names spelled out in the table are what the general rule gives.
        for (name, canonical) in KNOWN_HEADERS {
            let general: String = name
                .split('-')
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect::<Vec<_>>()
                .join("-");
            assert_eq!(canonicalise(name), general);
            let got = canonical_header(name);
            assert!(
                matches!(got, Cow::Borrowed(_)),
                "{name} is not in the table"
            );
            assert_eq!(got, general);
            assert_eq!(got, canonical);
        }
    }
}
