//! Component and field specs: the one description of a component's config that drives
//! defaults, lint, `engine list` and the docs; and the typed fields (durations) that config
//! structs read. Below the components, which declare their specs with it, and below `config`,
//! whose lint and docs read the specs through the registry.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as J;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    Input,
    Processor,
    Output,
    Cache,
    RateLimit,
}

impl ComponentKind {
    /// Every kind, in the order docs and listings give them.
    pub const ALL: [ComponentKind; 5] = [
        ComponentKind::Input,
        ComponentKind::Processor,
        ComponentKind::Output,
        ComponentKind::Cache,
        ComponentKind::RateLimit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Input => "input",
            ComponentKind::Processor => "processor",
            ComponentKind::Output => "output",
            ComponentKind::Cache => "cache",
            ComponentKind::RateLimit => "rate_limit",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            ComponentKind::Input => "inputs",
            ComponentKind::Processor => "processors",
            ComponentKind::Output => "outputs",
            ComponentKind::Cache => "caches",
            ComponentKind::RateLimit => "rate-limits",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Stable,
    Beta,
    Experimental,
    Deprecated,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Beta => "beta",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
        }
    }
}

/// The shape of a field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    String,
    Int,
    Float,
    Bool,
    /// An object with the given child fields.
    Object(Vec<FieldSpec>),
    /// A list of values of one type.
    Array(Box<FieldType>),
    /// An object with arbitrary keys whose values have one type.
    Map(Box<FieldType>),
    /// Anything; not checked.
    Any,
    /// A nested component of a kind (e.g. the `processors` of a `branch`).
    Component(ComponentKind),
}

impl FieldType {
    pub fn name(&self) -> String {
        match self {
            FieldType::String => "string".into(),
            FieldType::Int => "int".into(),
            FieldType::Float => "float".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Object(_) => "object".into(),
            FieldType::Array(t) => format!("array of {}", t.name()),
            FieldType::Map(t) => format!("map of {}", t.name()),
            FieldType::Any => "any".into(),
            FieldType::Component(k) => k.name().into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub description: &'static str,
    /// `None` with `optional == false` means required.
    pub default: Option<J>,
    pub optional: bool,
    pub advanced: bool,
    /// Accepts `${! ... }` interpolation functions.
    pub interpolated: bool,
    /// Holds a Bloblang mapping.
    pub bloblang: bool,
    /// Holds a Go duration (`5s`, `1m30s`; empty where the field allows none), which lint
    /// checks as the build parses it.
    pub duration: bool,
    /// Allowed values of a string field; empty means any.
    pub options: Vec<&'static str>,
    pub examples: Vec<J>,
    /// Bento has this field and engine does not do what it asks, for this reason. Lint refuses
    /// it at its line and the build refuses it, unless its value equals `default`: Bento's
    /// default asks for nothing, so a config copied from Bento's docs with every field written
    /// out still runs. Such a field is never filled in, so the component's struct never sees it.
    pub unsupported: Option<&'static str>,
}

impl FieldSpec {
    fn new(name: &'static str, ty: FieldType, description: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            ty,
            description,
            default: None,
            optional: false,
            advanced: false,
            interpolated: false,
            bloblang: false,
            duration: false,
            options: Vec::new(),
            examples: Vec::new(),
            unsupported: None,
        }
    }

    pub fn string(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::String, description)
    }
    pub fn int(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Int, description)
    }
    pub fn float(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Float, description)
    }
    pub fn bool(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Bool, description)
    }
    pub fn object(
        name: &'static str,
        description: &'static str,
        children: Vec<FieldSpec>,
    ) -> FieldSpec {
        FieldSpec::new(name, FieldType::Object(children), description)
    }
    pub fn array(name: &'static str, of: FieldType, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Array(Box::new(of)), description)
    }
    pub fn map(name: &'static str, of: FieldType, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Map(Box::new(of)), description)
    }
    pub fn any(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Any, description)
    }
    /// A Bloblang mapping field.
    pub fn bloblang(name: &'static str, description: &'static str) -> FieldSpec {
        let mut f = FieldSpec::new(name, FieldType::String, description);
        f.bloblang = true;
        f
    }
    /// One component of `kind` (a case's `output`).
    pub fn component(
        name: &'static str,
        kind: ComponentKind,
        description: &'static str,
    ) -> FieldSpec {
        FieldSpec::new(name, FieldType::Component(kind), description)
    }
    pub fn processors(name: &'static str, description: &'static str) -> FieldSpec {
        FieldSpec::array(
            name,
            FieldType::Component(ComponentKind::Processor),
            description,
        )
    }

    /// The same field under another name (a shared field declared by `component_config!`).
    pub fn named(mut self, name: &'static str) -> FieldSpec {
        self.name = name;
        self
    }
    pub fn default(mut self, v: impl Into<J>) -> FieldSpec {
        self.default = Some(v.into());
        self
    }
    pub fn optional(mut self) -> FieldSpec {
        self.optional = true;
        self
    }
    pub fn advanced(mut self) -> FieldSpec {
        self.advanced = true;
        self
    }
    pub fn duration(mut self) -> FieldSpec {
        self.duration = true;
        self
    }
    pub fn interpolated(mut self) -> FieldSpec {
        self.interpolated = true;
        self
    }
    pub fn options(mut self, opts: &[&'static str]) -> FieldSpec {
        self.options = opts.to_vec();
        self
    }
    pub fn example(mut self, v: impl Into<J>) -> FieldSpec {
        self.examples.push(v.into());
        self
    }

    /// A field Bento has that engine refuses, and why (see the `unsupported` member); a
    /// `default` given afterwards is Bento's, the one value that is let through.
    pub fn refused(name: &'static str, reason: &'static str) -> FieldSpec {
        let mut f = FieldSpec::new(name, FieldType::Any, reason);
        f.unsupported = Some(reason);
        f.optional = true;
        f
    }

    /// Whether a given value of an unsupported field asks for nothing engine lacks: it holds
    /// Bento's default, or (where no default is written for a key) an empty value: `""`,
    /// `false`, `0`, an empty list, null, or an object of such values (but not `{}`, which
    /// names something to use). An object is inert when each key it sets is.
    pub fn is_inert(&self, v: &J) -> bool {
        fn empty(v: &J) -> bool {
            match v {
                J::Null => true,
                J::Bool(b) => !b,
                J::Number(n) => n.as_f64() == Some(0.0),
                J::String(s) => s.is_empty(),
                J::Array(a) => a.is_empty(),
                // `{}` names something to use (a scanner, say), so it is not empty.
                J::Object(o) => !o.is_empty() && o.values().all(empty),
            }
        }
        fn within(v: &J, default: Option<&J>) -> bool {
            match (v, default) {
                (J::Object(given), Some(J::Object(d))) => {
                    given.iter().all(|(k, v)| within(v, d.get(k)))
                }
                (v, Some(d)) => v == d || v.is_null(),
                (v, None) => empty(v),
            }
        }
        within(v, self.default.as_ref())
    }

    /// Removes the unsupported fields whose value is inert (and fields the spec does not know,
    /// which lint reports) from a resolved config, so that the component's struct never sees
    /// them; any other value of an unsupported field is an error naming it.
    pub fn strip_unsupported(&self, v: &mut J) -> Result<(), String> {
        strip_unsupported(&self.ty, v, "")
    }

    pub fn is_required(&self) -> bool {
        self.default.is_none() && !self.optional
    }

    /// The fields of an object, or of the objects of an array (Bento's `name[].child`).
    pub fn children(&self) -> &[FieldSpec] {
        match &self.ty {
            FieldType::Object(c) => c,
            FieldType::Array(of) => match of.as_ref() {
                FieldType::Object(c) => c,
                _ => &[],
            },
            _ => &[],
        }
    }

    /// Fill in defaults for absent fields, recursively through objects (and objects inside
    /// lists and maps). Absent optional fields without a default stay absent (the config struct
    /// sees `None`).
    pub fn apply_defaults(&self, v: &mut J) {
        apply_type_defaults(&self.ty, v);
    }
}

fn apply_type_defaults(ty: &FieldType, v: &mut J) {
    match (ty, v) {
        (FieldType::Object(children), J::Object(map)) => {
            for c in children.iter().filter(|c| c.unsupported.is_none()) {
                match map.get_mut(c.name) {
                    Some(existing) => c.apply_defaults(existing),
                    None => {
                        if let Some(d) = &c.default {
                            let mut d = d.clone();
                            c.apply_defaults(&mut d);
                            map.insert(c.name.to_owned(), d);
                        } else if matches!(c.ty, FieldType::Object(_)) && !c.optional {
                            // Required objects whose children all have defaults fill in.
                            let mut d = J::Object(Default::default());
                            c.apply_defaults(&mut d);
                            map.insert(c.name.to_owned(), d);
                        }
                    }
                }
            }
        }
        (FieldType::Array(inner), J::Array(items)) => {
            for item in items {
                apply_type_defaults(inner, item);
            }
        }
        (FieldType::Map(inner), J::Object(map)) => {
            for item in map.values_mut() {
                apply_type_defaults(inner, item);
            }
        }
        _ => {}
    }
}

fn strip_unsupported(ty: &FieldType, v: &mut J, path: &str) -> Result<(), String> {
    match (ty, v) {
        (FieldType::Object(children), J::Object(map)) => {
            // A field the spec does not know is a lint error: it gets here only under
            // `--chilled`, which runs such a config as Bento does, without the field.
            map.retain(|k, _| children.iter().any(|c| c.name == k));
            for c in children {
                let Some(value) = map.get_mut(c.name) else {
                    continue;
                };
                let here = format!("{path}{}", c.name);
                match c.unsupported {
                    Some(_) if c.is_inert(value) => {
                        map.shift_remove(c.name);
                    }
                    Some(reason) => {
                        return Err(format!("field {here} is not supported by engine: {reason}"))
                    }
                    None => strip_unsupported(&c.ty, value, &format!("{here}."))?,
                }
            }
            Ok(())
        }
        (FieldType::Array(of), J::Array(items)) => {
            let path = format!("{}[].", path.trim_end_matches('.'));
            items
                .iter_mut()
                .try_for_each(|v| strip_unsupported(of, v, &path))
        }
        _ => Ok(()),
    }
}

/// A full-config example shown in the docs and checked by the registry test.
#[derive(Clone, Debug)]
pub struct ConfigExample {
    pub title: &'static str,
    pub yaml: &'static str,
}

#[derive(Clone, Debug)]
pub struct ComponentSpec {
    pub name: &'static str,
    pub kind: ComponentKind,
    pub status: Status,
    pub summary: &'static str,
    pub description: &'static str,
    /// The config under the component's key: usually an object with child fields, for some
    /// components a single scalar (`inproc: id`, `reject: msg`) or a list (`try: [...]`).
    pub config: FieldSpec,
    pub examples: Vec<ConfigExample>,
}

impl ComponentSpec {
    pub fn new(name: &'static str, kind: ComponentKind, summary: &'static str) -> ComponentSpec {
        ComponentSpec {
            name,
            kind,
            status: Status::Stable,
            summary,
            description: "",
            config: FieldSpec::object(name, "", Vec::new()).default(J::Object(Default::default())),
            examples: Vec::new(),
        }
    }

    pub fn status(mut self, s: Status) -> Self {
        self.status = s;
        self
    }
    pub fn description(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }
    /// Object config with these fields.
    pub fn fields(mut self, fields: Vec<FieldSpec>) -> Self {
        self.config =
            FieldSpec::object(self.name, "", fields).default(J::Object(Default::default()));
        self
    }
    /// A config that is a single value rather than an object.
    pub fn scalar(mut self, field: FieldSpec) -> Self {
        self.config = field;
        self
    }
    pub fn example(mut self, title: &'static str, yaml: &'static str) -> Self {
        self.examples.push(ConfigExample { title, yaml });
        self
    }

    /// The config with defaults filled in, ready for the component's struct to deserialise.
    pub fn resolve(&self, given: Option<&J>) -> J {
        let mut v = match given {
            Some(J::Null) | None => self.config.default.clone().unwrap_or(J::Null),
            Some(v) => v.clone(),
        };
        self.config.apply_defaults(&mut v);
        v
    }

    pub fn to_json(&self) -> J {
        serde_json::json!({
            "name": self.name,
            "type": self.kind.name(),
            "status": self.status.name(),
            "summary": self.summary,
            "description": self.description,
            "config": field_json(&self.config),
            "examples": self.examples.iter().map(|e| serde_json::json!({"title": e.title, "config": e.yaml})).collect::<Vec<_>>(),
        })
    }
}

pub fn field_json(f: &FieldSpec) -> J {
    let mut o = serde_json::json!({
        "name": f.name,
        "type": f.ty.name(),
        "description": f.description,
    });
    if let J::Object(m) = &mut o {
        if let Some(d) = &f.default {
            m.insert("default".into(), d.clone());
        }
        for (flag, on) in [
            ("optional", f.optional),
            ("advanced", f.advanced),
            ("interpolated", f.interpolated),
            ("bloblang", f.bloblang),
        ] {
            if on {
                m.insert(flag.into(), J::Bool(true));
            }
        }
        if let Some(reason) = f.unsupported {
            m.insert("unsupported".into(), reason.into());
        }
        if !f.options.is_empty() {
            m.insert("options".into(), f.options.clone().into());
        }
        if !f.examples.is_empty() {
            m.insert("examples".into(), J::Array(f.examples.clone()));
        }
        if !f.children().is_empty() {
            m.insert(
                "children".into(),
                J::Array(f.children().iter().map(field_json).collect()),
            );
        }
    }
    o
}

/// A config field holding a Go duration (`"1m30s"`), parsed as the config is read:
/// `#[serde(deserialize_with = "crate::spec::duration")]`.
pub fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// A config field holding a Go duration that may be left blank for "none" (`""`): `None` when
/// absent or blank. `#[serde(default, deserialize_with = "crate::spec::duration_unless_blank")]`.
pub fn duration_unless_blank<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    match <Option<std::borrow::Cow<'de, str>> as serde::Deserialize>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

/// A duration that is none when empty or zero (`""`, `0s`), as Bento reads TTLs, compaction
/// intervals and connection lifetimes.
pub fn optional_duration(s: &str) -> Result<Option<Duration>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(parse_duration(s)?).filter(|d| !d.is_zero()))
}

/// `optional_duration` of a config field, parsed as the config is read:
/// `#[serde(deserialize_with = "crate::spec::optional_duration_field")]`.
pub fn optional_duration_field<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    optional_duration(&s).map_err(serde::de::Error::custom)
}

/// Parse a Go duration string (`300ms`, `1m30s`, `1.5h`) for a config field. An empty string
/// is zero; negative durations are refused. The parsing itself is Go's, shared with Bloblang's
/// `parse_duration()`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    let ns = crate::bloblang::library::golayout::parse_duration(s)?;
    u64::try_from(ns)
        .map(Duration::from_nanos)
        .map_err(|_| format!("invalid duration \"{s}\": negative"))
}

/// Expand `-r` globs into file paths; a glob that matches nothing is skipped, as in Bento.
pub fn expand_globs_lenient(globs: &[String]) -> Result<Vec<PathBuf>, String> {
    expand(globs, true)
}

/// Expand globs into file paths; one that matches nothing is an error.
pub fn expand_globs(globs: &[String]) -> Result<Vec<PathBuf>, String> {
    expand(globs, false)
}

fn expand(globs: &[String], missing_ok: bool) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for g in globs {
        let paths = glob::glob(g).map_err(|e| format!("{g}: {e}"))?;
        let before = out.len();
        out.extend(paths.flatten());
        if out.len() == before && !missing_ok {
            return Err(format!("{g}: no such file"));
        }
    }
    Ok(out)
}

/// The type of a struct field for a Bento field engine refuses (`FieldSpec::refused`): the
/// field is declared beside the others, so the spec keeps Bento's order, and is never filled in
/// (`strip_unsupported` removes it before the struct sees the config), so it must be
/// `#[serde(skip)]`: without that attribute the struct does not compile, as `Refused` cannot
/// be deserialised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refused;

/// The name of a field as its struct spells it (`r#type` is the field `type`).
pub fn field_name(ident: &'static str) -> &'static str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// Declares a config struct and its field specs in one place, so the two cannot drift: each
/// field is written once, with its type and its spec, and the spec takes the field's name.
///
/// ```ignore
/// component_config! {
///     pub struct LogConfig {
///         pub level: String = string("The log level to use.").default("INFO"),
///         #[serde(default)]
///         #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
///         pub fields_mapping: Option<Mapping> = bloblang("A mapping.").optional(),
///         #[serde(skip)]
///         ws_path: Refused = refused("websockets are not built").default("/post/ws"),
///     }
/// }
/// ```
///
/// gives the struct (`Deserialize`, unknown fields denied) and `LogConfig::fields()`, the
/// fields' specs in the order written. A spec is a `FieldSpec` constructor without its name
/// (`string(desc)`, `array(of, desc)`, `object(desc, Child::fields())`) followed by builder
/// calls; `spec(expr)` takes a `FieldSpec` built elsewhere (a field several components share)
/// and gives it this field's name; `flatten(expr)` splices a list of specs in, for a
/// `#[serde(flatten)]` field, whose struct is declared with `@open` before its attributes
/// (serde refuses `deny_unknown_fields` beside `flatten`).
macro_rules! component_config {
    (@field $out:ident, $field:ident, flatten ( $e:expr )) => {
        $out.extend($e)
    };
    (@field $out:ident, $field:ident, spec ( $e:expr ) $( . $m:ident ( $($marg:tt)* ) )*) => {
        $out.push(
            $e.named($crate::spec::field_name(stringify!($field)))
                $( . $m ( $($marg)* ) )*
        )
    };
    (@field $out:ident, $field:ident, $ctor:ident ( $($arg:tt)* ) $( . $m:ident ( $($marg:tt)* ) )*) => {
        $out.push(
            $crate::spec::FieldSpec::$ctor(
                $crate::spec::field_name(stringify!($field)), $($arg)*
            ) $( . $m ( $($marg)* ) )*
        )
    };
    // Without `deny_unknown_fields`, which serde does not support beside `flatten`; lint and
    // `strip_unsupported` keep keys the spec does not declare away from the struct anyway.
    (
        @open
        $(#[$sattr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fattr:meta])*
                $fvis:vis $field:ident : $ty:ty = $ctor:ident ( $($arg:tt)* ) $( . $m:ident ( $($marg:tt)* ) )*
            ),* $(,)?
        }
    ) => {
        #[derive(serde::Deserialize)]
        $(#[$sattr])*
        $vis struct $name {
            $( $(#[$fattr])* $fvis $field: $ty, )*
        }

        impl $name {
            /// The specs of this struct's fields, in the order they are declared.
            // One `push` (or, for a flattened struct, `extend`) per field, as the fields come.
            #[allow(dead_code, clippy::vec_init_then_push)]
            pub fn fields() -> Vec<$crate::spec::FieldSpec> {
                let mut fields = Vec::new();
                $(
                    $crate::spec::component_config!(
                        @field fields, $field, $ctor ( $($arg)* ) $( . $m ( $($marg)* ) )*
                    );
                )*
                fields
            }
        }
    };
    (
        $(#[$sattr:meta])*
        $vis:vis struct $name:ident { $($body:tt)* }
    ) => {
        $crate::spec::component_config! {
            @open #[serde(deny_unknown_fields)] $(#[$sattr])* $vis struct $name { $($body)* }
        }
    };
}
pub(crate) use component_config;

#[cfg(test)]
mod tests {
    use super::*;

    component_config! {
        @open
        struct Shared {
            level: i64 = int("A shared level.").default(1),
        }
    }

    component_config! {
        struct Strict {
            name: String = string("A name.").example("x"),
            r#type: String = string("A keyword as a name.").default("t").options(&["t", "u"]),
            renamed: bool = spec(FieldSpec::bool("elsewhere", "Built by a helper.")).default(true),
            #[serde(skip)]
            #[allow(dead_code)]
            gone: Refused = refused("not built"),
        }
    }

    component_config! {
        @open
        struct Flattening {
            first: String = string("First."),
            #[serde(flatten)]
            shared: Shared = flatten(Shared::fields()),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(""), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn one_declaration_gives_the_struct_and_its_specs() {
        let names = |f: Vec<FieldSpec>| f.iter().map(|f| f.name).collect::<Vec<_>>();
        let strict = Strict::fields();
        assert_eq!(names(strict.clone()), ["name", "type", "renamed", "gone"]);
        assert_eq!(strict[1].default, Some(J::from("t")));
        assert_eq!(strict[1].options, ["t", "u"]);
        assert_eq!(strict[2].default, Some(J::from(true)));
        assert_eq!(strict[2].description, "Built by a helper.");
        assert_eq!(strict[3].unsupported, Some("not built"));
        assert_eq!(names(Flattening::fields()), ["first", "level"]);

        let s: Strict =
            serde_json::from_value(serde_json::json!({"name": "n", "type": "u", "renamed": false}))
                .unwrap();
        assert_eq!(
            (s.name.as_str(), s.r#type.as_str(), s.renamed),
            ("n", "u", false)
        );
        let unknown = serde_json::from_value::<Strict>(
            serde_json::json!({"name": "n", "type": "u", "renamed": false, "other": 1}),
        );
        assert!(unknown.is_err_and(|e| e.to_string().contains("unknown field `other`")));
        let f: Flattening =
            serde_json::from_value(serde_json::json!({"first": "a", "level": 3})).unwrap();
        assert_eq!((f.first.as_str(), f.shared.level), ("a", 3));
    }
}
