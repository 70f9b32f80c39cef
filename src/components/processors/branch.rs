//! `branch`: runs child processors on a copy of each message (shaped by `request_map`) and maps
//! their result back into the original (with `result_map`), leaving everything else intact.

use std::sync::Arc;

use async_trait::async_trait;

use crate::bloblang::Mapping;
use crate::components::{
    run_processors, BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor,
    ProcessorStage,
};
use crate::message::{Batch, Message};
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct BranchConfig {
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub request_map: Option<Mapping> = bloblang("A Bloblang mapping that builds the request sent to the child processors.")
            .default("")
            .example("root = {\n  \"id\": this.doc.id,\n  \"content\": this.doc.body.text\n}"),
        pub processors: Vec<serde_json::Value> = processors("The processors to apply to the request."),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub result_map: Option<Mapping> = bloblang("A Bloblang mapping that merges the result of the child processors back into the original message.")
            .default("")
            .example("root.enrichments = this"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("branch", ComponentKind::Processor, "Runs child processors on a copy of each message and maps their result back into the original.")
        .description("`request_map` shapes the copy the child processors see (`root = deleted()` skips the branch for that message; empty copies the message whole). `result_map` maps the result back: `this` is the branch result, `root` and `@` start as the original message, so `root.x = this.y` adds a field. An empty `result_map` leaves the original unchanged. When the request map fails the children are skipped; when a child fails the result map is skipped; either way the original is flagged with the error. Child processors must keep the number and order of messages.")
        .fields(BranchConfig::fields())
        .example(
            "Add a field computed by children",
            "pipeline:\n  processors:\n    - branch:\n        request_map: 'root = this.text'\n        processors:\n          - mapping: 'root = content().length()'\n        result_map: 'root.length = this'\n",
        )
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: BranchConfig = ctx.parse(conf)?;
    Ok(Box::new(BranchProcessor {
        request_map: c.request_map,
        processors: ctx.build_processors("processors", &c.processors)?,
        result_map: c.result_map,
        info: ctx.info.clone(),
    }))
}

pub struct BranchProcessor {
    request_map: Option<Mapping>,
    processors: Vec<Arc<ProcessorStage>>,
    result_map: Option<Mapping>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for BranchProcessor {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        // Build the requests, remembering which original each came from.
        let mut requests = Vec::with_capacity(batch.len());
        let mut origin = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let req = match &self.request_map {
                None => Ok(Some(batch[i].clone())),
                Some(m) => m.map_message(&batch, i),
            };
            match req {
                Ok(Some(mut r)) => {
                    r.clear_error();
                    requests.push(r);
                    origin.push(i);
                }
                Ok(None) => {}
                Err(e) => self
                    .info
                    .flag(&mut batch[i], format!("request mapping failed: {e}")),
            }
        }
        if requests.is_empty() {
            return Ok(vec![batch]);
        }
        let results: Vec<Message> = run_processors(&self.processors, requests)
            .await
            .into_iter()
            .flatten()
            .collect();
        // Bento's texts: every child filtering its message is an error of its own.
        if results.is_empty() {
            for &i in &origin {
                self.info
                    .flag(&mut batch[i], "child processors resulted in zero messages");
            }
            return Ok(vec![batch]);
        }
        if results.len() != origin.len() {
            let why = format!(
                "message count from branch processors does not match request, started with {} messages, finished with {}",
                origin.len(),
                results.len()
            );
            for &i in &origin {
                self.info.flag(&mut batch[i], why.clone());
            }
            return Ok(vec![batch]);
        }
        for (j, &i) in origin.iter().enumerate() {
            if let Some(e) = results[j].error() {
                let why = format!("processors failed: {}", e.text);
                self.info.flag(&mut batch[i], why);
                continue;
            }
            let Some(m) = &self.result_map else { continue };
            match m.map_onto(&batch[i], &results, j) {
                Ok(Some(updated)) => batch[i] = updated,
                Ok(None) => {}
                Err(e) => self
                    .info
                    .flag(&mut batch[i], format!("result mapping failed: {e}")),
            }
        }
        Ok(vec![batch])
    }
}
