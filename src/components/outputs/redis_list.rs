//! `redis_list`: pushes messages onto Redis lists (RPUSH, or LPUSH), one pipeline per batch.

use std::time::Duration;

use async_trait::async_trait;

use crate::bloblang::InterpolatedString;
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::connectors::redis::{component_error, redis_component_config, RedisConn};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

redis_component_config! {
    pub struct RedisListOutputConfig {
        pub key: InterpolatedString = string("The key for each message, function interpolations can be optionally used to create a unique key per message.")
            .interpolated().example("some_list").example("${! @.from }").example("${! this.id }"),
        pub command: String = string("The command used to push elements to the Redis list.").default("rpush").options(&["rpush", "lpush"]).advanced(),
        pub max_in_flight: i64 = int("The maximum number of messages to have in flight at a given time. Increase this to improve throughput.").default(64),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis_list", ComponentKind::Output, "Pushes messages onto the end of a Redis list (which is created if it doesn't already exist) using the RPUSH command.")
        .description("The field `key` supports interpolation functions, allowing you to create a unique key for each message. A batch is sent as one pipeline; when the connection drops the output reconnects and resends the batch.")
        .fields(RedisListOutputConfig::fields())
        .example("Queue jobs", "output:\n  redis_list:\n    url: redis://localhost:6379\n    key: jobs\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: RedisListOutputConfig = ctx.parse(conf)?;
    Ok(Box::new(RedisListOutput {
        conn: RedisConn::new(&c.url, &c.tls, Some(Duration::from_secs(10)), ctx)?,
        key: c.key,
        command: if c.command == "lpush" {
            "LPUSH"
        } else {
            "RPUSH"
        },
        max_in_flight: c.max_in_flight.max(1) as usize,
    }))
}

pub struct RedisListOutput {
    conn: RedisConn,
    key: InterpolatedString,
    command: &'static str,
    max_in_flight: usize,
}

#[async_trait]
impl Output for RedisListOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        self.conn.ping().await
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let mut pipe = redis::pipe();
        for i in 0..batch.len() {
            let key = self
                .key
                .render(batch, i)
                .map_err(|e| ComponentError::Failed(format!("key: {e}")))?;
            pipe.cmd(self.command)
                .arg(key)
                .arg(batch[i].bytes().as_ref())
                .ignore();
        }
        let mut c = self
            .conn
            .get()
            .await
            .map_err(|_| ComponentError::NotConnected)?;
        pipe.query_async::<()>(&mut c)
            .await
            .map_err(component_error)
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}
