//! `file`: reads files (globs allowed) one message per line, one file after another.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::fs::File;

use super::auto_replay_field;
use super::scanner::{codec_field, scanner_field, LineReader, Scanner};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::{AckStatus, Batch, Message, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct FileInputConfig {
        pub paths: Vec<String> = array(FieldType::String, "A list of paths to consume sequentially. Glob patterns are supported.")
            .example(serde_json::json!(["./data/*.jsonl"])),
        pub scanner: serde_json::Value = spec(scanner_field()),
        #[serde(default)]
        pub codec: Option<String> = spec(codec_field()),
        pub delete_on_finish: bool = bool("Whether to delete input files from the disk once they are fully consumed: read to their end and every message from them delivered. A file with a message that was finally rejected (shutdown, or `auto_replay_nacks: false`) is kept.")
            .default(false)
            .advanced(),
        pub auto_replay_nacks: bool = spec(auto_replay_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("file", ComponentKind::Input, "Consumes data from files on disk, emitting messages according to a chosen codec.")
        .description("Each file is read to its end before the next one starts. Messages carry the metadata `path`, `mod_time_unix` and `mod_time`. When every file is read the stream ends.")
        .fields(FileInputConfig::fields())
        .example("Read a file", "input:\n  file:\n    paths: [ ./input.txt ]\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: FileInputConfig = ctx.parse(conf)?;
    let scanner = Scanner::from_config(&c.scanner, c.codec.as_deref()).map_err(|e| ctx.error(e))?;
    Ok(Box::new(FileInput {
        globs: c.paths,
        pending: VecDeque::new(),
        current: None,
        delete_on_finish: c.delete_on_finish,
        replay: c.auto_replay_nacks,
        max_line: scanner.plain_lines().unwrap_or(usize::MAX),
        scanner: scanner.plain_lines().is_none().then_some(scanner),
    }))
}

struct OpenFile {
    tracker: Arc<FileTracker>,
    source: Source,
    meta: crate::message::Metadata,
}

/// Where a file's messages come from: plain lines read here, or another scanner's thread.
enum Source {
    Lines(LineReader<File>),
    Scanned(tokio::sync::mpsc::Receiver<Result<Message, String>>),
}

/// What became of the messages of one file, so that `delete_on_finish` deletes it only once it
/// was read to its end and every message from it was delivered (as Bento does, from the
/// acknowledgements), never while a message from it could still need replaying.
struct FileTracker {
    path: PathBuf,
    state: Mutex<TrackState>,
    delete: bool,
}

#[derive(Default)]
struct TrackState {
    outstanding: usize,
    read_to_end: bool,
    failed: bool,
    deleted: bool,
}

impl FileTracker {
    /// The acknowledgement of one more message of the file.
    fn message(self: Arc<Self>) -> AckFn {
        self.update(|s| s.outstanding += 1);
        Box::new(move |status| {
            Box::pin(async move {
                let delivered = status == AckStatus::Delivered;
                if self.update(|s| {
                    s.outstanding -= 1;
                    s.failed |= !delivered;
                }) {
                    self.remove();
                }
            })
        })
    }

    fn read_to_end(&self) {
        if self.update(|s| s.read_to_end = true) {
            // Every message was already delivered: delete now.
            self.remove();
        }
    }

    /// Apply `f`; true when the file is now due for deletion (once).
    fn update(&self, f: impl FnOnce(&mut TrackState)) -> bool {
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        f(&mut s);
        let due = self.delete && s.read_to_end && s.outstanding == 0 && !s.failed && !s.deleted;
        s.deleted |= due;
        due
    }

    /// One `unlink`, done in place: awaited, it could be dropped half-way by a cancelled read
    /// after the file was marked deleted, and then never happen.
    fn remove(&self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(
                "file: failed to delete {} after reading it: {e}",
                self.path.display()
            );
        }
    }
}

pub struct FileInput {
    globs: Vec<String>,
    pending: VecDeque<PathBuf>,
    current: Option<OpenFile>,
    delete_on_finish: bool,
    replay: bool,
    /// The `lines` scanner's `max_buffer_size`, on the plain path.
    max_line: usize,
    /// A scanner other than plain `lines`: each file gets a copy on a thread of its own.
    scanner: Option<Scanner>,
}

#[async_trait]
impl Input for FileInput {
    // A file leaves the queue only once open, and lines come from a buffer that keeps a half-read line.
    fn reads_cancel_safely(&self) -> bool {
        true
    }

    async fn connect(&mut self) -> Result<(), ComponentError> {
        if !self.pending.is_empty() || self.current.is_some() {
            return Ok(());
        }
        for g in &self.globs {
            let paths = glob::glob(g).map_err(|e| ComponentError::failed(format!("{g}: {e}")))?;
            let mut found = false;
            for p in paths.flatten() {
                found = true;
                self.pending.push_back(p);
            }
            if !found {
                return Err(ComponentError::failed(format!("{g}: no such file")));
            }
        }
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        loop {
            if self.current.is_none() {
                // Taken off the queue only once open and ready to read, with nothing awaited
                // after: a read dropped half-way (the runtime polls reads once to gather what
                // is ready) leaves the file to the next one.
                let Some(path) = self.pending.front().cloned() else {
                    return Err(ComponentError::EndOfInput);
                };
                let f = File::open(&path)
                    .await
                    .map_err(|e| ComponentError::failed(format!("{}: {e}", path.display())))?;
                let mut meta = crate::message::Metadata::new();
                meta.insert("path".into(), Value::from(path.display().to_string()));
                if let Ok(m) = f.metadata().await {
                    if let Ok(modified) = m.modified() {
                        let t: chrono::DateTime<chrono::Utc> = modified.into();
                        meta.insert("mod_time_unix".into(), Value::Int(t.timestamp()));
                        // RFC 3339 in UTC, as Go's time.RFC3339 writes it (`Z`, whole seconds).
                        meta.insert(
                            "mod_time".into(),
                            Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                        );
                    }
                }
                let source = match &self.scanner {
                    None => Source::Lines(LineReader::new(f, self.max_line, None)),
                    Some(scanner) => {
                        Source::Scanned(scanner.clone().spawn(Box::new(f.into_std().await)))
                    }
                };
                self.pending.pop_front();
                self.current = Some(OpenFile {
                    tracker: Arc::new(FileTracker {
                        path: path.clone(),
                        state: Mutex::new(TrackState::default()),
                        delete: self.delete_on_finish,
                    }),
                    source,
                    meta,
                });
            }
            let Some(cur) = self.current.as_mut() else {
                continue;
            };
            let next = match &mut cur.source {
                Source::Lines(reader) => reader
                    .next_line_async()
                    .await
                    .map(|l| l.map(Message::from_bytes)),
                Source::Scanned(rx) => rx.recv().await.transpose(),
            };
            match next {
                Ok(Some(mut m)) => {
                    m.set_meta(cur.meta.clone());
                    if !self.delete_on_finish {
                        return Ok((vec![m], noop_ack()));
                    }
                    return Ok((vec![m], cur.tracker.clone().message()));
                }
                Ok(None) => {
                    if let Some(done) = self.current.take() {
                        done.tracker.read_to_end();
                    }
                }
                Err(e) => return Err(ComponentError::failed(e)),
            }
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        self.current = None;
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replay
    }
}
