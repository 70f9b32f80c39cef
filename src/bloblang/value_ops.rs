//! Value helpers shared by the interpreter: Bento's error texts, arithmetic, comparison and
//! path lookups.

use std::cmp::Ordering;

use crate::message::Value;

use super::ast::BinOp;

/// Bento's short rendering of a value inside error messages: strings quoted, others as JSON,
/// long values truncated.
pub fn describe(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        Value::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
        other => other.to_json_string(),
    };
    if s.chars().count() > 40 {
        let t: String = s.chars().take(37).collect();
        format!("{t}...")
    } else {
        s
    }
}

/// Bento's type error: `expected number value, got string ("x")`.
pub fn type_error(expected: &str, got: &Value) -> String {
    type_error_from(expected, got, "")
}

/// With the annotation of the query that produced the value:
/// `expected number value, got string from field `this.a` ("x")`.
pub fn type_error_from(expected: &str, got: &Value, from: &str) -> String {
    let mut s = format!("expected {expected} value, got {}", got.type_name());
    if !from.is_empty() {
        s.push_str(" from ");
        s.push_str(from);
    }
    match got {
        Value::String(v) => {
            s.push_str(" (\"");
            s.push_str(v);
            s.push_str("\")");
        }
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            s.push_str(&format!(" ({got})"));
        }
        _ => {}
    }
    s
}

/// Attach the annotation of a failing query to an error, Bento style: type errors get
/// ` from <annotation>` after the actual type, other errors are prefixed `<annotation>: `.
pub fn annotate_error(msg: String, from: &str) -> String {
    if from.is_empty() || msg.starts_with(from) {
        return msg;
    }
    if msg.starts_with("expected ") || msg.starts_with("unexpected value") {
        if let Some(i) = msg.find(", got ") {
            let after = i + ", got ".len();
            let rest = &msg[after..];
            if !rest.contains(" from ") {
                let word_end = rest.find(' ').map(|j| after + j).unwrap_or(msg.len());
                let mut out = String::with_capacity(msg.len() + from.len() + 6);
                out.push_str(&msg[..word_end]);
                out.push_str(" from ");
                out.push_str(from);
                out.push_str(&msg[word_end..]);
                return out;
            }
            return msg;
        }
    }
    format!("{from}: {msg}")
}

pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

pub fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "subtract",
        BinOp::Div => "divide",
        BinOp::Mul => "multiply",
        BinOp::Mod => "modulo",
        BinOp::And => "boolean and",
        BinOp::Or => "boolean or",
        BinOp::Coalesce => "coalesce",
        _ => "compare",
    }
}

fn mismatch(op: BinOp, l: &Value, la: &str, r: &Value, ra: &str) -> String {
    format!(
        "cannot {} types {} (from {}) and {} (from {})",
        op_name(op),
        l.type_name(),
        la,
        r.type_name(),
        ra
    )
}

/// Arithmetic and comparison on two evaluated operands. `la`/`ra` describe where the operands
/// came from for error messages; they are only evaluated on error.
pub fn binary(
    op: BinOp,
    l: &Value,
    r: &Value,
    la: &dyn Fn() -> String,
    ra: &dyn Fn() -> String,
) -> Result<Value, String> {
    use Value::*;
    match op {
        BinOp::Add => match (l, r) {
            (Int(a), Int(b)) => Ok(Int(a.wrapping_add(*b))),
            (Int(_) | Float(_), Int(_) | Float(_)) => Ok(Float(num(l) + num(r))),
            (String(a), String(b)) => {
                let mut s = std::string::String::with_capacity(a.len() + b.len());
                s.push_str(a);
                s.push_str(b);
                Ok(String(s))
            }
            (String(_) | Bytes(_), String(_) | Bytes(_)) => Ok(String(format!("{l}{r}"))),
            _ => Err(mismatch(op, l, &la(), r, &ra())),
        },
        BinOp::Sub | BinOp::Mul => match (l, r) {
            (Int(a), Int(b)) => Ok(Int(if op == BinOp::Sub {
                a.wrapping_sub(*b)
            } else {
                a.wrapping_mul(*b)
            })),
            (Int(_) | Float(_), Int(_) | Float(_)) => Ok(Float(if op == BinOp::Sub {
                num(l) - num(r)
            } else {
                num(l) * num(r)
            })),
            _ => Err(mismatch(op, l, &la(), r, &ra())),
        },
        BinOp::Div => match (l, r) {
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let d = num(r);
                if d == 0.0 {
                    Err(format!("{}: attempted to divide by zero", ra()))
                } else {
                    Ok(Float(num(l) / d))
                }
            }
            _ => Err(mismatch(op, l, &la(), r, &ra())),
        },
        BinOp::Mod => {
            let a = int_of(l);
            let b = int_of(r);
            match (a, b) {
                (Some(_), Some(0)) => Err(format!("{}: attempted to divide by zero", ra())),
                (Some(a), Some(b)) => Ok(Int(a.wrapping_rem(b))),
                _ => Err(mismatch(op, l, &la(), r, &ra())),
            }
        }
        BinOp::Eq => Ok(Bool(values_equal(l, r))),
        BinOp::Neq => Ok(Bool(!values_equal(l, r))),
        BinOp::Gt | BinOp::Gte | BinOp::Lt | BinOp::Lte => {
            let ord = match (l, r) {
                (Int(a), Int(b)) => a.cmp(b),
                (Int(_) | Float(_), Int(_) | Float(_)) => num(l)
                    .partial_cmp(&num(r))
                    .ok_or_else(|| mismatch(op, l, &la(), r, &ra()))?,
                (String(_) | Bytes(_), String(_) | Bytes(_)) => str_bytes(l).cmp(str_bytes(r)),
                (Timestamp(a), Timestamp(b)) => a.cmp(b),
                _ => return Err(mismatch(op, l, &la(), r, &ra())),
            };
            Ok(Bool(match op {
                BinOp::Gt => ord == Ordering::Greater,
                BinOp::Gte => ord != Ordering::Less,
                BinOp::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }))
        }
        // And/Or/Coalesce short-circuit in the interpreter.
        _ => Err(mismatch(op, l, &la(), r, &ra())),
    }
}

fn str_bytes(v: &Value) -> &[u8] {
    match v {
        Value::String(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => &[],
    }
}

pub fn num(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// An integer from an int, or a float with no fractional part.
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
        _ => None,
    }
}

/// Bento's `==`: numbers by value, bytes equal strings with the same content, timestamps by
/// instant, everything else structurally; different types are simply unequal.
pub fn values_equal(l: &Value, r: &Value) -> bool {
    l == r
}

/// Index into an array with Python-style negative indexes.
pub fn norm_index(i: i64, len: usize) -> Option<usize> {
    let len_i = len as i64;
    let j = if i < 0 { len_i + i } else { i };
    if j < 0 || j >= len_i {
        None
    } else {
        Some(j as usize)
    }
}

/// Resolve a slice `[start:end:step]` over `len` items (Python semantics).
pub fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Result<Vec<usize>, String> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err("slice step cannot be zero".into());
    }
    let n = len as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let mut out = Vec::new();
    if step > 0 {
        let s = start.map(|s| if s < 0 { s + n } else { s }).unwrap_or(0);
        let e = end.map(|e| if e < 0 { e + n } else { e }).unwrap_or(n);
        let (s, e) = (clamp(s, 0, n), clamp(e, 0, n));
        let mut i = s;
        while i < e {
            out.push(i as usize);
            match i.checked_add(step) {
                Some(n) => i = n,
                None => break,
            }
        }
    } else {
        let s = start
            .map(|s| if s < 0 { s + n } else { s })
            .unwrap_or(n - 1);
        let e = end.map(|e| if e < 0 { e + n } else { e }).unwrap_or(-1);
        let (s, e) = (clamp(s, -1, n - 1), clamp(e, -1, n - 1));
        let mut i = s;
        while i > e {
            out.push(i as usize);
            match i.checked_add(step) {
                Some(n) => i = n,
                None => break,
            }
        }
    }
    Ok(out)
}

/// Look up one path segment on a value: object key, or array index for numeric segments.
pub fn get_seg<'v>(v: &'v Value, seg: &str) -> Option<&'v Value> {
    match v {
        Value::Object(o) => o.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

/// Split a dot path as used by `get`, `exists`, `json()`: `a.b.0`, with `~1` = `.` escapes.
pub fn split_dot_path(p: &str) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    p.split('.')
        .map(|s| s.replace("~1", ".").replace("~0", "~"))
        .collect()
}

pub fn get_path<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut cur = v;
    for s in path {
        cur = get_seg(cur, s)?;
    }
    Some(cur)
}

/// Set `path` inside `target`, creating objects as needed; non-object intermediates are replaced.
pub fn set_path(target: &mut Value, path: &[String], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        *target = v;
        return;
    };
    let mut cur = target;
    for seg in parents {
        let index = match &*cur {
            Value::Array(a) => seg_index(seg, a.len()),
            _ => None,
        };
        if index.is_none() && !matches!(cur, Value::Object(_)) {
            *cur = Value::Object(Default::default());
        }
        cur = match (cur, index) {
            (Value::Array(a), Some(i)) => &mut a[i],
            (Value::Object(o), _) => {
                // The key is only copied when it is new.
                if !o.contains_key(seg.as_str()) {
                    o.insert(seg.clone(), Value::Null);
                }
                match o.get_mut(seg.as_str()) {
                    Some(next) => next,
                    None => return,
                }
            }
            _ => return,
        };
    }
    if let Value::Array(a) = cur {
        if let Some(slot) = seg_index(last, a.len()).and_then(|i| a.get_mut(i)) {
            *slot = v;
            return;
        }
    }
    if !matches!(cur, Value::Object(_)) {
        *cur = Value::Object(Default::default());
    }
    if let Value::Object(o) = cur {
        // One lookup; mappings mostly add fields, so the key's copy is rarely wasted.
        o.insert(last.clone(), v);
    }
}

/// `seg` as an index into an array of `len` elements, if it is one.
fn seg_index(seg: &str, len: usize) -> Option<usize> {
    seg.parse::<usize>().ok().filter(|i| *i < len)
}

pub fn delete_path(target: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        *target = Value::Null;
        return;
    };
    let mut cur = target;
    for seg in parents {
        let next = match cur {
            Value::Object(o) => o.get_mut(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match cur {
        Value::Object(o) => {
            o.remove(last);
        }
        Value::Array(a) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

/// Ordering used by `sort()` without a comparator: numbers, then strings; mixed types error.
pub fn sort_cmp(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            Ok(num(a).partial_cmp(&num(b)).unwrap_or(Ordering::Equal))
        }
        (Value::String(_) | Value::Bytes(_), Value::String(_) | Value::Bytes(_)) => {
            Ok(str_bytes(a).cmp(str_bytes(b)))
        }
        (Value::Timestamp(x), Value::Timestamp(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "expected number or string value, got {}",
            b.type_name()
        )),
    }
}
