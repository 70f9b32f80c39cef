//! `engine list [kinds] [--format text|json|json-full]`.

use crate::bloblang::library;
use crate::components::registry;
use crate::spec::ComponentKind;

/// Bento's section titles: `rate-limits` → `Rate Limits`.
fn title(kind: &str) -> String {
    kind.split('-')
        .map(|w| {
            let mut w = w.to_owned();
            if let Some(first) = w.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            w
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sections Bento lists beside the components engine builds from its registry: what each
/// config section of engine takes.
const OTHER_SECTIONS: &[(&str, &[&str])] = &[
    ("buffers", &["none"]),
    ("metrics", &["none", "prometheus"]),
    ("tracers", &["none"]),
    (
        "scanners",
        &[
            "chunker",
            "csv",
            "decompress",
            "json_documents",
            "lines",
            "re_match",
            "skip_bom",
            "to_the_end",
        ],
    ),
];

fn doc_json(d: &crate::bloblang::Doc) -> serde_json::Value {
    serde_json::json!({
        "name": d.name,
        "category": d.category,
        "description": d.description,
        "params": d.params.iter().map(|p| serde_json::json!({
            "name": p.name,
            "type": format!("{:?}", p.kind).to_lowercase(),
            "description": p.description,
        })).collect::<Vec<_>>(),
        "examples": d.examples.iter().map(|e| serde_json::json!({
            "summary": e.summary,
            "mapping": e.mapping,
            "results": e.cases.iter().map(|(i, o)| [i, o]).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub(super) fn list(kinds: &[String], format: &str, status: Option<&str>) -> i32 {
    let mut sections: Vec<(String, Vec<String>, Vec<serde_json::Value>)> = Vec::new();
    for k in &ComponentKind::ALL {
        // `--status`: only the components of that status.
        let specs: Vec<_> = registry::specs(*k)
            .into_iter()
            .filter(|s| status.is_none_or(|st| s.status.name() == st))
            .collect();
        sections.push((
            k.plural().to_owned(),
            specs.iter().map(|s| s.name.to_owned()).collect(),
            specs.iter().map(|s| s.to_json()).collect(),
        ));
    }
    if status.is_none() {
        for (name, names) in OTHER_SECTIONS {
            sections.push((
                (*name).to_owned(),
                names.iter().map(|n| (*n).to_owned()).collect(),
                names
                    .iter()
                    .map(|n| serde_json::json!({ "name": n }))
                    .collect(),
            ));
        }
    }
    // Bloblang functions and methods carry no status: `--status` lists components only.
    let bloblang = match status {
        None => vec![
            ("bloblang-functions", crate::bloblang::function_docs()),
            ("bloblang-methods", crate::bloblang::method_docs()),
        ],
        Some(_) => Vec::new(),
    };
    sections.retain(|(_, names, _)| status.is_none() || !names.is_empty());
    for (name, docs) in bloblang {
        // Bento's hidden aliases work but are not listed.
        let docs: Vec<_> = docs
            .into_iter()
            .filter(|d| d.category != library::HIDDEN)
            .collect();
        sections.push((
            name.into(),
            docs.iter().map(|d| d.name.to_owned()).collect(),
            docs.iter().map(doc_json).collect(),
        ));
    }
    for k in kinds {
        if !sections.iter().any(|(name, _, _)| name == k) {
            eprintln!(
                "unknown type '{k}', expected one of: {}",
                sections
                    .iter()
                    .map(|s| s.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return 1;
        }
    }
    let wanted: Vec<_> = sections
        .into_iter()
        .filter(|(name, _, _)| kinds.is_empty() || kinds.contains(name))
        .collect();
    // Write through a handle whose errors we ignore: `engine list | head` closes the pipe early.
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        "text" => {
            for (i, (name, names, _)) in wanted.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out);
                }
                let _ = writeln!(out, "{}:", title(name));
                for n in names {
                    let _ = writeln!(out, "  - {n}");
                }
            }
        }
        "json" => {
            let m: serde_json::Map<_, _> = wanted
                .into_iter()
                .map(|(name, names, _)| (name, serde_json::Value::from(names)))
                .collect();
            let _ = writeln!(out, "{}", serde_json::Value::Object(m));
        }
        "json-full" => {
            let m: serde_json::Map<_, _> = wanted
                .into_iter()
                .map(|(name, _, full)| (name, serde_json::Value::Array(full)))
                .collect();
            let _ = writeln!(out, "{}", serde_json::Value::Object(m));
        }
        other => {
            eprintln!("unknown format '{other}', expected text, json or json-full");
            return 1;
        }
    }
    0
}
