//! `sleep`: pauses for a duration per message.

use async_trait::async_trait;

use crate::bloblang::InterpolatedString;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::Batch;
use crate::spec::parse_duration;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct SleepConfig {
        pub duration: InterpolatedString = string("The duration of time to sleep for each execution.")
            .interpolated()
            .example("100ms")
            .example("${! @sleep_for }"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new(
        "sleep",
        ComponentKind::Processor,
        "Sleeps for a period of time specified as a duration string for each message.",
    )
    .fields(SleepConfig::fields())
    .example(
        "Slow down",
        "pipeline:\n  processors:\n    - sleep:\n        duration: 500ms\n",
    )
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: SleepConfig = ctx.parse(conf)?;
    let duration = c.duration;
    if duration.is_static() {
        parse_duration(&duration.render_static())
            .map_err(|e| ctx.error(format!("duration: {e}")))?;
    }
    Ok(Box::new(SleepProcessor {
        duration,
        info: ctx.info.clone(),
    }))
}

pub struct SleepProcessor {
    duration: InterpolatedString,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for SleepProcessor {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            let d = self
                .duration
                .render(&batch, i)
                .map_err(|e| e.to_string())
                .and_then(|s| parse_duration(&s));
            match d {
                Ok(d) if !d.is_zero() => tokio::time::sleep(d).await,
                Ok(_) => {}
                Err(e) => self.info.flag(&mut batch[i], e),
            }
        }
        Ok(vec![batch])
    }
}
