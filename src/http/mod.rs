//! The management HTTP server: `/ping`, `/ready`, `/version`, `/endpoints`, `/metrics` (also
//! under `root_path`), plus the paths components register (the `http_server` input).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use futures::future::{BoxFuture, Either};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub type Body = Full<Bytes>;

/// Connection state of a stream's input and output, behind `/ready`.
#[derive(Default)]
pub struct Readiness {
    pub input: AtomicBool,
    pub output: AtomicBool,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.input.load(Ordering::Relaxed) && self.output.load(Ordering::Relaxed)
    }
}

/// Who is at the other end of a connection, worked out once per connection and handed to
/// every request on it (the request's extensions would cost a map per request).
#[derive(Debug)]
pub struct Peer {
    /// The remote IP as text, as `http_server_remote_ip` carries it.
    pub ip: String,
    pub tls: Option<TlsInfo>,
}

pub type Handler =
    Arc<dyn Fn(Request<Incoming>, Arc<Peer>) -> BoxFuture<'static, Response<Body>> + Send + Sync>;

/// What a request is answered with: a response at once, or a route's future.
type Answer = Either<std::future::Ready<Response<Body>>, BoxFuture<'static, Response<Body>>>;

/// What the server answers from; streams and components add to it before and while it runs.
#[derive(Default)]
pub struct ApiState {
    pub root_path: String,
    /// Readiness of each stream, by stream id ("" for the single stream of `engine run`).
    pub streams: RwLock<BTreeMap<String, Arc<Readiness>>>,
    /// Component endpoints: path → (description, handler).
    routes: RwLock<BTreeMap<String, Route>>,
    /// How many times `routes` changed: a connection keeps the routes it last read
    /// ([`RouteTable`]) and reads them again only when this moved, instead of taking the lock
    /// that every connection shares for each request.
    routes_changed: AtomicU64,
    pub shutting_down: std::sync::atomic::AtomicBool,
    /// `metrics: none`: no `/metrics` (or `/stats`) endpoint, as Bento serves none then.
    pub metrics_off: std::sync::atomic::AtomicBool,
    /// [`HEADER_READ_TIMEOUT`] unless set (tests shorten it).
    pub header_read_timeout: Option<std::time::Duration>,
}

pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

fn json(body: serde_json::Value) -> Response<Body> {
    let mut r = text(StatusCode::OK, body.to_string());
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

const BUILT_IN: &[(&str, &str)] = &[
    ("/ping", "Ping me."),
    (
        "/ready",
        "Returns 200 OK if all inputs and outputs are connected, otherwise a 503 is returned.",
    ),
    ("/version", "Returns the engine version."),
    ("/endpoints", "Returns this map of endpoints."),
    ("/metrics", "Metrics in Prometheus text format."),
    ("/stats", "Metrics in Prometheus text format."),
];

impl ApiState {
    pub fn new(root_path: &str) -> ApiState {
        ApiState {
            root_path: root_path.trim_end_matches('/').to_owned(),
            ..Default::default()
        }
    }

    pub fn add_stream(&self, id: &str, r: Arc<Readiness>) {
        if let Ok(mut s) = self.streams.write() {
            s.insert(id.to_owned(), r);
        }
    }

    pub fn add_route(&self, pattern: Arc<RoutePattern>, path: &str, description: &str, h: Handler) {
        if let Ok(mut r) = self.routes.write() {
            r.insert(path.to_owned(), (description.to_owned(), pattern, h));
            self.routes_changed.fetch_add(1, Ordering::Release);
        }
    }

    /// The answer to `req`: at once for the built-in endpoints, the route's future for a
    /// component's path. Routing is done here, before any future: the request future hyper
    /// keeps for each request is then just this answer, not a routing state holding a second
    /// copy of the request.
    fn route(&self, req: Request<Incoming>, peer: &Arc<Peer>, table: &mut RouteTable) -> Answer {
        let now = |r| Either::Left(std::future::ready(r));
        let full = req.uri().path();
        // Without a root path (most configs) there is nothing to strip, and `strip_prefix("")`
        // would still call `memcmp` for every request.
        let path = match self.root_path.as_str() {
            "" => full,
            root => match full.strip_prefix(root) {
                Some(p) if p.starts_with('/') => p,
                _ => full,
            },
        };
        match path {
            "/ping" => return now(text(StatusCode::OK, "pong")),
            "/ready" => return now(self.ready()),
            "/version" => {
                return now(json(serde_json::json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "built": option_env!("ENGINE_BUILD_DATE").unwrap_or("unknown"),
                })))
            }
            "/endpoints" => return now(json(self.endpoints())),
            "/metrics" | "/stats"
                if !self.metrics_off.load(std::sync::atomic::Ordering::Relaxed) =>
            {
                return now(text(StatusCode::OK, crate::metrics::render()))
            }
            _ => {}
        }
        // Routes answer at their path and, as Bento registers them, under `http.root_path`.
        let under_root = path.len() != full.len();
        let (full, path) = (decoded_path(full), under_root.then(|| decoded_path(path)));
        let handler = table
            .current(self)
            .iter()
            .find(|(p, _)| p.matches(&full) || path.as_ref().is_some_and(|d| p.matches(d)));
        // Called here rather than in a closure given to `Option::map`, which would take the
        // request (256 bytes) in a move of its own.
        match handler {
            Some((_, handler)) => Either::Right(handler(req, peer.clone())),
            None => now(text(StatusCode::NOT_FOUND, "404 page not found\n")),
        }
    }

    fn ready(&self) -> Response<Body> {
        let Ok(streams) = self.streams.read() else {
            return text(StatusCode::SERVICE_UNAVAILABLE, "state unavailable\n");
        };
        if self
            .shutting_down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        }
        let mut problems = String::new();
        for (id, r) in streams.iter() {
            let prefix = if id.is_empty() {
                String::new()
            } else {
                format!("stream {id}: ")
            };
            if !r.input.load(std::sync::atomic::Ordering::Relaxed) {
                problems.push_str(&format!("{prefix}input not connected\n"));
            }
            if !r.output.load(std::sync::atomic::Ordering::Relaxed) {
                problems.push_str(&format!("{prefix}output not connected\n"));
            }
        }
        if problems.is_empty() {
            text(StatusCode::OK, "OK")
        } else {
            text(StatusCode::SERVICE_UNAVAILABLE, problems)
        }
    }

    fn endpoints(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (p, d) in BUILT_IN {
            m.insert((*p).to_owned(), (*d).into());
        }
        if let Ok(routes) = self.routes.read() {
            for (p, (d, _, _)) in routes.iter() {
                m.insert(p.clone(), d.clone().into());
            }
        }
        serde_json::Value::Object(m)
    }
}

/// A connection's copy of the server's routes, read again when they change.
#[derive(Default)]
struct RouteTable {
    /// `routes_changed` when read; None before the first read.
    read_at: Option<u64>,
    routes: Vec<(Arc<RoutePattern>, Handler)>,
}

impl RouteTable {
    fn current(&mut self, state: &ApiState) -> &[(Arc<RoutePattern>, Handler)] {
        let changed = state.routes_changed.load(Ordering::Acquire);
        if self.read_at != Some(changed) {
            if let Ok(routes) = state.routes.read() {
                self.routes = routes
                    .values()
                    .map(|(_, p, h)| (p.clone(), h.clone()))
                    .collect();
                self.read_at = Some(changed);
            }
        }
        &self.routes
    }
}

/// The server of one address, shared by every `http_server` input that names it, so that
/// several routes (`POST /items`, `GET /items/{id}`) can be served on one address. Bento would
/// fail to bind the second; engine serves them together.
#[derive(Default)]
pub struct AddressServer {
    pub api: Arc<ApiState>,
    /// The serving task, once started.
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    users: std::sync::atomic::AtomicUsize,
    stop: CancellationToken,
    tls_files: std::sync::Mutex<Option<(String, String)>>,
}

impl AddressServer {
    /// Count one more input serving routes here.
    pub fn join(&self) {
        self.users.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Listen on `address` unless an earlier input already does; the bound address when this
    /// call started the server.
    pub async fn start(
        &self,
        address: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Option<SocketAddr>> {
        let mut task = self.task.lock().await;
        if task.is_some() {
            return Ok(None);
        }
        let (listener, addr) = bind(address).await?;
        *task = Some(tokio::spawn(serve_tls(
            listener,
            self.api.clone(),
            self.stop.clone(),
            tls.map(tokio_rustls::TlsAcceptor::from),
        )));
        Ok(Some(addr))
    }

    /// The TLS certificate and key files of the inputs on this address: they must agree, since
    /// they share one listener.
    pub fn claim_tls(&self, files: (String, String)) -> Result<(), String> {
        let mut claimed = match self.tls_files.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        match claimed.as_ref() {
            Some(first) if *first != files => Err(format!(
                "cert_file and key_file differ from those of another http_server on this address ({} and {})",
                first.0, first.1
            )),
            _ => {
                *claimed = Some(files);
                Ok(())
            }
        }
    }

    /// One input is done with the server; the last one stops it and waits (at most `limit`)
    /// until every request it had taken was answered.
    pub async fn leave(&self, limit: std::time::Duration) {
        if self.users.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) != 1 {
            return;
        }
        self.stop.cancel();
        if let Some(task) = self.task.lock().await.take() {
            if tokio::time::timeout(limit, task).await.is_err() {
                tracing::warn!("HTTP connections still open after {limit:?}; closing them");
            }
        }
    }
}

/// Install the process-wide TLS crypto provider (ring) used by the HTTP clients. Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A path a component serves: its description (for `/endpoints`), matcher and handler.
pub type Route = (String, Arc<RoutePattern>, Handler);

/// A route's path as gorilla/mux (Bento's router) reads it: `{name}` matches one segment,
/// `{name:regex}` what the regex matches, the rest literally; a pattern ending in `/` matches
/// anything below it. Paths are matched URL-decoded, as Go's `URL.Path` is.
#[derive(Debug)]
pub enum RoutePattern {
    /// No variables (most patterns): the path itself, and whether everything below it matches
    /// too. Compared, with no regex.
    Literal { path: String, below: bool },
    Variables {
        regex: regex::Regex,
        names: Vec<String>,
    },
}

impl RoutePattern {
    pub fn new(pattern: &str) -> Result<RoutePattern, String> {
        let mut re = String::from("^");
        let mut names = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            re.push_str(&regex::escape(&rest[..open]));
            // The variable ends at the brace that balances this one (a regex may hold braces).
            let mut depth = 0;
            let close = rest[open..]
                .char_indices()
                .find(|(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| open + i)
                .ok_or_else(|| format!("path {pattern}: unbalanced braces"))?;
            let var = &rest[open + 1..close];
            let (name, var_re) = match var.split_once(':') {
                Some((n, r)) => (n, r.to_owned()),
                None => (var, "[^/]+".to_owned()),
            };
            if name.is_empty() {
                return Err(format!("path {pattern}: a variable without a name"));
            }
            re.push_str(&format!("({var_re})"));
            names.push(name.to_owned());
            rest = &rest[close + 1..];
        }
        let below = pattern.ends_with('/') && pattern.len() > 1;
        if names.is_empty() {
            return Ok(RoutePattern::Literal {
                path: pattern.to_owned(),
                below,
            });
        }
        re.push_str(&regex::escape(rest));
        if !below {
            re.push('$');
        }
        let regex = regex::Regex::new(&re).map_err(|e| format!("path {pattern}: {e}"))?;
        Ok(RoutePattern::Variables { regex, names })
    }

    /// The variables of `path` (decoded), if it matches.
    pub fn captures(&self, path: &str) -> Option<Vec<(String, String)>> {
        let RoutePattern::Variables { regex, names } = self else {
            return self.matches(path).then(Vec::new);
        };
        let c = regex.captures(path)?;
        Some(
            names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| c.get(i + 1).map(|m| (n.clone(), m.as_str().to_owned())))
                .collect(),
        )
    }

    /// Whether the pattern has `{name}` variables to capture.
    pub fn has_variables(&self) -> bool {
        matches!(self, RoutePattern::Variables { .. })
    }

    pub fn matches(&self, path: &str) -> bool {
        match self {
            RoutePattern::Literal { path: p, below } => match below {
                true => path.starts_with(p.as_str()),
                false => path == p,
            },
            RoutePattern::Variables { regex, .. } => regex.is_match(path),
        }
    }
}

/// One part of a multipart body: its headers, then its bytes.
pub type MultipartPart<'a> = (Vec<(&'a str, String)>, Vec<u8>);

/// A `multipart/form-data` body of `parts`, laid out as Go's `multipart.Writer` writes one, and
/// the `Content-Type` that names its (random) boundary.
pub fn multipart_form(parts: &[MultipartPart<'_>]) -> (String, Vec<u8>) {
    let boundary = uuid::Uuid::new_v4().simple().to_string();
    let mut body = Vec::new();
    for (i, (headers, bytes)) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { "\r\n" };
        body.extend_from_slice(format!("{sep}--{boundary}\r\n").as_bytes());
        for (k, v) in headers {
            body.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A request path decoded, as Go's `URL.Path` holds it.
pub fn decoded_path(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('%') {
        return raw.into();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy()
}

/// Bind the server; the returned address is the one actually bound (useful with port 0).
pub async fn bind(address: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(address).await?;
    let a = l.local_addr()?;
    Ok((l, a))
}

/// Serve until `shutdown` is cancelled, then until every connection has been answered: a
/// connection in the middle of a request finishes it (its message may still be on its way
/// through the stream) and idle ones close, so nobody who sent a request gets a reset.
pub async fn serve(listener: TcpListener, state: Arc<ApiState>, shutdown: CancellationToken) {
    serve_tls(listener, state, shutdown, None).await
}

/// [`serve`], with TLS on every connection when an acceptor is given (`http_server`'s
/// `cert_file`/`key_file`).
pub async fn serve_tls(
    listener: TcpListener,
    state: Arc<ApiState>,
    shutdown: CancellationToken,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let connections = tokio_util::task::TaskTracker::new();
    accept(listener, state, shutdown, &connections, tls).await;
    connections.close();
    connections.wait().await;
}

/// Most connections served at once; past it, accepting waits until one closes.
pub const MAX_CONNECTIONS: usize = 10_000;
/// How long a connection may go without beginning a request (its headers not yet all read)
/// before it is closed, so that slow or stalled clients cannot hold connections (and memory)
/// for ever. Checked once per period: such a connection closes within one to two periods.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept(
    listener: TcpListener,
    state: Arc<ApiState>,
    shutdown: CancellationToken,
    connections: &tokio_util::task::TaskTracker,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    // Out of file descriptors (EMFILE) and the like: wait before accepting again, 5 ms doubling
    // to 1 s as Go's server does, instead of spinning on the error.
    let mut failing = std::time::Duration::ZERO;
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => return,
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => return,
            },
        };
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => {
                    failing = std::time::Duration::ZERO;
                    x
                }
                Err(e) => {
                    failing = (failing * 2).clamp(
                        std::time::Duration::from_millis(5),
                        std::time::Duration::from_secs(1),
                    );
                    tracing::warn!("failed to accept HTTP connection, retrying in {failing:?}: {e}");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(failing) => {}
                    }
                    continue;
                }
            },
        };
        let state = state.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, remote, None, state, shutdown).await,
                Some(acceptor) => {
                    // A handshake that fails (a plain-HTTP client, an unknown CA) ends only
                    // this connection.
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let (_, conn) = stream.get_ref();
                    let info = TlsInfo {
                        version: match conn.protocol_version() {
                            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                            _ => "",
                        },
                        // Go's names: `TLS_AES_128_GCM_SHA256`, not rustls' `TLS13_…`.
                        cipher_suite: conn
                            .negotiated_cipher_suite()
                            .map(|c| format!("{:?}", c.suite()).replace("TLS13_", "TLS_"))
                            .unwrap_or_default(),
                    };
                    serve_connection(stream, remote, Some(info), state, shutdown).await
                }
            }
        });
    }
}

/// What a TLS connection negotiated, for `http_server_tls_version` and
/// `http_server_tls_cipher_suite`.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    pub version: &'static str,
    pub cipher_suite: String,
}

async fn serve_connection<S>(
    stream: S,
    remote: SocketAddr,
    tls: Option<TlsInfo>,
    state: Arc<ApiState>,
    shutdown: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(Peer {
        ip: remote.ip().to_string(),
        tls,
    });
    let limit = state
        .header_read_timeout
        .filter(|d| !d.is_zero())
        .unwrap_or(HEADER_READ_TIMEOUT);
    // Each request takes a reference to this rather than to the server's state, whose count
    // every connection's task would otherwise change on every request.
    let connection = Arc::new(Connection {
        state,
        peer,
        activity: Activity::default(),
    });
    let watched = connection.clone();
    // Only this task calls the service, one request at a time.
    let routes = std::cell::RefCell::new(RouteTable::default());
    let svc = service_fn(move |req: Request<Incoming>| {
        let answering = Answering::begin(&connection);
        let answer = connection
            .state
            .route(req, &connection.peer, &mut routes.borrow_mut());
        async move {
            let resp = answer.await;
            drop(answering);
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    // The watchdog runs on a task of its own: here, its timer and the shutdown token (whose
    // waiter takes a lock that every connection shares) would be polled again on every
    // wake-up of a busy connection. It tells this task what to do through the connection's
    // `activity`.
    let _watchdog = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(watch_connection(
        watched.clone(),
        shutdown,
        limit,
    )));
    let activity = &watched.activity;
    let mut stopping = false;
    std::future::poll_fn(|cx| loop {
        if std::future::Future::poll(conn.as_mut(), cx).is_ready() {
            return std::task::Poll::Ready(());
        }
        match activity.verdict(cx) {
            Verdict::Serve => return std::task::Poll::Pending,
            Verdict::Close => return std::task::Poll::Ready(()),
            // The connection finishes the request it is serving, then closes; it has to be
            // polled for that, and the watchdog still closes it if its client stalls.
            Verdict::Finish if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            Verdict::Finish => return std::task::Poll::Pending,
        }
    })
    .await;
}

/// Watch a connection: ask it to finish once the server shuts down, and close it when no
/// request began for a whole period and none is being answered (the client is idle, or
/// stalled half way through its headers).
async fn watch_connection(
    connection: Arc<Connection>,
    shutdown: CancellationToken,
    limit: std::time::Duration,
) {
    let activity = &connection.activity;
    let mut check = tokio::time::interval_at(tokio::time::Instant::now() + limit, limit);
    let mut begun = 0;
    let stopped = shutdown.cancelled();
    tokio::pin!(stopped);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = &mut stopped, if !stopping => {
                stopping = true;
                activity.decide(Verdict::Finish);
            }
            _ = check.tick() => {
                let now = activity.begun.load(Ordering::Relaxed);
                if now == begun && activity.answering.load(Ordering::Relaxed) == 0 {
                    activity.decide(Verdict::Close);
                    return;
                }
                begun = now;
            }
        }
    }
}

/// What a connection's watchdog decided.
#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    Serve = 0,
    Finish = 1,
    Close = 2,
}

/// What the requests of one connection share.
struct Connection {
    state: Arc<ApiState>,
    peer: Arc<Peer>,
    activity: Activity,
}

/// A connection's requests, for its watchdog, and the watchdog's verdict for the connection.
#[derive(Default)]
struct Activity {
    begun: AtomicU64,
    answering: AtomicUsize,
    verdict: AtomicU8,
    waker: futures::task::AtomicWaker,
}

impl Activity {
    /// The verdict so far; the connection's task is woken when it changes.
    fn verdict(&self, cx: &mut std::task::Context<'_>) -> Verdict {
        self.waker.register(cx.waker());
        match self.verdict.load(Ordering::Acquire) {
            0 => Verdict::Serve,
            1 => Verdict::Finish,
            _ => Verdict::Close,
        }
    }

    fn decide(&self, verdict: Verdict) {
        self.verdict.store(verdict as u8, Ordering::Release);
        self.waker.wake();
    }
}

/// A request being answered: counted from its start until its response is ready.
struct Answering(Arc<Connection>);

impl Answering {
    fn begin(c: &Arc<Connection>) -> Answering {
        c.activity.begun.fetch_add(1, Ordering::Relaxed);
        c.activity.answering.fetch_add(1, Ordering::Relaxed);
        Answering(c.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.activity.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::RoutePattern;

    #[test]
    fn routes_match_params_regexes_and_prefixes() {
        let m = |p: &str, path: &str| RoutePattern::new(p).unwrap().captures(path);
        assert_eq!(m("/post", "/post"), Some(vec![]));
        assert_eq!(m("/post", "/post/x"), None);
        assert_eq!(
            m("/v1/{model}/infer", "/v1/llama/infer"),
            Some(vec![("model".into(), "llama".into())])
        );
        assert_eq!(m("/v1/{model}/infer", "/v1//infer"), None);
        assert_eq!(m("/files/", "/files/a/b"), Some(vec![]));
        assert_eq!(m("/files/", "/files"), None);
        assert_eq!(m("/a.b", "/aXb"), None);
        assert_eq!(m("/", "/"), Some(vec![]));
        assert_eq!(m("/", "/x"), None);
        assert_eq!(
            m("/items/{id:[0-9]+}", "/items/42"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(m("/items/{id:[0-9]+}", "/items/x"), None);
        assert_eq!(
            m("/f/{rest:.*}", "/f/a/b"),
            Some(vec![("rest".into(), "a/b".into())])
        );
        assert_eq!(
            m("/n/{id:[a-z]{2}}", "/n/ab"),
            Some(vec![("id".into(), "ab".into())])
        );
        assert!(RoutePattern::new("/x/{y").is_err());
    }

    #[test]
    fn paths_are_decoded_as_go_decodes_them() {
        assert_eq!(super::decoded_path("/a%20b/%C3%A9"), "/a b/é");
        assert_eq!(super::decoded_path("/plain/path"), "/plain/path");
        assert_eq!(super::decoded_path("/bad%ZZ"), "/bad%ZZ");
    }

    /// A connection keeps its copy of the routes, and reads them again when one is added.
    #[tokio::test]
    async fn a_route_added_while_a_connection_is_open_is_served_on_it() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let state = std::sync::Arc::new(super::ApiState::new(""));
        let (listener, addr) = super::bind("127.0.0.1:0").await.unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(super::serve(listener, state.clone(), shutdown.clone()));
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        async fn ask(c: &mut tokio::net::TcpStream) -> String {
            c.write_all(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 1024];
            let n = c.read(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
        let before = ask(&mut c).await;
        assert!(before.starts_with("HTTP/1.1 404"), "{before}");
        let handler: super::Handler = std::sync::Arc::new(|_, _| {
            Box::pin(async { super::text(hyper::StatusCode::OK, "late") })
        });
        let pattern = std::sync::Arc::new(RoutePattern::new("/late").unwrap());
        state.add_route(pattern, "/late", "added later", handler);
        let after = ask(&mut c).await;
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
        assert!(after.ends_with("late"), "{after}");
        shutdown.cancel();
        drop(c);
        server.await.unwrap();
    }

    /// A stalled client (headers half sent) and an idle one are closed within two periods of
    /// the header timeout; one that keeps sending requests is not.
    #[tokio::test]
    async fn connections_that_begin_no_request_are_closed() {
        use std::time::Duration;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let period = Duration::from_millis(150);
        let state = std::sync::Arc::new(super::ApiState {
            header_read_timeout: Some(period),
            ..super::ApiState::new("")
        });
        let (listener, addr) = super::bind("127.0.0.1:0").await.unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(super::serve(listener, state, shutdown.clone()));
        // Read until the server closes, or give up: the closing must come on its own.
        async fn closed(c: &mut tokio::net::TcpStream) -> bool {
            let mut buf = [0u8; 1024];
            let read_to_end = async {
                loop {
                    match c.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(5), read_to_end)
                .await
                .is_ok()
        }

        let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(closed(&mut stalled).await, "a half-sent request is closed");

        let mut busy = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1024];
        for _ in 0..8 {
            busy.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let n = busy.read(&mut buf).await.unwrap();
            let answer = String::from_utf8_lossy(&buf[..n]);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.ends_with("pong"), "{answer}");
            tokio::time::sleep(period / 3).await;
        }
        // Eight requests over more than two periods: still open, now left idle, then closed.
        assert!(closed(&mut busy).await, "an idle connection is closed");
        // A client stalled when the server shuts down does not hold the shutdown up.
        let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
        stalled.write_all(b"GET /ping HTTP/1.1\r\n").await.unwrap();
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops")
            .unwrap();
        assert!(closed(&mut stalled).await);
    }
}
