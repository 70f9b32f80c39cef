//! `memory` cache: a map in this process with per-key expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::components::{BuildCtx, BuildError, Cache, CacheError, Plugin};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct MemoryCacheConfig {
        #[serde(deserialize_with = "crate::spec::optional_duration_field")]
        pub default_ttl: Option<Duration> = string("The default TTL of each item. After this period an item will be eligible for removal during the next compaction.").default("5m").duration(),
        #[serde(deserialize_with = "crate::spec::optional_duration_field")]
        pub compaction_interval: Option<Duration> = string("The period of time to wait before each compaction, at which point expired items are removed. This field can be set to an empty string in order to disable compactions/expiry entirely.").default("60s").duration(),
        pub init_values: HashMap<String, String> = map(FieldType::String, "A table of key/value pairs that should be present in the cache on initialization. This can be used to create static lookup tables. Init values never expire.")
            .default(serde_json::json!({}))
            .example(serde_json::json!({"Nickelback": "1995", "Spice Girls": "1994"})),
        pub shards: i64 = int("A number of logical shards to spread keys across (accepted for compatibility; the map is not sharded).").default(1).advanced(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("memory", ComponentKind::Cache, "Stores key/value pairs in a map held in memory.")
        .description("This cache is lost when the process stops. Expired items are removed lazily: reads ignore them, and writes sweep them out at most once per `compaction_interval`. Unlike Bento's, `add` of a key whose TTL has passed succeeds before compaction has removed it (Bento refuses it until then, which contradicts its TTL).")
        .fields(MemoryCacheConfig::fields())
        .example("Deduplicate with an in-memory cache", "cache_resources:\n  - label: seen\n    memory:\n      default_ttl: 1h\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: seen\n        key: ${! content() }\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Cache> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Cache>, BuildError> {
    let c: MemoryCacheConfig = ctx.parse(conf)?;
    let compaction = c.compaction_interval;
    // Without compaction nothing expires, as in Bento.
    let default_ttl = compaction.and(c.default_ttl);
    let items = c
        .init_values
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                Item {
                    value: v.into_bytes(),
                    expires: None,
                },
            )
        })
        .collect();
    Ok(Box::new(MemoryCache {
        default_ttl,
        compaction,
        state: Mutex::new(State {
            items,
            last_compaction: Instant::now(),
        }),
    }))
}

struct Item {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Item {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

struct State {
    items: HashMap<String, Item>,
    last_compaction: Instant,
}

pub struct MemoryCache {
    default_ttl: Option<Duration>,
    compaction: Option<Duration>,
    state: Mutex<State>,
}

impl MemoryCache {
    fn item(&self, value: Vec<u8>, ttl: Option<Duration>, now: Instant) -> Item {
        let ttl = if self.compaction.is_some() {
            ttl.or(self.default_ttl)
        } else {
            None
        };
        Item {
            value,
            expires: ttl.and_then(|t| now.checked_add(t)), // too large to represent: never
        }
    }

    fn compact(&self, s: &mut State, now: Instant) {
        if let Some(every) = self.compaction {
            if now.duration_since(s.last_compaction) >= every {
                s.items.retain(|_, i| i.live(now));
                s.last_compaction = now;
            }
        }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Vec<u8>, CacheError> {
        let s = self.state.lock().await;
        match s.items.get(key) {
            Some(i) if i.live(Instant::now()) => Ok(i.value.clone()),
            _ => Err(CacheError::NotFound),
        }
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut s = self.state.lock().await;
        self.compact(&mut s, now);
        let item = self.item(value, ttl, now);
        s.items.insert(key.to_owned(), item);
        Ok(())
    }

    async fn add(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut s = self.state.lock().await;
        self.compact(&mut s, now);
        // Bento's `add` refuses a key whose TTL has passed until compaction removes it (it
        // checks for the key before compacting), so `dedupe` drops messages whose key expired
        // up to `compaction_interval` ago. That contradicts its own `get` and the TTL it
        // documents, and no config can rely on it: an expired key is free here.
        if s.items.get(key).is_some_and(|i| i.live(now)) {
            return Err(CacheError::KeyExists);
        }
        let item = self.item(value, ttl, now);
        s.items.insert(key.to_owned(), item);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.state.lock().await.items.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cache(conf: serde_json::Value) -> Box<dyn Cache> {
        let ctx = BuildCtx::new(Arc::default());
        build(&spec().resolve(Some(&conf)), &ctx).unwrap()
    }

    #[tokio::test]
    async fn set_get_add_delete() {
        let c = cache(serde_json::json!({"init_values": {"k0": "v0"}}));
        assert_eq!(c.get("k0").await.unwrap(), b"v0");
        assert_eq!(c.get("k1").await, Err(CacheError::NotFound));
        c.set("k1", b"a".to_vec(), None).await.unwrap();
        assert_eq!(
            c.add("k1", b"b".to_vec(), None).await,
            Err(CacheError::KeyExists)
        );
        assert_eq!(c.get("k1").await.unwrap(), b"a");
        c.delete("k1").await.unwrap();
        c.delete("k1").await.unwrap();
        c.add("k1", b"b".to_vec(), None).await.unwrap();
        assert_eq!(c.get("k1").await.unwrap(), b"b");
    }

    #[tokio::test]
    async fn items_expire() {
        let c = cache(serde_json::json!({"default_ttl": "30ms"}));
        c.set("k", b"v".to_vec(), None).await.unwrap();
        c.set("long", b"v".to_vec(), Some(Duration::from_secs(60)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(c.get("k").await, Err(CacheError::NotFound));
        assert!(c.get("long").await.is_ok());
        c.add("k", b"again".to_vec(), None).await.unwrap();
    }
}
