//! `resource` input: reads from an input declared under `input_resources` by its label, so that
//! a config can name its source and a resource file (`-r`) can say what it is.

use super::ChildInput;
use crate::components::{BuildCtx, BuildError, Input, Plugin};
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("resource", ComponentKind::Input, "Resource is an input type that channels messages from a resource input, identified by its name.")
        .description("Each `resource` input builds its own instance of the resource.")
        .scalar(FieldSpec::string("resource", "The label of the input resource."))
        .example("Name the source, define it elsewhere", "input:\n  resource: jobs\ninput_resources:\n  - label: jobs\n    generate:\n      count: 1\n      mapping: 'root = \"hi\"'\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let label: String = ctx.parse(conf)?;
    let j = ctx
        .resources
        .inputs
        .get(&label)
        .ok_or_else(|| ctx.error(format!("input resource '{label}' was not found")))?;
    Ok(Box::new(ChildInput::build(ctx, "resource", j)?))
}
