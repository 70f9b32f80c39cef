//! Bloblang wired into configs: processors, the generate input, interpolation, and lint.

use crate::support::{run_engine, temp_config};

fn run_config(yaml: &str, stdin: &[u8]) -> (String, String, Option<i32>) {
    let (_dir, path) = temp_config(yaml);
    let out = run_engine(&["run", "-c", &path.to_string_lossy()], stdin);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn lint_reports_bloblang_errors_at_their_yaml_position() {
    let yaml = "input:\n  stdin: {}\npipeline:\n  processors:\n    - mapping: |\n        root = this\n        root.x = this.y +\n    - mutation: 'root.a = nosuchfn()'\noutput:\n  stdout: {}\n";
    let (_dir, path) = temp_config(yaml);
    let p = path.to_string_lossy().to_string();
    let out = run_engine(&["lint", &p], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    // The dangling `+` continues onto the (empty) next line of the block, where the operand is
    // missing; a call error points just after the call, as Bento's do.
    assert_eq!(
        lines[0],
        format!("{p}(8,9) line 3 char 1: expected query"),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        format!("{p}(8,37) line 1 char 20: unrecognised function 'nosuchfn'"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn mapping_and_mutation_transform_messages() {
    let (out, err, code) = run_config(
        "http: {enabled: false}\ninput:\n  stdin: {}\npipeline:\n  threads: 1\n  processors:\n    - mutation: 'root.n = this.n * 2'\n    - mapping: |\n        root.doubled = this.n\n        root.kept = this.keep\noutput:\n  stdout: {}\n",
        b"{\"n\":2,\"keep\":\"x\"}\n{\"n\":5,\"keep\":true}\n",
    );
    assert_eq!(
        out, "{\"doubled\":4,\"kept\":\"x\"}\n{\"doubled\":10,\"kept\":true}\n",
        "{err}"
    );
    assert_eq!(code, Some(0));
}

#[test]
fn a_failed_mapping_flags_the_message_and_deleted_filters_it() {
    let (out, err, code) = run_config(
        "http: {enabled: false}\ninput:\n  stdin: {}\npipeline:\n  threads: 1\n  processors:\n    - mapping: 'root = if this.drop == true { deleted() } else { this }'\n    - mapping: 'root.v = this.v + 1'\n    - mapping: 'root = if errored() { \"failed: \" + error() } else { this }'\noutput:\n  stdout: {}\n",
        b"{\"v\":1}\n{\"drop\":true}\n{\"v\":\"x\"}\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}{err}");
    assert_eq!(lines[0], "{\"v\":2}");
    assert!(
        lines[1].starts_with("failed: failed assignment (line 1)"),
        "{}",
        lines[1]
    );
    assert_eq!(code, Some(0));
}

#[test]
fn branch_maps_child_results_back_into_the_original() {
    let (out, err, code) = run_config(
        "http: {enabled: false}\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - branch:\n        request_map: 'root = this.price'\n        processors:\n          - mapping: 'root = this * 3'\n        result_map: 'root.total = this'\noutput:\n  stdout: {}\n",
        b"{\"id\":\"a\",\"price\":2}\n",
    );
    assert_eq!(out, "{\"id\":\"a\",\"price\":2,\"total\":6}\n", "{err}");
    assert_eq!(code, Some(0));
}

#[test]
fn generate_runs_its_mapping_and_interpolation_reaches_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  generate:\n    count: 3\n    interval: ''\n    mapping: |\n      root.n = counter()\n      meta kind = if counter() % 2 == 0 {{ \"even\" }} else {{ \"odd\" }}\noutput:\n  file:\n    path: '{}/${{! @kind }}.txt'\n",
        dir.path().display()
    );
    let (_out, err, code) = run_config(&yaml, b"");
    assert_eq!(code, Some(0), "{err}");
    let odd = std::fs::read_to_string(dir.path().join("odd.txt")).unwrap();
    let even = std::fs::read_to_string(dir.path().join("even.txt")).unwrap();
    assert_eq!(odd, "{\"n\":1}\n{\"n\":3}\n");
    assert_eq!(even, "{\"n\":2}\n");
}

#[test]
fn try_catch_and_switch_route_on_the_error_flag_and_content() {
    let (out, err, code) = run_config(
        r#"http: {enabled: false}
input:
  stdin: {}
pipeline:
  # Several workers may finish out of order (as Bento's pipeline threads do); one keeps it.
  threads: 1
  processors:
    - try:
        - mutation: 'root.v = this.v * 10'
        - mutation: 'root.after = true'
    - catch:
        - mapping: 'root = {"caught": error().contains("failed assignment")}'
    - switch:
        - check: 'this.v > 15'
          processors:
            - mutation: 'root.tier = "big"'
        - check: 'this.exists("v")'
          processors:
            - mutation: 'root.tier = "small"'
output:
  stdout: {}
"#,
        b"{\"v\":1}\n{\"v\":\"x\"}\n{\"v\":2}\n",
    );
    assert_eq!(
        out,
        "{\"after\":true,\"tier\":\"small\",\"v\":10}\n{\"caught\":true}\n{\"after\":true,\"tier\":\"big\",\"v\":20}\n",
        "{err}"
    );
    assert_eq!(code, Some(0));
}

#[test]
fn generate_count_counts_only_the_messages_it_keeps() {
    let (out, err, code) = run_config(
        "http: {enabled: false}\ninput:\n  generate:\n    count: 3\n    interval: \"\"\n    mapping: |\n      let n = counter()\n      root = if $n % 2 == 0 { deleted() } else { $n }\noutput:\n  stdout: {}\n",
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "1\n3\n5\n");
}
