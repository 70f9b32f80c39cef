//! The crate's top-level modules form layers: each uses only those below it, so none of them
//! needs another that needs it back. Unit-test modules (from a file's first `#[cfg(test)]` on)
//! may build from any layer.

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
    let uses = regex::Regex::new(r"crate::(\w+)").unwrap();
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
        checked += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("\n#[cfg(test)]").next().unwrap_or("");
        for dep in uses.captures_iter(code) {
            if let Some(above) = LAYERS.iter().position(|l| *l == &dep[1]) {
                if above > level {
                    upward.push(format!("{} uses crate::{}", rel.display(), &dep[1]));
                }
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "{}", upward.join("\n"));
    assert!(checked > 100, "only {checked} files read");
}
