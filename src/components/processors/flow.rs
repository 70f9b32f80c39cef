//! Error-flag flow control: `try` (stop at the first failure), `catch` (handle failures and
//! clear the flag) and `switch` (route each message to the first case whose check passes).

use std::sync::Arc;

use async_trait::async_trait;

use crate::bloblang::Mapping;
use crate::components::{
    run_processors, BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor,
    ProcessorStage,
};
use crate::message::{Batch, Message, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldSpec, FieldType};

pub fn try_spec() -> ComponentSpec {
    ComponentSpec::new("try", ComponentKind::Processor, "Executes a list of child processors on messages only if no prior processors have failed.")
        .description("Each message runs through the children in order; once a child flags it with an error the remaining children are skipped for that message. Messages already errored on entry skip them all.")
        .scalar(FieldSpec::processors("try", "The processors to run."))
        .example("Stop at the first failure", "pipeline:\n  processors:\n    - try:\n        - mapping: 'root = this.doc'\n        - mapping: 'root.checked = true'\n")
}

pub fn catch_spec() -> ComponentSpec {
    ComponentSpec::new("catch", ComponentKind::Processor, "Applies a list of child processors only when a previous processing step has failed, then clears the error.")
        .scalar(FieldSpec::processors("catch", "The processors to run on failed messages."))
        .example("Replace failures with an error document", "pipeline:\n  processors:\n    - mapping: 'root = this'\n    - catch:\n        - mapping: 'root = {\"error\": error()}'\n")
}

pub fn switch_spec() -> ComponentSpec {
    ComponentSpec::new("switch", ComponentKind::Processor, "Conditionally processes messages based on their contents.")
        .description("Each message runs the processors of the first case whose `check` gives true (an empty check always passes); with `fallthrough: true` the next case runs too. A check that fails flags the message. Messages keep their order.")
        .scalar(FieldSpec::array("switch", FieldType::Object(CaseConfig::fields()), "The cases."))
        .example("Route by a field", "pipeline:\n  processors:\n    - switch:\n        - check: 'this.user.tier == \"premium\"'\n          processors:\n            - mapping: 'root.priority = 1'\n        - processors:\n            - mapping: 'root.priority = 5'\n")
}

pub fn try_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: try_spec,
        build: |c, ctx| build_list(c, ctx, "try", Mode::Try),
    }
}

pub fn catch_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: catch_spec,
        build: |c, ctx| build_list(c, ctx, "catch", Mode::Catch),
    }
}

pub fn switch_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: switch_spec,
        build: build_switch,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Try,
    Catch,
}

fn build_list(
    conf: &serde_json::Value,
    ctx: &BuildCtx,
    field: &str,
    mode: Mode,
) -> Result<Box<dyn Processor>, BuildError> {
    let list: Vec<serde_json::Value> = ctx.parse(conf)?;
    Ok(Box::new(ListProcessor {
        children: ctx.build_processors(field, &list)?,
        mode,
    }))
}

pub struct ListProcessor {
    children: Vec<Arc<ProcessorStage>>,
    mode: Mode,
}

/// Run `children` over `msgs` one stage at a time, letting only the messages `eligible` accepts
/// into each stage; the rest pass by untouched, and order is kept.
async fn run_gated(
    children: &[Arc<ProcessorStage>],
    mut msgs: Batch,
    eligible: fn(&Message) -> bool,
) -> Batch {
    for child in children {
        let (mut inside, mut slots) = (Vec::new(), Vec::with_capacity(msgs.len()));
        for m in msgs {
            if eligible(&m) {
                slots.push(None);
                inside.push(m);
            } else {
                slots.push(Some(m));
            }
        }
        if inside.is_empty() {
            msgs = slots.into_iter().flatten().collect();
            continue;
        }
        let n_in = inside.len();
        let processed: Vec<Message> = child.run(inside).await.into_iter().flatten().collect();
        if processed.len() == n_in {
            let mut it = processed.into_iter();
            msgs = slots
                .into_iter()
                .filter_map(|s| s.or_else(|| it.next()))
                .collect();
        } else {
            // The child filtered or split: positions no longer line up, keep its output after
            // the untouched messages.
            msgs = slots.into_iter().flatten().chain(processed).collect();
        }
    }
    msgs
}

#[async_trait]
impl Processor for ListProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let out = match self.mode {
            Mode::Try => run_gated(&self.children, batch, |m| m.error().is_none()).await,
            Mode::Catch => {
                let mut out = run_gated(&self.children, batch, |m| m.error().is_some()).await;
                for m in &mut out {
                    m.clear_error();
                }
                out
            }
        };
        Ok(if out.is_empty() { vec![] } else { vec![out] })
    }
}

component_config! {
    struct CaseConfig {
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        check: Option<Mapping> = bloblang("A Bloblang query that should return a boolean value indicating whether a message should have the processors of this case executed on it. If left empty the case always passes.").default(""),
        processors: Vec<serde_json::Value> = processors("The processors to execute when the check passes.").default(serde_json::json!([])),
        fallthrough: bool = bool("Whether the next case should also run when this one passed.").default(false),
    }
}

struct Case {
    check: Option<Mapping>,
    processors: Vec<Arc<ProcessorStage>>,
    fallthrough: bool,
}

fn build_switch(
    conf: &serde_json::Value,
    ctx: &BuildCtx,
) -> Result<Box<dyn Processor>, BuildError> {
    let cases: Vec<CaseConfig> = ctx.parse(conf)?;
    let mut built = Vec::with_capacity(cases.len());
    for (i, c) in cases.into_iter().enumerate() {
        built.push(Case {
            check: c.check,
            processors: ctx.build_processors(&format!("{i}.processors"), &c.processors)?,
            fallthrough: c.fallthrough,
        });
    }
    Ok(Box::new(SwitchProcessor {
        cases: built,
        info: ctx.info.clone(),
    }))
}

/// Run a `check` query for message `i`: it must give a boolean.
pub(crate) fn check_passes(check: &Mapping, batch: &[Message], i: usize) -> Result<bool, String> {
    match check.query(batch, i) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("expected bool value, got {}", other.type_name())),
        Err(e) => Err(e.to_string()),
    }
}

pub struct SwitchProcessor {
    cases: Vec<Case>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for SwitchProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let mut out = Vec::with_capacity(batch.len());
        // Messages are routed one at a time so that each keeps its place in the batch.
        for (i, original) in batch.iter().enumerate() {
            let mut current = vec![original.clone()];
            let mut matched_before = false;
            for case in &self.cases {
                if !matched_before {
                    let pass = match &case.check {
                        None => true,
                        Some(m) => match check_passes(m, &batch, i) {
                            Ok(b) => b,
                            Err(e) => {
                                for msg in &mut current {
                                    self.info.flag(msg, e.clone());
                                }
                                break;
                            }
                        },
                    };
                    if !pass {
                        continue;
                    }
                }
                current = run_processors(&case.processors, current)
                    .await
                    .into_iter()
                    .flatten()
                    .collect();
                matched_before = case.fallthrough;
                if !case.fallthrough {
                    break;
                }
            }
            out.extend(current);
        }
        Ok(if out.is_empty() { vec![] } else { vec![out] })
    }
}
