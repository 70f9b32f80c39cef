//! The stream: input task → bounded channel → processor workers → bounded channel → output
//! task with `max_in_flight` concurrent writes, and the acknowledgements flowing back.
//!
//! Every task a message crosses costs a wake-up, which is most of the CPU a message takes when
//! the components do little (`http_server → drop`). So a stream without pipeline processors has
//! no worker stage: the input task hands its transactions straight to the output task. The
//! workers share one MPMC channel (no lock around a receiver), and the output task drives its
//! `max_in_flight` writes itself instead of spawning a task per write. Stages hand each other
//! chunks of transactions: an input whose reads may be dropped half-way
//! ([`Input::reads_cancel_safely`]) has its next read polled once after each, and everything
//! that was ready goes on in one hand-over, so a busy stream wakes the next stage once per
//! chunk rather than once per message, and a quiet one adds no wait. An output whose writes
//! take no time ([`Output::at_once`]: `drop`, `sync_response`) is written by the stage
//! before it, with no hand-over at all. With such an output and no worker stage, an input that
//! runs tasks of its own (an HTTP server's connections) is offered the [`Intake`]: those tasks
//! then admit their batches themselves instead of queueing them for the input task
//! ([`DirectIntake`]), and a request never leaves its connection's task. An output that reads
//! nothing but the bytes ([`Output::reads_only_bytes`]: `stdout`) gets them serialised by the
//! workers, which also free the parsed form there, on the thread that built it.
//!
//! Shutdown has two stages. `stop` (a signal, or the input ending) stops reading; everything
//! already read is processed, written and acknowledged. If that takes longer than the shutdown
//! timeout, `abort` cancels what is left: its ack handles are dropped, which nacks the sources
//! (redelivery later, never loss).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

use crate::components::batching::{sleep_until_some, BatchPolicy, Batcher, Mechanism};
use crate::components::connecting::{connect, connect_backoff, Connecting};
use crate::components::registry::ComponentConf;
use crate::components::{
    registry, run_processors, BuildCtx, BuildError, ComponentError, ComponentInfo, Delivery, Input,
    Intake, Output, ProcessorStage, Resources, Shared, Transaction, WriteAtOnce,
};
use crate::config::Config;
use crate::http::Readiness;
use crate::message::ack::AckFn;
use crate::message::{AckHandle, AckStatus, Batch};
use crate::metrics::{InputMetrics, OutputMetrics};
use crate::spec::ComponentKind;

/// A built stream, ready to run.
pub struct Stream {
    pub input: Box<dyn Input>,
    pub input_info: ComponentInfo,
    pub input_processors: Vec<Arc<ProcessorStage>>,
    pub processors: Vec<Arc<ProcessorStage>>,
    pub threads: usize,
    pub output: Arc<dyn Output>,
    pub output_info: ComponentInfo,
    pub output_processors: Vec<Arc<ProcessorStage>>,
    /// The output's batching policy, taken out of its config before it was built.
    pub batching: Option<BatchPolicy>,
    pub readiness: Arc<Readiness>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything read was written and acknowledged.
    Drained,
    /// The shutdown timeout ran out with messages still in flight (they were nacked).
    TimedOut,
    /// A task of the stream panicked: it was logged with its component, its transactions were
    /// nacked, and the stream stopped. Never a clean end.
    Crashed,
}

/// `fut`, with a panic in it logged under the component it belongs to and reported on
/// `crashed` instead of passing for a clean end of the task.
fn monitored<F>(
    fut: F,
    info: &ComponentInfo,
    what: &'static str,
    crashed: &CancellationToken,
) -> impl std::future::Future<Output = ()> + Send + 'static
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let watch = PanicWatch {
        label: info.label.clone(),
        path: info.path.clone(),
        what,
        crashed: crashed.clone(),
    };
    async move {
        watch.run(fut).await;
    }
}

/// What a panic in a stream's work stops: the stream, with the component it came from logged.
struct PanicWatch {
    label: String,
    path: String,
    what: &'static str,
    crashed: CancellationToken,
}

impl PanicWatch {
    /// `fut`'s output, or None (and the stream crashed) when it panicked.
    async fn run<F: std::future::Future>(&self, fut: F) -> Option<F::Output> {
        let out = std::panic::AssertUnwindSafe(fut).catch_unwind().await;
        self.outcome(out)
    }

    /// [`PanicWatch::run`] for work that waits on nothing.
    fn run_now<T>(&self, work: impl FnOnce() -> T) -> Option<T> {
        self.outcome(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
    }

    fn outcome<T>(&self, out: std::thread::Result<T>) -> Option<T> {
        let panic = match out {
            Ok(out) => return Some(out),
            Err(panic) => panic,
        };
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(label = %self.label, path = %self.path, "{} panicked, stopping the stream: {text}", self.what);
        self.crashed.cancel();
        None
    }
}

fn component_conf(
    kind: ComponentKind,
    j: &serde_json::Value,
    path: &str,
) -> Result<ComponentConf, BuildError> {
    ComponentConf::from_json(kind, j).map_err(|message| BuildError {
        path: path.to_owned(),
        message,
    })
}

/// A resource's config, its label (a resource must have one, as lint says too) and its path.
fn resource_conf(
    kind: ComponentKind,
    j: &serde_json::Value,
    field: &str,
    i: usize,
) -> Result<(ComponentConf, String, String), BuildError> {
    let path = format!("root.{field}.{i}");
    let conf = component_conf(kind, j, &path)?;
    let label = conf.label.clone().ok_or_else(|| BuildError {
        path: path.clone(),
        message: format!("{} resources must have a label", kind.name()),
    })?;
    Ok((conf, label, path))
}

impl Stream {
    /// Build every component of a config. `prefix` is the metrics path root (`root`).
    pub fn build(cfg: &Config, shared: Arc<Shared>) -> Result<Stream, BuildError> {
        let base = BuildCtx::new(shared.clone());
        let mut resources = Resources::default();
        // Caches and rate limits first: processors (resources or not) look them up by label.
        for (kind, list) in [
            (ComponentKind::Cache, &cfg.cache_resources),
            (ComponentKind::RateLimit, &cfg.rate_limit_resources),
        ] {
            for (i, j) in list.iter().enumerate() {
                let field = match kind {
                    ComponentKind::Cache => "cache_resources",
                    _ => "rate_limit_resources",
                };
                let (conf, label, path) = resource_conf(kind, j, field, i)?;
                let ctx = BuildCtx {
                    info: ComponentInfo {
                        label: label.clone(),
                        path,
                        kind_name: conf.kind.clone(),
                    },
                    shared: shared.clone(),
                    resources: Arc::new(Resources::default()),
                };
                match kind {
                    ComponentKind::Cache => {
                        resources
                            .caches
                            .insert(label, registry::build_cache(&conf, &ctx)?);
                    }
                    _ => {
                        resources
                            .rate_limits
                            .insert(label, registry::build_rate_limit(&conf, &ctx)?);
                    }
                }
            }
        }
        for (field, list, kind) in [
            (
                "input_resources",
                &cfg.input_resources,
                ComponentKind::Input,
            ),
            (
                "output_resources",
                &cfg.output_resources,
                ComponentKind::Output,
            ),
        ] {
            for (i, j) in list.iter().enumerate() {
                let (_, label, _) = resource_conf(kind, j, field, i)?;
                let slot = match kind {
                    ComponentKind::Input => &mut resources.inputs,
                    _ => &mut resources.outputs,
                };
                slot.insert(label, j.clone());
            }
        }
        for (i, j) in cfg.processor_resources.iter().enumerate() {
            let (conf, label, path) =
                resource_conf(ComponentKind::Processor, j, "processor_resources", i)?;
            let ctx = BuildCtx {
                info: ComponentInfo {
                    label: label.clone(),
                    path,
                    kind_name: conf.kind.clone(),
                },
                shared: shared.clone(),
                resources: Arc::new(Resources {
                    processors: resources.processors.clone(),
                    caches: resources.caches.clone(),
                    rate_limits: resources.rate_limits.clone(),
                    ..Resources::default()
                }),
            };
            resources
                .processors
                .insert(label, registry::build_processor(&conf, &ctx)?);
        }
        let root = BuildCtx {
            info: ComponentInfo {
                label: String::new(),
                path: "root".into(),
                kind_name: String::new(),
            },
            shared: base.shared,
            resources: Arc::new(resources),
        };

        let input_conf = component_conf(ComponentKind::Input, &cfg.input, "root.input")?;
        let input_ctx = root.child("input", &input_conf);
        let input = registry::build_input(&input_conf, &input_ctx)?;
        let input_processors = input_ctx.build_processors("processors", &input_conf.processors)?;

        let processors = root.child(
            "pipeline",
            &ComponentConf {
                kind: String::new(),
                label: None,
                conf: serde_json::Value::Null,
                processors: vec![],
            },
        );
        let processors = processors.build_processors("processors", &cfg.pipeline.processors)?;

        let mut output_conf = component_conf(ComponentKind::Output, &cfg.output, "root.output")?;
        let output_ctx = root.child("output", &output_conf);
        let batching = match output_conf.conf.as_object_mut() {
            Some(o)
                if registry::spec(ComponentKind::Output, &output_conf.kind)
                    .is_some_and(|s| s.config.children().iter().any(|f| f.name == "batching")) =>
            {
                match o.shift_remove("batching") {
                    Some(b) => BatchPolicy::build(&b, &output_ctx)?,
                    None => None,
                }
            }
            _ => None,
        };
        let output: Arc<dyn Output> = Arc::from(registry::build_output(&output_conf, &output_ctx)?);
        let output_processors =
            output_ctx.build_processors("processors", &output_conf.processors)?;

        let threads = match cfg.pipeline.threads {
            n if n > 0 => n as usize,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(Stream {
            input,
            input_info: input_ctx.info,
            input_processors,
            processors,
            threads,
            output,
            output_info: output_ctx.info,
            output_processors,
            batching,
            readiness: Arc::new(Readiness::default()),
        })
    }

    /// Run until the input ends or `stop` is cancelled, then drain within `timeout` (which
    /// only applies once `stop` was cancelled: an input that ends by itself is drained fully).
    pub async fn run(self, stop: CancellationToken, timeout: Duration) -> Outcome {
        let abort = CancellationToken::new();
        // Stopped by the caller, or by a task that crashed.
        let stopping = stop.child_token();
        let crashed = CancellationToken::new();
        let capacity = self.threads.max(1) * 2;
        let (out_tx, out_rx) = async_channel::bounded::<Vec<Transaction>>(capacity);
        // The input read its last message: it now waits only for what is in flight, so the
        // output must not hold messages back for a batch that will not fill.
        let input_ended = CancellationToken::new();
        // In `engine streams`, the stream whose metrics and log lines these tasks make.
        let stream = crate::metrics::current_stream();

        let output_info = self.output_info.clone();
        // With a batching policy the output processors run as each transaction arrives,
        // before it joins the batch (Bento's order); the batch is written as it is.
        let (procs, batch_procs) = match self.batching {
            Some(_) => (Vec::new(), self.output_processors),
            None => (self.output_processors, Vec::new()),
        };
        let writes_at_once = self.batching.is_none() && self.output.at_once().is_some();
        let bytes_only =
            procs.is_empty() && batch_procs.is_empty() && self.output.reads_only_bytes();
        let shared = Arc::new(OutputShared {
            metrics: OutputMetrics::new(&self.output_info.label, &self.output_info.path),
            output: self.output,
            info: self.output_info,
            procs,
            readiness: self.readiness.clone(),
            abort: abort.clone(),
            reconnect: Mutex::new(()),
        });
        let output_task = tokio::spawn(crate::metrics::in_stream(
            stream.clone(),
            monitored(
                run_output(
                    shared.clone(),
                    batch_procs,
                    self.batching,
                    out_rx,
                    input_ended.clone(),
                ),
                &output_info,
                "output",
                &crashed,
            ),
        ));
        // Outputs that write at once are written by the stage before them; the output task
        // then only connects and, once that stage is done, closes the output.
        let in_place = writes_at_once.then_some(shared);
        let pipeline_info = ComponentInfo {
            label: String::new(),
            path: "root.pipeline".into(),
            kind_name: String::new(),
        };
        let mut workers = Vec::new();
        let in_tx = if self.processors.is_empty() {
            Downstream {
                tx: out_tx,
                in_place,
            }
        } else {
            let (in_tx, in_rx) = async_channel::bounded::<Vec<Transaction>>(capacity);
            for _ in 0..self.threads.max(1) {
                workers.push(tokio::spawn(crate::metrics::in_stream(
                    stream.clone(),
                    monitored(
                        run_worker(
                            in_rx.clone(),
                            Downstream {
                                tx: out_tx.clone(),
                                in_place: in_place.clone(),
                            },
                            self.processors.clone(),
                            bytes_only,
                            abort.clone(),
                        ),
                        &pipeline_info,
                        "pipeline worker",
                        &crashed,
                    ),
                )));
            }
            // The workers hold the output's senders now: it ends once they all have.
            drop(out_tx);
            Downstream {
                tx: in_tx,
                in_place: None,
            }
        };
        let input_info = self.input_info.clone();
        let input_task = tokio::spawn(crate::metrics::in_stream(
            stream.clone(),
            monitored(
                run_input(
                    self.input,
                    self.input_info,
                    self.input_processors,
                    in_tx,
                    self.readiness.clone(),
                    Lifecycle {
                        stop: stopping.clone(),
                        abort: abort.clone(),
                        input_ended: input_ended.clone(),
                        crashed: crashed.clone(),
                    },
                ),
                &input_info,
                "input",
                &crashed,
            ),
        ));

        let all = async {
            let _ = input_task.await;
            for w in workers {
                let _ = w.await;
            }
            let _ = output_task.await;
        };
        tokio::pin!(all);
        let mut outcome = tokio::select! {
            _ = &mut all => Outcome::Drained,
            _ = async {
                stopping.cancelled().await;
                tokio::time::sleep(timeout).await;
            } => Outcome::TimedOut,
            _ = crashed.cancelled() => {
                // Stop reading and drain what the surviving tasks can, as on a signal.
                stopping.cancel();
                match tokio::time::timeout(timeout, &mut all).await {
                    Ok(()) => Outcome::Crashed,
                    Err(_) => Outcome::TimedOut,
                }
            }
        };
        if outcome == Outcome::TimedOut {
            tracing::error!(
                "shutdown timeout of {timeout:?} exceeded; abandoning in-flight messages"
            );
            abort.cancel();
            // Give tasks a moment to drop their transactions (which nacks them).
            let _ = tokio::time::timeout(Duration::from_secs(1), &mut all).await;
        }
        if crashed.is_cancelled() {
            outcome = Outcome::Crashed;
        }
        self.readiness.input.store(false, Ordering::Relaxed);
        self.readiness.output.store(false, Ordering::Relaxed);
        outcome
    }
}

/// A nacked batch waiting to be sent again, with what acknowledges it at its source once it is
/// delivered, the token that keeps it counted as in flight, and how many times it was sent.
type Replay = (Batch, AckFn, mpsc::Sender<()>, u32);

/// How long a batch nacked `attempt` times waits before it is sent again: 1 ms doubling to 1 s,
/// as Bento's replays do, so a message that always fails does not spin.
fn replay_delay(attempt: u32) -> Duration {
    Duration::from_millis(1u64 << attempt.min(10)).min(Duration::from_secs(1))
}

async fn run_input(
    mut input: Box<dyn Input>,
    info: ComponentInfo,
    procs: Vec<Arc<ProcessorStage>>,
    tx: Downstream,
    readiness: Arc<Readiness>,
    life: Lifecycle,
) {
    let Lifecycle {
        stop,
        abort,
        input_ended: ended,
        crashed,
    } = life;
    let burst = input.reads_cancel_safely();
    let (replay_tx, mut replay_rx) = mpsc::unbounded_channel::<Replay>();
    let admission = Arc::new(Admission {
        // What every acknowledgement needs, behind one reference count rather than one per
        // part.
        acks: Arc::new(AckContext {
            metrics: InputMetrics::new(&info.label, &info.path),
            replay_tx,
            stop: stop.clone(),
        }),
        procs,
        replays: input.replays_nacks(),
    });
    let metrics = &admission.acks.metrics;
    // Every transaction in flight holds a clone of `inflight`; when all are gone (and ours is
    // dropped) `inflight_rx` yields None.
    let (inflight, mut inflight_rx) = mpsc::channel::<()>(1);
    // Offered to the input before it connects, when this stage writes the output itself: the
    // whole way of a request then stays on its task. Towards workers or the output task the
    // input task's chunks (many requests per hand-over) cost fewer wake-ups than a hand-over
    // per request would. Deliveries through it go on while it is held here: it is let go once
    // the input ends, as our own token is.
    let mut direct = None;
    if tx.in_place.is_some() {
        let settles_in = tx
            .in_place
            .clone()
            .filter(|o| admission.procs.is_empty() && o.procs.is_empty() && !admission.replays);
        let keeps_replies = match settles_in.as_ref().and_then(|o| o.output.at_once()) {
            Some(writer) => writer.stores_replies(),
            None => true,
        };
        let intake = Arc::new(DirectIntake {
            admission: admission.clone(),
            settles_in,
            keeps_replies,
            downstream: tx.clone(),
            token: inflight.clone(),
            open: std::sync::atomic::AtomicBool::new(true),
            abort: abort.clone(),
            stream: crate::metrics::current_stream(),
            watch: PanicWatch {
                label: info.label.clone(),
                path: info.path.clone(),
                what: "input",
                crashed,
            },
        });
        let offered: Weak<DirectIntake> = Arc::downgrade(&intake);
        if input.take_intake(offered) {
            direct = Some(intake);
        }
    }

    if !connect(Connecting::Input(&mut input), &info, &metrics.conn, &stop).await {
        return;
    }
    readiness.input.store(true, Ordering::Relaxed);
    tracing::info!(label = %info.label, path = %info.path, "Input type {} is now active", info.kind_name);

    // Once the input has ended our own token is dropped, so `inflight_rx` closes when the last
    // transaction is resolved; until then nacked batches keep being replayed.
    let mut own_token = Some(inflight);
    // A read that ended a burst with an error instead of a batch, handled next time round.
    let mut held: Option<ComponentError> = None;
    // One waiter for the whole loop: a new one per read would register with the token (two
    // locks) every time round.
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    loop {
        // The first batch of this hand-over: a replay, or a read.
        let read = match held.take() {
            Some(e) => Err(e),
            None => tokio::select! {
                biased;
                _ = &mut stopped => break,
                Some((batch, ack_fn, token, attempt)) = replay_rx.recv() => Ok((batch, ack_fn, Some(token), attempt)),
                r = input.read(), if own_token.is_some() => r.map(|(batch, ack_fn)| (batch, ack_fn, None, 0)),
                r = inflight_rx.recv(), if own_token.is_none() => match r {
                    None => break,
                    Some(()) => continue,
                },
            },
        };
        let first = match read {
            Ok(first) => first,
            Err(ComponentError::EndOfInput) => {
                own_token = None;
                drop(direct.take());
                ended.cancel();
                continue;
            }
            Err(ComponentError::NotConnected) => {
                metrics.conn.lost();
                readiness.input.store(false, Ordering::Relaxed);
                if !connect(Connecting::Input(&mut input), &info, &metrics.conn, &stop).await {
                    break;
                }
                readiness.input.store(true, Ordering::Relaxed);
                continue;
            }
            Err(ComponentError::Failed(e)) => {
                tracing::error!(label = %info.label, path = %info.path, "failed to read input: {e}");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
        };
        // Whatever the input has ready without waiting goes to the next stage with this batch,
        // in one hand-over: a wake-up per message is most of what a light pipeline costs.
        let mut chunk = Vec::new();
        let mut next = Some(first);
        while let Some((batch, ack_fn, token, attempt)) = next.take() {
            // A replay keeps the token it was read with; a new read takes one.
            let Some(token) = token.or_else(|| own_token.clone()) else {
                break;
            };
            admission
                .admit(batch, ack_fn, token, attempt, &mut chunk)
                .await;
            if !burst || own_token.is_none() || chunk.len() >= CHUNK_MAX {
                break;
            }
            match input.read().now_or_never() {
                Some(Ok((batch, ack_fn))) => next = Some((batch, ack_fn, None, 0)),
                Some(Err(e)) => held = Some(e),
                None => {}
            }
        }
        if !tx.hand_over(chunk, &abort).await {
            break;
        }
    }
    if let Some(direct) = &direct {
        direct.open.store(false, Ordering::Relaxed);
    }
    readiness.input.store(false, Ordering::Relaxed);
    if let Err(e) = input.close().await {
        tracing::warn!(label = %info.label, path = %info.path, "failed to close input: {e}");
    }
}

/// The most transactions one hand-over between stages carries.
const CHUNK_MAX: usize = 64;

/// How a batch from the input becomes transactions: metered, tracked for its acknowledgement
/// and through the input processors. The input task and [`DirectIntake`] share it.
struct Admission {
    acks: Arc<AckContext>,
    procs: Vec<Arc<ProcessorStage>>,
    replays: bool,
}

impl Admission {
    /// Add the transactions `batch` gives to `chunk`. An empty batch gives none, and its
    /// acknowledgement is never called.
    async fn admit(
        &self,
        batch: Batch,
        ack_fn: AckFn,
        token: mpsc::Sender<()>,
        attempt: u32,
        chunk: &mut Vec<Transaction>,
    ) {
        if batch.is_empty() {
            return;
        }
        self.acks.metrics.received.increment(batch.len() as u64);
        let (batch, ack) = self.acks.track(self.replays, batch, ack_fn, token, attempt);
        if self.procs.is_empty() {
            chunk.push(Transaction { batch, ack });
            return;
        }
        hand_on(run_processors(&self.procs, batch).await, ack, chunk);
    }
}

/// The transactions one transaction's batches make after processors: each non-empty batch with
/// a part of its acknowledgement. The last keeps the handle itself (most transactions stay
/// one, and an unsplit handle costs nothing to resolve); with none left (everything
/// filtered) the source is acknowledged here.
fn hand_on(batches: Vec<Batch>, mut ack: AckHandle, out: &mut Vec<Transaction>) {
    let mut kept = batches.into_iter().filter(|b| !b.is_empty()).peekable();
    while let Some(batch) = kept.next() {
        if kept.peek().is_none() {
            out.push(Transaction { batch, ack });
            return;
        }
        out.push(Transaction {
            batch,
            ack: ack.split(),
        });
    }
    ack.ack();
}

/// The input task's work for one batch, done on the task of the input that delivers it
/// ([`Input::take_intake`]): an HTTP request is processed and, for an output that writes at
/// once, written on its connection's task, which then answers it without waiting for
/// another task. As on the input task, a panic here stops the stream. With no processors on
/// the way all of it is done before `deliver` returns, with no future.
struct DirectIntake {
    admission: Arc<Admission>,
    /// The output, when a delivery is settled before `deliver` returns: no processor on the
    /// way and no nack to replay (a replay goes through the input task, so such an input's
    /// deliveries are tracked as its reads are).
    settles_in: Option<Arc<OutputShared>>,
    /// [`Intake::keeps_replies`], known once the stream is built.
    keeps_replies: bool,
    downstream: Downstream,
    /// Cloned into each transaction, so the input task waits for them as for its own reads.
    token: mpsc::Sender<()>,
    /// Cleared by the input task when it stops reading. A flag of its own: the stop token's
    /// `is_cancelled` takes a lock that every connection's task would share.
    open: std::sync::atomic::AtomicBool,
    abort: CancellationToken,
    stream: Option<Arc<str>>,
    watch: PanicWatch,
}

impl Intake for DirectIntake {
    fn deliver(self: Arc<Self>, batch: Batch, ack: &mut dyn FnMut() -> AckFn) -> Delivery {
        if !self.open.load(Ordering::Relaxed) {
            return Delivery::Refused;
        }
        // Nothing to deliver is delivered (the input task never acknowledges an empty batch:
        // it has none to give).
        if batch.is_empty() {
            return Delivery::Settled(AckStatus::Delivered);
        }
        // The intake is offered only for an output that writes at once.
        let at_once = self
            .settles_in
            .as_ref()
            .and_then(|o| Some((o, o.output.at_once()?)));
        if let Some((output, writer)) = at_once {
            let settle = || self.settle(output, writer, batch);
            let settle = || crate::metrics::in_stream_now(self.stream.clone(), settle);
            return match self.watch.run_now(settle) {
                Some(status) => Delivery::Settled(status),
                None => Delivery::Refused,
            };
        }
        let ack = ack();
        Delivery::Pending(Box::pin(async move {
            let work = async {
                let mut chunk = Vec::with_capacity(1);
                self.admission
                    .admit(batch, ack, self.token.clone(), 0, &mut chunk)
                    .await;
                self.downstream.hand_over(chunk, &self.abort).await
            };
            let work = crate::metrics::in_stream(self.stream.clone(), work);
            self.watch.run(work).await.unwrap_or(false)
        }))
    }

    fn keeps_replies(&self) -> bool {
        self.keeps_replies
    }
}

impl DirectIntake {
    /// Write a batch at once and give its fate, metered as a tracked transaction is (received,
    /// written, acknowledged) but with nothing to track: no acknowledgement to build, call and
    /// free, and one reading of the clock for both latencies, since nothing runs between the
    /// write and its acknowledgement.
    fn settle(&self, output: &OutputShared, writer: &dyn WriteAtOnce, batch: Batch) -> AckStatus {
        let started = Instant::now();
        let metrics = &self.admission.acks.metrics;
        metrics.received.increment(batch.len() as u64);
        let written = writer.write_now(&batch);
        let took = started.elapsed();
        metrics.acked_after(took);
        match output.outcome(written, &batch, took) {
            Ok(()) => AckStatus::Delivered,
            Err(e) => AckStatus::Failed(e),
        }
    }
}

/// Where a stage hands its transactions on: the next stage's channel or, for an output that
/// writes at once ([`Output::at_once`]), the output itself. The sender is held either
/// way: the output task closes the output once every sender is gone.
#[derive(Clone)]
struct Downstream {
    tx: async_channel::Sender<Vec<Transaction>>,
    in_place: Option<Arc<OutputShared>>,
}

impl Downstream {
    /// Hand transactions on; false when the next stage is gone or the stream aborts.
    async fn hand_over(&self, chunk: Vec<Transaction>, abort: &CancellationToken) -> bool {
        if chunk.is_empty() {
            return true;
        }
        if let Some(output) = &self.in_place {
            for t in chunk {
                write_transaction(output, t).await;
            }
            return !abort.is_cancelled();
        }
        // Most hand-overs find room: no need to set up the select.
        let chunk = match self.tx.try_send(chunk) {
            Ok(()) => return true,
            Err(async_channel::TrySendError::Closed(_)) => return false,
            Err(async_channel::TrySendError::Full(chunk)) => chunk,
        };
        tokio::select! {
            r = self.tx.send(chunk) => r.is_ok(),
            _ = abort.cancelled() => false,
        }
    }
}

async fn run_worker(
    rx: async_channel::Receiver<Vec<Transaction>>,
    tx: Downstream,
    procs: Vec<Arc<ProcessorStage>>,
    bytes_only: bool,
    abort: CancellationToken,
) {
    while let Ok(chunk) = rx.recv().await {
        let mut out = Vec::with_capacity(chunk.len());
        for t in chunk {
            let mut batches = run_processors(&procs, t.batch).await;
            // Serialise structured results here, where the workers run in parallel, rather
            // than in the one output task that would otherwise do it for every message.
            for m in batches.iter_mut().flatten() {
                if bytes_only {
                    m.keep_only_bytes();
                } else {
                    m.bytes();
                }
            }
            hand_on(batches, t.ack, &mut out);
        }
        if !tx.hand_over(out, &abort).await {
            return;
        }
    }
}

/// The signals a stream's tasks share: stop reading (`stop`), give up at once (`abort`), and
/// the input has read its last message (`input_ended`).
struct Lifecycle {
    stop: CancellationToken,
    abort: CancellationToken,
    input_ended: CancellationToken,
    /// Cancelled by a panic in the input's own tasks (see [`DirectIntake`]).
    crashed: CancellationToken,
}

/// Shared by the acknowledgements of one input's transactions.
struct AckContext {
    metrics: InputMetrics,
    replay_tx: mpsc::UnboundedSender<Replay>,
    stop: CancellationToken,
}

impl AckContext {
    /// The acknowledgement of a batch read (or replayed): metered, replayed after a nack when
    /// the input asks for that, and holding `token` until its fate is known.
    fn track(
        self: &Arc<Self>,
        replays: bool,
        batch: Batch,
        ack_fn: AckFn,
        token: mpsc::Sender<()>,
        attempt: u32,
    ) -> (Batch, AckHandle) {
        let started = Instant::now();
        let acks = self.clone();
        let copy = replays.then(|| batch.clone());
        let ack = AckHandle::new(Box::new(move |status: AckStatus| {
            acks.metrics.acked_after(started.elapsed());
            match (status, copy) {
                (AckStatus::Failed(e), Some(copy)) if !acks.stop.is_cancelled() => {
                    let delay = replay_delay(attempt);
                    // Once per doubling of the attempts: a message that keeps failing does
                    // not fill the log.
                    if attempt.is_power_of_two() || attempt == 0 {
                        tracing::warn!(
                            "message rejected, replaying it in {delay:?} (attempt {}): {e}",
                            attempt + 1
                        );
                    }
                    // A handle dropped while the runtime shuts down has nowhere to wait: the
                    // input is stopping anyway, and its source keeps what was not acked.
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        let replay_tx = acks.replay_tx.clone();
                        rt.spawn(async move {
                            tokio::time::sleep(delay).await;
                            let _ = replay_tx.send((copy, ack_fn, token, attempt + 1));
                        });
                    }
                    Box::pin(async {})
                }
                (status, _) => {
                    let mut fut = ack_fn(status);
                    // Most sources acknowledge at once (an HTTP reply, a channel send): then
                    // there is no second future to allocate to hold the token until it is done.
                    if crate::message::ack::completes_now(&mut fut) {
                        drop(token);
                        return Box::pin(async {});
                    }
                    Box::pin(async move {
                        fut.await;
                        drop(token);
                    })
                }
            }
        }));
        (batch, ack)
    }
}

/// What every write needs, shared by the concurrent writes of one output.
struct OutputShared {
    output: Arc<dyn Output>,
    info: ComponentInfo,
    metrics: OutputMetrics,
    procs: Vec<Arc<ProcessorStage>>,
    readiness: Arc<Readiness>,
    abort: CancellationToken,
    /// Whoever sees `NotConnected` first reconnects; the others wait for it.
    reconnect: Mutex<()>,
}

impl OutputShared {
    /// A write's result, metered: the error's text when it failed.
    fn outcome(
        &self,
        r: Result<(), ComponentError>,
        batch: &Batch,
        took: Duration,
    ) -> Result<(), String> {
        match r {
            Ok(()) => {
                self.metrics.written(batch.len(), took);
                Ok(())
            }
            Err(e) => {
                self.metrics.failed();
                tracing::error!(label = %self.info.label, path = %self.info.path, "failed to send message: {e}");
                Err(e.to_string())
            }
        }
    }
}

/// Up to `max_in_flight` writes run at once, all polled by this task: Bento runs one goroutine
/// per slot, but a task per write (or per slot) would add a wake-up to every message, and the
/// writes spend their time waiting on I/O, not on this task.
async fn run_output(
    shared: Arc<OutputShared>,
    batch_procs: Vec<Arc<ProcessorStage>>,
    batching: Option<BatchPolicy>,
    rx: async_channel::Receiver<Vec<Transaction>>,
    input_ended: CancellationToken,
) {
    let (output, info) = (&shared.output, &shared.info);
    if !connect(
        Connecting::Output(output),
        info,
        &shared.metrics.conn,
        &shared.abort,
    )
    .await
    {
        return;
    }
    shared.readiness.output.store(true, Ordering::Relaxed);
    tracing::info!(label = %info.label, path = %info.path, "Output type {} is now active", info.kind_name);
    let max_in_flight = output.max_in_flight().max(1);
    let mut batcher = batching.map(|p| Batcher::new(p, &info.label, &info.path));
    // An output that can take several transactions in one write gets what is waiting, up to
    // this many, when nothing runs between the channel and its write.
    let gather =
        match shared.output.coalesces_writes() && shared.procs.is_empty() && batcher.is_none() {
            true => GATHER_MAX,
            false => 1,
        };
    let mut writes = FuturesUnordered::new();
    // Transactions received and not yet written, in order: a hand-over brings several.
    let mut queued = VecDeque::<Transaction>::new();
    let mut open = true;
    let mut draining = false;
    // One waiter for the whole loop (see `run_input`).
    let aborted = shared.abort.cancelled();
    tokio::pin!(aborted);
    while open || !writes.is_empty() || !queued.is_empty() {
        while writes.len() < max_in_flight {
            let Some(first) = queued.pop_front() else {
                break;
            };
            let mut more = Vec::new();
            if gather > 1 {
                while open && queued.len() + 1 < gather {
                    match rx.try_recv() {
                        Ok(chunk) => queued.extend(chunk),
                        Err(_) => break,
                    }
                }
                more.extend(queued.drain(..queued.len().min(gather - 1)));
            }
            writes.push(write_gathered(&shared, first, more));
        }
        let deadline = batcher.as_ref().and_then(Batcher::deadline);
        tokio::select! {
            biased;
            Some(()) = writes.next(), if !writes.is_empty() => {}
            chunk = rx.recv(), if open && queued.is_empty() && writes.len() < max_in_flight => {
                match (chunk, batcher.as_mut()) {
                    (Ok(chunk), None) => queued.extend(chunk),
                    (Ok(chunk), Some(b)) => {
                        for t in chunk {
                            let t = process_transaction(&batch_procs, t).await;
                            // Once the input has ended, what arrives (replays) is written at
                            // once.
                            let why = b.add(t.batch, t.ack).or(draining.then_some(Mechanism::Final));
                            if let Some(why) = why {
                                queued.extend(b.flush(why).await);
                            }
                        }
                    }
                    (Err(_), b) => {
                        open = false;
                        // The input ended: what gathered is written before the output closes.
                        if let Some(b) = b {
                            queued.extend(b.flush(Mechanism::Final).await);
                        }
                    }
                }
            }
            _ = input_ended.cancelled(), if !draining && batcher.is_some() => {
                draining = true;
                if let Some(b) = batcher.as_mut() {
                    queued.extend(b.flush(Mechanism::Final).await);
                }
            }
            _ = sleep_until_some(deadline), if open && deadline.is_some() => {
                if let Some(b) = batcher.as_mut() {
                    queued.extend(b.flush(Mechanism::Period).await);
                }
            }
            // Writes in flight see the abort themselves and return; what is still queued (and
            // a batch still gathering) is dropped, which nacks it.
            _ = &mut aborted, if open => {
                open = false;
                queued.clear();
            }
        }
    }
    drop(rx);
    if let Err(e) = shared.output.close().await {
        tracing::warn!(label = %shared.info.label, path = %shared.info.path, "failed to close output: {e}");
    }
}

/// A transaction after the output processors: every batch they give, as one.
async fn process_transaction(procs: &[Arc<ProcessorStage>], t: Transaction) -> Transaction {
    if procs.is_empty() {
        return t;
    }
    let batch = run_processors(procs, t.batch)
        .await
        .into_iter()
        .flatten()
        .collect();
    Transaction { batch, ack: t.ack }
}

/// The most transactions [`Output::coalesces_writes`] outputs get in one write.
const GATHER_MAX: usize = 256;

/// Write a transaction together with `more` that were waiting behind it, as one batch, and
/// resolve all of them with its outcome. Only for outputs that coalesce writes and have no
/// output processors; with nothing gathered this is [`write_transaction`].
async fn write_gathered(s: &OutputShared, first: Transaction, more: Vec<Transaction>) {
    if more.is_empty() {
        return write_transaction(s, first).await;
    }
    let mut batch = first.batch;
    let mut acks = Vec::with_capacity(more.len() + 1);
    acks.push(first.ack);
    for t in more {
        batch.extend(t.batch);
        acks.push(t.ack);
    }
    match write_batch(s, &batch).await {
        Written::Yes => acks.into_iter().for_each(AckHandle::ack),
        Written::Failed(e) => acks.into_iter().for_each(|a| a.nack(e.clone())),
        Written::Aborted => {}
    }
}

/// Run output processors, write, and resolve the transaction. An abort drops it unresolved,
/// which nacks it.
async fn write_transaction(s: &OutputShared, t: Transaction) {
    let written = if s.procs.is_empty() {
        write_batch(s, &t.batch).await
    } else {
        let mut r = Written::Yes;
        for batch in run_processors(&s.procs, t.batch).await {
            r = write_batch(s, &batch).await;
            if !matches!(r, Written::Yes) {
                break;
            }
        }
        r
    };
    written.resolve(t.ack);
}

enum Written {
    Yes,
    Failed(String),
    Aborted,
}

impl From<Result<(), String>> for Written {
    fn from(r: Result<(), String>) -> Written {
        match r {
            Ok(()) => Written::Yes,
            Err(e) => Written::Failed(e),
        }
    }
}

impl Written {
    /// Acknowledge what was written, nack what failed; an abort drops the handle unresolved,
    /// which nacks it.
    fn resolve(self, ack: AckHandle) {
        match self {
            Written::Yes => ack.ack(),
            Written::Failed(e) => ack.nack(e),
            Written::Aborted => {}
        }
    }
}

/// A write of an output that writes at once ([`Output::at_once`]), with no future.
fn write_batch_now(
    s: &OutputShared,
    writer: &dyn WriteAtOnce,
    batch: &Batch,
    started: Instant,
) -> Written {
    if batch.is_empty() {
        return Written::Yes;
    }
    let written = writer.write_now(batch);
    s.outcome(written, batch, started.elapsed()).into()
}

/// Write one batch, reconnecting while the output reports `NotConnected`.
async fn write_batch(s: &OutputShared, batch: &Batch) -> Written {
    if let Some(writer) = s.output.at_once() {
        return write_batch_now(s, writer, batch, Instant::now());
    }
    if batch.is_empty() {
        return Written::Yes;
    }
    let started = Instant::now();
    // A write that fails again right after a reconnect (a channel the broker closes on every
    // publish to a missing exchange) waits longer each time instead of spinning.
    let mut again = connect_backoff();
    let mut reconnected = false;
    loop {
        // Most writes finish when first polled (`drop`, buffered outputs): those need no
        // cancellation future, whose registration takes the token's locks.
        let mut write = std::pin::pin!(s.output.write(batch));
        let r = match futures::poll!(write.as_mut()) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => tokio::select! {
                r = write => r,
                _ = s.abort.cancelled() => return Written::Aborted,
            },
        };
        match r {
            Err(ComponentError::NotConnected) => {
                if reconnected {
                    let wait = again.next().unwrap_or(Duration::from_secs(1));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = s.abort.cancelled() => return Written::Aborted,
                    }
                }
                reconnected = true;
                let _guard = s.reconnect.lock().await;
                s.metrics.conn.lost();
                s.readiness.output.store(false, Ordering::Relaxed);
                if !connect(
                    Connecting::Output(&s.output),
                    &s.info,
                    &s.metrics.conn,
                    &s.abort,
                )
                .await
                {
                    return Written::Aborted;
                }
                s.readiness.output.store(true, Ordering::Relaxed);
            }
            r => return s.outcome(r, batch, started.elapsed()).into(),
        }
    }
}
