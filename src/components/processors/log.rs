//! `log`: writes a log line per message, leaving the message unchanged.

use async_trait::async_trait;

use crate::bloblang::InterpolatedString;
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct LogConfig {
        pub level: String = string("The log level to use.")
            .default("INFO")
            .options(&["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL"]),
        pub message: InterpolatedString = string("The message to print.").interpolated().default(""),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub fields_mapping: Option<crate::bloblang::Mapping> = bloblang("An optional Bloblang mapping that gives structured fields to the log line.")
            .optional()
            .example("root.reason = \"cus I wana\"\nroot.id = this.id"),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("log", ComponentKind::Processor, "Prints a log event for each message. Messages always remain unchanged.")
        .fields(LogConfig::fields())
        .example("Log each payload", "pipeline:\n  processors:\n    - log:\n        level: DEBUG\n        message: 'received ${! content() }'\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: LogConfig = ctx.parse(conf)?;
    let level = match c.level.to_ascii_uppercase().as_str() {
        "FATAL" | "ERROR" => tracing::Level::ERROR,
        "WARN" => tracing::Level::WARN,
        "INFO" => tracing::Level::INFO,
        "DEBUG" => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    Ok(Box::new(LogProcessor {
        level,
        message: c.message,
        fields: c.fields_mapping,
        info: ctx.info.clone(),
    }))
}

pub struct LogProcessor {
    level: tracing::Level,
    message: InterpolatedString,
    /// Gives the structured fields of each line (`fields_mapping`).
    fields: Option<crate::bloblang::Mapping>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for LogProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            let text = match self.message.render(&batch, i) {
                Ok(t) => t,
                Err(e) => format!("failed to render log message: {e}"),
            };
            // The logger writes these as fields of the line (`custom_fields` is its key).
            let custom_fields = match &self.fields {
                Some(m) => match m.query(&batch, i) {
                    Ok(v @ crate::message::Value::Object(_)) => v.to_json_string(),
                    Ok(other) => format!(
                        r#"{{"fields_mapping_error":"expected object, got {}"}}"#,
                        other.type_name()
                    ),
                    Err(e) => {
                        serde_json::json!({ "fields_mapping_error": e.to_string() }).to_string()
                    }
                },
                None => String::new(),
            };
            let (label, path) = (&self.info.label, &self.info.path);
            match self.level {
                tracing::Level::ERROR => tracing::error!(label, path, custom_fields, "{text}"),
                tracing::Level::WARN => tracing::warn!(label, path, custom_fields, "{text}"),
                tracing::Level::INFO => tracing::info!(label, path, custom_fields, "{text}"),
                tracing::Level::DEBUG => tracing::debug!(label, path, custom_fields, "{text}"),
                tracing::Level::TRACE => tracing::trace!(label, path, custom_fields, "{text}"),
            }
        }
        Ok(vec![batch])
    }
}
