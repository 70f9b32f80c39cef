//! The crate's top-level modules form layers: each uses only those below it, so none of them
//! needs another that needs it back. Unit tests (a file's `#[cfg(test)] mod tests { ... }` at
//! its end, and files that are test modules: `tests.rs`, `*_test.rs`) may build from any layer.

use std::path::Path;

/// Lowest first.
const LAYERS: &[&str] = &[
    "message",
    "bloblang",
    "spec",
    "metrics",
    "http",
    "components",
    "config",
    "pipeline",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // `crate::x::...`, and each module of a `use crate::{x::..., y}` group.
    let uses = regex::Regex::new(r"crate::(\w+)|crate::\{([^}]*)\}").unwrap();
    let mut upward = Vec::new();
    let mut checked = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs");
        let Some(level) = LAYERS.iter().position(|l| *l == top) else {
            continue;
        };
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_test.rs") {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text
            .split("\n#[cfg(test)]\nmod tests {")
            .next()
            .unwrap_or("");
        for found in uses.captures_iter(code) {
            let deps: Vec<&str> = match (found.get(1), found.get(2)) {
                (Some(one), _) => vec![one.as_str()],
                (_, Some(group)) => group
                    .as_str()
                    .split(',')
                    .filter_map(|d| d.trim().split("::").next())
                    .collect(),
                _ => Vec::new(),
            };
            for dep in deps {
                if LAYERS.iter().position(|l| *l == dep) > Some(level) {
                    upward.push(format!("{} uses crate::{dep}", rel.display()));
                }
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "{}", upward.join("\n"));
    assert!(checked > 100, "only {checked} files read");
}

/// A field that serde reads as a duration must say so in its spec (`.duration()`), or lint
/// would pass a value the build refuses: the two are written side by side in each
/// `component_config!` declaration, and this keeps them together.
#[test]
fn fields_read_as_durations_are_marked_for_lint() {
    let attr = regex::Regex::new(
        r#"deserialize_with = "crate::spec::(duration|optional_duration_field|duration_unless_blank)""#,
    )
    .unwrap();
    // A field's declaration ends with a comma at the end of a line, before the next field, its
    // attributes or the struct's end.
    let field_end = regex::Regex::new(r",\n\s*(#\[|pub |[a-z_]+: |\})").unwrap();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut unmarked = Vec::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for m in attr.find_iter(&text) {
            if file.ends_with("spec.rs") {
                continue;
            }
            seen += 1;
            let rest = &text[m.end()..];
            let end = field_end.find(rest).map_or(rest.len(), |e| e.start());
            let field = &rest[..end];
            if !field.contains(".duration()") {
                unmarked.push(format!("{}: {}", file.display(), field.trim()));
            }
        }
    }
    assert!(
        seen >= 20,
        "only {seen} duration fields found: the scan is broken"
    );
    assert!(unmarked.is_empty(), "{unmarked:#?}");
}
