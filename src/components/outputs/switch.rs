//! `switch` output: routes each message to the outputs of the cases whose `check` passes.

use async_trait::async_trait;

use super::{close_all, max_in_flight_of, ChildOutput};
use crate::bloblang::Mapping;
use crate::components::processors::flow::check_passes;
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::{Batch, Message};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    pub struct SwitchOutputConfig {
        pub retry_until_success: bool = bool("If a selected output fails to send a message this field determines whether it is reattempted indefinitely. If set to false the error is instead propagated back to the input level.").default(false),
        pub strict_mode: bool = bool("This field determines whether an error should be reported if no condition is met. If set to true, an error is propagated back to the input level.").default(false).advanced(),
        pub cases: Vec<CaseConfig> = array(FieldType::Object(CaseConfig::fields()), "A list of switch cases, outlining outputs that can be routed to.").default(serde_json::json!([])),
    }
}

component_config! {
    pub struct CaseConfig {
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub check: Option<crate::bloblang::Mapping> = bloblang("A Bloblang query that should return a boolean value indicating whether a message should be routed to the case output. If left empty the case always passes.").default("").example("this.type == \"foo\""),
        pub output: serde_json::Value = component(ComponentKind::Output, "An output for messages that pass the check to be routed to."),
        pub r#continue: bool = bool("Indicates whether, if this case passes for a message, the next case should also be tested.").default(false).advanced(),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("switch", ComponentKind::Output, "The switch output type allows you to route messages to different outputs based on their contents.")
        .description("Each message goes to the output of the first case whose `check` passes (an empty check always passes); with `continue: true` the following cases are tested too. A message that matches no case is dropped, unless `strict_mode` is set, when it is an error. A write succeeds once every case it went to succeeded; with `retry_until_success` failed case outputs are retried until they succeed instead of failing the write.")
        .fields(SwitchOutputConfig::fields())
        .example("Errors to one place, the rest to another", "output:\n  switch:\n    cases:\n      - check: errored()\n        output:\n          reject: '${! error() }'\n      - output:\n          drop: {}\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: SwitchOutputConfig = ctx.parse(conf)?;
    let mut checks = Vec::with_capacity(c.cases.len());
    let mut outputs = Vec::with_capacity(c.cases.len());
    for (i, case) in c.cases.into_iter().enumerate() {
        checks.push((case.check, case.r#continue));
        outputs.push(ChildOutput::build(
            ctx,
            &format!("cases.{i}.output"),
            &case.output,
        )?);
    }
    Ok(Box::new(SwitchOutput {
        checks,
        outputs,
        retry_until_success: c.retry_until_success,
        strict: c.strict_mode,
    }))
}

pub struct SwitchOutput {
    /// Per case: its check (none passes always) and whether the next cases are tested too.
    checks: Vec<(Option<Mapping>, bool)>,
    outputs: Vec<ChildOutput>,
    retry_until_success: bool,
    strict: bool,
}

impl SwitchOutput {
    /// The messages of `batch` each case receives.
    fn route(&self, batch: &Batch) -> Result<Vec<Vec<Message>>, ComponentError> {
        let mut routed = vec![Vec::new(); self.outputs.len()];
        for (i, msg) in batch.iter().enumerate() {
            let mut matched = false;
            for (k, (check, cont)) in self.checks.iter().enumerate() {
                let pass = match check {
                    None => true,
                    Some(m) => check_passes(m, batch, i).map_err(ComponentError::Failed)?,
                };
                if pass {
                    matched = true;
                    routed[k].push(msg.clone());
                    if !cont {
                        break;
                    }
                }
            }
            if !matched && self.strict {
                return Err(ComponentError::Failed(
                    "no switch output conditions were met by message".into(),
                ));
            }
        }
        Ok(routed)
    }
}

#[async_trait]
impl Output for SwitchOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        super::connect_all(&self.outputs).await
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        let routed = self.route(batch)?;
        let writes = self
            .outputs
            .iter()
            .zip(routed)
            .filter(|(_, msgs)| !msgs.is_empty())
            .map(|(out, msgs)| async move {
                if self.retry_until_success {
                    out.write_until_written(&msgs).await;
                    Ok(())
                } else {
                    out.write(&msgs).await
                }
            });
        futures::future::join_all(writes)
            .await
            .into_iter()
            .find(Result::is_err)
            .unwrap_or(Ok(()))
    }

    async fn close(&self) -> Result<(), ComponentError> {
        close_all(&self.outputs).await
    }

    fn max_in_flight(&self) -> usize {
        max_in_flight_of(&self.outputs)
    }
}
