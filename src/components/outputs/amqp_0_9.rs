//! `amqp_0_9`: publishes to an AMQP 0.9.1 exchange. The channel runs in confirm mode: a write
//! succeeds only once the broker has confirmed every message of the batch; a broker nack or a
//! returned (unroutable, with `mandatory`) message fails it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind};
use tokio::sync::RwLock;

use crate::bloblang::InterpolatedString;
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::connectors::amqp;
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::inputs::amqp_0_9::urls_field;
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::{Batch, Message};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct ExchangeDeclare {
        pub enabled: bool = bool("Whether to declare the exchange.").default(false),
        pub r#type: String = string("The type of the exchange.").default("direct").options(&["direct", "fanout", "topic", "headers", "x-custom"]),
        pub durable: bool = bool("Whether the exchange should be durable.").default(true),
    }
}

component_config! {
    pub struct MetadataFilter {
        pub exclude_prefixes: Vec<String> = array(FieldType::String, "Provide a list of explicit metadata key prefixes to be excluded when adding metadata to sent messages.").default(serde_json::json!([])),
    }
}

component_config! {
    pub struct AmqpOutputConfig {
        pub urls: Vec<String> = spec(urls_field()).default(serde_json::json!([])),
        pub exchange: InterpolatedString = string("An AMQP exchange to publish to.").interpolated().example("my-exchange"),
        pub exchange_declare: ExchangeDeclare = object("Optionally declare the target exchange (passive).", ExchangeDeclare::fields()).default(serde_json::json!({})).advanced(),
        pub key: InterpolatedString = string("The binding key to set for each message.").default("").interpolated(),
        pub r#type: InterpolatedString = string("The type property to set for each message.").default("").interpolated().advanced(),
        pub content_type: InterpolatedString = string("The content type attribute to set for each message.").default("application/octet-stream").interpolated().advanced(),
        pub content_encoding: InterpolatedString = string("The content encoding attribute to set for each message.").default("").interpolated().advanced(),
        pub correlation_id: InterpolatedString = string("Set the correlation ID of each message with a dynamic interpolated expression.").default("").interpolated().advanced(),
        pub reply_to: InterpolatedString = string("Carries response queue name - set with a dynamic interpolated expression.").default("").interpolated().advanced(),
        pub expiration: InterpolatedString = string("Set the per-message TTL (milliseconds, as text).").default("").interpolated().advanced(),
        pub message_id: InterpolatedString = string("Set the message ID of each message with a dynamic interpolated expression.").default("").interpolated().advanced(),
        pub user_id: InterpolatedString = string("Set the user ID to the name of the publisher. If this property is set by a publisher, its value must be equal to the name of the user used to open the connection.").default("").interpolated().advanced(),
        pub app_id: InterpolatedString = string("Set the application ID of each message with a dynamic interpolated expression.").default("").interpolated().advanced(),
        pub priority: InterpolatedString = string("Set the priority of each message (0 to 9) with a dynamic interpolated expression; empty leaves it unset. Anything else fails the message.").default("").interpolated().advanced().example("0").example("${! meta(\"amqp_priority\") }"),
        pub metadata: MetadataFilter = object("Specify criteria for which metadata values are attached to messages as headers.", MetadataFilter::fields()).default(serde_json::json!({})),
        pub max_in_flight: i64 = int("The maximum number of messages to have in flight at a given time. Increase this to improve throughput.").default(64),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
        pub persistent: bool = bool("Whether message delivery should be persistent (transient by default).").default(false).advanced(),
        pub mandatory: bool = bool("Whether to set the mandatory flag on published messages. When set, a message that cannot be routed to a queue is returned and the write fails.").default(false).advanced(),
        pub immediate: bool = bool("Whether to set the immediate flag on published messages (RabbitMQ does not support it and closes the channel).").default(false).advanced(),
        #[serde(default, deserialize_with = "crate::spec::duration_unless_blank")]
        pub timeout: Option<Duration> = string("The maximum period to wait before abandoning a publish and reattempting it. If not set, wait indefinitely.").default("").advanced().example("10s").duration(),
        pub tls: TlsConfig = spec(tls_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("amqp_0_9", ComponentKind::Output, "Sends messages to an AMQP (0.91) exchange. AMQP is a messaging protocol used by various message brokers, including RabbitMQ.")
        .description("The routing key of each message is generated from the `key` field, which supports interpolation. Metadata (except keys matching `metadata.exclude_prefixes`) is sent as headers, with `_` in their names turned into `-` as Bento does (the `amqp_0_9` input turns them back); `/` in `key` and `type` becomes `.`.\n\nThe channel runs in confirm mode: a message counts as sent only once the broker has confirmed it; a broker nack, or a message returned as unroutable (with `mandatory`), fails the write so the input nacks it upstream. When the broker drops the connection the output reconnects and retries.\n\nThis output benefits from sending multiple messages in flight in parallel; tune that with `max_in_flight`.")
        .fields(AmqpOutputConfig::fields())
        .example("Publish to a queue through the default exchange", "output:\n  amqp_0_9:\n    urls: [ amqp://guest:guest@127.0.0.1:5672/ ]\n    exchange: \"\"\n    key: my-queue\n    persistent: true\n")
        .example("Route by a metadata value", "output:\n  amqp_0_9:\n    urls: [ amqp://guest:guest@127.0.0.1:5672/ ]\n    exchange: events\n    exchange_declare: { enabled: true, type: topic }\n    key: 'events.${! @kind }'\n    metadata:\n      exclude_prefixes: [ amqp_ ]\n    timeout: 10s\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: AmqpOutputConfig = ctx.parse(conf)?;
    c.tls.check(ctx)?;
    let exchange_kind = match c.exchange_declare.r#type.as_str() {
        "direct" => ExchangeKind::Direct,
        "fanout" => ExchangeKind::Fanout,
        "topic" => ExchangeKind::Topic,
        "headers" => ExchangeKind::Headers,
        other => ExchangeKind::Custom(other.to_owned()),
    };
    Ok(Box::new(AmqpOutput {
        exchange_kind,
        timeout: c.timeout,
        max_in_flight: usize::try_from(c.max_in_flight).unwrap_or(1).max(1),
        conf: c,
        live: RwLock::new(None),
    }))
}

struct Live {
    conn: Connection,
    channel: Channel,
}

impl Live {
    fn usable(&self) -> bool {
        self.conn.status().connected() && self.channel.status().connected()
    }
}

pub struct AmqpOutput {
    /// Its interpolated fields (exchange, key, properties) are parsed already.
    conf: AmqpOutputConfig,
    exchange_kind: ExchangeKind,
    timeout: Option<Duration>,
    max_in_flight: usize,
    live: RwLock<Option<Arc<Live>>>,
}

/// Why a publish failed: the connection (reconnect and retry) or the message (nack upstream).
/// AMQP carries names, properties and header keys as short strings of at most 255 bytes, and
/// the client library panics on longer ones: a longer value fails its message with this text.
fn short_string(what: &str, v: String) -> Result<lapin::types::ShortString, String> {
    if v.len() > 255 {
        return Err(format!(
            "{what} is {} bytes long, over AMQP's limit of 255 bytes for short strings: {}...",
            v.len(),
            v.chars().take(40).collect::<String>()
        ));
    }
    Ok(lapin::types::ShortString::from(v))
}

enum PublishError {
    Connection(String),
    Message(String),
}

impl AmqpOutput {
    async fn open(&self) -> Result<Live, ComponentError> {
        let conn = amqp::connect(&self.conf.urls, &self.conf.tls, "engine amqp_0_9 output").await?;
        let setup = async {
            let channel = conn.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            if self.conf.exchange_declare.enabled {
                let name = self.conf.exchange.render(&[], 0).unwrap_or_default();
                channel
                    .exchange_declare(
                        name.as_str().into(),
                        self.exchange_kind.clone(),
                        ExchangeDeclareOptions {
                            durable: self.conf.exchange_declare.durable,
                            ..ExchangeDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await?;
            }
            Ok::<_, lapin::Error>(channel)
        };
        match setup.await {
            Ok(channel) => Ok(Live { conn, channel }),
            Err(e) => {
                let _ = conn.close(200, "setup failed".into()).await;
                Err(ComponentError::failed(e))
            }
        }
    }

    fn properties(&self, batch: &[Message], i: usize) -> Result<BasicProperties, String> {
        let p = &self.conf;
        let r = |s: &InterpolatedString, name: &str| {
            s.render(batch, i).map_err(|e| format!("{name}: {e}"))
        };
        let mut props = BasicProperties::default();
        const PROPERTY_NAMES: [&str; 9] = [
            "content_type",
            "content_encoding",
            "correlation_id",
            "reply_to",
            "expiration",
            "message_id",
            "user_id",
            "app_id",
            "type",
        ];
        let text = [
            (r(&p.content_type, "content_type")?, 0),
            (r(&p.content_encoding, "content_encoding")?, 1),
            (r(&p.correlation_id, "correlation_id")?, 2),
            (r(&p.reply_to, "reply_to")?, 3),
            (r(&p.expiration, "expiration")?, 4),
            (r(&p.message_id, "message_id")?, 5),
            (r(&p.user_id, "user_id")?, 6),
            (r(&p.app_id, "app_id")?, 7),
            // As Bento: `/` in the type and the key becomes `.`.
            (r(&p.r#type, "type")?.replace('/', "."), 8),
        ];
        for (v, which) in text {
            if v.is_empty() {
                continue;
            }
            let v = short_string(PROPERTY_NAMES[which], v)?;
            props = match which {
                0 => props.with_content_type(v),
                1 => props.with_content_encoding(v),
                2 => props.with_correlation_id(v),
                3 => props.with_reply_to(v),
                4 => props.with_expiration(v),
                5 => props.with_message_id(v),
                6 => props.with_user_id(v),
                7 => props.with_app_id(v),
                _ => props.with_type(v),
            };
        }
        let prio = r(&p.priority, "priority")?;
        if !prio.is_empty() {
            props = props.with_priority(parse_priority(&prio)?);
        }
        if self.conf.persistent {
            props = props.with_delivery_mode(2);
        } else {
            props = props.with_delivery_mode(1);
        }
        let mut headers = FieldTable::default();
        for (k, v) in batch[i].meta() {
            if self
                .conf
                .metadata
                .exclude_prefixes
                .iter()
                .any(|p| k.starts_with(p.as_str()))
            {
                continue;
            }
            // Bento sends `_` in metadata keys as `-` (its input turns them back).
            headers.insert(
                short_string("metadata key", k.replace('_', "-"))?,
                amqp::to_amqp(v),
            );
        }
        Ok(props.with_headers(headers))
    }

    async fn publish(&self, live: &Live, batch: &Batch) -> Result<(), PublishError> {
        let mut confirms = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let exchange = self
                .conf
                .exchange
                .render(batch, i)
                .map_err(|e| PublishError::Message(format!("exchange: {e}")))?;
            let key = self
                .conf
                .key
                .render(batch, i)
                .map_err(|e| PublishError::Message(format!("key: {e}")))?;
            let props = self.properties(batch, i).map_err(PublishError::Message)?;
            let exchange = short_string("exchange", exchange).map_err(PublishError::Message)?;
            let key = short_string("key", key.replace('/', ".")).map_err(PublishError::Message)?;
            let confirm = live
                .channel
                .basic_publish(
                    exchange,
                    key,
                    BasicPublishOptions {
                        mandatory: self.conf.mandatory,
                        immediate: self.conf.immediate,
                    },
                    batch[i].bytes(),
                    props,
                )
                .await
                .map_err(|e| PublishError::Connection(e.to_string()))?;
            confirms.push(confirm);
        }
        for c in confirms {
            match c.await {
                Ok(Confirmation::Ack(None)) | Ok(Confirmation::NotRequested) => {}
                Ok(Confirmation::Ack(Some(ret))) => {
                    return Err(PublishError::Message(format!(
                        "message returned by the broker: {} {}",
                        ret.reply_code, ret.reply_text
                    )))
                }
                Ok(Confirmation::Nack(_)) => {
                    return Err(PublishError::Message(
                        "message was nacked by the broker".into(),
                    ))
                }
                Err(e) => return Err(PublishError::Connection(e.to_string())),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Output for AmqpOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        let mut live = self.live.write().await;
        // Concurrent writers that all saw the connection drop reconnect one after the other;
        // the first one does the work.
        if live.as_ref().is_some_and(|l| l.usable()) {
            return Ok(());
        }
        if let Some(old) = live.take() {
            let _ = old.conn.close(200, "reconnecting".into()).await;
        }
        *live = Some(Arc::new(self.open().await?));
        Ok(())
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let Some(live) = self.live.read().await.clone() else {
            return Err(ComponentError::NotConnected);
        };
        let r = match self.timeout {
            Some(t) => match tokio::time::timeout(t, self.publish(&live, batch)).await {
                Ok(r) => r,
                Err(_) => Err(PublishError::Message(format!(
                    "timed out after {t:?} waiting for the broker"
                ))),
            },
            None => self.publish(&live, batch).await,
        };
        match r {
            Ok(()) => Ok(()),
            Err(PublishError::Message(e)) => Err(ComponentError::Failed(e)),
            Err(PublishError::Connection(e)) => {
                tracing::warn!("amqp_0_9: publish failed, reconnecting: {e}");
                Err(ComponentError::NotConnected)
            }
        }
    }

    async fn close(&self) -> Result<(), ComponentError> {
        if let Some(live) = self.live.write().await.take() {
            let _ = live.channel.close(200, "closing".into()).await;
            let _ = live.conn.close(200, "closing".into()).await;
        }
        Ok(())
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

/// A rendered `priority` as Bento reads it: Go's `strconv.Atoi`, then 0 to 9 (RabbitMQ's
/// priority queues go up to 255, but Bento refuses more than 9 and so does engine).
fn parse_priority(text: &str) -> Result<u8, String> {
    let n: i64 = text.parse().map_err(|_| {
        format!("failed to parse valid integer from priority expression: strconv.Atoi: parsing {text:?}: invalid syntax")
    })?;
    match u8::try_from(n) {
        Ok(p) if p <= 9 => Ok(p),
        _ => Err(format!(
            "invalid priority parsed from expression, must be <= 9 and >= 0, got {n}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_priority;

    #[test]
    fn priorities_are_read_as_bento_reads_them() {
        assert_eq!(parse_priority("0"), Ok(0));
        assert_eq!(parse_priority("9"), Ok(9));
        assert_eq!(
            parse_priority("10"),
            Err("invalid priority parsed from expression, must be <= 9 and >= 0, got 10".into())
        );
        assert_eq!(
            parse_priority("-1"),
            Err("invalid priority parsed from expression, must be <= 9 and >= 0, got -1".into())
        );
        assert_eq!(
            parse_priority(" 5"),
            Err("failed to parse valid integer from priority expression: strconv.Atoi: parsing \" 5\": invalid syntax".into())
        );
    }
}
