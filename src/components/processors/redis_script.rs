//! `redis_script`: runs a Lua script on Redis per message (`EVAL`), with keys and arguments from
//! mappings; the payload becomes the script's result. A script runs atomically on the server,
//! which is what makes check-and-reserve (a token quota) safe under concurrency.

use super::redis::{RedisAction, RedisProc};
use crate::components::connectors::redis::redis_component_config;
use crate::components::{BuildCtx, BuildError, Plugin, Processor};
use crate::spec::{ComponentKind, ComponentSpec};

redis_component_config! {
    pub struct RedisScriptConfig {
        pub script: String = string("A script to use for the target operator. It has precedence over the 'command' field.")
            .example("return redis.call('set', KEYS[1], ARGV[1])"),
        // Required (no `default`): a config without it is refused as a missing field.
        #[serde(deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub args_mapping: Option<crate::bloblang::Mapping> = bloblang("A Bloblang mapping which should evaluate to an array of values matching in size to the number of arguments required for the specified Redis script.")
            .example("root = [ this.key ]").example("root = [ meta(\"kafka_key\"), \"hardcoded_value\" ]"),
        pub keys_mapping: crate::bloblang::Mapping = bloblang("A Bloblang mapping which should evaluate to an array of keys matching in size to the number of arguments required for the specified Redis script.")
            .example("root = [ this.key ]").example("root = [ meta(\"kafka_key\"), this.count ]"),
        pub retries: i64 = int("The maximum number of retries before abandoning a request.").default(3).advanced(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub retry_period: std::time::Duration = string("The time to wait before consecutive retry attempts.").default("500ms").advanced().duration(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis_script", ComponentKind::Processor, "Performs actions against Redis using LUA scripts.")
        .description("Actions are performed for each message and the message contents are replaced with the result (an integer, a string, an array, or null for a nil reply). In order to merge the result into the original message compose this processor within a `branch` processor. A script that fails is retried `retries` times, `retry_period` apart; then the message is flagged with the error.")
        .fields(RedisScriptConfig::fields())
        .example("Count within a limit", "pipeline:\n  processors:\n    - redis_script:\n        url: redis://localhost:6379\n        script: |\n          local n = redis.call('INCR', KEYS[1])\n          if n > tonumber(ARGV[1]) then return -1 end\n          return n\n        keys_mapping: 'root = [ \"count:\" + this.user ]'\n        args_mapping: 'root = [ 100 ]'\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: RedisScriptConfig = ctx.parse(conf)?;
    let action = RedisAction::Script {
        script: c.script,
        keys: c.keys_mapping,
        args: c.args_mapping,
    };
    RedisProc::boxed(&c.url, &c.tls, action, c.retries, c.retry_period, ctx)
}
