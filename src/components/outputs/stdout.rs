//! `stdout`: writes each message, followed by the codec's delimiter, to standard output.

use std::io::Write;

use async_trait::async_trait;

use super::{codec_field, OutputCodec};
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct StdoutConfig {
        pub codec: String = spec(codec_field()),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "stdout",
        ComponentKind::Output,
        "Prints messages to stdout as a continuous stream of data.",
    )
    .fields(StdoutConfig::fields())
    .example("Print", "output:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: StdoutConfig = ctx.parse(conf)?;
    Ok(Box::new(StdoutOutput {
        codec: OutputCodec::parse(&c.codec).map_err(|e| ctx.error(e))?,
    }))
}

/// Writes synchronously, as Bento does: a write to stdout is a short syscall, far cheaper than
/// a round trip through tokio's blocking pool, and a full pipe blocking us is back-pressure.
pub struct StdoutOutput {
    codec: OutputCodec,
}

#[async_trait]
impl Output for StdoutOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let mut buf = Vec::with_capacity(batch.iter().map(|m| m.bytes().len() + 1).sum());
        for m in batch {
            self.codec.encode_into(&mut buf, m.bytes());
        }
        let mut out = std::io::stdout().lock();
        out.write_all(&buf).map_err(ComponentError::failed)?;
        out.flush().map_err(ComponentError::failed)
    }

    fn coalesces_writes(&self) -> bool {
        true
    }

    fn reads_only_bytes(&self) -> bool {
        true
    }

    async fn close(&self) -> Result<(), ComponentError> {
        std::io::stdout()
            .lock()
            .flush()
            .map_err(ComponentError::failed)
    }
}
