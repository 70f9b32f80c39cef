//! The management API: /ping, /metrics counting real traffic, /ready following connections.

use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use engine::components::{ComponentError, ComponentInfo, Output};
use engine::http::ApiState;
use engine::message::Batch;
use tokio_util::sync::CancellationToken;

use crate::support::{free_port, get, spawn_engine, temp_config, wait_for_status};

#[tokio::test]
async fn ping_and_metrics_count_messages_that_went_through() {
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ninput:\n  label: lines_in\n  stdin: {{}}\noutput:\n  label: lines_out\n  stdout: {{}}\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"one\ntwo\nthree\n").unwrap();
    stdin.flush().unwrap();
    // Wait until all three are written: then their acks have happened too.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for want in ["one", "two", "three"] {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), want);
    }
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        wait_for_status(&format!("{base}/ping"), 200).await,
        (200, "pong".into())
    );
    let (status, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"input_received{label="lines_in",path="root.input"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"output_sent{label="lines_out",path="root.output"} 3"#),
        "{metrics}"
    );
    // The same endpoints under the root path, as Bento serves them.
    assert_eq!(
        get(&format!("{base}/bento/ping")).await,
        (200, "pong".into())
    );
    let (_, ready) = get(&format!("{base}/ready")).await;
    assert_eq!(ready, "OK");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// An output that cannot connect until told it may.
struct GatedOutput {
    open: Arc<AtomicBool>,
}

#[async_trait]
impl Output for GatedOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        if self.open.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ComponentError::Failed("connection refused".into()))
        }
    }
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        Ok(())
    }
}

#[tokio::test]
async fn ready_is_503_until_the_output_connects() {
    let open = Arc::new(AtomicBool::new(false));
    let (input, _log) = crate::acks::RecordingInput::endless();
    let stream = crate::acks::stream(
        Box::new(input),
        Arc::new(GatedOutput { open: open.clone() }),
    );
    let api = Arc::new(ApiState::new("/bento"));
    api.add_stream("", stream.readiness.clone());
    let (listener, addr) = engine::http::bind("127.0.0.1:0").await.unwrap();
    let server_stop = CancellationToken::new();
    tokio::spawn(engine::http::serve(listener, api, server_stop.clone()));
    let stop = CancellationToken::new();
    let run = tokio::spawn(stream.run(stop.clone(), std::time::Duration::from_secs(5)));

    let url = format!("http://{addr}/ready");
    let (status, body) = get(&url).await;
    assert_eq!(status, 503);
    assert!(body.contains("output not connected"), "{body}");

    open.store(true, Ordering::SeqCst);
    assert_eq!(wait_for_status(&url, 200).await, (200, "OK".into()));
    stop.cancel();
    run.await.unwrap();
    server_stop.cancel();
}

#[allow(dead_code)]
fn _info() -> ComponentInfo {
    ComponentInfo::default()
}

#[tokio::test]
async fn metrics_none_serves_no_metrics_endpoint() {
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\nmetrics:\n  none: {{}}\ninput:\n  stdin: {{}}\noutput:\n  drop: {{}}\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(wait_for_status(&format!("{base}/ping"), 200).await.0, 200);
    assert_eq!(get(&format!("{base}/metrics")).await.0, 404);
    drop(child.stdin.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn a_message_dedupe_drops_after_a_cache_error_is_warned_and_counted() {
    engine::http::install_tls_provider();
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ncache_resources:\n  - label: unreachable\n    redis:\n      url: redis://127.0.0.1:1\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - dedupe:\n        cache: unreachable\n        key: '${{! content() }}'\n        drop_on_err: true\noutput:\n  drop: {{}}\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"one\n").unwrap();
    stdin.flush().unwrap();
    let dropped =
        crate::support::await_metric(port, "processor_dropped_on_error", |n| n >= 1.0).await;
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(dropped, 1.0, "one message dropped and counted");
    // The output is not `stdout`: logs go there, as Bento's do.
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("level=warn") && log.contains("dedupe: dropping message after cache error"),
        "{log}"
    );
}
