//! At-least-once: what the output decides flows back to the input as an ack or a nack.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use engine::components::{
    ComponentError, ComponentInfo, Delivery, Input, Intake, Output, WriteAtOnce,
};
use engine::http::Readiness;
use engine::message::ack::AckFn;
use engine::message::{AckStatus, Batch, Message};
use engine::pipeline::{Outcome, Stream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub type AckLog = Arc<Mutex<Vec<(String, AckStatus)>>>;

/// An input that produces numbered messages (a fixed number, or forever) and records what the
/// stream told it about each one.
pub struct RecordingInput {
    next: u64,
    limit: Option<u64>,
    log: AckLog,
    /// How many messages were read, for tests that compare it with the answers.
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl RecordingInput {
    pub fn new(limit: u64) -> (RecordingInput, AckLog) {
        let log: AckLog = Arc::default();
        (
            RecordingInput {
                next: 0,
                limit: Some(limit),
                log: log.clone(),
                read: Arc::default(),
            },
            log,
        )
    }
    pub fn endless() -> (RecordingInput, AckLog) {
        let log: AckLog = Arc::default();
        (
            RecordingInput {
                next: 0,
                limit: None,
                log: log.clone(),
                read: Arc::default(),
            },
            log,
        )
    }
}

#[async_trait]
impl Input for RecordingInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        if Some(self.next) == self.limit {
            return Err(ComponentError::EndOfInput);
        }
        if self.limit.is_none() {
            // Endless inputs pace themselves so tests are not flooded.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let id = format!("m{}", self.next);
        self.next += 1;
        self.read
            .store(self.next, std::sync::atomic::Ordering::SeqCst);
        let log = self.log.clone();
        let key = id.clone();
        Ok((
            vec![Message::from_bytes(id)],
            Box::new(move |status| {
                log.lock().unwrap().push((key, status));
                Box::pin(async {})
            }),
        ))
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    // Nothing is taken before the (endless input's) pause.
    fn reads_cancel_safely(&self) -> bool {
        true
    }
}

/// One pipeline processor stage running `p`.
fn one_processor(
    p: Box<dyn engine::components::Processor>,
) -> Vec<Arc<engine::components::ProcessorStage>> {
    vec![Arc::new(engine::components::ProcessorStage::new(
        p,
        ComponentInfo::default(),
    ))]
}

/// Run the stream to its end and check that everything read was drained.
async fn run_drained(s: Stream) {
    let outcome = s
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Drained);
}

pub fn stream(input: Box<dyn Input>, output: Arc<dyn Output>) -> Stream {
    Stream {
        input,
        input_info: ComponentInfo {
            label: "test_in".into(),
            path: "root.input".into(),
            kind_name: "test".into(),
        },
        input_processors: vec![],
        processors: vec![],
        threads: 2,
        output,
        output_info: ComponentInfo {
            label: "test_out".into(),
            path: "root.output".into(),
            kind_name: "test".into(),
        },
        output_processors: vec![],
        batching: None,
        readiness: Arc::new(Readiness::default()),
    }
}

struct FailingOutput;

#[async_trait]
impl Output for FailingOutput {
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        Err(ComponentError::Failed("disk on fire".into()))
    }
}

/// Writes slowly; tells the test when the first write has started.
struct SlowOutput {
    delay: Duration,
    started: Arc<Notify>,
    written: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Output for SlowOutput {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        self.started.notify_one();
        tokio::time::sleep(self.delay).await;
        let mut w = self.written.lock().unwrap();
        for m in b {
            w.push(String::from_utf8_lossy(m.bytes()).into_owned());
        }
        Ok(())
    }
    fn max_in_flight(&self) -> usize {
        4
    }
}

#[tokio::test]
async fn a_failing_output_makes_the_input_see_nacks() {
    let (input, log) = RecordingInput::new(3);
    let outcome = stream(Box::new(input), Arc::new(FailingOutput))
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Drained);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    for (_, status) in log.iter() {
        assert_eq!(status, &AckStatus::Failed("disk on fire".into()));
    }
}

#[tokio::test]
async fn delivered_messages_are_acked_once_each() {
    let (input, log) = RecordingInput::new(50);
    let written = Arc::new(Mutex::new(Vec::new()));
    let out = SlowOutput {
        delay: Duration::ZERO,
        started: Arc::new(Notify::new()),
        written: written.clone(),
    };
    let outcome = stream(Box::new(input), Arc::new(out))
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Drained);
    let log = log.lock().unwrap();
    let mut ids: Vec<&str> = log.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    assert_eq!(log.len(), 50);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
    assert_eq!(written.lock().unwrap().len(), 50);
}

#[tokio::test]
async fn sigterm_style_stop_lets_in_flight_messages_finish_and_be_acked() {
    let (input, log) = RecordingInput::endless();
    let read = input.read.clone();
    let started = Arc::new(Notify::new());
    let written = Arc::new(Mutex::new(Vec::new()));
    let out = SlowOutput {
        delay: Duration::from_millis(300),
        started: started.clone(),
        written: written.clone(),
    };
    let stop = CancellationToken::new();
    let run = tokio::spawn(
        stream(Box::new(input), Arc::new(out)).run(stop.clone(), Duration::from_secs(5)),
    );
    started.notified().await;
    stop.cancel();
    let outcome = run.await.unwrap();
    assert_eq!(outcome, Outcome::Drained);
    let log = log.lock().unwrap();
    let written = written.lock().unwrap();
    assert!(!written.is_empty());
    // Everything that was read got an answer, and everything written was acked as delivered.
    let read = read.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        log.len() as u64,
        read,
        "one answer per message read: {log:?}"
    );
    let delivered: Vec<&String> = log
        .iter()
        .filter(|(_, s)| s.is_ok())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(delivered.len(), written.len());
    for w in written.iter() {
        assert!(delivered.contains(&w), "{w} written but not acked");
    }
}

#[tokio::test]
async fn a_shutdown_timeout_nacks_what_is_still_in_flight() {
    let (input, log) = RecordingInput::endless();
    let started = Arc::new(Notify::new());
    let out = SlowOutput {
        delay: Duration::from_secs(30),
        started: started.clone(),
        written: Arc::default(),
    };
    let stop = CancellationToken::new();
    let run = tokio::spawn(
        stream(Box::new(input), Arc::new(out)).run(stop.clone(), Duration::from_millis(200)),
    );
    started.notified().await;
    stop.cancel();
    assert_eq!(run.await.unwrap(), Outcome::TimedOut);
    // The transactions dropped by the abort reach the input as nacks, none as acks.
    let log = log.lock().unwrap();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|(_, s)| matches!(s, AckStatus::Failed(_))),
        "{log:?}"
    );
}

/// Replays the batches the stream nacks (as `generate`, `stdin` and `file` do).
struct ReplayingInput(RecordingInput);

#[async_trait]
impl Input for ReplayingInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        self.0.read().await
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    fn replays_nacks(&self) -> bool {
        true
    }
}

/// Fails the first `fail` writes, then takes everything; counts the attempts.
struct FlakyOutput {
    fail: usize,
    attempts: Arc<Mutex<usize>>,
}

#[async_trait]
impl Output for FlakyOutput {
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        let mut n = self.attempts.lock().unwrap();
        *n += 1;
        if *n <= self.fail {
            return Err(ComponentError::Failed("not yet".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_replayed_message_backs_off_exponentially() {
    let (input, log) = RecordingInput::new(1);
    let attempts = Arc::new(Mutex::new(0));
    let output = FlakyOutput {
        fail: 7,
        attempts: attempts.clone(),
    };
    let started = std::time::Instant::now();
    let outcome = stream(Box::new(ReplayingInput(input)), Arc::new(output))
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Drained);
    assert_eq!(
        *attempts.lock().unwrap(),
        8,
        "seven failures, then the write"
    );
    // Waits of 1, 2, 4, ... 64 ms between the eight attempts: at least 127 ms in all, where
    // replaying at once takes a fraction of a millisecond.
    assert!(
        started.elapsed() >= Duration::from_millis(127),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        log.lock().unwrap().as_slice(),
        &[("m0".to_owned(), AckStatus::Delivered)]
    );
}

/// Panics on its second write, as a bug reachable from message data would.
struct PanickingOutput {
    writes: Arc<Mutex<usize>>,
}

#[async_trait]
impl Output for PanickingOutput {
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        let n = {
            let mut w = self.writes.lock().unwrap();
            *w += 1;
            *w
        };
        if n == 2 {
            panic!("a bug in the output");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_task_is_a_crash_and_nacks_its_message() {
    let (input, log) = RecordingInput::new(3);
    let output = PanickingOutput {
        writes: Arc::default(),
    };
    let outcome = stream(Box::new(input), Arc::new(output))
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Crashed, "a panic is never a clean end");
    let log = log.lock().unwrap();
    assert_eq!(log.first(), Some(&("m0".to_owned(), AckStatus::Delivered)));
    let m1 = log
        .iter()
        .find(|(id, _)| id == "m1")
        .map(|(_, s)| s.clone());
    assert!(
        matches!(m1, Some(AckStatus::Failed(_))),
        "the message being written when it panicked is nacked: {log:?}"
    );
    assert!(
        !log.iter()
            .any(|(id, s)| id != "m0" && *s == AckStatus::Delivered),
        "nothing after the crash passes for delivered: {log:?}"
    );
}

/// Holds every write until the test opens the gate; tells the test when a write arrived.
pub struct GatedOutput {
    pub arrived: Arc<Notify>,
    pub gate: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl Output for GatedOutput {
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        self.arrived.notify_one();
        let _pass = self.gate.acquire().await;
        Ok(())
    }
}

#[tokio::test]
async fn file_delete_on_finish_waits_for_every_message_to_be_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "one\ntwo\n").unwrap();
    let yaml = format!(
        "input:\n  file:\n    paths: [ '{}' ]\n    delete_on_finish: true\noutput:\n  drop: {{}}\n",
        path.display()
    );
    let loaded = engine::config::read_text(std::path::Path::new("t.yaml"), &yaml).unwrap();
    let cfg = engine::config::decode(&loaded.tree).unwrap();
    let mut s = Stream::build(&cfg, Arc::default()).unwrap();
    let arrived = Arc::new(Notify::new());
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    s.output = Arc::new(GatedOutput {
        arrived: arrived.clone(),
        gate: gate.clone(),
    });
    let run = tokio::spawn(s.run(CancellationToken::new(), Duration::from_secs(5)));
    arrived.notified().await;
    // The input reaches the end of the file at once; the file must outlive its messages.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        path.exists(),
        "deleted while its messages were not delivered"
    );
    gate.add_permits(10);
    assert_eq!(run.await.unwrap(), Outcome::Drained);
    assert!(
        !path.exists(),
        "deleted once everything from it was delivered"
    );
}

/// Holds every write until `limit` writes are running at once, and records the most it saw.
struct ConcurrencyProbe {
    limit: usize,
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    gate: tokio::sync::Semaphore,
}

#[async_trait]
impl Output for ConcurrencyProbe {
    async fn write(&self, _b: &Batch) -> Result<(), ComponentError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        if now == self.limit {
            self.gate.add_permits(1_000);
        }
        let _pass = self.gate.acquire().await;
        self.running.fetch_sub(1, SeqCst);
        Ok(())
    }
    fn max_in_flight(&self) -> usize {
        self.limit
    }
}

#[tokio::test]
async fn the_output_runs_max_in_flight_writes_at_once_and_never_more() {
    let (input, log) = RecordingInput::new(20);
    let out = Arc::new(ConcurrencyProbe {
        limit: 3,
        running: Default::default(),
        peak: Default::default(),
        gate: tokio::sync::Semaphore::new(0),
    });
    // Writes only go on once three run together: one at a time would never finish.
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        stream(Box::new(input), out.clone()).run(CancellationToken::new(), Duration::from_secs(5)),
    )
    .await
    .expect("three writes ran at once");
    assert_eq!(outcome, Outcome::Drained);
    assert_eq!(out.peak.load(std::sync::atomic::Ordering::SeqCst), 3);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 20);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
}

/// Numbered messages; once it has read `signal_at` of them it wakes `notify`. Reads and sends
/// take turns, so by then every message before the last one read has been sent.
struct SignallingInput {
    inner: RecordingInput,
    signal_at: u64,
    notify: Arc<Notify>,
}

#[async_trait]
impl Input for SignallingInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        let r = self.inner.read().await;
        if self.inner.next == self.signal_at {
            self.notify.notify_one();
        }
        r
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// An output that coalesces writes (as `stdout` does) and records each write's payloads; the
/// first write waits for the input's signal, so that messages queue up behind it.
struct GatheringProbe {
    notify: Arc<Notify>,
    writes: Mutex<Vec<Vec<String>>>,
    wait_first: bool,
}

#[async_trait]
impl Output for GatheringProbe {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        let first = self.writes.lock().unwrap().is_empty();
        if first && self.wait_first {
            self.notify.notified().await;
        }
        let payloads = b
            .iter()
            .map(|m| String::from_utf8_lossy(m.bytes()).into_owned())
            .collect();
        self.writes.lock().unwrap().push(payloads);
        Ok(())
    }
    fn coalesces_writes(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn an_output_that_coalesces_gets_what_waits_in_one_write_and_acks_each() {
    let (inner, log) = RecordingInput::new(30);
    let notify = Arc::new(Notify::new());
    let input = SignallingInput {
        inner,
        signal_at: 4,
        notify: notify.clone(),
    };
    let out = Arc::new(GatheringProbe {
        notify,
        writes: Mutex::default(),
        wait_first: true,
    });
    let mut s = stream(Box::new(input), out.clone());
    s.threads = 1;
    run_drained(s).await;
    let writes = out.writes.lock().unwrap();
    // One thread and no processors: a channel of two between input and output. The first write
    // waits until the input read its fourth message, so m1 and m2 wait in the channel then.
    assert!(
        writes.iter().any(|w| w.len() >= 2),
        "one message per write: {writes:?}"
    );
    let all: Vec<String> = writes.iter().flatten().cloned().collect();
    let want: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    assert_eq!(all, want, "every message once, in order");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 30);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
}

/// A processor that edits every message with its function, so that a stream has a pipeline
/// (worker) stage.
struct EachMessage(fn(&mut Message));

#[async_trait]
impl engine::components::Processor for EachMessage {
    async fn process(
        &self,
        mut batch: Batch,
    ) -> Result<Vec<Batch>, engine::components::BatchFailure> {
        batch.iter_mut().for_each(self.0);
        Ok(vec![batch])
    }
}

/// Upper-cases every message.
const UPPER: EachMessage = EachMessage(|m| {
    let up = m.bytes().to_ascii_uppercase();
    m.set_bytes(up);
});

#[tokio::test]
async fn what_an_input_has_ready_crosses_the_stages_together() {
    // Twenty messages ready at once, a worker stage between input and output, and an output
    // that takes what waits in one write: the input hands all twenty on together, the worker
    // passes them on together, so the output's first write holds every one of them.
    let (input, log) = RecordingInput::new(20);
    let out = Arc::new(GatheringProbe {
        notify: Arc::new(Notify::new()),
        writes: Mutex::default(),
        wait_first: false,
    });
    let mut s = stream(Box::new(input), out.clone());
    s.threads = 1;
    s.processors = one_processor(Box::new(UPPER));
    run_drained(s).await;
    let writes = out.writes.lock().unwrap();
    let want: Vec<String> = (0..20).map(|i| format!("M{i}")).collect();
    assert_eq!(*writes, vec![want], "one write of all twenty, in order");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 20);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
}

/// Turns message `mN` into two batches, `mN-a` and `mN-b`, except `m2`, which it filters out.
struct Fanout;

#[async_trait]
impl engine::components::Processor for Fanout {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, engine::components::BatchFailure> {
        let id = String::from_utf8_lossy(batch[0].bytes()).into_owned();
        if id == "m2" {
            return Ok(vec![]);
        }
        Ok(["a", "b"]
            .iter()
            .map(|part| vec![Message::from_bytes(format!("{id}-{part}"))])
            .collect())
    }
}

/// Refuses a batch holding `m1-b`, records the rest.
struct RefusesOne {
    written: Mutex<Vec<String>>,
}

#[async_trait]
impl Output for RefusesOne {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        let texts: Vec<String> = b
            .iter()
            .map(|m| String::from_utf8_lossy(m.bytes()).into_owned())
            .collect();
        if texts.iter().any(|t| t == "m1-b") {
            return Err(ComponentError::Failed("refused m1-b".into()));
        }
        self.written.lock().unwrap().extend(texts);
        Ok(())
    }
}

#[tokio::test]
async fn a_message_processors_split_is_acked_once_by_the_fate_of_all_its_parts() {
    // As input processors (the input task) and as pipeline processors (the workers): a message
    // split in two is acked once both parts are written and nacked once when either is
    // refused; a message filtered out entirely is acked.
    for in_workers in [false, true] {
        let (input, log) = RecordingInput::new(3);
        let out = Arc::new(RefusesOne {
            written: Mutex::default(),
        });
        let mut s = stream(Box::new(input), out.clone());
        match in_workers {
            true => s.processors = one_processor(Box::new(Fanout)),
            false => s.input_processors = one_processor(Box::new(Fanout)),
        }
        run_drained(s).await;
        let mut log = log.lock().unwrap().clone();
        log.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            log,
            [
                ("m0".to_owned(), AckStatus::Delivered),
                ("m1".to_owned(), AckStatus::Failed("refused m1-b".into())),
                ("m2".to_owned(), AckStatus::Delivered),
            ],
            "workers: {in_workers}"
        );
        let mut written = out.written.lock().unwrap().clone();
        written.sort();
        assert_eq!(written, ["m0-a", "m0-b", "m1-a"], "workers: {in_workers}");
    }
}

/// An input that notes the task each read runs on, around [`RecordingInput`].
struct TaskNotingInput {
    inner: RecordingInput,
    tasks: Arc<Mutex<Vec<tokio::task::Id>>>,
}

#[async_trait]
impl Input for TaskNotingInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        self.tasks.lock().unwrap().extend(tokio::task::try_id());
        self.inner.read().await
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// An output whose writes finish at once, noting the task each write runs on.
struct AtOnceProbe {
    writes: Mutex<Vec<(tokio::task::Id, String)>>,
}

#[async_trait]
impl Output for AtOnceProbe {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        self.write_now(b)
    }
    fn at_once(&self) -> Option<&dyn WriteAtOnce> {
        Some(self)
    }
}

impl WriteAtOnce for AtOnceProbe {
    fn write_now(&self, b: &Batch) -> Result<(), ComponentError> {
        let task = tokio::task::try_id().expect("writes run in a task");
        let mut writes = self.writes.lock().unwrap();
        for m in b {
            writes.push((task, String::from_utf8_lossy(m.bytes()).into_owned()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_output_that_writes_at_once_is_written_by_the_input_task() {
    // No pipeline processors and an output whose writes take no time (`drop`,
    // `sync_response`): the input task writes each transaction itself, in order, and every
    // one is acknowledged; no message waits for the output task's wake-up.
    let (inner, log) = RecordingInput::new(50);
    let tasks = Arc::new(Mutex::new(Vec::new()));
    let input = TaskNotingInput {
        inner,
        tasks: tasks.clone(),
    };
    let out = Arc::new(AtOnceProbe {
        writes: Mutex::default(),
    });
    let outcome = stream(Box::new(input), out.clone())
        .run(CancellationToken::new(), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Outcome::Drained);
    let readers: std::collections::HashSet<_> = tasks.lock().unwrap().iter().copied().collect();
    assert_eq!(readers.len(), 1, "one input task");
    let writes = out.writes.lock().unwrap();
    assert!(
        writes.iter().all(|(task, _)| readers.contains(task)),
        "every write ran on the input task"
    );
    let order: Vec<&str> = writes.iter().map(|(_, m)| m.as_str()).collect();
    let want: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    assert_eq!(order, want, "every message once, in order");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 50);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
}

/// [`UPPER`], noting the task each batch is processed on.
struct TaskNotingUpper {
    tasks: Arc<Mutex<Vec<tokio::task::Id>>>,
}

#[async_trait]
impl engine::components::Processor for TaskNotingUpper {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, engine::components::BatchFailure> {
        self.tasks.lock().unwrap().extend(tokio::task::try_id());
        UPPER.process(batch).await
    }
}

#[tokio::test]
async fn with_a_worker_stage_the_workers_write_an_output_that_writes_at_once() {
    let (input, log) = RecordingInput::new(40);
    let workers = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::new(AtOnceProbe {
        writes: Mutex::default(),
    });
    let mut s = stream(Box::new(input), out.clone());
    s.threads = 2;
    s.processors = one_processor(Box::new(TaskNotingUpper {
        tasks: workers.clone(),
    }));
    run_drained(s).await;
    let workers: std::collections::HashSet<_> = workers.lock().unwrap().iter().copied().collect();
    let writes = out.writes.lock().unwrap();
    assert!(
        writes.iter().all(|(task, _)| workers.contains(task)),
        "every write ran on a worker"
    );
    // Two workers may finish their chunks in either order; each message is written once.
    let mut got: Vec<&str> = writes.iter().map(|(_, m)| m.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<String> = (0..40).map(|i| format!("M{i}")).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 40);
    assert!(log.iter().all(|(_, s)| s.is_ok()));
}

/// Sets each message to a structured value, as a mapping does.
const TO_OBJECT: EachMessage = EachMessage(|m| {
    let text = String::from_utf8_lossy(m.bytes()).into_owned();
    let mut o = engine::message::value::Object::new();
    o.insert("id".into(), engine::message::Value::String(text));
    m.set_value(engine::message::Value::Object(o));
});

/// Notes whether each message it writes still holds its parsed form, and its bytes.
struct ParsedProbe {
    only_bytes: bool,
    writes: Mutex<Vec<(bool, String)>>,
}

#[async_trait]
impl Output for ParsedProbe {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        let mut writes = self.writes.lock().unwrap();
        for m in b {
            let parsed = m.is_parsed();
            writes.push((parsed, String::from_utf8_lossy(m.bytes()).into_owned()));
        }
        Ok(())
    }
    fn reads_only_bytes(&self) -> bool {
        self.only_bytes
    }
}

#[tokio::test]
async fn an_output_that_reads_only_bytes_gets_messages_serialised_and_unparsed_by_the_workers() {
    for only_bytes in [true, false] {
        let (input, log) = RecordingInput::new(30);
        let out = Arc::new(ParsedProbe {
            only_bytes,
            writes: Mutex::default(),
        });
        let mut s = stream(Box::new(input), out.clone());
        s.processors = one_processor(Box::new(TO_OBJECT));
        run_drained(s).await;
        let writes = out.writes.lock().unwrap();
        let mut got: Vec<&str> = writes.iter().map(|(_, m)| m.as_str()).collect();
        got.sort_unstable();
        let mut want: Vec<String> = (0..30).map(|i| format!(r#"{{"id":"m{i}"}}"#)).collect();
        want.sort_unstable();
        assert_eq!(got, want, "only_bytes {only_bytes}");
        // The parsed form is freed on the worker only for an output that never reads it.
        assert!(
            writes.iter().all(|(parsed, _)| *parsed != only_bytes),
            "only_bytes {only_bytes}: {writes:?}"
        );
        assert!(log.lock().unwrap().iter().all(|(_, s)| s.is_ok()));
    }
}

/// What a [`DeliveringInput`] and its test share: the intake once offered, and the signals
/// between them.
#[derive(Default)]
struct Delivering {
    intake: Mutex<Option<std::sync::Weak<dyn Intake>>>,
    offered: Notify,
    connected: Notify,
    end: Notify,
}

/// An input whose batches come from tasks of its own through the runtime's intake, as
/// `http_server`'s connections deliver theirs; its `read` only waits for the test to end it.
struct DeliveringInput(Arc<Delivering>);

impl DeliveringInput {
    /// The input, and the handle the test delivers through.
    fn new() -> (DeliveringInput, Arc<Delivering>) {
        let d = Arc::new(Delivering::default());
        (DeliveringInput(d.clone()), d)
    }
}

#[async_trait]
impl Input for DeliveringInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        self.0.connected.notify_one();
        Ok(())
    }
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        self.0.end.notified().await;
        Err(ComponentError::EndOfInput)
    }
    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
    fn take_intake(&mut self, intake: std::sync::Weak<dyn Intake>) -> bool {
        *self.0.intake.lock().unwrap() = Some(intake);
        self.0.offered.notify_one();
        true
    }
}

impl Delivering {
    /// The intake, once the stream has offered it (within five seconds).
    async fn intake(&self) -> std::sync::Weak<dyn Intake> {
        let offered = async {
            loop {
                let offered = self.offered.notified();
                if let Some(i) = self.intake.lock().unwrap().clone() {
                    return i;
                }
                offered.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), offered)
            .await
            .expect("the stream offers its input the intake")
    }

    /// Deliver `text` on a task of its own: (that task, what `deliver` said, the ack).
    async fn deliver(
        &self,
        text: String,
    ) -> tokio::task::JoinHandle<(tokio::task::Id, bool, Option<AckStatus>)> {
        let intake = self.intake().await;
        tokio::spawn(async move {
            let task = tokio::task::id();
            let Some(intake) = intake.upgrade() else {
                return (task, false, None);
            };
            let (mut ack, acked) = recorded_ack();
            match intake.deliver(vec![Message::from_bytes(text)], &mut ack) {
                Delivery::Refused => (task, false, None),
                Delivery::Settled(status) => (task, true, Some(status)),
                Delivery::Pending(delivery) => {
                    let taken = delivery.await;
                    let rx = acked.lock().unwrap().take();
                    let status = match rx {
                        Some(rx) => rx.await.ok(),
                        None => None,
                    };
                    (task, taken, status)
                }
            }
        })
    }
}

/// An acknowledgement maker for [`Intake::deliver`], and where the receiver of the
/// acknowledgement it made (if it was asked for one) is left.
#[allow(clippy::type_complexity)]
fn recorded_ack() -> (
    impl FnMut() -> AckFn,
    Arc<Mutex<Option<tokio::sync::oneshot::Receiver<AckStatus>>>>,
) {
    let acked = Arc::new(Mutex::new(None));
    let slot = acked.clone();
    let make = move || -> AckFn {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *slot.lock().unwrap() = Some(rx);
        Box::new(move |s| {
            let _ = tx.send(s);
            Box::pin(async {})
        })
    };
    (make, acked)
}

/// A running stream of a [`DeliveringInput`] with `input_processor`, into an output that
/// writes at once: (the stream, the test's side of the input, the output).
fn run_delivering(
    input_processor: Box<dyn engine::components::Processor>,
) -> (
    tokio::task::JoinHandle<Outcome>,
    Arc<Delivering>,
    Arc<AtOnceProbe>,
) {
    let (input, delivering) = DeliveringInput::new();
    let out = Arc::new(AtOnceProbe {
        writes: Mutex::default(),
    });
    let mut s = stream(Box::new(input), out.clone());
    s.input_processors = one_processor(input_processor);
    let running = tokio::spawn(s.run(CancellationToken::new(), Duration::from_secs(5)));
    (running, delivering, out)
}

#[tokio::test]
async fn a_delivery_with_nothing_to_wait_for_is_written_and_acknowledged_before_deliver_returns() {
    // No processors and an output that writes at once: `deliver` gives no future, and by the
    // time it returns the message is written and its source acknowledged. With a processor on
    // the way the delivery is a future.
    for with_processor in [false, true] {
        let (input, delivering) = DeliveringInput::new();
        let out = Arc::new(AtOnceProbe {
            writes: Mutex::default(),
        });
        let mut s = stream(Box::new(input), out.clone());
        if with_processor {
            s.input_processors = one_processor(Box::new(UPPER));
        }
        let running = tokio::spawn(s.run(CancellationToken::new(), Duration::from_secs(5)));
        let intake = delivering
            .intake()
            .await
            .upgrade()
            .expect("the stream runs");
        // On a task, as an input's own deliveries are (the probe notes the task).
        let written = out.clone();
        tokio::spawn(async move {
            let (mut ack, acked) = recorded_ack();
            match intake.deliver(vec![Message::from_bytes("m")], &mut ack) {
                Delivery::Refused => panic!("refused while the stream runs"),
                Delivery::Settled(status) => {
                    assert!(
                        !with_processor,
                        "a processor to wait for, yet settled at once"
                    );
                    assert_eq!(status, AckStatus::Delivered);
                    assert!(
                        acked.lock().unwrap().is_none(),
                        "settled, yet an acknowledgement was asked for"
                    );
                    assert_eq!(written.writes.lock().unwrap().len(), 1);
                }
                Delivery::Pending(delivery) => {
                    assert!(with_processor, "nothing to wait for, yet a future");
                    assert!(delivery.await);
                    let rx = acked.lock().unwrap().take().expect("an acknowledgement");
                    assert_eq!(rx.await.ok(), Some(AckStatus::Delivered));
                }
            }
        })
        .await
        .unwrap();
        delivering.end.notify_one();
        assert_eq!(running.await.unwrap(), Outcome::Drained);
    }
}

#[tokio::test]
async fn batches_an_input_delivers_itself_are_processed_and_written_on_its_own_tasks() {
    // The input task sits in `read` throughout: every message gets through only by the
    // intake, and with an output that writes at once the whole of its way (input processor,
    // write, acknowledgement) runs on the task that delivered it.
    let (running, delivering, out) = run_delivering(Box::new(UPPER));
    let mut deliveries = Vec::new();
    for i in 0..10 {
        deliveries.push(delivering.deliver(format!("m{i}")).await);
    }
    let mut delivered = Vec::new();
    for d in deliveries {
        delivered.push(d.await.unwrap());
    }
    assert!(
        delivered
            .iter()
            .all(|(_, taken, ack)| *taken && *ack == Some(AckStatus::Delivered)),
        "{delivered:?}"
    );
    let writes = out.writes.lock().unwrap().clone();
    let mut got: Vec<(tokio::task::Id, String)> = writes;
    got.sort_by(|a, b| a.1.cmp(&b.1));
    let mut want: Vec<(tokio::task::Id, String)> = delivered
        .iter()
        .enumerate()
        .map(|(i, (task, _, _))| (*task, format!("M{i}")))
        .collect();
    want.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got, want,
        "each message written once, on its delivering task"
    );
    let intake = delivering.intake().await;
    delivering.end.notify_one();
    assert_eq!(running.await.unwrap(), Outcome::Drained);
    assert!(
        intake.upgrade().is_none(),
        "a stream that ended takes no more"
    );
    let late = delivering.deliver("late".into()).await.await.unwrap();
    assert_eq!(
        (late.1, late.2),
        (false, None),
        "refused, never acknowledged"
    );
}

/// An input processor that holds each batch until the gate opens.
struct Held {
    arrived: Arc<Notify>,
    gate: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl engine::components::Processor for Held {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, engine::components::BatchFailure> {
        self.arrived.notify_one();
        let _pass = self.gate.acquire().await;
        Ok(vec![batch])
    }
}

/// Writes at once; logs the order of writes and its close.
struct LoggingAtOnce {
    events: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Output for LoggingAtOnce {
    async fn write(&self, b: &Batch) -> Result<(), ComponentError> {
        self.write_now(b)
    }
    async fn close(&self) -> Result<(), ComponentError> {
        self.events.lock().unwrap().push("closed".into());
        Ok(())
    }
    fn at_once(&self) -> Option<&dyn WriteAtOnce> {
        Some(self)
    }
}

impl WriteAtOnce for LoggingAtOnce {
    fn write_now(&self, b: &Batch) -> Result<(), ComponentError> {
        for m in b {
            let text = String::from_utf8_lossy(m.bytes()).into_owned();
            self.events.lock().unwrap().push(format!("wrote {text}"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_stream_whose_input_ends_finishes_the_deliveries_in_flight_before_closing_the_output() {
    let (input, delivering) = DeliveringInput::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let out = LoggingAtOnce {
        events: events.clone(),
    };
    let held = Held {
        arrived: Arc::new(Notify::new()),
        gate: Arc::new(tokio::sync::Semaphore::new(0)),
    };
    let (arrived, gate) = (held.arrived.clone(), held.gate.clone());
    let mut s = stream(Box::new(input), Arc::new(out));
    s.input_processors = one_processor(Box::new(held));
    let running = tokio::spawn(s.run(CancellationToken::new(), Duration::from_secs(5)));
    let delivery = delivering.deliver("held".into()).await;
    arrived.notified().await;
    // The input ends while the delivery is held in its processor: the stream must wait for it.
    delivering.end.notify_one();
    tokio::task::yield_now().await;
    events.lock().unwrap().push("gate opened".into());
    gate.add_permits(1);
    let (_, taken, ack) = delivery.await.unwrap();
    assert_eq!((taken, ack), (true, Some(AckStatus::Delivered)));
    assert_eq!(running.await.unwrap(), Outcome::Drained);
    assert_eq!(
        *events.lock().unwrap(),
        vec!["gate opened", "wrote held", "closed"],
        "the output closes after the write in flight, not before"
    );
}

/// Panics on every message, as a bug reachable from message data would.
struct PanickingProcessor;

#[async_trait]
impl engine::components::Processor for PanickingProcessor {
    async fn process(&self, _b: Batch) -> Result<Vec<Batch>, engine::components::BatchFailure> {
        panic!("a bug in the processor");
    }
}

#[tokio::test]
async fn a_panic_in_a_delivery_is_a_crash_and_nacks_its_message() {
    let (running, delivering, out) = run_delivering(Box::new(PanickingProcessor));
    let (_, taken, ack) = delivering.deliver("boom".into()).await.await.unwrap();
    assert!(!taken);
    assert!(matches!(ack, Some(AckStatus::Failed(_))), "{ack:?}");
    // The crash stops the stream; its input then ends as it would on a signal.
    delivering.end.notify_one();
    assert_eq!(running.await.unwrap(), Outcome::Crashed);
    assert!(out.writes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn with_a_worker_stage_or_an_output_task_the_input_task_keeps_the_requests() {
    // The intake is offered only when the stage after the input writes the output itself:
    // towards workers or the output task, the input task's chunks of many requests cost fewer
    // wake-ups than a hand-over per request.
    for workers in [true, false] {
        let (input, delivering) = DeliveringInput::new();
        let out = Arc::new(GatheringProbe {
            notify: Arc::new(Notify::new()),
            writes: Mutex::default(),
            wait_first: false,
        });
        let at_once = Arc::new(AtOnceProbe {
            writes: Mutex::default(),
        });
        let mut s = match workers {
            true => stream(Box::new(input), at_once),
            false => stream(Box::new(input), out),
        };
        if workers {
            s.processors = one_processor(Box::new(UPPER));
        }
        let running = tokio::spawn(s.run(CancellationToken::new(), Duration::from_secs(5)));
        // The offer comes before `connect`.
        delivering.connected.notified().await;
        assert!(
            delivering.intake.lock().unwrap().is_none(),
            "workers {workers}: not offered"
        );
        delivering.end.notify_one();
        assert_eq!(running.await.unwrap(), Outcome::Drained);
    }
}
