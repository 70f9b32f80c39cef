//! Caches: one file per component, plus the metered wrapper every cache resource runs in.

pub mod memory;
pub mod redis;

use std::time::{Duration, Instant};

use crate::components::{Cache, CacheError, ComponentInfo};
use crate::metrics::CacheMetrics;

/// A cache resource as processors use it: the cache, with Bento's `cache_*` metrics.
pub struct CacheStage {
    inner: Box<dyn Cache>,
    metrics: CacheMetrics,
}

fn outcome<T>(r: &Result<T, CacheError>) -> &'static str {
    match r {
        Ok(_) => "success",
        Err(CacheError::NotFound) => "not_found",
        Err(CacheError::KeyExists) => "duplicate",
        Err(CacheError::Failed(_)) => "error",
    }
}

impl CacheStage {
    pub fn new(inner: Box<dyn Cache>, info: &ComponentInfo) -> CacheStage {
        CacheStage {
            inner,
            metrics: CacheMetrics::new(&info.label, &info.path),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, CacheError> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.metrics.record("get", outcome(&r), t.elapsed());
        r
    }

    pub async fn set(
        &self,
        key: &str,
        v: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let t = Instant::now();
        let r = self.inner.set(key, v, ttl).await;
        self.metrics.record("set", outcome(&r), t.elapsed());
        r
    }

    pub async fn add(
        &self,
        key: &str,
        v: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let t = Instant::now();
        let r = self.inner.add(key, v, ttl).await;
        self.metrics.record("add", outcome(&r), t.elapsed());
        r
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let t = Instant::now();
        let r = self.inner.delete(key).await;
        self.metrics.record("delete", outcome(&r), t.elapsed());
        r
    }
}

/// Parse an optional TTL: empty or `0s` means none.
pub(crate) fn ttl_of(s: &str) -> Result<Option<Duration>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d = crate::spec::parse_duration(s)?;
    Ok((!d.is_zero()).then_some(d))
}

/// A config field holding a TTL or period that is none when empty or zero (`""`, `0s`), parsed
/// as the config is read: `#[serde(deserialize_with = "crate::components::caches::ttl")]`.
pub(crate) fn ttl<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    ttl_of(&s).map_err(serde::de::Error::custom)
}
