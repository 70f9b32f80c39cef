//! `redis` cache: keys in a Redis server (optionally prefixed), with an optional default TTL.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::ttl_of;
use crate::components::connectors::redis::{kind_field, url_field, RedisConn};
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::{BuildCtx, BuildError, Cache, CacheError, Plugin};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisCacheConfig {
    pub url: String,
    pub kind: String,
    pub tls: TlsConfig,
    pub prefix: String,
    pub default_ttl: String,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis", ComponentKind::Cache, "Use a Redis instance as a cache. The expiration can be set to zero or an empty string in order to set no expiration.")
        .fields(vec![
            url_field(),
            kind_field(),
            tls_field(),
            FieldSpec::string("prefix", "An optional string to prefix item keys with in order to prevent collisions with similar services.").default(""),
            FieldSpec::string("default_ttl", "An optional default TTL to set for items, calculated from the moment the item is cached.").default("").advanced().example("60s"),
        ])
        .example("Share a dedupe cache between instances", "cache_resources:\n  - label: seen\n    redis:\n      url: redis://localhost:6379\n      prefix: dedupe_\n      default_ttl: 1h\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: seen\n        key: ${! content() }\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Cache> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Cache>, BuildError> {
    let c: RedisCacheConfig = ctx.parse(conf)?;
    Ok(Box::new(RedisCache {
        conn: RedisConn::new(&c.url, &c.tls, Some(Duration::from_secs(5)), ctx)?,
        default_ttl: ttl_of(&c.default_ttl).map_err(|e| ctx.error(format!("default_ttl: {e}")))?,
        prefix: c.prefix,
    }))
}

pub struct RedisCache {
    conn: RedisConn,
    prefix: String,
    default_ttl: Option<Duration>,
}

fn failed(e: impl std::fmt::Display) -> CacheError {
    CacheError::Failed(e.to_string())
}

impl RedisCache {
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
        let mut c = self.conn.get().await.map_err(failed)?;
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut c)
            .await
            .map_err(failed)?;
        v.ok_or(CacheError::NotFound)
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.store(key, value, ttl, false).await.map(drop)
    }

    async fn add(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        if self.store(key, value, ttl, true).await? {
            Ok(())
        } else {
            Err(CacheError::KeyExists)
        }
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut c = self.conn.get().await.map_err(failed)?;
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async::<()>(&mut c)
            .await
            .map_err(failed)
    }
}
