//! `amqp_0_9` input and output against RabbitMQ.

use std::sync::Arc;

use async_trait::async_trait;
use lapin::options::{BasicGetOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};

use super::suite::{self, Harness, Target};

struct Rabbit {
    url: String,
}

impl Rabbit {
    async fn conn(&self) -> Connection {
        Connection::connect(&self.url, ConnectionProperties::default())
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
    let url = super::service(
        "ENGINE_TEST_AMQP_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        "127.0.0.1:5672",
    )?;
    Some(Harness {
        name: "amqp_0_9",
        output: format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  exchange: \"\"\n  key: $ID\n  max_in_flight: 64\n  metadata:\n    exclude_prefixes: [ suite_ ]\n"),
        input: Some(format!("amqp_0_9:\n  urls: [ \"{url}\" ]\n  queue: $ID\n  prefetch_count: 100\n")),
        target: Arc::new(Rabbit { url }),
    })
}

/// Every case in one test: killing connections is broker-wide, so the cases must not overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amqp_0_9_suite() {
    let Some(h) = harness() else { return };
    suite::open_close(&h).await;
    suite::send_batch(&h, 10).await;
    suite::metadata(&h).await;
    suite::at_least_once(&h, 20, 5).await;
    suite::stream_parallel(&h, 10_000).await;
    suite::reconnect_output(&h, 1000).await;
    suite::reconnect_input(&h, 2000).await;
}
