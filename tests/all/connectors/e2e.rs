//! The `engine` binary end to end: generate → RabbitMQ, then RabbitMQ → dedupe (memory cache)
//! → PostgreSQL, checking the rows in the table.

use crate::support::{free_port, run_engine, spawn_engine, temp_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_to_postgres_through_the_binary() {
    engine::http::install_tls_provider();
    let Some(amqp) = super::amqp_url() else {
        return;
    };
    let Some(dsn) = super::sql::postgres_dsn() else {
        return;
    };
    let id = super::suite::unique_id("e2e");
    let url = engine::components::connectors::amqp::default_vhost(&amqp);
    let conn = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.queue_declare(
        id.as_str().into(),
        lapin::options::QueueDeclareOptions::default(),
        lapin::types::FieldTable::default(),
    )
    .await
    .unwrap();

    // 100 documents, each id twice: the dedupe cache keeps the first of each.
    let (_d1, produce) = temp_config(&format!(
        "http:\n  enabled: false\ninput:\n  generate:\n    count: 200\n    interval: \"\"\n    mapping: 'root = {{\"id\": counter() % 100, \"name\": \"doc\"}}'\noutput:\n  amqp_0_9:\n    urls: [ \"{amqp}\" ]\n    exchange: \"\"\n    key: {id}\n    persistent: true\n"
    ));
    let out = run_engine(&["run", "-c", produce.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port();
    let (_d2, consume) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{port}\ncache_resources:\n  - label: seen\n    memory:\n      default_ttl: 1h\ninput:\n  amqp_0_9:\n    urls: [ \"{amqp}\" ]\n    queue: {id}\npipeline:\n  processors:\n    - dedupe:\n        cache: seen\n        key: '${{! this.id }}'\noutput:\n  sql_insert:\n    driver: postgres\n    dsn: \"{dsn}\"\n    table: {id}\n    columns: [ id, name ]\n    args_mapping: root = [ this.id, this.name ]\n    init_statement: CREATE TABLE IF NOT EXISTS {id} (id int8, name text)\n"
    ));
    let mut child = spawn_engine(&["run", "-c", consume.to_str().unwrap()]);
    let pg = super::sql::pg_client(&dsn).await;
    // Every one of the 200 was read and answered (the duplicates dropped by dedupe): only then
    // does the row count say dedupe worked. The table has no key, so a duplicate would stay.
    let seen = (
        crate::support::await_metric(port, "input_received", |n| n >= 200.0).await,
        crate::support::await_metric(port, "output_sent", |n| n >= 100.0).await,
    );
    let rows: i64 = pg
        .query_one(&format!("SELECT count(*) FROM {id}"), &[])
        .await
        .unwrap()
        .get(0);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, (200.0, 100.0), "read and written");
    assert_eq!(rows, 100, "rows in {id}");
    let distinct: i64 = pg
        .query_one(&format!("SELECT count(DISTINCT id) FROM {id}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(distinct, 100);
    let _ = pg.batch_execute(&format!("DROP TABLE {id}")).await;
    let _ = ch
        .queue_delete(
            id.as_str().into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await;
    eprintln!("e2e: 200 published through the binary, 100 distinct rows after dedupe");
}
