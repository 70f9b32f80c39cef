//! `generate`: creates messages from a Bloblang mapping, on an interval, on a cron schedule or as
//! fast as possible,
//! optionally a fixed number of times (then the stream ends).

use std::time::Duration;

use async_trait::async_trait;

use super::auto_replay_field;
use crate::bloblang::Mapping;
use crate::components::{BuildCtx, BuildError, ComponentError, Input, Plugin};
use crate::message::ack::{noop_ack, AckFn};
use crate::message::Batch;
use crate::spec::parse_duration;
use crate::spec::{component_config, ComponentKind, ComponentSpec};

component_config! {
    pub struct GenerateConfig {
        pub mapping: Mapping = bloblang("A Bloblang mapping that creates each message.")
            .example("root = \"hello world\"")
            .example("root = {\"id\": uuid_v4()}"),
        pub interval: String = string("The time interval at which messages should be generated, expressed either as a duration string (`1s`, `100ms`, `@every 1s`) or as a cron expression (five fields, or six with seconds first; descriptors such as `@hourly`), in UTC unless prefixed with `TZ=<IANA location> `. An empty string or `0s` creates messages as fast as possible.")
            .default("1s")
            .example("5s")
            .example("@every 1s")
            .example("0,30 */2 * * * *")
            .example("TZ=Europe/London 30 3-6,20-23 * * *"),
        pub count: i64 = int("How many messages to create before stopping (messages the mapping deletes do not count); 0 means no limit.").default(0),
        pub batch_size: i64 = int("How many messages each batch holds.").default(1),
        pub auto_replay_nacks: bool = spec(auto_replay_field()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("generate", ComponentKind::Input, "Generates messages from a Bloblang mapping at an interval.")
        .description("The mapping runs without an input document, so `this` is null and `root` starts empty. With `count` set the input stops after that many messages and the stream shuts down once they are delivered.")
        .fields(GenerateConfig::fields())
        .example("Hello world every second", "input:\n  generate:\n    mapping: 'root = \"hello world\"'\n")
        .example("Ten documents as fast as possible", "input:\n  generate:\n    interval: \"\"\n    count: 10\n    mapping: 'root = {\"n\": counter()}'\n")
}

pub fn plugin() -> Plugin<dyn Input> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Input>, BuildError> {
    let c: GenerateConfig = ctx.parse(conf)?;
    let schedule = Schedule::parse(&c.interval).map_err(|e| ctx.error(format!("interval: {e}")))?;
    if c.batch_size < 1 {
        return Err(ctx.error("batch_size must be at least 1"));
    }
    Ok(Box::new(GenerateInput {
        mapping: c.mapping,
        schedule,
        remaining: (c.count > 0).then_some(c.count as u64),
        batch_size: c.batch_size as usize,
        ticker: None,
        replay: c.auto_replay_nacks,
    }))
}

/// When messages are made: Bento reads `interval` as a Go duration, or failing that as a cron
/// expression (robfig/cron: optional seconds, descriptors, `@every`, a `TZ=` prefix).
#[derive(Debug)]
pub enum Schedule {
    AsFastAsPossible,
    Every(Duration),
    Cron(Box<croner::Cron>, chrono_tz::Tz),
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let duration = |d: Duration| match d.is_zero() {
            true => Schedule::AsFastAsPossible,
            false => Schedule::Every(d),
        };
        let not_duration = match parse_duration(text) {
            Ok(d) => return Ok(duration(d)),
            Err(e) => e,
        };
        if let Some(every) = text.strip_prefix("@every ") {
            return parse_duration(every.trim()).map(duration);
        }
        let (tz, pattern) = match text.split_once(' ') {
            Some((prefix, rest)) if prefix.starts_with("TZ=") || prefix.starts_with("CRON_TZ=") => {
                let name = prefix.split_once('=').map_or("", |(_, n)| n);
                let tz: chrono_tz::Tz = name
                    .parse()
                    .map_err(|_| format!("unknown time zone '{name}'"))?;
                (tz, rest.trim())
            }
            _ => (chrono_tz::UTC, text),
        };
        let cron = croner::parser::CronParser::new().parse(pattern).map_err(|e| {
            format!("failed to parse interval as duration string: {not_duration}, or as cron expression: {e}")
        })?;
        Ok(Schedule::Cron(Box::new(cron), tz))
    }

    /// How long to wait, from `now`, before the next message.
    pub fn wait_from(&self, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
        match self {
            Schedule::AsFastAsPossible | Schedule::Every(_) => None,
            Schedule::Cron(cron, tz) => {
                let local = now.with_timezone(tz);
                let next = cron.find_next_occurrence(&local, false).ok()?;
                (next.with_timezone(&chrono::Utc) - now).to_std().ok()
            }
        }
    }
}

pub struct GenerateInput {
    mapping: Mapping,
    schedule: Schedule,
    remaining: Option<u64>,
    batch_size: usize,
    ticker: Option<tokio::time::Interval>,
    replay: bool,
}

#[async_trait]
impl Input for GenerateInput {
    // A read waits for its tick before making anything.
    fn reads_cancel_safely(&self) -> bool {
        true
    }

    async fn connect(&mut self) -> Result<(), ComponentError> {
        if let (None, Schedule::Every(d)) = (&self.ticker, &self.schedule) {
            self.ticker = Some(tokio::time::interval(*d));
        }
        Ok(())
    }

    async fn read(&mut self) -> Result<(Batch, AckFn), ComponentError> {
        if self.remaining == Some(0) {
            return Err(ComponentError::EndOfInput);
        }
        if let Some(t) = self.ticker.as_mut() {
            t.tick().await;
        }
        if let Some(wait) = self.schedule.wait_from(chrono::Utc::now()) {
            tokio::time::sleep(wait).await;
        }
        // As Bento: `count` counts the messages kept, so a `deleted()` one does not use it up
        // (the batch comes out smaller, and the next read goes on).
        let size = match self.remaining {
            Some(r) => self
                .batch_size
                .min(usize::try_from(r).unwrap_or(usize::MAX)),
            None => self.batch_size,
        };
        // A huge configured batch grows as it fills rather than reserving it all up front.
        let mut batch = Vec::with_capacity(size.min(1024));
        for _ in 0..size {
            match self.mapping.new_message() {
                Ok(Some(m)) => {
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                    batch.push(m);
                }
                Ok(None) => {}
                Err(e) => return Err(ComponentError::failed(e)),
            }
        }
        Ok((batch, noop_ack()))
    }

    async fn close(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }

    fn replays_nacks(&self) -> bool {
        self.replay
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;
    use chrono::TimeZone;
    use std::time::Duration;

    fn at(h: u32, m: u32, s: u32) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc.with_ymd_and_hms(2026, 1, 15, h, m, s).unwrap()
    }

    #[test]
    fn intervals_are_durations_every_or_cron_as_bentos() {
        assert!(matches!(
            Schedule::parse(""),
            Ok(Schedule::AsFastAsPossible)
        ));
        assert!(matches!(
            Schedule::parse("0s"),
            Ok(Schedule::AsFastAsPossible)
        ));
        assert!(
            matches!(Schedule::parse("250ms"), Ok(Schedule::Every(d)) if d == Duration::from_millis(250))
        );
        assert!(
            matches!(Schedule::parse("@every 2s"), Ok(Schedule::Every(d)) if d == Duration::from_secs(2))
        );

        // Six fields: seconds first.
        let s = Schedule::parse("0,30 */2 * * * *").unwrap();
        assert_eq!(s.wait_from(at(10, 0, 10)), Some(Duration::from_secs(20)));
        assert_eq!(s.wait_from(at(10, 1, 5)), Some(Duration::from_secs(55)));
        // Five fields: minutes first.
        let s = Schedule::parse("30 * * * *").unwrap();
        assert_eq!(
            s.wait_from(at(10, 0, 0)),
            Some(Duration::from_secs(30 * 60))
        );
        let s = Schedule::parse("@hourly").unwrap();
        assert_eq!(s.wait_from(at(10, 59, 0)), Some(Duration::from_secs(60)));
        // London is UTC+0 in January and UTC+1 in July: 03:30 there.
        let s = Schedule::parse("TZ=Europe/London 30 3 * * *").unwrap();
        assert_eq!(s.wait_from(at(3, 0, 0)), Some(Duration::from_secs(30 * 60)));
        let july = chrono::Utc.with_ymd_and_hms(2026, 7, 15, 2, 0, 0).unwrap();
        assert_eq!(s.wait_from(july), Some(Duration::from_secs(30 * 60)));

        let e = Schedule::parse("every so often").unwrap_err();
        assert!(
            e.starts_with("failed to parse interval as duration string"),
            "{e}"
        );
        assert!(Schedule::parse("TZ=Mars/Base 0 * * * *")
            .unwrap_err()
            .contains("Mars/Base"));
    }
}
