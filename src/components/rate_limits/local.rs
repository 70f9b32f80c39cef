//! `local` rate limit: `count` accesses per `interval`, in this process.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::interval_of;
use crate::components::{BuildCtx, BuildError, ComponentError, Plugin, RateLimit};
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct LocalConfig {
        pub count: i64 = int("The maximum number of requests to allow for a given period of time.").default(1000),
        pub byte_size: i64 = int("The maximum number of bytes to allow for a given period of time (accepted for compatibility; only 0, disabled, is supported).").default(0).advanced(),
        pub interval: String = string("The time window to limit requests by.").default("1s").duration(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("local", ComponentKind::RateLimit, "The local rate limit is a simple X every Y type rate limit that can be shared across any number of components within the pipeline but does not support distributed rate limits across multiple running instances.")
        .fields(LocalConfig::fields())
        .example("Ten messages a second", "rate_limit_resources:\n  - label: ten_per_second\n    local:\n      count: 10\n      interval: 1s\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - rate_limit:\n        resource: ten_per_second\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn RateLimit> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn RateLimit>, BuildError> {
    let c: LocalConfig = ctx.parse(conf)?;
    if c.count <= 0 {
        return Err(ctx.error("count must be larger than zero"));
    }
    if c.byte_size != 0 {
        return Err(ctx.error("byte_size: only 0 (disabled) is supported"));
    }
    Ok(Box::new(LocalRateLimit {
        count: c.count as u64,
        interval: interval_of(&c.interval).map_err(|e| ctx.error(format!("interval: {e}")))?,
        window: Mutex::new((Instant::now(), 0)),
    }))
}

pub struct LocalRateLimit {
    count: u64,
    interval: Duration,
    /// Start of the current window and how many accesses it has seen.
    window: Mutex<(Instant, u64)>,
}

#[async_trait]
impl RateLimit for LocalRateLimit {
    async fn access(&self) -> Result<Duration, ComponentError> {
        let mut w = self.window.lock().await;
        let now = Instant::now();
        let elapsed = now.duration_since(w.0);
        if elapsed >= self.interval {
            *w = (now, 0);
        }
        if w.1 < self.count {
            w.1 += 1;
            return Ok(Duration::ZERO);
        }
        Ok(self
            .interval
            .saturating_sub(now.duration_since(w.0))
            .max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn allows_count_per_interval() {
        let ctx = BuildCtx::new(Default::default());
        let rl = build(
            &serde_json::json!({"count": 3, "byte_size": 0, "interval": "100ms"}),
            &ctx,
        )
        .unwrap();
        for _ in 0..3 {
            assert_eq!(rl.access().await.unwrap(), Duration::ZERO);
        }
        let wait = rl.access().await.unwrap();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        tokio::time::sleep(wait).await;
        assert_eq!(rl.access().await.unwrap(), Duration::ZERO);
    }
}
