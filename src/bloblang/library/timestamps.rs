//! Timestamp manipulation methods and the clock functions.

use std::fmt::Write as _;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

use super::golayout::{self, RFC3339_NANO};
use super::helpers::*;
use super::{FunctionSpec, MethodSpec, Param, ParamDefault as D, ParamKind as K};
use crate::message::Value;

const CAT: &str = "Timestamp Manipulation";
const DEP: &str = "Deprecated";

const FORMAT_PARAMS: &[Param] = &[
    opt("format", K::String, D::Str(RFC3339_NANO), "The output format to use."),
    opt("tz", K::String, D::Optional, "An optional timezone to use, otherwise the timezone of the input string is used, or in the case of unix timestamps the local timezone is used."),
];
const STRFTIME_PARAMS: &[Param] = &[
    req("format", K::String, "The output format to use."),
    opt(
        "tz",
        K::String,
        D::Optional,
        "An optional timezone to use, otherwise the timezone of the input string is used.",
    ),
];
const PARSE_PARAMS: &[Param] = &[req("format", K::String, "The format of the target string.")];
const ISO_PARAMS: &[Param] = &[req("duration", K::String, "Duration in ISO 8601 format")];

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "ts_parse",
        category: CAT,
        description: "Attempts to parse a string as a timestamp following a specified format and outputs a timestamp. The input format is defined by showing how the reference time, defined to be Mon Jan 2 15:04:05 -0700 MST 2006, would be displayed if it were the value.",
        params: PARSE_PARAMS,
        examples: &[ex("", "root.doc.timestamp = this.doc.timestamp.ts_parse(\"2006-Jan-02\")", &[(r#"{"doc":{"timestamp":"2020-Aug-14"}}"#, r#"{"doc":{"timestamp":"2020-08-14T00:00:00Z"}}"#)])],
        imp: ts_parse,
    },
    MethodSpec {
        name: "ts_strptime",
        category: CAT,
        description: "Attempts to parse a string as a timestamp following a specified strptime-compatible format and outputs a timestamp.",
        params: PARSE_PARAMS,
        examples: &[
            ex("The format consists of zero or more conversion specifiers and ordinary characters (except `%`).", "root.doc.timestamp = this.doc.timestamp.ts_strptime(\"%Y-%b-%d\")", &[(r#"{"doc":{"timestamp":"2020-Aug-14"}}"#, r#"{"doc":{"timestamp":"2020-08-14T00:00:00Z"}}"#)]),
            ex("The `%f` directive is supported for zero-padded microseconds.", "root.doc.timestamp = this.doc.timestamp.ts_strptime(\"%Y-%b-%d %H:%M:%S.%f\")", &[(r#"{"doc":{"timestamp":"2020-Aug-14 11:50:26.371000"}}"#, r#"{"doc":{"timestamp":"2020-08-14T11:50:26.371Z"}}"#)]),
        ],
        imp: ts_strptime,
    },
    MethodSpec {
        name: "ts_format",
        category: CAT,
        description: "Attempts to format a timestamp value as a string according to a specified format, or RFC 3339 by default. Timestamp values can either be a numerical unix time in seconds (with up to nanosecond precision via decimals), or a string in RFC 3339 format.",
        params: FORMAT_PARAMS,
        examples: &[
            ex("A second optional string argument can also be used in order to specify a timezone, otherwise the timezone of the input string is used, or in the case of unix timestamps the local timezone is used.", "root.something_at = this.created_at.ts_format(format: \"2006-Jan-02 15:04:05\", tz: \"UTC\")", &[
                (r#"{"created_at":1597405526}"#, r#"{"something_at":"2020-Aug-14 11:45:26"}"#),
                (r#"{"created_at":"2020-08-14T11:50:26.371Z"}"#, r#"{"something_at":"2020-Aug-14 11:50:26"}"#),
            ]),
            ex("And `ts_format` supports up to nanosecond precision with floating point timestamp values.", "root.something_at = this.created_at.ts_format(\"2006-Jan-02 15:04:05.999999\", \"UTC\")", &[
                (r#"{"created_at":1597405526.123456}"#, r#"{"something_at":"2020-Aug-14 11:45:26.123456"}"#),
                (r#"{"created_at":"2020-08-14T11:50:26.371Z"}"#, r#"{"something_at":"2020-Aug-14 11:50:26.371"}"#),
            ]),
        ],
        imp: ts_format,
    },
    MethodSpec {
        name: "ts_strftime",
        category: CAT,
        description: "Attempts to format a timestamp value as a string according to a specified strftime-compatible format.",
        params: STRFTIME_PARAMS,
        examples: &[
            ex("A second optional string argument can also be used in order to specify a timezone.", "root.something_at = this.created_at.ts_strftime(\"%Y-%b-%d %H:%M:%S\", \"UTC\")", &[
                (r#"{"created_at":1597405526}"#, r#"{"something_at":"2020-Aug-14 11:45:26"}"#),
                (r#"{"created_at":"2020-08-14T11:50:26.371Z"}"#, r#"{"something_at":"2020-Aug-14 11:50:26"}"#),
            ]),
            ex("The `%f` directive is supported for zero-padded microseconds.", "root.something_at = this.created_at.ts_strftime(\"%Y-%b-%d %H:%M:%S.%f\", \"UTC\")", &[
                (r#"{"created_at":1597405526}"#, r#"{"something_at":"2020-Aug-14 11:45:26.000000"}"#),
                (r#"{"created_at":"2020-08-14T11:50:26.371Z"}"#, r#"{"something_at":"2020-Aug-14 11:50:26.371000"}"#),
            ]),
        ],
        imp: ts_strftime,
    },
    MethodSpec {
        name: "ts_tz",
        category: CAT,
        description: "Returns the result of converting a timestamp to a specified timezone.",
        params: &[req("tz", K::String, "The timezone to change to. If set to \"UTC\" then the timezone will be UTC. If set to \"Local\" then the local timezone will be used. Otherwise, the argument is taken to be a location name corresponding to a file in the IANA Time Zone database, such as \"America/New_York\".")],
        examples: &[ex("", "root.created_at_utc = this.created_at.ts_tz(\"UTC\")", &[(r#"{"created_at":"2021-02-03T17:05:06+01:00"}"#, r#"{"created_at_utc":"2021-02-03T16:05:06Z"}"#)])],
        imp: ts_tz,
    },
    MethodSpec {
        name: "ts_round",
        category: CAT,
        description: "Returns the result of rounding a timestamp to the nearest multiple of the argument duration (nanoseconds). The rounding behavior for halfway values is to round up.",
        params: &[req("duration", K::Int, "A duration measured in nanoseconds to round by.")],
        examples: &[ex("Use the method `parse_duration` to convert a duration string into an integer argument.", "root.created_at_hour = this.created_at.ts_round(\"1h\".parse_duration())", &[(r#"{"created_at":"2020-08-14T05:54:23Z"}"#, r#"{"created_at_hour":"2020-08-14T06:00:00Z"}"#)])],
        imp: ts_round,
    },
    MethodSpec {
        name: "ts_unix",
        category: CAT,
        description: "Attempts to format a timestamp value as a unix timestamp.",
        params: &[],
        examples: &[ex("", "root.created_at_unix = this.created_at.ts_unix()", &[(r#"{"created_at":"2009-11-10T23:00:00Z"}"#, r#"{"created_at_unix":1257894000}"#)])],
        imp: ts_unix,
    },
    MethodSpec {
        name: "ts_unix_milli",
        category: CAT,
        description: "Attempts to format a timestamp value as a unix timestamp with millisecond precision.",
        params: &[],
        examples: &[ex("", "root.created_at_unix = this.created_at.ts_unix_milli()", &[(r#"{"created_at":"2009-11-10T23:00:00Z"}"#, r#"{"created_at_unix":1257894000000}"#)])],
        imp: ts_unix_milli,
    },
    MethodSpec {
        name: "ts_unix_micro",
        category: CAT,
        description: "Attempts to format a timestamp value as a unix timestamp with microsecond precision.",
        params: &[],
        examples: &[ex("", "root.created_at_unix = this.created_at.ts_unix_micro()", &[(r#"{"created_at":"2009-11-10T23:00:00Z"}"#, r#"{"created_at_unix":1257894000000000}"#)])],
        imp: ts_unix_micro,
    },
    MethodSpec {
        name: "ts_unix_nano",
        category: CAT,
        description: "Attempts to format a timestamp value as a unix timestamp with nanosecond precision.",
        params: &[],
        examples: &[ex("", "root.created_at_unix = this.created_at.ts_unix_nano()", &[(r#"{"created_at":"2009-11-10T23:00:00Z"}"#, r#"{"created_at_unix":1257894000000000000}"#)])],
        imp: ts_unix_nano,
    },
    MethodSpec {
        name: "ts_sub",
        category: CAT,
        description: "Returns the difference in nanoseconds between the target timestamp (t1) and the timestamp provided as a parameter (t2).",
        params: &[req("t2", K::Any, "The second timestamp to be subtracted from the method target.")],
        examples: &[ex("Use the `.abs()` method in order to calculate an absolute duration between two timestamps.", "root.between = this.started_at.ts_sub(\"2020-08-14T05:54:23Z\").abs()", &[(r#"{"started_at":"2020-08-13T05:54:23Z"}"#, r#"{"between":86400000000000}"#)])],
        imp: ts_sub,
    },
    MethodSpec {
        name: "ts_add_iso8601",
        category: CAT,
        description: "Parse parameter string as ISO 8601 period and add it to value with high precision for units larger than an hour.",
        params: ISO_PARAMS,
        examples: &[],
        imp: ts_add_iso8601,
    },
    MethodSpec {
        name: "ts_sub_iso8601",
        category: CAT,
        description: "Parse parameter string as ISO 8601 period and subtract it from value with high precision for units larger than an hour.",
        params: ISO_PARAMS,
        examples: &[],
        imp: ts_sub_iso8601,
    },
    MethodSpec {
        name: "parse_duration",
        category: CAT,
        description: "Attempts to parse a string as a duration and returns an integer of nanoseconds. A duration string is a possibly signed sequence of decimal numbers, each with an optional fraction and a unit suffix, such as \"300ms\", \"-1.5h\" or \"2h45m\". Valid time units are \"ns\", \"us\" (or \"µs\"), \"ms\", \"s\", \"m\", \"h\".",
        params: &[],
        examples: &[
            ex("", "root.delay_for_ns = this.delay_for.parse_duration()", &[(r#"{"delay_for":"50us"}"#, r#"{"delay_for_ns":50000}"#)]),
            ex("", "root.delay_for_s = this.delay_for.parse_duration() / 1000000000", &[(r#"{"delay_for":"2h"}"#, r#"{"delay_for_s":7200}"#)]),
        ],
        imp: parse_duration,
    },
    MethodSpec {
        name: "parse_duration_iso8601",
        category: CAT,
        description: "Attempts to parse a string using ISO-8601 rules as a duration and returns an integer of nanoseconds. A duration string is represented by the format \"P[n]Y[n]M[n]DT[n]H[n]M[n]S\" or \"P[n]W\".",
        params: &[],
        examples: &[
            ex("Arbitrary ISO-8601 duration string to nanoseconds:", "root.delay_for_ns = this.delay_for.parse_duration_iso8601()", &[(r#"{"delay_for":"P3Y6M4DT12H30M5S"}"#, r#"{"delay_for_ns":110839937000000000}"#)]),
            ex("Two hours ISO-8601 duration string to seconds:", "root.delay_for_s = this.delay_for.parse_duration_iso8601() / 1000000000", &[(r#"{"delay_for":"PT2H"}"#, r#"{"delay_for_s":7200}"#)]),
            ex("Two and a half seconds ISO-8601 duration string to seconds:", "root.delay_for_s = this.delay_for.parse_duration_iso8601() / 1000000000", &[(r#"{"delay_for":"PT2.5S"}"#, r#"{"delay_for_s":2.5}"#)]),
        ],
        imp: parse_duration_iso8601,
    },
    MethodSpec { name: "parse_timestamp", category: DEP, description: "Deprecated: use `ts_parse`. Returns the parsed timestamp as an RFC 3339 string.", params: PARSE_PARAMS, examples: &[], imp: parse_timestamp },
    MethodSpec { name: "parse_timestamp_strptime", category: DEP, description: "Deprecated: use `ts_strptime`. Returns the parsed timestamp as an RFC 3339 string.", params: PARSE_PARAMS, examples: &[], imp: parse_timestamp_strptime },
    MethodSpec { name: "format_timestamp", category: DEP, description: "Deprecated: use `ts_format`.", params: FORMAT_PARAMS, examples: &[], imp: ts_format },
    MethodSpec { name: "format_timestamp_strftime", category: DEP, description: "Deprecated: use `ts_strftime`.", params: STRFTIME_PARAMS, examples: &[], imp: ts_strftime },
    MethodSpec { name: "format_timestamp_unix", category: DEP, description: "Deprecated: use `ts_unix`.", params: &[], examples: &[], imp: ts_unix },
    MethodSpec { name: "format_timestamp_unix_milli", category: DEP, description: "Deprecated: use `ts_unix_milli`.", params: &[], examples: &[], imp: ts_unix_milli },
    MethodSpec { name: "format_timestamp_unix_micro", category: DEP, description: "Deprecated: use `ts_unix_micro`.", params: &[], examples: &[], imp: ts_unix_micro },
    MethodSpec { name: "format_timestamp_unix_nano", category: DEP, description: "Deprecated: use `ts_unix_nano`.", params: &[], examples: &[], imp: ts_unix_nano },
];

pub static FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "now",
        category: "Environment",
        description: "Returns the current timestamp as a string in RFC 3339 format with the local timezone. Use the method `ts_format` in order to change the format and timezone.",
        params: &[],
        examples: &[
            ex_skip("", "root.received_at = now()", &[]),
            ex_skip("", "root.received_at = now().ts_format(\"Mon Jan 2 15:04:05 -0700 MST 2006\", \"UTC\")", &[]),
        ],
        imp: now,
    },
    FunctionSpec {
        name: "timestamp_unix",
        category: "Environment",
        description: "Returns the current unix timestamp in seconds.",
        params: &[],
        examples: &[ex_skip("", "root.received_at = timestamp_unix()", &[])],
        imp: timestamp_unix,
    },
    FunctionSpec {
        name: "timestamp_unix_milli",
        category: "Environment",
        description: "Returns the current unix timestamp in milliseconds.",
        params: &[],
        examples: &[ex_skip("", "root.received_at = timestamp_unix_milli()", &[])],
        imp: timestamp_unix_milli,
    },
    FunctionSpec {
        name: "timestamp_unix_micro",
        category: "Environment",
        description: "Returns the current unix timestamp in microseconds.",
        params: &[],
        examples: &[ex_skip("", "root.received_at = timestamp_unix_micro()", &[])],
        imp: timestamp_unix_micro,
    },
    FunctionSpec {
        name: "timestamp_unix_nano",
        category: "Environment",
        description: "Returns the current unix timestamp in nanoseconds.",
        params: &[],
        examples: &[ex_skip("", "root.received_at = timestamp_unix_nano()", &[])],
        imp: timestamp_unix_nano,
    },
];

fn local_from_unix(secs: i64, nanos: u32) -> Result<DateTime<FixedOffset>, String> {
    Local
        .timestamp_opt(secs, nanos)
        .single()
        .map(|t| t.fixed_offset())
        .ok_or_else(|| format!("timestamp {secs} is out of range"))
}

/// Bento's `IGetTimestamp`: timestamps, unix seconds (ints or floats) and RFC 3339 strings.
pub fn get_timestamp(v: &Value) -> Result<DateTime<FixedOffset>, String> {
    match v {
        Value::Timestamp(t) => Ok(*t),
        Value::Int(i) => local_from_unix(*i, 0),
        Value::Float(f) => {
            let secs = f.trunc();
            let nanos = ((f - secs) * 1e9) as i64;
            let (s, n) = if nanos < 0 {
                (secs as i64 - 1, (nanos + 1_000_000_000) as u32)
            } else {
                (secs as i64, nanos as u32)
            };
            local_from_unix(s, n)
        }
        Value::String(_) | Value::Bytes(_) => golayout::parse(RFC3339_NANO, &get_str(v)?),
        other => Err(type_error(other, &["number", "string"])),
    }
}

/// A timezone by Go name: `UTC`, `Local` or an IANA name.
enum Zone {
    Utc,
    Local,
    Named(chrono_tz::Tz),
}

fn load_zone(name: &str) -> Result<Zone, String> {
    match name {
        "" | "UTC" => Ok(Zone::Utc),
        "Local" => Ok(Zone::Local),
        n => chrono_tz::Tz::from_str(n)
            .map(Zone::Named)
            .map_err(|_| format!("failed to parse timezone location name: unknown time zone {n}")),
    }
}

/// Convert a time into a zone, returning the zone's abbreviation when it has one.
fn in_zone(t: &DateTime<FixedOffset>, zone: &Zone) -> (DateTime<FixedOffset>, Option<String>) {
    match zone {
        Zone::Utc => (t.with_timezone(&Utc).fixed_offset(), Some("UTC".into())),
        Zone::Local => (t.with_timezone(&Local).fixed_offset(), None),
        Zone::Named(tz) => {
            let z = t.with_timezone(tz);
            let abbrev = z.offset().to_string();
            let fixed = z.offset().fix();
            (t.with_timezone(&fixed), Some(abbrev))
        }
    }
}

fn ts_parse(v: &Value, args: &[Value]) -> Result<Value, String> {
    let layout = arg_str(args, 0)?;
    Ok(Value::Timestamp(golayout::parse(&layout, &get_str(v)?)?))
}

fn parse_timestamp(v: &Value, args: &[Value]) -> Result<Value, String> {
    match ts_parse(v, args)? {
        Value::Timestamp(t) => Ok(Value::String(golayout::format(&t, RFC3339_NANO, None))),
        other => Ok(other),
    }
}

/// timefmt-go's `%f` (zero-padded microseconds) in chrono's syntax.
fn chrono_fmt(fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str("%6f"),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

pub fn strptime(value: &str, fmt: &str) -> Result<DateTime<FixedOffset>, String> {
    let f = chrono_fmt(fmt);
    let err = |e: chrono::ParseError| {
        format!(
            "failed to parse {} with {}: {e}",
            go_quote(value),
            go_quote(fmt)
        )
    };
    match DateTime::parse_from_str(value, &f) {
        Ok(t) => return Ok(t),
        Err(e) if e.kind() != chrono::format::ParseErrorKind::NotEnough => return Err(err(e)),
        Err(_) => {}
    }
    match NaiveDateTime::parse_from_str(value, &f) {
        Ok(n) => return Ok(n.and_utc().fixed_offset()),
        Err(e) if e.kind() != chrono::format::ParseErrorKind::NotEnough => return Err(err(e)),
        Err(_) => {}
    }
    NaiveDate::parse_from_str(value, &f)
        .map_err(err)
        .and_then(|d| {
            d.and_hms_opt(0, 0, 0)
                .map(|n| n.and_utc().fixed_offset())
                .ok_or_else(|| "invalid date".to_string())
        })
}

fn ts_strptime(v: &Value, args: &[Value]) -> Result<Value, String> {
    let fmt = arg_str(args, 0)?;
    Ok(Value::Timestamp(strptime(&get_str(v)?, &fmt)?))
}

fn parse_timestamp_strptime(v: &Value, args: &[Value]) -> Result<Value, String> {
    match ts_strptime(v, args)? {
        Value::Timestamp(t) => Ok(Value::String(golayout::format(&t, RFC3339_NANO, None))),
        other => Ok(other),
    }
}

fn zoned(v: &Value, tz: Option<&str>) -> Result<(DateTime<FixedOffset>, Option<String>), String> {
    let t = get_timestamp(v)?;
    match tz {
        Some(name) => Ok(in_zone(&t, &load_zone(name)?)),
        None => Ok((t, None)),
    }
}

fn ts_format(v: &Value, args: &[Value]) -> Result<Value, String> {
    let layout = arg_opt_str(args, 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| RFC3339_NANO.into());
    let tz = arg_opt_str(args, 1)?;
    let (t, abbrev) = zoned(v, tz.as_deref())?;
    Ok(Value::String(golayout::format(
        &t,
        &layout,
        abbrev.as_deref(),
    )))
}

pub fn strftime(
    t: &DateTime<FixedOffset>,
    fmt: &str,
    abbrev: Option<&str>,
) -> Result<String, String> {
    let mut f = chrono_fmt(fmt);
    if let Some(a) = abbrev {
        f = f.replace("%Z", &a.replace('%', "%%"));
    }
    let items: Vec<chrono::format::Item> = chrono::format::StrftimeItems::new(&f).collect();
    if items
        .iter()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(format!("invalid strftime format {}", go_quote(fmt)));
    }
    let mut out = String::new();
    write!(out, "{}", t.format_with_items(items.into_iter()))
        .map_err(|_| format!("invalid strftime format {}", go_quote(fmt)))?;
    Ok(out)
}

fn ts_strftime(v: &Value, args: &[Value]) -> Result<Value, String> {
    let fmt = arg_str(args, 0)?;
    let tz = arg_opt_str(args, 1)?;
    let (t, abbrev) = zoned(v, tz.as_deref())?;
    strftime(&t, &fmt, abbrev.as_deref()).map(Value::String)
}

fn ts_tz(v: &Value, args: &[Value]) -> Result<Value, String> {
    let zone = load_zone(&arg_str(args, 0)?)?;
    let t = get_timestamp(v)?;
    Ok(Value::Timestamp(in_zone(&t, &zone).0))
}

/// Nanoseconds since Go's zero time (January 1, year 1, UTC).
fn go_abs_nanos(t: &DateTime<FixedOffset>) -> i128 {
    (t.timestamp() as i128 + 62_135_596_800) * 1_000_000_000 + t.timestamp_subsec_nanos() as i128
}

fn ts_round(v: &Value, args: &[Value]) -> Result<Value, String> {
    let d = arg_int(args, 0)? as i128;
    let t = get_timestamp(v)?;
    if d <= 0 {
        return Ok(Value::Timestamp(t));
    }
    let r = go_abs_nanos(&t).rem_euclid(d);
    let delta = if r + r < d { -r } else { d - r };
    let out = t
        .checked_add_signed(chrono::Duration::nanoseconds(delta as i64))
        .ok_or("timestamp out of range")?;
    Ok(Value::Timestamp(out))
}

fn ts_unix(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(get_timestamp(v)?.timestamp()))
}

fn ts_unix_milli(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(get_timestamp(v)?.timestamp_millis()))
}

fn ts_unix_micro(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(get_timestamp(v)?.timestamp_micros()))
}

fn unix_nanos(t: &DateTime<FixedOffset>) -> i64 {
    (t.timestamp() as i128 * 1_000_000_000 + t.timestamp_subsec_nanos() as i128)
        .clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn ts_unix_nano(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(unix_nanos(&get_timestamp(v)?)))
}

fn ts_sub(v: &Value, args: &[Value]) -> Result<Value, String> {
    let t1 = get_timestamp(v)?;
    let t2 = get_timestamp(arg(args, 0))?;
    let d = (go_abs_nanos(&t1) - go_abs_nanos(&t2)).clamp(i64::MIN as i128, i64::MAX as i128);
    Ok(Value::Int(d as i64))
}

/// An ISO 8601 period: years, months, weeks, days and a time part, each possibly fractional.
#[derive(Default, Debug, PartialEq)]
struct Period {
    years: f64,
    months: f64,
    weeks: f64,
    days: f64,
    hours: f64,
    minutes: f64,
    seconds: f64,
    neg: bool,
}

fn parse_period(s: &str) -> Result<Period, String> {
    let bad = || format!("{}: expected 'P' period mark at the start", go_quote(s));
    let mut rest = s;
    let mut p = Period::default();
    if let Some(r) = rest.strip_prefix('-') {
        p.neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    rest = rest.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(format!(
            "{}: expected 'Y', 'M', 'W', 'D', 'H', 'M', or 'S' designator",
            go_quote(s)
        ));
    }
    let mut in_time = false;
    let mut any = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('T') {
            in_time = true;
            rest = r;
            continue;
        }
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b',')
            .count();
        if n == 0 {
            let found = rest.chars().next().unwrap_or(' ');
            return Err(format!(
                "{}: expected a number but found '{found}'",
                go_quote(s)
            ));
        }
        let num: f64 = rest[..n]
            .replace(',', ".")
            .parse()
            .map_err(|_| format!("{}: invalid number {}", go_quote(s), &rest[..n]))?;
        // Periods keep one decimal place; further decimals are truncated.
        let num = (num * 10.0).trunc() / 10.0;
        rest = &rest[n..];
        let Some(unit) = rest.chars().next() else {
            return Err(format!("{}: missing designator at the end", go_quote(s)));
        };
        rest = &rest[unit.len_utf8()..];
        match (in_time, unit) {
            (false, 'Y') => p.years = num,
            (false, 'M') => p.months = num,
            (false, 'W') => p.weeks = num,
            (false, 'D') => p.days = num,
            // `H` and `S` are unambiguous, so they are accepted without the `T` too.
            (_, 'H') => p.hours = num,
            (true, 'M') => p.minutes = num,
            (_, 'S') => p.seconds = num,
            _ => {
                return Err(format!(
                    "{}: expected a designator Y, M, W, D, H, or S not '{unit}'",
                    go_quote(s)
                ))
            }
        }
        any = true;
    }
    if !any {
        return Err(format!(
            "{}: expected 'Y', 'M', 'W', 'D', 'H', 'M', or 'S' designator",
            go_quote(s)
        ));
    }
    Ok(p)
}

const NS_PER_DAY: f64 = 86_400e9;

fn period_nanos_approx(p: &Period) -> f64 {
    let year = 365.2425 * NS_PER_DAY;
    let ns = p.years * year
        + p.months * year / 12.0
        + (p.weeks * 7.0 + p.days) * NS_PER_DAY
        + p.hours * 3600e9
        + p.minutes * 60e9
        + p.seconds * 1e9;
    if p.neg {
        -ns
    } else {
        ns
    }
}

fn parse_duration_iso8601(v: &Value, _: &[Value]) -> Result<Value, String> {
    let p = parse_period(&get_str(v)?)?;
    Ok(Value::Int(period_nanos_approx(&p).round() as i64))
}

fn add_period(
    t: &DateTime<FixedOffset>,
    p: &Period,
    sign: f64,
) -> Result<DateTime<FixedOffset>, String> {
    let sign = if p.neg { -sign } else { sign };
    let whole = |x: f64| x.fract() == 0.0;
    let date_whole = whole(p.years) && whole(p.months) && whole(p.weeks) && whole(p.days);
    let (base, time_ns) = if date_whole {
        let b = golayout::add_date(
            t,
            (sign * p.years) as i64,
            (sign * p.months) as i64,
            (sign * (p.weeks * 7.0 + p.days)) as i64,
        )
        .ok_or("timestamp out of range")?;
        (
            b,
            sign * (p.hours * 3600e9 + p.minutes * 60e9 + p.seconds * 1e9),
        )
    } else {
        let q = Period { neg: false, ..*p };
        (*t, sign * period_nanos_approx(&q))
    };
    base.checked_add_signed(chrono::Duration::nanoseconds(time_ns.round() as i64))
        .ok_or_else(|| "timestamp out of range".to_string())
}

fn ts_add_iso8601(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = parse_period(&arg_str(args, 0)?)?;
    Ok(Value::Timestamp(add_period(&get_timestamp(v)?, &p, 1.0)?))
}

fn ts_sub_iso8601(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = parse_period(&arg_str(args, 0)?)?;
    Ok(Value::Timestamp(add_period(&get_timestamp(v)?, &p, -1.0)?))
}

fn parse_duration(v: &Value, _: &[Value]) -> Result<Value, String> {
    golayout::parse_duration(&get_str(v)?).map(Value::Int)
}

fn now(_: &[Value]) -> Result<Value, String> {
    Ok(Value::String(golayout::format(
        &Local::now().fixed_offset(),
        RFC3339_NANO,
        None,
    )))
}

fn timestamp_unix(_: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(Utc::now().timestamp()))
}

fn timestamp_unix_milli(_: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(Utc::now().timestamp_millis()))
}

fn timestamp_unix_micro(_: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(Utc::now().timestamp_micros()))
}

fn timestamp_unix_nano(_: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(unix_nanos(&Utc::now().fixed_offset())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::s;

    fn ts_text(v: Value) -> String {
        match v {
            Value::Timestamp(t) => golayout::format(&t, RFC3339_NANO, None),
            other => panic!("not a timestamp: {other:?}"),
        }
    }

    #[test]
    fn parsing() {
        assert_eq!(
            ts_text(ts_parse(&s("2020-Aug-14"), &[s("2006-Jan-02")]).unwrap()),
            "2020-08-14T00:00:00Z"
        );
        assert_eq!(
            ts_text(ts_strptime(&s("2020-Aug-14"), &[s("%Y-%b-%d")]).unwrap()),
            "2020-08-14T00:00:00Z"
        );
        assert_eq!(
            ts_text(
                ts_strptime(
                    &s("2020-Aug-14 11:50:26.371000"),
                    &[s("%Y-%b-%d %H:%M:%S.%f")]
                )
                .unwrap()
            ),
            "2020-08-14T11:50:26.371Z"
        );
        assert!(ts_strptime(&s("nope"), &[s("%Y")]).is_err());
        assert_eq!(
            parse_timestamp(&s("2020-Aug-14"), &[s("2006-Jan-02")]).unwrap(),
            s("2020-08-14T00:00:00Z")
        );
        assert!(ts_parse(&Value::Int(5), &[s("2006")]).is_err());
    }

    #[test]
    fn formatting() {
        let utc = [s("2006-Jan-02 15:04:05"), s("UTC")];
        assert_eq!(
            ts_format(&Value::Int(1597405526), &utc).unwrap(),
            s("2020-Aug-14 11:45:26")
        );
        assert_eq!(
            ts_format(&s("2020-08-14T11:50:26.371Z"), &utc).unwrap(),
            s("2020-Aug-14 11:50:26")
        );
        let micro = [s("2006-Jan-02 15:04:05.999999"), s("UTC")];
        assert_eq!(
            ts_format(&Value::Float(1597405526.123456), &micro).unwrap(),
            s("2020-Aug-14 11:45:26.123456")
        );
        assert_eq!(
            ts_format(&s("2020-08-14T11:50:26.371Z"), &micro).unwrap(),
            s("2020-Aug-14 11:50:26.371")
        );
        assert_eq!(
            ts_format(&s("2020-08-14T11:50:26.371Z"), &[Value::Null, Value::Null]).unwrap(),
            s("2020-08-14T11:50:26.371Z")
        );
        assert_eq!(
            ts_format(
                &s("2021-01-14T11:50:26Z"),
                &[s("15:04 MST"), s("America/New_York")]
            )
            .unwrap(),
            s("06:50 EST")
        );
        assert!(ts_format(
            &s("2021-01-14T11:50:26Z"),
            &[Value::Null, s("Nowhere/Land")]
        )
        .unwrap_err()
        .contains("unknown time zone"));
        assert_eq!(
            ts_strftime(
                &Value::Int(1597405526),
                &[s("%Y-%b-%d %H:%M:%S.%f"), s("UTC")]
            )
            .unwrap(),
            s("2020-Aug-14 11:45:26.000000")
        );
        assert_eq!(
            ts_strftime(
                &s("2020-08-14T11:50:26.371Z"),
                &[s("%Y-%b-%d %H:%M:%S.%f"), s("UTC")]
            )
            .unwrap(),
            s("2020-Aug-14 11:50:26.371000")
        );
        assert!(ts_strftime(&s("2020-08-14T11:50:26.371Z"), &[s("%Q"), Value::Null]).is_err());
    }

    #[test]
    fn arithmetic() {
        assert_eq!(
            ts_text(ts_tz(&s("2021-02-03T17:05:06+01:00"), &[s("UTC")]).unwrap()),
            "2021-02-03T16:05:06Z"
        );
        assert_eq!(
            ts_text(
                ts_round(&s("2020-08-14T05:54:23Z"), &[Value::Int(3_600_000_000_000)]).unwrap()
            ),
            "2020-08-14T06:00:00Z"
        );
        let t = s("2009-11-10T23:00:00Z");
        assert_eq!(ts_unix(&t, &[]).unwrap(), Value::Int(1257894000));
        assert_eq!(ts_unix_milli(&t, &[]).unwrap(), Value::Int(1257894000000));
        assert_eq!(
            ts_unix_micro(&t, &[]).unwrap(),
            Value::Int(1257894000000000)
        );
        assert_eq!(
            ts_unix_nano(&t, &[]).unwrap(),
            Value::Int(1257894000000000000)
        );
        assert_eq!(
            ts_sub(&s("2020-08-13T05:54:23Z"), &[s("2020-08-14T05:54:23Z")]).unwrap(),
            Value::Int(-86400000000000)
        );
        assert_eq!(parse_duration(&s("50us"), &[]).unwrap(), Value::Int(50000));
        assert_eq!(
            parse_duration_iso8601(&s("P3Y6M4DT12H30M5S"), &[]).unwrap(),
            Value::Int(110839937000000000)
        );
        assert_eq!(
            parse_duration_iso8601(&s("PT2.5S"), &[]).unwrap(),
            Value::Int(2_500_000_000)
        );
        assert_eq!(
            parse_duration_iso8601(&s("P3.5S"), &[]).unwrap(),
            Value::Int(3_500_000_000)
        );
        assert_eq!(
            parse_duration_iso8601(&s("PT2.55S"), &[]).unwrap(),
            Value::Int(2_500_000_000)
        );
        assert_eq!(
            parse_duration_iso8601(&s("P2W"), &[]).unwrap(),
            Value::Int(1_209_600_000_000_000)
        );
        assert!(parse_duration_iso8601(&s("3D"), &[]).is_err());
        assert!(parse_duration_iso8601(&s("P€"), &[]).is_err());
        assert!(ts_add_iso8601(&s("2021-01-31T10:00:00Z"), &[s("P999999999999999999Y")]).is_err());
        assert!(ts_add_iso8601(&s("2021-01-31T10:00:00Z"), &[s("P99999999999999D")]).is_err());
        assert!(parse_duration(&s("99999999999999999999999999999999999999h"), &[]).is_err());
        assert_eq!(
            ts_text(ts_add_iso8601(&s("2021-01-31T10:00:00Z"), &[s("P1M")]).unwrap()),
            "2021-03-03T10:00:00Z"
        );
        assert_eq!(
            ts_text(ts_sub_iso8601(&s("2021-01-31T10:00:00Z"), &[s("PT1H")]).unwrap()),
            "2021-01-31T09:00:00Z"
        );
        assert!(matches!(timestamp_unix(&[]).unwrap(), Value::Int(_)));
        assert!(matches!(now(&[]).unwrap(), Value::String(_)));
    }
}
