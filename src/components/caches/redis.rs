//! `redis` cache: keys in a Redis server (optionally prefixed), with an optional default TTL.

use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};

use crate::components::connectors::redis::{redis_component_config, RedisConn};
use crate::components::{BuildCtx, BuildError, Cache, CacheError, Plugin};
use crate::spec::{component_config, ComponentKind, ComponentSpec};

redis_component_config! {
    pub struct RedisCacheConfig {
        pub prefix: String = string("An optional string to prefix item keys with in order to prevent collisions with similar services.").default(""),
        #[serde(deserialize_with = "crate::spec::optional_duration_field")]
        pub default_ttl: Option<Duration> = string("An optional default TTL to set for items, calculated from the moment the item is cached.").default("").advanced().example("60s").duration(),
        pub retries: RedisRetries = object("Determine time intervals and cut offs for retry attempts: a command that fails (not a missing key) is tried again with exponentially growing waits.", RedisRetries::fields())
            .default(serde_json::json!({}))
            .advanced(),
    }
}

component_config! {
    /// The cache's `retries`: `retry`'s backoff in shape, with Bento's defaults for this cache.
    pub struct RedisRetries {
        #[serde(deserialize_with = "crate::spec::duration")]
        pub initial_interval: Duration = string("The initial period to wait between retry attempts.").default("500ms").example("50ms").duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub max_interval: Duration = string("The maximum period to wait between retry attempts").default("1s").example("5s").duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub max_elapsed_time: Duration = string("The maximum overall period of time to spend on retry attempts before the request is aborted.").default("5s").example("1m").duration(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis", ComponentKind::Cache, "Use a Redis instance as a cache. The expiration can be set to zero or an empty string in order to set no expiration.")
        .fields(RedisCacheConfig::fields())
        .example("Share a dedupe cache between instances", "cache_resources:\n  - label: seen\n    redis:\n      url: redis://localhost:6379\n      prefix: dedupe_\n      default_ttl: 1h\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: seen\n        key: ${! content() }\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Cache> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Cache>, BuildError> {
    let c: RedisCacheConfig = ctx.parse(conf)?;
    let retries = ExponentialBuilder::default()
        .with_min_delay(c.retries.initial_interval)
        .with_max_delay(c.retries.max_interval)
        .with_total_delay(Some(c.retries.max_elapsed_time))
        .without_max_times();
    Ok(Box::new(RedisCache {
        retries,
        conn: RedisConn::new(&c.url, &c.tls, Some(Duration::from_secs(5)), ctx)?,
        default_ttl: c.default_ttl,
        prefix: c.prefix,
    }))
}

pub struct RedisCache {
    retries: ExponentialBuilder,
    conn: RedisConn,
    prefix: String,
    default_ttl: Option<Duration>,
}

fn failed(e: impl std::fmt::Display) -> CacheError {
    CacheError::Failed(e.to_string())
}

impl RedisCache {
    /// Run a command again while it fails, as `retries` says; a missing key or an existing
    /// one is an answer, not a failure.
    async fn retrying<T, F, Fut>(&self, op: F) -> Result<T, CacheError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, CacheError>>,
    {
        op.retry(self.retries)
            .when(|e| matches!(e, CacheError::Failed(_)))
            .await
    }

    async fn store(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
        only_new: bool,
    ) -> Result<bool, CacheError> {
        let mut c = self.conn.get().await.map_err(failed)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{key}", self.prefix)).arg(value);
        if let Some(t) = ttl.or(self.default_ttl) {
            cmd.arg("PX").arg(t.as_millis().max(1) as u64);
        }
        if only_new {
            cmd.arg("NX");
        }
        let r: redis::Value = cmd.query_async(&mut c).await.map_err(failed)?;
        Ok(!matches!(r, redis::Value::Nil))
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Vec<u8>, CacheError> {
        self.retrying(|| async {
            let mut c = self.conn.get().await.map_err(failed)?;
            let v: Option<Vec<u8>> = redis::cmd("GET")
                .arg(format!("{}{key}", self.prefix))
                .query_async(&mut c)
                .await
                .map_err(failed)?;
            v.ok_or(CacheError::NotFound)
        })
        .await
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.retrying(|| self.store(key, value.clone(), ttl, false))
            .await
            .map(drop)
    }

    async fn add(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        if self
            .retrying(|| self.store(key, value.clone(), ttl, true))
            .await?
        {
            Ok(())
        } else {
            Err(CacheError::KeyExists)
        }
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.retrying(|| async {
            let mut c = self.conn.get().await.map_err(failed)?;
            redis::cmd("DEL")
                .arg(format!("{}{key}", self.prefix))
                .query_async::<()>(&mut c)
                .await
                .map_err(failed)
        })
        .await
    }
}
