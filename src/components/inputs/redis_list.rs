//! `redis_list`: pops messages from a Redis list with BLPOP (or BRPOP). A popped message is
//! gone from the list; nacked messages are replayed by the runtime (`auto_replay_nacks`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::auto_replay_field;
use crate::components::connectors::redis::{component_error, redis_component_config, RedisConn};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::{Batch, Message};
use crate::spec::{ComponentKind, ComponentSpec};

redis_component_config! {
    pub struct RedisListInputConfig {
        pub key: String = string("The key of a list to read from."),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub timeout: Duration = string("The length of time to poll for new messages before reattempting.").default("5s").advanced().duration(),
        pub command: String = string("The command used to pop elements from the Redis list.").default("blpop").options(&["blpop", "brpop"]).advanced(),
        pub auto_replay_nacks: bool = spec(auto_replay_field()),
        pub max_in_flight: i64 = int("Optionally sets a limit on the number of messages that can be flowing through a stream pending acknowledgment from the input at any given time. Once a message has been either acknowledged or rejected (nacked) it is no longer considered pending. Zero (default) or lower implies no limit.").default(0),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("redis_list", ComponentKind::Input, "Pops messages from the beginning of a Redis list using the BLPop command.")
        .description("A popped message is removed from the list, so delivery is at-least-once only within this process: messages rejected downstream are replayed from memory (`auto_replay_nacks`), but messages in flight when the process dies are lost, and so is a message whose BLPOP reply is lost with the connection (the server removed it, the client never saw it). Bento's `redis_list` has the same windows; use `amqp_0_9` where a message must survive them.")
        .fields(RedisListInputConfig::fields())
        .example("Work queue", "input:\n  redis_list:\n    url: redis://localhost:6379\n    key: jobs\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: RedisListInputConfig = ctx.parse(conf)?;
    let timeout = c.timeout.max(Duration::from_millis(10));
    if c.key.is_empty() {
        return Err(ctx.error("key must not be empty"));
    }
    Ok(Box::new(RedisListInput {
        // A blocking pop answers after `timeout` at the latest.
        conn: RedisConn::new(&c.url, &c.tls, Some(timeout + Duration::from_secs(5)), ctx)?,
        command: if c.command == "brpop" {
            "BRPOP"
        } else {
            "BLPOP"
        },
        key: c.key,
        timeout,
        replay: c.auto_replay_nacks,
        pending: None,
        in_flight: usize::try_from(c.max_in_flight)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n))),
    }))
}

pub struct RedisListInput {
    conn: RedisConn,
    command: &'static str,
    key: String,
    timeout: Duration,
    replay: bool,
    /// The pop in progress. It runs as its own task so that a `read` cancelled by the runtime
    /// (it selects between reading and replaying) never drops a popped message.
    pending: Option<tokio::task::JoinHandle<Result<Option<Vec<u8>>, ComponentError>>>,
    /// `max_in_flight`: a permit per message popped and not yet acknowledged.
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
}

#[async_trait]
impl Input for RedisListInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        self.conn.ping().await
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        // Taken before popping, so that no message leaves the list while the limit is reached.
        let permit = match &self.in_flight {
            Some(sem) => Some(
                sem.clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| ComponentError::Failed(e.to_string()))?,
            ),
            None => None,
        };
        loop {
            let pending = match self.pending.as_mut() {
                Some(p) => p,
                None => {
                    let mut c = self
                        .conn
                        .get()
                        .await
                        .map_err(|_| ComponentError::NotConnected)?;
                    let mut cmd = redis::cmd(self.command);
                    cmd.arg(&self.key).arg(self.timeout.as_secs_f64());
                    self.pending.insert(tokio::spawn(async move {
                        let r: Option<(String, Vec<u8>)> =
                            cmd.query_async(&mut c).await.map_err(component_error)?;
                        Ok(r.map(|(_, payload)| payload))
                    }))
                }
            };
            let r = pending.await;
            self.pending = None;
            match r {
                Ok(Ok(Some(payload))) => {
                    let ack: AckFn = match permit {
                        Some(permit) => Box::new(move |_| {
                            drop(permit);
                            Box::pin(async {})
                        }),
                        None => noop_ack(),
                    };
                    return Ok((vec![Message::from_bytes(payload)], ack));
                }
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(ComponentError::Failed(format!("redis_list: {e}"))),
            }
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        // A pop still waiting may take a message after we stop; it would be lost, so wait for
        // it and push its message back.
        if let Some(p) = self.pending.take() {
            if let Ok(Ok(Some(payload))) = p.await {
                if let Ok(mut c) = self.conn.get().await {
                    let back = if self.command == "BLPOP" {
                        "LPUSH"
                    } else {
                        "RPUSH"
                    };
                    let _ = redis::cmd(back)
                        .arg(&self.key)
                        .arg(payload)
                        .query_async::<()>(&mut c)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replay
    }

    // A pop runs in a task of its own that the next read (or `close`) picks up.
    fn reads_cancel_safely(&self) -> bool {
        true
    }
}
