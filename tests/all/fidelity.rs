//! Fields and behaviours as Bento has them: refused fields, batching policies, output codecs,
//! broker copies, and the `http_server` CORS and metadata rules.

use std::io::{BufRead, BufReader, Write};

use crate::support::{free_port, metric, run_engine, spawn_engine, temp_config, wait_for_status};

/// Run `engine ARGS config` on `yaml`, without the management server (tests run at once).
fn run(yaml: &str, args: &[&str], stdin: &[u8]) -> (String, String, Option<i32>) {
    let (_dir, path) = temp_config(&format!("http:\n  enabled: false\n{yaml}"));
    let path = path.to_string_lossy().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.push(&path);
    let out = run_engine(&all, stdin);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn a_refused_field_is_a_lint_error_at_its_line_unless_it_holds_bentos_default() {
    let refused = "input:\n  http_server:\n    path: /post\n    ws_path: /ws\npipeline:\n  processors:\n    - http:\n        url: http://localhost:1/\n        batch_as_multipart: true\noutput:\n  sql_raw:\n    driver: postgres\n    dsn: postgres://localhost/db\n    query: SELECT 1\n    region: eu-west-1\n";
    let (_, stderr, code) = run(refused, &["lint"], b"");
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].ends_with(
            "(6,5) field ws_path is not supported by engine: websocket connections are not built"
        ),
        "{stderr}"
    );
    assert!(
        lines[1].ends_with(
            "(11,9) field batch_as_multipart is not supported by engine: each message is sent as its own request; multipart bodies are not built"
        ),
        "{stderr}"
    );
    assert!(
        lines[2].contains("(17,5) field region is not supported by engine: cloud credentials"),
        "{stderr}"
    );

    // Bento's defaults, as a config written out in full by `bento create` holds them.
    let defaults = "input:\n  http_server:\n    path: /post\n    ws_path: /post/ws\n    ws_welcome_message: ''\n    cert_file: ''\npipeline:\n  processors:\n    - http:\n        url: http://localhost:1/\n        oauth:\n          enabled: false\n          consumer_key: ''\n        transport:\n          force_http2: true\n          dial_context:\n            timeout: 30s\noutput:\n  drop: {}\n";
    let (_, stderr, code) = run(defaults, &["lint"], b"");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn run_refuses_a_refused_field_even_when_chilled() {
    let yaml = "input:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: c\n        key: ${! content() }\n        strategy: LIFO\ncache_resources:\n  - label: c\n    memory: {}\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(yaml, &["run", "--chilled", "-c"], b"a\n");
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("field strategy is not supported by engine: only FIFO"),
        "{stderr}"
    );
}

/// Each line of output names the size of the batch its message was written in.
const SIZES: &str =
    "      processors:\n        - mapping: 'root = content().string() + \" \" + batch_size().string()'\n";

#[test]
fn batching_flushes_by_count_by_check_and_what_is_left_at_the_end() {
    let yaml = format!("input:\n  stdin: {{}}\noutput:\n  stdout:\n    batching:\n      count: 3\n      check: this.end == true\n{SIZES}");
    let lines: String = [1, 2, 3, 4, 5, 6, 7, 8]
        .iter()
        .map(|i| match i {
            5 => format!("{{\"n\":{i},\"end\":true}}\n"),
            _ => format!("{{\"n\":{i}}}\n"),
        })
        .collect();
    let (stdout, stderr, code) = run(&yaml, &["run", "-c"], lines.as_bytes());
    assert_eq!(code, Some(0), "{stderr}");
    // 1-3 by count; 4-5 by the check; 6-8 by count again; nothing is left for the end.
    assert_eq!(
        stdout,
        "{\"n\":1} 3\n{\"n\":2} 3\n{\"n\":3} 3\n{\"n\":4} 2\n{\"n\":5,\"end\":true} 2\n{\"n\":6} 3\n{\"n\":7} 3\n{\"n\":8} 3\n"
    );

    let (stdout, stderr, code) = run(&yaml, &["run", "-c"], b"{\"n\":1}\n{\"n\":2}\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "{\"n\":1} 2\n{\"n\":2} 2\n");
}

#[test]
fn batching_by_byte_size_and_output_processors_run_before_batching() {
    // Output processors see each message as it arrives (Bento's order); here they double its
    // size, so two 3-byte lines make 12 bytes, past `byte_size: 10`.
    let yaml = format!("input:\n  stdin: {{}}\noutput:\n  processors:\n    - mapping: 'root = content().string() + content().string()'\n  stdout:\n    batching:\n      byte_size: 10\n{SIZES}");
    let (stdout, stderr, code) = run(&yaml, &["run", "-c"], b"abc\ndef\nghi\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "abcabc 2\ndefdef 2\nghighi 1\n");
}

#[tokio::test]
async fn batching_flushes_by_period_while_the_input_stays_open() {
    let api = free_port();
    let yaml = format!("http:\n  address: 127.0.0.1:{api}\ninput:\n  stdin: {{}}\noutput:\n  stdout:\n    batching:\n      count: 100\n      period: 200ms\n{SIZES}");
    let (_dir, path) = temp_config(&yaml);
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"a\nb\n").expect("write");
    stdin.flush().expect("flush");
    let stdout = child.stdout.take().expect("stdout");
    // Neither count nor the end of input can flush: only the period can.
    let lines = tokio::task::spawn_blocking(move || {
        let mut r = BufReader::new(stdout);
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut l = String::new();
            r.read_line(&mut l).expect("read");
            lines.push(l);
        }
        (lines, r)
    });
    let (lines, _reader) = lines.await.expect("reader");
    // Usually one batch of two; the period may fall between the two lines on a slow machine.
    assert!(
        lines == ["a 2\n", "b 2\n"] || lines == ["a 1\n", "b 1\n"],
        "{lines:?}"
    );
    assert_eq!(
        wait_for_status(&format!("http://127.0.0.1:{api}/ready"), 200)
            .await
            .0,
        200
    );
    assert!(metric(api, "batch_created").await >= 1.0);
    drop(stdin);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success());
}

#[test]
fn batching_inside_a_broker_is_refused_and_on_the_broker_works() {
    let inner = "input:\n  stdin: {}\noutput:\n  broker:\n    outputs:\n      - stdout:\n          batching:\n            count: 2\n";
    let (_, stderr, code) = run(inner, &["run", "-c"], b"a\n");
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("batching: only the stream's own output batches in engine"),
        "{stderr}"
    );
    // Logs would share stdout with the data (the output is not `stdout` itself).
    let outer = "logger:\n  level: NONE\ninput:\n  stdin: {}\noutput:\n  broker:\n    copies: 2\n    outputs:\n      - stdout: {}\n    batching:\n      count: 2\n      processors:\n        - mapping: 'root = content().string() + \" \" + batch_size().string()'\n";
    let (stdout, stderr, code) = run(outer, &["run", "-c"], b"a\nb\n");
    assert_eq!(code, Some(0), "{stderr}");
    // Two copies of stdout under fan_out: the batch of two is written by each.
    assert_eq!(stdout, "a 2\nb 2\na 2\nb 2\n");
}

#[test]
fn broker_input_copies_create_each_input_that_many_times() {
    let yaml = "input:\n  broker:\n    copies: 3\n    inputs:\n      - generate:\n          count: 2\n          interval: ''\n          mapping: 'root = \"x\"'\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(yaml, &["run", "-c"], b"");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "x\n".repeat(6));
}

#[test]
fn output_codecs_delimit_append_and_replace() {
    let yaml = "input:\n  stdin: {}\noutput:\n  stdout:\n    codec: 'delim:|'\n";
    let (stdout, stderr, code) = run(yaml, &["run", "-c"], b"a\nb|\nc\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "a|b|c|");

    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().join("out/last.txt");
    let yaml = format!(
        "input:\n  stdin: {{}}\noutput:\n  file:\n    path: {}\n    codec: all-bytes\n",
        target.display()
    );
    let (_, stderr, code) = run(&yaml, &["run", "-c"], b"first\nsecond\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&target).expect("file"), "second");

    let bad = "input:\n  stdin: {}\noutput:\n  stdout:\n    codec: 'delim:'\n";
    let (_, stderr, code) = run(bad, &["run", "-c"], b"");
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("custom delimiter codec requires a non-empty delimiter"),
        "{stderr}"
    );
}

fn http_server_config(port: u16, extra: &str) -> String {
    format!("http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /items/{{id}}\n    allowed_verbs: [ POST, PUT ]\n{extra}pipeline:\n  processors:\n    - mapping: 'root = @'\noutput:\n  sync_response: {{}}\n")
}

async fn start(config: &str) -> (tempfile::TempDir, std::process::Child) {
    let (dir, path) = temp_config(config);
    let child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    (dir, child)
}

async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Start an `http_server` with `extra` fields, send one request, and return its metadata.
async fn request_metadata(extra: &str, query: &str, cookie: &str) -> serde_json::Value {
    let port = free_port();
    let (_dir, mut child) = start(&http_server_config(port, extra)).await;
    wait_listening(port).await;
    let meta = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/items/7?{query}"))
        .header("X-Tag", "header")
        // A second value of the same header: metadata keeps the first, as Go's `Header.Get`.
        .header("X-Tag", "second")
        .header("Cookie", cookie)
        .body("{}")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    meta
}

#[tokio::test]
async fn http_server_metadata_takes_query_path_and_cookies_over_headers_or_prefixes_them() {
    engine::http::install_tls_provider();
    let meta = request_metadata(
        "",
        "id=q&colour=red&colour=blue&x-tag=q",
        "session=abc; colour=\"green\"",
    )
    .await;
    // Bento's order: headers, then query, then path parameters, then cookies, each overwriting.
    assert_eq!(meta["X-Tag"], "header");
    assert_eq!(meta["x-tag"], "q");
    assert_eq!(meta["id"], "7");
    assert_eq!(meta["session"], "abc");
    assert_eq!(meta["colour"], "green");

    let meta = request_metadata("    prefix_metadata_keys: true\n", "id=q", "session=abc").await;
    assert_eq!(meta["header_X-Tag"], "header");
    assert_eq!(meta["query_id"], "q");
    assert_eq!(meta["path_id"], "7");
    assert_eq!(meta["cookie_session"], "abc");
    assert_eq!(meta["http_server_verb"], "POST");
    assert!(meta.get("id").is_none(), "{meta}");
}

#[tokio::test]
async fn http_server_cors_answers_as_gorilla_handlers_do() {
    engine::http::install_tls_provider();
    let port = free_port();
    let cors = "    cors:\n      enabled: true\n      allowed_origins: [ 'https://a.example', 'https://b.example' ]\n      allowed_headers: [ content-type ]\n      allowed_methods: [ POST, PUT ]\n";
    let (_dir, mut child) = start(&http_server_config(port, cors)).await;
    wait_listening(port).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/items/1");
    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        let mut rb = client
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method);
        if !headers.is_empty() {
            rb = rb.header("Access-Control-Request-Headers", headers);
        }
        rb.send()
    };

    let ok = preflight("https://a.example", "PUT", "Content-Type, Accept")
        .await
        .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://a.example"
    );
    assert_eq!(ok.headers()["access-control-allow-methods"], "PUT");
    assert_eq!(ok.headers()["access-control-allow-headers"], "Content-Type");
    assert_eq!(ok.headers()["vary"], "Origin");

    let simple = preflight("https://a.example", "POST", "")
        .await
        .expect("sent");
    assert_eq!(simple.status().as_u16(), 200);
    assert!(simple
        .headers()
        .get("access-control-allow-methods")
        .is_none());

    assert_eq!(
        preflight("https://a.example", "DELETE", "")
            .await
            .expect("sent")
            .status()
            .as_u16(),
        405
    );
    assert_eq!(
        preflight("https://a.example", "PUT", "X-Secret")
            .await
            .expect("sent")
            .status()
            .as_u16(),
        403
    );
    let elsewhere = preflight("https://evil.example", "PUT", "")
        .await
        .expect("sent");
    assert_eq!(elsewhere.status().as_u16(), 200);
    assert!(elsewhere
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let post = client
        .post(&url)
        .header("Origin", "https://b.example")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(post.status().as_u16(), 200);
    assert_eq!(
        post.headers()["access-control-allow-origin"],
        "https://b.example"
    );
    let _ = child.kill();

    // Enabled without an origin is refused, as Bento refuses it.
    let port = free_port();
    let (_dir, path) = temp_config(&http_server_config(
        port,
        "    cors:\n      enabled: true\n",
    ));
    let out = run_engine(&["run", "-c", &path.to_string_lossy()], b"");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cors: must specify at least one allowed origin"));
}

#[test]
fn an_unknown_component_type_suggests_what_bento_renamed_it_to() {
    let yaml = "input:\n  amqp:\n    urls: [ 'amqp://guest:guest@localhost:5672/' ]\n    queue: q\noutput:\n  sql:\n    driver: postgres\n";
    let (_, stderr, code) = run(yaml, &["lint"], b"");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("(4,3) input type 'amqp' was not recognised, did you mean amqp_0_9?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(8,3) output type 'sql' was not recognised, did you mean sql_raw?"),
        "{stderr}"
    );
}

#[test]
fn yaml_merge_keys_work_in_lint_and_run() {
    let yaml = "input_defaults: &gen\n  count: 2\n  interval: ''\ninput:\n  generate:\n    <<: *gen\n    mapping: 'root = \"m\"'\noutput:\n  stdout: {}\n";
    // `input_defaults` is not a Bento field: lint says so, `--chilled` runs anyway.
    let (_, stderr, code) = run(yaml, &["lint"], b"");
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("field input_defaults not recognised"),
        "{stderr}"
    );
    assert!(!stderr.contains("<<"), "{stderr}");
    let (stdout, stderr, code) = run(yaml, &["run", "--chilled", "-c"], b"");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "m\nm\n");
}

#[test]
fn chilled_runs_a_config_whose_only_problems_are_unknown_fields() {
    let yaml = "input:\n  stdin:\n    no_such_field: 1\noutput:\n  stdout:\n    codec: lines\n    colour: blue\n";
    let (_, stderr, code) = run(yaml, &["run", "-c"], b"a\n");
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("field no_such_field not recognised"),
        "{stderr}"
    );
    let (stdout, stderr, code) = run(yaml, &["run", "--chilled", "-c"], b"a\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "a\n");
}

#[test]
fn version_flags_as_bentos() {
    for flag in ["-v", "--version", "-V"] {
        let out = run_engine(&[flag], b"");
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("engine "),
            "{flag}"
        );
    }
}

#[test]
fn set_takes_plain_values_appends_with_a_dash_and_refuses_an_empty_value() {
    let yaml = "input:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"x\"'\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(
        yaml,
        &[
            "run",
            "-s",
            "pipeline.processors.-.mapping=root = content().uppercase()",
            "-s",
            "pipeline.processors.-.mapping=root = content() + \"!\"",
            "-s",
            "input.generate.count=2",
            "-c",
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "X!\nX!\n");
    let (_, stderr, code) = run(yaml, &["run", "-s", "input.generate.count=", "-c"], b"");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("input.generate.count="), "{stderr}");
}

#[test]
fn env_file_values_override_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let env = dir.path().join(".env");
    std::fs::write(&env, "GREETING=from_file\n").expect("env file");
    let (_dir, path) = temp_config("http:\n  enabled: false\ninput:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"${GREETING}\"'\noutput:\n  stdout: {}\n");
    let out = std::process::Command::new(crate::support::engine_bin())
        .args([
            "run",
            "-e",
            &env.to_string_lossy(),
            "-c",
            &path.to_string_lossy(),
        ])
        .env("GREETING", "from_environment")
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from_file\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stdin_and_file_scanners_and_the_deprecated_codec() {
    let csv = "input:\n  stdin:\n    scanner:\n      csv: {}\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(csv, &["run", "-c"], b"id,name\n1,a\n2,\"b,c\"\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "{\"id\":\"1\",\"name\":\"a\"}\n{\"id\":\"2\",\"name\":\"b,c\"}\n"
    );

    let lines = "input:\n  stdin:\n    scanner:\n      lines:\n        custom_delimiter: ';'\n        omit_empty: true\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(lines, &["run", "-c"], b"a;;b;c");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "a\nb\nc\n");

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("in.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"n\":1}\n{\"n\":2} {\"n\":3}")
        .expect("gzip");
    std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
    let file = format!("input:\n  file:\n    paths: [ '{}' ]\n    scanner:\n      decompress:\n        algorithm: gzip\n        into:\n          json_documents: {{}}\npipeline:\n  threads: 1\n  processors:\n    - mapping: 'root = this.n.string() + \" \" + @mod_time.re_match(\"Z$\").string()'\noutput:\n  stdout: {{}}\n", path.display());
    let (stdout, stderr, code) = run(&file, &["run", "-c"], b"");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "1 true\n2 true\n3 true\n");

    let codec = "input:\n  stdin:\n    codec: 'delim:|'\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(codec, &["run", "-c"], b"x|y");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "x\ny\n");

    let tar = "input:\n  stdin:\n    scanner:\n      tar: {}\noutput:\n  stdout: {}\n";
    let (_, stderr, code) = run(tar, &["lint"], b"");
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("field tar is not supported by engine"),
        "{stderr}"
    );
}

/// Every part of a multipart request carries the request's metadata, however many parts read
/// it (it is built once, when first read, and shared).
#[tokio::test]
async fn every_part_of_a_multipart_request_carries_the_request_metadata() {
    engine::http::install_tls_provider();
    let port = free_port();
    let config = format!("http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /parts\n    sync_response:\n      headers: {{}}\npipeline:\n  processors:\n    - mapping: 'root = \"%s %s %s\".format(meta(\"X-Tag\"), meta(\"http_server_verb\"), content())'\noutput:\n  sync_response: {{}}\n");
    let (_dir, mut child) = start(&config).await;
    wait_listening(port).await;
    let body = "--XB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfirst\r\n--XB\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nsecond\r\n--XB\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nthird\r\n--XB--\r\n";
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/parts"))
        .header("Content-Type", "multipart/form-data; boundary=XB")
        .header("X-Tag", "t1")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.expect("body");
    for part in ["t1 POST first", "t1 POST second", "t1 POST third"] {
        assert!(
            text.contains(&format!("\r\n\r\n{part}\r\n")),
            "{part} in {text}"
        );
    }
    let _ = child.kill();
}

/// A multipart body without parts is answered 200 with nothing delivered, both when the
/// connection writes the message itself (no processors) and when it queues it for the
/// pipeline.
#[tokio::test]
async fn a_multipart_request_without_parts_is_answered_200() {
    engine::http::install_tls_provider();
    for pipeline in [
        "",
        "pipeline:\n  processors:\n    - mapping: 'root = content()'\n",
    ] {
        let port = free_port();
        let config = format!("http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /parts\n{pipeline}output:\n  drop: {{}}\n");
        let (_dir, mut child) = start(&config).await;
        wait_listening(port).await;
        let resp = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/parts"))
            .header("Content-Type", "multipart/form-data; boundary=XB")
            .body("--XB--\r\n")
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status().as_u16(), 200, "with {pipeline:?}");
        assert_eq!(resp.text().await.expect("body"), "");
        let _ = child.kill();
    }
}

#[tokio::test]
async fn http_server_splits_multipart_bodies_and_answers_several_replies_as_multipart() {
    engine::http::install_tls_provider();
    let port = free_port();
    let config = format!("http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /parts\n    sync_response:\n      headers: {{}}\npipeline:\n  processors:\n    - mapping: 'root = content().uppercase()'\noutput:\n  sync_response: {{}}\n");
    let (_dir, mut child) = start(&config).await;
    wait_listening(port).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/parts");
    let body = "--XB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfirst\r\n--XB\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n<html><body>x</body></html>\r\n--XB--\r\n";
    let resp = client
        .post(&url)
        .header("Content-Type", "multipart/form-data; boundary=XB")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{ct}"))
        .to_owned();
    let text = resp.text().await.expect("body");
    assert_eq!(
        text,
        format!("--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFIRST\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<HTML><BODY>X</BODY></HTML>\r\n--{boundary}--\r\n")
    );

    // One reply: its type is sniffed when the headers do not give one.
    let one = client
        .post(&url)
        .body("{\"a\":1}")
        .send()
        .await
        .expect("sent");
    assert_eq!(one.headers()["content-type"], "text/plain; charset=utf-8");
    let pdf = client
        .post(&url)
        .body("%PDF-1.7 ...")
        .send()
        .await
        .expect("sent");
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    // A Content-Type that does not parse is a bad request.
    let bad = client
        .post(&url)
        .header("Content-Type", "multipart/")
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status().as_u16(), 400);
    let _ = child.kill();
}

#[tokio::test]
async fn http_server_paths_take_gorilla_regexes_decode_and_live_under_root_path() {
    engine::http::install_tls_provider();
    let port = free_port();
    let config = format!("http:\n  address: 127.0.0.1:{port}\n  root_path: /engine\ninput:\n  http_server:\n    path: '/items/{{id:[0-9]+}}/{{name}}'\n    allowed_verbs: [ GET ]\npipeline:\n  processors:\n    - mapping: 'root = @id + \" \" + @name + \" \" + @http_server_request_path'\noutput:\n  sync_response: {{}}\n");
    let (_dir, mut child) = start(&config).await;
    assert_eq!(
        wait_for_status(&format!("http://127.0.0.1:{port}/ready"), 200)
            .await
            .0,
        200
    );
    let get = |path: &str| {
        let url = format!("http://127.0.0.1:{port}{path}");
        async move {
            let r = reqwest::get(url).await.expect("sent");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(
        get("/items/42/hello%20world").await,
        (200, "42 hello world /items/42/hello world".into())
    );
    assert_eq!(get("/items/x/a").await.0, 404);
    assert_eq!(
        get("/engine/items/7/b").await,
        (200, "7 b /engine/items/7/b".into())
    );
    let _ = child.kill();
}

#[test]
fn branch_errors_are_worded_as_bentos() {
    let yaml = "input:\n  stdin: {}\npipeline:\n  threads: 1\n  processors:\n    - branch:\n        processors:\n          - mapping: |\n              root = if this.n == 1 { deleted() } else if this.n == 2 { throw(\"boom\") } else { this }\n        result_map: 'root.out = this.n'\n    - mapping: 'root = if errored() { error() } else { content() }'\noutput:\n  stdout: {}\n";
    // Each message alone in its batch: the one whose child deleted it, the one that threw.
    let (stdout, stderr, code) = run(yaml, &["run", "-c"], b"{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "child processors resulted in zero messages");
    assert!(lines[1].starts_with("processors failed: "), "{}", lines[1]);
    assert!(lines[1].contains("boom"), "{}", lines[1]);
    assert_eq!(lines[2], "{\"n\":3,\"out\":3}");
}

#[test]
fn lint_flags_markdown_globs_and_resource_files_as_bentos() {
    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };
    let a = write(
        "a.yaml",
        "input:\n  stdin: {}\npipeline:\n  processors:\n    - sql:\n        driver: sqlite\n        data_source_name: ':memory:'\n        query: SELECT 1\n    - label: Bad-Label\n      mapping: 'root = \"${NOT_SET_ANYWHERE}\"'\noutput:\n  drop: {}\n",
    );
    let lint = |args: &[&str]| {
        let out = run_engine(args, b"");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = lint(&["lint", &a]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("(9,14) invalid label 'Bad-Label': should match ^[a-z0-9_]+$"),
        "{err}"
    );
    assert!(
        err.contains("required environment variables were not set: [NOT_SET_ANYWHERE]"),
        "{err}"
    );
    assert!(!err.contains("deprecated"), "{err}");
    let (_, err) = lint(&[
        "lint",
        "--deprecated",
        "--labels",
        "--skip-env-var-check",
        &a,
    ]);
    assert!(err.contains("(5,7) component sql is deprecated"), "{err}");
    assert!(err.contains("(5,7) processor sql has no label"), "{err}");
    assert!(!err.contains("NOT_SET_ANYWHERE"), "{err}");

    // Fenced YAML in Markdown, at its line in the Markdown file; a quoted glob finds it.
    write("doc.md", "# Title\n\nText.\n\n```yaml\ninput:\n  stdin:\n    nope: 1\n```\n\n```sh\nnot: [yaml\n```\n");
    let glob = format!("{}/*.md", dir.path().display());
    let (code, err) = lint(&["lint", &glob]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("doc.md(8,5) field nope not recognised"),
        "{err}"
    );

    // `-r FILE lint` lints the resource file; labels may not repeat across -c and -r files.
    let res = write(
        "res.yaml",
        "cache_resources:\n  - label: c\n    memory: {}\n",
    );
    let res2 = write(
        "res2.yaml",
        "cache_resources:\n  - label: c\n    memory:\n      bogus: 1\n",
    );
    let (code, err) = lint(&["-r", &res2, "lint"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("res2.yaml(4,7) field bogus not recognised"),
        "{err}"
    );
    let main = write("main.yaml", "input:\n  stdin: {}\noutput:\n  drop: {}\n");
    let (code, err) = lint(&[
        "lint",
        "-r",
        &res,
        "-r",
        &res.replace("res.yaml", "res*.yaml"),
        &main,
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("resource label 'c' collides with one defined in"),
        "{err}"
    );

    // A `-r` glob that matches nothing is skipped, as Bento skips it.
    let nothing = format!("{}/none/*.yaml", dir.path().display());
    let out = run_engine(
        &[
            "run",
            "-r",
            &nothing,
            "-c",
            &main,
            "--set",
            "http.enabled=false",
        ],
        b"x\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lint_catches_bad_literal_regexes_with_bentos_mapping_positions() {
    let yaml = "input:\n  stdin: {}\npipeline:\n  processors:\n    - mapping: |\n        root = this\n        root.a = this.b.re_match(\"[\")\noutput:\n  drop: {}\n";
    let (_, stderr, code) = run(yaml, &["lint"], b"");
    assert_eq!(code, Some(1));
    // Two lines of `http:` come first (see `run`).
    assert!(
        stderr.contains("(9,25) line 2 char 17: re_match: invalid regular expression \"[\": unclosed character class"),
        "{stderr}"
    );
}

/// The `/metrics` text of an engine with these `metrics` settings, after one message.
async fn exposition(metrics: &str, sent_metric: &str) -> String {
    let port = free_port();
    let config = format!("http:\n  address: 127.0.0.1:{port}\nmetrics:\n{metrics}input:\n  stdin: {{}}\noutput:\n  drop: {{}}\n");
    let (_dir, path) = temp_config(&config);
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"one\n").expect("write");
    stdin.flush().expect("flush");
    crate::support::await_metric(port, sent_metric, |n| n >= 1.0).await;
    let (_, text) = crate::support::get(&format!("http://127.0.0.1:{port}/metrics")).await;
    drop(stdin);
    let _ = child.wait();
    text
}

#[tokio::test]
async fn processor_error_counts_the_messages_a_processor_flagged() {
    let port = free_port();
    let config = format!("http:\n  address: 127.0.0.1:{port}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - mapping: 'root = this'\noutput:\n  drop: {{}}\n");
    let (_dir, path) = temp_config(&config);
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut send = |line: &str| {
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.flush().expect("flush");
    };
    send("{\"ok\":1}\n");
    let sent = crate::support::await_metric(port, "processor_sent", |n| n >= 1.0).await;
    assert_eq!(sent, 1.0);
    let (_, text) = crate::support::get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(
        text.contains("processor_error{label=\"\",path=\"root.pipeline.processors.0\"} 0"),
        "present at zero before any error: {text}"
    );
    send("not json\n{\"ok\":2}\n");
    let sent = crate::support::await_metric(port, "processor_sent", |n| n >= 3.0).await;
    assert_eq!(sent, 3.0);
    assert_eq!(crate::support::metric(port, "processor_error").await, 1.0);
    drop(stdin);
    let _ = child.wait();
}

#[tokio::test]
async fn prometheus_summaries_histograms_help_and_process_metrics_as_bentos() {
    engine::http::install_tls_provider();
    let summary = exposition("  prometheus: {}\n", "output_sent").await;
    assert!(
        summary.contains("# HELP output_sent Bento Counter metric\n# TYPE output_sent counter"),
        "{summary}"
    );
    assert!(
        summary.contains("# HELP output_latency_ns Bento Timing metric"),
        "{summary}"
    );
    for q in ["0.5", "0.9", "0.99"] {
        assert!(
            summary.contains(&format!(
                "output_latency_ns{{label=\"\",path=\"root.output\",quantile=\"{q}\"}}"
            )),
            "{q}: {summary}"
        );
    }
    assert!(!summary.contains("quantile=\"0.95\""), "{summary}");
    assert!(
        !summary.contains("process_resident_memory_bytes"),
        "{summary}"
    );

    let histogram = exposition("  prometheus:\n    use_histogram_timing: true\n    histogram_buckets: [ 0.5, 30 ]\n    add_process_metrics: true\n", "output_sent").await;
    assert!(
        histogram
            .contains("output_latency_ns_bucket{label=\"\",path=\"root.output\",le=\"0.5\"} 1"),
        "{histogram}"
    );
    assert!(histogram.contains("le=\"30\"} 1"), "{histogram}");
    assert!(
        histogram.contains("process_resident_memory_bytes"),
        "{histogram}"
    );
}

#[tokio::test]
async fn metrics_mapping_renames_drops_and_relabels_as_bentos() {
    engine::http::install_tls_provider();
    let text = exposition("  prometheus: {}\n  mapping: |\n    root = if this.has_prefix(\"input_\") { deleted() } else { this.replace_all(\"output_\", \"out_\") }\n    meta env = \"prod\"\n", "out_sent").await;
    assert!(
        text.contains("out_sent{env=\"prod\",label=\"\",path=\"root.output\"} 1"),
        "{text}"
    );
    assert!(!text.contains("input_received"), "{text}");
    assert!(!text.contains("output_sent"), "{text}");
    // Timings (engine's own summaries) are renamed and relabelled as the counters are.
    assert!(
        text.contains("out_latency_ns_count{env=\"prod\",label=\"\",path=\"root.output\"} 1"),
        "{text}"
    );
    assert!(!text.contains("input_latency_ns"), "{text}");
}

#[tokio::test]
async fn streams_mode_stays_up_until_a_signal_and_refuses_colliding_ids() {
    engine::http::install_tls_provider();
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("out.txt");
    std::fs::create_dir_all(dir.path().join("a")).expect("dir");
    std::fs::write(
        dir.path().join("a/once.yaml"),
        format!(
            "input:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"done\"'\npipeline:\n  processors:\n    - log:\n        message: 'writing ${{! content() }}'\noutput:\n  file:\n    path: {}\n",
            out.display()
        ),
    )
    .expect("write");
    let port = free_port();
    let a = dir.path().join("a").to_string_lossy().into_owned();
    let mut child = spawn_engine(&[
        "streams",
        "--set",
        &format!("http.address=127.0.0.1:{port}"),
        &a,
    ]);
    assert_eq!(
        wait_for_status(&format!("http://127.0.0.1:{port}/ping"), 200)
            .await
            .0,
        200
    );
    // The stream's one message is written; the process still answers, as Bento's does.
    for _ in 0..200 {
        if std::fs::read_to_string(&out).unwrap_or_default() == "done\n" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), "done\n");
    assert_eq!(
        crate::support::get(&format!("http://127.0.0.1:{port}/ping"))
            .await
            .0,
        200
    );
    assert!(
        child.try_wait().expect("status").is_none(),
        "exited before a signal"
    );
    // Each stream's metrics carry its id, as Bento's streams mode labels them.
    let (_, metrics) = crate::support::get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(
        metrics.contains("output_sent{label=\"\",path=\"root.output\",stream=\"once\"} 1"),
        "{metrics}"
    );
    crate::cli::unsafe_kill_term(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    assert_eq!(out.status.code(), Some(0));
    // And so do its log lines.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.lines()
            .any(|l| l.contains("msg=\"writing done\"") && l.contains("stream=once")),
        "{log}"
    );

    // Two files named alike would be one stream id twice.
    std::fs::create_dir_all(dir.path().join("b")).expect("dir");
    std::fs::copy(
        dir.path().join("a/once.yaml"),
        dir.path().join("b/once.yaml"),
    )
    .expect("copy");
    let b = dir.path().join("b").to_string_lossy().into_owned();
    let out = run_engine(&["streams", "--set", "http.enabled=false", &a, &b], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stream id collision: 'once'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn http_server_serves_https_with_cert_file_and_key_file() {
    engine::http::install_tls_provider();
    let pki = crate::http_client::pki();
    let dir = tempfile::tempdir().expect("dir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &pki.server.0).expect("cert");
    std::fs::write(&key, &pki.server.1).expect("key");
    let port = free_port();
    let tls = format!(
        "    cert_file: {}\n    key_file: {}\n",
        cert.display(),
        key.display()
    );
    let (_dir, mut child) = start(&http_server_config(port, &tls)).await;
    wait_listening(port).await;
    let client = reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_pem(pki.ca.as_bytes()).expect("ca")])
        .build()
        .expect("client");
    let meta: serde_json::Value = client
        .post(format!("https://localhost:{port}/items/3"))
        .body("{}")
        .send()
        .await
        .expect("sent over TLS")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["id"], "3");
    assert_eq!(meta["http_server_tls_version"], "TLSv1.3");
    assert!(
        meta["http_server_tls_cipher_suite"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS_")),
        "{meta}"
    );
    // Plain HTTP gets no answer from a TLS listener.
    assert!(reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/items/3"))
        .body("{}")
        .send()
        .await
        .is_err());
    let _ = child.kill();

    // A key without its certificate is refused.
    let lone = format!("    key_file: {}\n", key.display());
    let (_dir, path) = temp_config(&http_server_config(free_port(), &lone));
    let out = run_engine(&["run", "-c", &path.to_string_lossy()], b"");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cert_file and key_file must be given together"));
}

#[test]
fn list_titles_sections_and_status_as_bentos() {
    let out = run_engine(&["list", "rate-limits", "scanners", "metrics"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Rate Limits:\n  - local\n  - redis\n"),
        "{text}"
    );
    assert!(text.contains("Scanners:\n  - chunker\n  - csv\n"), "{text}");
    assert!(
        text.contains("Metrics:\n  - none\n  - prometheus\n"),
        "{text}"
    );
    let out = run_engine(&["list", "--status", "deprecated"], b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Processors:\n  - bloblang\n  - sql\n"
    );
}

#[test]
fn bentos_lifecycle_lines_are_logged() {
    let (stdout, stderr, code) = run(
        "input:\n  stdin: {}\noutput:\n  stdout: {}\n",
        &["run", "-c"],
        b"hi\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "hi\n");
    let order = [
        "msg=\"Running main config from specified file\"",
        "msg=\"Launching an engine instance, use CTRL+C to close\"",
        "msg=\"Output type stdout is now active\"",
        "msg=\"Pipeline has terminated. Shutting down the service\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|l| stderr.find(l).unwrap_or_else(|| panic!("{l} in {stderr}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{stderr}");
    assert!(
        stderr.contains("msg=\"Input type stdin is now active\""),
        "{stderr}"
    );
}

#[test]
fn broker_input_batching_gathers_what_its_inputs_read() {
    let yaml = "input:\n  broker:\n    copies: 2\n    inputs:\n      - generate:\n          count: 3\n          interval: ''\n          mapping: 'root = \"x\"'\n    batching:\n      count: 4\npipeline:\n  threads: 1\n  processors:\n    - mapping: 'root = content().string() + \" \" + batch_size().string()'\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(yaml, &["run", "-c"], b"");
    assert_eq!(code, Some(0), "{stderr}");
    // Six messages: one batch of four by count, then the two left when the inputs end.
    assert_eq!(stdout, "x 4\nx 4\nx 4\nx 4\nx 2\nx 2\n");
}

/// A RESP server that answers every command with an error, counting the `GET`s it is sent.
async fn failing_redis() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let gets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = gets.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = tcp.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let commands =
                        text.matches("\r\n*").count() + usize::from(text.starts_with('*'));
                    let n_get = text.matches("$3\r\nGET\r\n").count();
                    count.fetch_add(n_get, std::sync::atomic::Ordering::SeqCst);
                    for _ in 0..commands.max(1) {
                        if tcp.write_all(b"-ERR boom\r\n").await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, gets)
}

#[test]
fn the_redis_cache_retries_a_failing_command_as_retries_says() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (port, gets) = rt.block_on(failing_redis());
    let config = |elapsed: &str| {
        format!("cache_resources:\n  - label: c\n    redis:\n      url: redis://127.0.0.1:{port}\n      retries:\n        initial_interval: 10ms\n        max_interval: 20ms\n        max_elapsed_time: {elapsed}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - cache:\n        resource: c\n        operator: get\n        key: k\n    - mapping: 'root = if errored() {{ \"failed\" }} else {{ content() }}'\noutput:\n  stdout: {{}}\n")
    };
    let (stdout, stderr, code) = run(&config("300ms"), &["run", "-c"], b"x\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "failed\n");
    let retried = gets.swap(0, std::sync::atomic::Ordering::SeqCst);
    assert!(retried >= 3, "{retried} GETs within 300 ms of retries");
    let (stdout, _, _) = run(&config("0s"), &["run", "-c"], b"x\n");
    assert_eq!(stdout, "failed\n");
    let once = gets.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        once < retried,
        "{once} GETs without retrying time, {retried} with"
    );
}

#[test]
fn plain_lines_refuse_a_line_longer_than_max_buffer_size() {
    let yaml = "input:\n  stdin:\n    scanner:\n      lines:\n        max_buffer_size: 5\noutput:\n  stdout: {}\n";
    let (stdout, stderr, code) = run(yaml, &["run", "-c"], b"abc\nabcdefgh\nxy\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "abc\nxy\n");
    assert!(stderr.contains("bufio.Scanner: token too long"), "{stderr}");
}
