//! `redis` processor: runs a Redis command per message; the payload becomes the reply.

use std::time::Duration;

use async_trait::async_trait;

use crate::bloblang::{InterpolatedString, Mapping};
use crate::components::connectors::args_for;
use crate::components::connectors::redis::{
    arg_bytes, redis_component_config, reply_value, RedisConn,
};
use crate::components::connectors::tls::TlsConfig;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

redis_component_config! {
    pub struct RedisProcConfig {
        pub command: InterpolatedString = string("The command to execute.").interpolated().example("scard").example("incrby").example("${! meta(\"command\") }"),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub args_mapping: Option<Mapping> = bloblang("A Bloblang mapping which should evaluate to an array of values matching in size to the number of arguments required for the specified Redis command.")
            .optional().example("root = [ this.key ]").example("root = [ meta(\"kafka_key\"), this.count ]"),
        pub retries: i64 = int("The maximum number of retries before abandoning a request.").default(3).advanced(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub retry_period: Duration = string("The time to wait before consecutive retry attempts.").default("500ms").advanced().duration(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis", ComponentKind::Processor, "Performs actions against Redis that aren't possible using a `cache` processor. Actions are performed for each message and the message contents are replaced with the result.")
        .description("In order to merge the result into the original message compose this processor within a `branch` processor. A command that fails is retried `retries` times, `retry_period` apart; then the message is flagged.")
        .fields(RedisProcConfig::fields())
        .example("Count a set's members", "pipeline:\n  processors:\n    - redis:\n        url: redis://localhost:6379\n        command: scard\n        args_mapping: 'root = [ meta(\"set_key\") ]'\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: RedisProcConfig = ctx.parse(conf)?;
    let action = RedisAction::Command {
        name: c.command,
        args: c.args_mapping,
    };
    RedisProc::boxed(&c.url, &c.tls, action, c.retries, c.retry_period, ctx)
}

/// What a Redis processor sends for each message.
pub enum RedisAction {
    /// `redis`: a command and its arguments.
    Command {
        name: InterpolatedString,
        args: Option<Mapping>,
    },
    /// `redis_script`: `EVAL` of a Lua script with its keys and arguments.
    Script {
        script: String,
        keys: Mapping,
        args: Option<Mapping>,
    },
}

impl RedisAction {
    fn command(&self, batch: &Batch, i: usize) -> Result<redis::Cmd, String> {
        match self {
            RedisAction::Command { name, args } => {
                let name = name.render(batch, i).map_err(|e| format!("command: {e}"))?;
                let mut cmd = redis::cmd(&name);
                for a in &args_for(args.as_ref(), batch, i)? {
                    cmd.arg(arg_bytes(a));
                }
                Ok(cmd)
            }
            RedisAction::Script { script, keys, args } => {
                let args = args_for(args.as_ref(), batch, i)?;
                let keys = args_for(Some(keys), batch, i)
                    .map_err(|e| e.replace("args_mapping", "keys_mapping"))?;
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(script).arg(keys.len());
                for v in keys.iter().chain(&args) {
                    cmd.arg(arg_bytes(v));
                }
                Ok(cmd)
            }
        }
    }
}

/// The `redis` and `redis_script` processors: one Redis call per message, retried, whose reply
/// becomes the payload.
pub struct RedisProc {
    conn: RedisConn,
    action: RedisAction,
    retries: u32,
    retry_period: Duration,
    info: ComponentInfo,
}

impl RedisProc {
    pub fn boxed(
        url: &str,
        tls: &TlsConfig,
        action: RedisAction,
        retries: i64,
        retry_period: Duration,
        ctx: &BuildCtx,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(RedisProc {
            conn: RedisConn::new(url, tls, Some(Duration::from_secs(10)), ctx)?,
            action,
            retries: retries.max(0) as u32,
            retry_period,
            info: ctx.info.clone(),
        }))
    }

    async fn run(&self, batch: &Batch, i: usize) -> Result<redis::Value, String> {
        let cmd = self.action.command(batch, i)?;
        self.conn
            .query_retrying(&cmd, self.retries, self.retry_period)
            .await
    }
}

#[async_trait]
impl Processor for RedisProc {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            match self.run(&batch, i).await {
                Ok(v) => batch[i].set_value(reply_value(v)),
                Err(e) => self.info.flag(&mut batch[i], e),
            }
        }
        Ok(vec![batch])
    }
}
