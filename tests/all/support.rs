//! Helpers shared by the test modules: run the binary, find a free port, fetch a URL.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub fn engine_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_engine"))
}

/// Run the engine with `args`, feeding `stdin`, and wait for it.
pub fn run_engine(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(engine_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("engine binary starts");
    if let Some(mut s) = child.stdin.take() {
        // A run that ends before it reads its input (a refused config) may close the pipe
        // before the write: what it printed and its exit status are still the test's.
        match s.write_all(stdin) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.expect("write stdin"),
        }
    }
    child.wait_with_output().expect("engine finishes")
}

pub fn spawn_engine(args: &[&str]) -> Child {
    Command::new(engine_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("engine binary starts")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Write `text` to a new file in a temp dir and return (dir guard, path).
pub fn temp_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

pub async fn get(url: &str) -> (u16, String) {
    engine::http::install_tls_provider();
    let r = reqwest::get(url).await.expect("request succeeds");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// POST `body` to `url`: the status and the answer's text.
pub async fn post(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    engine::http::install_tls_provider();
    let r = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .expect("request succeeds");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// Poll `url` until it answers `status` (bounded: the state it reflects changes asynchronously).
pub async fn wait_for_status(url: &str, status: u16) -> (u16, String) {
    engine::http::install_tls_provider();
    let mut last = (0, String::new());
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(url).await {
            last = (r.status().as_u16(), r.text().await.unwrap_or_default());
            if last.0 == status {
                return last;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

/// The sum of metric `name` over its label sets, read from the `/metrics` of the engine whose
/// management server is on `port` (0 while it does not answer).
pub async fn metric(port: u16, name: &str) -> f64 {
    engine::http::install_tls_provider();
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return 0.0;
    };
    let body = r.text().await.unwrap_or_default();
    let prefix = format!("{name}{{");
    body.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Poll [`metric`] until `done` holds of it (bounded: 60 s); the last value read.
pub async fn await_metric(port: u16, name: &str, done: impl Fn(f64) -> bool) -> f64 {
    let started = std::time::Instant::now();
    loop {
        let v = metric(port, name).await;
        if done(v) || started.elapsed() > std::time::Duration::from_secs(60) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
