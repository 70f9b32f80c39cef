//! `engine lint PATH...`: files, directories, or `dir/...` walked recursively.

use std::path::{Path, PathBuf};

use super::GlobalArgs;

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

pub(super) fn lint(g: &GlobalArgs, paths: &[String]) -> i32 {
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
        match super::run::prepare(f.to_str(), &g2) {
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
