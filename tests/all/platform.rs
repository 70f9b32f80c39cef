//! The ML-inference platform (`configs/`) end to end: gateways, workers, collectors and the mock
//! ML service as separate engine processes on the real RabbitMQ, PostgreSQL and Redis, and the
//! same configs in one process on the embedded backends.
//!
//! Each run gets its own PostgreSQL database, RabbitMQ vhost and Redis database, so that the
//! faults it injects (connections closed, backends terminated, clients killed) reach only its
//! own processes and not the connector suites running beside it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{engine_bin, free_port};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config(name: &str) -> String {
    format!("{ROOT}/configs/{name}")
}

fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Tokens the mock answers with: prompt ceil(len/4), completion min(max_tokens, 16).
fn mock_tokens(prompt: &str, max_tokens: i64) -> i64 {
    (prompt.len() as i64 + 3) / 4 + max_tokens.min(16)
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// A running engine process, killed when dropped; its output goes to a log file.
struct Proc {
    role: String,
    child: Child,
    log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes of one platform and the environment they share.
pub(crate) struct Procs {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    running: Vec<Proc>,
}

impl Procs {
    pub(crate) fn new(env: Vec<(String, String)>) -> Procs {
        Procs {
            dir: tempfile::tempdir().expect("temp dir"),
            env,
            running: Vec::new(),
        }
    }

    pub(crate) fn spawn(&mut self, role: &str, args: &[String], extra: &[(&str, String)]) {
        let log = self
            .dir
            .path()
            .join(format!("{role}-{}.log", self.running.len()));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(engine_bin());
        cmd.args(args)
            .current_dir(ROOT)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("engine starts");
        self.running.push(Proc {
            role: role.to_owned(),
            child,
            log,
        });
    }

    /// kill -9 the first running process of `role`.
    pub(crate) fn kill(&mut self, role: &str) {
        if let Some(i) = self.running.iter().position(|p| p.role == role) {
            let mut p = self.running.remove(i);
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// SIGTERM to the first running process of `role`; its exit code once it ended.
    pub(crate) fn terminate(&mut self, role: &str) -> Option<i32> {
        let i = self.running.iter().position(|p| p.role == role)?;
        let mut p = self.running.remove(i);
        crate::cli::unsafe_kill_term(p.child.id());
        p.child.wait().ok().and_then(|s| s.code())
    }

    /// Every process's log, for a failing assertion.
    pub(crate) fn logs(&self) -> String {
        let mut out = String::new();
        for p in &self.running {
            let text = std::fs::read_to_string(&p.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!("--- {} ---\n", p.role));
            for l in tail.iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn assert_alive(&mut self) {
        for p in &mut self.running {
            if let Ok(Some(status)) = p.child.try_wait() {
                let text = std::fs::read_to_string(&p.log).unwrap_or_default();
                panic!("{} exited with {status}:\n{text}", p.role);
            }
        }
    }
}

/// What a client got back.
struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

async fn post(client: &reqwest::Client, gateway: &str, key: Option<&str>, body: &str) -> Reply {
    let mut req = client
        .post(format!("http://{gateway}/api/v1/inference"))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = r.text().await.unwrap_or_default();
            Reply {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                retry_after,
            }
        }
        // A connection that failed is an answer the client retries, like a 503.
        Err(e) => Reply {
            status: 0,
            body: Value::String(e.to_string()),
            retry_after: None,
        },
    }
}

async fn get_request(client: &reqwest::Client, gateway: &str, key: &str, id: &str) -> (u16, Value) {
    let r = client
        .get(format!("http://{gateway}/api/v1/inference/{id}"))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .expect("GET answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Poll `check` until it holds (bounded): the platform settles asynchronously.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("timed out waiting for {what}");
    false
}

/// Wait until `address` accepts connections.
async fn wait_listening(address: &str) -> bool {
    let a = address.to_owned();
    eventually(&format!("{a} to listen"), Duration::from_secs(30), || {
        let a = a.clone();
        async move { tokio::net::TcpStream::connect(&a).await.is_ok() }
    })
    .await
}

/// The requests one client sends: (user key, prompt, max_tokens).
type Job = (String, String, i64);

/// Send `jobs` through `clients` concurrent clients spread over `gateways`, retrying a
/// request that was not accepted (503, a dropped connection) as a client would. Returns the
/// accepted request ids with their job, and how many attempts were refused.
async fn load(gateways: &[String], jobs: Vec<Job>, clients: usize) -> (Vec<(String, Job)>, usize) {
    let queue = Arc::new(tokio::sync::Mutex::new(jobs));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let queue = queue.clone();
        let gateway = gateways[c % gateways.len()].clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut accepted = Vec::new();
            let mut refused = 0;
            loop {
                let Some(job) = queue.lock().await.pop() else {
                    break;
                };
                let body =
                    json!({"model": "mock", "prompt": job.1, "max_tokens": job.2}).to_string();
                let mut tries = 0;
                loop {
                    let r = post(&client, &gateway, Some(&job.0), &body).await;
                    if r.status == 202 {
                        let id = r.body["request_id"].as_str().unwrap_or_default().to_owned();
                        accepted.push((id, job));
                        break;
                    }
                    assert!(
                        matches!(r.status, 0 | 503),
                        "unexpected answer {} {}",
                        r.status,
                        r.body
                    );
                    refused += 1;
                    tries += 1;
                    assert!(tries < 200, "request never accepted: {}", r.body);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            (accepted, refused)
        }));
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (a, r) = t.await.expect("client task");
        accepted.extend(a);
        refused += r;
    }
    (accepted, refused)
}

/// Requests the gateway refuses (with users alice, ivan inactive, and tiny with 100 tokens a
/// day): each status, its `{"error", "field"}` body, and Retry-After to the next UTC day.
async fn check_refusals(client: &reqwest::Client, gateway: &str) {
    let long = "x".repeat(100_001);
    let hi = r#"{"model": "m", "prompt": "hi"}"#.to_owned();
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (
            Some("key-alice"),
            "{\"model\": \"m\", \"prompt\": ".into(),
            400,
            "body",
        ),
        (Some("key-alice"), r#"{"model": "m"}"#.into(), 400, "prompt"),
        (
            Some("key-alice"),
            json!({"model": "m", "prompt": long}).to_string(),
            400,
            "prompt",
        ),
        (
            Some("key-alice"),
            r#"{"model": "m", "prompt": "hi", "max_tokens": 0}"#.into(),
            400,
            "max_tokens",
        ),
        (Some("key-nobody"), hi.clone(), 401, ""),
        (None, hi.clone(), 401, ""),
        (Some("key-ivan"), hi, 401, ""),
        (
            Some("key-tiny"),
            r#"{"model": "m", "prompt": "hi", "max_tokens": 200}"#.into(),
            429,
            "max_tokens",
        ),
    ];
    for (key, body, want, field) in &cases {
        let r = post(client, gateway, *key, body).await;
        assert_eq!(r.status, *want, "{body:.60}: {}", r.body);
        assert!(r.body["error"].is_string(), "an error text: {}", r.body);
        if !field.is_empty() {
            assert_eq!(r.body["field"], *field, "{}", r.body);
        }
        if *want == 429 {
            let secs: i64 = r
                .retry_after
                .as_deref()
                .unwrap_or("")
                .parse()
                .expect("Retry-After in seconds");
            let now = chrono::Utc::now().timestamp();
            let to_midnight = (now / 86400 + 1) * 86400 - now;
            assert!(
                (secs - to_midnight).abs() <= 2,
                "Retry-After {secs}, midnight in {to_midnight}"
            );
        }
    }
}

/// 100 concurrent requests of 10 tokens each from "racer", whose day holds 600: the answers
/// counted by status, and the accepted requests.
async fn quota_race(
    client: &reqwest::Client,
    gateway: &str,
) -> (BTreeMap<u16, i32>, Vec<(String, Job)>) {
    let race: Vec<_> = (0..100)
        .map(|_| {
            let (client, gw) = (client.clone(), gateway.to_owned());
            tokio::spawn(async move {
                post(
                    &client,
                    &gw,
                    Some("key-racer"),
                    r#"{"model": "m", "prompt": "abcd", "max_tokens": 9}"#,
                )
                .await
            })
        })
        .collect();
    let mut codes = BTreeMap::new();
    let mut accepted = Vec::new();
    for t in race {
        let r = t.await.expect("race client");
        *codes.entry(r.status).or_insert(0) += 1;
        if r.status == 202 {
            assert_eq!(r.body["estimated_tokens"], 10);
            let id = r.body["request_id"].as_str().unwrap_or_default().to_owned();
            accepted.push((id, ("key-racer".to_owned(), "abcd".to_owned(), 9)));
        }
    }
    (codes, accepted)
}

// ------------------------------------------------------------------ production backends

pub(crate) struct Backends {
    pub(crate) admin_dsn: String,
    pub(crate) dsn: String,
    pub(crate) db: String,
    pub(crate) redis_url: String,
    pub(crate) redis_db: u8,
    pub(crate) amqp_url: String,
    pub(crate) vhost: String,
    pub(crate) req_queue: String,
    pub(crate) res_queue: String,
}

pub(crate) async fn pg(dsn: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .expect("test connection to PostgreSQL");
    tokio::spawn(conn);
    client
}

async fn rabbitmqctl(args: &[&str]) {
    let out = tokio::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .await
        .expect("rabbitmqctl runs");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Backends {
    /// A database, vhost and Redis database of this run's own, or None when a service is down
    /// (which fails under CI=true).
    pub(crate) async fn create(id: &str) -> Option<Backends> {
        let admin_dsn = crate::connectors::service(
            "ENGINE_TEST_POSTGRES_DSN",
            "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
            5432,
        )?;
        let redis_base =
            crate::connectors::service("ENGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/", 6379)?;
        let amqp_base = crate::connectors::amqp_url()?;
        let db = format!("platform_{id}");
        let admin = pg(&admin_dsn).await;
        for sql in [
            format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            format!("CREATE DATABASE {db}"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .expect("create the test database");
        }
        let dsn = replace_db(&admin_dsn, &db);
        // The schema, as the resources apply it.
        let schema = std::fs::read_to_string(config("schema.sql")).expect("schema.sql");
        pg(&dsn)
            .await
            .batch_execute(&schema)
            .await
            .expect("schema.sql applies");
        pg(&dsn)
            .await
            .batch_execute(&schema)
            .await
            .expect("schema.sql applies twice");

        let vhost = format!("platform_{id}");
        rabbitmqctl(&["add_vhost", &vhost]).await;
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]).await;
        let amqp_url = format!(
            "{}{vhost}",
            amqp_base.trim_end_matches(['/']).to_owned() + "/"
        );

        // A Redis database of its own (by a hash of the id), emptied first.
        let redis_db = 1 + (id.bytes().map(u32::from).sum::<u32>() % 14) as u8;
        let redis_url = format!("{}/{redis_db}", redis_base.trim_end_matches('/'));
        let mut r = redis::Client::open(redis_url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis connects");
        let _: () = redis::cmd("FLUSHDB")
            .query_async(&mut r)
            .await
            .expect("flushdb");
        Some(Backends {
            admin_dsn,
            dsn,
            db,
            redis_url,
            redis_db,
            amqp_url,
            vhost,
            req_queue: format!("requests_{id}"),
            res_queue: format!("results_{id}"),
        })
    }

    fn env(&self, mock: &str) -> Vec<(String, String)> {
        [
            ("DATABASE_URL", self.dsn.clone()),
            ("REDIS_URL", self.redis_url.clone()),
            ("AMQP_URL", self.amqp_url.clone()),
            ("REQUEST_QUEUE", self.req_queue.clone()),
            ("RESULT_QUEUE", self.res_queue.clone()),
            ("SCHEMA_FILE", config("schema.sql")),
            ("ML_SERVICE_URL", format!("http://{mock}")),
            ("MOCK_ML_ADDRESS", mock.to_owned()),
            ("ML_RETRIES", "12".to_owned()),
            ("ML_RETRY_PERIOD", "10ms".to_owned()),
            ("ML_MAX_RETRY_BACKOFF", "100ms".to_owned()),
            ("ML_TIMEOUT", "5s".to_owned()),
            ("PG_POOL_SIZE", "2".to_owned()),
            ("ENGINE_HTTP_ADDRESS", "127.0.0.1:0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub(crate) async fn client(&self) -> tokio_postgres::Client {
        pg(&self.dsn).await
    }

    async fn add_user(&self, user: &str, key: &str, limit: i64, active: bool) {
        self.client()
            .await
            .execute(
                "INSERT INTO api_keys (key_sha256, user_id, daily_token_limit, active) VALUES ($1, $2, $3, $4)",
                &[&key_hash(key), &user, &limit, &active],
            )
            .await
            .expect("insert api key");
    }

    async fn quota(&self, user: &str) -> i64 {
        let mut r = redis::Client::open(self.redis_url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis connects");
        let v: Option<i64> = redis::cmd("GET")
            .arg(format!("quota:{user}:{}", today()))
            .query_async(&mut r)
            .await
            .expect("GET quota");
        v.unwrap_or(0)
    }

    /// Status counts of the given users' requests.
    async fn statuses(&self, users: &[&str]) -> BTreeMap<String, i64> {
        let users: Vec<String> = users.iter().map(|u| (*u).to_owned()).collect();
        self.client()
            .await
            .query(
                "SELECT status, count(*) FROM requests WHERE user_id = ANY($1) GROUP BY status",
                &[&users],
            )
            .await
            .expect("count statuses")
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect()
    }

    /// Ready messages on one queue.
    pub(crate) async fn queue_depths_of(&self, queue: &str) -> u32 {
        let c = lapin::Connection::connect(&self.amqp_url, lapin::ConnectionProperties::default())
            .await
            .expect("test connection to RabbitMQ");
        let ch = c.create_channel().await.expect("channel");
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let d = ch
            .queue_declare(queue.into(), passive, lapin::types::FieldTable::default())
            .await
            .expect("queue exists");
        let _ = c.close(200, "".into()).await;
        d.message_count()
    }

    /// Ready messages on both queues, with their consumers' unacknowledged ones.
    pub(crate) async fn queue_depths(&self) -> (u32, u32) {
        let c = lapin::Connection::connect(&self.amqp_url, lapin::ConnectionProperties::default())
            .await
            .expect("test connection to RabbitMQ");
        let ch = c.create_channel().await.expect("channel");
        let mut depth = Vec::new();
        for q in [&self.req_queue, &self.res_queue] {
            let d = ch
                .queue_declare(
                    q.as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    lapin::types::FieldTable::default(),
                )
                .await
                .expect("queue exists");
            depth.push(d.message_count());
        }
        let _ = c.close(200, "".into()).await;
        (depth[0], depth[1])
    }

    /// Both queues empty (bounded wait: the last acknowledgements are on their way).
    async fn assert_queues_drain(&self) {
        let drained = eventually("queues to drain", Duration::from_secs(30), || async {
            self.queue_depths().await == (0, 0)
        })
        .await;
        assert!(
            drained,
            "queues are empty at the end: {:?}",
            self.queue_depths().await
        );
    }

    /// The faults of the reliability tests, on this run's connections only.
    pub(crate) async fn close_amqp_connections(&self) {
        rabbitmqctl(&[
            "close_all_connections",
            "--vhost",
            &self.vhost,
            "--limit",
            "1000",
            "test fault",
        ])
        .await;
    }

    pub(crate) async fn terminate_pg_backends(&self) -> usize {
        pg(&self.admin_dsn)
            .await
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.db],
            )
            .await
            .expect("terminate backends")
            .len()
    }

    pub(crate) async fn kill_redis_clients(&self) -> usize {
        let mut r = redis::Client::open(self.redis_url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis connects");
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut r)
            .await
            .expect("CLIENT LIST");
        let me: i64 = redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut r)
            .await
            .expect("CLIENT ID");
        let mut killed = 0;
        for line in list.lines() {
            let fields: HashMap<&str, &str> =
                line.split(' ').filter_map(|f| f.split_once('=')).collect();
            let db = fields.get("db").and_then(|d| d.parse::<u8>().ok());
            let id = fields.get("id").and_then(|d| d.parse::<i64>().ok());
            if let (Some(db), Some(id)) = (db, id) {
                if db == self.redis_db && id != me {
                    let _: Result<i64, _> = redis::cmd("CLIENT")
                        .arg(&["KILL", "ID", &id.to_string()][..])
                        .query_async(&mut r)
                        .await;
                    killed += 1;
                }
            }
        }
        killed
    }

    pub(crate) async fn drop_all(&self) {
        let _ = pg(&self.admin_dsn)
            .await
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))
            .await;
        rabbitmqctl(&["delete_vhost", &self.vhost]).await;
    }
}

fn replace_db(dsn: &str, db: &str) -> String {
    let (base, query) = dsn.split_once('?').map_or((dsn, ""), |(b, q)| (b, q));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    if query.is_empty() {
        format!("{base}/{db}")
    } else {
        format!("{base}/{db}?{query}")
    }
}

/// `engine run` of a platform config on the production backends.
fn run(name: &str) -> Vec<String> {
    let production = config("backends/production.yaml");
    ["run", "-r", &production, "-c", &config(name)]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// Start mock ML, workers and collectors (which declare the queues), then the gateways.
async fn start_platform(
    b: &Backends,
    mock: &str,
    gateways: &[String],
    workers: usize,
    collectors: usize,
    fail_rate: &str,
) -> Procs {
    let mut procs = Procs::new(b.env(mock));
    procs.spawn(
        "mock_ml",
        &run("mock_ml.yaml"),
        &[("MOCK_ML_FAIL_RATE", fail_rate.to_owned())],
    );
    for _ in 0..workers {
        procs.spawn("worker", &run("worker.yaml"), &[]);
    }
    for _ in 0..collectors {
        procs.spawn("collector", &run("collector.yaml"), &[]);
    }
    assert!(wait_listening(mock).await, "{}", procs.logs());
    let declared = eventually("queues to be declared", Duration::from_secs(30), || async {
        let c =
            lapin::Connection::connect(&b.amqp_url, lapin::ConnectionProperties::default()).await;
        let Ok(c) = c else { return false };
        let Ok(ch) = c.create_channel().await else {
            return false;
        };
        let mut ok = true;
        for q in [&b.req_queue, &b.res_queue] {
            let passive = lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            ok &= ch
                .queue_declare(
                    q.as_str().into(),
                    passive,
                    lapin::types::FieldTable::default(),
                )
                .await
                .is_ok();
        }
        let _ = c.close(200, "".into()).await;
        ok
    })
    .await;
    assert!(declared, "{}", procs.logs());
    for g in gateways {
        procs.spawn(
            "gateway",
            &run("gateway.yaml"),
            &[("GATEWAY_ADDRESS", g.clone())],
        );
    }
    for g in gateways {
        assert!(wait_listening(g).await, "{}", procs.logs());
    }
    procs
}

/// Wait until every accepted request is finished, then check rows, results and quota against
/// what the mock answers. Returns the tokens used per user.
async fn check_settled(
    b: &Backends,
    procs: &mut Procs,
    accepted: &[(String, Job)],
    keys: &HashMap<String, String>,
) -> HashMap<String, i64> {
    let ids: Vec<uuid::Uuid> = accepted
        .iter()
        .map(|(id, _)| id.parse().expect("request ids are uuids"))
        .collect();
    let client = b.client().await;
    let done = eventually("every request to finish", Duration::from_secs(180), || {
        let (client, ids) = (&client, &ids);
        async move {
            client
                .query_one(
                    "SELECT count(*) FROM requests WHERE request_id = ANY($1) AND status IN ('completed', 'failed')",
                    &[ids],
                )
                .await
                .map(|r| r.get::<_, i64>(0) == ids.len() as i64)
                .unwrap_or(false)
        }
    })
    .await;
    procs.assert_alive();
    assert!(done, "requests left unfinished:\n{}", procs.logs());

    let rows = client
        .query(
            "SELECT r.request_id::text, r.status, r.user_id, r.error, s.prompt_tokens, s.completion_tokens, s.total_tokens
             FROM requests r LEFT JOIN results s USING (request_id) WHERE r.request_id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("read requests");
    let by_id: HashMap<String, &tokio_postgres::Row> =
        rows.iter().map(|r| (r.get::<_, String>(0), r)).collect();
    let user_of: HashMap<&str, &str> = keys.iter().map(|(u, k)| (k.as_str(), u.as_str())).collect();
    let mut used: HashMap<String, i64> = HashMap::new();
    for (id, (key, prompt, max_tokens)) in accepted {
        let row = by_id.get(id).unwrap_or_else(|| panic!("no row for {id}"));
        let status: String = row.get(1);
        let user: String = row.get(2);
        assert_eq!(
            Some(&user.as_str()),
            user_of.get(key.as_str()),
            "{id} stored for the wrong user"
        );
        if prompt.contains("[mock:400]") {
            assert_eq!(status, "failed", "{id}");
            let error: Option<String> = row.get(3);
            assert!(
                error.unwrap_or_default().contains("400"),
                "{id} fails with the 400"
            );
            assert_eq!(row.get::<_, Option<i32>>(6), None, "{id} has no result row");
        } else {
            assert_eq!(
                status,
                "completed",
                "{id}: {:?}",
                row.get::<_, Option<String>>(3)
            );
            let total: Option<i32> = row.get(6);
            assert_eq!(
                total.map(i64::from),
                Some(mock_tokens(prompt, *max_tokens)),
                "{id} usage"
            );
            *used.entry(user).or_default() += mock_tokens(prompt, *max_tokens);
        }
    }
    used
}

/// Everything the platform issue asks of the production backends, on one set of processes:
/// statuses, the quota race, 1,000 requests under a failing ML service, then kill -9 of a
/// worker and a collector and connection faults on all three services under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn platform_on_rabbitmq_postgres_and_redis() {
    let id = format!(
        "{:x}",
        std::process::id() as u64 * 1000 + u64::from(chrono::Utc::now().timestamp_subsec_millis())
    );
    engine::http::install_tls_provider();
    let Some(b) = Backends::create(&id).await else {
        return;
    };
    let mock = format!("127.0.0.1:{}", free_port());
    let gateways = vec![
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    let mut procs = start_platform(&b, &mock, &gateways, 3, 2, "0.3").await;
    let client = reqwest::Client::new();

    // ---- statuses: nothing queued, stored or reserved for refused requests
    b.add_user("alice", "key-alice", 1_000_000, true).await;
    b.add_user("ivan", "key-ivan", 1_000_000, false).await;
    b.add_user("tiny", "key-tiny", 100, true).await;
    let gw = &gateways[0];
    check_refusals(&client, gw).await;
    assert!(
        b.statuses(&["alice", "ivan", "tiny"]).await.is_empty(),
        "nothing stored"
    );
    assert_eq!(
        b.quota("alice").await + b.quota("tiny").await + b.quota("ivan").await,
        0,
        "nothing reserved"
    );
    assert_eq!(b.queue_depths().await.0, 0, "nothing queued");

    // ---- 503: the queue refuses the message (no such queue, published mandatory), and the
    // database refuses the row (a database without the requests table): the reservation is
    // released and no row stays queued
    let broken_db = format!("{}_broken", b.db);
    let admin = pg(&b.admin_dsn).await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {broken_db} WITH (FORCE)"),
        format!("CREATE DATABASE {broken_db}"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .expect("create the broken database");
    }
    let broken_dsn = replace_db(&b.dsn, &broken_db);
    pg(&broken_dsn)
        .await
        .batch_execute(&format!(
            "CREATE TABLE api_keys (key_sha256 text PRIMARY KEY, user_id text, daily_token_limit bigint, active boolean);
             INSERT INTO api_keys VALUES ('{}', 'alice', 1000000, true)",
            key_hash("key-alice")
        ))
        .await
        .expect("a database without the requests table");
    let no_schema = procs.dir.path().join("empty.sql");
    std::fs::write(&no_schema, "").expect("empty schema file");
    let no_queue_gw = format!("127.0.0.1:{}", free_port());
    let no_table_gw = format!("127.0.0.1:{}", free_port());
    procs.spawn(
        "gateway_without_queue",
        &run("gateway.yaml"),
        &[
            ("GATEWAY_ADDRESS", no_queue_gw.clone()),
            ("REQUEST_QUEUE", format!("{}_missing", b.req_queue)),
        ],
    );
    procs.spawn(
        "gateway_without_table",
        &run("gateway.yaml"),
        &[
            ("GATEWAY_ADDRESS", no_table_gw.clone()),
            ("DATABASE_URL", broken_dsn),
            ("SCHEMA_FILE", no_schema.display().to_string()),
        ],
    );
    for g in [&no_queue_gw, &no_table_gw] {
        assert!(wait_listening(g).await, "{}", procs.logs());
        let r = post(
            &client,
            g,
            Some("key-alice"),
            r#"{"model": "m", "prompt": "hello", "max_tokens": 10}"#,
        )
        .await;
        assert_eq!(r.status, 503, "{g}: {}", r.body);
        assert!(r.body["error"].is_string(), "{}", r.body);
    }
    assert_eq!(b.quota("alice").await, 0, "both reservations released");
    let alice = b.statuses(&["alice"]).await;
    assert_eq!(
        alice,
        BTreeMap::from([("failed".to_owned(), 1)]),
        "the unqueued row is failed, not queued"
    );
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {broken_db} WITH (FORCE)"))
        .await;

    // ---- the quota race: 100 concurrent requests of 10 tokens against a limit of 600
    b.add_user("racer", "key-racer", 600, true).await;
    let (codes, race_ids) = quota_race(&client, &gateways[0]).await;
    assert_eq!(
        codes,
        BTreeMap::from([(202, 60), (429, 40)]),
        "exactly the quota is granted"
    );

    // ---- 1,000 requests from 20 clients over both gateways with the ML service failing 30%
    // of calls, and beside them 40 prompts that it refuses with a 400
    let users: Vec<String> = (0..5).map(|i| format!("user{i}")).collect();
    let mut keys: HashMap<String, String> = HashMap::new();
    for u in users.iter().chain(std::iter::once(&"refused".to_owned())) {
        let key = format!("key-{u}");
        b.add_user(u, &key, 10_000_000, true).await;
        keys.insert(u.clone(), key);
    }
    keys.insert("racer".into(), "key-racer".into());
    let mut jobs: Vec<Job> = (0..1000)
        .map(|i| {
            let prompt = format!("prompt number {i} {}", "word ".repeat(i % 40));
            (
                format!("key-user{}", i % 5),
                prompt,
                1 + (i as i64 * 7) % 64,
            )
        })
        .collect();
    jobs.extend((0..40).map(|i| {
        (
            "key-refused".to_owned(),
            format!("please refuse this one [mock:400] #{i}"),
            32,
        )
    }));
    let (accepted, refused) = load(&gateways, jobs, 20).await;
    assert_eq!(accepted.len(), 1040);
    assert_eq!(refused, 0, "no request refused without a fault");
    let mut all: Vec<(String, Job)> = accepted;
    all.extend(race_ids);
    let used = check_settled(&b, &mut procs, &all, &keys).await;
    for u in users
        .iter()
        .chain(["racer".to_owned(), "refused".to_owned()].iter())
    {
        assert_eq!(
            b.quota(u).await,
            used.get(u).copied().unwrap_or(0),
            "quota of {u}: actual tokens, refunds for failures"
        );
    }
    let statuses = b
        .statuses(&["user0", "user1", "user2", "user3", "user4"])
        .await;
    assert_eq!(statuses, BTreeMap::from([("completed".to_owned(), 1000)]));
    let refusals = b.statuses(&["refused"]).await;
    assert_eq!(refusals, BTreeMap::from([("failed".to_owned(), 40)]));
    assert_eq!(b.quota("refused").await, 0, "failures are refunded in full");
    b.assert_queues_drain().await;

    // GET: own request with its result; another user's and an unknown id are 404
    let (first_id, (first_key, first_prompt, first_max)) = all
        .iter()
        .find(|(_, j)| !j.1.contains("[mock:400]"))
        .cloned()
        .expect("a completed request");
    let (status, body) = get_request(&client, gw, &first_key, &first_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["usage"]["total_tokens"],
        mock_tokens(&first_prompt, first_max)
    );
    assert!(body["result"]["output"].is_string(), "{body}");
    let other = if first_key == "key-user0" {
        "key-user1"
    } else {
        "key-user0"
    };
    assert_eq!(get_request(&client, gw, other, &first_id).await.0, 404);
    assert_eq!(
        get_request(&client, gw, &first_key, &uuid::Uuid::new_v4().to_string())
            .await
            .0,
        404
    );
    assert_eq!(
        get_request(&client, gw, &first_key, "not-a-uuid").await.0,
        404
    );
    assert_eq!(
        get_request(&client, gw, "key-nobody", &first_id).await.0,
        401
    );

    // ---- faults under load: kill -9 of a worker and a collector, every RabbitMQ connection
    // closed, PostgreSQL backends terminated and Redis clients killed; then restarts
    b.add_user("fault", "key-fault", 10_000_000, true).await;
    keys.insert("fault".into(), "key-fault".into());
    let jobs: Vec<Job> = (0..500)
        .map(|i| {
            (
                "key-fault".to_owned(),
                format!("[mock:slow] fault prompt {i} {}", "x".repeat(i % 50)),
                8,
            )
        })
        .collect();
    let gws = gateways.clone();
    let load_task = tokio::spawn(async move { load(&gws, jobs, 20).await });
    let seen = eventually("load to start", Duration::from_secs(30), || async {
        b.statuses(&["fault"]).await.values().sum::<i64>() >= 100
    })
    .await;
    assert!(seen, "{}", procs.logs());
    let started = Instant::now();
    procs.kill("worker");
    procs.kill("collector");
    b.close_amqp_connections().await;
    let terminated = b.terminate_pg_backends().await;
    let killed = b.kill_redis_clients().await;
    eprintln!("faults: terminated {terminated} PostgreSQL backends, killed {killed} Redis clients");
    procs.spawn("worker", &run("worker.yaml"), &[]);
    procs.spawn("collector", &run("collector.yaml"), &[]);
    let (accepted, refused) = load_task.await.expect("load");
    eprintln!("faults: load done at {:?}", started.elapsed());
    eprintln!(
        "faults: {} accepted, {refused} refused and retried",
        accepted.len()
    );
    assert_eq!(accepted.len(), 500);
    let used = check_settled(&b, &mut procs, &accepted, &keys).await;
    eprintln!("faults: settled at {:?}", started.elapsed());
    assert_eq!(
        b.quota("fault").await,
        used["fault"],
        "quota exact after the faults"
    );
    let statuses = b.statuses(&["fault"]).await;
    assert_eq!(statuses.get("completed"), Some(&500), "{statuses:?}");
    b.assert_queues_drain().await;
    // The kill hit requests in flight: they were redelivered and tried again.
    let retried: i64 = b
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM requests WHERE user_id = 'fault' AND attempts > 1",
            &[],
        )
        .await
        .expect("count retried")
        .get(0);
    eprintln!("faults: {retried} requests were redelivered and tried again");
    assert!(retried > 0, "the killed worker had requests in flight");
    // Requests refused during the faults were released: none stays queued or processing.
    assert!(
        !statuses.contains_key("queued") && !statuses.contains_key("processing"),
        "{statuses:?}"
    );

    drop(procs);
    b.drop_all().await;
}

// ------------------------------------------------------------------ embedded backends

/// The same configs in one process with no service: in-process queues, SQLite, and the quota
/// in SQLite. The functional checks of the production test, without the faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn platform_in_one_process_on_embedded_backends() {
    engine::http::install_tls_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("platform.sqlite");
    let mock = format!("127.0.0.1:{}", free_port());
    let gateway = format!("127.0.0.1:{}", free_port());
    let env: Vec<(String, String)> = [
        ("LOCAL_DB", db.display().to_string()),
        ("LOCAL_SCHEMA_FILE", config("schema.sqlite.sql")),
        ("GATEWAY_ADDRESS", gateway.clone()),
        ("MOCK_ML_ADDRESS", mock.clone()),
        ("ML_SERVICE_URL", format!("http://{mock}")),
        ("MOCK_ML_FAIL_RATE", "0.3".to_owned()),
        ("ML_RETRIES", "12".to_owned()),
        ("ML_RETRY_PERIOD", "10ms".to_owned()),
        ("ML_MAX_RETRY_BACKOFF", "100ms".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut procs = Procs::new(env);
    let mut args: Vec<String> = [
        "--set",
        "http.address=127.0.0.1:0",
        "streams",
        "-r",
        &config("backends/local.yaml"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for c in [
        "gateway.yaml",
        "worker.yaml",
        "collector.yaml",
        "mock_ml.yaml",
        "demo_user.yaml",
    ] {
        args.push(config(c));
    }
    procs.spawn("platform", &args, &[]);
    assert!(wait_listening(&gateway).await, "{}", procs.logs());
    let client = reqwest::Client::new();

    // The demo user exists once its stream has run.
    let demo_ready = eventually("the demo user", Duration::from_secs(30), || async {
        post(&client, &gateway, Some("demo-key"), r#"{"model": "m"}"#)
            .await
            .status
            == 400
    })
    .await;
    assert!(demo_ready, "{}", procs.logs());
    let sqlite = || rusqlite::Connection::open(&db).expect("open the platform database");
    let add_user = |user: &str, key: &str, limit: i64, active: bool| {
        sqlite()
            .execute(
                "INSERT INTO api_keys (key_sha256, user_id, daily_token_limit, active) VALUES (?, ?, ?, ?)",
                rusqlite::params![key_hash(key), user, limit, active],
            )
            .expect("insert api key");
    };
    let quota = |user: &str| -> i64 {
        sqlite()
            .query_row(
                "SELECT coalesce(sum(used), 0) FROM quota WHERE quota_key = ?",
                [format!("quota:{user}:{}", today())],
                |r| r.get(0),
            )
            .expect("read quota")
    };
    let rows_of = |user: &str| -> i64 {
        sqlite()
            .query_row(
                "SELECT count(*) FROM requests WHERE user_id = ?",
                [user],
                |r| r.get(0),
            )
            .expect("count requests")
    };

    // ---- statuses
    add_user("alice", "key-alice", 1_000_000, true);
    add_user("ivan", "key-ivan", 1_000_000, false);
    add_user("tiny", "key-tiny", 100, true);
    check_refusals(&client, &gateway).await;
    assert_eq!(
        rows_of("alice") + rows_of("ivan") + rows_of("tiny"),
        0,
        "nothing stored"
    );
    assert_eq!(quota("alice") + quota("tiny"), 0, "nothing reserved");

    // ---- the quota race
    add_user("racer", "key-racer", 600, true);
    let (codes, _) = quota_race(&client, &gateway).await;
    assert_eq!(
        codes,
        BTreeMap::from([(202, 60), (429, 40)]),
        "exactly the quota is granted"
    );

    // ---- 200 requests, the ML service failing 30% of calls, one in 25 refused with 400
    add_user("bob", "key-bob", 10_000_000, true);
    let jobs: Vec<Job> = (0..200)
        .map(|i| {
            let prompt = if i % 25 == 0 {
                format!("refuse [mock:400] {i}")
            } else {
                format!("embedded prompt {i}")
            };
            ("key-bob".to_owned(), prompt, 4 + i as i64 % 20)
        })
        .collect();
    let (accepted, refused) = load(std::slice::from_ref(&gateway), jobs, 10).await;
    assert_eq!((accepted.len(), refused), (200, 0));
    let finished = eventually("every request to finish", Duration::from_secs(60), || async {
        sqlite()
            .query_row(
                "SELECT count(*) FROM requests WHERE user_id = 'bob' AND status IN ('completed', 'failed')",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n == 200)
            .unwrap_or(false)
    })
    .await;
    procs.assert_alive();
    assert!(finished, "{}", procs.logs());
    let expected: i64 = accepted
        .iter()
        .filter(|(_, j)| !j.1.contains("[mock:400]"))
        .map(|(_, j)| mock_tokens(&j.1, j.2))
        .sum();
    let failed: i64 = sqlite()
        .query_row(
            "SELECT count(*) FROM requests WHERE user_id = 'bob' AND status = 'failed'",
            [],
            |r| r.get(0),
        )
        .expect("count failed");
    assert_eq!(failed, 8, "the prompts the ML service refused");
    assert_eq!(
        quota("bob"),
        expected,
        "quota: actual tokens, refunds for failures"
    );
    assert_eq!(quota("racer"), 600);
    let stored: i64 = sqlite()
        .query_row(
            "SELECT coalesce(sum(s.total_tokens), 0) FROM results s JOIN requests r USING (request_id) WHERE r.user_id = 'bob'",
            [],
            |r| r.get(0),
        )
        .expect("sum results");
    assert_eq!(stored, expected, "result rows carry the usage");

    // GET: own request with its result; another user's is 404
    let (id, job) = accepted
        .iter()
        .find(|(_, j)| !j.1.contains("[mock:400]"))
        .cloned()
        .expect("a completed one");
    let (status, body) = get_request(&client, &gateway, "key-bob", &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["usage"]["total_tokens"], mock_tokens(&job.1, job.2));
    assert_eq!(
        get_request(&client, &gateway, "key-alice", &id).await.0,
        404
    );
}
