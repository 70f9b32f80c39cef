//! `dedupe` processor: drops messages whose key was already seen (stored in a cache).

use async_trait::async_trait;

use super::cache::cache_resource;
use crate::bloblang::InterpolatedString;
use crate::components::caches::CacheStage;
use crate::components::{
    BatchFailure, BuildCtx, BuildError, CacheError, ComponentInfo, Plugin, Processor,
};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec, Refused};

component_config! {
    pub struct DedupeConfig {
        pub cache: String = string("The `cache_resources` label of the cache to use for storage."),
        pub key: InterpolatedString = string("An interpolated string yielding the key to deduplicate by for each message.").interpolated()
            .example("${! meta(\"kafka_key\") }").example("${! this.id }"),
        pub drop_on_err: bool = bool("Whether messages should be dropped when the cache returns a general error such as a network issue.").default(true),
        #[serde(skip)]
        #[allow(dead_code)]
        strategy: Refused = refused("only FIFO (keep the first message seen for each key) is built").default("FIFO"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("dedupe", ComponentKind::Processor, "Deduplicates messages by storing a key value in a cache using the `add` operator. If the key already exists within the cache it is dropped.")
        .description("Caches must be configured as resources. Deduplication is performed per message against the cache, so the cache decides how long a key is remembered (its TTL). Dropped messages are acknowledged.")
        .fields(DedupeConfig::fields())
        .example("Deduplicate based on a field", "cache_resources:\n  - label: keycache\n    memory:\n      default_ttl: 60s\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: keycache\n        key: ${! this.id }\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: DedupeConfig = ctx.parse(conf)?;
    Ok(Box::new(Dedupe {
        cache: cache_resource(ctx, &c.cache)?,
        key: c.key,
        drop_on_err: c.drop_on_err,
        dropped: crate::metrics::error_counter(
            "processor_dropped_on_error",
            &ctx.info.label,
            &ctx.info.path,
        ),
        info: ctx.info.clone(),
    }))
}

pub struct Dedupe {
    cache: std::sync::Arc<CacheStage>,
    key: InterpolatedString,
    drop_on_err: bool,
    /// Messages dropped because the cache failed (`drop_on_err`).
    dropped: metrics::Counter,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for Dedupe {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let mut kept = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let mut m = batch[i].clone();
            let Some(key) = self.info.render_key(&self.key, &batch, i, &mut m) else {
                kept.push(m);
                continue;
            };
            match self.cache.add(&key, b"t".to_vec(), None).await {
                Ok(()) => kept.push(m),
                Err(CacheError::KeyExists) => {}
                Err(e) if self.drop_on_err => {
                    self.dropped.increment(1);
                    tracing::warn!(label = %self.info.label, path = %self.info.path, "dedupe: dropping message after cache error: {e}");
                }
                Err(e) => {
                    self.info.flag(&mut m, e.to_string());
                    kept.push(m);
                }
            }
        }
        if kept.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![kept])
    }
}
