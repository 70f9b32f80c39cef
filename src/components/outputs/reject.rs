//! `reject`: fails every write with an error message, so every message is nacked.

use async_trait::async_trait;

use crate::bloblang::InterpolatedString;
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin, WriteAtOnce};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("reject", ComponentKind::Output, "Rejects all messages, treating them as though the output destination failed to publish them.")
        .description("The error message can be interpolated per message, e.g. `${! error() }` to reject with the error a processor flagged.")
        .scalar(FieldSpec::string("reject", "The error message.").interpolated())
        .example("Reject everything", "output:\n  reject: \"not accepted here\"\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    Ok(Box::new(RejectOutput {
        message: ctx.parse(conf)?,
    }))
}

pub struct RejectOutput {
    message: InterpolatedString,
}

#[async_trait]
impl Output for RejectOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        self.write_now(batch)
    }
    fn at_once(&self) -> Option<&dyn WriteAtOnce> {
        Some(self)
    }
}

impl WriteAtOnce for RejectOutput {
    fn write_now(&self, batch: &Batch) -> Result<(), ComponentError> {
        let text = self
            .message
            .render(batch, 0)
            .unwrap_or_else(|e| e.to_string());
        Err(ComponentError::Failed(text))
    }
}
