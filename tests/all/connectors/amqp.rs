//! `amqp_0_9` input and output against RabbitMQ.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use engine::components::ComponentError;
use engine::message::{Message, Value};
use lapin::options::{BasicGetOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use tokio_util::sync::CancellationToken;

use super::suite::{self, suite_tests, Harness, Target};

struct Rabbit {
    url: String,
}

impl Rabbit {
    async fn conn(&self) -> Connection {
        // lapin reads the trailing `/` of Bento's URL form as vhost "": the engine's reading.
        let url = engine::components::connectors::amqp::default_vhost(&self.url);
        Connection::connect(&url, ConnectionProperties::default())
            .await
            .expect("test connection to RabbitMQ")
    }
}

#[async_trait]
impl Target for Rabbit {
    async fn setup(&self, id: &str) {
        let c = self.conn().await;
        let ch = c.create_channel().await.unwrap();
        ch.queue_declare(
            id.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        let _ = c.close(200, "".into()).await;
    }

    async fn stored(&self, id: &str) -> Vec<String> {
        // Get every ready message without acking, then close: the broker requeues them all.
        let c = self.conn().await;
        let ch = c.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(id.into(), BasicGetOptions { no_ack: false })
            .await
            .unwrap()
        {
            out.push(String::from_utf8_lossy(&m.delivery.data).into_owned());
        }
        let _ = c.close(200, "".into()).await;
        out
    }

    async fn kill(&self, _id: &str) {
        let out = tokio::process::Command::new("rabbitmqctl")
            .args(["close_all_connections", "test"])
            .output()
            .await
            .expect("rabbitmqctl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn teardown(&self, id: &str) {
        let c = self.conn().await;
        let ch = c.create_channel().await.unwrap();
        let _ = ch
            .queue_delete(id.into(), QueueDeleteOptions::default())
            .await;
        let _ = c.close(200, "".into()).await;
    }
}

fn harness() -> Option<Harness> {
    let url = super::amqp_url()?;
    Some(Harness {
        name: "amqp_0_9",
        output: format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: \"\"\n  key: $ID\n  max_in_flight: 64\n  metadata:\n    exclude_prefixes: [ suite_ ]\n"),
        input: Some(format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  queue: $ID\n  prefetch_count: 100\n")),
        target: Arc::new(Rabbit { url }),
    })
}

/// Killing connections is broker-wide, so the cases take turns.
static BROKER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The broker for the cases that talk to it directly (the harness has checked it is there).
fn rabbit() -> Rabbit {
    Rabbit {
        url: super::amqp_url().unwrap_or_default(),
    }
}

suite_tests! { serial: BROKER, harness: harness();
    missing_exchange(_h) { missing_exchange_backs_off(&rabbit().url).await }
    nack_and_reject(_h) { let r = rabbit(); nack_reject_patterns(&r.url, &r).await }
    properties_mandatory_and_failover(_h) {
        let r = rabbit();
        properties_mandatory_failover(&r.url, &r).await
    }
    open_close(h) { suite::open_close(&h).await }
    send_batch(h) { suite::send_batch(&h, 10).await }
    metadata(h) { suite::metadata(&h).await }
    at_least_once(h) { suite::at_least_once(&h, 20, 5).await }
    stream_parallel(h) { suite::stream_parallel(&h, 10_000).await }
    reconnect_output(h) { suite::reconnect_output(&h, 1000).await }
    reconnect_input(h) { suite::reconnect_input(&h, 2000).await }
}

/// Publishing to an exchange that does not exist closes the channel on every attempt: the
/// output reconnects with growing waits instead of thousands of times a second.
async fn missing_exchange_backs_off(url: &str) {
    engine::metrics::prometheus();
    let id = suite::unique_id("amqp_noexch");
    let yaml = format!(
        "input:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"x\"'\noutput:\n  label: {id}\n  amqp_0_9:\n    urls: [ \"{url}\" ]\n    exchange: {id}\n    key: k\n"
    );
    let stream = suite::build(&yaml);
    let stop = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(stream.run(stop.clone(), Duration::from_secs(1)));
    // Nothing can be awaited: the point is how often the output tries within this time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.cancel();
    let _ = run.await;
    let lost: f64 = engine::metrics::render()
        .lines()
        .filter(|l| {
            l.starts_with("output_connection_lost{") && l.contains(&format!("label=\"{id}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        (1.0..=20.0).contains(&lost),
        "the output reconnected {lost} times in 1.5 s"
    );
}

/// Failures matching `nack_reject_patterns` are rejected (dead-lettered), not requeued.
async fn nack_reject_patterns(url: &str, rabbit: &Rabbit) {
    let id = suite::unique_id("amqp_dlx");
    let dlq = format!("{id}_dlq");
    let c = rabbit.conn().await;
    let ch = c.create_channel().await.unwrap();
    ch.queue_declare(
        dlq.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut args = FieldTable::default();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(dlq.as_str().into()),
    );
    ch.queue_declare(id.as_str().into(), QueueDeclareOptions::default(), args)
        .await
        .unwrap();
    let _ = c.close(200, "".into()).await;

    let h = Harness {
        name: "amqp_0_9",
        output: format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: \"\"\n  key: $ID\n"),
        input: Some(format!(
            "amqp_0_9:\n  urls: [ \"{url}\" ]\n  queue: $ID\n  nack_reject_patterns: [ 'refuses$' ]\n"
        )),
        target: Arc::new(Rabbit { url: url.to_owned() }),
    };
    suite::write_all(
        &h,
        &id,
        suite::messages(&id, 3),
        1,
        Duration::ZERO,
        Default::default(),
        async {},
    )
    .await;
    let out = Arc::new(suite::CollectOutput {
        fail_first: AtomicUsize::new(3),
        ..Default::default()
    });
    let stop = CancellationToken::new();
    let run = tokio::spawn(
        suite::stream_of(suite::input_of(&h, &id), out.clone())
            .run(stop.clone(), Duration::from_secs(5)),
    );
    let started = Instant::now();
    while rabbit.stored(&dlq).await.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    run.await.unwrap();
    assert_eq!(out.failures.load(Ordering::SeqCst), 3);
    assert!(
        out.got.lock().unwrap().is_empty(),
        "rejected messages were redelivered"
    );
    assert!(rabbit.stored(&id).await.is_empty());
    assert_eq!(rabbit.stored(&dlq).await.len(), 3);
    rabbit.teardown(&id).await;
    rabbit.teardown(&dlq).await;
    eprintln!("amqp_0_9: 3 of 3 failures matching nack_reject_patterns dead-lettered");
}

/// Properties become `amqp_*` metadata; an unroutable mandatory publish fails; a dead URL in
/// the list fails over to the next.
async fn properties_mandatory_failover(url: &str, rabbit: &Rabbit) {
    let id = suite::unique_id("amqp_props");
    rabbit.setup(&id).await;
    let h = Harness {
        name: "amqp_0_9",
        output: format!(
            "amqp_0_9:\n  urls: [ \"amqp://guest:guest@127.0.0.1:1/,{url}\" ]\n  exchange: \"\"\n  key: $ID\n  content_type: application/json\n  message_id: '${{! this.id }}'\n  priority: '3'\n  persistent: true\n  metadata:\n    exclude_prefixes: [ suite_ ]\n"
        ),
        input: Some(format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  queue: $ID\n")),
        target: Arc::new(Rabbit { url: url.to_owned() }),
    };
    suite::write_all(
        &h,
        &id,
        suite::messages(&id, 1),
        1,
        Duration::ZERO,
        Default::default(),
        async {},
    )
    .await;
    let got = suite::read_until(&h, &id, 1, Arc::default(), async {}).await;
    let m = &got[0];
    assert_eq!(
        m.meta_str("amqp_content_type").as_deref(),
        Some("application/json")
    );
    assert_eq!(m.meta_str("amqp_message_id").as_deref(), Some("0"));
    assert_eq!(m.meta_str("amqp_priority").as_deref(), Some("3"));
    assert_eq!(m.meta_str("amqp_delivery_mode").as_deref(), Some("2"));
    assert_eq!(m.meta_str("amqp_routing_key").as_deref(), Some(id.as_str()));
    assert_eq!(m.meta_str("amqp_redelivered").as_deref(), Some("false"));
    // As Bento's amqpSetMetadata: text values, empty properties left out.
    assert_eq!(
        m.meta().get("amqp_priority"),
        Some(&Value::String("3".into()))
    );
    assert!(m.meta().get("amqp_reply_to").is_none());
    assert!(
        m.meta().get("suite_n").is_none(),
        "excluded prefix sent as a header"
    );

    // As Bento's output: `_` in metadata keys goes out as `-`, `/` in the type becomes `.`,
    // and a priority outside 0–9 fails the message.
    let shaped = Harness {
        name: "amqp_0_9",
        output: format!(
            "amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: \"\"\n  key: $ID\n  type: events/created\n  priority: '${{! @prio }}'\n"
        ),
        input: None,
        target: Arc::new(Rabbit { url: url.to_owned() }),
    };
    let out = suite::output_of(&shaped, &id);
    out.connect().await.unwrap();
    let mut sent = Message::from_bytes("shaped");
    sent.meta_mut().insert("trace_id".into(), Value::from("t1"));
    sent.meta_mut().insert("prio".into(), Value::from("9"));
    out.write(&vec![sent.clone()]).await.unwrap();
    sent.meta_mut().insert("prio".into(), Value::from("10"));
    let r = out.write(&vec![sent]).await;
    assert!(
        matches!(&r, Err(ComponentError::Failed(e)) if e.contains("must be <= 9 and >= 0, got 10")),
        "{r:?}"
    );
    out.close().await.unwrap();
    let c = rabbit.conn().await;
    let ch = c.create_channel().await.unwrap();
    let got = ch
        .basic_get(id.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the shaped message is queued");
    let p = &got.delivery.properties;
    let headers = p.headers().clone().unwrap_or_default();
    let names: Vec<&str> = headers.inner().keys().map(|k| k.as_str()).collect();
    assert!(names.contains(&"trace-id"), "{names:?}");
    assert_eq!(
        p.kind().as_ref().map(|k| k.as_str()),
        Some("events.created")
    );
    assert_eq!(*p.priority(), Some(9));
    let _ = c.close(200, "".into()).await;
    rabbit.teardown(&id).await;

    let unroutable = Harness {
        name: "amqp_0_9",
        output: format!(
            "amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: amq.direct\n  key: nowhere_$ID\n  mandatory: true\n"
        ),
        input: None,
        target: Arc::new(Rabbit { url: url.to_owned() }),
    };
    let out = suite::output_of(&unroutable, &id);
    out.connect().await.unwrap();
    let r = out.write(&vec![Message::from_bytes("lost?")]).await;
    assert!(
        matches!(&r, Err(ComponentError::Failed(e)) if e.contains("returned")),
        "{r:?}"
    );
    out.close().await.unwrap();

    // The output declares its topic exchange; routing keys are interpolated per message.
    let routed = Harness {
        name: "amqp_0_9",
        output: format!(
            "amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: x_$ID\n  exchange_declare:\n    enabled: true\n    type: topic\n    durable: false\n  key: 'events.${{! this.name }}'\n"
        ),
        input: None,
        target: Arc::new(Rabbit { url: url.to_owned() }),
    };
    let out = suite::output_of(&routed, &id);
    out.connect().await.unwrap();
    rabbit.setup(&id).await;
    let c = rabbit.conn().await;
    let ch = c.create_channel().await.unwrap();
    ch.queue_bind(
        id.as_str().into(),
        format!("x_{id}").as_str().into(),
        "events.a".into(),
        Default::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let batch = vec![
        Message::from_bytes(r#"{"name":"a","n":1}"#),
        Message::from_bytes(r#"{"name":"b","n":2}"#),
        Message::from_bytes(r#"{"name":"a","n":3}"#),
    ];
    out.write(&batch).await.unwrap();
    out.close().await.unwrap();
    let mut got = rabbit.stored(&id).await;
    got.sort();
    assert_eq!(got, [r#"{"name":"a","n":1}"#, r#"{"name":"a","n":3}"#]);
    let _ = ch
        .exchange_delete(format!("x_{id}").as_str().into(), Default::default())
        .await;
    let _ = c.close(200, "".into()).await;
    rabbit.teardown(&id).await;
    eprintln!("amqp_0_9: properties as metadata, mandatory return fails the write, failover, exchange declaration and routing ok");
}
