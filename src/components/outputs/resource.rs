//! `resource` output: writes to an output declared under `output_resources` by its label.

use async_trait::async_trait;

use super::ChildOutput;
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec};
use crate::message::Batch;

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
    Ok(Box::new(ResourceOutput {
        inner: ChildOutput::build(ctx, "resource", j)?,
    }))
}

pub struct ResourceOutput {
    inner: ChildOutput,
}

#[async_trait]
impl Output for ResourceOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        self.inner.connect().await
    }
    async fn write(&self, batch: Batch) -> Result<(), ComponentError> {
        self.inner.write(batch).await
    }
    async fn close(&self) -> Result<(), ComponentError> {
        self.inner.close().await
    }
    fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight()
    }
}
