//! `sync_response` output and processor: store the message as the reply to the request it came
//! from (`http_server`). The output acknowledges immediately; the processor snapshots the
//! message at that point and lets it carry on.

use async_trait::async_trait;

use crate::components::{
    BatchFailure, BuildCtx, BuildError, ComponentError, Output, Plugin, Processor, WriteAtOnce,
};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

fn store(batch: &Batch) {
    for m in batch {
        if let Some(slot) = m.sync_response() {
            slot.push(m.clone());
        }
    }
}

pub fn output_spec() -> ComponentSpec {
    ComponentSpec::new("sync_response", ComponentKind::Output, "Returns the final message payload back to the input that received it, for inputs that answer their callers (`http_server`).")
        .description("Inputs without replies ignore it. The reply is sent once the message is acknowledged.")
        .example("Answer HTTP requests", "input:\n  http_server:\n    path: /echo\noutput:\n  sync_response: {}\n")
}

pub fn processor_spec() -> ComponentSpec {
    ComponentSpec::new("sync_response", ComponentKind::Processor, "Stores the message as it is at this point as the reply to its request, and passes it on unchanged.")
        .description("The reply is only sent once the message was delivered by the output, so a pipeline can answer a caller at once while still writing the message elsewhere (a queue, a database).")
        .example(
            "Reply, then queue",
            "input:\n  http_server:\n    path: /submit\npipeline:\n  processors:\n    - mapping: 'root.accepted = true'\n    - sync_response: {}\noutput:\n  drop: {}\n",
        )
}

pub fn output_plugin() -> Plugin<dyn Output> {
    Plugin {
        spec: output_spec,
        build: |_, _: &BuildCtx| -> Result<Box<dyn Output>, BuildError> {
            Ok(Box::new(SyncResponseOutput))
        },
    }
}

pub fn processor_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: processor_spec,
        build: |_, _: &BuildCtx| -> Result<Box<dyn Processor>, BuildError> {
            Ok(Box::new(SyncResponseProcessor))
        },
    }
}

pub struct SyncResponseOutput;

#[async_trait]
impl Output for SyncResponseOutput {
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

impl WriteAtOnce for SyncResponseOutput {
    fn write_now(&self, batch: &Batch) -> Result<(), ComponentError> {
        store(batch);
        Ok(())
    }
    fn stores_replies(&self) -> bool {
        true
    }
}

pub struct SyncResponseProcessor;

#[async_trait]
impl Processor for SyncResponseProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        store(&batch);
        Ok(vec![batch])
    }
}
