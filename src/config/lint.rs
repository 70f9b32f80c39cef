//! Lint: the positioned YAML tree checked against the specs, reported Bento's way as
//! `file(line,col) message`.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::yaml::{resolve_scalar, Node, NodeKind};
use super::Loaded;
use crate::components::registry;
use crate::components::registry::{json_type, RESERVED_KEYS};
use crate::spec::{ComponentKind, FieldSpec, FieldType};

#[derive(Clone, Debug, PartialEq)]
pub struct Lint {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{}) {}", self.line, self.col, self.message)
    }
}

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("^[a-z0-9_]+$").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Checks a string field's content (a Bloblang mapping or an interpolated string). Returns
/// problems as (line, col, message) relative to the string's first character.
pub type ContentCheck = fn(&str) -> Vec<(usize, usize, String)>;

struct Linter<'a> {
    src: Vec<&'a str>,
    lints: Vec<Lint>,
    labels: HashMap<String, usize>,
    opts: LintOptions,
}

/// `engine lint`'s flags, as Bento's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LintOptions {
    /// `--deprecated`: deprecated components and fields are errors.
    pub deprecated: bool,
    /// `--labels`: every component must have a label.
    pub labels: bool,
    /// `--skip-env-var-check`: environment variables that are not set are no error.
    pub skip_env_var_check: bool,
}

/// Lint a loaded config file (main config or a resource file).
pub fn lint_config(loaded: &Loaded) -> Vec<Lint> {
    lint_config_with(loaded, LintOptions::default())
}

pub fn lint_config_with(loaded: &Loaded, opts: LintOptions) -> Vec<Lint> {
    let mut l = Linter {
        src: loaded.text.lines().collect(),
        lints: Vec::new(),
        labels: HashMap::new(),
        opts,
    };
    let missing_env = match opts.skip_env_var_check {
        true => &[][..],
        false => &loaded.missing_env[..],
    };
    for m in missing_env {
        l.push_at(
            m.line,
            m.col,
            format!("required environment variables were not set: [{}]", m.name),
        );
    }
    l.object(&loaded.tree, super::root_spec().children());
    l.unsupported(&loaded.tree);
    for (section, kind) in [
        ("input_resources", ComponentKind::Input),
        ("processor_resources", ComponentKind::Processor),
        ("output_resources", ComponentKind::Output),
        ("cache_resources", ComponentKind::Cache),
        ("rate_limit_resources", ComponentKind::RateLimit),
    ] {
        for item in loaded.tree.get(section).and_then(Node::seq).unwrap_or(&[]) {
            if item.get("label").is_none() && item.map().is_some() {
                l.push(item, format!("{} resources must have a label", kind.name()));
            }
        }
    }
    l.lints.sort_by_key(|x| (x.line, x.col));
    l.lints
}

impl Linter<'_> {
    /// Settings the spec takes (Bento has them) that engine does not do: refused here, at their
    /// line, rather than accepted and ignored.
    fn unsupported(&mut self, tree: &Node) {
        for section in ["buffer", "tracer"] {
            let Some(entries) = tree.get(section).and_then(Node::map) else {
                continue;
            };
            for (k, _) in entries {
                let kind = k.scalar().unwrap_or_default();
                if kind != "none" {
                    self.push(
                        k,
                        format!("{section} type '{kind}' is not supported by engine (only none)"),
                    );
                }
            }
        }
        let set = |path: &[&str]| -> Option<&Node> {
            let mut n = tree;
            for p in path {
                n = n.get(p)?;
            }
            Some(n)
        };
        if let Some(n) = set(&["http", "debug_endpoints"]) {
            if n.scalar() == Some("true") {
                self.push(n, "http.debug_endpoints is not supported by engine".into());
            }
        }
    }

    fn push(&mut self, n: &Node, message: String) {
        self.push_at(n.line, n.col, message)
    }

    fn push_at(&mut self, line: usize, col: usize, message: String) {
        self.lints.push(Lint { line, col, message });
    }

    /// Check the keys of an object node against the child fields.
    fn object(&mut self, node: &Node, fields: &[FieldSpec]) {
        let Some(entries) = node.map() else {
            self.push(node, format!("expected object value, got {}", shape(node)));
            return;
        };
        for (k, v) in entries {
            let key = k.scalar().unwrap_or_default();
            match fields.iter().find(|f| f.name == key) {
                Some(f) => match f.unsupported {
                    Some(reason) if !f.is_inert(&v.to_json()) => self.push(
                        k,
                        format!("field {key} is not supported by engine: {reason}"),
                    ),
                    Some(_) => {}
                    None => self.field(v, f),
                },
                None => {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    self.push(k, not_recognised(key, &names));
                }
            }
        }
        for f in fields {
            if f.is_required() && node.get(f.name).is_none() {
                self.push(node, format!("field {} is required", f.name));
            }
        }
    }

    fn field(&mut self, node: &Node, f: &FieldSpec) {
        self.value(node, &f.ty, Some(f));
    }

    fn value(&mut self, node: &Node, ty: &FieldType, f: Option<&FieldSpec>) {
        let name = f.map(|f| f.name).unwrap_or("value");
        match ty {
            FieldType::Any => {}
            FieldType::Object(children) => {
                // An optional object given as null means "not set".
                if !(node.is_null() && f.is_some_and(|f| f.optional || f.default.is_some())) {
                    self.object(node, children)
                }
            }
            FieldType::Array(of) => match node.seq() {
                Some(items) => {
                    for item in items {
                        self.value(item, of, None);
                    }
                }
                None if node.is_null() => {}
                None => self.push(
                    node,
                    format!("field {name}: expected array value, got {}", shape(node)),
                ),
            },
            FieldType::Map(of) => match node.map() {
                Some(entries) => {
                    for (_, v) in entries {
                        self.value(v, of, None);
                    }
                }
                None if node.is_null() => {}
                None => self.push(
                    node,
                    format!("field {name}: expected object value, got {}", shape(node)),
                ),
            },
            FieldType::Component(kind) => self.component(node, *kind),
            scalar => self.scalar(node, scalar, f),
        }
    }

    fn scalar(&mut self, node: &Node, ty: &FieldType, f: Option<&FieldSpec>) {
        let name = f.map(|f| f.name).unwrap_or("value");
        let NodeKind::Scalar(text, quoted) = &node.kind else {
            self.push(
                node,
                format!(
                    "field {name}: expected {} value, got {}",
                    ty.name(),
                    shape(node)
                ),
            );
            return;
        };
        let resolved = resolve_scalar(text, *quoted);
        let ok = match ty {
            FieldType::String => !resolved.is_object() && !resolved.is_array(),
            FieldType::Int => resolved.is_i64() || resolved.is_u64(),
            FieldType::Float => resolved.is_number(),
            FieldType::Bool => resolved.is_boolean(),
            _ => true,
        };
        if !ok {
            self.push(
                node,
                format!(
                    "field {name}: expected {} value, got {} ({})",
                    ty.name(),
                    json_type(&resolved),
                    text
                ),
            );
            return;
        }
        let Some(f) = f else { return };
        if !f.options.is_empty() && !f.options.iter().any(|o| o == text) {
            let mut msg = format!("value {text} is not a valid option for field {}", f.name);
            if let Some(s) = suggest(text, &f.options) {
                msg.push_str(&format!(", did you mean {s}?"));
            }
            self.push(node, msg);
        }
        if f.duration && !text.trim().is_empty() {
            if let Err(e) = crate::spec::parse_duration(text) {
                self.push(node, format!("field {}: {e}", f.name));
                return;
            }
        }
        let check: Option<ContentCheck> = if f.bloblang {
            Some(mapping_problems)
        } else if f.interpolated {
            Some(interpolation_problems)
        } else {
            None
        };
        if let Some(check) = check {
            // Block scalars start on the line after their indicator.
            let (line0, col0, block) = self.content_origin(node);
            for (line, col, msg) in check(text) {
                // Every line of a block scalar is indented like its first; a flow scalar's
                // continuation lines are not.
                let (l, c) = if line <= 1 || block {
                    (line0 + line.saturating_sub(1), col0 + col.saturating_sub(1))
                } else {
                    (line0 + line - 1, col)
                };
                self.push_at(l, c, msg);
            }
        }
    }

    fn component(&mut self, node: &Node, kind: ComponentKind) {
        let Some(entries) = node.map() else {
            self.push(
                node,
                format!("expected {} object, got {}", kind.name(), shape(node)),
            );
            return;
        };
        if let Some(label_node) = node.get("label") {
            self.label(label_node);
        }
        let explicit = node.get("type").and_then(Node::scalar);
        let others: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| !RESERVED_KEYS.contains(&k.scalar().unwrap_or_default()))
            .collect();
        let known: Vec<&(Node, Node)> = others
            .iter()
            .copied()
            .filter(|(k, _)| registry::spec(kind, k.scalar().unwrap_or_default()).is_some())
            .collect();
        let (type_name, type_key) = match (explicit, known.as_slice()) {
            (Some(t), _) => (t.to_owned(), node.get("type").unwrap_or(node)),
            (None, [one]) => (one.0.scalar().unwrap_or_default().to_owned(), &one.0),
            (None, []) => {
                let names = registry::names(kind);
                match others.as_slice() {
                    [(k, _)] => {
                        let key = k.scalar().unwrap_or_default();
                        let mut msg = format!("{} type '{}' was not recognised", kind.name(), key);
                        if let Some(s) = suggest_component(key, &names) {
                            msg.push_str(&format!(", did you mean {s}?"));
                        }
                        self.push(k, msg);
                    }
                    _ => self.push(
                        node,
                        format!(
                            "unable to infer {} type, no component type key found",
                            kind.name()
                        ),
                    ),
                }
                return;
            }
            (None, [a, b, ..]) => {
                self.push(
                    node,
                    format!(
                        "unable to infer {} type, multiple candidates '{}' and '{}'",
                        kind.name(),
                        a.0.scalar().unwrap_or_default(),
                        b.0.scalar().unwrap_or_default()
                    ),
                );
                return;
            }
        };
        let Some(spec) = registry::spec(kind, &type_name) else {
            self.push(
                type_key,
                format!("{} type '{}' was not recognised", kind.name(), type_name),
            );
            return;
        };
        if self.opts.deprecated && spec.status == crate::spec::Status::Deprecated {
            self.push(type_key, format!("component {type_name} is deprecated"));
        }
        if self.opts.labels
            && node
                .get("label")
                .and_then(Node::scalar)
                .is_none_or(str::is_empty)
        {
            self.push(node, format!("{} {type_name} has no label", kind.name()));
        }
        for (k, _) in &others {
            let key = k.scalar().unwrap_or_default();
            if key != type_name {
                self.push(
                    k,
                    format!(
                        "field {key} is invalid when the component type is {type_name} ({})",
                        kind.name()
                    ),
                );
            }
        }
        if let Some(procs) = node.get("processors") {
            if matches!(kind, ComponentKind::Input | ComponentKind::Output) {
                self.value(
                    procs,
                    &FieldType::Array(Box::new(FieldType::Component(ComponentKind::Processor))),
                    None,
                );
            } else {
                self.push(
                    procs,
                    format!(
                        "field processors is invalid when the component type is {type_name} ({})",
                        kind.name()
                    ),
                );
            }
        }
        match node.get(&type_name) {
            Some(conf) if conf.is_null() && matches!(spec.config.ty, FieldType::Object(_)) => self
                .object(
                    &Node::empty_map(conf.line, conf.col),
                    spec.config.children(),
                ),
            Some(conf) => self.field(conf, &spec.config),
            // `type: foo` without a `foo:` key: the config is all defaults.
            None if matches!(spec.config.ty, FieldType::Object(_)) => self.object(
                &Node::empty_map(node.line, node.col),
                spec.config.children(),
            ),
            None if spec.config.is_required() => {
                self.push(node, format!("field {type_name} is required"))
            }
            None => {}
        }
    }

    fn label(&mut self, n: &Node) {
        let Some(label) = n.scalar() else {
            self.push(n, "label must be a string".into());
            return;
        };
        if label.is_empty() {
            return;
        }
        if label.starts_with('_') {
            self.push(
                n,
                format!("invalid label '{label}': should not start with an underscore"),
            );
            return;
        }
        if !LABEL.is_match(label) {
            self.push(
                n,
                format!("invalid label '{label}': should match {}", LABEL.as_str()),
            );
            return;
        }
        match self.labels.get(label) {
            Some(line) => {
                let line = *line;
                self.push(
                    n,
                    format!(
                        "label '{label}' collides with a previously defined label at line {line}"
                    ),
                )
            }
            None => {
                self.labels.insert(label.to_owned(), n.line);
            }
        }
    }
}

impl Linter<'_> {
    /// Where the content of a string scalar starts: the next non-empty line for block scalars
    /// (`|`, `>`), after the quote for quoted ones, else the node itself.
    fn content_origin(&self, node: &Node) -> (usize, usize, bool) {
        if node.block {
            return (node.line, node.col, true);
        }
        let line = self
            .src
            .get(node.line.wrapping_sub(1))
            .copied()
            .unwrap_or("");
        match line.chars().nth(node.col.saturating_sub(1)) {
            Some('"') | Some('\'') => (node.line, node.col + 1, false),
            _ => (node.line, node.col, false),
        }
    }
}

fn diagnostics(e: crate::bloblang::ParseError) -> Vec<(usize, usize, String)> {
    e.errors
        .into_iter()
        // Bento's lint keeps the position inside the mapping in its text.
        .map(|d| {
            (
                d.line,
                d.col,
                format!("line {} char {}: {}", d.line, d.col, d.message),
            )
        })
        .collect()
}

/// Bloblang parse problems of a mapping field.
fn mapping_problems(text: &str) -> Vec<(usize, usize, String)> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    crate::bloblang::parse_mapping(text)
        .err()
        .map(diagnostics)
        .unwrap_or_default()
}

/// Bloblang parse problems of the `${! ... }` parts of an interpolated string.
fn interpolation_problems(text: &str) -> Vec<(usize, usize, String)> {
    crate::bloblang::parse_interpolation(text)
        .err()
        .map(diagnostics)
        .unwrap_or_default()
}

fn shape(n: &Node) -> &'static str {
    match &n.kind {
        NodeKind::Scalar(s, q) => json_type(&resolve_scalar(s, *q)),
        NodeKind::Seq(_) => "array",
        NodeKind::Map(_) => "object",
    }
}

fn not_recognised(key: &str, names: &[&str]) -> String {
    let mut msg = format!("field {key} not recognised");
    if let Some(s) = suggest(key, names) {
        msg.push_str(&format!(", did you mean {s}?"));
    }
    msg
}

/// The component a user probably meant: a typo of one, or a name Bento's older releases (and
/// Benthos) used for it (`amqp` for `amqp_0_9`, `sql` for `sql_raw`), or the one it starts.
fn suggest_component(given: &str, names: &[&str]) -> Option<String> {
    const RENAMED: &[(&str, &str)] = &[("amqp", "amqp_0_9"), ("sql", "sql_raw")];
    suggest(given, names)
        .or_else(|| {
            RENAMED
                .iter()
                .find(|(old, new)| *old == given && names.contains(new))
                .map(|(_, new)| new.to_string())
        })
        .or_else(|| {
            let prefix = format!("{given}_");
            names
                .iter()
                .find(|n| n.starts_with(&prefix))
                .map(|n| n.to_string())
        })
}

/// The closest known name, when it is close enough to be a likely typo.
pub fn suggest<S: AsRef<str>>(given: &str, names: &[S]) -> Option<String> {
    names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(given, n.as_ref()), n.as_ref()))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4) && *d < n.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_owned())
}
