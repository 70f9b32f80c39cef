//! `engine run` and `engine streams`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::GlobalArgs;
use crate::components::Shared;
use crate::config::lint::{lint_config_with, LintOptions};
use crate::config::yaml::Node;
use crate::config::{self, Config, Loaded};
use crate::http::ApiState;
use crate::pipeline::{Outcome, Stream};

/// A config read with its resource files and overrides, and every lint found on the way.
pub(super) struct Prepared {
    pub tree: Node,
    pub lints: Vec<String>,
}

/// Read a config file (or the default config when there is none), merge `-r` resources, apply
/// `--set`, and lint every file involved.
pub(super) fn prepare(
    path: Option<&str>,
    g: &GlobalArgs,
    opts: LintOptions,
) -> Result<Prepared, String> {
    let mut lints = Vec::new();
    let mut loaded = match path {
        Some(p) => config::read_file(Path::new(p)).map_err(|e| e.to_string())?,
        None => config::read_text(Path::new("<default>"), "").map_err(|e| e.to_string())?,
    };
    for set in &g.set {
        config::apply_set(&mut loaded.tree, set).map_err(|e| e.to_string())?;
    }
    push_lints(&mut lints, &loaded, opts);
    let mut labels: std::collections::HashMap<(String, String), String> = resource_labels(&loaded)
        .into_iter()
        .map(|(section, label, _, _)| ((section, label), loaded.path.display().to_string()))
        .collect();
    // As Bento: a resource glob that matches nothing is skipped.
    for rf in crate::spec::expand_globs_lenient(&g.resources)? {
        let res = config::read_file(&rf).map_err(|e| e.to_string())?;
        push_lints(&mut lints, &res, opts);
        for (section, label, line, col) in resource_labels(&res) {
            match labels.get(&(section.clone(), label.clone())) {
                Some(first) => lints.push(format!(
                    "{}({line},{col}) resource label '{label}' collides with one defined in {first}",
                    res.path.display()
                )),
                None => {
                    labels.insert((section, label), res.path.display().to_string());
                }
            }
        }
        config::merge_resources(&mut loaded.tree, &res.tree);
    }
    Ok(Prepared {
        tree: loaded.tree,
        lints,
    })
}

/// The labels a file gives its resources: (section, label, line, column).
fn resource_labels(loaded: &Loaded) -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for (section, items) in loaded.tree.map().unwrap_or(&[]) {
        let Some(section) = section.scalar().filter(|s| s.ends_with("_resources")) else {
            continue;
        };
        for item in items.seq().unwrap_or(&[]) {
            if let Some(label) = item.get("label") {
                if let Some(text) = label.scalar().filter(|l| !l.is_empty()) {
                    out.push((section.to_owned(), text.to_owned(), label.line, label.col));
                }
            }
        }
    }
    out
}

fn push_lints(out: &mut Vec<String>, loaded: &Loaded, opts: LintOptions) {
    for l in lint_config_with(loaded, opts) {
        out.push(format!("{}{}", loaded.path.display(), l));
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the runtime: {e}"))
}

/// Run the streams to completion, then leave without waiting for blocking reads that can never
/// finish (a stdin read blocks its thread until the next line, which may never come).
fn finish(rt: tokio::runtime::Runtime, work: impl std::future::Future<Output = i32>) -> i32 {
    let code = rt.block_on(work);
    rt.shutdown_background();
    code
}

/// Whether the stream's output is `stdout` (Bento's test: brokers are not looked into).
fn writes_stdout(cfg: &config::Config) -> bool {
    cfg.output.as_object().is_some_and(|o| {
        o.contains_key("stdout") || o.get("type").and_then(|t| t.as_str()) == Some("stdout")
    })
}

/// Lint gate shared by run and streams: false means refuse to start.
fn lint_gate(lints: &[String], chilled: bool) -> bool {
    if lints.is_empty() {
        return true;
    }
    if chilled {
        for l in lints {
            tracing::warn!(lint = %l, "Config lint error");
        }
        return true;
    }
    for l in lints {
        eprintln!("{l}");
    }
    eprintln!("Shutting down due to linter errors, to prevent shutdown run engine with --chilled");
    false
}

pub(super) fn run(g: &GlobalArgs, path: Option<String>) -> i32 {
    let path = path.or_else(|| g.config.clone());
    let prepared = match prepare(path.as_deref(), g, LintOptions::default()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Configuration file read error: {e}");
            return 1;
        }
    };
    if !g.chilled && !lint_gate(&prepared.lints, false) {
        return 1;
    }
    let cfg = match config::decode(&prepared.tree) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Configuration file read error: {e}");
            return 1;
        }
    };
    super::logging::init(&cfg.logger, g.log_level.as_deref(), writes_stdout(&cfg));
    // Bento's start-up line.
    match &path {
        Some(p) => {
            tracing::info!(path = %p, engine_version = env!("CARGO_PKG_VERSION"), "Running main config from specified file")
        }
        None => tracing::info!(
            engine_version = env!("CARGO_PKG_VERSION"),
            "Running without a config file"
        ),
    }
    lint_gate(&prepared.lints, g.chilled);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    finish(
        rt,
        run_streams(&cfg, vec![(String::new(), cfg.clone())], false),
    )
}

pub(super) fn streams(g: &GlobalArgs, paths: &[String]) -> i32 {
    let base = match prepare(g.config.as_deref(), g, LintOptions::default()).and_then(|p| {
        config::decode(&p.tree)
            .map(|c| (c, p.lints))
            .map_err(|e| e.to_string())
    }) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Configuration file read error: {e}");
            return 1;
        }
    };
    let mut lints = base.1;
    let mut streams = Vec::new();
    let files = match super::lint::collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut ids: std::collections::HashMap<String, std::path::PathBuf> = Default::default();
    for f in files {
        let id = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A stream's id is its file name: two files of one name would be one stream twice.
        if let Some(first) = ids.insert(id.clone(), f.clone()) {
            eprintln!(
                "stream id collision: '{id}' is the id of both {} and {}",
                first.display(),
                f.display()
            );
            return 1;
        }
        // Every stream gets the `-r` resources, as in Bento's streams mode.
        let prepared = match prepare(f.to_str(), g, LintOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("Configuration file read error: {e}");
                return 1;
            }
        };
        for l in prepared.lints {
            if !lints.contains(&l) {
                lints.push(l);
            }
        }
        match config::decode(&prepared.tree) {
            Ok(c) => streams.push((id, c)),
            Err(e) => {
                eprintln!("Configuration file read error: {}: {e}", f.display());
                return 1;
            }
        }
    }
    if !lint_gate(&lints, g.chilled) {
        return 1;
    }
    // Several streams: any of them may write to stdout.
    super::logging::init(&base.0.logger, g.log_level.as_deref(), true);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    finish(rt, run_streams(&base.0, streams, true))
}

/// Build every stream, serve the management API, run until the streams end or a signal
/// arrives, then shut down in order. Returns the exit code. With `until_signal` (streams mode,
/// as Bento's) the process stays up, serving its API, after its streams have ended, until a
/// signal stops it.
async fn run_streams(service: &Config, streams: Vec<(String, Config)>, until_signal: bool) -> i32 {
    let api = Arc::new(ApiState::new(&service.http.root_path));
    if service.metrics.get("none").is_some() {
        api.metrics_off
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let shared = Arc::new(Shared {
        api: api.clone(),
        ..Shared::default()
    });
    let prometheus: crate::metrics::PrometheusConf = service
        .metrics
        .get("prometheus")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .unwrap_or_default();
    let mapping = match service.metrics.get("mapping").and_then(|m| m.as_str()) {
        Some(m) if !m.trim().is_empty() => match crate::bloblang::parse_mapping(m) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("metrics.mapping: {e}");
                return 1;
            }
        },
        _ => None,
    };
    let _ = crate::metrics::install(&prometheus, mapping);
    let mut built = Vec::new();
    for (id, cfg) in &streams {
        // Streams mode labels each stream's metrics and log lines with its id.
        let label = (!id.is_empty()).then(|| Arc::<str>::from(id.as_str()));
        match crate::metrics::building_stream(label, || Stream::build(cfg, shared.clone())) {
            Ok(s) => {
                api.add_stream(id, s.readiness.clone());
                let timeout = cfg.shutdown_timeout();
                let delay = cfg.shutdown_delay();
                match (timeout, delay) {
                    (Ok(t), Ok(d)) => built.push((id.clone(), s, t, d)),
                    (Err(e), _) | (_, Err(e)) => {
                        eprintln!("{e}");
                        return 1;
                    }
                }
            }
            Err(e) => {
                eprintln!(
                    "Failed to create stream{}: {e}",
                    if id.is_empty() {
                        String::new()
                    } else {
                        format!(" {id}")
                    }
                );
                return 1;
            }
        }
    }

    let server_stop = CancellationToken::new();
    let mut server = None;
    if service.http.enabled {
        match crate::http::bind(&service.http.address).await {
            Ok((listener, addr)) => {
                tracing::info!("Listening for HTTP requests at: http://{addr}");
                server = Some(tokio::spawn(crate::http::serve(
                    listener,
                    api.clone(),
                    server_stop.clone(),
                )));
            }
            Err(e) => {
                eprintln!(
                    "Failed to start the HTTP server on {}: {e}",
                    service.http.address
                );
                return 1;
            }
        }
    }

    let stop = CancellationToken::new();
    let delay = built.iter().map(|b| b.3).max().unwrap_or(Duration::ZERO);
    tokio::spawn(watch_signals(stop.clone(), api.clone(), delay));

    tracing::info!("Launching an engine instance, use CTRL+C to close");
    let mut tasks = Vec::new();
    for (id, s, timeout, _) in built {
        let stop = stop.clone();
        let label = (!id.is_empty()).then(|| Arc::<str>::from(id.as_str()));
        tasks.push((
            id,
            tokio::spawn(crate::metrics::in_stream(label, s.run(stop, timeout))),
        ));
    }
    let mut code = 0;
    for (id, t) in tasks {
        match t.await {
            Ok(Outcome::Drained) => {}
            Ok(Outcome::Crashed) => {
                tracing::error!(stream = %id, "stream crashed");
                code = 1;
            }
            Ok(Outcome::TimedOut) => {
                tracing::error!(stream = %id, "shutdown timed out");
                code = 1;
            }
            Err(e) => {
                tracing::error!(stream = %id, "stream task failed: {e}");
                code = 1;
            }
        }
    }
    if until_signal {
        stop.cancelled().await;
    } else if !stop.is_cancelled() {
        tracing::info!("Pipeline has terminated. Shutting down the service");
    }
    server_stop.cancel();
    if let Some(s) = server {
        let _ = s.await;
    }
    code
}

/// SIGINT/SIGTERM: report not ready, wait `shutdown_delay` (a second signal skips it), then stop.
async fn watch_signals(stop: CancellationToken, api: Arc<ApiState>, delay: Duration) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("failed to install signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = stop.cancelled() => return,
    };
    tracing::info!("Received {name}, the service is closing");
    api.shutting_down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    if !delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    stop.cancel();
}
