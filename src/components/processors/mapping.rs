//! `mapping` and `mutation` (and `bloblang`, the old name of `mapping`): run a Bloblang mapping
//! on each message.

use async_trait::async_trait;

use crate::bloblang::Mapping;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec, FieldSpec, Status};

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

impl MappingProcessor {
    /// The batch is ours, so each message is replaced by its result (edited in place where the
    /// mapping allows) rather than rebuilt beside it.
    fn map_owned(&self, mut batch: Batch) -> Vec<Batch> {
        let mut kept = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            match self.mapping.map_message_in_place(&mut batch, i) {
                Ok(keep) => kept.push(keep),
                Err(e) => {
                    self.info.flag(&mut batch[i], e.to_string());
                    kept.push(true);
                }
            }
        }
        let mut kept = kept.into_iter();
        batch.retain(|_| kept.next().unwrap_or(true));
        if batch.is_empty() {
            return vec![];
        }
        vec![batch]
    }
}

#[async_trait]
impl Processor for MappingProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        if self.mode == Mode::Map {
            return Ok(self.map_owned(batch));
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::components::Shared;
    use crate::message::{Message, Value};

    fn run(mapping: &str, batch: Batch) -> Vec<Batch> {
        let ctx = BuildCtx::new(Arc::new(Shared::default()));
        let p = build(&serde_json::json!(mapping), &ctx, Mode::Map).unwrap();
        futures::executor::block_on(p.process(batch)).unwrap()
    }

    fn msg(json: &str, meta: &[(&str, &str)]) -> Message {
        let mut m = Message::from_bytes(json.as_bytes().to_vec());
        for (k, v) in meta {
            m.meta_mut().insert(k.to_string().into(), Value::from(*v));
        }
        m
    }

    #[test]
    fn a_mapping_run_in_place_keeps_its_metadata_edits_and_the_other_fields() {
        let mapping = "root = this\nmeta seen = \"yes\"\nroot.tokens = this.prompt.length()";
        assert!(crate::bloblang::parse_mapping(mapping)
            .unwrap()
            .runs_in_place());
        let out = run(
            mapping,
            vec![msg(r#"{"prompt":"abcd","id":1}"#, &[("source", "test")])],
        );
        let m = &out[0][0];
        assert_eq!(
            m.bytes().as_ref(),
            br#"{"id":1,"prompt":"abcd","tokens":4}"#
        );
        assert_eq!(m.meta_str("seen").as_deref(), Some("yes"));
        assert_eq!(m.meta_str("source").as_deref(), Some("test"));
        assert!(m.error().is_none());
    }

    #[test]
    fn a_failing_in_place_mapping_leaves_the_message_as_it_was_and_flags_it() {
        let out = run(
            "root = this\nroot.n = this.prompt.number()",
            vec![
                msg(r#"{"prompt":"abc"}"#, &[]),
                msg(r#"{"prompt":"7"}"#, &[]),
            ],
        );
        assert_eq!(out[0][0].bytes().as_ref(), br#"{"prompt":"abc"}"#);
        assert!(out[0][0].error().is_some());
        assert_eq!(out[0][1].bytes().as_ref(), br#"{"n":7,"prompt":"7"}"#);
        assert!(out[0][1].error().is_none());
    }

    #[test]
    fn deleted_messages_leave_the_owned_batch_and_the_rest_keep_their_order() {
        let out = run(
            r#"root = if this.drop { deleted() } else { this.id }"#,
            vec![
                msg(r#"{"id":1,"drop":false}"#, &[]),
                msg(r#"{"id":2,"drop":true}"#, &[]),
                msg(r#"{"id":3,"drop":false}"#, &[]),
            ],
        );
        let ids: Vec<_> = out[0]
            .iter()
            .map(|m| m.as_str_lossy().into_owned())
            .collect();
        assert_eq!(ids, ["1", "3"]);
        assert!(run("root = deleted()", vec![msg("{}", &[])]).is_empty());
    }

    #[test]
    fn a_payload_that_is_not_json_goes_the_copying_way_and_is_flagged() {
        let out = run("root = this\nroot.x = 1", vec![msg("not json", &[])]);
        assert_eq!(out[0][0].bytes().as_ref(), b"not json");
        assert!(out[0][0].error().is_some());
    }
}
