//! Rate limits: one file per component, plus the metered wrapper every resource runs in.

pub mod local;
pub mod redis;

use std::time::Duration;

use crate::components::{ComponentError, ComponentInfo, RateLimit};
use crate::metrics::RateLimitMetrics;

pub struct RateLimitStage {
    inner: Box<dyn RateLimit>,
    metrics: RateLimitMetrics,
}

impl RateLimitStage {
    pub fn new(inner: Box<dyn RateLimit>, info: &ComponentInfo) -> RateLimitStage {
        RateLimitStage {
            inner,
            metrics: RateLimitMetrics::new(&info.label, &info.path),
        }
    }

    pub async fn access(&self) -> Result<Duration, ComponentError> {
        self.metrics.checked.increment(1);
        let r = self.inner.access().await;
        match &r {
            Ok(d) if !d.is_zero() => self.metrics.triggered.increment(1),
            Ok(_) => {}
            Err(_) => self.metrics.error.increment(1),
        }
        r
    }

    /// Wait until the limit lets one more through.
    pub async fn wait(&self) -> Result<(), ComponentError> {
        loop {
            let d = self.access().await?;
            if d.is_zero() {
                return Ok(());
            }
            tokio::time::sleep(d).await;
        }
    }
}

pub(crate) fn interval_of(s: &str) -> Result<Duration, String> {
    let d = crate::spec::parse_duration(s)?;
    if d.is_zero() {
        return Err("interval must be greater than zero".into());
    }
    Ok(d)
}
