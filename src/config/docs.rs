//! Markdown reference generated from the specs (`docs/components.md`). A test fails when the
//! committed file is stale; `UPDATE_DOCS=1 cargo test` rewrites it.

use std::fmt::Write;

use crate::components::registry;
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec, FieldType};

pub fn components_markdown() -> String {
    let mut out = String::from(
        "# Components\n\nGenerated from the component specs (`engine list --format json-full` shows the same data).\nDo not edit by hand: run `UPDATE_DOCS=1 cargo test docs_are_fresh`.\n",
    );
    for kind in ComponentKind::ALL {
        let specs = registry::specs(kind);
        if specs.is_empty() {
            continue;
        }
        let _ = write!(out, "\n## {}\n", kind.plural());
        for s in specs {
            component(&mut out, s);
        }
    }
    out
}

fn component(out: &mut String, s: &ComponentSpec) {
    let _ = write!(
        out,
        "\n### `{}` ({})\n\n{}\n",
        s.name,
        s.status.name(),
        s.summary
    );
    if !s.description.is_empty() {
        let _ = write!(out, "\n{}\n", s.description);
    }
    match &s.config.ty {
        FieldType::Object(children) if !children.is_empty() => {
            out.push_str("\n| field | type | default | description |\n|---|---|---|---|\n");
            let mut refused = Vec::new();
            for f in children {
                field_rows(out, f, "", &mut refused);
            }
            if !refused.is_empty() {
                out.push_str("\nBento's fields that engine does not support: lint and the build refuse them, unless they hold Bento's default, which asks for nothing.\n\n");
                for (name, reason) in refused {
                    let _ = writeln!(out, "- `{name}`: {reason}");
                }
            }
        }
        FieldType::Object(_) => {}
        _ => {
            let _ = write!(
                out,
                "\nThe config is a single {}: {}\n",
                s.config.ty.name(),
                s.config.description
            );
        }
    }
    for ex in &s.examples {
        let _ = write!(out, "\n{}:\n\n```yaml\n{}```\n", ex.title, ex.yaml);
    }
}

fn field_rows(
    out: &mut String,
    f: &FieldSpec,
    prefix: &str,
    refused: &mut Vec<(String, &'static str)>,
) {
    let name = format!("{prefix}{}", f.name);
    if let Some(reason) = f.unsupported {
        refused.push((name, reason));
        return;
    }
    let default = match &f.default {
        Some(d) => format!("`{d}`"),
        None if f.optional => "optional".into(),
        None => "required".into(),
    };
    let mut notes = Vec::new();
    if f.interpolated {
        notes.push("supports `${! }` interpolation");
    }
    if f.bloblang {
        notes.push("Bloblang mapping");
    }
    if f.advanced {
        notes.push("advanced");
    }
    let mut desc = f.description.replace('|', "\\|").replace('\n', " ");
    if !f.options.is_empty() {
        let _ = write!(
            desc,
            " Options: {}.",
            f.options
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !notes.is_empty() {
        let _ = write!(desc, " ({})", notes.join(", "));
    }
    let _ = writeln!(out, "| `{name}` | {} | {default} | {desc} |", f.ty.name());
    let prefix = match f.ty {
        FieldType::Array(_) => format!("{name}[]."),
        _ => format!("{name}."),
    };
    for c in f.children() {
        field_rows(out, c, &prefix, refused);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_are_fresh() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/components.md");
        let want = super::components_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/components.md is stale: run `UPDATE_DOCS=1 cargo test docs_are_fresh`"
        );
    }
}
