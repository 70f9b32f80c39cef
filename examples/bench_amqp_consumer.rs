//! A plain lapin consumer: the baseline of the `amqp_0_9 → drop` row of `benches/connectors.sh`.
//!
//!     cargo run --release --features bench-baselines --example bench_amqp_consumer -- --queue bench --messages 100000
//!
//! Consumes the queue with a prefetch of `--prefetch` (the engine input's `prefetch_count`),
//! acks each delivery once received, exits after N messages and prints the elapsed time and
//! messages per second.

use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    url: String,
    #[arg(long)]
    queue: String,
    #[arg(long, default_value_t = 100_000)]
    messages: u64,
    /// Unacknowledged deliveries at most (the engine input's `prefetch_count`).
    #[arg(long, default_value_t = 10)]
    prefetch: u16,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

async fn run(a: &Args) -> anyhow::Result<()> {
    let conn = Connection::connect(&a.url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    ch.basic_qos(a.prefetch, BasicQosOptions::default()).await?;
    let mut consumer = ch
        .basic_consume(
            a.queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let started = Instant::now();
    let mut n = 0u64;
    while n < a.messages {
        let Some(d) = consumer.next().await else {
            anyhow::bail!("consumer ended after {n} messages");
        };
        // Ack without holding up the next read (as the engine's ack handles do): awaiting
        // each ack in line would add a round trip through lapin's I/O thread per message.
        let acker = d?.acker;
        tokio::spawn(async move { acker.ack(BasicAckOptions::default()).await });
        n += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "consumed {n} messages in {secs:.3} s: {:.0} msg/s",
        n as f64 / secs
    );
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    // On a worker thread, like the engine's tasks (block_on's thread would add a hop per wake).
    let work = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(a.timeout), run(&a))
            .await
            .map_err(|_| anyhow::anyhow!("timed out after {} s", a.timeout))?
    });
    work.await?
}
