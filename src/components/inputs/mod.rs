//! Inputs: one file per component.

pub mod amqp_0_9;
pub mod broker;
pub mod file;
pub mod generate;
pub mod http_server;
pub mod inproc;
pub mod redis_list;
pub mod resource;
pub mod scanner;
pub mod stdin;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::components::registry::ComponentConf;
use crate::components::{
    registry, run_processors, BuildCtx, BuildError, ComponentError, ComponentInfo, Input,
    ProcessorStage,
};
use crate::message::ack::AckFn;
use crate::message::{AckStatus, Batch};
use crate::spec::ComponentKind;

/// An input inside another (`broker`, `resource`), with its own `processors` run as it reads.
pub struct ChildInput {
    input: Box<dyn Input>,
    processors: Vec<Arc<ProcessorStage>>,
    pub info: ComponentInfo,
}

impl ChildInput {
    pub fn build(
        ctx: &BuildCtx,
        field: &str,
        j: &serde_json::Value,
    ) -> Result<ChildInput, BuildError> {
        let conf = ComponentConf::from_json(ComponentKind::Input, j).map_err(|e| ctx.error(e))?;
        let child = ctx.child(field, &conf);
        Ok(ChildInput {
            input: registry::build_input(&conf, &child)?,
            processors: child.build_processors("processors", &conf.processors)?,
            info: child.info,
        })
    }
}

#[async_trait]
impl Input for ChildInput {
    async fn connect(&mut self) -> Result<(), ComponentError> {
        self.input.connect().await
    }

    /// The processors' results are joined into one batch; a read whose messages were all
    /// filtered out is acknowledged here and the next one taken.
    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        loop {
            let (batch, ack) = self.input.read().await?;
            if self.processors.is_empty() {
                return Ok((batch, ack));
            }
            let out: Batch = run_processors(&self.processors, batch)
                .await
                .into_iter()
                .flatten()
                .collect();
            if !out.is_empty() {
                return Ok((out, ack));
            }
            ack(AckStatus::Delivered).await;
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        self.input.close().await
    }

    fn replays_nacks(&self) -> bool {
        self.input.replays_nacks()
    }
}

/// Read one line (without its `\n` or `\r\n`); `None` at end of input.
///
/// Cancel-safe: the runtime may drop a read half way (to replay a message, or to stop). What
/// it had read stays in `buf`, which belongs to the input, and the next call carries on from
/// there, so no line is lost or split.
///
/// A line longer than `max` (the `lines` scanner's `max_buffer_size`) is an error, as Go's
/// `bufio.Scanner` makes it under Bento; the next read goes on after it.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    if r.read_until(b'\n', buf).await? == 0 && buf.is_empty() {
        return Ok(None);
    }
    let mut line = std::mem::take(buf);
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            scanner::TOKEN_TOO_LONG,
        ));
    }
    Ok(Some(line))
}

pub(crate) fn auto_replay_field() -> crate::spec::FieldSpec {
    crate::spec::FieldSpec::bool(
        "auto_replay_nacks",
        "Whether messages that are rejected (nacked) at the output level are automatically replayed indefinitely. Disabling it drops nacked messages.",
    )
    .default(true)
}

#[cfg(test)]
mod tests {
    use super::read_line;
    use tokio::io::{AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn a_line_read_cancelled_half_way_is_finished_by_the_next_read() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut reader = BufReader::new(rx);
        let mut buf = Vec::new();
        tx.write_all(b"hal").await.unwrap();
        // The read sees half a line, then is dropped (as the input loop's select! may).
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            read_line(&mut reader, &mut buf, usize::MAX),
        )
        .await;
        assert!(cancelled.is_err(), "no whole line yet");
        tx.write_all(b"f a line\r\nnext\nlast").await.unwrap();
        drop(tx);
        let mut lines = Vec::new();
        while let Some(l) = read_line(&mut reader, &mut buf, usize::MAX).await.unwrap() {
            lines.push(String::from_utf8(l).unwrap());
        }
        assert_eq!(lines, vec!["half a line", "next", "last"]);
    }
}
