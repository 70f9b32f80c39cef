//! A plain lapin publisher: the baseline of the `generate → amqp_0_9` row of
//! `benches/connectors.sh`, and the tool that fills (and purges) the benchmark queue.
//!
//!     cargo run --release --features bench-baselines --example bench_amqp_publisher -- --queue bench --messages 100000
//!
//! Publishes N persistent messages (delivery mode 2) of one payload to a queue through the
//! default exchange on a confirm-mode channel, keeping at most `--max-in-flight` confirms
//! outstanding (the engine output's `max_in_flight`), waits for every confirm, and prints the
//! elapsed time and messages per second. `--purge` declares the queue (durable) and empties it
//! first; `--messages 0 --purge` only does that.

use std::time::{Duration, Instant};

use clap::Parser;
use futures::stream::{FuturesUnordered, StreamExt};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueuePurgeOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    url: String,
    #[arg(long)]
    queue: String,
    #[arg(long, default_value_t = 100_000)]
    messages: u64,
    /// Confirms outstanding at most (the engine output's `max_in_flight`).
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    #[arg(long, default_value = r#"{"id":100000,"prompt":"hello world"}"#)]
    payload: String,
    /// Declare the queue (durable) and purge it before publishing.
    #[arg(long)]
    purge: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

fn confirmed(c: lapin::Result<Confirmation>) -> anyhow::Result<()> {
    match c? {
        Confirmation::Ack(None) => Ok(()),
        other => anyhow::bail!("publish not confirmed: {other:?}"),
    }
}

async fn run(a: &Args) -> anyhow::Result<()> {
    let conn = Connection::connect(&a.url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    if a.purge {
        let opts = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        ch.queue_declare(a.queue.as_str().into(), opts, FieldTable::default())
            .await?;
        let n = ch
            .queue_purge(a.queue.as_str().into(), QueuePurgeOptions::default())
            .await?;
        eprintln!("purged {n} messages from {}", a.queue);
    }
    if a.messages > 0 {
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        // What the engine's amqp_0_9 output sends for a generated message: its default
        // content type, persistent delivery, no headers.
        let props = BasicProperties::default()
            .with_content_type("application/octet-stream".into())
            .with_delivery_mode(2)
            .with_headers(FieldTable::default());
        let max = a.max_in_flight.max(1);
        let started = Instant::now();
        let mut pending = FuturesUnordered::new();
        for _ in 0..a.messages {
            if pending.len() >= max {
                if let Some(c) = pending.next().await {
                    confirmed(c)?;
                }
            }
            let confirm = ch
                .basic_publish(
                    "".into(),
                    a.queue.as_str().into(),
                    BasicPublishOptions::default(),
                    a.payload.as_bytes(),
                    props.clone(),
                )
                .await?;
            pending.push(confirm);
        }
        while let Some(c) = pending.next().await {
            confirmed(c)?;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "published {} messages in {secs:.3} s: {:.0} msg/s",
            a.messages,
            a.messages as f64 / secs
        );
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    tokio::time::timeout(Duration::from_secs(a.timeout), run(&a))
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {} s", a.timeout))?
}
