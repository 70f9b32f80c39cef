//! `redis_script`: runs a Lua script on Redis per message (`EVAL`), with keys and arguments from
//! mappings; the payload becomes the script's result. A script runs atomically on the server,
//! which is what makes check-and-reserve (a token quota) safe under concurrency.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::bloblang::Mapping;
use crate::components::connectors::redis::{
    arg_bytes, kind_field, reply_value, url_field, RedisConn,
};
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::connectors::{args_for, parse_args_mapping};
use crate::components::{BuildCtx, BuildError, ComponentError, ComponentInfo, Plugin, Processor};
use crate::config::parse_duration;
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec};
use crate::message::Batch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisScriptConfig {
    pub url: String,
    pub kind: String,
    pub tls: TlsConfig,
    pub script: String,
    pub args_mapping: String,
    pub keys_mapping: String,
    pub retries: i64,
    pub retry_period: String,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis_script", ComponentKind::Processor, "Performs actions against Redis using LUA scripts.")
        .description("Actions are performed for each message and the message contents are replaced with the result (an integer, a string, an array, or null for a nil reply). In order to merge the result into the original message compose this processor within a `branch` processor. A script that fails is retried `retries` times, `retry_period` apart; then the message is flagged with the error.")
        .fields(vec![
            url_field(),
            kind_field(),
            tls_field(),
            FieldSpec::string("script", "A script to use for the target operator. It has precedence over the 'command' field.")
                .example("return redis.call('set', KEYS[1], ARGV[1])"),
            FieldSpec::bloblang("args_mapping", "A Bloblang mapping which should evaluate to an array of values matching in size to the number of arguments required for the specified Redis script.")
                .example("root = [ this.key ]").example("root = [ meta(\"kafka_key\"), \"hardcoded_value\" ]"),
            FieldSpec::bloblang("keys_mapping", "A Bloblang mapping which should evaluate to an array of keys matching in size to the number of arguments required for the specified Redis script.")
                .example("root = [ this.key ]").example("root = [ meta(\"kafka_key\"), this.count ]"),
            FieldSpec::int("retries", "The maximum number of retries before abandoning a request.").default(3).advanced(),
            FieldSpec::string("retry_period", "The time to wait before consecutive retry attempts.").default("500ms").advanced(),
        ])
        .example("Count within a limit", "pipeline:\n  processors:\n    - redis_script:\n        url: redis://localhost:6379\n        script: |\n          local n = redis.call('INCR', KEYS[1])\n          if n > tonumber(ARGV[1]) then return -1 end\n          return n\n        keys_mapping: 'root = [ \"count:\" + this.user ]'\n        args_mapping: 'root = [ 100 ]'\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: RedisScriptConfig = ctx.parse(conf)?;
    let keys = crate::bloblang::parse_mapping(&c.keys_mapping)
        .map_err(|e| ctx.error(format!("keys_mapping: {e}")))?;
    Ok(Box::new(RedisScriptProc {
        conn: RedisConn::new(&c.url, &c.tls, Some(Duration::from_secs(10)), ctx)?,
        script: c.script,
        args: parse_args_mapping(Some(&c.args_mapping), ctx)?,
        keys,
        retries: c.retries.max(0) as u32,
        retry_period: parse_duration(&c.retry_period)
            .map_err(|e| ctx.error(format!("retry_period: {e}")))?,
        info: ctx.info.clone(),
    }))
}

pub struct RedisScriptProc {
    conn: RedisConn,
    script: String,
    args: Option<Mapping>,
    keys: Mapping,
    retries: u32,
    retry_period: Duration,
    info: ComponentInfo,
}

impl RedisScriptProc {
    async fn run(&self, batch: &Batch, i: usize) -> Result<redis::Value, String> {
        let args = args_for(self.args.as_ref(), batch, i)?;
        let keys = args_for(Some(&self.keys), batch, i)
            .map_err(|e| e.replace("args_mapping", "keys_mapping"))?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(&self.script).arg(keys.len());
        for k in &keys {
            cmd.arg(arg_bytes(k));
        }
        for a in &args {
            cmd.arg(arg_bytes(a));
        }
        self.conn
            .query_retrying(&cmd, self.retries, self.retry_period)
            .await
    }
}

#[async_trait]
impl Processor for RedisScriptProc {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, ComponentError> {
        for i in 0..batch.len() {
            match self.run(&batch, i).await {
                Ok(v) => batch[i].set_value(reply_value(v)),
                Err(e) => self.info.flag(&mut batch[i], e),
            }
        }
        Ok(vec![batch])
    }
}
