//! The binary end to end: run, lint, exit codes.

use crate::support::{run_engine, temp_config};

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn stdin_to_stdout_prints_lines_and_exits_zero() {
    let out = run_engine(&["run", "-c", &example("stdin_to_stdout.yaml")], b"a\nb\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn global_config_flag_without_subcommand_runs() {
    let out = run_engine(&["-c", &example("stdin_to_stdout.yaml")], b"x\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\n");
    assert_eq!(out.status.code(), Some(0));
}

const BAD: &str = "input:\n  stdin:\n    scannr: {}\noutput:\n  drop: {}\npipeline:\n  threads: many\nshutdown_timeout: ${ENGINE_TEST_SURELY_UNSET}\n";

/// Lint `config` from a file of its own: the file's path, the lines lint printed, its exit
/// code.
fn lint_text(config: &str) -> (String, Vec<String>, Option<i32>) {
    let (_dir, path) = temp_config(config);
    let p = path.to_string_lossy().to_string();
    let out = run_engine(&["lint", &p], b"");
    let lines = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    (p, lines, out.status.code())
}

#[test]
fn lint_reports_misspelt_field_wrong_type_and_missing_env() {
    let (p, lines, code) = lint_text(BAD);
    assert_eq!(
        lines,
        vec![
            format!("{p}(3,5) field scannr not recognised, did you mean scanner?"),
            format!("{p}(7,12) field threads: expected int value, got string (many)"),
            format!(
                "{p}(8,19) required environment variables were not set: [ENGINE_TEST_SURELY_UNSET]"
            ),
        ]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn lint_checks_durations_as_the_build_parses_them() {
    // A malformed duration in a typed field (a cache TTL, a flattened SQL connection option)
    // or a stream setting is a lint error at its line and column; empty and zero mean "none"
    // and pass.
    let config = "cache_resources:
  - label: seen
    memory:
      default_ttl: soon
      compaction_interval: \"\"
input:
  http_server:
    timeout: 0s
output:
  sql_insert:
    driver: postgres
    dsn: postgres://localhost/test
    table: t
    columns: [a]
    args_mapping: root = [this.a]
    conn_max_idle_time: 5x
    conn_max_life_time: 1m30s
shutdown_timeout: 10 seconds
";
    let (p, lines, code) = lint_text(config);
    assert_eq!(
        lines,
        vec![
            format!("{p}(4,20) field default_ttl: time: invalid duration \"soon\""),
            format!(
                "{p}(16,25) field conn_max_idle_time: time: unknown unit \"x\" in duration \"5x\""
            ),
            format!("{p}(18,19) field shutdown_timeout: time: unknown unit \" seconds\" in duration \"10 seconds\""),
        ]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn run_refuses_a_config_with_lint_errors() {
    let (_dir, path) = temp_config(BAD);
    let out = run_engine(
        &["run", "-c", &path.to_string_lossy()],
        b"should not be read\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("field scannr not recognised"), "{stderr}");
    assert!(stderr.contains("--chilled"), "{stderr}");
}

#[test]
fn lint_passes_clean_configs_and_walks_directories() {
    let out = run_engine(
        &[
            "lint",
            &format!("{}/examples/...", env!("CARGO_MANIFEST_DIR")),
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lint_flags_unknown_component_ambiguity_options_and_labels() {
    let (_dir, path) = temp_config(
        "input:\n  label: In\n  stdinn: {}\noutput:\n  label: out\n  drop: {}\n  stdout: {}\npipeline:\n  processors:\n    - label: dup\n      noop: {}\n    - label: dup\n      log:\n        level: LOUD\n",
    );
    let p = path.to_string_lossy().to_string();
    let out = run_engine(&["lint", &p], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        format!("{p}(2,10) invalid label 'In': should match"),
        format!("{p}(3,3) input type 'stdinn' was not recognised, did you mean stdin?"),
        format!("{p}(5,3) unable to infer output type, multiple candidates 'drop' and 'stdout'"),
        format!("{p}(12,14) label 'dup' collides with a previously defined label at line 10"),
        format!("{p}(14,16) value LOUD is not a valid option for field level"),
    ] {
        assert!(stderr.contains(&want), "missing {want:?} in:\n{stderr}");
    }
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unreadable_yaml_names_file_line_and_column() {
    let (_dir, path) = temp_config("input:\n  stdin: {\n output: x\n");
    let out = run_engine(&["lint", &path.to_string_lossy()], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}(", path.display())),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn set_overrides_and_env_defaults_apply() {
    let (_dir, path) = temp_config(
        "http:\n  enabled: false\ninput:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"${GREETING:hello}\"'\noutput:\n  stdout: {}\n",
    );
    let out = run_engine(
        &[
            "run",
            "-c",
            &path.to_string_lossy(),
            "--set",
            "input.generate.count=3",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\nhello\nhello\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn list_shows_registered_components() {
    let out = run_engine(&["list", "inputs", "--format", "json"], b"");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let inputs: Vec<&str> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    for want in ["file", "generate", "inproc", "stdin"] {
        assert!(inputs.contains(&want), "{inputs:?}");
    }
    // Functions of the interpreter and of the library are listed together, with examples.
    let out = run_engine(
        &["list", "bloblang-functions", "--format", "json-full"],
        b"",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let funcs = v["bloblang-functions"].as_array().unwrap();
    let names: Vec<&str> = funcs.iter().filter_map(|f| f["name"].as_str()).collect();
    for want in ["content", "metadata", "uuid_v4", "now", "range"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let range = funcs.iter().find(|f| f["name"] == "range").unwrap();
    assert!(!range["examples"].as_array().unwrap().is_empty());
}

#[test]
fn streams_mode_connects_inproc() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.txt");
    std::fs::write(
        dir.path().join("producer.yaml"),
        "input:\n  generate:\n    count: 3\n    interval: ''\n    mapping: 'root = \"ping\"'\noutput:\n  inproc: pipe\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("consumer.yaml"),
        format!(
            "input:\n  inproc: pipe\noutput:\n  file:\n    path: {}\n",
            out_path.display()
        ),
    )
    .unwrap();
    let mut child = crate::support::spawn_engine(&[
        "streams",
        "--set",
        "http.enabled=false",
        &dir.path().to_string_lossy(),
    ]);
    // The consumer never ends by itself: wait for its output, then stop the process.
    let mut content = String::new();
    for _ in 0..200 {
        content = std::fs::read_to_string(&out_path).unwrap_or_default();
        if content.lines().count() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    unsafe_kill_term(child.id());
    let status = child.wait().unwrap();
    assert_eq!(content, "ping\nping\nping\n");
    assert_eq!(status.code(), Some(0));
}

pub fn unsafe_kill_term(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

#[test]
fn sigterm_lets_an_in_flight_message_finish_before_exiting() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (_dir, path) = temp_config(
        "http:\n  enabled: false\ninput:\n  stdin: {}\n  processors:\n    - log:\n        message: 'accepted ${! content() }'\noutput:\n  stdout: {}\n  processors:\n    - sleep:\n        duration: 700ms\nshutdown_timeout: 10s\n",
    );
    let mut child = crate::support::spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"slow-one\n").unwrap();
    stdin.flush().unwrap();
    // Wait until the input has taken the message (the log line), then ask to stop.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("accepted slow-one") {
        line.clear();
    }
    assert!(line.contains("accepted slow-one"), "{line}");
    unsafe_kill_term(child.id());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(out, "slow-one\n");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn lint_refuses_settings_engine_does_not_do() {
    let (_dir, path) = crate::support::temp_config(
        "buffer:\n  memory: {}\ntracer:\n  jaeger: {}\nhttp:\n  debug_endpoints: true\nmetrics:\n  prometheus: {}\n  mapping: root = this\ninput:\n  stdin: {}\noutput:\n  stdout: {}\n",
    );
    let out = crate::support::run_engine(&["lint", path.to_str().unwrap_or_default()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    for want in [
        "(2,3) buffer type 'memory' is not supported by engine (only none)",
        "(4,3) tracer type 'jaeger' is not supported by engine (only none)",
        "(6,20) http.debug_endpoints is not supported by engine",
    ] {
        assert!(err.contains(want), "{want} in:\n{err}");
    }
    // A scanner's options are checked at their line; the scanners engine lacks are refused.
    let (_dir, path) = crate::support::temp_config(
        "input:\n  stdin:\n    scanner:\n      lines:\n        custom_delimiter: ','\n        nope: 1\npipeline:\n  processors:\n    - mapping: root = this\noutput:\n  file:\n    path: x\n  processors:\n    - mapping: root = this\ninput_resources:\n  - label: f\n    file:\n      paths: [ x ]\n      scanner:\n        switch: [ { re_match_name: x, scanner: { to_the_end: {} } } ]\n",
    );
    let out = crate::support::run_engine(&["lint", path.to_str().unwrap_or_default()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(6,9) field nope not recognised"), "{err}");
    assert!(!err.contains("custom_delimiter"), "{err}");
    assert!(
        err.contains("(20,9) field switch is not supported by engine"),
        "{err}"
    );
}

#[test]
fn log_fields_and_logger_key_names_reach_the_log_lines() {
    let config = |format: &str| {
        format!(
            "http: {{enabled: false}}\nlogger:\n  format: {format}\n  level_name: severity\n  message_name: message\n  add_timestamp: true\n  timestamp_name: ts\n  static_fields:\n    app: demo\ninput:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = {{\"id\": 7}}'\npipeline:\n  processors:\n    - log:\n        message: 'got ${{! this.id }}'\n        fields_mapping: |\n          root.id = this.id\n          root.kind = \"test\"\noutput:\n  drop: {{}}\n"
        )
    };
    let (_d, json) = crate::support::temp_config(&config("json"));
    let out = crate::support::run_engine(&["run", "-c", json.to_str().unwrap_or_default()], b"");
    // Logs go to stdout when the output is not `stdout`, as Bento's do.
    let err = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = err
        .lines()
        .find(|l| l.contains("got 7"))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("a JSON line: {err}"));
    assert_eq!(line["severity"], "info");
    assert_eq!(line["message"], "got 7");
    assert_eq!(line["app"], "demo");
    assert_eq!(line["id"], 7);
    assert_eq!(line["kind"], "test");
    assert!(line["ts"].is_string(), "{line}");

    let (_d, logfmt) = crate::support::temp_config(&config("logfmt"));
    let out = crate::support::run_engine(&["run", "-c", logfmt.to_str().unwrap_or_default()], b"");
    // Logs go to stdout when the output is not `stdout`, as Bento's do.
    let err = String::from_utf8_lossy(&out.stdout);
    let line = err
        .lines()
        .find(|l| l.contains("got 7"))
        .unwrap_or_default();
    assert!(line.starts_with("ts="), "{line}");
    for want in [
        "severity=info",
        "message=\"got 7\"",
        "app=demo",
        "id=7",
        "kind=test",
    ] {
        assert!(line.contains(want), "{want} in {line}");
    }
}

#[test]
fn sql_init_verify_conn_stops_a_stream_whose_database_does_not_answer() {
    let config = |verify: bool| {
        format!("http: {{enabled: false}}\ninput:\n  generate:\n    count: 1\n    interval: ''\n    mapping: root = 1\npipeline:\n  processors:\n    - sql_raw:\n        driver: sqlite\n        dsn: /nonexistent/dir/x.db\n        query: SELECT 1\n        init_verify_conn: {verify}\noutput:\n  drop: {{}}\n")
    };
    let (_d, on) = crate::support::temp_config(&config(true));
    let out = crate::support::run_engine(&["run", "-c", on.to_str().unwrap_or_default()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("root.pipeline.processors.0: init_verify_conn: open /nonexistent/dir/x.db"),
        "{err}"
    );
    // Without it the stream starts, and the query fails per message instead.
    let (_d, off) = crate::support::temp_config(&config(false));
    let out = crate::support::run_engine(&["run", "-c", off.to_str().unwrap_or_default()], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `build.rs` links the binary as a position-dependent executable (idle memory, issue 9): its
/// ELF type is `ET_EXEC` (2), where a PIE is `ET_DYN` (3).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_linked_without_pie() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_engine")).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 2, "ELF type");
}
