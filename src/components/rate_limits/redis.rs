//! `redis` rate limit: Bento's fixed window in Redis (a counter per `interval`), shared by every
//! instance, engine's or Bento's, using the same key.

use std::time::Duration;

use async_trait::async_trait;

use super::interval_of;
use crate::components::connectors::redis::{component_error, redis_component_config, RedisConn};
use crate::components::{BuildCtx, BuildError, ComponentError, Plugin, RateLimit};
use crate::spec::{ComponentKind, ComponentSpec, Status};

redis_component_config! {
    pub struct RedisRateLimitConfig {
        pub count: i64 = int("The maximum number of messages to allow for a given period of time.").default(1000),
        pub interval: String = string("The time window to limit requests by.").default("1s").duration(),
        pub key: String = string("The key to use for the rate limit.").example("my_rate_limit"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis", ComponentKind::RateLimit, "A rate limit shared across all instances that use the same Redis key: at most `count` accesses per `interval`, counted in fixed windows as Bento counts them (`INCR` on the key, which expires after `interval`), so engine and Bento instances can share one limit.")
        .status(Status::Experimental)
        .fields(RedisRateLimitConfig::fields())
        .example("A limit shared by every instance", "rate_limit_resources:\n  - label: shared\n    redis:\n      url: redis://localhost:6379\n      count: 100\n      interval: 1s\n      key: api_calls\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - rate_limit:\n        resource: shared\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn RateLimit> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn RateLimit>, BuildError> {
    let c: RedisRateLimitConfig = ctx.parse(conf)?;
    if c.count <= 0 {
        return Err(ctx.error("count must be larger than zero"));
    }
    if c.key.is_empty() {
        return Err(ctx.error("key must not be empty"));
    }
    Ok(Box::new(RedisRateLimit {
        conn: RedisConn::new(&c.url, &c.tls, Some(Duration::from_secs(5)), ctx)?,
        count: c.count,
        interval: interval_of(&c.interval).map_err(|e| ctx.error(format!("interval: {e}")))?,
        key: c.key,
        script: redis::Script::new(SCRIPT),
    }))
}

/// Bento's fixed window, so that engine and Bento instances can share one limit: the key
/// counts the accesses of the current window and expires with it. Returns 0 (go ahead) or the
/// milliseconds left in a window that is used up.
const SCRIPT: &str = r#"
local current = redis.call("INCR", KEYS[1])
if current == 1 then
  redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[2]))
end
if current > tonumber(ARGV[1]) then
  return redis.call("PTTL", KEYS[1])
end
return 0
"#;

pub struct RedisRateLimit {
    conn: RedisConn,
    count: i64,
    interval: Duration,
    key: String,
    script: redis::Script,
}

#[async_trait]
impl RateLimit for RedisRateLimit {
    async fn access(&self) -> Result<Duration, ComponentError> {
        let mut c = self.conn.get().await?;
        let wait: i64 = self
            .script
            .key(&self.key)
            .arg(self.count)
            .arg(self.interval.as_millis().max(1) as u64)
            .invoke_async(&mut c)
            .await
            .map_err(component_error)?;
        Ok(Duration::from_millis(wait.max(0) as u64))
    }
}
