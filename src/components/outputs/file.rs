//! `file`: appends each message, followed by the codec's delimiter, to a file whose path may be
//! interpolated per message (or, with `all-bytes`, replaces the file with it).

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{codec_field, OutputCodec};
use crate::bloblang::InterpolatedString;
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct FileOutputConfig {
        pub path: InterpolatedString = string("The file to write to; parent directories are created. With an interpolated path at most 64 files stay open; the least recently written is closed (and reopened when written again).")
            .interpolated()
            .example("/tmp/data.txt")
            .example("/tmp/${! @kafka_topic }.txt"),
        pub codec: String = spec(codec_field()),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "file",
        ComponentKind::Output,
        "Writes messages to files on disk based on a chosen codec.",
    )
    .fields(FileOutputConfig::fields())
    .example(
        "Write lines to a file",
        "output:\n  file:\n    path: ./out.txt\n",
    )
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: FileOutputConfig = ctx.parse(conf)?;
    Ok(Box::new(FileOutput {
        codec: OutputCodec::parse(&c.codec).map_err(|e| ctx.error(e))?,
        path: c.path,
        files: Mutex::new(OpenFiles::default()),
    }))
}

/// Most files kept open at once: an interpolated path can name a new file per message, and
/// each would otherwise hold a descriptor for ever. Past it the least recently written closes.
pub const MAX_OPEN_FILES: usize = 64;

pub struct FileOutput {
    codec: OutputCodec,
    path: InterpolatedString,
    files: Mutex<OpenFiles>,
}

/// Open files by path, with when each was last written (a counter).
#[derive(Default)]
struct OpenFiles {
    by_path: HashMap<String, (File, u64)>,
    clock: u64,
}

impl FileOutput {
    async fn create_parent(path: &str) -> Result<(), ComponentError> {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| ComponentError::failed(format!("{path}: {e}")))?;
            }
        }
        Ok(())
    }

    async fn open(path: &str) -> Result<File, ComponentError> {
        Self::create_parent(path).await?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|e| ComponentError::failed(format!("{path}: {e}")))
    }
}

#[async_trait]
impl Output for FileOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let mut files = self.files.lock().await;
        let files = &mut *files;
        for i in 0..batch.len() {
            let path = self.path.render(batch, i).map_err(ComponentError::failed)?;
            if self.codec == OutputCodec::AllBytes {
                Self::create_parent(&path).await?;
                tokio::fs::write(&path, batch[i].bytes())
                    .await
                    .map_err(|e| ComponentError::failed(format!("{path}: {e}")))?;
                continue;
            }
            if !files.by_path.contains_key(&path) {
                if files.by_path.len() >= MAX_OPEN_FILES {
                    let oldest = files
                        .by_path
                        .iter()
                        .min_by_key(|(_, (_, used))| *used)
                        .map(|(p, _)| p.clone());
                    if let Some((f, _)) = oldest.and_then(|p| files.by_path.remove(&p)) {
                        let _ = f.sync_all().await;
                    }
                }
                let f = Self::open(&path).await?;
                files.by_path.insert(path.clone(), (f, 0));
            }
            files.clock += 1;
            let now = files.clock;
            if let Some((f, used)) = files.by_path.get_mut(&path) {
                *used = now;
                let mut line = Vec::with_capacity(batch[i].bytes().len() + 1);
                self.codec.encode_into(&mut line, batch[i].bytes());
                f.write_all(&line).await.map_err(ComponentError::failed)?;
                f.flush().await.map_err(ComponentError::failed)?;
            }
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), ComponentError> {
        let mut files = self.files.lock().await;
        for (f, _) in files.by_path.values_mut() {
            let _ = f.sync_all().await;
        }
        files.by_path.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[tokio::test]
    async fn open_files_stay_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = serde_json::json!(format!("{}/${{! content() }}.txt", dir.path().display()));
        let out = FileOutput {
            codec: OutputCodec::Delimited(b"\n".to_vec()),
            path: crate::bloblang::parse_interpolation(conf.as_str().unwrap_or_default())
                .expect("path"),
            files: Mutex::new(OpenFiles::default()),
        };
        for i in 0..200 {
            out.write(&vec![Message::from_bytes(format!("f{i}"))])
                .await
                .expect("written");
        }
        // The first file is written again after being closed: it is appended to.
        out.write(&vec![Message::from_bytes("f0")])
            .await
            .expect("written");
        assert_eq!(out.files.lock().await.by_path.len(), MAX_OPEN_FILES);
        let first = std::fs::read_to_string(dir.path().join("f0.txt")).expect("f0");
        assert_eq!(first, "f0\nf0\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 200);
    }
}
