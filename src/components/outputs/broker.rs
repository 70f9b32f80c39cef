//! `broker` output: writes every message to several outputs (`fan_out*`) or spreads messages
//! over them (`round_robin`).

use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{build_children, close_all, max_in_flight_of, ChildOutput};
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct BrokerOutputConfig {
        pub copies: i64 = int("The number of copies of each configured output to spawn.").default(1).advanced(),
        pub pattern: String = string("The brokering pattern to use.").default("fan_out").options(PATTERNS),
        pub outputs: Vec<serde_json::Value> = array(FieldType::Component(ComponentKind::Output), "A list of child outputs to broker."),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
    }
}

const PATTERNS: &[&str] = &[
    "fan_out",
    "fan_out_fail_fast",
    "fan_out_sequential",
    "fan_out_sequential_fail_fast",
    "round_robin",
];

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("broker", ComponentKind::Output, "Allows you to route messages to multiple child outputs using a range of brokering patterns.")
        .description("`fan_out` writes every message to all outputs at once and retries an output that failed until it succeeds; `fan_out_sequential` does the same one output after another, in order. The `_fail_fast` variants do not retry: the first failure fails the write (and, sequentially, the outputs after it are not tried). `round_robin` sends each batch to the next output in turn. With `copies`, each output is created that many times. Bento's `greedy` pattern is not supported by engine.")
        .fields(BrokerOutputConfig::fields())
        .example("Queue, then answer", "output:\n  broker:\n    pattern: fan_out_sequential_fail_fast\n    outputs:\n      - stdout: {}\n      - sync_response: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

#[derive(Clone, Copy, PartialEq)]
enum Pattern {
    FanOut { sequential: bool, fail_fast: bool },
    RoundRobin,
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: BrokerOutputConfig = ctx.parse(conf)?;
    let pattern = match c.pattern.as_str() {
        "round_robin" => Pattern::RoundRobin,
        p if PATTERNS.contains(&p) => Pattern::FanOut {
            sequential: p.starts_with("fan_out_sequential"),
            fail_fast: p.ends_with("fail_fast"),
        },
        other => {
            return Err(ctx.error(format!(
                "pattern: '{other}' is not supported (supported: {})",
                PATTERNS.join(", ")
            )))
        }
    };
    if c.outputs.is_empty() {
        return Err(ctx.error("broker needs at least one output"));
    }
    if c.copies < 1 {
        return Err(ctx.error("copies: must be at least 1"));
    }
    let mut outputs = Vec::new();
    for _ in 0..c.copies {
        outputs.extend(build_children(ctx, "outputs", &c.outputs)?);
    }
    Ok(Box::new(BrokerOutput {
        outputs,
        pattern,
        next: AtomicUsize::new(0),
    }))
}

pub struct BrokerOutput {
    outputs: Vec<ChildOutput>,
    pattern: Pattern,
    next: AtomicUsize,
}

/// Write to one output; unless `fail_fast`, retry until it succeeds, as Bento's fan-out does.
async fn write_one(
    out: &ChildOutput,
    batch: &Batch,
    fail_fast: bool,
) -> Result<(), ComponentError> {
    if fail_fast {
        out.write(batch).await
    } else {
        out.write_until_written(batch).await;
        Ok(())
    }
}

#[async_trait]
impl Output for BrokerOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        super::connect_all(&self.outputs).await
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        match self.pattern {
            Pattern::RoundRobin => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.outputs.len();
                self.outputs[i].write(batch).await
            }
            Pattern::FanOut {
                sequential: true,
                fail_fast,
            } => {
                for o in &self.outputs {
                    write_one(o, batch, fail_fast).await?;
                }
                Ok(())
            }
            Pattern::FanOut {
                sequential: false,
                fail_fast,
            } => futures::future::join_all(
                self.outputs.iter().map(|o| write_one(o, batch, fail_fast)),
            )
            .await
            .into_iter()
            .find(Result::is_err)
            .unwrap_or(Ok(())),
        }
    }

    async fn close(&self) -> Result<(), ComponentError> {
        close_all(&self.outputs).await
    }

    fn max_in_flight(&self) -> usize {
        max_in_flight_of(&self.outputs)
    }
}
