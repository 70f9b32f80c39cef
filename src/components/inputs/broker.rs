//! `broker` input: reads from several inputs at once and merges their messages.

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ChildInput;
use crate::components::batching::sleep_until_some;
use crate::components::batching::{batching_field, BatchPolicy, Batcher, Mechanism};
use crate::components::connecting::{connect, Connecting};
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::AckFn;
use crate::message::Batch;
use crate::metrics::InputMetrics;
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct BrokerInputConfig {
        pub copies: i64 = int("Whatever is specified within `inputs` will be created this many times.").default(1).advanced(),
        pub inputs: Vec<serde_json::Value> = array(FieldType::Component(ComponentKind::Input), "A list of inputs to create."),
        #[serde(default)]
        pub batching: serde_json::Value = spec(batching_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("broker", ComponentKind::Input, "Allows you to combine multiple inputs into a single stream of data.")
        .description("Each input connects, reconnects and reads on its own; their messages are merged in the order they arrive, and each is acknowledged at its own source. The stream ends once every input has ended. With `copies`, each input is created that many times; with `batching`, what they read is gathered into batches by the policy before the pipeline.")
        .fields(BrokerInputConfig::fields())
        .example("Two routes on one address", "input:\n  broker:\n    inputs:\n      - http_server:\n          address: 0.0.0.0:8080\n          path: /items\n      - http_server:\n          address: 0.0.0.0:8080\n          path: /items/{id}\n          allowed_verbs: [ GET ]\noutput:\n  sync_response: {}\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: BrokerInputConfig = ctx.parse(conf)?;
    if c.inputs.is_empty() {
        return Err(ctx.error("broker needs at least one input"));
    }
    if c.copies < 1 {
        return Err(ctx.error("copies: must be at least 1"));
    }
    let children = (0..c.copies)
        .flat_map(|_| c.inputs.iter().enumerate())
        .map(|(i, j)| ChildInput::build(ctx, &format!("inputs.{i}"), j))
        .collect::<Result<Vec<_>, _>>()?;
    let batcher = match c.batching.is_null() {
        true => None,
        false => BatchPolicy::build(&c.batching, ctx)?
            .map(|p| Batcher::new(p, &ctx.info.label, &ctx.info.path)),
    };
    Ok(Box::new(BrokerInput {
        batcher,
        replays: children.iter().any(Input::replays_nacks),
        children,
        rx: None,
        stop: CancellationToken::new(),
        tasks: Vec::new(),
    }))
}

pub struct BrokerInput {
    /// The `batching` policy over what the children read, gathering here so that a read the
    /// runtime cancels loses nothing.
    batcher: Option<Batcher<AckFn>>,
    /// Built but not yet started (they move into their tasks on connect).
    children: Vec<ChildInput>,
    rx: Option<mpsc::Receiver<(Batch, AckFn)>>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    replays: bool,
}

/// Read one child until it ends or the broker stops, reconnecting as the stream would.
async fn run_child(child: ChildInput, tx: mpsc::Sender<(Batch, AckFn)>, stop: CancellationToken) {
    let info = child.info.clone();
    let metrics = InputMetrics::new(&info.label, &info.path);
    let mut input: Box<dyn Input> = Box::new(child);
    if !connect(Connecting::Input(&mut input), &info, &metrics.conn, &stop).await {
        return;
    }
    loop {
        let r = tokio::select! {
            _ = stop.cancelled() => break,
            r = input.read() => r,
        };
        match r {
            Ok(next) => {
                if tx.send(next).await.is_err() {
                    break;
                }
            }
            Err(ComponentError::EndOfInput) => break,
            Err(ComponentError::NotConnected) => {
                metrics.conn.lost();
                if !connect(Connecting::Input(&mut input), &info, &metrics.conn, &stop).await {
                    break;
                }
            }
            Err(ComponentError::Failed(e)) => {
                tracing::error!(label = %info.label, path = %info.path, "failed to read input: {e}");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                }
            }
        }
    }
    if let Err(e) = input.close().await {
        tracing::warn!(label = %info.label, path = %info.path, "failed to close input: {e}");
    }
}

#[async_trait]
impl Input for BrokerInput {
    /// Start every child; each connects (and reconnects) on its own, so one that is down does
    /// not hold up the others.
    async fn connect(&mut self) -> Result<(), ComponentError> {
        if self.rx.is_some() {
            return Ok(());
        }
        let (tx, rx) = mpsc::channel(self.children.len().max(1));
        for child in self.children.drain(..) {
            self.tasks.push(tokio::spawn(run_child(
                child,
                tx.clone(),
                self.stop.clone(),
            )));
        }
        self.rx = Some(rx);
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        let Some(rx) = self.rx.as_mut() else {
            return Err(ComponentError::NotConnected);
        };
        let Some(b) = self.batcher.as_mut() else {
            return rx.recv().await.ok_or(ComponentError::EndOfInput);
        };
        loop {
            let deadline = b.deadline();
            let why = tokio::select! {
                next = rx.recv() => match next {
                    Some((batch, ack)) => b.add(batch, ack),
                    // Every child has ended: what gathered goes, then the input ends.
                    None => match b.flush_input(Mechanism::Final).await {
                        Some(out) => return Ok(out),
                        None => return Err(ComponentError::EndOfInput),
                    },
                },
                _ = sleep_until_some(deadline), if deadline.is_some() => Some(Mechanism::Period),
            };
            if let Some(why) = why {
                if let Some(out) = b.flush_input(why).await {
                    return Ok(out);
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        self.stop.cancel();
        if let Some(rx) = self.rx.as_mut() {
            rx.close();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replays
    }
}
