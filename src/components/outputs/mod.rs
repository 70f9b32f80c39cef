//! Outputs: one file per component.

pub mod amqp_0_9;
pub mod broker;
pub mod drop;
pub mod fallback;
pub mod file;
pub mod http_client;
pub mod inproc;
pub mod redis_list;
pub mod reject;
pub mod resource;
pub mod sql_insert;
pub mod sql_raw;
pub mod stdout;
pub mod switch;
pub mod sync_response;

/// The `codec` field of the line-oriented outputs: only `lines` is supported.
pub(crate) fn codec_field() -> crate::spec::FieldSpec {
    crate::spec::FieldSpec::string(
        "codec",
        "The way in which the bytes of messages should be written out: `lines` appends each message followed by a line break, `append` without any delimiter, `delim:x` followed by the custom delimiter `x`, and `all-bytes` (file outputs) writes each message to its file in full, replacing what the file held. A message that already ends with the delimiter gets no second one, as in Bento.",
    )
    .default("lines")
    .example("lines")
    .example("delim:\t")
    .advanced()
}

/// Bento's output codecs: each message is followed by a suffix, or (`all-bytes`) replaces the
/// file it is written to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OutputCodec {
    AllBytes,
    Delimited(Vec<u8>),
}

impl OutputCodec {
    pub fn parse(codec: &str) -> Result<OutputCodec, String> {
        match codec {
            "all-bytes" => Ok(OutputCodec::AllBytes),
            "append" => Ok(OutputCodec::Delimited(Vec::new())),
            "lines" => Ok(OutputCodec::Delimited(b"\n".to_vec())),
            other => match other.strip_prefix("delim:") {
                Some("") => {
                    Err("codec: custom delimiter codec requires a non-empty delimiter".into())
                }
                Some(d) => Ok(OutputCodec::Delimited(d.as_bytes().to_vec())),
                None => Err(format!("codec was not recognised: {other}")),
            },
        }
    }

    /// Append a message and its delimiter (unless it already ends with it) to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>, data: &[u8]) {
        buf.extend_from_slice(data);
        if let OutputCodec::Delimited(d) = self {
            if !d.is_empty() && !data.ends_with(d) {
                buf.extend_from_slice(d);
            }
        }
    }
}

use std::sync::Arc;
use std::time::Instant;

use crate::components::registry::ComponentConf;
use crate::components::{
    registry, run_processors, BuildCtx, BuildError, ComponentError, ComponentInfo, Output,
    ProcessorStage,
};
use crate::message::Batch;
use crate::metrics::OutputMetrics;
use crate::spec::ComponentKind;

/// An output inside another (`switch`, `fallback`, `broker`, `resource`): built with its own
/// `processors`, metered at its own path, and reconnected once when a write finds it
/// disconnected, so that the parent sees either success or an error it can act on.
pub struct ChildOutput {
    output: Box<dyn Output>,
    processors: Vec<Arc<ProcessorStage>>,
    info: ComponentInfo,
    metrics: OutputMetrics,
}

impl ChildOutput {
    pub fn build(
        ctx: &BuildCtx,
        field: &str,
        j: &serde_json::Value,
    ) -> Result<ChildOutput, BuildError> {
        let conf = ComponentConf::from_json(ComponentKind::Output, j).map_err(|e| ctx.error(e))?;
        let child = ctx.child(field, &conf);
        let output = registry::build_output(&conf, &child)?;
        let processors = child.build_processors("processors", &conf.processors)?;
        Ok(ChildOutput {
            output,
            processors,
            metrics: OutputMetrics::new(&child.info.label, &child.info.path),
            info: child.info,
        })
    }

    /// Write until the output takes the batch, backing off between attempts as connections do
    /// (`retry_until_success`, and the retrying broker patterns).
    pub async fn write_until_written(&self, batch: &Batch) {
        let mut delays = crate::components::connecting::connect_backoff();
        while let Err(e) = self.write(batch).await {
            let delay = delays.next().unwrap_or(std::time::Duration::from_secs(1));
            tracing::warn!(label = %self.info.label, path = %self.info.path, "output failed, retrying in {delay:?}: {e}");
            tokio::time::sleep(delay).await;
        }
    }
}

/// A child output is an output: `resource` hands its own out as it is.
#[async_trait::async_trait]
impl Output for ChildOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        self.output.connect().await?;
        self.metrics.conn.up();
        Ok(())
    }

    async fn close(&self) -> Result<(), ComponentError> {
        self.output.close().await
    }

    fn max_in_flight(&self) -> usize {
        self.output.max_in_flight()
    }

    /// Run the child's processors and write what they give.
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        // Processors take their batch: only a child that has them needs a copy.
        let processed;
        let batches = if self.processors.is_empty() {
            std::slice::from_ref(batch)
        } else {
            processed = run_processors(&self.processors, batch.clone()).await;
            processed.as_slice()
        };
        for b in batches.iter().filter(|b| !b.is_empty()) {
            let n = b.len();
            let started = Instant::now();
            let mut r = self.output.write(b).await;
            if r == Err(ComponentError::NotConnected) {
                self.metrics.conn.lost();
                r = match self.output.connect().await {
                    Ok(()) => self.output.write(b).await,
                    Err(e) => Err(e),
                };
            }
            match r {
                Ok(()) => self.metrics.written(n, started.elapsed()),
                Err(e) => {
                    self.metrics.failed();
                    tracing::warn!(label = %self.info.label, path = %self.info.path, "failed to send message: {e}");
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// Connect every child: the parent is connected once all of them are.
pub(crate) async fn connect_all(children: &[ChildOutput]) -> Result<(), ComponentError> {
    for c in children {
        c.connect().await?;
    }
    Ok(())
}

/// Close every child, reporting the first failure.
pub(crate) async fn close_all(children: &[ChildOutput]) -> Result<(), ComponentError> {
    let mut first = Ok(());
    for c in children {
        if let Err(e) = c.close().await {
            if first.is_ok() {
                first = Err(e);
            }
        }
    }
    first
}

/// How many writes a parent admits at once: as many as its most concurrent child.
pub(crate) fn max_in_flight_of(children: &[ChildOutput]) -> usize {
    children
        .iter()
        .map(ChildOutput::max_in_flight)
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Build the outputs listed at `field`.
pub(crate) fn build_children(
    ctx: &BuildCtx,
    field: &str,
    list: &[serde_json::Value],
) -> Result<Vec<ChildOutput>, BuildError> {
    list.iter()
        .enumerate()
        .map(|(i, j)| ChildOutput::build(ctx, &format!("{field}.{i}"), j))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::OutputCodec;

    fn encode(codec: &str, messages: &[&str]) -> String {
        let c = OutputCodec::parse(codec).unwrap();
        let mut buf = Vec::new();
        for m in messages {
            c.encode_into(&mut buf, m.as_bytes());
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn codecs_write_as_bentos() {
        assert_eq!(encode("lines", &["a", "b\n", ""]), "a\nb\n\n");
        assert_eq!(encode("append", &["a", "b"]), "ab");
        assert_eq!(encode("delim:\t", &["a", "b\t", "c"]), "a\tb\tc\t");
        assert_eq!(encode("delim:foobar", &["x"]), "xfoobar");
        assert_eq!(OutputCodec::parse("all-bytes"), Ok(OutputCodec::AllBytes));
        assert_eq!(
            OutputCodec::parse("delim:").unwrap_err(),
            "codec: custom delimiter codec requires a non-empty delimiter"
        );
        assert_eq!(
            OutputCodec::parse("csv").unwrap_err(),
            "codec was not recognised: csv"
        );
    }
}
