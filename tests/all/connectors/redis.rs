//! Redis: `redis_list` through the suite, and the processors, caches and rate limits that use
//! Redis, asserting on the keys in the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use engine::components::{ProcessorStage, Shared};
use engine::message::{Batch, Message};
use engine::pipeline::Stream;

use super::suite::{self, suite_tests, Harness, Target};

fn redis_url() -> Option<String> {
    super::service("ENGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/", 6379)
}

struct Redis {
    client: redis::Client,
}

impl Redis {
    async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client
            .get_multiplexed_async_connection()
            .await
            .expect("test connection to Redis")
    }
}

#[async_trait]
impl Target for Redis {
    async fn setup(&self, _id: &str) {}
    async fn stored(&self, id: &str) -> Vec<String> {
        redis::cmd("LRANGE")
            .arg(id)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn().await)
            .await
            .unwrap()
    }
    async fn kill(&self, _id: &str) {
        // Every normal client but this one (the Redis tests run one after the other).
        let n: i64 = redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"][..])
            .query_async(&mut self.conn().await)
            .await
            .unwrap();
        eprintln!("redis: killed {n} clients");
    }
    async fn teardown(&self, id: &str) {
        let _: () = redis::cmd("DEL")
            .arg(id)
            .query_async(&mut self.conn().await)
            .await
            .unwrap();
    }
}

/// The pipeline processors of a config (with its cache and rate limit resources).
fn pipeline(yaml: &str) -> Vec<Arc<ProcessorStage>> {
    let loaded = engine::config::read_text(std::path::Path::new("t.yaml"), yaml).unwrap();
    let lints = engine::config::lint::lint_config(&loaded);
    assert!(lints.is_empty(), "{lints:?}");
    let cfg = engine::config::decode(&loaded.tree).unwrap();
    Stream::build(&cfg, Arc::new(Shared::default()))
        .unwrap()
        .processors
}

async fn run(procs: &[Arc<ProcessorStage>], payloads: &[&str]) -> Batch {
    let batch = payloads
        .iter()
        .map(|p| Message::from_bytes(p.to_string()))
        .collect();
    engine::components::run_processors(procs, batch)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn texts(b: &Batch) -> Vec<String> {
    b.iter().map(|m| m.as_str_lossy().into_owned()).collect()
}

fn id() -> String {
    format!("engine_redis_{}", uuid::Uuid::new_v4().simple())
}

async fn redis_processor(url: &str, r: &Redis) {
    let key = id();
    let procs = pipeline(&format!(
        "input:\n  stdin: {{}}\npipeline:\n  processors:\n    - redis:\n        url: {url}\n        command: incrby\n        args_mapping: 'root = [ \"{key}\", this.n ]'\noutput:\n  drop: {{}}\n"
    ));
    let out = run(&procs, &[r#"{"n":2}"#, r#"{"n":5}"#, r#"{"n":"x"}"#]).await;
    assert_eq!(texts(&out)[..2], ["2", "7"]);
    assert!(
        out[2].error().is_some(),
        "a failing command flags the message"
    );
    let v: i64 = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut r.conn().await)
        .await
        .unwrap();
    assert_eq!(v, 7);

    // `get` of a missing key is Bento's `redis: nil` error, after the retries.
    let procs = pipeline(&format!(
        "input:\n  stdin: {{}}\npipeline:\n  processors:\n    - redis:\n        url: {url}\n        command: get\n        args_mapping: 'root = [ this.k ]'\n        retries: 1\n        retry_period: 1ms\noutput:\n  drop: {{}}\n"
    ));
    let missing = format!(r#"{{"k":"{key}_missing"}}"#);
    let present = format!(r#"{{"k":"{key}"}}"#);
    let out = run(&procs, &[&missing, &present]).await;
    assert_eq!(out[0].error().map(|e| e.text.as_str()), Some("redis: nil"));
    assert_eq!(
        out[0].as_str_lossy(),
        missing,
        "a flagged message keeps its payload"
    );
    assert!(out[1].error().is_none());
    assert_eq!(out[1].as_str_lossy(), "7");
    r.teardown(&key).await;
}

async fn redis_cache(url: &str, r: &Redis) {
    let prefix = format!("{}_", id());
    let procs = pipeline(&format!(
        "cache_resources:\n  - label: c\n    redis:\n      url: {url}\n      prefix: {prefix}\n      default_ttl: 60s\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - cache:\n        resource: c\n        operator: add\n        key: '${{! this.k }}'\n        value: '${{! this.v }}'\noutput:\n  drop: {{}}\n"
    ));
    let out = run(
        &procs,
        &[r#"{"k":"a","v":"one"}"#, r#"{"k":"a","v":"two"}"#],
    )
    .await;
    assert!(out[0].error().is_none());
    assert_eq!(
        out[1].error().map(|e| e.text.as_str()),
        Some("key already exists")
    );
    let mut c = r.conn().await;
    let stored: String = redis::cmd("GET")
        .arg(format!("{prefix}a"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(stored, "one");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}a"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 50_000 && ttl <= 60_000, "{ttl}");

    let ops = |op: &str| {
        format!(
            "cache_resources:\n  - label: c\n    redis:\n      url: {url}\n      prefix: {prefix}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - cache:\n        resource: c\n        operator: {op}\n        key: '${{! content() }}'\noutput:\n  drop: {{}}\n"
        )
    };
    let out = run(&pipeline(&ops("get")), &["a", "b"]).await;
    assert_eq!(texts(&out)[0], "one");
    assert_eq!(
        out[1].error().map(|e| e.text.as_str()),
        Some("key does not exist")
    );
    let out = run(&pipeline(&ops("exists")), &["a", "b"]).await;
    assert_eq!(texts(&out), ["true", "false"]);
    run(&pipeline(&ops("delete")), &["a", "b"]).await;
    let n: i64 = redis::cmd("EXISTS")
        .arg(format!("{prefix}a"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

async fn dedupe_and_cached(url: &str, r: &Redis) {
    let procs = pipeline(
        "cache_resources:\n  - label: seen\n    memory: {}\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - dedupe:\n        cache: seen\n        key: '${! this.id }'\noutput:\n  drop: {}\n",
    );
    let out = run(&procs, &[r#"{"id":1}"#, r#"{"id":2}"#, r#"{"id":1}"#]).await;
    assert_eq!(texts(&out), [r#"{"id":1}"#, r#"{"id":2}"#]);
    let out = run(&procs, &[r#"{"id":2}"#, r#"{"id":3}"#]).await;
    assert_eq!(texts(&out), [r#"{"id":3}"#]);

    // The child processor counts its runs in Redis: a cache hit does not run it.
    let counter = id();
    let procs = pipeline(&format!(
        "cache_resources:\n  - label: results\n    memory: {{}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - cached:\n        cache: results\n        key: '${{! this.id }}'\n        processors:\n          - redis:\n              url: {url}\n              command: incr\n              args_mapping: 'root = [ \"{counter}\" ]'\noutput:\n  drop: {{}}\n"
    ));
    let out = run(
        &procs,
        &[
            r#"{"id":"a"}"#,
            r#"{"id":"a"}"#,
            r#"{"id":"b"}"#,
            r#"{"id":"a"}"#,
        ],
    )
    .await;
    assert_eq!(texts(&out), ["1", "1", "2", "1"]);
    let runs: i64 = redis::cmd("GET")
        .arg(&counter)
        .query_async(&mut r.conn().await)
        .await
        .unwrap();
    assert_eq!(runs, 2);
    r.teardown(&counter).await;
}

async fn rate_limits(url: &str, r: &Redis) {
    // Two streams (think: two instances) share one Redis rate limit of 5 per second.
    let key = id();
    let yaml = format!(
        "rate_limit_resources:\n  - label: shared\n    redis:\n      url: {url}\n      count: 5\n      interval: 1s\n      key: {key}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - rate_limit:\n        resource: shared\noutput:\n  drop: {{}}\n"
    );
    let (a, b) = (pipeline(&yaml), pipeline(&yaml));
    let started = Instant::now();
    let (x, y) = tokio::join!(
        run(&a, &["1", "2", "3", "4"]),
        run(&b, &["5", "6", "7", "8"])
    );
    let took = started.elapsed();
    assert_eq!(x.len() + y.len(), 8);
    assert!(
        took >= Duration::from_millis(500),
        "8 messages at 5/s took only {took:?}"
    );
    // Windows of a second: the last 3 wait for the next one.
    assert!(
        took < Duration::from_secs(3),
        "8 messages at 5/s took {took:?}"
    );
    r.teardown(&key).await;

    // The key is Bento's: a counter of the window's accesses that expires with the window, so
    // a Bento instance INCRs the same count.
    let key = id();
    let yaml = format!(
        "rate_limit_resources:\n  - label: shared\n    redis:\n      url: {url}\n      count: 10\n      interval: 60s\n      key: {key}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - rate_limit:\n        resource: shared\noutput:\n  drop: {{}}\n"
    );
    run(&pipeline(&yaml), &["1", "2", "3"]).await;
    let mut c = r.conn().await;
    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
    let count: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!((kind.as_str(), count.as_str()), ("string", "3"));
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
    r.teardown(&key).await;

    let local = pipeline(
        "rate_limit_resources:\n  - label: l\n    local:\n      count: 3\n      interval: 200ms\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - rate_limit:\n        resource: l\noutput:\n  drop: {}\n",
    );
    let started = Instant::now();
    run(&local, &["1", "2", "3", "4", "5", "6", "7"]).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350),
        "7 messages at 3 per 200ms took {took:?}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// `max_in_flight` on the `redis_list` input: no more than that many messages leave the list
/// before the output has acknowledged them.
async fn redis_list_max_in_flight(url: &str, r: &Redis) {
    let key = id();
    let mut c = r.conn().await;
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg(&["1", "2", "3", "4", "5"][..])
        .query_async(&mut c)
        .await
        .unwrap();
    let yaml = format!(
        "input:\n  redis_list:\n    url: {url}\n    key: {key}\n    timeout: 1s\n    max_in_flight: 2\noutput:\n  drop: {{}}\n"
    );
    let loaded = engine::config::read_text(std::path::Path::new("t.yaml"), &yaml).unwrap();
    let cfg = engine::config::decode(&loaded.tree).unwrap();
    let mut s = Stream::build(&cfg, Arc::new(Shared::default())).unwrap();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    s.output = Arc::new(crate::acks::GatedOutput {
        arrived: arrived.clone(),
        gate: gate.clone(),
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(s.run(stop.clone(), Duration::from_secs(5)));
    arrived.notified().await;
    let len = |c: &mut redis::aio::MultiplexedConnection| {
        let key = key.clone();
        let mut c = c.clone();
        async move {
            redis::cmd("LLEN")
                .arg(&key)
                .query_async::<i64>(&mut c)
                .await
                .unwrap()
        }
    };
    let started = Instant::now();
    while len(&mut c).await != 3 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(len(&mut c).await, 3, "two popped, awaiting acknowledgement");
    // Nothing is awaited here: the point is that nothing more leaves the list.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(len(&mut c).await, 3, "a third left the list before an ack");
    gate.add_permits(100);
    let started = Instant::now();
    while len(&mut c).await != 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(len(&mut c).await, 0);
    stop.cancel();
    run.await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
}

/// `CLIENT KILL` is server-wide, so the Redis cases take turns.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Env {
    url: String,
    target: Arc<Redis>,
}

fn env() -> Option<Env> {
    let url = redis_url()?;
    engine::metrics::prometheus();
    Some(Env {
        target: Arc::new(Redis {
            client: redis::Client::open(url.as_str()).unwrap(),
        }),
        url,
    })
}

/// `redis_list` as the suite's connector.
fn list(e: &Env) -> Harness {
    let url = &e.url;
    Harness {
        name: "redis_list",
        output: format!("redis_list:\n  url: {url}\n  key: $ID\n  max_in_flight: 64\n"),
        input: Some(format!(
            "redis_list:\n  url: {url}\n  key: $ID\n  timeout: 1s\n"
        )),
        target: e.target.clone(),
    }
}

/// The metrics a case's components registered, in the Prometheus text.
fn assert_metrics(names: &[&str]) {
    let metrics = engine::metrics::render();
    for name in names {
        assert!(metrics.contains(name), "no {name} in\n{metrics}");
    }
}

suite_tests! { serial: SERVER, harness: env();
    processor(e) { redis_processor(&e.url, &e.target).await }
    cache(e) {
        redis_cache(&e.url, &e.target).await;
        assert_metrics(&["cache_success{", "cache_duplicate{", "cache_not_found{", "cache_latency_ns"]);
    }
    dedupe_and_cached_processors(e) { dedupe_and_cached(&e.url, &e.target).await }
    rate_limit(e) {
        rate_limits(&e.url, &e.target).await;
        assert_metrics(&["rate_limit_checked{", "rate_limit_triggered{"]);
    }
    list_max_in_flight(e) { redis_list_max_in_flight(&e.url, &e.target).await }
    list_open_close(e) { suite::open_close(&list(&e)).await }
    list_send_batch(e) { suite::send_batch(&list(&e), 10).await }
    list_at_least_once(e) { suite::at_least_once(&list(&e), 20, 5).await }
    list_stream_parallel(e) { suite::stream_parallel(&list(&e), 10_000).await }
    list_reconnect_output(e) { suite::reconnect_output(&list(&e), 1000).await }
    list_reconnect_input(e) { suite::reconnect_input(&list(&e), 2000).await }
}
