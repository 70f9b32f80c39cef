//! Parsing and serialising methods: JSON, YAML, CSV, URLs and form encoded bodies.

use super::helpers::*;
use super::strings::go_query_unescape;
use super::{MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::value::Object;
use crate::message::Value;

const CAT: &str = "Parsing";

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "parse_json",
        category: CAT,
        description: "Attempts to parse a string as a JSON document and returns the result.",
        params: &[opt("use_number", K::Bool, D::Optional, "An optional flag that when set makes parsing numbers as json.Number instead of the default float64.")],
        examples: &[
            ex("", "root.doc = this.doc.parse_json()", &[(r#"{"doc":"{\"foo\":\"bar\"}"}"#, r#"{"doc":{"foo":"bar"}}"#)]),
            ex("", "root.doc = this.doc.parse_json(use_number: true)", &[(r#"{"doc":"{\"foo\":\"11380878173205700000000000000000000000000000000\"}"}"#, r#"{"doc":{"foo":"11380878173205700000000000000000000000000000000"}}"#)]),
        ],
        imp: parse_json,
    },
    MethodSpec {
        name: "format_json",
        category: CAT,
        description: "Serializes a target value into a pretty-printed JSON byte array (with 4 space indentation by default).",
        params: &[
            opt("indent", K::String, D::Str("    "), "Indentation string. Each element in a JSON object or array will begin on a new, indented line followed by one or more copies of indent according to the indentation nesting."),
            opt("no_indent", K::Bool, D::Bool(false), "Disable indentation."),
            opt("escape_html", K::Bool, D::Bool(true), "Escape problematic HTML characters."),
        ],
        examples: &[
            ex("", "root = this.doc.format_json()", &[(r#"{"doc":{"foo":"bar"}}"#, "{\n    \"foo\": \"bar\"\n}")]),
            ex("Pass a string to the `indent` parameter in order to customise the indentation.", "root = this.format_json(\"  \")", &[(r#"{"doc":{"foo":"bar"}}"#, "{\n  \"doc\": {\n    \"foo\": \"bar\"\n  }\n}")]),
            ex("Use the `.string()` method in order to coerce the result into a string.", "root.doc = this.doc.format_json().string()", &[(r#"{"doc":{"foo":"bar"}}"#, r#"{"doc":"{\n    \"foo\": \"bar\"\n}"}"#)]),
            ex("Set the `no_indent` parameter to true to disable indentation. The result is equivalent to calling `bytes()`.", "root = this.doc.format_json(no_indent: true)", &[(r#"{"doc":{"foo":"bar"}}"#, r#"{"foo":"bar"}"#)]),
            ex("Escapes problematic HTML characters.", "root = this.doc.format_json()", &[(r#"{"doc":{"email":"foo&bar@bento.dev","name":"foo>bar"}}"#, "{\n    \"email\": \"foo\\u0026bar@bento.dev\",\n    \"name\": \"foo\\u003ebar\"\n}")]),
            ex("Set the `escape_html` parameter to false to disable escaping of problematic HTML characters.", "root = this.doc.format_json(escape_html: false)", &[(r#"{"doc":{"email":"foo&bar@bento.dev","name":"foo>bar"}}"#, "{\n    \"email\": \"foo&bar@bento.dev\",\n    \"name\": \"foo>bar\"\n}")]),
        ],
        imp: format_json,
    },
    MethodSpec {
        name: "parse_yaml",
        category: CAT,
        description: "Attempts to parse a string as a single YAML document and returns the result.",
        params: &[],
        examples: &[ex("", "root.doc = this.doc.parse_yaml()", &[(r#"{"doc":"foo: bar"}"#, r#"{"doc":{"foo":"bar"}}"#)])],
        imp: parse_yaml,
    },
    MethodSpec {
        name: "format_yaml",
        category: CAT,
        description: "Serializes a target value into a YAML byte array.",
        params: &[],
        examples: &[
            ex("", "root = this.doc.format_yaml()", &[(r#"{"doc":{"foo":"bar"}}"#, "foo: bar\n")]),
            ex("Use the `.string()` method in order to coerce the result into a string.", "root.doc = this.doc.format_yaml().string()", &[(r#"{"doc":{"foo":"bar"}}"#, r#"{"doc":"foo: bar\n"}"#)]),
        ],
        imp: format_yaml,
    },
    MethodSpec {
        name: "parse_csv",
        category: CAT,
        description: "Attempts to parse a string into an array of objects by following the CSV format described in RFC 4180.",
        params: &[
            opt("parse_header_row", K::Bool, D::Bool(true), "Whether to reference the first row as a header row. If set to true the output structure for messages will be an object where field keys are determined by the header row. Otherwise, the output will be an array of row arrays."),
            opt("delimiter", K::String, D::Str(","), "The delimiter to use for splitting values in each record. It must be a single character."),
            opt("lazy_quotes", K::Bool, D::Bool(false), "If set to `true`, a quote may appear in an unquoted field and a non-doubled quote may appear in a quoted field."),
        ],
        examples: &[
            ex("Parses CSV data with a header row", "root.orders = this.orders.parse_csv()", &[(r#"{"orders":"foo,bar\nfoo 1,bar 1\nfoo 2,bar 2"}"#, r#"{"orders":[{"bar":"bar 1","foo":"foo 1"},{"bar":"bar 2","foo":"foo 2"}]}"#)]),
            ex("Parses CSV data without a header row", "root.orders = this.orders.parse_csv(false)", &[(r#"{"orders":"foo 1,bar 1\nfoo 2,bar 2"}"#, r#"{"orders":[["foo 1","bar 1"],["foo 2","bar 2"]]}"#)]),
            ex("Parses CSV data delimited by dots", "root.orders = this.orders.parse_csv(delimiter:\".\")", &[(r#"{"orders":"foo.bar\nfoo 1.bar 1\nfoo 2.bar 2"}"#, r#"{"orders":[{"bar":"bar 1","foo":"foo 1"},{"bar":"bar 2","foo":"foo 2"}]}"#)]),
            ex("Parses CSV data containing a quote in an unquoted field", "root.orders = this.orders.parse_csv(lazy_quotes:true)", &[(r#"{"orders":"foo,bar\nfoo 1,bar 1\nfoo\" \"2,bar\" \"2"}"#, r#"{"orders":[{"bar":"bar 1","foo":"foo 1"},{"bar":"bar\" \"2","foo":"foo\" \"2"}]}"#)]),
        ],
        imp: parse_csv,
    },
    MethodSpec {
        name: "parse_url",
        category: CAT,
        description: "Attempts to parse a URL from a string value, returning a structured result that describes the various facets of the URL.",
        params: &[],
        examples: &[
            ex("", "root.foo_url = this.foo_url.parse_url()", &[(r#"{"foo_url":"https://warpstreamlabs.github.io/bento/docs/guides/bloblang/about"}"#, r#"{"foo_url":{"fragment":"","host":"warpstreamlabs.github.io","opaque":"","path":"/bento/docs/guides/bloblang/about","raw_fragment":"","raw_path":"","raw_query":"","scheme":"https"}}"#)]),
            ex("", "root.username = this.url.parse_url().user.name | \"unknown\"", &[
                (r#"{"url":"amqp://foo:bar@127.0.0.1:5672/"}"#, r#"{"username":"foo"}"#),
                (r#"{"url":"redis://localhost:6379"}"#, r#"{"username":"unknown"}"#),
            ]),
        ],
        imp: parse_url,
    },
    MethodSpec {
        name: "parse_form_url_encoded",
        category: CAT,
        description: "Attempts to parse a url-encoded query string (from an x-www-form-urlencoded request body) and returns a structured result.",
        params: &[],
        examples: &[ex("", "root.values = this.body.parse_form_url_encoded()", &[(r#"{"body":"noise=meow&animal=cat&fur=orange&fur=fluffy"}"#, r#"{"values":{"animal":"cat","fur":["orange","fluffy"],"noise":"meow"}}"#)])],
        imp: parse_form_url_encoded,
    },
    MethodSpec {
        name: "is_unicode",
        category: CAT,
        description: "Returns whether a byte array consists entirely of valid Unicode characters. Checks both UTF-8 encoding validity and rejects Unicode noncharacters (U+FFFE, U+FFFF, etc.) and surrogates.",
        params: &[],
        examples: &[
            ex("Invalid UTF-8 bytes return false.", "root = this.body.decode(\"base64\").is_unicode()", &[(r#"{"body":"//4A"}"#, "false")]),
            ex("Valid Unicode string returns true.", "root = this.bytes().is_unicode()", &[(r#""I'm a simple string.""#, "true")]),
            ex("Unicode non-characters return false.", "root = this.body.decode(\"base64\").is_unicode()", &[(r#"{"body":"77++"}"#, "false")]),
        ],
        imp: is_unicode,
    },
];

/// Replace any number that isn't representable exactly with its text (Go's `json.Number`
/// keeps the literal; we keep integers exact and others as floats).
fn parse_json(v: &Value, args: &[Value]) -> Result<Value, String> {
    let _use_number = arg_bool(args, 0, false)?;
    let bytes = str_or_bytes(v)?;
    let mut stream = serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>();
    match stream.next() {
        Some(Ok(parsed)) => Ok(parsed),
        Some(Err(e)) => Err(format!("failed to parse value as JSON: {e}")),
        None => Err("failed to parse value as JSON: EOF".into()),
    }
}

/// Go's `json.Marshal` HTML escaping of `<`, `>` and `&` (they only ever occur inside strings).
fn escape_json_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// The first NaN or infinite float in a value, which JSON can't represent.
fn non_finite(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) if !f.is_finite() => Some(*f),
        Value::Array(a) => a.iter().find_map(non_finite),
        Value::Object(o) => o.values().find_map(non_finite),
        _ => None,
    }
}

fn format_json(v: &Value, args: &[Value]) -> Result<Value, String> {
    if let Some(f) = non_finite(v) {
        return Err(format!(
            "json: unsupported value: {}",
            super::helpers::format_go_g(f)
        ));
    }
    let indent = arg_opt_str(args, 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "    ".into());
    let no_indent = arg_bool(args, 1, false)?;
    let escape_html = arg_bool(args, 2, true)?;
    let text = if no_indent {
        v.to_json_string()
    } else {
        v.to_json_pretty(&indent)
    };
    let text = if escape_html {
        escape_json_html(&text)
    } else {
        text
    };
    Ok(Value::Bytes(text.into_bytes()))
}

fn parse_yaml(v: &Value, _: &[Value]) -> Result<Value, String> {
    let bytes = str_or_bytes(v)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str::<Value>(&text)
        .map_err(|e| format!("failed to parse value as YAML: {e}"))
}

/// YAML text of a value, in the shape Go's `yaml.v3` writes it (4 space indentation, block
/// style, list items indented under their key).
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let json: serde_json::Value = v.into();
    let options = serde_saphyr::ser_options! {
        indent_step: 4,
        compact_list_indent: false,
        folded_wrap_chars: usize::MAX,
    };
    serde_saphyr::to_string_with_options(&json, options).map_err(|e| e.to_string())
}

fn format_yaml(v: &Value, _: &[Value]) -> Result<Value, String> {
    to_yaml(v).map(|s| Value::Bytes(s.into_bytes()))
}

fn parse_csv(v: &Value, args: &[Value]) -> Result<Value, String> {
    let header = arg_bool(args, 0, true)?;
    let delim = arg_opt_str(args, 1)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| ",".into());
    let lazy = arg_bool(args, 2, false)?;
    let mut dchars = delim.chars();
    let d = match (dchars.next(), dchars.next()) {
        (Some(c), None) if c.is_ascii() => c as u8,
        _ => return Err("delimiter value must be exactly one character".into()),
    };
    let bytes = str_or_bytes(v)?;
    if !lazy {
        check_csv_quotes(&bytes, d)?;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(d)
        .flexible(false)
        .from_reader(bytes.as_ref());
    let mut records: Vec<Vec<String>> = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths { pos, .. } => format!(
                "record on line {}: wrong number of fields",
                pos.as_ref().map_or(0, |p| p.line())
            ),
            _ => e.to_string(),
        })?;
        records.push(r.iter().map(str::to_string).collect());
    }
    if records.is_empty() {
        return Err("zero records were parsed".into());
    }
    if !header {
        return Ok(Value::Array(
            records
                .into_iter()
                .map(|r| Value::Array(r.into_iter().map(Value::String).collect()))
                .collect(),
        ));
    }
    let mut it = records.into_iter();
    let headers = it.next().unwrap_or_default();
    if headers.is_empty() {
        return Err("no headers found on first row".into());
    }
    let mut out = Vec::new();
    for (j, rec) in it.enumerate() {
        if rec.len() != headers.len() {
            return Err(format!("record on line {j}: record mismatch with headers"));
        }
        let obj: Object = headers
            .iter()
            .cloned()
            .zip(rec.into_iter().map(Value::String))
            .collect();
        out.push(Value::Object(obj));
    }
    Ok(Value::Array(out))
}

/// Go's strict (non lazy) quote rules, which the `csv` crate doesn't enforce: a quote inside
/// an unquoted field, or a quoted field's closing quote followed by anything but a delimiter or
/// a line end, is an error.
fn check_csv_quotes(data: &[u8], delim: u8) -> Result<(), String> {
    let (mut line, mut col) = (1usize, 0usize);
    let mut record_line = 1usize;
    let mut i = 0;
    let mut field_start = true;
    let fail = |record_line: usize, line: usize, col: usize, what: &str| {
        if record_line != line {
            format!(
                "record on line {record_line}; parse error on line {line}, column {col}: {what}"
            )
        } else {
            format!("parse error on line {line}, column {col}: {what}")
        }
    };
    while i < data.len() {
        let c = data[i];
        if field_start && c == b'"' {
            // Quoted field.
            i += 1;
            col += 1;
            loop {
                let Some(&q) = data.get(i) else {
                    return Err(fail(
                        record_line,
                        line,
                        col + 1,
                        "extraneous or missing \" in quoted-field",
                    ));
                };
                i += 1;
                col += 1;
                if q == b'\n' {
                    line += 1;
                    col = 0;
                } else if q == b'"' {
                    match data.get(i) {
                        Some(b'"') => {
                            i += 1;
                            col += 1;
                        }
                        None | Some(b'\n') | Some(b'\r') => break,
                        Some(&n) if n == delim => break,
                        Some(_) => {
                            return Err(fail(
                                record_line,
                                line,
                                col + 1,
                                "extraneous or missing \" in quoted-field",
                            ))
                        }
                    }
                }
            }
            field_start = false;
            continue;
        }
        i += 1;
        col += 1;
        if c == delim {
            field_start = true;
        } else if c == b'\n' {
            line += 1;
            record_line = line;
            col = 0;
            field_start = true;
        } else if c == b'"' {
            return Err(fail(record_line, line, col, "bare \" in non-quoted field"));
        } else {
            field_start = false;
        }
    }
    Ok(())
}

/// The pieces of a URL as Go's `url.Parse` splits them.
pub struct GoUrl {
    pub scheme: String,
    pub opaque: String,
    pub user: Option<(String, Option<String>)>,
    pub host: String,
    pub path: String,
    pub raw_query: String,
    pub fragment: String,
}

fn url_err(input: &str, msg: &str) -> String {
    format!("parse {}: {msg}", go_quote(input))
}

fn unescape_part(s: &str, input: &str, plus_is_space: bool) -> Result<String, String> {
    // Path and fragment unescaping keeps '+' as is.
    let prepared = if plus_is_space {
        s.to_string()
    } else {
        s.replace('+', "%2B")
    };
    go_query_unescape(&prepared).map_err(|e| url_err(input, &e))
}

/// Go's `url.Parse`, covering the common shapes (absolute, opaque and relative references).
pub fn go_parse_url(raw: &str) -> Result<GoUrl, String> {
    let (rest_all, frag) = match raw.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (raw, None),
    };
    let input = rest_all;
    if input.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f) {
        return Err(url_err(input, "net/url: invalid control character in URL"));
    }
    let fragment = match frag {
        Some(f) => unescape_part(f, raw, false)?,
        None => String::new(),
    };
    let mut rest = input;
    let mut scheme = String::new();
    for (i, c) in input.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if i > 0 && (c.is_ascii_digit() || c == '+' || c == '-' || c == '.') {
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err(url_err(input, "missing protocol scheme"));
            }
            scheme = input[..i].to_ascii_lowercase();
            rest = &input[i + 1..];
        }
        break;
    }
    let (rest, raw_query) = match rest.split_once('?') {
        Some((r, q)) => (r, q.to_string()),
        None => (rest, String::new()),
    };
    let mut url = GoUrl {
        scheme,
        opaque: String::new(),
        user: None,
        host: String::new(),
        path: String::new(),
        raw_query,
        fragment,
    };
    if !rest.starts_with('/') && !url.scheme.is_empty() {
        url.opaque = rest.to_string();
        return Ok(url);
    }
    if url.scheme.is_empty() && !rest.starts_with('/') {
        if let Some(colon) = rest.find(':') {
            if rest.find('/').is_none_or(|slash| colon < slash) {
                return Err(url_err(
                    input,
                    "first path segment in URL cannot contain colon",
                ));
            }
        }
    }
    let mut path_part = rest;
    if rest.starts_with("//") && (!url.scheme.is_empty() || !rest.starts_with("///")) {
        let after = &rest[2..];
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        path_part = p;
        let host = match authority.rfind('@') {
            Some(i) => {
                let userinfo = &authority[..i];
                let (name, pass) = match userinfo.split_once(':') {
                    Some((n, p)) => (n, Some(p)),
                    None => (userinfo, None),
                };
                let name = unescape_part(name, input, false)?;
                let pass = pass.map(|p| unescape_part(p, input, false)).transpose()?;
                url.user = Some((name, pass));
                &authority[i + 1..]
            }
            None => authority,
        };
        url.host = unescape_part(host, input, false)?;
    }
    url.path = unescape_part(path_part, input, false)?;
    Ok(url)
}

fn parse_url(v: &Value, _: &[Value]) -> Result<Value, String> {
    let s = get_str(v)?;
    let u = go_parse_url(&s)?;
    let mut o = Object::new();
    let mut put = |k: &str, v: String| {
        o.insert(k.to_string(), Value::String(v));
    };
    put("scheme", u.scheme);
    put("opaque", u.opaque);
    put("host", u.host);
    put("path", u.path);
    put("raw_path", String::new());
    put("raw_query", u.raw_query);
    put("fragment", u.fragment);
    put("raw_fragment", String::new());
    if let Some((name, pass)) = u.user {
        let mut user = Object::new();
        user.insert("name".into(), Value::String(name));
        if let Some(p) = pass {
            user.insert("password".into(), Value::String(p));
        }
        o.insert("user".into(), Value::Object(user));
    }
    Ok(Value::Object(o))
}

/// Go's `url.ParseQuery`, folding single values to strings and repeated keys to arrays.
pub fn parse_query(s: &str) -> Result<Object, String> {
    let mut out = Object::new();
    let mut first_err: Option<String> = None;
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(';') {
            first_err.get_or_insert_with(|| "invalid semicolon separator in query".into());
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = match go_query_unescape(k) {
            Ok(k) => k,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        let v = match go_query_unescape(v) {
            Ok(v) => v,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        match out.remove(&k) {
            None => {
                out.insert(k, Value::String(v));
            }
            Some(Value::Array(mut a)) => {
                a.push(Value::String(v));
                out.insert(k, Value::Array(a));
            }
            Some(prev) => {
                out.insert(k, Value::Array(vec![prev, Value::String(v)]));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn parse_form_url_encoded(v: &Value, _: &[Value]) -> Result<Value, String> {
    let s = get_str(v)?;
    parse_query(&s)
        .map(Value::Object)
        .map_err(|e| format!("failed to parse value as url-encoded data: {e}"))
}

/// Valid UTF-8 without surrogates or Unicode noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF).
fn is_unicode(v: &Value, _: &[Value]) -> Result<Value, String> {
    let bytes = get_bytes(v)?;
    let Ok(s) = std::str::from_utf8(&bytes) else {
        return Ok(Value::Bool(false));
    };
    let nonchar = |c: char| {
        let u = c as u32;
        (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
    };
    Ok(Value::Bool(!s.chars().any(nonchar)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    fn text(v: Value) -> String {
        match v {
            Value::Bytes(b) => String::from_utf8(b).unwrap(),
            other => panic!("not bytes: {other:?}"),
        }
    }

    #[test]
    fn json() {
        assert_eq!(
            format_json(
                &Value::Array(vec![Value::Float(f64::NAN)]),
                &[Value::Null, Value::Null, Value::Null]
            )
            .unwrap_err(),
            "json: unsupported value: NaN"
        );
        assert_eq!(
            parse_json(&s(r#"{"foo":"bar"}"#), &[Value::Null]).unwrap(),
            j(r#"{"foo":"bar"}"#)
        );
        assert_eq!(
            parse_json(&s("[1] trailing"), &[Value::Null]).unwrap(),
            j("[1]")
        );
        assert!(parse_json(&s("{nope"), &[Value::Null])
            .unwrap_err()
            .starts_with("failed to parse value as JSON: "));
        let d = j(r#"{"foo":"bar"}"#);
        let none = [Value::Null, Value::Null, Value::Null];
        assert_eq!(
            text(format_json(&d, &none).unwrap()),
            "{\n    \"foo\": \"bar\"\n}"
        );
        assert_eq!(
            text(format_json(&d, &[s("  "), Value::Null, Value::Null]).unwrap()),
            "{\n  \"foo\": \"bar\"\n}"
        );
        assert_eq!(
            text(format_json(&d, &[Value::Null, Value::Bool(true), Value::Null]).unwrap()),
            r#"{"foo":"bar"}"#
        );
        let h = j(r#"{"email":"foo&bar@bento.dev","name":"foo>bar"}"#);
        assert_eq!(
            text(format_json(&h, &none).unwrap()),
            "{\n    \"email\": \"foo\\u0026bar@bento.dev\",\n    \"name\": \"foo\\u003ebar\"\n}"
        );
        assert_eq!(
            text(format_json(&h, &[Value::Null, Value::Null, Value::Bool(false)]).unwrap()),
            "{\n    \"email\": \"foo&bar@bento.dev\",\n    \"name\": \"foo>bar\"\n}"
        );
    }

    #[test]
    fn yaml() {
        assert_eq!(
            parse_yaml(&s("foo: bar"), &[]).unwrap(),
            j(r#"{"foo":"bar"}"#)
        );
        assert_eq!(
            parse_yaml(&s("a: 1\nb: [1.5, true, null]"), &[]).unwrap(),
            j(r#"{"a":1,"b":[1.5,true,null]}"#)
        );
        assert_eq!(
            parse_yaml(&s("1: a\ntrue: b"), &[]).unwrap(),
            j(r#"{"1":"a","true":"b"}"#)
        );
        assert_eq!(
            parse_yaml(&s("a: |\n  x\n  y\n"), &[]).unwrap(),
            j(r#"{"a":"x\ny\n"}"#)
        );
        assert_eq!(
            parse_yaml(&s("- 1\n- ~\n- 'q'"), &[]).unwrap(),
            j(r#"[1,null,"q"]"#)
        );
        assert!(parse_yaml(&s("a: [1"), &[]).is_err());
        assert_eq!(
            text(format_yaml(&j(r#"{"foo":"bar"}"#), &[]).unwrap()),
            "foo: bar\n"
        );
        assert_eq!(
            text(format_yaml(&j(r#"{"a":{"b":[1,"x"]}}"#), &[]).unwrap()),
            "a:\n    b:\n        - 1\n        - x\n"
        );
    }

    #[test]
    fn csv() {
        let none = [Value::Null, Value::Null, Value::Null];
        assert_eq!(
            parse_csv(&s("foo,bar\nfoo 1,bar 1\nfoo 2,bar 2"), &none).unwrap(),
            j(r#"[{"bar":"bar 1","foo":"foo 1"},{"bar":"bar 2","foo":"foo 2"}]"#)
        );
        assert_eq!(
            parse_csv(
                &s("foo 1,bar 1\nfoo 2,bar 2"),
                &[Value::Bool(false), Value::Null, Value::Null]
            )
            .unwrap(),
            j(r#"[["foo 1","bar 1"],["foo 2","bar 2"]]"#)
        );
        assert_eq!(
            parse_csv(
                &s("foo.bar\nfoo 1.bar 1"),
                &[Value::Null, s("."), Value::Null]
            )
            .unwrap(),
            j(r#"[{"bar":"bar 1","foo":"foo 1"}]"#)
        );
        assert_eq!(
            parse_csv(
                &s("foo,bar\nfoo 1,bar 1\nfoo\" \"2,bar\" \"2"),
                &[Value::Null, Value::Null, Value::Bool(true)]
            )
            .unwrap(),
            j(r#"[{"bar":"bar 1","foo":"foo 1"},{"bar":"bar\" \"2","foo":"foo\" \"2"}]"#)
        );
        assert_eq!(
            parse_csv(&s("a,b\r\n\r\n1,2\r\n"), &none).unwrap(),
            j(r#"[{"a":"1","b":"2"}]"#)
        );
        assert!(parse_csv(&s(""), &none).is_err());
        assert_eq!(
            parse_csv(&s("foo,bar\nfoo 1,bar 1\nfoo\" \"2,bar\" \"2"), &none).unwrap_err(),
            "parse error on line 3, column 4: bare \" in non-quoted field"
        );
        assert_eq!(
            parse_csv(&s("a,b\n\"x\"y,1"), &none).unwrap_err(),
            "parse error on line 2, column 4: extraneous or missing \" in quoted-field"
        );
        assert_eq!(
            parse_csv(&s("a,b\n\"x,\"\"y\nz\",1"), &none).unwrap(),
            j(r#"[{"a":"x,\"y\nz","b":"1"}]"#)
        );
        assert!(parse_csv(&s("a,b\n1"), &none).is_err());
        assert!(parse_csv(&s("a"), &[Value::Null, s(",,"), Value::Null]).is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url(
                &s("https://warpstreamlabs.github.io/bento/docs/guides/bloblang/about"),
                &[]
            )
            .unwrap(),
            j(
                r#"{"fragment":"","host":"warpstreamlabs.github.io","opaque":"","path":"/bento/docs/guides/bloblang/about","raw_fragment":"","raw_path":"","raw_query":"","scheme":"https"}"#
            )
        );
        let u = parse_url(&s("amqp://foo:bar@127.0.0.1:5672/?x=1#frag"), &[]).unwrap();
        assert_eq!(
            u.as_object().unwrap()["user"],
            j(r#"{"name":"foo","password":"bar"}"#)
        );
        assert_eq!(u.as_object().unwrap()["host"], s("127.0.0.1:5672"));
        assert_eq!(u.as_object().unwrap()["raw_query"], s("x=1"));
        assert_eq!(u.as_object().unwrap()["fragment"], s("frag"));
        assert!(!parse_url(&s("redis://localhost:6379"), &[])
            .unwrap()
            .as_object()
            .unwrap()
            .contains_key("user"));
        assert_eq!(
            parse_url(&s("invalid %&# url"), &[]).unwrap_err(),
            "parse \"invalid %&\": invalid URL escape \"%&\""
        );
        assert_eq!(
            is_unicode(&Value::Bytes(vec![0xff, 0xfe, 0]), &[]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            is_unicode(&Value::Bytes(vec![0xef, 0xbf, 0xbe]), &[]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(is_unicode(&s("héllo"), &[]).unwrap(), Value::Bool(true));
        assert_eq!(
            parse_form_url_encoded(&s("a=%zz"), &[]).unwrap_err(),
            "failed to parse value as url-encoded data: invalid URL escape \"%zz\""
        );
        assert_eq!(
            parse_form_url_encoded(&s("noise=meow&animal=cat&fur=orange&fur=fluffy"), &[]).unwrap(),
            j(r#"{"animal":"cat","fur":["orange","fluffy"],"noise":"meow"}"#)
        );
    }
}
