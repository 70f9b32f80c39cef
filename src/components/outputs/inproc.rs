//! `inproc`: hands batches to the `inproc` input with the same id in this process, and waits
//! for that stream to acknowledge them before acknowledging its own source.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin, Transaction};
use crate::message::{AckHandle, AckStatus, Batch};
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "inproc",
        ComponentKind::Output,
        "Sends data directly to `inproc` inputs with the same id within the same process.",
    )
    .scalar(FieldSpec::string(
        "inproc",
        "The id shared with the `inproc` input.",
    ))
    .example("Send to another stream", "output:\n  inproc: requests\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let id: String = ctx.parse(conf)?;
    Ok(Box::new(InprocOutput {
        tx: ctx.shared.inproc(&id).tx,
    }))
}

pub struct InprocOutput {
    tx: mpsc::Sender<Transaction>,
}

#[async_trait]
impl Output for InprocOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let (done_tx, done_rx) = oneshot::channel();
        let ack = AckHandle::new(Box::new(move |status| {
            let _ = done_tx.send(status);
            Box::pin(async {})
        }));
        self.tx
            .send(Transaction {
                batch: batch.clone(),
                ack,
            })
            .await
            .map_err(|_| ComponentError::NotConnected)?;
        match done_rx.await {
            Ok(AckStatus::Delivered) => Ok(()),
            Ok(AckStatus::Failed(e)) => Err(ComponentError::Failed(e)),
            Err(_) => Err(ComponentError::Failed("inproc receiver went away".into())),
        }
    }

    fn max_in_flight(&self) -> usize {
        64
    }
}
