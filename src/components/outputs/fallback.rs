//! `fallback`: tries each output in order until one takes the batch.

use async_trait::async_trait;

use super::{build_children, close_all, max_in_flight_of, ChildOutput};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::{Batch, Value};
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec, FieldType};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("fallback", ComponentKind::Output, "Attempts to send each message to a child output, starting from the first output on the list. If an output attempt fails then the next output in the list is attempted, and so on.")
        .description("This pattern is useful for triggering events in the case where certain output targets have broken. The messages passed to a later output carry the error of the one before in the metadata key `fallback_error`. When every output failed the error of the last one goes back to the input (a nack). An output that is disconnected is reconnected once; if that fails it counts as a failed attempt, so a broken target falls through at once rather than holding the message.")
        .scalar(FieldSpec::array("fallback", FieldType::Component(ComponentKind::Output), "The outputs to try, in order."))
        .example("Queue, or record the failure", "output:\n  fallback:\n    - amqp_0_9:\n        urls: [ amqp://guest:guest@localhost:5672/ ]\n        exchange: \"\"\n        key: jobs\n    - stdout: {}\n      processors:\n        - mapping: 'root = {\"failed\": this, \"why\": @fallback_error}'\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let list: Vec<serde_json::Value> = ctx.parse(conf)?;
    if list.is_empty() {
        return Err(ctx.error("fallback needs at least one output"));
    }
    Ok(Box::new(FallbackOutput {
        outputs: build_children(ctx, "fallback", &list)?,
    }))
}

pub struct FallbackOutput {
    outputs: Vec<ChildOutput>,
}

#[async_trait]
impl Output for FallbackOutput {
    /// Connected once the last resort is: an earlier output that is down now is reconnected
    /// when a write reaches it, and until then its messages fall through.
    async fn connect(&self) -> Result<(), ComponentError> {
        let mut last = Ok(());
        for o in &self.outputs {
            last = o.connect().await;
            if let Err(e) = &last {
                tracing::warn!("fallback output not connected yet: {e}");
            }
        }
        last
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let mut last = Err(ComponentError::Failed("no outputs".into()));
        // The batch as the next output gets it: copied once an output has failed, to carry
        // `fallback_error`.
        let mut tagged: Option<Batch> = None;
        for o in &self.outputs {
            last = o.write(tagged.as_ref().unwrap_or(batch)).await;
            match &last {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let why = Value::from(e.to_string());
                    for m in tagged.get_or_insert_with(|| batch.clone()) {
                        m.meta_mut().insert("fallback_error".into(), why.clone());
                    }
                }
            }
        }
        match last {
            Err(ComponentError::NotConnected) => Err(ComponentError::Failed(
                "every fallback output failed; the last was not connected".into(),
            )),
            other => other,
        }
    }

    async fn close(&self) -> Result<(), ComponentError> {
        close_all(&self.outputs).await
    }

    fn max_in_flight(&self) -> usize {
        max_in_flight_of(&self.outputs)
    }
}
