//! The connector conformance suite, written once (like Bento's `StreamTestOpenClose`,
//! `StreamTestSendBatch`, `StreamTestStreamParallel`, `StreamTestAtLeastOnceDelivery`,
//! `StreamTestMetadata`) and applied to every connector. A connector gives YAML templates for
//! its output and (optionally) input, where `$ID` is replaced by a unique id per case, and a
//! [`Target`] that reads the real state on the server and drops connections.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use engine::components::{ComponentError, Input, Output, Shared};
use engine::message::ack::AckFn;
use engine::message::{AckStatus, Batch, Message, Value};
use engine::pipeline::{Outcome, Stream};
use tokio_util::sync::CancellationToken;

/// The server side of a connector under test.
#[async_trait]
pub trait Target: Send + Sync {
    /// Create whatever `id` needs (queue, table); called before each case.
    async fn setup(&self, id: &str);
    /// The payloads stored for `id` right now (without consuming them).
    async fn stored(&self, id: &str) -> Vec<String>;
    /// Make the server drop the connections of the component under test.
    async fn kill(&self, id: &str);
    /// Remove what `setup` created.
    async fn teardown(&self, id: &str);
    /// Make writes for `id` fail until [`Target::repair`] (false: not supported).
    async fn sabotage(&self, _id: &str) -> bool {
        false
    }
    async fn repair(&self, _id: &str) {}
}

pub struct Harness {
    pub name: &'static str,
    /// The `output:` section, with `$ID`.
    pub output: String,
    /// The `input:` section reading what the output wrote, with `$ID`.
    pub input: Option<String>,
    pub target: Arc<dyn Target>,
}

pub fn unique_id(name: &str) -> String {
    format!(
        "engine_{name}_{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..12)
            .unwrap_or("x")
    )
}

/// A stream built from a config with the connector on one side; the other side is replaced by
/// a test component.
pub fn build(yaml: &str) -> Stream {
    let loaded = engine::config::read_text(Path::new("suite.yaml"), yaml)
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let lints = engine::config::lint::lint_config(&loaded);
    assert!(lints.is_empty(), "{lints:?}\n{yaml}");
    let cfg = engine::config::decode(&loaded.tree).unwrap_or_else(|e| panic!("{e}"));
    Stream::build(&cfg, Arc::new(Shared::default())).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn indent(section: &str, id: &str) -> String {
    section
        .replace("$ID", id)
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect()
}

/// Builds the connector's output from its template.
pub fn output_of(h: &Harness, id: &str) -> Arc<dyn Output> {
    let yaml = format!(
        "input:\n  generate:\n    mapping: 'root = \"\"'\noutput:\n{}",
        indent(&h.output, id)
    );
    build(&yaml).output
}

/// Builds the connector's input from its template.
pub fn input_of(h: &Harness, id: &str) -> Box<dyn Input> {
    let Some(input) = h.input.as_deref() else {
        panic!("{} has no input", h.name)
    };
    let yaml = format!("input:\n{}output:\n  drop: {{}}\n", indent(input, id));
    build(&yaml).input
}

pub fn stream_of(input: Box<dyn Input>, output: Arc<dyn Output>) -> Stream {
    let yaml = "input:\n  generate:\n    mapping: 'root = \"\"'\noutput:\n  drop: {}\n";
    let mut s = build(yaml);
    s.input = input;
    s.output = output;
    s
}

/// An input that emits prepared batches (optionally paced) and records the acks it gets.
pub struct VecInput {
    batches: std::vec::IntoIter<Batch>,
    pace: Duration,
    pub acks: Arc<Mutex<Vec<AckStatus>>>,
    gate: Gate,
    sent: usize,
}

/// Holds a test component after `at` messages until `open` is set (so a disruption is sure to
/// happen mid-stream).
#[derive(Clone, Default)]
pub struct Gate {
    at: Option<usize>,
    open: Arc<std::sync::atomic::AtomicBool>,
    reached: Arc<std::sync::atomic::AtomicBool>,
}

impl Gate {
    pub fn at(n: usize) -> Gate {
        Gate {
            at: Some(n),
            ..Gate::default()
        }
    }
    async fn pass(&self, count: usize) {
        if self.at.is_some_and(|at| count >= at) {
            self.reached.store(true, Ordering::SeqCst);
            while !self.open.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    pub async fn reached(&self) {
        while !self.reached.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Input for VecInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        self.gate.pass(self.sent).await;
        let Some(b) = self.batches.next() else {
            return Err(ComponentError::EndOfInput);
        };
        self.sent += b.len();
        if !self.pace.is_zero() {
            tokio::time::sleep(self.pace).await;
        }
        let acks = self.acks.clone();
        Ok((
            b,
            Box::new(move |s| {
                acks.lock().unwrap().push(s);
                Box::pin(async {})
            }),
        ))
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    fn replays_nacks(&self) -> bool {
        true
    }
}

/// An output that keeps what it gets, failing the first `fail_first` writes.
#[derive(Default)]
pub struct CollectOutput {
    pub got: Arc<Mutex<Vec<Message>>>,
    pub fail_first: AtomicUsize,
    pub failures: AtomicUsize,
    pub gate: Gate,
}

#[async_trait]
impl Output for CollectOutput {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        if self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(ComponentError::Failed("test output refuses".into()));
        }
        let n = self.got.lock().unwrap().len();
        self.gate.pass(n).await;
        self.got.lock().unwrap().extend(b.iter().cloned());
        Ok(())
    }
    fn max_in_flight(&self) -> usize {
        8
    }
}

pub fn messages(id: &str, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let mut m = Message::from_bytes(format!("{{\"id\":{i},\"name\":\"{id}-{i}\"}}"));
            m.meta_mut().insert("suite_n".into(), Value::Int(i as i64));
            m
        })
        .collect()
}

/// Write `msgs` through the connector's output in batches of `batch`; every ack must succeed.
/// `during` runs concurrently (e.g. to kill connections).
pub async fn write_all<F>(
    h: &Harness,
    id: &str,
    msgs: Vec<Message>,
    batch: usize,
    pace: Duration,
    gate: Gate,
    during: F,
) where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let n = msgs.len();
    let batches: Vec<Batch> = msgs.chunks(batch).map(|c| c.to_vec()).collect();
    let acks = Arc::new(Mutex::new(Vec::new()));
    let input = VecInput {
        batches: batches.into_iter(),
        pace,
        acks: acks.clone(),
        gate,
        sent: 0,
    };
    let s = stream_of(Box::new(input), output_of(h, id));
    let disrupt = tokio::spawn(during);
    let outcome = tokio::time::timeout(
        Duration::from_secs(180),
        s.run(CancellationToken::new(), Duration::from_secs(10)),
    )
    .await
    .expect("writing finished in time");
    let _ = disrupt.await;
    assert_eq!(outcome, Outcome::Drained);
    let acks = acks.lock().unwrap();
    assert_eq!(
        acks.iter().filter(|a| a.is_ok()).count(),
        n.div_ceil(batch),
        "{:?}",
        acks.iter().find(|a| !a.is_ok())
    );
}

/// Run the connector's input into a [`CollectOutput`] until `want` distinct payloads arrived.
pub async fn read_until<F>(
    h: &Harness,
    id: &str,
    want: usize,
    out: Arc<CollectOutput>,
    during: F,
) -> Vec<Message>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let s = stream_of(input_of(h, id), out.clone());
    let stop = CancellationToken::new();
    let run = tokio::spawn(s.run(stop.clone(), Duration::from_secs(10)));
    let disrupt = tokio::spawn(during);
    let started = Instant::now();
    loop {
        let distinct: BTreeSet<Vec<u8>> = out
            .got
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.bytes().to_vec())
            .collect();
        if distinct.len() >= want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{}: only {} of {want} messages read",
            h.name,
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = disrupt.await;
    // Stop right away: a clean shutdown must acknowledge everything delivered.
    stop.cancel();
    assert_eq!(run.await.unwrap(), Outcome::Drained);
    let got = out.got.lock().unwrap().clone();
    got
}

fn payloads(msgs: &[Message]) -> BTreeSet<String> {
    msgs.iter().map(|m| m.as_str_lossy().into_owned()).collect()
}

async fn assert_stored(h: &Harness, id: &str, want: &[Message], exact: bool) {
    let stored = h.target.stored(id).await;
    let distinct: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(
        distinct,
        payloads(want),
        "{}: stored payloads differ",
        h.name
    );
    if exact {
        assert_eq!(stored.len(), want.len(), "{}: duplicates stored", h.name);
    }
}

/// Nothing left on the server after the input consumed (and acked) everything.
async fn assert_drained(h: &Harness, id: &str) {
    let left = h.target.stored(id).await;
    assert!(
        left.is_empty(),
        "{}: {} messages left unacked",
        h.name,
        left.len()
    );
}

pub async fn open_close(h: &Harness) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let started = Instant::now();
    let out = output_of(h, &id);
    out.connect().await.expect("output connects");
    out.close().await.expect("output closes");
    if h.input.is_some() {
        let mut input = input_of(h, &id);
        input.connect().await.expect("input connects");
        input.close().await.expect("input closes");
    }
    eprintln!("{}: open/close in {:?}", h.name, started.elapsed());
    h.target.teardown(&id).await;
}

pub async fn send_batch(h: &Harness, n: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let msgs = messages(&id, n);
    write_all(
        h,
        &id,
        msgs.clone(),
        n,
        Duration::ZERO,
        Gate::default(),
        async {},
    )
    .await;
    assert_stored(h, &id, &msgs, true).await;
    if h.input.is_some() {
        let got = read_until(h, &id, n, Arc::default(), async {}).await;
        assert_eq!(payloads(&got), payloads(&msgs));
        assert_drained(h, &id).await;
    }
    h.target.teardown(&id).await;
}

pub async fn stream_parallel(h: &Harness, n: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let msgs = messages(&id, n);
    let started = Instant::now();
    write_all(
        h,
        &id,
        msgs.clone(),
        1,
        Duration::ZERO,
        Gate::default(),
        async {},
    )
    .await;
    let wrote = started.elapsed();
    assert_stored(h, &id, &msgs, true).await;
    eprintln!(
        "{}: wrote {n} messages (max_in_flight > 1) in {wrote:?}",
        h.name
    );
    if h.input.is_some() {
        let started = Instant::now();
        let got = read_until(h, &id, n, Arc::default(), async {}).await;
        assert_eq!(got.len(), n, "{}: duplicates read", h.name);
        assert_eq!(payloads(&got), payloads(&msgs));
        eprintln!("{}: read {n} messages in {:?}", h.name, started.elapsed());
        assert_drained(h, &id).await;
    }
    h.target.teardown(&id).await;
}

/// An output failing its first writes makes the input nack; the source redelivers; nothing is
/// lost and everything ends acknowledged.
pub async fn at_least_once(h: &Harness, n: usize, failures: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let msgs = messages(&id, n);
    write_all(
        h,
        &id,
        msgs.clone(),
        1,
        Duration::ZERO,
        Gate::default(),
        async {},
    )
    .await;
    let out = Arc::new(CollectOutput {
        fail_first: AtomicUsize::new(failures),
        ..CollectOutput::default()
    });
    let got = read_until(h, &id, n, out.clone(), async {}).await;
    assert_eq!(out.failures.load(Ordering::SeqCst), failures);
    assert_eq!(payloads(&got), payloads(&msgs));
    assert_drained(h, &id).await;
    eprintln!(
        "{}: at-least-once: {n} delivered after {failures} refused writes",
        h.name
    );
    h.target.teardown(&id).await;
}

pub async fn metadata(h: &Harness) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let mut m = Message::from_bytes("with metadata");
    m.meta_mut().insert("foo".into(), Value::from("bar"));
    m.meta_mut().insert("count".into(), Value::Int(5));
    write_all(h, &id, vec![m], 1, Duration::ZERO, Gate::default(), async {
    })
    .await;
    let got = read_until(h, &id, 1, Arc::default(), async {}).await;
    assert_eq!(got[0].meta_str("foo").as_deref(), Some("bar"));
    assert_eq!(got[0].meta_str("count").as_deref(), Some("5"));
    h.target.teardown(&id).await;
}

/// The server drops the output's connection mid-stream: it reconnects, nothing is lost.
pub async fn reconnect_output(h: &Harness, n: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let msgs = messages(&id, n);
    let target = h.target.clone();
    let kill_id = id.clone();
    let gate = Gate::at(n / 4);
    let g = gate.clone();
    write_all(
        h,
        &id,
        msgs.clone(),
        1,
        Duration::from_millis(1),
        gate,
        async move {
            // Writes are in flight (paced) when the first kill lands; the second one happens while
            // the input is held, so the next write finds the connection dead.
            tokio::time::sleep(Duration::from_millis(100)).await;
            target.kill(&kill_id).await;
            g.reached().await;
            target.kill(&kill_id).await;
            g.open();
        },
    )
    .await;
    assert_stored(h, &id, &msgs, false).await;
    let stored = h.target.stored(&id).await.len();
    eprintln!(
        "{}: output reconnect: {n} of {n} stored ({} duplicates)",
        h.name,
        stored - n
    );
    h.target.teardown(&id).await;
}

/// The server drops the input's connection mid-stream: it reconnects, unacked messages are
/// redelivered, and stale acknowledgements do not break the new connection.
pub async fn reconnect_input(h: &Harness, n: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    let msgs = messages(&id, n);
    write_all(
        h,
        &id,
        msgs.clone(),
        50,
        Duration::ZERO,
        Gate::default(),
        async {},
    )
    .await;
    // The output holds its writes after n/4 messages, so deliveries are unacknowledged when
    // the connection dies; their acks then arrive for a dead channel.
    let gate = Gate::at(n / 4);
    let out = Arc::new(CollectOutput {
        gate: gate.clone(),
        ..CollectOutput::default()
    });
    let target = h.target.clone();
    let kill_id = id.clone();
    let got = read_until(h, &id, n, out, async move {
        gate.reached().await;
        // Let the pipeline fill up so the input is idle (a Redis BLPOP answered while its
        // connection is killed loses that message: `redis_list` is at-most-once there).
        tokio::time::sleep(Duration::from_millis(500)).await;
        target.kill(&kill_id).await;
        gate.open();
    })
    .await;
    assert_eq!(payloads(&got), payloads(&msgs));
    assert_drained(h, &id).await;
    eprintln!(
        "{}: input reconnect: {n} of {n} read ({} redelivered)",
        h.name,
        got.len() - n
    );
    h.target.teardown(&id).await;
}

/// Writes fail for a while (the target is broken, e.g. its table renamed away): the batches are
/// nacked and replayed until they succeed, and everything arrives.
pub async fn at_least_once_output(h: &Harness, n: usize) {
    let id = unique_id(h.name);
    h.target.setup(&id).await;
    if !h.target.sabotage(&id).await {
        h.target.teardown(&id).await;
        return;
    }
    let msgs = messages(&id, n);
    let batches: Vec<Batch> = msgs.chunks(10).map(|c| c.to_vec()).collect();
    let input = VecInput {
        batches: batches.into_iter(),
        pace: Duration::ZERO,
        acks: Arc::default(),
        gate: Gate::default(),
        sent: 0,
    };
    let s = stream_of(Box::new(input), output_of(h, &id));
    let target = h.target.clone();
    let repair_id = id.clone();
    let repair = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        target.repair(&repair_id).await;
    });
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        s.run(CancellationToken::new(), Duration::from_secs(10)),
    )
    .await
    .expect("delivered in time");
    repair.await.unwrap();
    assert_eq!(outcome, Outcome::Drained);
    assert_stored(h, &id, &msgs, true).await;
    eprintln!(
        "{}: at-least-once output: {n} of {n} stored after the target was broken for 500ms",
        h.name
    );
    h.target.teardown(&id).await;
}

/// One `#[tokio::test]` per case of a connector's suite, so that each case passes or fails on
/// its own and a failure names it. `harness` is evaluated in each test (`None` skips it, as
/// [`super::service`] decides). With `serial: LOCK` every test holds `LOCK` from start to end:
/// for servers where one case disrupts every client (RabbitMQ's and Redis's connection kills
/// are server-wide), the cases of that server take turns while other servers' cases run beside
/// them.
macro_rules! suite_tests {
    (serial: $lock:path, harness: $harness:expr; $($cases:tt)*) => {
        $crate::connectors::suite::suite_tests!(@cases Some(&$lock), $harness; $($cases)*);
    };
    (harness: $harness:expr; $($cases:tt)*) => {
        $crate::connectors::suite::suite_tests!(@cases None, $harness; $($cases)*);
    };
    (@cases $lock:expr, $harness:expr; $($name:ident($h:ident) $body:block)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[allow(unused_braces)] // a case's body is a block, here in return position
        async fn $name() {
            let lock: Option<&tokio::sync::Mutex<()>> = $lock;
            let _serial = match lock {
                Some(l) => Some(l.lock().await),
                None => None,
            };
            let Some($h) = $harness else { return };
            $body
        }
    )*};
}
pub(crate) use suite_tests;
