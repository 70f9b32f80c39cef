//! `drop`: acknowledges and discards every message.

use async_trait::async_trait;

use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin, WriteAtOnce};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("drop", ComponentKind::Output, "Drops all messages.")
        .example("Discard everything", "output:\n  drop: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(_conf: &serde_json::Value, _ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    Ok(Box::new(DropOutput))
}

pub struct DropOutput;

#[async_trait]
impl Output for DropOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        self.write_now(batch)
    }
    fn max_in_flight(&self) -> usize {
        64
    }
    fn at_once(&self) -> Option<&dyn WriteAtOnce> {
        Some(self)
    }
}

impl WriteAtOnce for DropOutput {
    fn write_now(&self, _batch: &Batch) -> Result<(), ComponentError> {
        Ok(())
    }
}
