//! The component traits every input, processor and output implements, and what a constructor
//! gets to build one.

pub mod batching;
pub mod caches;
pub mod connecting;
pub mod connectors;
pub mod inputs;
pub mod outputs;
pub mod processors;
pub mod rate_limits;
pub mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::components::registry::ComponentConf;
use crate::message::ack::AckFn;
use crate::message::{AckHandle, AckStatus, Batch, Message, MessageError};
use crate::spec::ComponentSpec;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ComponentError {
    /// The connection is gone: the runtime reconnects (with backoff) and retries.
    #[error("not connected")]
    NotConnected,
    /// The input has nothing more to give: the stream drains and stops.
    #[error("end of input")]
    EndOfInput,
    #[error("{0}")]
    Failed(String),
}

impl ComponentError {
    pub fn failed(e: impl std::fmt::Display) -> ComponentError {
        ComponentError::Failed(e.to_string())
    }
}

/// A config that could not be turned into a component.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{path}: {message}")]
pub struct BuildError {
    pub path: String,
    pub message: String,
}

#[async_trait]
pub trait Input: Send {
    async fn connect(&mut self) -> Result<(), ComponentError>;
    /// The next batch and what to do once its fate is known.
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError>;
    async fn close(&mut self) -> Result<(), ComponentError>;
    /// Whether the runtime should replay a nacked batch itself (Bento's `auto_replay_nacks`);
    /// inputs whose source redelivers (AMQP) say no.
    fn replays_nacks(&self) -> bool {
        false
    }
    /// Whether a `read` that is dropped before it finishes leaves what it would have read in
    /// the input. The runtime then polls the next read once after each one and hands on all
    /// that was ready together (one wake-up of the next stage for many messages). An input
    /// whose read could lose what it already took if dropped there says no (the default).
    fn reads_cancel_safely(&self) -> bool {
        false
    }
    /// Offered once, before `connect`, when the stream writes its output from the stage after
    /// the input (no pipeline processors, an output that writes at once): the runtime can then
    /// take batches straight from the tasks an input runs itself (an HTTP server's
    /// connections). An input that keeps the intake delivers through it instead of queueing
    /// for `read`, and says so: a batch then goes through the input processors and the write
    /// on the task that received it, with no wake-up of the input task and back per message.
    fn take_intake(&mut self, _intake: Weak<dyn Intake>) -> bool {
        false
    }
}

/// Where an input's own tasks deliver batches when it took the intake (see
/// [`Input::take_intake`]). Held weakly: once the stream stops taking input it is gone.
pub trait Intake: Send + Sync {
    /// Deliver a batch. A stream with nothing to wait for on the way (no processors, an output
    /// that writes at once) writes it before returning and gives its fate
    /// ([`Delivery::Settled`]) without asking for an acknowledgement; otherwise `ack` is
    /// called once for the acknowledgement the batch's fate goes to, and the delivery is a
    /// future to drive.
    fn deliver(self: Arc<Self>, batch: Batch, ack: &mut dyn FnMut() -> AckFn) -> Delivery;
    /// Whether a reply may be stored for a delivered message's request: not when its delivery
    /// settles in an output that stores none (`drop`) with nothing on the way. The input then
    /// need not make a place for one.
    fn keeps_replies(&self) -> bool;
}

/// What [`Intake::deliver`] gives back.
pub enum Delivery {
    /// Not taken: the stream no longer takes input (it is stopping).
    Refused,
    /// Written, or failed, before `deliver` returned.
    Settled(AckStatus),
    /// On its way: the future says whether it was taken (true), after which its fate goes to
    /// the acknowledgement.
    Pending(futures::future::BoxFuture<'static, bool>),
}

/// A processor that failed a whole batch hands the batch back with the reason, so that its
/// messages are flagged and go on: nothing is lost, and no stage needs a defensive copy.
#[derive(Debug)]
pub struct BatchFailure {
    pub error: ComponentError,
    pub batch: Batch,
}

#[async_trait]
pub trait Processor: Send + Sync {
    /// Per-message failures go on the message's error flag; an `Err` flags the whole batch.
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure>;
}

/// Outputs take `&self` (unlike the design's `&mut self`) so that `max_in_flight` writes can run
/// concurrently on one instance; connection state lives behind the implementation's own locks.
#[async_trait]
pub trait Output: Send + Sync {
    /// Outputs with nothing to connect to (`drop`, `sync_response`) keep this default.
    async fn connect(&self) -> Result<(), ComponentError> {
        Ok(())
    }
    /// The batch is borrowed: the runtime retries a failed write with the same batch, and an
    /// output that only reads it (most do) costs no copy per attempt.
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError>;
    async fn close(&self) -> Result<(), ComponentError> {
        Ok(())
    }
    fn max_in_flight(&self) -> usize {
        1
    }
    /// Whether writing the batches of several transactions as one batch gives the same bytes
    /// as writing them one by one (`stdout`: every message is encoded on its own). The runtime
    /// then hands such an output everything that is waiting in one write (one syscall instead
    /// of one per message) and acknowledges each transaction once that write succeeded.
    fn coalesces_writes(&self) -> bool {
        false
    }
    /// The write of an output whose writes finish at once, waiting on nothing (`drop`,
    /// `sync_response`, `reject`). Without a batching policy the stage before such an output
    /// writes its transactions itself, with no future: handing them to the output task would
    /// cost a wake-up and a queue per message for a write that takes no time.
    fn at_once(&self) -> Option<&dyn WriteAtOnce> {
        None
    }
    /// Whether the output reads nothing of a message but its bytes (`stdout`: no field of it
    /// interpolates). With no output processors, the workers then hand such an output each
    /// message as bytes alone, its parsed form serialised and freed on the worker that built
    /// it: freeing it on the output's thread instead costs more CPU than the mapping did.
    fn reads_only_bytes(&self) -> bool {
        false
    }
}

/// A write that finishes when called ([`Output::at_once`]). `NotConnected` counts as a
/// failure: there is nothing to reconnect to.
pub trait WriteAtOnce: Send + Sync {
    fn write_now(&self, batch: &Batch) -> Result<(), ComponentError>;
    /// Whether a write stores the replies to the requests its messages came from
    /// (`sync_response`).
    fn stores_replies(&self) -> bool {
        false
    }
}

/// Why a cache operation did not succeed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CacheError {
    #[error("key does not exist")]
    NotFound,
    #[error("key already exists")]
    KeyExists,
    #[error("{0}")]
    Failed(String),
}

/// A key/value store shared by processors through `cache_resources` (Bento's `Cache`).
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Vec<u8>, CacheError>;
    /// Store `value`; `ttl` overrides the cache's default expiry where supported.
    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<std::time::Duration>,
    ) -> Result<(), CacheError>;
    /// Store `value` only if `key` is absent, else [`CacheError::KeyExists`].
    async fn add(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<std::time::Duration>,
    ) -> Result<(), CacheError>;
    /// Remove `key`; a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
}

/// A limit on how often something may happen, shared through `rate_limit_resources`.
#[async_trait]
pub trait RateLimit: Send + Sync {
    /// Take one token: zero means go ahead, otherwise wait that long and ask again.
    async fn access(&self) -> Result<std::time::Duration, ComponentError>;
}

/// A batch in flight with the handle that acknowledges its source.
pub struct Transaction {
    pub batch: Batch,
    pub ack: AckHandle,
}

/// Who a component is, for metrics labels and error attribution.
#[derive(Clone, Debug, Default)]
pub struct ComponentInfo {
    pub label: String,
    pub path: String,
    pub kind_name: String,
}

impl ComponentInfo {
    /// Flag a message as failed by this component.
    pub fn flag(&self, msg: &mut Message, text: impl Into<String>) {
        msg.set_error(MessageError {
            text: text.into(),
            label: self.label.clone(),
            path: self.path.clone(),
            component: self.kind_name.clone(),
        });
    }

    /// The key of message `i` of `batch`, rendered from `key`; if it does not render, `msg`
    /// (that message's copy) is flagged with why, and there is no key.
    pub fn render_key(
        &self,
        key: &crate::bloblang::InterpolatedString,
        batch: &Batch,
        i: usize,
        msg: &mut Message,
    ) -> Option<String> {
        match key.render(batch, i) {
            Ok(k) => Some(k),
            Err(e) => {
                self.flag(msg, format!("key: {e}"));
                None
            }
        }
    }
}

/// Process-wide shared state components find each other through (streams mode shares it).
#[derive(Default)]
pub struct Shared {
    pub inproc: Mutex<HashMap<String, InprocPipe>>,
    /// The management server, on which `http_server` inputs without an address register.
    pub api: Arc<crate::http::ApiState>,
    /// Servers of `http_server` inputs with an address of their own, by address.
    pub servers: Mutex<HashMap<String, Arc<crate::http::AddressServer>>>,
}

/// The channel an `inproc` output writes to and `inproc` inputs read from, created by whichever
/// side is built first.
#[derive(Clone)]
pub struct InprocPipe {
    pub tx: mpsc::Sender<Transaction>,
    pub rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Transaction>>>,
}

impl Shared {
    /// The server for `address`, created by the first input that names it.
    pub fn server(&self, address: &str) -> Arc<crate::http::AddressServer> {
        let mut map = match self.servers.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(address.to_owned()).or_default().clone()
    }

    pub fn inproc(&self, id: &str) -> InprocPipe {
        let mut map = match self.inproc.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(id.to_owned())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::channel(64);
                InprocPipe {
                    tx,
                    rx: Arc::new(tokio::sync::Mutex::new(rx)),
                }
            })
            .clone()
    }
}

/// What a constructor gets: where the component sits, and the means to build its children.
#[derive(Clone)]
pub struct BuildCtx {
    pub info: ComponentInfo,
    pub shared: Arc<Shared>,
    pub resources: Arc<Resources>,
}

/// Labelled resources a config declares (`processor_resources` and, with the connectors,
/// caches and rate limits).
#[derive(Default)]
pub struct Resources {
    pub processors: HashMap<String, Arc<ProcessorStage>>,
    /// Input and output resources by label, as configured: each `resource` input or output
    /// that names one builds its own instance.
    pub inputs: HashMap<String, serde_json::Value>,
    pub outputs: HashMap<String, serde_json::Value>,
    pub caches: HashMap<String, Arc<caches::CacheStage>>,
    pub rate_limits: HashMap<String, Arc<rate_limits::RateLimitStage>>,
}

impl Resources {
    pub fn cache(&self, label: &str) -> Option<Arc<caches::CacheStage>> {
        self.caches.get(label).cloned()
    }
    pub fn rate_limit(&self, label: &str) -> Option<Arc<rate_limits::RateLimitStage>> {
        self.rate_limits.get(label).cloned()
    }
}

impl BuildCtx {
    pub fn new(shared: Arc<Shared>) -> BuildCtx {
        BuildCtx {
            info: ComponentInfo::default(),
            shared,
            resources: Arc::new(Resources::default()),
        }
    }

    /// Deserialise this component's resolved config into its typed struct. Fields typed as
    /// what they hold (an interpolated string, a mapping, a duration) are parsed here, and an
    /// error names the field it is in (`sync_response.status: ...`).
    pub fn parse<T: DeserializeOwned>(&self, conf: &serde_json::Value) -> Result<T, BuildError> {
        self.parse_at("", conf)
    }

    /// `parse` of the value of the component's field `field`, whose errors name it.
    pub fn parse_at<T: DeserializeOwned>(
        &self,
        field: &str,
        conf: &serde_json::Value,
    ) -> Result<T, BuildError> {
        serde_path_to_error::deserialize(conf).map_err(|e| {
            let path = e.path().to_string();
            let path = match (field, path.as_str()) {
                (f, ".") => f.to_owned(),
                ("", p) => p.to_owned(),
                (f, p) => format!("{f}.{p}"),
            };
            match path.as_str() {
                "" => self.error(e.into_inner()),
                _ => self.error(format!("{path}: {}", e.into_inner())),
            }
        })
    }

    pub fn error(&self, e: impl std::fmt::Display) -> BuildError {
        BuildError {
            path: self.info.path.clone(),
            message: e.to_string(),
        }
    }

    pub fn child(&self, path_suffix: &str, conf: &ComponentConf) -> BuildCtx {
        BuildCtx {
            info: ComponentInfo {
                label: conf.label.clone().unwrap_or_default(),
                path: format!("{}.{}", self.info.path, path_suffix),
                kind_name: conf.kind.clone(),
            },
            shared: self.shared.clone(),
            resources: self.resources.clone(),
        }
    }

    /// Build a list of processors found at `field` of this component (e.g. a branch's
    /// `processors`), each wrapped with metrics.
    pub fn build_processors(
        &self,
        field: &str,
        list: &[serde_json::Value],
    ) -> Result<Vec<Arc<ProcessorStage>>, BuildError> {
        list.iter()
            .enumerate()
            .map(|(i, j)| {
                let conf = ComponentConf::from_json(crate::spec::ComponentKind::Processor, j)
                    .map_err(|e| self.error(e))?;
                registry::build_processor(&conf, &self.child(&format!("{field}.{i}"), &conf))
            })
            .collect()
    }
}

/// A constructor and its spec, as listed in the registry.
pub struct Plugin<T: ?Sized> {
    pub spec: fn() -> ComponentSpec,
    pub build: fn(&serde_json::Value, &BuildCtx) -> Result<Box<T>, BuildError>,
}

/// A processor as the pipeline runs it: metered, and with batch-level failures turned into
/// per-message error flags so that no message is ever lost to a failing processor.
pub struct ProcessorStage {
    inner: Box<dyn Processor>,
    info: ComponentInfo,
    metrics: crate::metrics::ProcessorMetrics,
}

impl ProcessorStage {
    pub fn new(inner: Box<dyn Processor>, info: ComponentInfo) -> ProcessorStage {
        let metrics = crate::metrics::ProcessorMetrics::new(&info.label, &info.path);
        ProcessorStage {
            inner,
            info,
            metrics,
        }
    }

    pub async fn run(&self, batch: Batch) -> Vec<Batch> {
        let started = std::time::Instant::now();
        self.metrics.received(batch.len());
        let out = match self.inner.process(batch).await {
            Ok(out) => out,
            Err(BatchFailure { error, mut batch }) => {
                for m in &mut batch {
                    self.info.flag(m, error.to_string());
                }
                vec![batch]
            }
        };
        let errors = out.iter().flatten().filter(|m| m.error().is_some()).count();
        self.metrics.sent(
            out.iter().map(Vec::len).sum(),
            out.len(),
            errors,
            started.elapsed(),
        );
        out
    }
}

/// Run a list of processors over a batch in order; each stage's output batches feed the next.
pub async fn run_processors(procs: &[Arc<ProcessorStage>], batch: Batch) -> Vec<Batch> {
    let mut batches = vec![batch];
    for p in procs {
        let mut next = Vec::with_capacity(batches.len());
        for b in batches {
            next.extend(p.run(b).await);
        }
        batches = next;
    }
    batches
}
