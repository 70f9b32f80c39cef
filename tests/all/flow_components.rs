//! The components the platform needed, each on its own: `retry`, the `switch`, `fallback` and
//! `broker` outputs, `resource` inputs and outputs, the `broker` input with two `http_server`
//! routes on one address, `redis_script` on Redis, and lint with `-r`.

use crate::support::{free_port, run_engine, spawn_engine, temp_config};

fn run(config: &str) -> (i32, String, String) {
    let (_dir, path) = temp_config(config);
    let out = run_engine(
        &[
            "run",
            "--set",
            "http.enabled=false",
            // Logs go to stdout when the output is not `stdout` itself, as Bento's do.
            "--log.level",
            "none",
            "-c",
            path.to_str().unwrap_or_default(),
        ],
        b"",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn retry_runs_children_again_until_they_succeed_and_keeps_the_original() {
    // `counter()` counts resolutions across messages: the first two attempts throw.
    let (code, out, err) = run(r#"
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = {"n": 1}'
pipeline:
  processors:
    - retry:
        backoff:
          initial_interval: 1ms
          max_interval: 5ms
        processors:
          - mapping: |
              let attempt = counter()
              root = if $attempt < 3 { throw("attempt %d failed".format($attempt)) } else { this.merge({"attempt": $attempt}) }
output:
  stdout: {}
"#);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), r#"{"attempt":3,"n":1}"#);
}

#[test]
fn retry_gives_up_after_max_retries_with_the_error_flag() {
    let (code, out, err) = run(r#"
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "x"'
pipeline:
  processors:
    - retry:
        max_retries: 2
        backoff:
          initial_interval: 1ms
          max_interval: 1ms
        processors:
          - mapping: 'root = throw("attempt %d".format(counter()))'
    - catch:
        - mapping: 'root = error()'
output:
  stdout: {}
"#);
    assert_eq!(code, 0, "{err}");
    // One try and two retries: the third attempt's error goes on.
    assert!(out.contains("attempt 3"), "{out}");
}

#[test]
fn switch_output_routes_by_check_and_continue() {
    let (code, out, err) = run(r#"
input:
  generate:
    count: 4
    interval: ""
    mapping: 'root = counter()'
output:
  switch:
    cases:
      - check: this % 2 == 0
        output:
          stdout: {}
          processors:
            - mapping: 'root = "even %d".format(this)'
        continue: true
      - check: this > 2
        output:
          stdout: {}
          processors:
            - mapping: 'root = "big %d".format(this)'
"#);
    assert_eq!(code, 0, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["big 3", "big 4", "even 2", "even 4"]);
}

#[test]
fn switch_output_strict_mode_refuses_unmatched_messages() {
    let (_dir, path) = temp_config(
        "input:\n  http_server:\n    path: /in\noutput:\n  switch:\n    strict_mode: true\n    cases:\n      - check: this.ok == true\n        output:\n          drop: {}\n",
    );
    let port = free_port();
    let mut child = spawn_engine(&[
        "run",
        "--set",
        &format!("http.address=127.0.0.1:{port}"),
        "-c",
        path.to_str().unwrap_or_default(),
    ]);
    engine::http::install_tls_provider();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ok, refused) = rt.block_on(async {
        crate::support::wait_for_status(&format!("http://127.0.0.1:{port}/ping"), 200).await;
        let c = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/in");
        let ok = c
            .post(&url)
            .body(r#"{"ok":true}"#)
            .send()
            .await
            .map(|r| r.status().as_u16());
        let refused = c.post(&url).body(r#"{"ok":false}"#).send().await;
        let refused = match refused {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        };
        (ok.unwrap_or(0), refused)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ok, 200);
    assert_eq!(refused.0, 502);
    assert!(
        refused.1.contains("no switch output conditions were met"),
        "{}",
        refused.1
    );
}

#[test]
fn fallback_tries_the_next_output_with_the_error_in_metadata() {
    let (code, out, err) = run(r#"
# Logs would go to stdout (the output is not `stdout` itself), where the data is compared.
logger:
  level: OFF
input:
  generate:
    count: 2
    interval: ""
    mapping: 'root = "m%d".format(counter())'
output:
  fallback:
    - reject: 'refused ${! content() }'
    - stdout: {}
      processors:
        - mapping: 'root = content().string() + " after: " + @fallback_error'
"#);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "m1 after: refused m1\nm2 after: refused m2\n");
}

#[test]
fn broker_output_fans_out_in_order_and_fail_fast_stops_at_a_failure() {
    let (code, out, err) = run(r#"
# Logs would go to stdout (the output is not `stdout` itself), where the data is compared.
logger:
  level: OFF
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "x"'
output:
  broker:
    pattern: fan_out_sequential
    outputs:
      - stdout: {}
        processors:
          - mapping: 'root = "first"'
      - stdout: {}
        processors:
          - mapping: 'root = "second"'
"#);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "first\nsecond\n");

    // A failing first output stops the sequence: the fallback answers instead, once.
    let (code, out, err) = run(r#"
logger:
  level: OFF
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "x"'
output:
  fallback:
    - broker:
        pattern: fan_out_sequential_fail_fast
        outputs:
          - reject: down
          - stdout: {}
            processors:
              - mapping: 'root = "must not be written"'
    - stdout: {}
      processors:
        - mapping: 'root = "fell back: " + @fallback_error'
"#);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fell back: down\n");
}

#[test]
fn resource_inputs_and_outputs_come_from_a_resource_file() {
    let (dir, main) = temp_config("input:\n  resource: source\noutput:\n  resource: sink\n");
    let res = dir.path().join("res.yaml");
    std::fs::write(
        &res,
        "input_resources:\n  - label: source\n    generate:\n      count: 2\n      interval: \"\"\n      mapping: 'root = \"hello\"'\n    processors:\n      - mapping: 'root = content().uppercase()'\noutput_resources:\n  - label: sink\n    stdout: {}\n",
    )
    .expect("write resources");
    let args = [
        "run",
        "--set",
        "http.enabled=false",
        "--log.level",
        "none",
        "-r",
        res.to_str().unwrap_or_default(),
        "-c",
        main.to_str().unwrap_or_default(),
    ];
    let out = run_engine(&args, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO\nHELLO\n");

    // An unknown label is a build error naming it.
    let (_d, bad) = temp_config("input:\n  resource: nowhere\noutput:\n  drop: {}\n");
    let out = run_engine(&["run", "-c", bad.to_str().unwrap_or_default()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input resource 'nowhere' was not found"));
}

#[test]
fn lint_takes_resource_files_and_the_platform_configs_are_clean() {
    let root = env!("CARGO_MANIFEST_DIR");
    for backend in ["production", "local"] {
        let mut args = vec![
            "lint".to_owned(),
            "-r".to_owned(),
            format!("{root}/configs/backends/{backend}.yaml"),
        ];
        for c in ["gateway", "worker", "collector", "mock_ml", "demo_user"] {
            args.push(format!("{root}/configs/{c}.yaml"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_engine(&args, b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A problem inside a resource file is reported at its line, once.
    let (dir, main) = temp_config("input:\n  resource: source\noutput:\n  drop: {}\n");
    let res = dir.path().join("res.yaml");
    std::fs::write(&res, "input_resources:\n  - label: source\n    generate:\n      cuont: 2\n      mapping: 'root = 1'\n").expect("write");
    let out = run_engine(
        &[
            "lint",
            "-r",
            res.to_str().unwrap_or_default(),
            main.to_str().unwrap_or_default(),
            main.to_str().unwrap_or_default(),
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.matches("field cuont not recognised").count(),
        1,
        "{err}"
    );
    assert!(err.contains("res.yaml(4,7)"), "{err}");
}

#[test]
fn two_http_server_routes_share_one_address() {
    let port = free_port();
    let (_dir, path) = temp_config(&format!(
        "input:\n  broker:\n    inputs:\n      - http_server:\n          address: 127.0.0.1:{port}\n          path: /items\n      - http_server:\n          address: 127.0.0.1:{port}\n          path: /items/{{id}}\n          allowed_verbs: [ GET ]\npipeline:\n  processors:\n    - mapping: 'root = \"%s %s\".format(@http_server_verb, @id.or(\"-\"))'\noutput:\n  sync_response: {{}}\n"
    ));
    let mut child = spawn_engine(&[
        "run",
        "--set",
        "http.address=127.0.0.1:0",
        "-c",
        path.to_str().unwrap_or_default(),
    ]);
    engine::http::install_tls_provider();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let got = rt.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        crate::support::wait_for_status(&format!("{base}/ping"), 200).await;
        let c = reqwest::Client::new();
        let post = crate::support::post(&format!("{base}/items"), "x").await;
        let get = crate::support::get(&format!("{base}/items/42")).await;
        let wrong = c
            .get(format!("{base}/items"))
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16();
        (post, get, wrong)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got.0, (200, "POST -".to_owned()));
    assert_eq!(got.1, (200, "GET 42".to_owned()));
    assert_eq!(got.2, 405, "each route keeps its own verbs");
}

#[test]
fn redis_script_runs_atomically_with_keys_and_args() {
    let Some(url) =
        crate::connectors::service("ENGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/", 6379)
    else {
        return;
    };
    let key = format!("redis_script_test_{}", std::process::id());
    let (code, out, err) = run(&format!(
        r#"
input:
  generate:
    count: 4
    interval: ""
    mapping: 'root = {{"key": "{key}", "n": 5}}'
pipeline:
  processors:
    - redis_script:
        url: {url}
        script: |
          local used = tonumber(redis.call('GET', KEYS[1]) or '0')
          if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -1 end
          redis.call('EXPIRE', KEYS[1], 60)
          return redis.call('INCRBY', KEYS[1], ARGV[1])
        keys_mapping: 'root = [ this.key ]'
        args_mapping: 'root = [ this.n, 15 ]'
output:
  stdout: {{}}
"#
    ));
    assert_eq!(code, 0, "{err}");
    // Pipeline threads run the four concurrently: each sees the count the one before left.
    let mut got: Vec<i64> = out.lines().filter_map(|l| l.parse().ok()).collect();
    got.sort_unstable();
    assert_eq!(got, vec![-1, 5, 10, 15]);
}

#[test]
fn amqp_output_fails_a_message_whose_header_key_is_too_long_instead_of_panicking() {
    let Some(url) = crate::connectors::amqp_url() else {
        return;
    };
    let (code, out, err) = run(&format!(
        r#"
input:
  generate:
    count: 1
    interval: ""
    mapping: |
      meta = {{"k".repeat(300): "v"}}
      root = "x"
output:
  fallback:
    - amqp_0_9:
        urls: [ "{url}" ]
        exchange: ""
        key: engine_long_header_test
    - stdout: {{}}
      processors:
        - mapping: 'root = @fallback_error'
"#
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("metadata key is 300 bytes long, over AMQP's limit of 255 bytes"),
        "{out}"
    );
}
