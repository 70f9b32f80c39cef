//! `cache` processor: set, add, get, check or delete keys of a cache resource per message.

use async_trait::async_trait;

use crate::bloblang::InterpolatedString;
use crate::components::caches::CacheStage;
use crate::components::{
    BatchFailure, BuildCtx, BuildError, CacheError, ComponentInfo, Plugin, Processor,
};
use crate::message::{Batch, Value};
use crate::spec::optional_duration;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct CacheProcConfig {
        pub resource: String = string("The `cache_resources` label of the cache to use."),
        pub operator: String = string("The operation to perform with the cache.").options(&["set", "add", "get", "exists", "delete"]),
        pub key: InterpolatedString = string("A key to use with the cache.").interpolated(),
        pub value: Option<InterpolatedString> = string("A value to use with the cache (when applicable); the message content when absent.").interpolated().optional(),
        pub ttl: Option<InterpolatedString> = string("The TTL of each individual item as a duration string. After this period an item will be eligible for removal during the next compaction. Not all caches support per-key TTLs, and those that do not will fall back to their generally configured TTL setting.")
            .interpolated().optional().advanced().example("60s").example("5m"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("cache", ComponentKind::Processor, "Performs operations against a cache resource for each message, allowing you to store or retrieve data within message payloads.")
        .description("Operators:\n\n- `set`: store `value` under `key` (overwriting).\n- `add`: store `value` under `key` only if the key does not exist yet; otherwise the message is flagged with an error.\n- `get`: replace the payload with the value under `key`; a missing key flags the message (`key does not exist`).\n- `exists`: replace the payload with `true` or `false`.\n- `delete`: remove `key` (a missing key is not an error).\n\nFailures flag the message, which can be handled with error handling processors; the message is otherwise unchanged.")
        .fields(CacheProcConfig::fields())
        .example("Store and look up", "cache_resources:\n  - label: users\n    memory: {}\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - cache:\n        resource: users\n        operator: set\n        key: '${! this.id }'\n        value: '${! content() }'\n    - cache:\n        resource: users\n        operator: get\n        key: '${! this.id }'\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

#[derive(Clone, Copy)]
enum Op {
    Set,
    Add,
    Get,
    Exists,
    Delete,
}

/// The `cache_resources` entry called `label`, or a build error naming it.
pub fn cache_resource(
    ctx: &BuildCtx,
    label: &str,
) -> Result<std::sync::Arc<CacheStage>, BuildError> {
    ctx.resources
        .cache(label)
        .ok_or_else(|| ctx.error(format!("cache resource '{label}' was not found")))
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: CacheProcConfig = ctx.parse(conf)?;
    let op = match c.operator.as_str() {
        "set" => Op::Set,
        "add" => Op::Add,
        "get" => Op::Get,
        "exists" => Op::Exists,
        "delete" => Op::Delete,
        other => {
            return Err(ctx.error(format!(
                "operator '{other}' is not one of set, add, get, exists, delete"
            )))
        }
    };
    Ok(Box::new(CacheProcessor {
        cache: cache_resource(ctx, &c.resource)?,
        op,
        key: c.key,
        value: c.value,
        ttl: c.ttl,
        info: ctx.info.clone(),
    }))
}

pub struct CacheProcessor {
    cache: std::sync::Arc<CacheStage>,
    op: Op,
    key: InterpolatedString,
    value: Option<InterpolatedString>,
    ttl: Option<InterpolatedString>,
    info: ComponentInfo,
}

impl CacheProcessor {
    async fn apply(&self, batch: &mut Batch, i: usize) -> Result<(), String> {
        let key = self.key.render(batch, i).map_err(|e| format!("key: {e}"))?;
        let ttl = match &self.ttl {
            Some(t) => optional_duration(&t.render(batch, i).map_err(|e| format!("ttl: {e}"))?)?,
            None => None,
        };
        let value = || match &self.value {
            Some(v) => v
                .render(batch, i)
                .map(String::into_bytes)
                .map_err(|e| format!("value: {e}")),
            None => Ok(batch[i].bytes().to_vec()),
        };
        match self.op {
            Op::Set => self
                .cache
                .set(&key, value()?, ttl)
                .await
                .map_err(|e| e.to_string()),
            Op::Add => self
                .cache
                .add(&key, value()?, ttl)
                .await
                .map_err(|e| e.to_string()),
            Op::Get => {
                let v = self.cache.get(&key).await.map_err(|e| e.to_string())?;
                batch[i].set_bytes(v);
                Ok(())
            }
            Op::Exists => {
                let found = match self.cache.get(&key).await {
                    Ok(_) => true,
                    Err(CacheError::NotFound) => false,
                    Err(e) => return Err(e.to_string()),
                };
                batch[i].set_value(Value::Bool(found));
                Ok(())
            }
            Op::Delete => self.cache.delete(&key).await.map_err(|e| e.to_string()),
        }
    }
}

#[async_trait]
impl Processor for CacheProcessor {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            if let Err(e) = self.apply(&mut batch, i).await {
                self.info.flag(&mut batch[i], e);
            }
        }
        Ok(vec![batch])
    }
}
