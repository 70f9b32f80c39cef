//! `redis` rate limit: a token bucket in Redis (refilled at `count` per `interval`), shared by
//! every instance using the same key.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::interval_of;
use crate::components::connectors::redis::{
    component_error, kind_field, master_field, url_field, RedisConn,
};
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::{BuildCtx, BuildError, ComponentError, Plugin, RateLimit};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec, Status};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisRateLimitConfig {
    pub url: String,
    pub kind: String,
    pub tls: TlsConfig,
    pub count: i64,
    pub interval: String,
    pub key: String,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis", ComponentKind::RateLimit, "A rate limit shared across all instances that use the same Redis key: at most `count` accesses per `interval`, as a token bucket in Redis that holds up to `count` tokens and refills at `count` per `interval`.")
        .status(Status::Experimental)
        .fields(vec![
            url_field(),
            kind_field(),
            master_field(),
            tls_field(),
            FieldSpec::int("count", "The maximum number of messages to allow for a given period of time.").default(1000),
            FieldSpec::string("interval", "The time window to limit requests by.").default("1s"),
            FieldSpec::string("key", "The key to use for the rate limit.").example("my_rate_limit"),
        ])
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

/// A token bucket kept in a hash (`tokens`, `ts`): it holds up to `count` tokens and refills
/// at `count` per `interval`. Takes one token; returns 0 (go ahead) or the milliseconds until
/// a token is available. The server clock is used so every instance agrees.
const SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local cap = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
local rate = cap / interval
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], interval * 2)
return wait
";

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
