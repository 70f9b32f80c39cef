//! `cached` processor: runs child processors on a message only when its key is not in the
//! cache; the result (payload and metadata) is stored, and later hits reuse it.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::cache::cache_resource;
use crate::bloblang::{InterpolatedString, Mapping};
use crate::components::caches::CacheStage;
use crate::components::{
    run_processors, BatchFailure, BuildCtx, BuildError, CacheError, ComponentInfo, Plugin,
    Processor, ProcessorStage,
};
use crate::message::{Batch, Message, Metadata, Value};
use crate::spec::optional_duration;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct CachedConfig {
        pub cache: String = string("The `cache_resources` label of the cache to use."),
        pub key: InterpolatedString = string("A key to be resolved for each message; if the key already exists in the cache then the cached result is used, otherwise the processors are applied and the result is cached under this key.")
            .interpolated().example("my_foo_result").example("${! this.document.id }"),
        pub ttl: Option<InterpolatedString> = string("An optional expiry period to set for each cache entry. Some caches only have a general TTL and will therefore ignore this setting.").interpolated().optional().advanced(),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub skip_on: Option<Mapping> = bloblang("A condition that can be used to skip caching the results from the processors.").optional().example("errored()"),
        pub processors: Vec<serde_json::Value> = processors("The list of processors whose result will be cached."),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("cached", ComponentKind::Processor, "Cache the result of applying one or more processors to messages identified by a key. If the key already exists within the cache the contents of the message will be replaced with the cached result instead of applying the processors.")
        .status(crate::spec::Status::Experimental)
        .description("The result stored is the single message the child processors produce, with its metadata. Results that are errored, or for which `skip_on` is true, or that are not exactly one message, are passed on but not stored.")
        .fields(CachedConfig::fields())
        .example("Cache an expensive lookup", "cache_resources:\n  - label: lookups\n    memory:\n      default_ttl: 10m\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - cached:\n        cache: lookups\n        key: '${! this.id }'\n        processors:\n          - mapping: |\n              root = this\n              root.looked_up = true\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: CachedConfig = ctx.parse(conf)?;
    Ok(Box::new(Cached {
        cache: cache_resource(ctx, &c.cache)?,
        key: c.key,
        ttl: c.ttl,
        skip_on: c.skip_on,
        procs: ctx.build_processors("processors", &c.processors)?,
        info: ctx.info.clone(),
    }))
}

/// What is stored: the payload (base64) and metadata of the result.
#[derive(Serialize, Deserialize)]
struct Entry {
    v: u8,
    payload: String,
    meta: serde_json::Map<String, serde_json::Value>,
}

fn encode(m: &Message) -> Vec<u8> {
    let e = Entry {
        v: 1,
        payload: base64::engine::general_purpose::STANDARD.encode(m.bytes()),
        meta: m
            .meta()
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
            .collect(),
    };
    serde_json::to_vec(&e).unwrap_or_default()
}

fn decode(b: &[u8], into: &mut Message) -> Result<(), String> {
    let e: Entry = serde_json::from_slice(b).map_err(|e| format!("cached entry: {e}"))?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(e.payload)
        .map_err(|e| format!("cached entry: {e}"))?;
    into.set_bytes(payload);
    let meta: Metadata = e
        .meta
        .into_iter()
        .map(|(k, v)| (k.into(), Value::from(v)))
        .collect();
    into.set_meta(meta);
    Ok(())
}

pub struct Cached {
    cache: Arc<CacheStage>,
    key: InterpolatedString,
    ttl: Option<InterpolatedString>,
    skip_on: Option<Mapping>,
    procs: Vec<Arc<ProcessorStage>>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for Cached {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let mut out = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let mut m = batch[i].clone();
            let Some(key) = self.info.render_key(&self.key, &batch, i, &mut m) else {
                out.push(m);
                continue;
            };
            match self.cache.get(&key).await {
                Ok(b) => {
                    if let Err(e) = decode(&b, &mut m) {
                        self.info.flag(&mut m, e);
                    }
                    out.push(m);
                    continue;
                }
                Err(CacheError::NotFound) => {}
                Err(e) => tracing::warn!("cached: cache read failed, running processors: {e}"),
            }
            let ttl = match &self.ttl {
                Some(t) => t
                    .render(&batch, i)
                    .map_err(|e| e.to_string())
                    .and_then(|s| optional_duration(&s)),
                None => Ok(None),
            };
            let result: Vec<Message> = run_processors(&self.procs, vec![m])
                .await
                .into_iter()
                .flatten()
                .collect();
            if let [one] = result.as_slice() {
                let skip = one.error().is_some()
                    || match &self.skip_on {
                        Some(s) => {
                            matches!(s.query(std::slice::from_ref(one), 0), Ok(Value::Bool(true)))
                        }
                        None => false,
                    };
                if !skip {
                    match ttl {
                        Ok(ttl) => {
                            if let Err(e) = self.cache.set(&key, encode(one), ttl).await {
                                tracing::warn!("cached: storing the result failed: {e}");
                            }
                        }
                        Err(e) => tracing::debug!("cached: ttl: {e}"),
                    }
                }
            }
            out.extend(result);
        }
        if out.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![out])
    }
}
