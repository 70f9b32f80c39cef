//! Runs the documented examples whose mappings are simple enough to evaluate without the
//! interpreter: assignments of `this.path` followed by a chain of library methods with literal
//! arguments (positional or named), or a single library function call with literal arguments.
//! Defaults are filled the way the interpreter fills them, which also checks the declared
//! parameters.

use super::*;
use crate::message::Value;

#[derive(Debug)]
struct Call {
    name: String,
    args: Vec<(Option<String>, Value)>,
}

fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                cur.push(c);
            }
            ')' | ']' | '}' => {
                depth -= 1;
                cur.push(c);
            }
            c if c == sep && depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn literal(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Some(inner) = s
        .strip_prefix("\"\"\"")
        .and_then(|r| r.strip_suffix("\"\"\""))
    {
        return Some(Value::String(inner.to_string()));
    }
    Value::from_json_str(s).ok()
}

fn parse_args(s: &str) -> Option<Vec<(Option<String>, Value)>> {
    let mut out = Vec::new();
    for part in split_top(s, ',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let named = part.split_once(':').filter(|(n, _)| {
            n.trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match named {
            Some((n, v)) if !part.starts_with('"') => {
                out.push((Some(n.trim().to_string()), literal(v)?))
            }
            _ => out.push((None, literal(part)?)),
        }
    }
    Some(out)
}

/// `name(args)` chains separated by dots, e.g. `foo(1).bar()`.
fn parse_chain(s: &str) -> Option<Vec<Call>> {
    let mut calls = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        let open = rest.find('(')?;
        let name = rest[..open].to_string();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let mut depth = 0;
        let mut in_str = false;
        let mut end = None;
        let bytes = rest.as_bytes();
        let mut i = open;
        while i < bytes.len() {
            let c = bytes[i];
            if in_str {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    in_str = false;
                }
            } else if c == b'"' {
                in_str = true;
            } else if c == b'(' {
                depth += 1;
            } else if c == b')' {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            i += 1;
        }
        let end = end?;
        calls.push(Call {
            name,
            args: parse_args(&rest[open + 1..end])?,
        });
        rest = &rest[end + 1..];
    }
    Some(calls)
}

fn fill(params: &[Param], args: &[(Option<String>, Value)], variadic: bool) -> Option<Vec<Value>> {
    if variadic {
        return Some(args.iter().map(|(_, v)| v.clone()).collect());
    }
    let mut out: Vec<Option<Value>> = vec![None; params.len()];
    for (i, (name, v)) in args.iter().enumerate() {
        let idx = match name {
            Some(n) => params.iter().position(|p| p.name == n)?,
            None => i,
        };
        *out.get_mut(idx)? = Some(v.clone());
    }
    out.into_iter()
        .zip(params)
        .map(|(v, p)| match v {
            Some(v) => Some(v),
            None => match p.default {
                ParamDefault::Required => None,
                ParamDefault::Optional | ParamDefault::Null => Some(Value::Null),
                ParamDefault::Bool(b) => Some(Value::Bool(b)),
                ParamDefault::Int(i) => Some(Value::Int(i)),
                ParamDefault::Float(f) => Some(Value::Float(f)),
                ParamDefault::Str(s) => Some(Value::String(s.into())),
            },
        })
        .collect()
}

fn find_method(name: &str) -> Option<&'static MethodSpec> {
    methods().into_iter().find(|m| m.name == name)
}

fn find_function(name: &str) -> Option<&'static FunctionSpec> {
    functions().into_iter().find(|m| m.name == name)
}

enum Outcome {
    Skipped,
    Checked,
}

fn set_root(root: &mut Value, path: &str, v: Value) {
    if path.is_empty() {
        *root = v;
        return;
    }
    let segs: Vec<String> = path.split('.').map(str::to_string).collect();
    let mut cur = root;
    for seg in segs {
        if !matches!(cur, Value::Object(_)) {
            *cur = Value::Object(Default::default());
        }
        let Value::Object(o) = cur else { return };
        cur = o.entry(seg).or_insert(Value::Null);
    }
    *cur = v;
}

/// Split a mapping into statements: newlines inside triple-quoted strings or brackets don't end
/// a statement.
fn statements(mapping: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut in_triple = false;
    let mut in_str = false;
    let chars: Vec<char> = mapping.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !in_str && chars[i..].starts_with(&['"', '"', '"']) {
            in_triple = !in_triple;
            cur.push_str("\"\"\"");
            i += 3;
            continue;
        }
        if !in_triple {
            if in_str {
                if c == '\\' {
                    cur.push(c);
                    if let Some(n) = chars.get(i + 1) {
                        cur.push(*n);
                    }
                    i += 2;
                    continue;
                }
                if c == '"' {
                    in_str = false;
                }
            } else if c == '"' {
                in_str = true;
            } else if "([{".contains(c) {
                depth += 1;
            } else if ")]}".contains(c) {
                depth -= 1;
            } else if c == '\n' && depth == 0 {
                out.push(std::mem::take(&mut cur));
                i += 1;
                continue;
            }
        }
        cur.push(c);
        i += 1;
    }
    out.push(cur);
    out
}

fn run_example(mapping: &str, input: &str, expected: &str) -> Result<Outcome, String> {
    let input_v = Value::from_json_str(input).ok();
    let mut root = Value::Null;
    for line in statements(mapping) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((lhs, rhs)) = line.split_once(" = ") else {
            return Ok(Outcome::Skipped);
        };
        let Some(target) = lhs
            .trim()
            .strip_prefix("root")
            .map(|t| t.trim_start_matches('.'))
        else {
            return Ok(Outcome::Skipped);
        };
        let rhs = rhs.trim();
        let (mut value, chain_src) = if let Some(rest) = rhs.strip_prefix("content()") {
            (Value::Bytes(input.as_bytes().to_vec()), rest.to_string())
        } else if let Some(rest) = rhs.strip_prefix("this") {
            let Some(input_v) = &input_v else {
                return Ok(Outcome::Skipped);
            };
            // Field path: identifiers until the first segment followed by '('.
            let mut v = input_v.clone();
            let mut rest = rest;
            while let Some(r) = rest.strip_prefix('.') {
                let seg_len = r
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(r.len());
                if r[seg_len..].starts_with('(') {
                    break;
                }
                let seg = &r[..seg_len];
                v = v
                    .as_object()
                    .and_then(|o| o.get(seg))
                    .cloned()
                    .unwrap_or(Value::Null);
                rest = &r[seg_len..];
            }
            (v, rest.to_string())
        } else if let Some(calls) = parse_chain(rhs) {
            let Some(first) = calls.first() else {
                return Ok(Outcome::Skipped);
            };
            let Some(f) = find_function(&first.name) else {
                return Ok(Outcome::Skipped);
            };
            let Some(args) = fill(f.params, &first.args, false) else {
                return Err(format!("bad args for function {}", first.name));
            };
            let v = (f.imp)(&args).map_err(|e| format!("function {} failed: {e}", first.name))?;
            let open = rhs.find('(').unwrap_or(0);
            let close = rhs[open..].find(')').map_or(rhs.len(), |i| open + i + 1);
            (v, rhs[close..].to_string())
        } else {
            return Ok(Outcome::Skipped);
        };
        let Some(calls) = parse_chain(&chain_src) else {
            return Ok(Outcome::Skipped);
        };
        if calls.iter().any(|c| find_method(&c.name).is_none()) {
            return Ok(Outcome::Skipped);
        }
        for call in calls {
            let Some(m) = find_method(&call.name) else {
                return Ok(Outcome::Skipped);
            };
            let Some(args) = fill(m.params, &call.args, is_variadic_method(m.name)) else {
                return Err(format!("bad args for method {}", call.name));
            };
            value = match (m.imp)(&value, &args) {
                Ok(v) => v,
                Err(e) => return Err(format!("method {} failed: {e}", call.name)),
            };
        }
        set_root(&mut root, target, value);
    }
    let got_text = match &root {
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_json_string(),
    };
    let matches = match (Value::from_json_str(expected), &root) {
        (Ok(exp), Value::Object(_) | Value::Array(_)) => {
            exp.to_json_string() == root.to_json_string()
        }
        _ => got_text == expected,
    };
    if matches {
        Ok(Outcome::Checked)
    } else {
        Err(format!("expected {expected}, got {got_text}"))
    }
}

/// Examples that can't match here: their outputs depend on Bento's own compressor, or they
/// are checked through the interpreter.
const NOT_CHECKABLE: &[&str] = &["compress"];

#[test]
fn documented_examples() {
    let mut checked = 0;
    let mut failures = Vec::new();
    let method_examples = methods().into_iter().map(|m| (m.name, m.examples));
    let function_examples = functions().into_iter().map(|f| (f.name, f.examples));
    for (name, examples) in method_examples.chain(function_examples) {
        if NOT_CHECKABLE.contains(&name) {
            continue;
        }
        for ex in examples.iter().filter(|e| !e.skip_check) {
            for (input, output) in ex.cases {
                let expects_error = output.starts_with("Error(");
                match (run_example(ex.mapping, input, output), expects_error) {
                    (Ok(Outcome::Checked), false) | (Err(_), true) => checked += 1,
                    (Ok(Outcome::Skipped), _) => {}
                    (Ok(Outcome::Checked), true) => failures.push(format!(
                        "{name}: {} with {input}: expected an error",
                        ex.mapping
                    )),
                    (Err(e), false) => {
                        failures.push(format!("{name}: {} with {input}: {e}", ex.mapping))
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} documented examples checked");
    assert!(checked > 100, "only {checked} examples checked");
}

#[test]
fn tables_are_consistent() {
    let mut names = std::collections::HashSet::new();
    for m in methods() {
        assert!(names.insert(m.name), "duplicate method {}", m.name);
        assert!(!m.description.is_empty(), "{} lacks a description", m.name);
    }
    let mut names = std::collections::HashSet::new();
    for f in functions() {
        assert!(names.insert(f.name), "duplicate function {}", f.name);
    }
    for v in VARIADIC_METHODS {
        assert!(
            methods()
                .iter()
                .any(|m| m.name == *v && m.params.is_empty()),
            "{v}"
        );
    }
}

/// Plausible arguments: defaults where declared, otherwise a small value of the declared kind.
fn base_args(params: &[Param]) -> Vec<Value> {
    params
        .iter()
        .map(|p| match p.default {
            ParamDefault::Bool(b) => Value::Bool(b),
            ParamDefault::Int(i) => Value::Int(i),
            ParamDefault::Float(f) => Value::Float(f),
            ParamDefault::Str(s) => Value::from(s),
            ParamDefault::Null | ParamDefault::Optional => Value::Null,
            ParamDefault::Required => match p.kind {
                ParamKind::String | ParamKind::Any => Value::from("a"),
                ParamKind::Int => Value::Int(1),
                ParamKind::Float => Value::Float(1.0),
                ParamKind::Bool => Value::Bool(true),
                ParamKind::Array => Value::Array(vec![]),
                ParamKind::Object => Value::Object(Default::default()),
            },
        })
        .collect()
}

/// Every method and function is called with awkward targets and arguments: none may panic.
#[test]
fn no_panics_on_awkward_input() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let ts = chrono::DateTime::parse_from_rfc3339("2020-08-14T11:50:26.371+01:00").unwrap();
    let mut obj = crate::message::value::Object::new();
    obj.insert("a".into(), Value::Int(1));
    obj.insert("-b".into(), Value::from("x"));
    let samples = vec![
        Value::Null,
        Value::Bool(true),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(3),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(-0.5),
        Value::Float(1e300),
        Value::from(""),
        Value::from("ü€"),
        Value::from("%"),
        Value::from("%v %d %q %x %s %5.2f %"),
        Value::from("2006-01-02T15:04:05Z07:00"),
        Value::from("[1,2]"),
        Value::from("a.b.0"),
        Value::from("P1Y2M3DT4H5M6.5S"),
        Value::Bytes(vec![0xff, 0xfe, 0x00]),
        Value::Timestamp(ts),
        Value::Array(vec![]),
        Value::Array(vec![Value::Int(1), Value::from("a"), Value::Null]),
        Value::Object(Default::default()),
        Value::Object(obj),
    ];
    const SKIP: &[&str] = &[
        "compare_bcrypt",
        "compare_argon2",
        "file",
        "file_rel",
        "file_rel_json",
    ];
    let mut panics = Vec::new();
    for m in methods() {
        if SKIP.contains(&m.name) {
            continue;
        }
        let base = if is_variadic_method(m.name) {
            vec![Value::from("a"), Value::from("a")]
        } else {
            base_args(m.params)
        };
        let arity = base.len();
        for target in &samples {
            for pos in 0..arity.max(1) {
                for arg in &samples {
                    let mut args = base.clone();
                    if arity > 0 {
                        args[pos] = arg.clone();
                    }
                    if catch_unwind(AssertUnwindSafe(|| (m.imp)(target, &args))).is_err() {
                        panics.push(format!("{}({:?}) on {:?}", m.name, args, target));
                    }
                    if arity == 0 {
                        break;
                    }
                }
            }
        }
    }
    for f in functions() {
        if SKIP.contains(&f.name) {
            continue;
        }
        for pos in 0..f.params.len().max(1) {
            for arg in &samples {
                let mut args = base_args(f.params);
                if !args.is_empty() {
                    args[pos] = arg.clone();
                }
                if catch_unwind(AssertUnwindSafe(|| (f.imp)(&args))).is_err() {
                    panics.push(format!("{}({:?})", f.name, args));
                }
            }
        }
    }
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
}
