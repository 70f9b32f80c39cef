//! `inproc`: receives what an `inproc` output with the same id sends, within one process
//! (`engine streams`). Acknowledgements flow back to the sending stream.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};

use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin, Transaction};
use crate::message::ack::AckFn;
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "inproc",
        ComponentKind::Input,
        "Directly connect to an output within the same process.",
    )
    .scalar(FieldSpec::string(
        "inproc",
        "The id shared with the `inproc` output.",
    ))
    .example(
        "Receive from another stream",
        "input:\n  inproc: requests\n",
    )
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let id: String = ctx.parse(conf)?;
    Ok(Box::new(InprocInput {
        rx: ctx.shared.inproc(&id).rx,
    }))
}

pub struct InprocInput {
    rx: Arc<Mutex<mpsc::Receiver<Transaction>>>,
}

#[async_trait]
impl Input for InprocInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        let mut rx = self.rx.lock().await;
        match rx.recv().await {
            Some(t) => {
                let ack = t.ack;
                Ok((
                    t.batch,
                    Box::new(move |status| {
                        ack.resolve(status);
                        Box::pin(async {})
                    }),
                ))
            }
            None => Err(ComponentError::EndOfInput),
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
}
