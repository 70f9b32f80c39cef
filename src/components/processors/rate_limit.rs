//! `rate_limit` processor: holds each message until the named rate limit lets it through.

use async_trait::async_trait;

use crate::components::rate_limits::RateLimitStage;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct RateLimitProcConfig {
        pub resource: String = string("The target `rate_limit_resources` label."),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("rate_limit", ComponentKind::Processor, "Throttles the throughput of a pipeline according to a specified `rate_limit` resource. Rate limits are shared across components and therefore apply globally to all processing pipelines.")
        .fields(RateLimitProcConfig::fields())
        .example("At most 100 messages a second", "rate_limit_resources:\n  - label: hundred\n    local:\n      count: 100\n      interval: 1s\ninput:\n  stdin: {}\npipeline:\n  processors:\n    - rate_limit:\n        resource: hundred\noutput:\n  stdout: {}\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: RateLimitProcConfig = ctx.parse(conf)?;
    let limit = ctx.resources.rate_limit(&c.resource).ok_or_else(|| {
        ctx.error(format!(
            "rate limit resource '{}' was not found",
            c.resource
        ))
    })?;
    Ok(Box::new(RateLimitProc {
        limit,
        info: ctx.info.clone(),
    }))
}

pub struct RateLimitProc {
    limit: std::sync::Arc<RateLimitStage>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for RateLimitProc {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for m in &mut batch {
            // A failing rate limit (e.g. Redis down) is retried for a while, then flags.
            let mut tries = 0;
            loop {
                match self.limit.wait().await {
                    Ok(()) => break,
                    Err(e) if tries >= 10 => {
                        self.info.flag(m, format!("rate limit: {e}"));
                        break;
                    }
                    Err(_) => {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
        Ok(vec![batch])
    }
}
