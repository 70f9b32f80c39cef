//! `resource` output: writes to an output declared under `output_resources` by its label.

use super::ChildOutput;
use crate::components::{BuildCtx, BuildError, Output, Plugin};
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("resource", ComponentKind::Output, "Resource is an output type that channels messages to a resource output, identified by its name.")
        .description("Each `resource` output builds its own instance of the resource.")
        .scalar(FieldSpec::string("resource", "The label of the output resource."))
        .example("Name the target, define it elsewhere", "output:\n  resource: results\noutput_resources:\n  - label: results\n    stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let label: String = ctx.parse(conf)?;
    let j = ctx
        .resources
        .outputs
        .get(&label)
        .ok_or_else(|| ctx.error(format!("output resource '{label}' was not found")))?;
    Ok(Box::new(ChildOutput::build(ctx, "resource", j)?))
}
