//! Shared helpers for the library: argument access, Bento's type errors and value conversions
//! (`IGetString`, `IToString`, ... in Bento), Go number formatting and table-building shorthands.

use std::borrow::Cow;

use super::{Example, Param, ParamDefault, ParamKind};

/// Go's `time.RFC3339Nano` text of a timestamp (trailing fractional zeros trimmed).
pub fn format_rfc3339_nano(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    super::golayout::format(t, super::golayout::RFC3339_NANO, None)
}
use crate::message::Value;

// ---------------------------------------------------------------------------------------------
// Table shorthands.

pub(crate) const fn req(name: &'static str, kind: ParamKind, description: &'static str) -> Param {
    Param {
        name,
        kind,
        default: ParamDefault::Required,
        description,
    }
}

pub(crate) const fn opt(
    name: &'static str,
    kind: ParamKind,
    default: ParamDefault,
    description: &'static str,
) -> Param {
    Param {
        name,
        kind,
        default,
        description,
    }
}

pub(crate) const fn ex(
    summary: &'static str,
    mapping: &'static str,
    cases: &'static [(&'static str, &'static str)],
) -> Example {
    Example {
        summary,
        mapping,
        cases,
        skip_check: false,
    }
}

pub(crate) const fn ex_skip(
    summary: &'static str,
    mapping: &'static str,
    cases: &'static [(&'static str, &'static str)],
) -> Example {
    Example {
        summary,
        mapping,
        cases,
        skip_check: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Bento's `value.NewTypeError`: `expected string value, got number (5)`.
pub fn type_error(v: &Value, expected: &[&str]) -> String {
    let mut s = String::new();
    if expected.is_empty() {
        s.push_str("unexpected value");
    } else {
        s.push_str("expected ");
        for (i, e) in expected.iter().enumerate() {
            if i > 0 {
                if expected.len() > 2 && i < expected.len() - 1 {
                    s.push_str(", ");
                } else {
                    s.push_str(" or ");
                }
            }
            s.push_str(e);
        }
        s.push_str(" value");
    }
    s.push_str(", got ");
    s.push_str(v.type_name());
    match v {
        Value::String(t) => {
            s.push_str(" (\"");
            s.push_str(t);
            s.push_str("\")");
        }
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            s.push_str(" (");
            s.push_str(&to_string_lossy(v));
            s.push(')');
        }
        _ => {}
    }
    s
}

/// Go's `strconv` error text: `strconv.ParseInt: parsing "abc": invalid syntax`.
pub fn strconv_error(func: &str, input: &str, what: &str) -> String {
    format!("strconv.{func}: parsing {}: {what}", go_quote(input))
}

// ---------------------------------------------------------------------------------------------
// Argument access. The interpreter checks argument kinds, these stay defensive anyway.

pub fn arg(args: &[Value], i: usize) -> &Value {
    static NULL: Value = Value::Null;
    args.get(i).unwrap_or(&NULL)
}

pub fn arg_str(args: &[Value], i: usize) -> Result<Cow<'_, str>, String> {
    get_str(arg(args, i))
}

/// An optional string argument: `None` for null.
pub fn arg_opt_str(args: &[Value], i: usize) -> Result<Option<Cow<'_, str>>, String> {
    match arg(args, i) {
        Value::Null => Ok(None),
        v => get_str(v).map(Some),
    }
}

pub fn arg_bool(args: &[Value], i: usize, default: bool) -> Result<bool, String> {
    match arg(args, i) {
        Value::Null => Ok(default),
        Value::Bool(b) => Ok(*b),
        v => Err(type_error(v, &["bool"])),
    }
}

pub fn arg_int(args: &[Value], i: usize) -> Result<i64, String> {
    get_int(arg(args, i))
}

pub fn arg_opt_int(args: &[Value], i: usize) -> Result<Option<i64>, String> {
    match arg(args, i) {
        Value::Null => Ok(None),
        v => get_int(v).map(Some),
    }
}

// ---------------------------------------------------------------------------------------------
// Value access (Bento's IGet*: no parsing).

/// `IGetString`: strings, bytes and timestamps.
pub fn get_str(v: &Value) -> Result<Cow<'_, str>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b)),
        Value::Timestamp(t) => Ok(Cow::Owned(format_rfc3339_nano(t))),
        _ => Err(type_error(v, &["string"])),
    }
}

/// `IGetBytes`: strings, bytes and timestamps.
pub fn get_bytes(v: &Value) -> Result<Cow<'_, [u8]>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s.as_bytes())),
        Value::Bytes(b) => Ok(Cow::Borrowed(b)),
        Value::Timestamp(t) => Ok(Cow::Owned(format_rfc3339_nano(t).into_bytes())),
        _ => Err(type_error(v, &["bytes"])),
    }
}

/// Strings and bytes only (the `case string: case []byte:` switches of Bento), reporting the
/// error as `expected string value`.
pub fn str_or_bytes(v: &Value) -> Result<Cow<'_, [u8]>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s.as_bytes())),
        Value::Bytes(b) => Ok(Cow::Borrowed(b)),
        _ => Err(type_error(v, &["string"])),
    }
}

/// `IGetNumber`.
pub fn get_number(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        _ => Err(type_error(v, &["number"])),
    }
}

/// `IGetInt`: floats are truncated.
pub fn get_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) => Ok(*f as i64),
        _ => Err(type_error(v, &["number"])),
    }
}

pub fn get_array(v: &Value) -> Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(type_error(v, &["array"])),
    }
}

pub fn get_object(v: &Value) -> Result<&crate::message::value::Object, String> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(type_error(v, &["object"])),
    }
}

/// Apply a string transform keeping the kind: strings give strings, bytes give bytes.
pub fn map_text(v: &Value, f: impl Fn(&str) -> String) -> Result<Value, String> {
    match v {
        Value::String(s) => Ok(Value::String(f(s))),
        Value::Bytes(b) => Ok(Value::Bytes(f(&String::from_utf8_lossy(b)).into_bytes())),
        _ => Err(type_error(v, &["string"])),
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions (Bento's IToString / IToBytes).

/// `IToString`: strings and bytes raw, numbers as Go's `%v`, timestamps RFC 3339, structured as
/// JSON.
pub fn to_string_lossy(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_go_g(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Timestamp(t) => format_rfc3339_nano(t),
        Value::Array(_) | Value::Object(_) => v.to_json_string(),
    }
}

pub fn to_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.clone(),
        other => to_string_lossy(other).into_bytes(),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, also `%v` for floats: shortest digits, exponent
/// form when the exponent is below -4 or at least 6 (`1e+06`).
pub fn format_go_g(f: f64) -> String {
    format_go_g_prec(f, None, 6)
}

/// `%g`-style formatting. `prec` None means shortest; `eprec_shortest` is the exponent threshold
/// used for shortest output (21 for `%v`, 6 for `strconv 'g'`).
pub fn format_go_g_prec(f: f64, prec: Option<usize>, eprec_shortest: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let (neg, mut digits, exp) = match prec {
        // Go's shortest digits (an exact tie keeps the even digit, where Rust's `{:e}` rounds up).
        None => {
            let (neg, digits, point) = crate::message::value::shortest_digits(f);
            (
                neg,
                String::from_utf8_lossy(&digits).into_owned(),
                point - 1,
            )
        }
        Some(p) => {
            let sci = format!("{:.*e}", p.max(1) - 1, f);
            let (mant, exp) = match sci.split_once('e') {
                Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
                None => (sci.as_str(), 0),
            };
            let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
            (
                mant.starts_with('-'),
                digits.trim_end_matches('0').to_string(),
                exp,
            )
        }
    };
    if digits.is_empty() {
        digits.push('0');
    }
    let eprec = match prec {
        None => eprec_shortest,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > digits.len() as i32 && digits.len() as i32 > exp {
                digits.len() as i32
            } else {
                p
            }
        }
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    // An approximation of unicode.IsPrint: control and format characters, separators other
    // than the ASCII space and unassigned planes are escaped.
    let u = c as u32;
    !(c.is_control()
        || (0x80..0xa0).contains(&u)
        || u == 0xad
        || (0x2000..=0x200f).contains(&u)
        || (0x2028..=0x202f).contains(&u)
        || (0x205f..=0x206f).contains(&u)
        || u == 0xfeff
        || (0xfff9..=0xfffb).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || u >= 0xf0000
        || u == 0x3000
        || u == 0xa0)
}

/// Go's `strconv.Unquote` for double-quoted, back-quoted and single-character quoted strings.
pub fn go_unquote(s: &str) -> Result<String, String> {
    let err = || "invalid syntax".to_string();
    let bytes = s.as_bytes();
    if bytes.len() < 2
        || !matches!(bytes[0], b'"' | b'\'' | b'`')
        || bytes[0] != bytes[bytes.len() - 1]
    {
        return Err(err());
    }
    let q = bytes[0];
    let inner = &s[1..s.len() - 1];
    if q == b'`' {
        if inner.contains('`') || inner.contains('\r') {
            return Err(err());
        }
        return Ok(inner.to_string());
    }
    // Escapes like `\xc3\xa9` produce raw bytes, so the result is assembled as bytes.
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut units = 0usize;
    let mut chars = inner.chars();
    let push_char = |out: &mut Vec<u8>, c: char| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    while let Some(c) = chars.next() {
        units += 1;
        if c == q as char || c == '\n' {
            return Err(err());
        }
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        let e = chars.next().ok_or_else(err)?;
        match e {
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0c),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(0x0b),
            '\\' => out.push(b'\\'),
            '\'' | '"' => {
                if e as u8 != q {
                    return Err(err());
                }
                out.push(e as u8)
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                if hex.len() != n {
                    return Err(err());
                }
                let v = u32::from_str_radix(&hex, 16).map_err(|_| err())?;
                if e == 'x' {
                    out.push(v as u8);
                } else {
                    push_char(&mut out, char::from_u32(v).ok_or_else(err)?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(err)?;
                    v = v * 8 + d;
                }
                if v > 255 {
                    return Err(err());
                }
                out.push(v as u8);
            }
            _ => return Err(err()),
        }
    }
    if q == b'\'' && units != 1 {
        return Err(err());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Bento's `ICompare`-style equality used by `contains`, `find`, `unique` and friends.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors() {
        assert_eq!(
            type_error(&Value::Int(5), &["string"]),
            "expected string value, got number (5)"
        );
        assert_eq!(
            type_error(&Value::from("x"), &["number", "string"]),
            "expected number or string value, got string (\"x\")"
        );
        assert_eq!(
            type_error(&Value::Null, &["a", "b", "c"]),
            "expected a, b or c value, got null"
        );
    }

    #[test]
    fn timestamps_as_text() {
        let t = chrono::DateTime::parse_from_rfc3339("2020-08-14T11:50:26.5+01:00").unwrap();
        assert_eq!(
            to_string_lossy(&Value::Timestamp(t)),
            "2020-08-14T11:50:26.5+01:00"
        );
    }

    #[test]
    fn go_floats() {
        assert_eq!(format_go_g(1.5), "1.5");
        assert_eq!(format_go_g(1e21), "1e+21");
        assert_eq!(format_go_g(0.00001), "1e-05");
        assert_eq!(format_go_g(123456789.0), "1.23456789e+08");
        assert_eq!(format_go_g(-2.5), "-2.5");
        assert_eq!(format_go_g(100.0), "100");
        assert_eq!(format_go_g_prec(1.0 / 3.0, Some(3), 21), "0.333");
        assert_eq!(format_go_g(0.0), "0");
        assert_eq!(format_go_g(-0.0), "-0");
        // 1658206780088562.25: Go's strconv keeps the even digit on this exact tie.
        let tie = f64::from_bits(0x4317_9085_685d_83c9);
        assert_eq!(format_go_g_prec(tie, None, 21), "1658206780088562.2");
        assert_eq!(format_go_g(tie), "1.6582067800885622e+15");
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("foo\nbar"), "\"foo\\nbar\"");
        assert_eq!(go_unquote("\"foo\\nbar\"").unwrap(), "foo\nbar");
        assert_eq!(go_unquote("`raw\\n`").unwrap(), "raw\\n");
        assert!(go_unquote("nope").is_err());
        assert_eq!(go_unquote("\"\\u00e9\"").unwrap(), "é");
        assert_eq!(go_unquote("\"\\xc3\\xa9\\303\\251\"").unwrap(), "éé");
        assert_eq!(go_unquote("'a'").unwrap(), "a");
        assert!(go_unquote("'ab'").is_err());
    }
}
