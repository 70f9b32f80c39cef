//! The `http_server` input end to end: replies, error statuses, and shutdown.

use crate::support::{free_port, spawn_engine, temp_config, wait_for_status};

fn config(port: u16) -> String {
    format!(
        r#"http:
  address: 127.0.0.1:{port}
input:
  http_server:
    path: /v1/{{model}}/infer
    allowed_verbs: [ POST ]
    max_body_size: 1024
    sync_response:
      status: '${{! @status.or("200") }}'
      headers:
        Content-Type: application/json
pipeline:
  processors:
    - mapping: |
        root.model = @model
        root.prompt = this.prompt
    - mapping: |
        root = if errored() {{ {{"error": "invalid JSON body"}} }} else {{ this }}
        meta status = if errored() {{ "400" }} else {{ "200" }}
output:
  sync_response: {{}}
shutdown_delay: 5s
"#
    )
}

#[tokio::test]
async fn statuses_for_bad_bodies_verbs_sizes_and_shutdown() {
    engine::http::install_tls_provider();
    let port = free_port();
    let (_dir, path) = temp_config(&config(port));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(wait_for_status(&format!("{base}/ready"), 200).await.0, 200);
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/llama/infer");

    let ok = client
        .post(&url)
        .body(r#"{"prompt":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.headers()["content-type"], "application/json");
    assert_eq!(
        ok.text().await.unwrap(),
        r#"{"model":"llama","prompt":"hi"}"#
    );

    let bad = client.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        bad.text().await.unwrap(),
        r#"{"error":"invalid JSON body"}"#
    );

    let verb = client.get(&url).send().await.unwrap();
    assert_eq!(verb.status().as_u16(), 405);

    let big = client
        .post(&url)
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status().as_u16(), 413);

    // Still serving after the errors.
    let again = client
        .post(&url)
        .body(r#"{"prompt":"again"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(
        again.text().await.unwrap(),
        r#"{"model":"llama","prompt":"again"}"#
    );

    crate::cli::unsafe_kill_term(child.id());
    // During the shutdown delay the input refuses new work with 503.
    let (status, _) = wait_for_status_post(&client, &url, 503).await;
    assert_eq!(status, 503);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

async fn wait_for_status_post(client: &reqwest::Client, url: &str, want: u16) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..100 {
        if let Ok(r) = client.post(url).body("{}").send().await {
            last = (r.status().as_u16(), r.text().await.unwrap_or_default());
            if last.0 == want {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

#[tokio::test]
async fn a_nacked_request_gets_502_with_the_error() {
    engine::http::install_tls_provider();
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ninput:\n  http_server:\n    path: /post\noutput:\n  reject: 'queue unavailable: ${{! content() }}'\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(wait_for_status(&format!("{base}/ready"), 200).await.0, 200);
    let r = reqwest::Client::new()
        .post(format!("{base}/post"))
        .body("m1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 502);
    assert_eq!(r.text().await.unwrap(), "queue unavailable: m1\n");
    crate::cli::unsafe_kill_term(child.id());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn requests_over_the_rate_limit_get_429_with_retry_after() {
    engine::http::install_tls_provider();
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ninput:\n  http_server:\n    path: /post\n    rate_limit: one_per_minute\noutput:\n  drop: {{}}\nrate_limit_resources:\n  - label: one_per_minute\n    local:\n      count: 1\n      interval: 60s\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(wait_for_status(&format!("{base}/ready"), 200).await.0, 200);
    let client = reqwest::Client::new();
    let first = client
        .post(format!("{base}/post"))
        .body("a")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let second = client
        .post(format!("{base}/post"))
        .body("b")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status().as_u16(), 429);
    let retry: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    crate::cli::unsafe_kill_term(child.id());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn a_request_not_delivered_within_the_timeout_gets_408() {
    engine::http::install_tls_provider();
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ninput:\n  http_server:\n    path: /post\n    timeout: 200ms\noutput:\n  drop: {{}}\n  processors:\n    - sleep:\n        duration: 1s\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(wait_for_status(&format!("{base}/ready"), 200).await.0, 200);
    let r = reqwest::Client::new()
        .post(format!("{base}/post"))
        .body("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 408);
    // The request was taken before its client gave up: it still goes all the way through.
    let sent = crate::support::await_metric(port, "output_sent", |n| n >= 1.0).await;
    assert_eq!(sent, 1.0);
    crate::cli::unsafe_kill_term(child.id());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn requests_in_flight_at_sigterm_are_answered_before_the_server_stops() {
    let (_dir, mut child, port, api) = serve_post(
        "pipeline:\n  processors:\n    - sleep:\n        duration: 500ms\n    - mapping: 'root = \"done \" + content().string()'\noutput:\n  sync_response: {}\n",
    )
    .await;
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..5)
        .map(|i| {
            let (client, url) = (client.clone(), format!("http://127.0.0.1:{port}/post"));
            tokio::spawn(async move {
                match client.post(url).body(format!("r{i}")).send().await {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => (0, e.to_string()),
                }
            })
        })
        .collect();
    // Every request is inside the pipeline (sleeping) when the signal comes.
    let received = crate::support::await_metric(api, "input_received", |n| n >= 5.0).await;
    assert_eq!(received, 5.0);
    crate::cli::unsafe_kill_term(child.id());
    let mut answers = Vec::new();
    for r in requests {
        answers.push(r.await.unwrap());
    }
    answers.sort();
    let want: Vec<(u16, String)> = (0..5).map(|i| (200, format!("done r{i}"))).collect();
    assert_eq!(answers, want, "answered, not reset");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, mut child, port, _) = serve_post("output:\n  drop: {}\n").await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(b"POST /post HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        engine::http::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(5),
        slow.read_to_end(&mut rest),
    )
    .await;
    crate::cli::unsafe_kill_term(child.id());
    assert!(
        closed.is_ok(),
        "the connection is closed after the header timeout"
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// An engine with an `http_server` on an address of its own taking `POST /post`, then `rest`
/// (its pipeline and output), once it is ready: (config dir, process, port, management port).
async fn serve_post(rest: &str) -> (tempfile::TempDir, std::process::Child, u16, u16) {
    engine::http::install_tls_provider();
    let (port, api) = (free_port(), free_port());
    let (dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{api}\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /post\n{rest}"
    ));
    let child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let ready = wait_for_status(&format!("http://127.0.0.1:{api}/ready"), 200).await;
    assert_eq!(ready.0, 200);
    (dir, child, port, api)
}

#[tokio::test]
async fn a_sync_response_status_that_is_not_a_number_is_an_empty_502() {
    let (_dir, mut child, port, _api) = serve_post(
        "    sync_response:\n      status: '${! @status }'\noutput:\n  sync_response: {}\npipeline:\n  processors:\n    - mapping: 'meta status = this.status'\n",
    )
    .await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/post");
    for (status, want) in [("201", 201), ("created", 502), ("2000", 502)] {
        let r = client
            .post(&url)
            .body(format!(r#"{{"status":"{status}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "status {status}");
        if want == 502 {
            assert_eq!(r.text().await.unwrap(), "", "status {status}");
        }
    }
    crate::cli::unsafe_kill_term(child.id());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// A request written and answered on its connection (no processors, an output that writes at
/// once) is metered as every other message: received, sent, both latencies, and an output
/// error for a write that fails. It is answered with an empty 200 through `drop`, which stores
/// no reply (and gets no place for one), and with its reply through `sync_response`.
#[tokio::test]
async fn requests_settled_on_their_connection_are_metered() {
    use crate::support::{metric, post};
    let (_dir, mut child, port, api) = serve_post("output:\n  drop: {}\n").await;
    for i in 0..3 {
        let (status, text) = post(&format!("http://127.0.0.1:{port}/post"), format!("m{i}")).await;
        assert_eq!((status, text.as_str()), (200, ""));
    }
    // Metered before the answer: no waiting for the counts.
    assert_eq!(metric(api, "input_received").await, 3.0);
    assert_eq!(metric(api, "output_sent").await, 3.0);
    assert_eq!(metric(api, "output_batch_sent").await, 3.0);
    assert_eq!(metric(api, "input_latency_ns_count").await, 3.0);
    assert_eq!(metric(api, "output_latency_ns_count").await, 3.0);
    let _ = child.kill();

    // Settled in an output that stores the reply: the request's own body comes back.
    let (_dir, mut child, port, api) = serve_post("output:\n  sync_response: {}\n").await;
    let (status, text) = post(&format!("http://127.0.0.1:{port}/post"), "echo").await;
    assert_eq!((status, text.as_str()), (200, "echo"));
    assert_eq!(metric(api, "output_sent").await, 1.0);
    let _ = child.kill();

    let (_dir, mut child, port, api) =
        serve_post("output:\n  reject: 'no room for ${! content() }'\n").await;
    let (status, text) = post(&format!("http://127.0.0.1:{port}/post"), "m").await;
    assert_eq!(status, 502);
    assert_eq!(text, "no room for m\n");
    assert_eq!(metric(api, "input_received").await, 1.0);
    assert_eq!(metric(api, "output_error").await, 1.0);
    assert_eq!(metric(api, "output_sent").await, 0.0);
    assert_eq!(metric(api, "input_latency_ns_count").await, 1.0);
    let _ = child.kill();
}

/// A body in one chunk (one frame, kept as it came) and one in several chunks (a frame each,
/// joined) are each one message, whole.
#[tokio::test]
async fn a_body_sent_in_several_chunks_is_delivered_whole() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, mut child, port, _api) = serve_post(
        "output:\n  sync_response: {}\npipeline:\n  processors:\n    - mapping: 'root = content().uppercase()'\n",
    )
    .await;
    let head =
        "POST /post HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    for (chunks, want) in [
        ("6\r\nhello \r\n0\r\n\r\n", "HELLO "),
        (
            "6\r\nhello \r\n5\r\nwide \r\n5\r\nworld\r\n0\r\n\r\n",
            "HELLO WIDE WORLD",
        ),
    ] {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.write_all(format!("{head}{chunks}").as_bytes())
            .await
            .expect("write");
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&format!("\r\n\r\n{want}")), "{answer}");
    }
    let _ = child.kill();
}
