//! Bento's metric names, emitted through the `metrics` facade and exposed in Prometheus text
//! format. Handles are registered once per component at build time so the hot path only bumps
//! atomics.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use metrics::{counter, histogram, Counter, CounterFn, Histogram, HistogramFn};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;

mod summary;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Timings in seconds (`use_histogram_timing`, as Bento's histograms hold them) rather than in
/// nanoseconds (its summaries).
static SECONDS: AtomicBool = AtomicBool::new(false);

/// `metrics.prometheus`: the settings engine honours (the push gateway and file output are
/// refused by lint).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PrometheusConf {
    pub use_histogram_timing: bool,
    pub histogram_buckets: Vec<f64>,
    pub add_process_metrics: bool,
}

/// Go's `prometheus.DefBuckets`, Bento's default `histogram_buckets`, in seconds.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Install the process-wide Prometheus recorder (once) with these settings, and return its
/// handle. Timings are engine's summaries (see `summary`), or the exporter's histograms.
///
/// Histogram samples pile up in the recorder until its upkeep drains them into the buckets,
/// and the exporter leaves running the upkeep to whoever installs it: without it memory grows
/// with every message and never comes back. A thread of its own runs it every 5 s (and, with
/// `add_process_metrics`, samples the process).
pub fn install(
    conf: &PrometheusConf,
    mapping: Option<crate::bloblang::Mapping>,
) -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            if conf.use_histogram_timing {
                SECONDS.store(true, Ordering::Relaxed);
                let buckets = match conf.histogram_buckets.as_slice() {
                    [] => &DEFAULT_BUCKETS[..],
                    b => b,
                };
                builder = builder.set_buckets(buckets).ok()?;
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let installed =
                metrics::set_global_recorder(MappedRecorder { recorder, mapping }).is_ok();
            if !installed {
                return None;
            }
            let upkeep = handle.clone();
            let process = conf.add_process_metrics.then(|| {
                let c = metrics_process::Collector::default();
                c.describe();
                c.collect();
                c
            });
            let started = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    pass_on_hot();
                    upkeep.run_upkeep();
                    if let Some(p) = &process {
                        p.collect();
                    }
                });
            if let Err(e) = started {
                tracing::warn!("metrics upkeep did not start, histograms will grow: {e}");
            }
            Some(handle)
        })
        .as_ref()
}

tokio::task_local! {
    static TASK_STREAM: Arc<str>;
}

thread_local! {
    static THREAD_STREAM: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
}

/// The stream (in `engine streams`) whose work this is: it labels metrics (`stream`) and log
/// lines. Building a stream sets it on the thread ([`building_stream`]); running one sets it
/// on each of its tasks ([`in_stream`]).
pub fn current_stream() -> Option<Arc<str>> {
    TASK_STREAM
        .try_with(Arc::clone)
        .ok()
        .or_else(|| THREAD_STREAM.with(|s| s.borrow().clone()))
}

/// Run `f` (a stream's build) with `stream` as the current stream of this thread.
pub fn building_stream<T>(stream: Option<Arc<str>>, f: impl FnOnce() -> T) -> T {
    let before = THREAD_STREAM.with(|s| s.replace(stream));
    let out = f();
    THREAD_STREAM.with(|s| *s.borrow_mut() = before);
    out
}

/// `fut` with `stream` as its current stream (tasks do not inherit it: each spawn wraps).
pub async fn in_stream<F: std::future::Future>(stream: Option<Arc<str>>, fut: F) -> F::Output {
    match stream {
        Some(s) => TASK_STREAM.scope(s, fut).await,
        None => fut.await,
    }
}

/// [`in_stream`] for work that waits on nothing.
pub fn in_stream_now<T>(stream: Option<Arc<str>>, f: impl FnOnce() -> T) -> T {
    match stream {
        Some(s) => TASK_STREAM.sync_scope(s, f),
        None => f(),
    }
}

/// The recorder with default settings (tests, and tools that do not read a config).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    install(&PrometheusConf::default(), None)
}

/// `metrics.mapping`: each metric, when it is registered, goes through the mapping with its
/// name as the document and its labels as metadata, as Bento's does: `root = deleted()` drops
/// it, a new root renames it, metadata becomes its labels. Components register their metrics
/// once, so the mapping runs once per metric, not per message.
struct MappedRecorder {
    recorder: metrics_exporter_prometheus::PrometheusRecorder,
    mapping: Option<crate::bloblang::Mapping>,
}

impl MappedRecorder {
    /// The metric as exported: with its stream's label (streams mode), through the mapping.
    fn map(&self, key: &metrics::Key) -> Option<metrics::Key> {
        let key = match current_stream() {
            Some(stream) => {
                let mut labels: Vec<metrics::Label> = key.labels().cloned().collect();
                labels.push(metrics::Label::new("stream", stream.to_string()));
                metrics::Key::from_parts(key.name().to_owned(), labels)
            }
            None => key.clone(),
        };
        match &self.mapping {
            Some(mapping) => Self::mapped(mapping, &key),
            None => Some(key),
        }
    }

    fn mapped(mapping: &crate::bloblang::Mapping, key: &metrics::Key) -> Option<metrics::Key> {
        use crate::message::{Message, Metadata, Value};
        let mut meta = Metadata::new();
        for l in key.labels() {
            meta.insert(l.key().to_owned().into(), Value::from(l.value()));
        }
        let name = key.name().to_owned();
        let mut msg = Message::from_structured(name.clone(), Value::String(name));
        msg.set_meta(meta);
        match mapping.map_message(std::slice::from_ref(&msg), 0) {
            Ok(None) => None,
            Ok(Some(m)) => {
                let name = match m.structured() {
                    Ok(Value::String(s)) => s.to_string(),
                    _ => m.as_str_lossy().into_owned(),
                };
                let labels: Vec<metrics::Label> = m
                    .meta()
                    .iter()
                    .map(|(k, v)| metrics::Label::new(k.clone(), v.to_string()))
                    .collect();
                Some(metrics::Key::from_parts(name, labels))
            }
            Err(e) => {
                tracing::warn!("metrics mapping failed for {}: {e}", key.name());
                Some(key.clone())
            }
        }
    }
}

impl metrics::Recorder for MappedRecorder {
    fn describe_counter(
        &self,
        k: metrics::KeyName,
        u: Option<metrics::Unit>,
        d: metrics::SharedString,
    ) {
        self.recorder.describe_counter(k, u, d)
    }
    fn describe_gauge(
        &self,
        k: metrics::KeyName,
        u: Option<metrics::Unit>,
        d: metrics::SharedString,
    ) {
        self.recorder.describe_gauge(k, u, d)
    }
    fn describe_histogram(
        &self,
        k: metrics::KeyName,
        u: Option<metrics::Unit>,
        d: metrics::SharedString,
    ) {
        self.recorder.describe_histogram(k, u, d)
    }
    fn register_counter(&self, key: &metrics::Key, md: &metrics::Metadata<'_>) -> metrics::Counter {
        match self.map(key) {
            Some(k) => self.recorder.register_counter(&k, md),
            None => metrics::Counter::noop(),
        }
    }
    fn register_gauge(&self, key: &metrics::Key, md: &metrics::Metadata<'_>) -> metrics::Gauge {
        match self.map(key) {
            Some(k) => self.recorder.register_gauge(&k, md),
            None => metrics::Gauge::noop(),
        }
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        md: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        match self.map(key) {
            // Summaries are engine's own (see `summary`); histograms the exporter's.
            Some(k) if !SECONDS.load(Ordering::Relaxed) => Histogram::from_arc(summary_for(&k)),
            Some(k) => self.recorder.register_histogram(&k, md),
            None => metrics::Histogram::noop(),
        }
    }
}

/// The metrics every message updates (received, sent, batches, latencies) are written by every
/// worker thread. Written straight into the exporter's storage, each update moved a cache line
/// shared by the cores, and each latency sample took a clock reading and an epoch pin in the
/// exporter's bucket: together about a tenth of an `http_server → drop` request's user time
/// (perf, BENCHMARKS.md, twelfth pass). A hot metric keeps a slot per thread instead and passes
/// its totals on to the exporter when `/metrics` is rendered, every 5 s (the upkeep thread),
/// and, for latencies, whenever a thread's slot has [`HELD`] samples.
const SHARDS: usize = 8;

/// Latency samples a thread's slot holds before it passes them on: bounded memory, and the
/// summaries (or the exporter's histograms) see each sample at most a few milliseconds late
/// under load (at most 5 s when idle; a render passes on every slot first).
const HELD: usize = 256;

/// Every hot metric alive, to pass on before a render.
static HOT: Mutex<Vec<Weak<dyn PassOn>>> = Mutex::new(Vec::new());

trait PassOn: Send + Sync {
    /// Move what the slots hold to the exporter.
    fn pass_on(&self);
}

fn pass_on_hot() {
    let mut hot = HOT.lock().unwrap_or_else(PoisonError::into_inner);
    hot.retain(|m| match m.upgrade() {
        Some(m) => {
            m.pass_on();
            true
        }
        None => false,
    });
}

fn keep_hot<T: PassOn + 'static>(m: Arc<T>) -> Arc<T> {
    let weak: Weak<dyn PassOn> = Arc::downgrade(&m) as Weak<dyn PassOn>;
    let mut hot = HOT.lock().unwrap_or_else(PoisonError::into_inner);
    // Without a render or an upkeep (no recorder) nothing else forgets the metrics gone.
    hot.retain(|m| m.strong_count() > 0);
    hot.push(weak);
    m
}

/// This thread's slot: threads take them in turn, so the few that write most (the tokio
/// workers) have one each.
fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SLOT.with(|s| *s)
}

/// A counter with a slot per thread (see [`SHARDS`]).
struct HotCounter {
    inner: Counter,
    slots: [CachePadded<AtomicU64>; SHARDS],
}

fn hot_counter(inner: Counter) -> Counter {
    Counter::from_arc(keep_hot(Arc::new(HotCounter {
        inner,
        slots: Default::default(),
    })))
}

impl CounterFn for HotCounter {
    fn increment(&self, value: u64) {
        self.slots[slot()].fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.pass_on();
        self.inner.absolute(value);
    }
}

impl PassOn for HotCounter {
    fn pass_on(&self) {
        let total: u64 = self
            .slots
            .iter()
            .map(|s| s.swap(0, Ordering::Relaxed))
            .sum();
        if total > 0 {
            self.inner.increment(total);
        }
    }
}

impl Drop for HotCounter {
    fn drop(&mut self) {
        self.pass_on();
    }
}

/// A latency histogram with a slot of samples per thread (see [`SHARDS`]), passed on to the
/// exporter's histogram or to engine's own summary.
struct HotHistogram {
    sink: Sink,
    slots: [CachePadded<Mutex<Vec<f64>>>; SHARDS],
}

enum Sink {
    Exporter(Histogram),
    Summary(Arc<summary::Summary>),
}

impl HotHistogram {
    fn new(sink: Sink) -> Arc<HotHistogram> {
        keep_hot(Arc::new(HotHistogram {
            sink,
            slots: Default::default(),
        }))
    }

    fn pass_on_samples(&self, samples: &mut Vec<f64>) {
        match &self.sink {
            Sink::Exporter(h) => samples.iter().for_each(|v| h.record(*v)),
            Sink::Summary(s) => s.add(samples, summary::age_now()),
        }
        samples.clear();
    }
}

/// A histogram of the exporter's made hot. Summaries (the default timings) come hot from the
/// recorder already.
fn hot_histogram(inner: Histogram) -> Histogram {
    if !SECONDS.load(Ordering::Relaxed) {
        return inner;
    }
    Histogram::from_arc(HotHistogram::new(Sink::Exporter(inner)))
}

/// A summary as registered: its name and labels as rendered, its handle (whose slots every
/// registration of the key shares) and the summary the handle passes its samples on to.
struct RegisteredSummary {
    name: String,
    labels: String,
    hot: Arc<HotHistogram>,
    summary: Arc<summary::Summary>,
}

/// Every summary registered, by its key (after `metrics.mapping`). Like the exporter's
/// registry, this keeps a metric for the life of the process. Keyed by the key itself, so that
/// registering one again (a cache resource does for every operation) is a lookup.
static SUMMARIES: std::sync::LazyLock<
    Mutex<std::collections::HashMap<metrics::Key, RegisteredSummary>>,
> = std::sync::LazyLock::new(Default::default);

/// The summary of `key`: one per key, however often it is registered.
fn summary_for(key: &metrics::Key) -> Arc<HotHistogram> {
    use metrics_exporter_prometheus::formatting::{
        sanitize_label_key, sanitize_label_value, sanitize_metric_name,
    };
    let mut all = SUMMARIES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = all.get(key) {
        return r.hot.clone();
    }
    // As the exporter's label sets: a label given twice keeps its first place and last value.
    let mut labels: Vec<(String, String)> = Vec::new();
    for l in key.labels() {
        let (k, v) = (sanitize_label_key(l.key()), sanitize_label_value(l.value()));
        match labels.iter_mut().find(|(have, _)| *have == k) {
            Some(kv) => kv.1 = v,
            None => labels.push((k, v)),
        }
    }
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let summary = Arc::new(summary::Summary::default());
    let hot = HotHistogram::new(Sink::Summary(summary.clone()));
    all.insert(
        key.clone(),
        RegisteredSummary {
            name: sanitize_metric_name(key.name()),
            labels: labels.join(","),
            hot: hot.clone(),
            summary,
        },
    );
    hot
}

/// The summaries in Prometheus text, after what the exporter renders.
fn render_summaries(out: &mut String) {
    use std::fmt::Write;
    let all = SUMMARIES.lock().unwrap_or_else(PoisonError::into_inner);
    let mut sorted: Vec<&RegisteredSummary> = all.values().collect();
    sorted.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
    let age = summary::age_now();
    let mut family: Option<&str> = None;
    for r in sorted {
        let (name, labels) = (r.name.as_str(), r.labels.as_str());
        if family != Some(name) {
            if family.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "# TYPE {name} summary");
            family = Some(name);
        }
        let snap = r.summary.snapshot(age);
        let sep = if labels.is_empty() { "" } else { "," };
        for ((_, q), v) in summary::QUANTILES.iter().zip(snap.quantiles) {
            let _ = writeln!(out, "{name}{{{labels}{sep}quantile=\"{q}\"}} {v}");
        }
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{labels} {}", snap.sum);
        let _ = writeln!(out, "{name}_count{labels} {}", snap.count);
    }
    if family.is_some() {
        out.push('\n');
    }
}

impl HistogramFn for HotHistogram {
    fn record(&self, value: f64) {
        let mut samples = self.slots[slot()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        samples.push(value);
        if samples.len() >= HELD {
            self.pass_on_samples(&mut samples);
        }
    }
}

impl PassOn for HotHistogram {
    fn pass_on(&self) {
        for slot in &self.slots {
            let mut samples = slot.lock().unwrap_or_else(PoisonError::into_inner);
            self.pass_on_samples(&mut samples);
        }
    }
}

impl Drop for HotHistogram {
    fn drop(&mut self) {
        self.pass_on();
    }
}

/// Prometheus text exposition of everything recorded so far, with a `# HELP` line before each
/// metric as Bento's exposition has.
pub fn render() -> String {
    pass_on_hot();
    let mut text = prometheus().map(|h| h.render()).unwrap_or_default();
    render_summaries(&mut text);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut described = false;
    for line in text.lines() {
        // Described metrics (the process ones) bring their own help, on the line before.
        let help_before = std::mem::replace(&mut described, line.starts_with("# HELP "));
        if let Some(rest) = line.strip_prefix("# TYPE ").filter(|_| !help_before) {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let help = match kind {
                "counter" => "Bento Counter metric",
                "gauge" => "Bento Gauge metric",
                _ => "Bento Timing metric",
            };
            out.push_str(&format!("# HELP {name} {help}\n"));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A counter of errors that change what happens to a message without failing it (an
/// acknowledgement lost, a message dropped after a cache error), labelled with the component.
pub fn error_counter(name: &'static str, label: &str, path: &str) -> Counter {
    counter!(name, &labels(label, path))
}

fn labels(label: &str, path: &str) -> [(&'static str, String); 2] {
    [("label", label.to_owned()), ("path", path.to_owned())]
}

/// A timing as recorded: nanoseconds, or seconds for histograms (see [`SECONDS`]).
fn nanos(d: Duration) -> f64 {
    if SECONDS.load(Ordering::Relaxed) {
        return d.as_secs_f64();
    }
    d.as_nanos() as f64
}

#[derive(Clone)]
pub struct ConnectionMetrics {
    up: Counter,
    failed: Counter,
    lost: Counter,
}

impl ConnectionMetrics {
    fn new(prefix: &str, label: &str, path: &str) -> ConnectionMetrics {
        let l = labels(label, path);
        ConnectionMetrics {
            up: counter!(format!("{prefix}_connection_up"), &l),
            failed: counter!(format!("{prefix}_connection_failed"), &l),
            lost: counter!(format!("{prefix}_connection_lost"), &l),
        }
    }
    pub fn up(&self) {
        self.up.increment(1);
    }
    pub fn failed(&self) {
        self.failed.increment(1);
    }
    pub fn lost(&self) {
        self.lost.increment(1);
    }
}

#[derive(Clone)]
pub struct InputMetrics {
    pub received: Counter,
    pub latency: Histogram,
    pub conn: ConnectionMetrics,
}

impl InputMetrics {
    pub fn new(label: &str, path: &str) -> InputMetrics {
        let l = labels(label, path);
        InputMetrics {
            received: hot_counter(counter!("input_received", &l)),
            latency: hot_histogram(histogram!("input_latency_ns", &l)),
            conn: ConnectionMetrics::new("input", label, path),
        }
    }
    pub fn acked_after(&self, d: Duration) {
        self.latency.record(nanos(d));
    }
}

#[derive(Clone)]
pub struct ProcessorMetrics {
    received: Counter,
    batch_received: Counter,
    sent: Counter,
    batch_sent: Counter,
    error: Counter,
    latency: Histogram,
}

impl ProcessorMetrics {
    pub fn new(label: &str, path: &str) -> ProcessorMetrics {
        let l = labels(label, path);
        ProcessorMetrics {
            received: hot_counter(counter!("processor_received", &l)),
            batch_received: hot_counter(counter!("processor_batch_received", &l)),
            sent: hot_counter(counter!("processor_sent", &l)),
            batch_sent: hot_counter(counter!("processor_batch_sent", &l)),
            error: counter!("processor_error", &l),
            latency: hot_histogram(histogram!("processor_latency_ns", &l)),
        }
    }
    pub fn received(&self, messages: usize) {
        self.received.increment(messages as u64);
        self.batch_received.increment(1);
    }
    pub fn sent(&self, messages: usize, batches: usize, errors: usize, took: Duration) {
        self.sent.increment(messages as u64);
        self.batch_sent.increment(batches as u64);
        // Most batches have no errors: no need to touch a counter shared by every worker.
        if errors > 0 {
            self.error.increment(errors as u64);
        }
        self.latency.record(nanos(took));
    }
}

#[derive(Clone)]
pub struct OutputMetrics {
    sent: Counter,
    batch_sent: Counter,
    error: Counter,
    latency: Histogram,
    pub conn: ConnectionMetrics,
}

impl OutputMetrics {
    pub fn new(label: &str, path: &str) -> OutputMetrics {
        let l = labels(label, path);
        OutputMetrics {
            sent: hot_counter(counter!("output_sent", &l)),
            batch_sent: hot_counter(counter!("output_batch_sent", &l)),
            error: counter!("output_error", &l),
            latency: hot_histogram(histogram!("output_latency_ns", &l)),
            conn: ConnectionMetrics::new("output", label, path),
        }
    }
    pub fn written(&self, messages: usize, took: Duration) {
        self.sent.increment(messages as u64);
        self.batch_sent.increment(1);
        self.latency.record(nanos(took));
    }
    pub fn failed(&self) {
        self.error.increment(1);
    }
}

/// `cache_*` metrics of one cache resource, per operation.
#[derive(Clone)]
pub struct CacheMetrics {
    label: String,
    path: String,
}

impl CacheMetrics {
    pub fn new(label: &str, path: &str) -> CacheMetrics {
        CacheMetrics {
            label: label.to_owned(),
            path: path.to_owned(),
        }
    }

    /// Record one operation's outcome: `success`, `error`, `not_found` or `duplicate`.
    pub fn record(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        let l = [
            ("label", self.label.clone()),
            ("path", self.path.clone()),
            ("operation", operation.to_owned()),
        ];
        let name = match outcome {
            "success" => "cache_success",
            "not_found" => "cache_not_found",
            "duplicate" => "cache_duplicate",
            _ => "cache_error",
        };
        counter!(name, &l).increment(1);
        histogram!("cache_latency_ns", &l).record(nanos(took));
    }
}

/// `rate_limit_*` metrics of one rate limit resource.
#[derive(Clone)]
pub struct RateLimitMetrics {
    pub checked: Counter,
    pub triggered: Counter,
    pub error: Counter,
}

impl RateLimitMetrics {
    pub fn new(label: &str, path: &str) -> RateLimitMetrics {
        let l = labels(label, path);
        RateLimitMetrics {
            checked: counter!("rate_limit_checked", &l),
            triggered: counter!("rate_limit_triggered", &l),
            error: counter!("rate_limit_error", &l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the one series of `name` in a render.
    fn rendered(name: &str) -> f64 {
        let text = render();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"));
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    #[test]
    fn hot_metrics_have_every_update_of_every_thread_when_rendered() {
        prometheus();
        let counter = hot_counter(counter!("hot_test_updates", "t" => "threads"));
        let latency = hot_histogram(histogram!("hot_test_latency_ns", "t" => "threads"));
        // More threads than slots, so that some share one; more samples than a slot holds,
        // so that some are passed on as they come and the rest by the render.
        let threads = SHARDS + 3;
        let each = HELD * 3 + 17;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..each {
                        counter.increment(2);
                        latency.record(i as f64);
                    }
                });
            }
        });
        assert_eq!(rendered("hot_test_updates"), (threads * each * 2) as f64);
        assert_eq!(
            rendered("hot_test_latency_ns_count"),
            (threads * each) as f64
        );
        // A render passes on what came since the last one, and nothing twice.
        counter.increment(1);
        latency.record(1.0);
        assert_eq!(
            rendered("hot_test_updates"),
            (threads * each * 2 + 1) as f64
        );
        assert_eq!(
            rendered("hot_test_latency_ns_count"),
            (threads * each + 1) as f64
        );
    }

    #[test]
    fn summaries_render_in_prometheus_text_as_bentos() {
        prometheus();
        let a = histogram!("summary_test_ns", "label" => "a", "path" => "p\"q");
        let b = histogram!("summary_test_ns", "label" => "b", "path" => "r");
        for v in [100.0, 200.0, 300.0, 400.0] {
            a.record(v);
        }
        let text = render();
        let family = text
            .split("\n\n")
            .find(|f| f.contains("# TYPE summary_test_ns summary"))
            .unwrap_or_else(|| panic!("no summary_test_ns in\n{text}"));
        // The samples of ranks 2 and 4, as the middles of their buckets: 200 is in [200, 204)
        // (32 buckets from 128 to 256), 400 in [400, 408).
        assert_eq!(
            family,
            "# HELP summary_test_ns Bento Timing metric\n\
             # TYPE summary_test_ns summary\n\
             summary_test_ns{label=\"a\",path=\"p\\\"q\",quantile=\"0.5\"} 202\n\
             summary_test_ns{label=\"a\",path=\"p\\\"q\",quantile=\"0.9\"} 404\n\
             summary_test_ns{label=\"a\",path=\"p\\\"q\",quantile=\"0.99\"} 404\n\
             summary_test_ns_sum{label=\"a\",path=\"p\\\"q\"} 1000\n\
             summary_test_ns_count{label=\"a\",path=\"p\\\"q\"} 4\n\
             summary_test_ns{label=\"b\",path=\"r\",quantile=\"0.5\"} 0\n\
             summary_test_ns{label=\"b\",path=\"r\",quantile=\"0.9\"} 0\n\
             summary_test_ns{label=\"b\",path=\"r\",quantile=\"0.99\"} 0\n\
             summary_test_ns_sum{label=\"b\",path=\"r\"} 0\n\
             summary_test_ns_count{label=\"b\",path=\"r\"} 0"
        );
        drop(b);
    }

    #[test]
    fn a_hot_metric_dropped_before_a_render_keeps_its_updates() {
        prometheus();
        let counter = hot_counter(counter!("hot_test_dropped", "t" => "drop"));
        let latency = hot_histogram(histogram!("hot_test_dropped_ns", "t" => "drop"));
        counter.increment(5);
        latency.record(3.0);
        drop((counter, latency));
        assert_eq!(rendered("hot_test_dropped"), 5.0);
        assert_eq!(rendered("hot_test_dropped_ns_count"), 1.0);
    }
}
