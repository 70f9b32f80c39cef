//! `engine list [kinds] [--format text|json|json-full]`.

use crate::bloblang::library;
use crate::components::registry;
use crate::config::spec::ComponentKind;

const KINDS: &[ComponentKind] = &[
    ComponentKind::Input,
    ComponentKind::Processor,
    ComponentKind::Output,
    ComponentKind::Cache,
    ComponentKind::RateLimit,
];

fn title(kind: &str) -> String {
    let mut s = kind.replace('-', " ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

pub(super) fn list(kinds: &[String], format: &str) -> i32 {
    let mut sections: Vec<(String, Vec<String>, Vec<serde_json::Value>)> = Vec::new();
    for k in KINDS {
        let specs = registry::specs(*k);
        sections.push((
            k.plural().to_owned(),
            specs.iter().map(|s| s.name.to_owned()).collect(),
            specs.iter().map(|s| s.to_json()).collect(),
        ));
    }
    let funcs = library::functions();
    sections.push((
        "bloblang-functions".into(),
        funcs.iter().map(|f| f.name.to_owned()).collect(),
        funcs
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "category": f.category, "description": f.description}))
            .collect(),
    ));
    let methods = library::methods();
    sections.push((
        "bloblang-methods".into(),
        methods.iter().map(|f| f.name.to_owned()).collect(),
        methods
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "category": f.category, "description": f.description}))
            .collect(),
    ));
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
    match format {
        "text" => {
            for (i, (name, names, _)) in wanted.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("{}:", title(name));
                for n in names {
                    println!("  - {n}");
                }
            }
        }
        "json" => {
            let m: serde_json::Map<_, _> = wanted
                .into_iter()
                .map(|(name, names, _)| (name, serde_json::Value::from(names)))
                .collect();
            println!("{}", serde_json::Value::Object(m));
        }
        "json-full" => {
            let m: serde_json::Map<_, _> = wanted
                .into_iter()
                .map(|(name, _, full)| (name, serde_json::Value::Array(full)))
                .collect();
            println!("{}", serde_json::Value::Object(m));
        }
        other => {
            eprintln!("unknown format '{other}', expected text, json or json-full");
            return 1;
        }
    }
    0
}
