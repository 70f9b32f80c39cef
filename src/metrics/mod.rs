//! Bento's metric names, emitted through the `metrics` facade and exposed in Prometheus text
//! format. Handles are registered once per component at build time so the hot path only bumps
//! atomics.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, histogram, Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide Prometheus recorder (once) and return its handle.
///
/// Histogram samples pile up in the recorder until its upkeep drains them into the summaries,
/// and the exporter leaves running the upkeep to whoever installs it: without it memory grows
/// with every message and never comes back. A thread of its own runs it every 5 s.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            let upkeep = handle.clone();
            let started = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                });
            if let Err(e) = started {
                tracing::warn!("metrics upkeep did not start, histograms will grow: {e}");
            }
            Some(handle)
        })
        .as_ref()
}

/// Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    prometheus().map(|h| h.render()).unwrap_or_default()
}

/// A counter of errors that change what happens to a message without failing it (an
/// acknowledgement lost, a message dropped after a cache error), labelled with the component.
pub fn error_counter(name: &'static str, info: &crate::components::ComponentInfo) -> Counter {
    counter!(name, &labels(&info.label, &info.path))
}

fn labels(label: &str, path: &str) -> [(&'static str, String); 2] {
    [("label", label.to_owned()), ("path", path.to_owned())]
}

fn nanos(d: Duration) -> f64 {
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
            received: counter!("input_received", &l),
            latency: histogram!("input_latency_ns", &l),
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
            received: counter!("processor_received", &l),
            batch_received: counter!("processor_batch_received", &l),
            sent: counter!("processor_sent", &l),
            batch_sent: counter!("processor_batch_sent", &l),
            error: counter!("processor_error", &l),
            latency: histogram!("processor_latency_ns", &l),
        }
    }
    pub fn received(&self, messages: usize) {
        self.received.increment(messages as u64);
        self.batch_received.increment(1);
    }
    pub fn sent(&self, messages: usize, batches: usize, errors: usize, took: Duration) {
        self.sent.increment(messages as u64);
        self.batch_sent.increment(batches as u64);
        self.error.increment(errors as u64);
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
            sent: counter!("output_sent", &l),
            batch_sent: counter!("output_batch_sent", &l),
            error: counter!("output_error", &l),
            latency: histogram!("output_latency_ns", &l),
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
