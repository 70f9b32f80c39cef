//! `file`: appends each message followed by a newline to a file whose path may be interpolated
//! per message.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::codec_field;
use crate::bloblang::{parse_interpolation, InterpolatedString};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec};
use crate::message::Batch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    pub path: String,
    pub codec: String,
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "file",
        ComponentKind::Output,
        "Writes messages to files on disk, one per line.",
    )
    .fields(vec![
        FieldSpec::string(
            "path",
            "The file to write to; parent directories are created.",
        )
        .interpolated()
        .example("/tmp/data.txt")
        .example("/tmp/${! @kafka_topic }.txt"),
        codec_field(),
    ])
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
    let path = parse_interpolation(&c.path).map_err(|e| ctx.error(format!("path: {e}")))?;
    Ok(Box::new(FileOutput {
        path,
        files: Mutex::new(HashMap::new()),
    }))
}

pub struct FileOutput {
    path: InterpolatedString,
    files: Mutex<HashMap<String, File>>,
}

impl FileOutput {
    async fn open(path: &str) -> Result<File, ComponentError> {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| ComponentError::failed(format!("{path}: {e}")))?;
            }
        }
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
    async fn connect(&self) -> Result<(), ComponentError> {
        Ok(())
    }

    async fn write(&self, batch: Batch) -> Result<(), ComponentError> {
        let mut files = self.files.lock().await;
        for i in 0..batch.len() {
            let path = self
                .path
                .render(&batch, i)
                .map_err(ComponentError::failed)?;
            if !files.contains_key(&path) {
                let f = Self::open(&path).await?;
                files.insert(path.clone(), f);
            }
            if let Some(f) = files.get_mut(&path) {
                let mut line = batch[i].bytes().to_vec();
                line.push(b'\n');
                f.write_all(&line).await.map_err(ComponentError::failed)?;
                f.flush().await.map_err(ComponentError::failed)?;
            }
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), ComponentError> {
        let mut files = self.files.lock().await;
        for f in files.values_mut() {
            let _ = f.sync_all().await;
        }
        files.clear();
        Ok(())
    }
}
