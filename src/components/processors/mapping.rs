//! `mapping` and `mutation` (and `bloblang`, the old name of `mapping`): run a Bloblang mapping
//! on each message.

use async_trait::async_trait;

use crate::bloblang::Mapping;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec, Status};
use crate::message::Batch;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Builds a new document; `this` is the untouched input.
    Map,
    /// Edits the input in place.
    Mutate,
}

pub fn mapping_spec() -> ComponentSpec {
    ComponentSpec::new("mapping", ComponentKind::Processor, "Executes a Bloblang mapping on messages, creating a new document that replaces (or filters) the original message.")
        .description("`this` is the input document and cannot change; the mapping builds a new document in `root`, and metadata starts as a copy of the input's. A mapping that never assigns `root` leaves the payload unchanged; `root = deleted()` drops the message (it is acknowledged). When the mapping fails the message is left unchanged and flagged with the error, for `catch` or `try` to handle.")
        .scalar(FieldSpec::bloblang("mapping", "The Bloblang mapping."))
        .example("Reshape a document", "pipeline:\n  processors:\n    - mapping: |\n        root.id = this.request_id\n        root.tokens = this.prompt.length()\n")
        .example("Filter", "pipeline:\n  processors:\n    - mapping: 'root = if this.type == \"noise\" { deleted() }'\n")
}

pub fn mutation_spec() -> ComponentSpec {
    ComponentSpec::new("mutation", ComponentKind::Processor, "Executes a Bloblang mapping and directly transforms the contents of messages, mutating (or deleting) them.")
        .description("Unlike `mapping`, `root` starts as the input document, so assignments change fields in place and everything else is kept. Cheaper than `mapping` for small edits to large documents.")
        .scalar(FieldSpec::bloblang("mutation", "The Bloblang mapping."))
        .example("Add a field", "pipeline:\n  processors:\n    - mutation: 'root.status = \"queued\"'\n")
}

pub fn bloblang_spec() -> ComponentSpec {
    ComponentSpec::new(
        "bloblang",
        ComponentKind::Processor,
        "The old name of the `mapping` processor.",
    )
    .status(Status::Deprecated)
    .scalar(FieldSpec::bloblang("bloblang", "The Bloblang mapping."))
    .example(
        "Old style",
        "pipeline:\n  processors:\n    - bloblang: 'root = this'\n",
    )
}

pub fn mapping_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: mapping_spec,
        build: |c, ctx| build(c, ctx, Mode::Map),
    }
}

pub fn mutation_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: mutation_spec,
        build: |c, ctx| build(c, ctx, Mode::Mutate),
    }
}

pub fn bloblang_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: bloblang_spec,
        build: |c, ctx| build(c, ctx, Mode::Map),
    }
}

fn build(
    conf: &serde_json::Value,
    ctx: &BuildCtx,
    mode: Mode,
) -> Result<Box<dyn Processor>, BuildError> {
    let text: String = ctx.parse(conf)?;
    let mapping = crate::bloblang::parse_mapping(&text).map_err(|e| ctx.error(e))?;
    Ok(Box::new(MappingProcessor {
        mapping,
        mode,
        info: ctx.info.clone(),
    }))
}

pub struct MappingProcessor {
    mapping: Mapping,
    mode: Mode,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for MappingProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let mut out = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let r = match self.mode {
                Mode::Map => self.mapping.map_message(&batch, i),
                Mode::Mutate => self.mapping.mutate_message(&batch, i),
            };
            match r {
                Ok(Some(m)) => out.push(m),
                Ok(None) => {}
                Err(e) => {
                    let mut m = batch[i].clone();
                    self.info.flag(&mut m, e.to_string());
                    out.push(m);
                }
            }
        }
        if out.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![out])
    }
}
