//! `engine lint PATH...`: files, directories, or `dir/...` walked recursively.

use std::path::{Path, PathBuf};

use super::GlobalArgs;
use crate::config::lint::LintOptions;

/// Expand lint/streams arguments into config files: a file as is, a directory's `.yaml`/`.yml`
/// files, `dir/...` recursively.
pub(super) fn collect_files(paths: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let (dir, recursive) = match p.strip_suffix("/...") {
            Some(d) => (d, true),
            None => (p.as_str(), false),
        };
        let path = Path::new(if dir.is_empty() { "." } else { dir });
        if path.is_dir() {
            walk(path, recursive, &mut out).map_err(|e| format!("{}: {e}", path.display()))?;
        } else if path.exists() {
            out.push(path.to_owned());
        } else if p.contains(['*', '?', '[']) {
            // A quoted glob, which the shell did not expand.
            let matched = glob::glob(p).map_err(|e| format!("{p}: {e}"))?;
            out.extend(matched.flatten());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            if recursive {
                walk(&e, true, out)?;
            }
        } else if matches!(
            e.extension().and_then(|x| x.to_str()),
            Some("yaml") | Some("yml")
        ) {
            out.push(e);
        }
    }
    Ok(())
}

/// The YAML of a Markdown file's fenced `yaml`/`yml` blocks, each with the line it starts on.
fn markdown_snippets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match current.as_mut() {
            None if matches!(fence.trim_end(), "```yaml" | "```yml") => {
                current = Some((i + 2, String::new()));
            }
            None => {}
            Some(_) if fence.trim_end() == "```" => {
                if let Some(done) = current.take() {
                    out.push(done);
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    out
}

/// Lint each YAML snippet of a Markdown file, with positions in the Markdown file.
fn lint_markdown(path: &Path, opts: LintOptions) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (first_line, yaml) in markdown_snippets(&text) {
        let loaded = crate::config::read_text(path, &yaml).map_err(|e| e.to_string())?;
        for l in crate::config::lint::lint_config_with(&loaded, opts) {
            out.push(format!(
                "{}({},{}) {}",
                path.display(),
                l.line + first_line - 1,
                l.col,
                l.message
            ));
        }
    }
    Ok(out)
}

pub(super) fn lint(g: &GlobalArgs, paths: &[String], opts: LintOptions) -> i32 {
    let mut files = match collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if let Some(c) = &g.config {
        files.insert(0, PathBuf::from(c));
    }
    // `engine -r FILE lint`: the resource files are what there is to lint.
    let mut g = g.clone();
    if files.is_empty() {
        match crate::spec::expand_globs_lenient(&g.resources) {
            Ok(r) => files = r,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
        g.resources.clear();
    }
    let g = &g;
    let mut failed = false;
    // With `-r`, every file is linted with the resources merged in (as `run` reads it); the
    // resource files' own problems are reported once.
    let mut seen = std::collections::HashSet::new();
    for f in files {
        // A config with only a `# BENTO LINT DISABLE` header (or ours) is skipped, as in Bento.
        if let Ok(text) = std::fs::read_to_string(&f) {
            if text.starts_with("# BENTO LINT DISABLE") || text.starts_with("# ENGINE LINT DISABLE")
            {
                continue;
            }
        }
        let g2 = GlobalArgs {
            config: None,
            ..g.clone()
        };
        let prepared = match f.extension().and_then(|x| x.to_str()) {
            Some("md") => lint_markdown(&f, opts).map(|lints| super::run::Prepared {
                tree: crate::config::yaml::Node::empty_map(1, 1),
                lints,
            }),
            _ => super::run::prepare(f.to_str(), &g2, opts),
        };
        match prepared {
            Ok(p) => {
                for l in &p.lints {
                    if seen.insert(l.clone()) {
                        eprintln!("{l}");
                    }
                }
                failed |= !p.lints.is_empty();
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    i32::from(failed)
}
