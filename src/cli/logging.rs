//! Logging setup: Bento's levels, `logfmt` or `json` lines on stderr.

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

pub fn init(conf: &LoggerConf, override_level: Option<&str>) {
    let level = filter_for(override_level.unwrap_or(&conf.level));
    let filter = EnvFilter::new(format!("off,engine={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if conf.format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder
            .event_format(Logfmt {
                timestamp: conf.add_timestamp,
                static_fields: conf
                    .static_fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
            .try_init()
    };
}

/// `level=info msg="..." @service=engine label=x path=root.input` lines.
struct Logfmt {
    timestamp: bool,
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
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        if f.name() == "message" {
            self.msg = v.to_owned();
        } else {
            self.rest.push((f.name().to_owned(), v.to_owned()));
        }
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        let s = format!("{v:?}");
        if f.name() == "message" {
            self.msg = s;
        } else {
            self.rest.push((f.name().to_owned(), s));
        }
    }
}

impl<S, N> FormatEvent<S, N> for Logfmt
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
        if self.timestamp {
            write!(
                w,
                "time={} ",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )?;
        }
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        write!(w, "level={level} msg={}", quote(&fields.msg))?;
        for (k, v) in &self.static_fields {
            write!(w, " {k}={}", quote(v))?;
        }
        for (k, v) in &fields.rest {
            write!(w, " {k}={}", quote(v))?;
        }
        writeln!(w)
    }
}
