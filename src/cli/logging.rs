//! Logging setup: Bento's levels, `logfmt` or `json` lines on stdout (stderr when the stream's
//! output is `stdout`).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LoggerConf;

fn filter_for(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "OFF" | "NONE" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        _ => "trace",
    }
}

/// Logs go to stdout, as Bento's do, unless the stream writes its own output there
/// (`to_stderr`): then stderr keeps them apart from the data.
pub fn init(conf: &LoggerConf, override_level: Option<&str>, to_stderr: bool) {
    let level = filter_for(override_level.unwrap_or(&conf.level));
    let filter = EnvFilter::new(format!("off,engine={level}"));
    let format = LineFormat {
        json: conf.format == "json",
        timestamp: conf.add_timestamp,
        level_name: conf.level_name.clone(),
        timestamp_name: conf.timestamp_name.clone(),
        message_name: conf.message_name.clone(),
        static_fields: conf
            .static_fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    // A second init (tests) is harmless: the first subscriber stays.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(format);
    let _ = match to_stderr {
        true => builder.with_writer(std::io::stderr).try_init(),
        false => builder.with_writer(std::io::stdout).try_init(),
    };
}

/// The field a `log` processor's `fields_mapping` result travels in (a JSON object), written
/// as fields of the line itself, as Bento writes them.
pub const CUSTOM_FIELDS: &str = "custom_fields";

/// Bento's log lines: `level=info msg="..." @service=engine label=x path=root.input`, or the
/// same as one JSON object, with the configured key names.
struct LineFormat {
    json: bool,
    timestamp: bool,
    level_name: String,
    timestamp_name: String,
    message_name: String,
    static_fields: Vec<(String, String)>,
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '=']) || v.contains(char::is_control) {
        format!("{v:?}")
    } else {
        v.to_owned()
    }
}

struct Fields {
    msg: String,
    rest: Vec<(String, serde_json::Value)>,
}

impl Fields {
    fn add(&mut self, name: &str, v: String) {
        if name == "message" {
            self.msg = v;
            return;
        }
        if name == CUSTOM_FIELDS {
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&v) {
                self.rest.extend(m);
            }
            return;
        }
        self.rest
            .push((name.to_owned(), serde_json::Value::String(v)));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.add(f.name(), v.to_owned());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.add(f.name(), format!("{v:?}"));
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields {
            msg: String::new(),
            rest: Vec::new(),
        };
        event.record(&mut fields);
        if let Some(stream) = crate::metrics::current_stream() {
            fields.rest.insert(
                0,
                (
                    "stream".to_owned(),
                    serde_json::Value::String(stream.to_string()),
                ),
            );
        }
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let time = self
            .timestamp
            .then(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        if self.json {
            let mut line = serde_json::Map::new();
            if let Some(t) = time {
                line.insert(self.timestamp_name.clone(), t.into());
            }
            line.insert(self.level_name.clone(), level.into());
            line.insert(self.message_name.clone(), fields.msg.into());
            for (k, v) in &self.static_fields {
                line.insert(k.clone(), v.clone().into());
            }
            line.extend(fields.rest);
            return writeln!(w, "{}", serde_json::Value::Object(line));
        }
        if let Some(t) = time {
            write!(w, "{}={t} ", self.timestamp_name)?;
        }
        write!(
            w,
            "{}={level} {}={}",
            self.level_name,
            self.message_name,
            quote(&fields.msg)
        )?;
        for (k, v) in &self.static_fields {
            write!(w, " {k}={}", quote(v))?;
        }
        for (k, v) in &fields.rest {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            write!(w, " {k}={}", quote(&text))?;
        }
        writeln!(w)
    }
}
