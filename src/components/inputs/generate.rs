//! `generate`: creates messages from a Bloblang mapping, on an interval or as fast as possible,
//! optionally a fixed number of times (then the stream ends).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::auto_replay_field;
use crate::bloblang::Mapping;
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::config::parse_duration;
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::Batch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateConfig {
    pub mapping: String,
    pub interval: String,
    pub count: i64,
    pub batch_size: i64,
    pub auto_replay_nacks: bool,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("generate", ComponentKind::Input, "Generates messages from a Bloblang mapping at an interval.")
        .description("The mapping runs without an input document, so `this` is null and `root` starts empty. With `count` set the input stops after that many messages and the stream shuts down once they are delivered.")
        .fields(vec![
            FieldSpec::bloblang("mapping", "A Bloblang mapping that creates each message.")
                .example("root = \"hello world\"")
                .example("root = {\"id\": uuid_v4()}"),
            FieldSpec::string("interval", "The time between messages (a duration such as `1s` or `100ms`). An empty string or `0s` creates messages as fast as possible.")
                .default("1s"),
            FieldSpec::int("count", "How many messages to create before stopping (messages the mapping deletes do not count); 0 means no limit.").default(0),
            FieldSpec::int("batch_size", "How many messages each batch holds.").default(1),
            auto_replay_field(),
        ])
        .example("Hello world every second", "input:\n  generate:\n    mapping: 'root = \"hello world\"'\n")
        .example("Ten documents as fast as possible", "input:\n  generate:\n    interval: \"\"\n    count: 10\n    mapping: 'root = {\"n\": counter()}'\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: GenerateConfig = ctx.parse(conf)?;
    let mapping = crate::bloblang::parse_mapping(&c.mapping)
        .map_err(|e| ctx.error(format!("mapping: {e}")))?;
    let interval = parse_duration(&c.interval).map_err(|e| ctx.error(format!("interval: {e}")))?;
    if c.batch_size < 1 {
        return Err(ctx.error("batch_size must be at least 1"));
    }
    Ok(Box::new(GenerateInput {
        mapping,
        interval,
        remaining: (c.count > 0).then_some(c.count as u64),
        batch_size: c.batch_size as usize,
        ticker: None,
        replay: c.auto_replay_nacks,
    }))
}

pub struct GenerateInput {
    mapping: Mapping,
    interval: Duration,
    remaining: Option<u64>,
    batch_size: usize,
    ticker: Option<tokio::time::Interval>,
    replay: bool,
}

#[async_trait]
impl Input for GenerateInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        if self.ticker.is_none() && !self.interval.is_zero() {
            self.ticker = Some(tokio::time::interval(self.interval));
        }
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        if self.remaining == Some(0) {
            return Err(ComponentError::EndOfInput);
        }
        if let Some(t) = self.ticker.as_mut() {
            t.tick().await;
        }
        // As Bento: `count` counts the messages kept, so a `deleted()` one does not use it up
        // (the batch comes out smaller, and the next read goes on).
        let size = match self.remaining {
            Some(r) => self
                .batch_size
                .min(usize::try_from(r).unwrap_or(usize::MAX)),
            None => self.batch_size,
        };
        // A huge configured batch grows as it fills rather than reserving it all up front.
        let mut batch = Vec::with_capacity(size.min(1024));
        for _ in 0..size {
            match self.mapping.new_message() {
                Ok(Some(m)) => {
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                    batch.push(m);
                }
                Ok(None) => {}
                Err(e) => return Err(ComponentError::failed(e)),
            }
        }
        Ok((batch, noop_ack()))
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replay
    }
}
