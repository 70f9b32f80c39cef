//! Every component, listed once. Specs are computed once and looked up by kind and name.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use super::inputs::{file as file_in, generate, http_server, inproc as inproc_in, stdin};
use super::outputs::{
    drop, file as file_out, http_client, inproc as inproc_out, reject, stdout, sync_response,
};
use super::processors::{branch, flow, http, log, mapping, noop, resource, sleep};
use super::{BuildCtx, BuildError, Input, Output, Plugin, Processor, ProcessorStage};
use crate::config::spec::{ComponentKind, ComponentSpec};
use crate::config::ComponentConf;

fn inputs() -> Vec<Plugin<dyn Input>> {
    vec![
        file_in::plugin(),
        generate::plugin(),
        http_server::plugin(),
        inproc_in::plugin(),
        stdin::plugin(),
    ]
}

fn processors() -> Vec<Plugin<dyn Processor>> {
    vec![
        mapping::bloblang_plugin(),
        branch::plugin(),
        flow::catch_plugin(),
        http::plugin(),
        log::plugin(),
        mapping::mapping_plugin(),
        mapping::mutation_plugin(),
        noop::plugin(),
        resource::plugin(),
        sleep::plugin(),
        flow::switch_plugin(),
        sync_response::processor_plugin(),
        flow::try_plugin(),
    ]
}

fn outputs() -> Vec<Plugin<dyn Output>> {
    vec![
        drop::plugin(),
        file_out::plugin(),
        http_client::plugin(),
        inproc_out::plugin(),
        reject::plugin(),
        stdout::plugin(),
        sync_response::output_plugin(),
    ]
}

struct Registry {
    inputs: BTreeMap<&'static str, Plugin<dyn Input>>,
    processors: BTreeMap<&'static str, Plugin<dyn Processor>>,
    outputs: BTreeMap<&'static str, Plugin<dyn Output>>,
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
    Registry {
        inputs,
        processors,
        outputs,
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
    (p.build)(&conf.conf, ctx)
}

pub fn build_processor(
    conf: &ComponentConf,
    ctx: &BuildCtx,
) -> Result<Arc<ProcessorStage>, BuildError> {
    let p = REGISTRY
        .processors
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Processor, conf, ctx))?;
    let inner = (p.build)(&conf.conf, ctx)?;
    Ok(Arc::new(ProcessorStage::new(inner, ctx.info.clone())))
}

pub fn build_output(conf: &ComponentConf, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let p = REGISTRY
        .outputs
        .get(conf.kind.as_str())
        .ok_or_else(|| unknown(ComponentKind::Output, conf, ctx))?;
    (p.build)(&conf.conf, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::Shared;
    use crate::config::{decode, lint::lint_config, read_text};
    use crate::pipeline::Stream;
    use std::path::Path;

    const KINDS: [ComponentKind; 3] = [
        ComponentKind::Input,
        ComponentKind::Processor,
        ComponentKind::Output,
    ];

    #[test]
    fn every_spec_example_lints_clean_and_builds() {
        let mut checked = 0;
        for kind in KINDS {
            for spec in specs(kind) {
                assert!(
                    !spec.examples.is_empty(),
                    "{} {} has no example",
                    kind.name(),
                    spec.name
                );
                for ex in &spec.examples {
                    let where_ = format!("{} {} example {:?}", kind.name(), spec.name, ex.title);
                    let loaded = read_text(Path::new("example.yaml"), ex.yaml)
                        .unwrap_or_else(|e| panic!("{where_}: {e}"));
                    let lints = lint_config(&loaded);
                    assert!(lints.is_empty(), "{where_}: {lints:?}");
                    let cfg = decode(&loaded.tree).unwrap_or_else(|e| panic!("{where_}: {e}"));
                    if let Err(e) = Stream::build(&cfg, Arc::new(Shared::default())) {
                        panic!("{where_}: {e}");
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked >= 12, "only {checked} examples");
    }

    #[test]
    fn spec_defaults_deserialise_into_the_config_structs() {
        // Building from `{}` (all defaults) catches spec fields the struct does not know and
        // struct fields the spec gives no default for; required fields are skipped.
        for kind in KINDS {
            for spec in specs(kind) {
                if spec.config.children().iter().any(|f| f.is_required())
                    || !matches!(spec.config.ty, crate::config::spec::FieldType::Object(_))
                {
                    continue;
                }
                let conf = ComponentConf {
                    kind: spec.name.to_owned(),
                    label: None,
                    conf: spec.resolve(None),
                    processors: vec![],
                };
                let ctx = BuildCtx::new(Arc::new(Shared::default()));
                let built = match kind {
                    ComponentKind::Input => build_input(&conf, &ctx).map(|_| ()),
                    ComponentKind::Processor => build_processor(&conf, &ctx).map(|_| ()),
                    _ => build_output(&conf, &ctx).map(|_| ()),
                };
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
}
