//! Inputs: one file per component.

pub mod amqp_0_9;
pub mod broker;
pub mod file;
pub mod generate;
pub mod http_server;
pub mod inproc;
pub mod redis_list;
pub mod resource;
pub mod scanner;
pub mod stdin;

use std::sync::Arc;

use async_trait::async_trait;

use crate::components::registry::ComponentConf;
use crate::components::{
    registry, run_processors, BuildCtx, BuildError, ComponentError, ComponentInfo, Input,
    ProcessorStage,
};
use crate::message::ack::AckFn;
use crate::message::{AckStatus, Batch};
use crate::spec::ComponentKind;

/// An input inside another (`broker`, `resource`), with its own `processors` run as it reads.
pub struct ChildInput {
    input: Box<dyn Input>,
    processors: Vec<Arc<ProcessorStage>>,
    pub info: ComponentInfo,
}

impl ChildInput {
    pub fn build(
        ctx: &BuildCtx,
        field: &str,
        j: &serde_json::Value,
    ) -> Result<ChildInput, BuildError> {
        let conf = ComponentConf::from_json(ComponentKind::Input, j).map_err(|e| ctx.error(e))?;
        let child = ctx.child(field, &conf);
        Ok(ChildInput {
            input: registry::build_input(&conf, &child)?,
            processors: child.build_processors("processors", &conf.processors)?,
            info: child.info,
        })
    }
}

#[async_trait]
impl Input for ChildInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        self.input.connect().await
    }

    /// The processors' results are joined into one batch; a read whose messages were all
    /// filtered out is acknowledged here and the next one taken.
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        loop {
            let (batch, ack) = self.input.read().await?;
            if self.processors.is_empty() {
                return Ok((batch, ack));
            }
            let out: Batch = run_processors(&self.processors, batch)
                .await
                .into_iter()
                .flatten()
                .collect();
            if !out.is_empty() {
                return Ok((out, ack));
            }
            ack(AckStatus::Delivered).await;
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        self.input.close().await
    }

    fn replays_nacks(&self) -> bool {
        self.input.replays_nacks()
    }
}

pub(crate) fn auto_replay_field() -> crate::spec::FieldSpec {
    crate::spec::FieldSpec::bool(
        "auto_replay_nacks",
        "Whether messages that are rejected (nacked) at the output level are automatically replayed indefinitely. Disabling it drops nacked messages.",
    )
    .default(true)
}
