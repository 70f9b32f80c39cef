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
