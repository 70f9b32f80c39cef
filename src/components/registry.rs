//! Every component, listed once. Specs are computed once and looked up by kind and name; a
//! component object of a config is read against them (`ComponentConf`).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use super::caches::{memory as memory_cache, redis as redis_cache, CacheStage};
use super::inputs::{
    amqp_0_9 as amqp_in, broker as broker_in, file as file_in, generate, http_server,
    inproc as inproc_in, redis_list as redis_list_in, resource as resource_in, stdin,
};
use super::outputs::{
    amqp_0_9 as amqp_out, broker as broker_out, drop, fallback, file as file_out, http_client,
    inproc as inproc_out, redis_list as redis_list_out, reject, resource as resource_out,
    sql_insert as sql_insert_out, sql_raw as sql_raw_out, stdout, switch as switch_out,
    sync_response,
};
use super::processors::{
    branch, cache, cached, dedupe, flow, http, log, mapping, noop, rate_limit, redis as redis_proc,
    redis_script, resource, retry, sleep, sql_insert, sql_raw, sql_select,
};
use super::rate_limits::{local as local_rl, redis as redis_rl, RateLimitStage};
use super::{
    BuildCtx, BuildError, Cache, Input, Output, Plugin, Processor, ProcessorStage, RateLimit,
};
use serde_json::Value as J;

use crate::spec::{ComponentKind, ComponentSpec};

/// Keys that may sit beside the component type key.
pub const RESERVED_KEYS: &[&str] = &["label", "type", "plugin", "processors"];

/// One component as written in a config: its type, label, own config (defaults applied) and,
/// for inputs and outputs, the processors attached to it.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentConf {
    pub kind: String,
    pub label: Option<String>,
    pub conf: J,
    pub processors: Vec<J>,
}

impl ComponentConf {
    /// Interpret a component object: the type is the explicit `type`, or the one key beside
    /// `label`/`processors` that names a registered component of this kind.
    pub fn from_json(kind: ComponentKind, j: &J) -> Result<ComponentConf, String> {
        let obj = match j {
            J::Object(o) => o,
            other => {
                return Err(format!(
                    "expected a {} object, got {}",
                    kind.name(),
                    json_type(other)
                ))
            }
        };
        let label = obj.get("label").and_then(J::as_str).map(str::to_owned);
        let processors = match obj.get("processors") {
            Some(J::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let explicit = obj.get("type").and_then(J::as_str);
        let candidates: Vec<&String> = obj
            .keys()
            .filter(|k| !RESERVED_KEYS.contains(&k.as_str()))
            .collect();
        let name = match explicit {
            Some(t) => t.to_owned(),
            None => {
                let known: Vec<&&String> = candidates
                    .iter()
                    .filter(|k| spec(kind, k).is_some())
                    .collect();
                match known.as_slice() {
                    [one] => (**one).clone(),
                    [] => match candidates.as_slice() {
                        [one] => {
                            return Err(format!(
                                "{} type '{}' was not recognised",
                                kind.name(),
                                one
                            ))
                        }
                        _ => return Err(format!("unable to infer {} type", kind.name())),
                    },
                    [a, b, ..] => {
                        return Err(format!(
                            "unable to infer {} type, multiple candidates '{}' and '{}'",
                            kind.name(),
                            a,
                            b
                        ))
                    }
                }
            }
        };
        let spec = spec(kind, &name)
            .ok_or_else(|| format!("{} type '{}' was not recognised", kind.name(), name))?;
        let conf = spec.resolve(obj.get(&name));
        Ok(ComponentConf {
            kind: name,
            label,
            conf,
            processors,
        })
    }
}

pub fn json_type(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "bool",
        J::Number(n) if n.is_i64() || n.is_u64() => "int",
        J::Number(_) => "float",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

fn inputs() -> Vec<Plugin<dyn Input>> {
    vec![
        amqp_in::plugin(),
        broker_in::plugin(),
        file_in::plugin(),
        generate::plugin(),
        http_server::plugin(),
        inproc_in::plugin(),
        redis_list_in::plugin(),
        resource_in::plugin(),
        stdin::plugin(),
    ]
}

fn processors() -> Vec<Plugin<dyn Processor>> {
    vec![
        mapping::bloblang_plugin(),
        branch::plugin(),
        flow::catch_plugin(),
        http::plugin(),
        cache::plugin(),
        cached::plugin(),
        dedupe::plugin(),
        log::plugin(),
        mapping::mapping_plugin(),
        mapping::mutation_plugin(),
        noop::plugin(),
        rate_limit::plugin(),
        redis_proc::plugin(),
        redis_script::plugin(),
        resource::plugin(),
        retry::plugin(),
        sleep::plugin(),
        flow::switch_plugin(),
        sync_response::processor_plugin(),
        flow::try_plugin(),
        sql_insert::plugin(),
        sql_raw::plugin(),
        sql_raw::deprecated_plugin(),
        sql_select::plugin(),
    ]
}

fn outputs() -> Vec<Plugin<dyn Output>> {
    vec![
        amqp_out::plugin(),
        broker_out::plugin(),
        drop::plugin(),
        fallback::plugin(),
        file_out::plugin(),
        http_client::plugin(),
        inproc_out::plugin(),
        redis_list_out::plugin(),
        reject::plugin(),
        resource_out::plugin(),
        sql_insert_out::plugin(),
        sql_raw_out::plugin(),
        stdout::plugin(),
        switch_out::plugin(),
        sync_response::output_plugin(),
    ]
}

fn caches() -> Vec<Plugin<dyn Cache>> {
    vec![memory_cache::plugin(), redis_cache::plugin()]
}

fn rate_limits() -> Vec<Plugin<dyn RateLimit>> {
    vec![local_rl::plugin(), redis_rl::plugin()]
}

struct Registry {
    inputs: BTreeMap<&'static str, Plugin<dyn Input>>,
    processors: BTreeMap<&'static str, Plugin<dyn Processor>>,
    outputs: BTreeMap<&'static str, Plugin<dyn Output>>,
    caches: BTreeMap<&'static str, Plugin<dyn Cache>>,
    rate_limits: BTreeMap<&'static str, Plugin<dyn RateLimit>>,
    specs: BTreeMap<(ComponentKind, &'static str), ComponentSpec>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut specs = BTreeMap::new();
    let mut index = |kind: ComponentKind, spec_fn: fn() -> ComponentSpec| {
        let spec = spec_fn();
        let name = spec.name;
        specs.insert((kind, name), spec);
        name
    };
    let inputs = inputs()
        .into_iter()
        .map(|p| (index(ComponentKind::Input, p.spec), p))
        .collect();
    let processors = processors()
        .into_iter()
        .map(|p| (index(ComponentKind::Processor, p.spec), p))
        .collect();
    let outputs = outputs()
        .into_iter()
        .map(|p| (index(ComponentKind::Output, p.spec), p))
        .collect();
    let caches = caches()
        .into_iter()
        .map(|p| (index(ComponentKind::Cache, p.spec), p))
        .collect();
    let rate_limits = rate_limits()
        .into_iter()
        .map(|p| (index(ComponentKind::RateLimit, p.spec), p))
        .collect();
    Registry {
        inputs,
        processors,
        outputs,
        caches,
        rate_limits,
        specs,
    }
});

pub fn spec(kind: ComponentKind, name: &str) -> Option<&'static ComponentSpec> {
    REGISTRY
        .specs
        .range((kind, "")..)
        .take_while(|((k, _), _)| *k == kind)
        .find(|((_, n), _)| *n == name)
        .map(|(_, s)| s)
}

pub fn specs(kind: ComponentKind) -> Vec<&'static ComponentSpec> {
    REGISTRY
        .specs
        .iter()
        .filter(|((k, _), _)| *k == kind)
        .map(|(_, s)| s)
        .collect()
}

pub fn names(kind: ComponentKind) -> Vec<&'static str> {
    specs(kind).into_iter().map(|s| s.name).collect()
}

/// The component's resolved config without the unsupported fields that ask for nothing, or an
/// error naming one that asks for something engine does not do.
fn supported(
    kind: ComponentKind,
    conf: &ComponentConf,
    ctx: &BuildCtx,
) -> Result<serde_json::Value, BuildError> {
    let mut v = conf.conf.clone();
    if let Some(s) = spec(kind, &conf.kind) {
        s.config
            .strip_unsupported(&mut v)
            .map_err(|e| ctx.error(e))?;
    }
    // The stream takes its own output's `batching` before building it; any other output's is
    // Bento's default or an error.
    if kind == ComponentKind::Output {
        if let Some(b) = v.as_object_mut().and_then(|o| o.shift_remove("batching")) {
            if !crate::components::batching::asks_nothing(&b) {
                return Err(ctx.error("batching: only the stream's own output batches in engine; set the batching policy on the outermost output"));
            }
        }
    }
    Ok(v)
}

fn unknown(kind: ComponentKind, conf: &ComponentConf, ctx: &BuildCtx) -> BuildError {
    ctx.error(format!(
        "{} type '{}' was not recognised",
        kind.name(),
        conf.kind
    ))
}

pub fn build_input(conf: &ComponentConf, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let p = REGISTRY
        .inputs
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Input, conf, ctx))?;
    (p.build)(&supported(ComponentKind::Input, conf, ctx)?, ctx)
}

pub fn build_processor(
    conf: &ComponentConf,
    ctx: &BuildCtx,
) -> Result<Arc<ProcessorStage>, BuildError> {
    let p = REGISTRY
        .processors
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Processor, conf, ctx))?;
    let inner = (p.build)(&supported(ComponentKind::Processor, conf, ctx)?, ctx)?;
    Ok(Arc::new(ProcessorStage::new(inner, ctx.info.clone())))
}

pub fn build_output(conf: &ComponentConf, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let p = REGISTRY
        .outputs
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Output, conf, ctx))?;
    (p.build)(&supported(ComponentKind::Output, conf, ctx)?, ctx)
}

pub fn build_cache(conf: &ComponentConf, ctx: &BuildCtx) -> Result<Arc<CacheStage>, BuildError> {
    let p = REGISTRY
        .caches
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Cache, conf, ctx))?;
    let inner = (p.build)(&supported(ComponentKind::Cache, conf, ctx)?, ctx)?;
    Ok(Arc::new(CacheStage::new(inner, &ctx.info)))
}

pub fn build_rate_limit(
    conf: &ComponentConf,
    ctx: &BuildCtx,
) -> Result<Arc<RateLimitStage>, BuildError> {
    let p = REGISTRY
        .rate_limits
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::RateLimit, conf, ctx))?;
    let inner = (p.build)(&supported(ComponentKind::RateLimit, conf, ctx)?, ctx)?;
    Ok(Arc::new(RateLimitStage::new(inner, &ctx.info)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::Shared;
    use crate::config::{decode, lint::lint_config, read_text};
    use crate::pipeline::Stream;
    use crate::spec::FieldSpec;
    use std::path::Path;

    /// Fields declared but with nothing observable to do, and why.
    const NOTHING_TO_DO: &[(&str, &str)] = &[
        (
            "shards",
            "the memory cache is one map: shards would change its locking, not what it does",
        ),
        (
            "conn_max_idle",
            "the pool keeps up to conn_max_open connections; an idle cap changes nothing seen",
        ),
    ];

    /// Every field a spec declares is read by some builder: a field that lint accepts and the
    /// runtime ignores fails this test. It reads the sources: a declared name must also appear
    /// as a field access (`.name`), a serde rename (`rename = "name"`) or a raw identifier
    /// somewhere in `src/components` outside the declarations, or be a scalar component's own
    /// name (`reject: ...`). Reads are searched across files because shared fields (TLS, SQL
    /// connections, scanners) are read where they are declared or by their users.
    #[test]
    fn every_declared_field_is_read_by_a_builder() {
        fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    sources(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    ));
                }
            }
        }
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/components"),
            &mut files,
        );
        // `FieldSpec::refused` declares a field engine refuses: nothing reads it.
        let decl = regex::Regex::new(r#"FieldSpec::(\w+)\(\s*"(\w+)""#).unwrap();
        let body: String = files
            .iter()
            .map(|(_, s)| decl.replace_all(s, "").into_owned())
            .collect();
        let component_names: Vec<&str> = ComponentKind::ALL
            .iter()
            .flat_map(|k| specs(*k))
            .map(|s| s.name)
            .collect();
        let mut ignored = Vec::new();
        for (file, text) in &files {
            for c in decl.captures_iter(text).filter(|c| &c[1] != "refused") {
                let name = &c[2];
                let read = body.contains(&format!(".{name}"))
                    || body.contains(&format!("rename = \"{name}\""))
                    || body.contains(&format!("r#{name}"))
                    || component_names.contains(&name)
                    || NOTHING_TO_DO.iter().any(|(n, _)| *n == name);
                if !read {
                    ignored.push(format!("{file}: {name}"));
                }
            }
        }
        assert!(ignored.is_empty(), "declared, never read: {ignored:#?}");
    }

    /// Bento's docs give each component a list of fields (`tests/data/bento_fields.tsv`): each
    /// must be built (in the spec) or refused with a reason (`FieldSpec::refused`), so that no
    /// field of a Bento config is accepted and ignored, or refused without saying why.
    #[test]
    fn every_field_bento_documents_is_built_or_refused() {
        fn find<'a>(fields: &'a [FieldSpec], path: &str) -> Result<&'a FieldSpec, String> {
            let (head, rest) = match path.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (path, None),
            };
            let name = head.trim_end_matches("[]");
            let f = fields
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("no field {name}"))?;
            match rest {
                // A refused object refuses all it holds.
                Some(_) if f.unsupported.is_some() => Ok(f),
                Some(rest) => find(f.children(), rest),
                None => Ok(f),
            }
        }
        let text = include_str!("../../tests/data/bento_fields.tsv");
        let mut missing = Vec::new();
        let mut checked = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let [kind, name, path] = cols[..] else {
                panic!("bad line: {line}");
            };
            let kind = ComponentKind::ALL
                .into_iter()
                .find(|k| k.name() == kind)
                .unwrap();
            let Some(spec) = spec(kind, name) else {
                panic!(
                    "{} {name} is in Bento's field list but engine does not ship it",
                    kind.name()
                );
            };
            checked += 1;
            // A component whose config is a list of objects (`switch`) writes `[].check`.
            let found = match path.strip_prefix("[].") {
                Some(rest) => find(spec.config.children(), rest),
                None => find(spec.config.children(), path),
            };
            if let Err(e) = found {
                missing.push(format!("{} {name}: {path} ({e})", kind.name()));
            }
        }
        assert!(checked > 600, "only {checked} fields checked");
        assert!(
            missing.is_empty(),
            "{} of Bento's fields neither built nor refused:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }

    #[test]
    fn every_spec_example_lints_clean_and_builds() {
        // Every failure is collected so one bad example does not hide the others.
        let mut checked = 0;
        let mut failures = Vec::new();
        for kind in ComponentKind::ALL {
            for spec in specs(kind) {
                if spec.examples.is_empty() {
                    failures.push(format!("{} {} has no example", kind.name(), spec.name));
                }
                for ex in &spec.examples {
                    let where_ = format!("{} {} example {:?}", kind.name(), spec.name, ex.title);
                    checked += 1;
                    let loaded = match read_text(Path::new("example.yaml"), ex.yaml) {
                        Ok(l) => l,
                        Err(e) => {
                            failures.push(format!("{where_}: {e}"));
                            continue;
                        }
                    };
                    let lints = lint_config(&loaded);
                    if !lints.is_empty() {
                        failures.push(format!("{where_}: {lints:?}"));
                        continue;
                    }
                    match decode(&loaded.tree) {
                        Ok(cfg) => {
                            if let Err(e) = Stream::build(&cfg, Arc::new(Shared::default())) {
                                failures.push(format!("{where_}: {e}"));
                            }
                        }
                        Err(e) => failures.push(format!("{where_}: {e}")),
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(checked >= 12, "only {checked} examples");
    }

    /// Build a component of any kind from its resolved config, keeping only the outcome.
    fn build_any(
        kind: ComponentKind,
        name: &str,
        conf: serde_json::Value,
    ) -> Result<(), BuildError> {
        let conf = ComponentConf {
            kind: name.to_owned(),
            label: None,
            conf,
            processors: vec![],
        };
        let ctx = BuildCtx::new(Arc::new(Shared::default()));
        match kind {
            ComponentKind::Input => build_input(&conf, &ctx).map(|_| ()),
            ComponentKind::Processor => build_processor(&conf, &ctx).map(|_| ()),
            ComponentKind::Output => build_output(&conf, &ctx).map(|_| ()),
            ComponentKind::Cache => build_cache(&conf, &ctx).map(|_| ()),
            ComponentKind::RateLimit => build_rate_limit(&conf, &ctx).map(|_| ()),
        }
    }

    #[test]
    fn a_bad_typed_field_is_reported_at_its_path() {
        // Interpolations, mappings and durations parse as the config is read; the error names
        // the field, nested and in maps too.
        let cases = [
            (
                ComponentKind::Input,
                "http_server",
                serde_json::json!({"timeout": "5 parsecs"}),
                "timeout: ",
            ),
            (
                ComponentKind::Input,
                "http_server",
                serde_json::json!({"sync_response": {"status": "${! meta(\"x\" }"}}),
                "sync_response.status: ",
            ),
            (
                ComponentKind::Output,
                "http_client",
                serde_json::json!({"url": "http://x", "headers": {"X-A": "${! nope( }"}}),
                "headers.X-A: ",
            ),
            (
                ComponentKind::Processor,
                "retry",
                serde_json::json!({"processors": [], "backoff": {"initial_interval": "soon"}}),
                "backoff.initial_interval: ",
            ),
            (
                ComponentKind::Processor,
                "redis_script",
                serde_json::json!({"url": "redis://x", "script": "return 1", "keys_mapping": "root = (", "args_mapping": "root = []"}),
                "keys_mapping: ",
            ),
            // Mappings and durations that may be left blank parse as the config is read too.
            (
                ComponentKind::Processor,
                "log",
                serde_json::json!({"fields_mapping": "root.a = "}),
                "fields_mapping: ",
            ),
            (
                ComponentKind::Processor,
                "branch",
                serde_json::json!({"processors": [], "result_map": "root = ("}),
                "result_map: ",
            ),
            (
                ComponentKind::Processor,
                "switch",
                serde_json::json!([{"check": "this.(", "processors": []}]),
                "[0].check: ",
            ),
            (
                ComponentKind::Output,
                "switch",
                serde_json::json!({"cases": [{"check": "", "output": {"drop": {}}}, {"check": "@@", "output": {"drop": {}}}]}),
                "cases[1].check: ",
            ),
            (
                ComponentKind::Output,
                "amqp_0_9",
                serde_json::json!({"urls": ["amqp://x/"], "exchange": "e", "timeout": "soon"}),
                "timeout: ",
            ),
            (
                ComponentKind::Processor,
                "sql_select",
                serde_json::json!({"driver": "sqlite", "dsn": ":memory:", "table": "t", "columns": ["*"], "args_mapping": "root = ["}),
                "args_mapping: ",
            ),
            (
                ComponentKind::Cache,
                "memory",
                serde_json::json!({"compaction_interval": "", "default_ttl": "an hour"}),
                "default_ttl: ",
            ),
            // The Redis connection fields are declared in each component, not flattened in:
            // serde loses a flattened field's path.
            (
                ComponentKind::Cache,
                "redis",
                serde_json::json!({"url": "redis://x", "tls": {"enabled": "yes"}}),
                "tls.enabled: ",
            ),
        ];
        for (kind, name, given, want) in cases {
            let spec = specs(kind).into_iter().find(|s| s.name == name).unwrap();
            let err = build_any(kind, name, spec.resolve(Some(&given))).unwrap_err();
            assert!(err.message.starts_with(want), "{name}: {}", err.message);
        }
    }

    #[test]
    fn a_required_mapping_left_out_is_a_missing_field() {
        for (name, given) in [
            (
                "sql_insert",
                serde_json::json!({"driver": "sqlite", "dsn": ":memory:", "table": "t", "columns": ["a"]}),
            ),
            (
                "redis_script",
                serde_json::json!({"url": "redis://x", "script": "return 1", "keys_mapping": "root = []"}),
            ),
        ] {
            let spec = specs(ComponentKind::Processor)
                .into_iter()
                .find(|s| s.name == name)
                .unwrap();
            let err =
                build_any(ComponentKind::Processor, name, spec.resolve(Some(&given))).unwrap_err();
            assert!(
                err.message.contains("missing field `args_mapping`"),
                "{name}: {}",
                err.message
            );
        }
    }

    #[test]
    fn a_resource_without_a_label_is_refused_as_lint_words_it() {
        let loaded = read_text(
            Path::new("resources.yaml"),
            "processor_resources:\n  - noop: {}\ninput:\n  stdin: {}\noutput:\n  drop: {}\n",
        )
        .unwrap();
        let cfg = decode(&loaded.tree).unwrap();
        let err = match Stream::build(&cfg, Arc::new(Shared::default())) {
            Ok(_) => panic!("a resource without a label was built"),
            Err(e) => e,
        };
        assert_eq!(err.path, "root.processor_resources.0");
        assert_eq!(err.message, "processor resources must have a label");
    }

    #[test]
    fn spec_defaults_deserialise_into_the_config_structs() {
        // Building from `{}` (all defaults) catches spec fields the struct does not know and
        // struct fields the spec gives no default for; required fields are skipped.
        for kind in ComponentKind::ALL {
            for spec in specs(kind) {
                if spec.config.children().iter().any(|f| f.is_required())
                    || !matches!(spec.config.ty, crate::spec::FieldType::Object(_))
                {
                    continue;
                }
                let built = build_any(kind, spec.name, spec.resolve(None));
                assert!(
                    built.is_ok(),
                    "{} {}: {:?}",
                    kind.name(),
                    spec.name,
                    built.err()
                );
            }
        }
    }

    /// A value for a field the config leaves out: its first example, or a value of its type
    /// (an object with every field of its own).
    fn placeholder(f: &FieldSpec) -> serde_json::Value {
        use crate::spec::FieldType;
        if let Some(e) = f.examples.first() {
            return e.clone();
        }
        if let Some(o) = f.options.first() {
            return serde_json::Value::from(*o);
        }
        match &f.ty {
            FieldType::String | FieldType::Any => "x".into(),
            FieldType::Int => 1.into(),
            FieldType::Float => 1.5.into(),
            FieldType::Bool => false.into(),
            FieldType::Object(children) => every_field(children),
            FieldType::Array(_) => serde_json::json!([]),
            FieldType::Map(_) => serde_json::json!({}),
            FieldType::Component(kind) => match kind {
                ComponentKind::Input => serde_json::json!({"stdin": {}}),
                ComponentKind::Processor => serde_json::json!({"noop": {}}),
                ComponentKind::Output => serde_json::json!({"drop": {}}),
                ComponentKind::Cache => serde_json::json!({"memory": {}}),
                ComponentKind::RateLimit => serde_json::json!({"local": {}}),
            },
        }
    }

    /// A value for every field of `fields` that a component's struct must take: defaults stay
    /// as the spec resolves them (objects get every field of their own), the rest get a
    /// placeholder. Refused fields are left out, as the build never sees them.
    fn every_field(fields: &[FieldSpec]) -> serde_json::Value {
        use crate::spec::FieldType;
        let mut out = serde_json::Map::new();
        for f in fields.iter().filter(|f| f.unsupported.is_none()) {
            let v = match (&f.default, &f.ty) {
                (Some(d), FieldType::Object(children)) if d.is_object() => every_field(children),
                (Some(d), _) => d.clone(),
                (None, _) => placeholder(f),
            };
            out.insert(f.name.to_owned(), v);
        }
        serde_json::Value::Object(out)
    }

    #[test]
    fn every_spec_field_is_a_struct_field_and_the_other_way_round() {
        // Every component's spec, with every field it declares given a value, deserialises
        // into the component's struct: a field of the spec that the struct does not know, a
        // struct field that the spec does not declare, or a type that differs fails here. (A
        // build may still refuse the placeholder values for what they mean; that is not drift.)
        let drift = [
            "unknown field",
            "missing field",
            "invalid type",
            "unknown variant",
        ];
        let mut failures = Vec::new();
        let mut parsed = 0;
        for kind in ComponentKind::ALL {
            for spec in specs(kind) {
                let given = match &spec.config.ty {
                    crate::spec::FieldType::Object(fields) => every_field(fields),
                    _ => placeholder(&spec.config),
                };
                match build_any(kind, spec.name, spec.resolve(Some(&given))) {
                    Err(e) if drift.iter().any(|d| e.message.contains(d)) => {
                        failures.push(format!("{} {}: {}", kind.name(), spec.name, e.message))
                    }
                    _ => parsed += 1,
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(parsed >= 50, "only {parsed} components checked");
    }
}
