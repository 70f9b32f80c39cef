//! `stdin`: one message per line of standard input; the stream ends at end of file.

use async_trait::async_trait;

use super::auto_replay_field;
use super::scanner::{codec_field, scanner_field, LineReader, Scanner};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::{Batch, Message};
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct StdinConfig {
        pub scanner: serde_json::Value = spec(scanner_field()),
        #[serde(default)]
        pub codec: Option<String> = spec(codec_field()),
        pub auto_replay_nacks: bool = spec(auto_replay_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "stdin",
        ComponentKind::Input,
        "Consumes data piped to stdin, one message per line.",
    )
    .fields(StdinConfig::fields())
    .example("Lines from stdin", "input:\n  stdin: {}\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: StdinConfig = ctx.parse(conf)?;
    let scanner = Scanner::from_config(&c.scanner, c.codec.as_deref()).map_err(|e| ctx.error(e))?;
    Ok(Box::new(StdinInput {
        reader: None,
        replay: c.auto_replay_nacks,
        max_line: scanner.plain_lines().unwrap_or(usize::MAX),
        scanner: scanner.plain_lines().is_none().then_some(scanner),
        scanned: None,
    }))
}

pub struct StdinInput {
    /// Plain lines, each a view of the block it was read in.
    reader: Option<LineReader<tokio::io::Stdin>>,
    /// The `lines` scanner's `max_buffer_size`, on the plain path.
    max_line: usize,
    /// A scanner other than plain `lines`, started on a thread at the first connect.
    scanner: Option<Scanner>,
    scanned: Option<tokio::sync::mpsc::Receiver<Result<Message, String>>>,
    replay: bool,
}

#[async_trait]
impl Input for StdinInput {
    // Lines come from a buffer that keeps a half-read line for the next read.
    fn reads_cancel_safely(&self) -> bool {
        true
    }

    async fn connect(&mut self) -> Result<(), ComponentError> {
        if let Some(scanner) = self.scanner.take() {
            self.scanned = Some(scanner.spawn(Box::new(std::io::stdin())));
        }
        if self.scanned.is_none() && self.reader.is_none() {
            self.reader = Some(LineReader::new(tokio::io::stdin(), self.max_line, None));
        }
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        if let Some(rx) = self.scanned.as_mut() {
            return match rx.recv().await {
                Some(Ok(m)) => Ok((vec![m], noop_ack())),
                Some(Err(e)) => Err(ComponentError::failed(e)),
                None => Err(ComponentError::EndOfInput),
            };
        }
        let r = self.reader.as_mut().ok_or(ComponentError::NotConnected)?;
        match r.next_line_async().await {
            Ok(Some(line)) => Ok((vec![Message::from_bytes(line)], noop_ack())),
            Ok(None) => Err(ComponentError::EndOfInput),
            Err(e) => Err(ComponentError::failed(e)),
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        self.reader = None;
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replay
    }
}
