//! `retry`: runs child processors on a message until none of their results is flagged with an
//! error, backing off exponentially between attempts. Each attempt starts again from the message
//! as it reached the processor, so the children must be safe to repeat (idempotent writes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};

use crate::components::{
    run_processors, BatchFailure, BuildCtx, BuildError, Plugin, Processor, ProcessorStage,
};
use crate::message::{Batch, Message};
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct RetryConfig {
        pub backoff: BackoffConfig = object("Determine time intervals and cut offs for retry attempts.", BackoffConfig::fields())
            .default(serde_json::json!({})),
        pub processors: Vec<serde_json::Value> = processors("A list of processors to execute on each message."),
        pub parallel: bool = bool("When processing batches of messages these batches are ignored and the processors apply to each message sequentially. However, when this field is set to `true` each message will be processed in parallel. Caution should be made to ensure that batch sizes do not surpass a point where this would cause resource (CPU, memory, API limits) contention.").default(false),
        pub max_retries: i64 = int("The maximum number of retry attempts before the request is aborted. Setting this value to `0` will result in unbounded number of retries.").default(0),
    }
}

component_config! {
    /// `retry`'s exponential backoff.
    pub struct BackoffConfig {
        #[serde(deserialize_with = "crate::spec::duration")]
        pub initial_interval: Duration = string("The initial period to wait between retry attempts.").default("500ms").example("50ms").example("1s").duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub max_interval: Duration = string("The maximum period to wait between retry attempts.").default("10s").example("5s").example("1m").duration(),
        #[serde(deserialize_with = "crate::spec::duration")]
        pub max_elapsed_time: Duration = string("The maximum overall period of time to spend on retry attempts before the request is aborted. Setting this value to a zeroed duration (such as `0s`) will result in unbounded retries.").default("1m").example("1m").example("1h").duration(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("retry", ComponentKind::Processor, "Attempts to execute a series of child processors until success.")
        .description("Executes child processors and if a resulting message is errored then, after a specified backoff period, the same original message will be attempted again through those same processors. If the child processors result in more than one message then the retry mechanism will kick in if any of the resulting messages are errored. Mutations performed on the message during these child processors are discarded for the next retry. Once `max_elapsed_time` or `max_retries` is reached the errored messages proceed to the next processor with their error flag, where normal error handling applies.")
        .fields(RetryConfig::fields())
        .example("Keep writing until the database answers", "pipeline:\n  processors:\n    - retry:\n        backoff:\n          initial_interval: 100ms\n          max_interval: 5s\n          max_elapsed_time: 0s\n        processors:\n          - mapping: 'root = this'\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: RetryConfig = ctx.parse(conf)?;
    Ok(Box::new(RetryProcessor {
        initial: c.backoff.initial_interval,
        max_interval: c.backoff.max_interval,
        max_elapsed: Some(c.backoff.max_elapsed_time).filter(|d| !d.is_zero()),
        max_retries: usize::try_from(c.max_retries).ok().filter(|n| *n > 0),
        parallel: c.parallel,
        children: ctx.build_processors("processors", &c.processors)?,
    }))
}

pub struct RetryProcessor {
    initial: Duration,
    max_interval: Duration,
    max_elapsed: Option<Duration>,
    max_retries: Option<usize>,
    parallel: bool,
    children: Vec<Arc<ProcessorStage>>,
}

impl RetryProcessor {
    /// Run the children over one message until its results carry no error, or the limits end
    /// the attempts (then the last, errored, results go on).
    async fn attempt(&self, original: Message) -> Vec<Message> {
        let started = Instant::now();
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max_interval)
            .with_jitter()
            .without_max_times()
            .build();
        let mut retries = 0;
        loop {
            let out: Vec<Message> = run_processors(&self.children, vec![original.clone()])
                .await
                .into_iter()
                .flatten()
                .collect();
            // A message that arrived flagged keeps its flag through any child: only a message
            // that arrived clean can be retried into success.
            let failed = out.iter().find_map(|m| m.error().map(|e| e.text.clone()));
            let Some(why) = failed.filter(|_| original.error().is_none()) else {
                return out;
            };
            let delay = delays.next().unwrap_or(self.max_interval);
            let out_of_time = self
                .max_elapsed
                .is_some_and(|max| started.elapsed() + delay > max);
            if out_of_time || self.max_retries.is_some_and(|n| retries >= n) {
                return out;
            }
            retries += 1;
            tracing::warn!("processors failed, retrying in {delay:?} (attempt {retries}): {why}");
            tokio::time::sleep(delay).await;
        }
    }
}

#[async_trait]
impl Processor for RetryProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let out: Vec<Message> = if self.parallel {
            futures::future::join_all(batch.into_iter().map(|m| self.attempt(m)))
                .await
                .into_iter()
                .flatten()
                .collect()
        } else {
            let mut out = Vec::with_capacity(batch.len());
            for m in batch {
                out.extend(self.attempt(m).await);
            }
            out
        };
        Ok(if out.is_empty() { vec![] } else { vec![out] })
    }
}
