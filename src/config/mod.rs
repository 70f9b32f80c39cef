//! Config loading: environment interpolation on the raw text, YAML into a positioned tree,
//! `--set` overrides and resource files merged in, defaults applied from the specs.

pub mod docs;
pub mod env;
pub mod lint;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value as J;
use thiserror::Error;

use crate::spec::{parse_duration, ComponentKind, FieldSpec, FieldType};
use yaml::{Node, NodeKind};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}({line},{col}) {message}")]
    Yaml {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("expected foo=bar syntax, got '{0}'")]
    BadSet(String),
    #[error("{0}")]
    Invalid(String),
}

/// The top level of a config file.
pub fn root_spec() -> FieldSpec {
    use FieldSpec as F;
    let component = |k| FieldType::Component(k);
    FieldSpec::object(
        "",
        "",
        vec![
            F::object(
                "http",
                "The service-wide HTTP server: health, readiness, metrics and component endpoints.",
                vec![
                    F::string("address", "The address to bind to.").default("0.0.0.0:4195"),
                    F::bool("enabled", "Whether to run the HTTP server.").default(true),
                    F::string("root_path", "A path prefix under which every endpoint is also served.")
                        .default("/bento")
                        .advanced(),
                    F::bool("debug_endpoints", "Whether to expose debug endpoints.")
                        .default(false)
                        .advanced(),
                ],
            )
            .default(J::Object(Default::default())),
            F::component("input", ComponentKind::Input, "The input to read from.")
                .default(serde_json::json!({"stdin": {}})),
            F::any("buffer", "A buffer between input and pipeline; only `none` is supported.")
                .default(serde_json::json!({"none": {}})),
            F::object(
                "pipeline",
                "Processors applied to every message, by a pool of worker threads.",
                vec![
                    F::int("threads", "Number of processing threads; -1 uses one per CPU core.")
                        .default(-1),
                    F::processors("processors", "Processors applied in order.")
                        .default(J::Array(vec![])),
                ],
            )
            .default(J::Object(Default::default())),
            F::component("output", ComponentKind::Output, "The output to write to.")
                .default(serde_json::json!({"stdout": {}})),
            F::array("input_resources", component(ComponentKind::Input), "Labelled inputs.")
                .default(J::Array(vec![])),
            F::array("processor_resources", component(ComponentKind::Processor), "Labelled processors, used with the `resource` processor.")
                .default(J::Array(vec![])),
            F::array("output_resources", component(ComponentKind::Output), "Labelled outputs.")
                .default(J::Array(vec![])),
            F::array("cache_resources", component(ComponentKind::Cache), "Labelled caches.")
                .default(J::Array(vec![])),
            F::array("rate_limit_resources", component(ComponentKind::RateLimit), "Labelled rate limits.")
                .default(J::Array(vec![])),
            F::object(
                "logger",
                "How the engine logs.",
                vec![
                    F::string("level", "The minimum level to log.")
                        .default("INFO")
                        .options(&["OFF", "NONE", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL", "off", "none", "fatal", "error", "warn", "info", "debug", "trace", "all"]),
                    F::string("format", "Log line format.").default("logfmt").options(&["logfmt", "json"]),
                    F::bool("add_timestamp", "Whether to add a timestamp to each line.").default(false),
                    F::string("level_name", "The key of the level field.").default("level").advanced(),
                    F::string("timestamp_name", "The key of the timestamp field.").default("time").advanced(),
                    F::string("message_name", "The key of the message field.").default("msg").advanced(),
                    F::map("static_fields", FieldType::String, "Fields added to every line.")
                        .default(serde_json::json!({"@service": "engine"}))
                        .advanced(),
                ],
            )
            .default(J::Object(Default::default())),
            F::object(
                "metrics",
                "Where metrics go: `prometheus` (served at /metrics) or `none`.",
                vec![
                    F::object("prometheus", "Serve metrics in Prometheus text format at /metrics.", vec![
                        F::bool("use_histogram_timing", "Whether to export timing metrics as a histogram (in seconds), if false a summary (in nanoseconds) is used instead.").default(false).advanced(),
                        F::array("histogram_buckets", FieldType::Float, "Timing metrics histogram buckets (in seconds). If left empty defaults to Go's prometheus.DefBuckets.").default(serde_json::json!([])).advanced(),
                        F::bool("add_process_metrics", "Whether to export process metrics such as CPU and memory usage in addition to Bento metrics.").default(false).advanced(),
                        F::refused("add_go_metrics", "engine is not a Go program: it has no Go runtime metrics").default(false),
                        F::refused("push_url", "pushing to a Prometheus push gateway is not built").default(""),
                        F::refused("push_interval", "pushing to a Prometheus push gateway is not built").default(""),
                        F::refused("push_job_name", "pushing to a Prometheus push gateway is not built").default("bento_push"),
                        F::refused("push_basic_auth", "pushing to a Prometheus push gateway is not built"),
                        F::refused("file_output_path", "writing metrics to a file at shutdown is not built").default(""),
                    ]).optional(),
                    F::any("none", "Disable metrics.").optional(),
                    F::bloblang("mapping", "An optional Bloblang mapping that allows you to rename or prevent certain metrics paths from being exported: it runs with the metric name as the document and its labels as metadata; `root = deleted()` drops the metric.").default("").example("root = if this.has_prefix(\"input\") { deleted() }"),
                ],
            )
            .default(serde_json::json!({"prometheus": {}})),
            F::any("tracer", "Tracing is not supported; only `none` is accepted.").optional().advanced(),
            F::string("shutdown_delay", "How long to wait after a termination signal before shutting down, while /ready reports unavailable.")
                .default("0s").duration(),
            F::string("shutdown_timeout", "How long a graceful shutdown may take before in-flight messages are abandoned (and redelivered later by their source).")
                .default("20s").duration(),
            F::any("tests", "Unit tests for the config (kept for `engine test`).").optional(),
        ],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpConf {
    pub address: String,
    pub enabled: bool,
    pub root_path: String,
    pub debug_endpoints: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PipelineConf {
    pub threads: i64,
    pub processors: Vec<J>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoggerConf {
    pub level: String,
    pub format: String,
    pub add_timestamp: bool,
    pub level_name: String,
    pub timestamp_name: String,
    pub message_name: String,
    pub static_fields: std::collections::BTreeMap<String, String>,
}

/// The typed top level, decoded from the tree after defaults were applied.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub http: HttpConf,
    pub input: J,
    pub buffer: J,
    pub pipeline: PipelineConf,
    pub output: J,
    pub input_resources: Vec<J>,
    pub processor_resources: Vec<J>,
    pub output_resources: Vec<J>,
    pub cache_resources: Vec<J>,
    pub rate_limit_resources: Vec<J>,
    pub logger: LoggerConf,
    pub metrics: J,
    pub shutdown_delay: String,
    pub shutdown_timeout: String,
}

impl Config {
    pub fn shutdown_timeout(&self) -> Result<Duration, String> {
        parse_duration(&self.shutdown_timeout).map_err(|e| format!("shutdown_timeout: {e}"))
    }
    pub fn shutdown_delay(&self) -> Result<Duration, String> {
        parse_duration(&self.shutdown_delay).map_err(|e| format!("shutdown_delay: {e}"))
    }
}

/// A config file read and interpolated, in both forms lint and the builder need.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// The text after `${VAR}` interpolation.
    pub text: String,
    pub tree: Node,
    pub missing_env: Vec<env::MissingVar>,
}

#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `-r` resource files (globs).
    pub resources: Vec<String>,
    /// `-s path=value` overrides.
    pub sets: Vec<String>,
}

pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Read one file: interpolate, parse. Errors reading or parsing YAML are fatal.
pub fn read_file(path: &Path) -> Result<Loaded, ConfigError> {
    let raw = std::fs::read(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let raw = String::from_utf8(raw).map_err(|_| ConfigError::Read {
        path: path.display().to_string(),
        message: "the file is not valid UTF-8".into(),
    })?;
    read_text(path, &raw)
}

pub fn read_text(path: &Path, raw: &str) -> Result<Loaded, ConfigError> {
    let (text, missing_env) = env::interpolate(raw, env_lookup);
    let tree = yaml::parse(&text).map_err(|e| ConfigError::Yaml {
        path: path.display().to_string(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    if tree.map().is_none() {
        return Err(ConfigError::Yaml {
            path: path.display().to_string(),
            line: tree.line,
            col: tree.col,
            message: "expected the config to be an object".into(),
        });
    }
    Ok(Loaded {
        path: path.to_owned(),
        text,
        tree,
        missing_env,
    })
}

/// Apply `--set a.b.c=value` to the tree, as Bento does: the value is one plain scalar (text
/// that a field of another type reads as its number or boolean, never a YAML structure), a
/// `-` segment appends to a list, and an empty value is refused.
pub fn apply_set(tree: &mut Node, set: &str) -> Result<(), ConfigError> {
    let (path, value) = set
        .split_once('=')
        .ok_or_else(|| ConfigError::BadSet(set.to_owned()))?;
    if path.is_empty() || value.is_empty() {
        return Err(ConfigError::BadSet(set.to_owned()));
    }
    let value_node = Node {
        kind: NodeKind::Scalar(value.to_owned(), false),
        line: 1,
        col: 1,
        block: false,
    };
    let segs: Vec<&str> = path.split('.').collect();
    set_at(tree, &segs, value_node).map_err(|e| ConfigError::Invalid(format!("--set {path}: {e}")))
}

fn set_at(cur: &mut Node, segs: &[&str], value: Node) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        *cur = value;
        return Ok(());
    };
    if let NodeKind::Seq(items) = &mut cur.kind {
        if *seg == "-" {
            items.push(Node::empty_map(1, 1));
            let len = items.len();
            return set_at(&mut items[len - 1], rest, value);
        }
        let idx: usize = seg
            .parse()
            .map_err(|_| format!("'{seg}' is not an index"))?;
        let len = items.len();
        let item = items
            .get_mut(idx)
            .ok_or_else(|| format!("index {idx} out of range ({len} items)"))?;
        return set_at(item, rest, value);
    }
    if *seg == "-" && (cur.is_null() || cur.map().is_some_and(<[_]>::is_empty)) {
        // Appending to a list that is not there yet starts it.
        *cur = Node {
            kind: NodeKind::Seq(Vec::new()),
            line: cur.line,
            col: cur.col,
            block: false,
        };
        return set_at(cur, segs, value);
    }
    if cur.map().is_none() {
        *cur = Node::empty_map(cur.line, cur.col);
    }
    if cur.get(seg).is_none() {
        cur.set(seg, Node::empty_map(1, 1));
    }
    match cur.get_mut(seg) {
        Some(next) => set_at(next, rest, value),
        None => Err(format!("cannot walk to '{seg}'")),
    }
}

const RESOURCE_SECTIONS: &[&str] = &[
    "input_resources",
    "processor_resources",
    "output_resources",
    "cache_resources",
    "rate_limit_resources",
];

/// Append the resource sections of `extra` to `tree`.
pub fn merge_resources(tree: &mut Node, extra: &Node) {
    for section in RESOURCE_SECTIONS {
        let Some(items) = extra.get(section).and_then(Node::seq) else {
            continue;
        };
        match tree.get_mut(section) {
            Some(Node {
                kind: NodeKind::Seq(existing),
                ..
            }) => existing.extend(items.iter().cloned()),
            _ => tree.set(
                section,
                Node {
                    kind: NodeKind::Seq(items.to_vec()),
                    line: 1,
                    col: 1,
                    block: false,
                },
            ),
        }
    }
}

/// Decode the typed top level from a (merged) tree.
pub fn decode(tree: &Node) -> Result<Config, ConfigError> {
    let mut j = tree.to_json();
    root_spec().apply_defaults(&mut j);
    serde_json::from_value(j).map_err(|e| ConfigError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overrides_fields() {
        let mut t = yaml::parse("input:\n  generate:\n    count: 1\n").unwrap();
        apply_set(&mut t, "input.generate.count=5").unwrap();
        apply_set(&mut t, "output.drop={}").unwrap();
        let j = t.to_json();
        assert_eq!(j["input"]["generate"]["count"], 5);
        // One plain scalar, never a YAML structure.
        assert_eq!(j["output"]["drop"], "{}");
        assert!(matches!(
            apply_set(&mut t, "input.generate.count="),
            Err(ConfigError::BadSet(_))
        ));
        assert!(matches!(
            apply_set(&mut t, "nonsense"),
            Err(ConfigError::BadSet(_))
        ));
    }

    #[test]
    fn defaults_fill_the_top_level() {
        let c = decode(&yaml::parse("").unwrap()).unwrap();
        assert_eq!(c.http.address, "0.0.0.0:4195");
        assert_eq!(c.shutdown_timeout().unwrap(), Duration::from_secs(20));
        assert_eq!(c.input["stdin"], serde_json::json!({}));
    }
}
