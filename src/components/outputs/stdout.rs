//! `stdout`: writes each message followed by a newline to standard output.

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncWriteExt, BufWriter, Stdout};
use tokio::sync::Mutex;

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
    Ok(Box::new(StdoutOutput {
        out: Mutex::new(BufWriter::with_capacity(64 * 1024, tokio::io::stdout())),
    }))
}

pub struct StdoutOutput {
    out: Mutex<BufWriter<Stdout>>,
}

#[async_trait]
impl Output for StdoutOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        Ok(())
    }

    async fn write(&self, batch: Batch) -> Result<(), ComponentError> {
        let mut out = self.out.lock().await;
        for m in &batch {
            out.write_all(m.bytes())
                .await
                .map_err(ComponentError::failed)?;
            out.write_all(b"\n").await.map_err(ComponentError::failed)?;
        }
        // A write is only acknowledged once it reached the file descriptor, but flushing per
        // message would cost a syscall each: flush when the buffer is all we have.
        out.flush().await.map_err(ComponentError::failed)?;
        Ok(())
    }

    async fn close(&self) -> Result<(), ComponentError> {
        self.out
            .lock()
            .await
            .flush()
            .await
            .map_err(ComponentError::failed)
    }
}
