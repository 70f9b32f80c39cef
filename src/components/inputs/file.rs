//! `file`: reads files (globs allowed) one message per line, one file after another.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Deserialize;
use tokio::fs::File;
use tokio::io::BufReader;

use super::{auto_replay_field, check_scanner, read_line, scanner_field};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec, FieldType};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::{AckStatus, Batch, Message, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInputConfig {
    pub paths: Vec<String>,
    pub scanner: serde_json::Value,
    pub delete_on_finish: bool,
    pub auto_replay_nacks: bool,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("file", ComponentKind::Input, "Consumes data from files on disk, one message per line.")
        .description("Each file is read to its end before the next one starts. Messages carry the metadata `path`, `mod_time_unix` and `mod_time`. When every file is read the stream ends.")
        .fields(vec![
            FieldSpec::array("paths", FieldType::String, "A list of paths to consume sequentially. Glob patterns are supported.")
                .example(serde_json::json!(["./data/*.jsonl"])),
            scanner_field(),
            FieldSpec::bool("delete_on_finish", "Whether to delete input files from the disk once they are fully consumed: read to their end and every message from them delivered. A file with a message that was finally rejected (shutdown, or `auto_replay_nacks: false`) is kept.")
                .default(false)
                .advanced(),
            auto_replay_field(),
        ])
        .example("Read a file", "input:\n  file:\n    paths: [ ./input.txt ]\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: FileInputConfig = ctx.parse(conf)?;
    check_scanner(&c.scanner).map_err(|e| ctx.error(e))?;
    Ok(Box::new(FileInput {
        globs: c.paths,
        pending: VecDeque::new(),
        current: None,
        delete_on_finish: c.delete_on_finish,
        replay: c.auto_replay_nacks,
        buf: Vec::new(),
    }))
}

struct OpenFile {
    tracker: Arc<FileTracker>,
    reader: BufReader<File>,
    meta: crate::message::Metadata,
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
                    self.remove().await;
                }
            })
        })
    }

    async fn read_to_end(&self) {
        if self.update(|s| s.read_to_end = true) {
            // Every message was already delivered: delete now.
            self.remove().await;
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

    async fn remove(&self) {
        if let Err(e) = tokio::fs::remove_file(&self.path).await {
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
    buf: Vec<u8>,
}

#[async_trait]
impl Input for FileInput {
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
                // Taken off the queue only once open: a read cancelled while opening leaves
                // the file to the next one.
                let Some(path) = self.pending.front().cloned() else {
                    return Err(ComponentError::EndOfInput);
                };
                let f = File::open(&path)
                    .await
                    .map_err(|e| ComponentError::failed(format!("{}: {e}", path.display())))?;
                self.pending.pop_front();
                let mut meta = crate::message::Metadata::new();
                meta.insert("path".into(), Value::from(path.display().to_string()));
                if let Ok(m) = f.metadata().await {
                    if let Ok(modified) = m.modified() {
                        let t: chrono::DateTime<chrono::Utc> = modified.into();
                        meta.insert("mod_time_unix".into(), Value::Int(t.timestamp()));
                        meta.insert("mod_time".into(), Value::from(t.to_rfc3339()));
                    }
                }
                self.current = Some(OpenFile {
                    tracker: Arc::new(FileTracker {
                        path: path.clone(),
                        state: Mutex::new(TrackState::default()),
                        delete: self.delete_on_finish,
                    }),
                    reader: BufReader::new(f),
                    meta,
                });
            }
            let Some(cur) = self.current.as_mut() else {
                continue;
            };
            match read_line(&mut cur.reader, &mut self.buf).await {
                Ok(Some(line)) => {
                    let mut m = Message::from_bytes(line);
                    m.set_meta(cur.meta.clone());
                    if !self.delete_on_finish {
                        return Ok((vec![m], noop_ack()));
                    }
                    return Ok((vec![m], cur.tracker.clone().message()));
                }
                Ok(None) => {
                    if let Some(done) = self.current.take() {
                        done.tracker.read_to_end().await;
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
