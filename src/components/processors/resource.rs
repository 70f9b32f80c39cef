//! `resource`: runs a processor declared under `processor_resources` by its label.

use std::sync::Arc;

use async_trait::async_trait;

use crate::components::{BatchFailure, BuildCtx, BuildError, Plugin, Processor, ProcessorStage};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("resource", ComponentKind::Processor, "Runs a processor resource identified by its label.")
        .scalar(FieldSpec::string("resource", "The label of the processor resource."))
        .example(
            "Reuse a processor",
            "pipeline:\n  processors:\n    - resource: shout\nprocessor_resources:\n  - label: shout\n    noop: {}\n",
        )
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let label: String = ctx.parse(conf)?;
    let target = ctx
        .resources
        .processors
        .get(&label)
        .cloned()
        .ok_or_else(|| ctx.error(format!("processor resource '{label}' was not found")))?;
    Ok(Box::new(ResourceProcessor { target }))
}

pub struct ResourceProcessor {
    target: Arc<ProcessorStage>,
}

#[async_trait]
impl Processor for ResourceProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        Ok(self.target.run(batch).await)
    }
}
