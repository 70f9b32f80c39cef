//! `stdout`: writes each message followed by a newline to standard output.

use std::io::Write;

use async_trait::async_trait;
use serde::Deserialize;

use super::codec_field;
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::config::spec::{ComponentKind, ComponentSpec};
use crate::message::Batch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    pub codec: String,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "stdout",
        ComponentKind::Output,
        "Prints messages to stdout, one per line.",
    )
    .fields(vec![codec_field()])
    .example("Print", "output:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let _c: StdoutConfig = ctx.parse(conf)?;
    Ok(Box::new(StdoutOutput))
}

/// Writes synchronously, as Bento does: a write to stdout is a short syscall, far cheaper than
/// a round trip through tokio's blocking pool, and a full pipe blocking us is back-pressure.
pub struct StdoutOutput;

#[async_trait]
impl Output for StdoutOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        Ok(())
    }

    async fn write(&self, batch: Batch) -> Result<(), ComponentError> {
        let mut buf = Vec::with_capacity(batch.iter().map(|m| m.bytes().len() + 1).sum());
        for m in &batch {
            buf.extend_from_slice(m.bytes());
            buf.push(b'\n');
        }
        let mut out = std::io::stdout().lock();
        out.write_all(&buf).map_err(ComponentError::failed)?;
        out.flush().map_err(ComponentError::failed)
    }

    async fn close(&self) -> Result<(), ComponentError> {
        std::io::stdout()
            .lock()
            .flush()
            .map_err(ComponentError::failed)
    }
}
