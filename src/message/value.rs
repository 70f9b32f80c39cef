//! The structured value every message, metadata entry and Bloblang expression works with.
//!
//! Objects are `BTreeMap`s because Bento (Go's `encoding/json`) writes object keys sorted, and our
//! output must match it byte for byte. Integers stay integers; floats are written the way Go
//! writes a `float64` (`1` for `1.0`, `1e+21`, `1.5e-7`). JSON output never escapes HTML.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

pub type Object = BTreeMap<String, Value>;

#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    Timestamp(DateTime<FixedOffset>),
    Array(Vec<Value>),
    Object(Object),
}

impl PartialEq for Value {
    /// Bento's equality: numbers compare by value whatever their representation, bytes compare
    /// equal to strings with the same content, other kinds compare structurally.
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
            (Float(a), Float(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (String(a), Bytes(b)) | (Bytes(b), String(a)) => a.as_bytes() == b.as_slice(),
            (Timestamp(a), Timestamp(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The type names Bloblang's `type()` method reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Timestamp(_) => "timestamp",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Parse JSON text into a value. Integers that fit `i64` stay integers.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        // One UTF-8 check of the whole document is cheaper than serde_json's check of every
        // string in it; a document that fails it goes the byte path, which says where.
        match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(bytes),
        }
    }

    pub fn from_json_str(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Compact JSON, as Bento writes a structured message.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.write_json(&mut out);
        out
    }

    pub fn to_json_string(&self) -> String {
        // write_json only ever writes valid UTF-8 (invalid bytes become U+FFFD).
        String::from_utf8(self.to_json_bytes()).unwrap_or_default()
    }

    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_indented(out, None, 0);
    }

    /// JSON with every nesting level indented by `indent` (Go's `json.MarshalIndent`).
    pub fn to_json_pretty(&self, indent: &str) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json_indented(&mut out, Some(indent), 0);
        String::from_utf8(out).unwrap_or_default()
    }

    fn write_json_indented(&self, out: &mut Vec<u8>, indent: Option<&str>, depth: usize) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Value::Float(f) => write_go_float(out, *f),
            Value::String(s) => write_json_str(out, s),
            Value::Bytes(b) => write_json_string(out, b),
            Value::Timestamp(t) => {
                write_json_string(out, format_rfc3339_nano(t).as_bytes());
            }
            Value::Array(items) => {
                if items.is_empty() {
                    out.extend_from_slice(b"[]");
                    return;
                }
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    newline_indent(out, indent, depth + 1);
                    item.write_json_indented(out, indent, depth + 1);
                }
                newline_indent(out, indent, depth);
                out.push(b']');
            }
            Value::Object(map) => {
                if map.is_empty() {
                    out.extend_from_slice(b"{}");
                    return;
                }
                out.push(b'{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    newline_indent(out, indent, depth + 1);
                    write_json_str(out, k);
                    out.push(b':');
                    if indent.is_some() {
                        out.push(b' ');
                    }
                    v.write_json_indented(out, indent, depth + 1);
                }
                newline_indent(out, indent, depth);
                out.push(b'}');
            }
        }
    }
}

fn newline_indent(out: &mut Vec<u8>, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(ind.as_bytes());
        }
    }
}

/// RFC 3339 with nanoseconds and trailing zeros trimmed, Go's `time.RFC3339Nano`
/// (`.5`, not chrono's `.500`).
pub fn format_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // The fraction sits between the '.' after the seconds and the zone ('Z', '+' or '-').
    let Some(dot) = s.find('.') else { return s };
    let zone = s[dot..].find(['Z', '+', '-']).map_or(s.len(), |i| dot + i);
    let frac = s[dot + 1..zone].trim_end_matches('0');
    if frac.is_empty() {
        format!("{}{}", &s[..dot], &s[zone..])
    } else {
        format!("{}.{}{}", &s[..dot], frac, &s[zone..])
    }
}

/// Write a float the way Go's `encoding/json` does: the shortest digits that round-trip (an
/// exact tie between two such digits goes to the even one, as Go's Ryu does, where Rust's own
/// `Display` rounds up), plain notation between 1e-6 and 1e21, exponent notation outside with
/// the exponent's leading zeros dropped (`1e+21`, `1.5e-7`). NaN and infinities, which JSON
/// cannot hold, are written as Go's `strconv` writes them.
pub fn write_go_float(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        out.extend_from_slice(match f {
            f if f.is_nan() => b"NaN",
            f if f > 0.0 => b"+Inf",
            _ => b"-Inf",
        });
        return;
    }
    let mut buf = zmij::Buffer::new();
    let text = buf.format_finite(f);
    let abs = f.abs();
    if abs == 0.0 || (1e-5..1e16).contains(&abs) {
        // Here Żmij writes plainly too, only with a `.0` on whole numbers that Go leaves off.
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
        return;
    }
    let (negative, digits, point) = text_digits(text);
    let digits = digits.as_slice();
    if negative {
        out.push(b'-');
    }
    let n = digits.len() as i32;
    if (1e-6..1e21).contains(&abs) {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits);
        } else if point >= n {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', (point - n) as usize));
        } else {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        }
    } else {
        out.extend_from_slice(&digits[..1.min(digits.len())]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = point - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        out.extend_from_slice(e.unsigned_abs().to_string().as_bytes());
    }
}

/// The shortest decimal digits that read back as the finite `f` (Żmij's, which are Ryu's and
/// Go's: an exact tie keeps the even digit), its sign, and where the point goes:
/// |f| = 0.d₁d₂… × 10^point. Zero is the digit `0` with the point after it.
pub fn shortest_digits(f: f64) -> (bool, Vec<u8>, i32) {
    text_digits(zmij::Buffer::new().format_finite(f))
}

/// [`shortest_digits`] taken from Żmij's text of the number (`-1.5e-7`, `1e+16`, `123.0`).
fn text_digits(text: &str) -> (bool, Vec<u8>, i32) {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let joined: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(start) = joined.iter().position(|&d| d != b'0') else {
        return (negative, vec![b'0'], 1);
    };
    let end = joined
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(start, |i| i + 1);
    let point = exp + int.len() as i32 - start as i32;
    (negative, joined[start..end].to_vec(), point)
}

pub fn format_go_float(f: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_go_float(&mut out, f);
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's JSON string escaping without HTML escaping: quotes, backslashes and control characters
/// are escaped, U+2028/U+2029 too, and invalid UTF-8 becomes U+FFFD.
pub fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => write_json_str(out, s),
        Err(_) => write_json_str(out, &String::from_utf8_lossy(bytes)),
    }
}

/// [`write_json_string`] for text already known to be UTF-8.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

/// Bytes that may need escaping: control characters, `"`, `\\`, and 0xE2 (the first byte of
/// U+2028/U+2029). Everything else is copied in runs.
static NEEDS_CHECK: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0xe2] = true;
    t
};

/// Whether any of the 8 bytes of `w` may need escaping (see [`NEEDS_CHECK`]): a word-at-a-time
/// test, exact for "any", so the common case (long runs of plain text) skips 8 bytes per step.
#[inline]
fn word_needs_check(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    let special = control | has_zero(w ^ (LO * b'"' as u64)) | has_zero(w ^ (LO * b'\\' as u64));
    // 0xE2 has its high bit set: plain ASCII words skip that test.
    special != 0 || (w & HI != 0 && has_zero(w ^ (LO * 0xe2)) != 0)
}

/// The bytes of a 16-byte block that are not plain printable ASCII (a control character, `"`,
/// `\\` or any byte of a multi-byte character), one bit each: SSE2, part of every x86_64, tests
/// the 16 at once.
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_flags(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has these instructions;
    // the load is unaligned and reads exactly the 16 bytes `block` refers to.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        // Signed: bytes from 0x80 up are negative, so below 0x20 like the control characters.
        let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(low, _mm_or_si128(quote, backslash))) as u32
    }
}

fn write_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        #[cfg(target_arch = "x86_64")]
        {
            let flags = match bytes
                .get(i..i + 16)
                .and_then(|b| <&[u8; 16]>::try_from(b).ok())
            {
                Some(block) => block_flags(block),
                None => {
                    // The last few bytes, padded with plain ones: a byte loop over them costs
                    // more than the copy.
                    let rest = &bytes[i..];
                    let mut block = [b' '; 16];
                    block[..rest.len()].copy_from_slice(rest);
                    match block_flags(&block) {
                        0 => {
                            i = bytes.len();
                            continue;
                        }
                        flags => flags,
                    }
                }
            };
            match flags {
                0 => {
                    i += 16;
                    continue;
                }
                // Up to the first byte that needs a closer look, everything is plain.
                flags => i += flags.trailing_zeros() as usize,
            }
        }
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !word_needs_check(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if !NEEDS_CHECK[b as usize] {
            i += 1;
            continue;
        }
        let (esc, len): (&[u8], usize) = match b {
            b'"' => (b"\\\"", 1),
            b'\\' => (b"\\\\", 1),
            b'\n' => (b"\\n", 1),
            b'\r' => (b"\\r", 1),
            b'\t' => (b"\\t", 1),
            0xe2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xa8) => {
                (b"\\u2028", 3)
            }
            0xe2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xa9) => {
                (b"\\u2029", 3)
            }
            0xe2 => {
                i += 1;
                continue;
            }
            _ => (b"", 1),
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        i += len;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

impl fmt::Display for Value {
    /// The text form Bento gives a value when it becomes a message payload or an interpolated
    /// string: strings and bytes raw, everything else as compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            Value::Timestamp(t) => f.write_str(&format_rfc3339_nano(t)),
            other => f.write_str(&other.to_json_string()),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
            Value::Timestamp(t) => serde_json::Value::String(format_rfc3339_nano(t)),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Into::into).collect()),
            Value::Object(o) => {
                serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), v.into())).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

// Deserialising straight into `Value` (no intermediate serde_json::Value) keeps parsing to a
// single pass, which matters on the message hot path.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            obj.insert(k, v);
        }
        Ok(Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_sorts_keys_and_keeps_ints() {
        let v = Value::from_json_str(r#"{"b":1,"a":[1.5,2,"x<y>"],"c":null}"#).unwrap();
        assert_eq!(v.to_json_string(), r#"{"a":[1.5,2,"x<y>"],"b":1,"c":null}"#);
    }

    /// The layout below Żmij's plain range, checked against Rust's own (different) layout of
    /// the same value: both must read back as the same float, in Go's notation.
    #[test]
    fn floats_round_trip_in_go_notation_at_every_exponent() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let f = f64::from_bits(seed);
            if !f.is_finite() {
                continue;
            }
            let text = format_go_float(f);
            assert_eq!(text.parse::<f64>().ok(), Some(f), "{text} for {f:e}");
            let abs = f.abs();
            let plain = abs == 0.0 || (1e-6..1e21).contains(&abs);
            assert_eq!(!text.contains('e'), plain, "{text} for {f:e}");
            if let Some((_, exp)) = text.split_once('e') {
                assert!(
                    exp.starts_with(['+', '-']) && !exp[1..].starts_with('0'),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_go_float(1.0), "1");
        assert_eq!(format_go_float(0.1), "0.1");
        assert_eq!(format_go_float(1e21), "1e+21");
        assert_eq!(format_go_float(1.5e-7), "1.5e-7");
        assert_eq!(format_go_float(123456789.0), "123456789");
        assert_eq!(format_go_float(1e-6), "0.000001");
        assert_eq!(format_go_float(1.5e-6), "0.0000015");
        assert_eq!(format_go_float(1e20), "100000000000000000000");
        assert_eq!(format_go_float(1.2345e17), "123450000000000000");
        assert_eq!(format_go_float(-2.5e-9), "-2.5e-9");
        assert_eq!(format_go_float(5e-324), "5e-324");
        assert_eq!(format_go_float(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(format_go_float(0.0), "0");
        assert_eq!(format_go_float(-0.0), "-0");
        assert_eq!(format_go_float(100.0), "100");
        // 1658206780088562.25, exactly halfway between two 17-digit candidates: Go keeps the even digit
        // (`strconv.FormatFloat(1658206780088562.25, 'f', -1, 64)`); Rust's Display gives .3.
        assert_eq!(
            format_go_float(f64::from_bits(0x4317_9085_685d_83c9)),
            "1658206780088562.2"
        );
    }

    /// Go's escaping, one character at a time: what the word-at-a-time scan must give.
    fn escaped_by_chars(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn escaping_finds_every_special_character_at_every_offset() {
        let specials = [
            '"', '\\', '\n', '\r', '\t', '\u{1}', '\u{1f}', '\u{2028}', '\u{2029}', '\u{2014}',
            '\u{7f}', 'é', ' ',
        ];
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33] {
            for at in 0..=len {
                for c in specials {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyz0123456789"
                        .chars()
                        .take(len)
                        .collect();
                    s.insert(at.min(s.len()), c);
                    let mut out = Vec::new();
                    write_json_str(&mut out, &s);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        escaped_by_chars(&s),
                        "{s:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_in_a_document_is_still_a_parse_error() {
        assert!(Value::from_json_slice(b"{\"a\":\"\xff\"}").is_err());
        assert_eq!(
            Value::from_json_slice(b"{\"a\":\"\xc3\xa9\"}")
                .unwrap()
                .to_json_string(),
            "{\"a\":\"\u{e9}\"}"
        );
    }

    #[test]
    fn strings_escape_like_go_without_html() {
        let v = Value::String("a\"b\\c\n\u{1}\u{2028}<&>".into());
        assert_eq!(v.to_json_string(), r#""a\"b\\c\n\u0001\u2028<&>""#);
    }

    #[test]
    fn pretty_json_indents() {
        let v = Value::from_json_str(r#"{"a":[1],"b":{}}"#).unwrap();
        assert_eq!(
            v.to_json_pretty("  "),
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn timestamps_trim_the_fraction_like_go() {
        let t = DateTime::parse_from_rfc3339("2020-01-01T10:00:00.500+02:00").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2020-01-01T10:00:00.5+02:00");
        let t = DateTime::parse_from_rfc3339("2020-01-01T10:00:00Z").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2020-01-01T10:00:00Z");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_ne!(Value::Int(1), Value::String("1".into()));
    }
}
