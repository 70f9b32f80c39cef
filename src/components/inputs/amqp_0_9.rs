//! `amqp_0_9`: consumes a queue of an AMQP 0.9.1 broker (RabbitMQ). Each delivery is acked only
//! once the output has written it; a failure nacks it with requeue, or rejects it (no requeue)
//! when the error matches one of `nack_reject_patterns`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};
use regex::Regex;
use tokio::sync::Notify;

use crate::components::connectors::amqp;
use crate::components::connectors::tls::{tls_field, TlsConfig};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::{AckStatus, Batch, Message, Metadata, MetadataSource, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldSpec, FieldType};

pub fn urls_field() -> FieldSpec {
    FieldSpec::array(
        "urls",
        FieldType::String,
        "A list of URLs to connect to. The first URL to successfully establish a connection will be used until the connection is closed. If an item of the list contains commas, it will be expanded into multiple URLs. `amqps://` URLs use TLS.",
    )
    .example(serde_json::json!(["amqp://guest:guest@127.0.0.1:5672/"]))
    .example(serde_json::json!(["amqp://127.0.0.1:5672/,amqp://127.0.0.2:5672/"]))
}

component_config! {
    pub struct QueueDeclare {
        pub enabled: bool = bool("Whether to enable queue declaration.").default(false),
        pub durable: bool = bool("Whether the declared queue is durable.").default(true),
        pub auto_delete: bool = bool("Whether the declared queue will auto-delete.").default(false),
    }
}

component_config! {
    pub struct Binding {
        pub exchange: String = string("The exchange of the declared binding.").default(""),
        pub key: String = string("The key of the declared binding.").default(""),
    }
}

component_config! {
    pub struct AmqpInputConfig {
        pub urls: Vec<String> = spec(urls_field()).default(serde_json::json!([])),
        pub queue: String = string("An AMQP queue to consume from.").example("my-queue"),
        pub queue_declare: QueueDeclare = object("Allows you to passively declare the target queue. If the queue already exists then the declaration passively verifies that they match the target fields.", QueueDeclare::fields())
            .default(serde_json::json!({}))
            .advanced(),
        pub bindings_declare: Vec<Binding> = array(FieldType::Object(Binding::fields()), "Allows you to passively declare bindings for the target queue.")
            .default(serde_json::json!([]))
            .example(serde_json::json!([{"exchange": "foo", "key": "bar"}]))
            .advanced(),
        pub consumer_tag: String = string("A consumer tag; empty lets the broker choose one.").default(""),
        pub auto_ack: bool = bool("Acknowledge messages automatically as they are consumed rather than waiting for acknowledgments from downstream. This can improve throughput and prevent the pipeline from blocking but at the cost of eliminating delivery guarantees.").default(false).advanced(),
        pub nack_reject_patterns: Vec<String> = array(FieldType::String, "A list of regular expression patterns whereby if a message that has failed to be delivered matches one of them it will be dropped (or delivered to a dead-letter queue if one exists). By default failed messages are nacked with requeue enabled.")
            .default(serde_json::json!([]))
            .example(serde_json::json!(["^reject me please:.+$"]))
            .advanced(),
        pub prefetch_count: i64 = int("The maximum number of pending messages to have consumed at a time.").default(10),
        pub prefetch_size: i64 = int("The maximum amount of pending messages measured in bytes to have consumed at a time. Only 0 (no limit) is supported, as by RabbitMQ.").default(0).advanced(),
        pub tls: TlsConfig = spec(tls_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("amqp_0_9", ComponentKind::Input, "Connects to an AMQP (0.91) queue. AMQP is a messaging protocol used by various message brokers, including RabbitMQ.")
        .description("Messages are acknowledged on the broker only after the output has delivered them; a failed delivery is nacked with requeue so the broker redelivers it, unless its error matches one of `nack_reject_patterns`, in which case it is rejected without requeue (dead-lettered when the queue has a dead letter exchange).\n\nMetadata: `amqp_content_type`, `amqp_content_encoding`, `amqp_delivery_mode`, `amqp_priority`, `amqp_correlation_id`, `amqp_reply_to`, `amqp_expiration`, `amqp_message_id`, `amqp_timestamp`, `amqp_type`, `amqp_user_id`, `amqp_app_id`, `amqp_consumer_tag`, `amqp_delivery_tag`, `amqp_redelivered`, `amqp_exchange`, `amqp_routing_key`, and every message header (nested headers prefixed with the key of their parent), as Bento sets them: every value is text (`amqp_priority` `\"0\"` when unset, `amqp_redelivered` `\"false\"`), `-` in header names becomes `_`, array headers become `name_0`, `name_1`…, header timestamps RFC 3339 in UTC, decimals their digits with the point, and empty values are left out.\n\nWhen the broker drops the connection the input reconnects; deliveries of the dead channel are redelivered by the broker and never acknowledged on the new channel.")
        .fields(AmqpInputConfig::fields())
        .example("Consume a queue", "input:\n  amqp_0_9:\n    urls: [ amqp://guest:guest@127.0.0.1:5672/ ]\n    queue: my-queue\n    queue_declare:\n      enabled: true\n")
        .example("Bind a queue to an exchange and dead-letter some failures", "input:\n  amqp_0_9:\n    urls: [ \"amqp://guest:guest@10.0.0.1:5672/,amqp://guest:guest@10.0.0.2:5672/\" ]\n    queue: work\n    queue_declare: { enabled: true }\n    bindings_declare:\n      - { exchange: amq.direct, key: work }\n    nack_reject_patterns: [ '^invalid' ]\n    prefetch_count: 50\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: AmqpInputConfig = ctx.parse(conf)?;
    c.tls.check(ctx)?;
    if c.queue.is_empty() {
        return Err(ctx.error("queue must not be empty"));
    }
    let reject = c
        .nack_reject_patterns
        .iter()
        .map(|p| Regex::new(p).map_err(|e| ctx.error(format!("nack_reject_patterns: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let prefetch = u16::try_from(c.prefetch_count)
        .map_err(|_| ctx.error("prefetch_count must be between 0 and 65535"))?;
    if c.prefetch_size != 0 {
        return Err(ctx.error("prefetch_size: only 0 (no limit) is supported"));
    }
    Ok(Box::new(AmqpInput {
        conf: c,
        prefetch,
        reject: Arc::new(reject),
        conn: None,
        outstanding: Arc::default(),
        ack_errors: crate::metrics::error_counter(
            "input_ack_error",
            &ctx.info.label,
            &ctx.info.path,
        ),
    }))
}

struct Live {
    conn: Connection,
    channel: Channel,
    consumer: Consumer,
    /// The consumer's tag, shared by the metadata of its deliveries.
    tag: Arc<str>,
}

pub struct AmqpInput {
    conf: AmqpInputConfig,
    prefetch: u16,
    reject: Arc<Vec<Regex>>,
    conn: Option<Live>,
    /// Acknowledgements not yet sent: `close` waits for them so that a clean shutdown does not
    /// leave delivered messages to be redelivered.
    outstanding: Arc<Outstanding>,
    /// Acknowledgements the broker did not take (the message will be redelivered).
    ack_errors: metrics::Counter,
}

#[derive(Default)]
struct Outstanding {
    count: AtomicUsize,
    done: Notify,
}

/// Counts one acknowledgement as outstanding until dropped (sent, or given up).
struct Pending(Arc<Outstanding>);

impl Pending {
    fn new(o: &Arc<Outstanding>) -> Pending {
        o.count.fetch_add(1, Ordering::SeqCst);
        Pending(o.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

impl AmqpInput {
    async fn open(&self) -> Result<Live, ComponentError> {
        let c = &self.conf;
        let conn = amqp::connect(&c.urls, &c.tls, "engine amqp_0_9 input").await?;
        let setup = async {
            let channel = conn.create_channel().await?;
            if c.queue_declare.enabled {
                channel
                    .queue_declare(
                        c.queue.as_str().into(),
                        QueueDeclareOptions {
                            durable: c.queue_declare.durable,
                            auto_delete: c.queue_declare.auto_delete,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await?;
            }
            for b in &c.bindings_declare {
                channel
                    .queue_bind(
                        c.queue.as_str().into(),
                        b.exchange.as_str().into(),
                        b.key.as_str().into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
            channel
                .basic_qos(self.prefetch, BasicQosOptions::default())
                .await?;
            let consumer = channel
                .basic_consume(
                    c.queue.as_str().into(),
                    c.consumer_tag.as_str().into(),
                    BasicConsumeOptions {
                        no_ack: c.auto_ack,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, lapin::Error>((channel, consumer))
        };
        match setup.await {
            Ok((channel, consumer)) => Ok(Live {
                tag: Arc::from(consumer.tag().as_str()),
                conn,
                channel,
                consumer,
            }),
            Err(e) => {
                let _ = conn.close(200, "setup failed".into()).await;
                Err(ComponentError::failed(format!("queue {}: {e}", c.queue)))
            }
        }
    }
}

/// The message a delivery becomes. The body moves into the message (no copy), and so do the
/// properties, headers and names that become its metadata when the pipeline first reads it;
/// the rest of the delivery stays for its acker.
fn to_message(d: &mut lapin::message::Delivery, consumer_tag: &Arc<str>) -> Message {
    let mut m = Message::from_bytes(std::mem::take(&mut d.data));
    m.set_deferred_meta(DeliveryMetadata {
        properties: std::mem::take(&mut d.properties),
        consumer_tag: consumer_tag.clone(),
        delivery_tag: d.delivery_tag,
        redelivered: d.redelivered,
        exchange: std::mem::take(&mut d.exchange),
        routing_key: std::mem::take(&mut d.routing_key),
    });
    m
}

/// What a delivery's metadata is built from.
struct DeliveryMetadata {
    properties: lapin::BasicProperties,
    consumer_tag: Arc<str>,
    delivery_tag: u64,
    redelivered: bool,
    exchange: lapin::types::ShortString,
    routing_key: lapin::types::ShortString,
}

impl MetadataSource for DeliveryMetadata {
    fn build(&self) -> Metadata {
        let mut meta = Metadata::new();
        let p = &self.properties;
        // Headers first, so that a property wins over a header of the same name, as in Bento.
        if let Some(h) = p.headers() {
            for (k, v) in h.inner() {
                amqp::set_metadata(&mut meta, k.as_str(), v);
            }
        }
        // Properties follow the same rules as headers (text, empty left out); their names are
        // fixed, so they skip the header path's key rewriting and value conversion.
        let mut put = |k: &'static str, v: &str| {
            if !v.is_empty() {
                meta.insert(k.into(), Value::from(v));
            }
        };
        put("amqp_content_type", text(p.content_type()));
        put("amqp_content_encoding", text(p.content_encoding()));
        if let Some(mode) = p.delivery_mode().filter(|m| *m != 0) {
            put("amqp_delivery_mode", itoa::Buffer::new().format(mode));
        }
        // Go's zero value: Bento always sets the priority, "0" when the message has none.
        put(
            "amqp_priority",
            itoa::Buffer::new().format(p.priority().unwrap_or(0)),
        );
        put("amqp_correlation_id", text(p.correlation_id()));
        put("amqp_reply_to", text(p.reply_to()));
        put("amqp_expiration", text(p.expiration()));
        put("amqp_message_id", text(p.message_id()));
        // Bento writes the Unix seconds here, not the RFC 3339 form headers get.
        if let Some(t) = p.timestamp().filter(|t| *t != 0) {
            put("amqp_timestamp", itoa::Buffer::new().format(t));
        }
        put("amqp_type", text(p.kind()));
        put("amqp_user_id", text(p.user_id()));
        put("amqp_app_id", text(p.app_id()));
        put("amqp_consumer_tag", &self.consumer_tag);
        put(
            "amqp_delivery_tag",
            itoa::Buffer::new().format(self.delivery_tag),
        );
        put(
            "amqp_redelivered",
            if self.redelivered { "true" } else { "false" },
        );
        put("amqp_exchange", self.exchange.as_str());
        put("amqp_routing_key", self.routing_key.as_str());
        meta
    }
}

fn text(v: &Option<lapin::types::ShortString>) -> &str {
    v.as_ref().map_or("", |s| s.as_str())
}

#[async_trait]
impl Input for AmqpInput {
    // Deliveries wait in the consumer's stream until a read takes one.
    fn reads_cancel_safely(&self) -> bool {
        true
    }

    async fn connect(&mut self) -> Result<(), ComponentError> {
        if let Some(old) = self.conn.take() {
            let _ = old.conn.close(200, "reconnecting".into()).await;
        }
        self.conn = Some(self.open().await?);
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        let Some(live) = self.conn.as_mut() else {
            return Err(ComponentError::NotConnected);
        };
        let mut delivery = match live.consumer.next().await {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                tracing::warn!("amqp_0_9: consumer failed: {e}");
                self.conn = None;
                return Err(ComponentError::NotConnected);
            }
            None => {
                self.conn = None;
                return Err(ComponentError::NotConnected);
            }
        };
        let msg = to_message(&mut delivery, &live.tag);
        if self.conf.auto_ack {
            return Ok((vec![msg], noop_ack()));
        }
        // The acker belongs to the channel the delivery came on: after a reconnect it is
        // poisoned and does nothing, so a stale delivery tag is never acked on a new channel
        // (the broker redelivers the message instead).
        let acker = delivery.acker;
        let reject = self.reject.clone();
        let pending = Pending::new(&self.outstanding);
        let ack_errors = self.ack_errors.clone();
        let ack: AckFn = Box::new(move |status| {
            Box::pin(async move {
                let _pending = pending;
                let r = match status {
                    AckStatus::Delivered => acker.ack(BasicAckOptions::default()).await,
                    AckStatus::Failed(why) => {
                        let requeue = !reject.iter().any(|r| r.is_match(&why));
                        acker
                            .nack(BasicNackOptions {
                                multiple: false,
                                requeue,
                            })
                            .await
                    }
                };
                if let Err(e) = r {
                    // The broker redelivers the message: a duplicate downstream.
                    ack_errors.increment(1);
                    tracing::warn!(
                        "amqp_0_9: acknowledgement not sent, the message will be redelivered: {e}"
                    );
                }
            })
        });
        Ok((vec![msg], ack))
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        // Let the acknowledgements of delivered messages reach the broker first (bounded: a
        // message still in flight keeps its ack pending, and the broker redelivers it).
        let o = self.outstanding.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let done = o.done.notified();
                if o.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                done.await;
            }
        })
        .await;
        if let Some(live) = self.conn.take() {
            let _ = live.channel.close(200, "closing".into()).await;
            let _ = live.conn.close(200, "closing".into()).await;
        }
        Ok(())
    }
}
