//! The fault suite: 10,000 messages flow RabbitMQ → Redis → PostgreSQL through one engine
//! process while its RabbitMQ connections are closed, its PostgreSQL backends terminated, its
//! Redis clients killed, and the engine itself stopped with SIGTERM and with kill -9 and
//! restarted. Every message must arrive at least once; none may be lost.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::BasicProperties;

use crate::platform::{eventually, pg, Backends, Procs};

const MESSAGES: i64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_message_arrives_through_service_faults_sigterm_and_kill_9() {
    engine::http::install_tls_provider();
    let id = format!("faults_{}", std::process::id());
    let Some(b) = Backends::create(&id).await else {
        return;
    };
    let table = "delivered";
    pg(&b.dsn)
        .await
        .batch_execute(&format!("CREATE TABLE {table} (id bigint NOT NULL)"))
        .await
        .expect("table");

    // The queue, filled before the engine starts.
    let conn = lapin::Connection::connect(&b.amqp_url, lapin::ConnectionProperties::default())
        .await
        .expect("RabbitMQ");
    let ch = conn.create_channel().await.expect("channel");
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.queue_declare(b.req_queue.as_str().into(), durable, FieldTable::default())
        .await
        .expect("declare");
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let mut confirms = Vec::new();
    for i in 0..MESSAGES {
        let body = format!("{{\"id\": {i}}}");
        let props = BasicProperties::default().with_delivery_mode(2);
        confirms.push(
            ch.basic_publish(
                "".into(),
                b.req_queue.as_str().into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                props,
            )
            .await
            .expect("publish"),
        );
    }
    for c in confirms {
        c.await.expect("confirmed");
    }
    let _ = conn.close(200, "".into()).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("flow.yaml");
    std::fs::write(
        &config,
        format!(
            "http:\n  address: 127.0.0.1:0\ninput:\n  amqp_0_9:\n    urls: [ \"{amqp}\" ]\n    queue: {queue}\n    prefetch_count: 64\npipeline:\n  threads: 4\n  processors:\n    - sleep:\n        duration: 8ms\n    - retry:\n        backoff:\n          initial_interval: 50ms\n          max_interval: 1s\n          max_elapsed_time: 0s\n        processors:\n          - branch:\n              processors:\n                - redis:\n                    url: {redis}\n                    command: incr\n                    args_mapping: 'root = [ \"seen:\" + this.id.string() ]'\noutput:\n  sql_insert:\n    driver: postgres\n    dsn: \"{dsn}\"\n    table: {table}\n    columns: [ id ]\n    args_mapping: root = [ this.id ]\n    max_in_flight: 16\n",
            amqp = b.amqp_url,
            queue = b.req_queue,
            redis = b.redis_url,
            dsn = b.dsn,
        ),
    )
    .expect("config");
    let args: Vec<String> = ["run", "-c", &config.display().to_string()]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut procs = Procs::new(Vec::new());
    procs.spawn("engine", &args, &[]);

    // A connection per look: terminating the database's backends ends the test's own too.
    let dsn = b.dsn.clone();
    let count = |q: &'static str| {
        let dsn = dsn.clone();
        async move {
            pg(&dsn)
                .await
                .query_one(q, &[])
                .await
                .map(|r| r.get::<_, i64>(0))
                .unwrap_or(0)
        }
    };
    let rows = "SELECT count(*) FROM delivered";
    let distinct = "SELECT count(DISTINCT id) FROM delivered";
    let reach = |n: i64| {
        let count = &count;
        async move {
            eventually(&format!("{n} rows"), Duration::from_secs(120), || async {
                count(rows).await >= n
            })
            .await
        }
    };

    assert!(reach(1_500).await, "{}", procs.logs());
    b.close_amqp_connections().await;
    assert!(reach(3_000).await, "{}", procs.logs());
    let terminated = b.terminate_pg_backends().await;

    assert!(reach(4_500).await, "{}", procs.logs());
    let killed = b.kill_redis_clients().await;
    assert!(reach(6_000).await, "{}", procs.logs());
    assert_eq!(
        procs.terminate("engine"),
        Some(0),
        "SIGTERM is a clean stop"
    );
    procs.spawn("engine", &args, &[]);
    assert!(reach(8_000).await, "{}", procs.logs());
    procs.kill("engine");
    procs.spawn("engine", &args, &[]);

    let all = eventually("every message", Duration::from_secs(180), || async {
        count(distinct).await == MESSAGES
    })
    .await;
    let (total, unique) = (count(rows).await, count(distinct).await);
    assert!(all, "{unique} of {MESSAGES} arrived:\n{}", procs.logs());
    let drained = eventually("the queue to drain", Duration::from_secs(30), || async {
        b.queue_depths_of(&b.req_queue).await == 0
    })
    .await;
    assert!(drained, "messages left on the queue");
    eprintln!(
        "faults: {MESSAGES} of {MESSAGES} arrived ({} duplicates) through closed AMQP connections, {terminated} terminated PostgreSQL backends, {killed} killed Redis clients, SIGTERM and kill -9",
        total - unique
    );
    drop(procs);
    b.drop_all().await;
}
