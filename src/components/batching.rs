//! Bento's batching policy (`batching: {count, byte_size, period, jitter, check, processors}`)
//! on the stream's output: transactions gather into one batch until a rule says flush, the
//! output writes that batch once, and every transaction in it is acked or nacked with it.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::bloblang::Mapping;
use crate::components::processors::flow::check_passes;
use crate::components::{BuildCtx, BuildError, ProcessorStage, Transaction};
use crate::message::ack::AckFn;
use crate::message::{AckHandle, AckStatus, Batch};
use crate::spec::{component_config, FieldSpec};

component_config! {
    #[derive(Default)]
    #[serde(default)]
    pub struct BatchingConfig {
        pub count: i64 = int("A number of messages at which the batch should be flushed. If `0` disables count based batching.").default(0),
        pub byte_size: i64 = int("An amount of bytes at which the batch should be flushed. If `0` disables size based batching.").default(0),
        #[serde(default, deserialize_with = "crate::spec::duration_unless_blank")]
        pub period: Option<Duration> = string("A period in which an incomplete batch should be flushed regardless of its size.").default("").example("1s").example("500ms").duration(),
        pub jitter: f64 = float("A non-negative factor that adds random delay to batch flush intervals, where delay is determined uniformly at random between `0` and `jitter * period`.").default(0.0).advanced(),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub check: Option<Mapping> = bloblang("A Bloblang query that should return a boolean value indicating whether a message should end a batch.").default("").example("this.type == \"end_of_transaction\""),
        pub processors: Vec<serde_json::Value> = processors("A list of processors to apply to a batch as it is flushed. All resulting messages are flushed as a single batch.").default(serde_json::json!([])).advanced(),
    }
}

/// The type of the `batching` field of an output's config struct. The stream takes its own
/// output's policy out of the config before building the output, and the registry takes any
/// other output's (refusing one that asks for batching), so the output never sees the field:
/// it is declared `#[serde(skip)]`, in its place so that the spec keeps Bento's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakenBatching;

/// Whether an output's `batching` value asks for no batching at all (every rule unset), so that
/// an output which cannot batch (one inside `broker`) may still carry Bento's default.
pub fn asks_nothing(conf: &serde_json::Value) -> bool {
    serde_json::from_value::<BatchingConfig>(conf.clone()).is_ok_and(|c| {
        c.count <= 1
            && c.byte_size <= 0
            && c.period.is_none()
            && c.check.is_none()
            && c.processors.is_empty()
    })
}

pub fn batching_field() -> FieldSpec {
    FieldSpec::object("batching", "Allows you to configure a batching policy: messages gather into one batch, written at once, until one of its rules says flush. Only the stream's own output batches: on an output inside `broker`, `switch` or `fallback` a batching policy is refused (set it on the outer output).", BatchingConfig::fields())
    .default(serde_json::json!({}))
    .advanced()
}

/// Why a batch was flushed: the `mechanism` label of Bento's `batch_created` metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mechanism {
    Count,
    Size,
    Check,
    Period,
    /// The input ended or the stream is stopping: what gathered is still written.
    Final,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Count => "count",
            Mechanism::Size => "size",
            Mechanism::Check => "check",
            Mechanism::Period => "period",
            Mechanism::Final => "final",
        }
    }
}

pub struct BatchPolicy {
    count: usize,
    byte_size: usize,
    period: Option<Duration>,
    jitter: f64,
    check: Option<Mapping>,
    processors: Vec<Arc<ProcessorStage>>,
}

impl BatchPolicy {
    /// The policy of an output's `batching` field; `None` when it asks for no batching (Bento's
    /// "noop" policy: no rule set, or only `count: 1`).
    pub fn build(
        conf: &serde_json::Value,
        ctx: &BuildCtx,
    ) -> Result<Option<BatchPolicy>, BuildError> {
        let c: BatchingConfig = ctx.parse_at("batching", conf)?;
        let (period, check) = (c.period, c.check);
        if c.jitter < 0.0 {
            return Err(ctx.error("batching.jitter: must be non-negative"));
        }
        let count = usize::try_from(c.count.max(0)).unwrap_or(usize::MAX);
        let byte_size = usize::try_from(c.byte_size.max(0)).unwrap_or(usize::MAX);
        let processors = ctx.build_processors("batching.processors", &c.processors)?;
        if count <= 1
            && byte_size == 0
            && period.is_none()
            && check.is_none()
            && processors.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(BatchPolicy {
            count,
            byte_size,
            period,
            jitter: c.jitter,
            check,
            processors,
        }))
    }
}

/// The batch being gathered for one output (acknowledged through [`AckHandle`]s) or for a
/// `broker` input (through its children's [`AckFn`]s).
pub struct Batcher<A = AckHandle> {
    policy: BatchPolicy,
    batch: Batch,
    acks: Vec<A>,
    bytes: usize,
    /// When the period next flushes: Bento counts it from the last flush, not the first message.
    deadline: Option<Instant>,
    label: String,
    path: String,
}

impl<A> Batcher<A> {
    pub fn new(policy: BatchPolicy, label: &str, path: &str) -> Batcher<A> {
        let mut b = Batcher {
            policy,
            batch: Batch::new(),
            acks: Vec::new(),
            bytes: 0,
            deadline: None,
            label: label.to_owned(),
            path: path.to_owned(),
        };
        b.reset_deadline();
        b
    }

    fn reset_deadline(&mut self) {
        self.deadline = self.policy.period.map(|p| {
            let jitter = if self.policy.jitter > 0.0 {
                p.mul_f64(rand::random::<f64>() * self.policy.jitter)
            } else {
                Duration::ZERO
            };
            Instant::now() + p + jitter
        });
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Add a batch and its acknowledgement; says why the batch must be flushed now, if it must.
    pub fn add(&mut self, batch: Batch, ack: A) -> Option<Mechanism> {
        let mut check = false;
        for m in batch {
            self.bytes += m.bytes().len();
            self.batch.push(m);
            if let Some(q) = &self.policy.check {
                let i = self.batch.len() - 1;
                // Bento logs a check that fails to run and does not flush on it.
                match check_passes(q, &self.batch, i) {
                    Ok(pass) => check |= pass,
                    Err(e) => {
                        tracing::error!(label = %self.label, path = %self.path, "batching check failed: {e}")
                    }
                }
            }
        }
        self.acks.push(ack);
        if self.policy.count > 0 && self.batch.len() >= self.policy.count {
            Some(Mechanism::Count)
        } else if self.policy.byte_size > 0 && self.bytes >= self.policy.byte_size {
            Some(Mechanism::Size)
        } else if check {
            Some(Mechanism::Check)
        } else {
            None
        }
    }

    /// The gathered batch, after the policy's processors, with the acknowledgements of what
    /// went into it; `None` when nothing gathered. The period starts again either way.
    pub async fn flush_parts(&mut self, why: Mechanism) -> Option<(Batch, Vec<A>)> {
        self.reset_deadline();
        if self.acks.is_empty() {
            return None;
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.bytes = 0;
        let acks = std::mem::take(&mut self.acks);
        if !self.policy.processors.is_empty() {
            let out = crate::components::run_processors(&self.policy.processors, batch).await;
            batch = out.into_iter().flatten().collect();
        }
        metrics::counter!("batch_created", "label" => self.label.clone(), "path" => self.path.clone(), "mechanism" => why.name()).increment(1);
        Some((batch, acks))
    }
}

impl Batcher<AckHandle> {
    /// The gathered batch as one transaction whose acknowledgement resolves them all.
    pub async fn flush(&mut self, why: Mechanism) -> Option<Transaction> {
        let (batch, acks) = self.flush_parts(why).await?;
        let ack = AckHandle::new(Box::new(move |status: AckStatus| {
            for a in acks {
                a.resolve(status.clone());
            }
            Box::pin(async {})
        }));
        Some(Transaction { batch, ack })
    }
}

impl Batcher<AckFn> {
    /// The gathered batch with one acknowledgement that runs each of theirs.
    pub async fn flush_input(&mut self, why: Mechanism) -> Option<(Batch, AckFn)> {
        let (batch, acks) = self.flush_parts(why).await?;
        let ack: AckFn = Box::new(move |status: AckStatus| {
            Box::pin(async move {
                for a in acks {
                    a(status.clone()).await;
                }
            })
        });
        Some((batch, ack))
    }
}

/// Waits for a batch's deadline, or for ever when there is none (a `select!` arm then never
/// fires).
pub async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(given: serde_json::Value) -> Result<Option<BatchPolicy>, BuildError> {
        let mut conf = given;
        batching_field().apply_defaults(&mut conf);
        BatchPolicy::build(&conf, &BuildCtx::new(Arc::default()))
    }

    #[test]
    fn rules_parse_as_the_policy_is_read_and_errors_name_them() {
        assert!(policy(serde_json::json!({})).unwrap().is_none());
        assert!(policy(serde_json::json!({"period": " ", "check": ""}))
            .unwrap()
            .is_none());
        let p = policy(serde_json::json!({"period": "1s", "check": "this.end"}))
            .unwrap()
            .unwrap();
        assert_eq!(p.period, Some(Duration::from_secs(1)));
        assert!(p.check.is_some());
        let err = |v| policy(v).err().map(|e| e.message).unwrap_or_default();
        assert!(err(serde_json::json!({"check": "this.("})).starts_with("batching.check: "));
        assert!(err(serde_json::json!({"period": "soon"})).starts_with("batching.period: "));
        assert_eq!(
            err(serde_json::json!({"jitter": -1.0})),
            "batching.jitter: must be non-negative"
        );
    }
}
