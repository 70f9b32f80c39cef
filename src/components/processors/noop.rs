//! `noop`: passes messages on unchanged.

use async_trait::async_trait;

use crate::components::{BatchFailure, BuildCtx, BuildError, Plugin, Processor};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("noop", ComponentKind::Processor, "Does nothing.")
        .example("Placeholder", "pipeline:\n  processors:\n    - noop: {}\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(_conf: &serde_json::Value, _ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(NoopProcessor))
}

pub struct NoopProcessor;

#[async_trait]
impl Processor for NoopProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        Ok(vec![batch])
    }
}
