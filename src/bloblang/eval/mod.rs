//! The tree-walking interpreter: expressions here, the interpreter's own functions and methods
//! (those that need the message, the mapping state or unevaluated arguments) in `native`, and
//! statements in `exec`.

mod exec;
mod native;

pub use exec::{exec_stmts, ExecEnv, State};
use native::{call_fn, call_method, counter, non_boolean, str_arg};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::ast::BinOp;
use super::builtins::{NFn, NMethod};
use super::compile::{Expr, Key, Maps, Pattern};
use super::value_ops::{self as ops, type_error};
use crate::message::{Message, Metadata, Value};

/// The result of evaluating an expression: a borrowed or owned value, or one of the markers.
pub enum R<'a> {
    Ref(&'a Value),
    Own(Value),
    Deleted,
    Nothing,
}

impl<'a> R<'a> {
    pub fn value(&self) -> Option<&Value> {
        match self {
            R::Ref(v) => Some(v),
            R::Own(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_owned(self) -> Option<Value> {
        match self {
            R::Ref(v) => Some(v.clone()),
            R::Own(v) => Some(v),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            R::Ref(v) => v.type_name(),
            R::Own(v) => v.type_name(),
            R::Deleted => "delete",
            R::Nothing => "nothing",
        }
    }
}

pub type Eval<'a> = Result<R<'a>, String>;

/// Where `this` comes from.
#[derive(Clone, Copy)]
pub enum This<'a> {
    Value(&'a Value),
    /// The message's structured payload, parsed on first use.
    Message(&'a Message),
}

pub struct Frame<'a> {
    pub value: &'a Value,
    pub parent: Option<&'a Frame<'a>>,
}

#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub this: This<'a>,
    pub root: Option<&'a Value>,
    pub vars: &'a HashMap<String, Value>,
    pub meta: &'a Metadata,
    pub batch: &'a [Message],
    pub index: usize,
    pub params: Option<&'a Frame<'a>>,
    pub maps: &'a Maps,
    /// Nesting of `apply`/`bloblang` calls, bounded so that recursive maps fail cleanly.
    pub depth: usize,
}

/// Deepest nesting of `apply` and `bloblang()` calls.
const MAX_APPLY_DEPTH: usize = 128;

static EMPTY_META: std::sync::LazyLock<Metadata> = std::sync::LazyLock::new(Metadata::new);
static NULL: Value = Value::Null;

impl<'a> Ctx<'a> {
    fn this(&self) -> Result<&'a Value, String> {
        match self.this {
            This::Value(v) => Ok(v),
            This::Message(m) => m.structured().map_err(|e| {
                format!("unable to reference message as structured (with 'this'): {e}")
            }),
        }
    }

    fn msg(&self) -> Option<&'a Message> {
        self.batch.get(self.index)
    }

    fn with_this<'b>(&self, v: &'b Value) -> Ctx<'b>
    where
        'a: 'b,
    {
        Ctx {
            this: This::Value(v),
            ..*self
        }
    }
}

pub fn empty_meta() -> &'static Metadata {
    &EMPTY_META
}

/// Where an error came from, for Bento-style messages ("field `this.foo`").
pub fn annotation(e: &Expr) -> String {
    match e {
        Expr::Lit(v) => match v {
            Value::Int(_) | Value::Float(_) => "number literal".into(),
            Value::String(_) => "string literal".into(),
            Value::Bool(_) => "bool literal".into(),
            Value::Null => "null literal".into(),
            Value::Array(_) => "array literal".into(),
            Value::Object(_) => "object literal".into(),
            _ => "literal".into(),
        },
        Expr::This(p) => {
            if p.is_empty() {
                "field `this`".into()
            } else {
                format!("field `this.{}`", p.join("."))
            }
        }
        Expr::Root(p) => {
            if p.is_empty() {
                "field `root`".into()
            } else {
                format!("field `root.{}`", p.join("."))
            }
        }
        Expr::Param(_, n, p) => {
            if p.is_empty() {
                format!("field `{n}`")
            } else {
                format!("field `{n}.{}`", p.join("."))
            }
        }
        Expr::Var(n) => format!("variable {n}"),
        Expr::MetaAll => "meta object".into(),
        Expr::Meta(k) => format!("meta field {k}"),
        Expr::Field(t, p) => format!("field `{}.{}`", short(t), p.join(".")),
        Expr::Func(f, _) => format!("function {}", fn_name(*f)),
        Expr::Counter(..) => "function counter".into(),
        Expr::LibFunc(s, _) => format!("function {}", s.name),
        Expr::Method(_, m, _) => format!("method {}", meth_name(*m)),
        Expr::LibMethod(_, s, _) => format!("method {}", s.name),
        Expr::Bin(op, _, _) => format!("{} expression", ops::op_name(*op)),
        _ => "expression".into(),
    }
}

fn short(e: &Expr) -> String {
    match e {
        Expr::Func(f, _) => format!("{}()", fn_name(*f)),
        Expr::LibFunc(s, _) => format!("{}()", s.name),
        Expr::Method(_, m, _) => format!("{}()", meth_name(*m)),
        Expr::LibMethod(_, s, _) => format!("{}()", s.name),
        _ => annotation(e),
    }
}

fn fn_name(f: NFn) -> &'static str {
    super::builtins::FUNCTIONS
        .iter()
        .find(|s| s.id == f)
        .map(|s| s.name)
        .unwrap_or("unknown")
}

fn meth_name(m: NMethod) -> &'static str {
    super::builtins::METHODS
        .iter()
        .find(|s| s.id == m)
        .map(|s| s.name)
        .unwrap_or("unknown")
}

fn lookup<'v>(mut v: &'v Value, path: &[String]) -> &'v Value {
    for s in path {
        match ops::get_seg(v, s) {
            Some(n) => v = n,
            None => return &NULL,
        }
    }
    v
}

fn lookup_owned(v: Value, path: &[String]) -> Value {
    if path.is_empty() {
        return v;
    }
    let mut cur = v;
    for s in path {
        cur = match cur {
            Value::Object(mut o) => o.remove(s.as_str()).unwrap_or(Value::Null),
            Value::Array(mut a) => match s.parse::<usize>() {
                Ok(i) if i < a.len() => a.swap_remove(i),
                _ => Value::Null,
            },
            _ => Value::Null,
        };
    }
    cur
}

/// Evaluate a value that must be a concrete value (not deleted/nothing).
fn need<'a>(r: R<'a>, e: &Expr) -> Result<R<'a>, String> {
    match r {
        R::Deleted | R::Nothing => Err(format!(
            "{}: expected value, got {}",
            annotation(e),
            r.type_name()
        )),
        other => Ok(other),
    }
}

/// Evaluate an expression. The common, recursive cases are handled here with a small stack
/// frame; the rest go to `eval_other`, so deep method chains and operator trees stay cheap.
pub fn eval<'a>(e: &'a Expr, ctx: &Ctx<'a>) -> Eval<'a> {
    match e {
        Expr::Lit(v) => Ok(R::Ref(v)),
        Expr::This(p) => {
            let t = ctx.this()?;
            Ok(R::Ref(lookup(t, p)))
        }
        Expr::Method(t, m, args) => call_method(t, *m, args, ctx),
        Expr::Bin(op, l, r) => binop(*op, l, r, ctx),
        Expr::Not(i) => eval_not(i, ctx),
        Expr::Field(t, p) => eval_field(t, p, ctx),
        _ => eval_other(e, ctx),
    }
}

fn eval_not<'a>(i: &'a Expr, ctx: &Ctx<'a>) -> Eval<'a> {
    let r = need(eval(i, ctx)?, i)?;
    match r.value() {
        Some(Value::Bool(b)) => Ok(R::Own(Value::Bool(!b))),
        Some(v) => Err(ops::type_error_from("bool", v, &annotation(i))),
        None => Err("expected bool value".into()),
    }
}

fn eval_field<'a>(t: &'a Expr, p: &'a [String], ctx: &Ctx<'a>) -> Eval<'a> {
    let r = need(eval(t, ctx)?, t)?;
    Ok(match r {
        R::Ref(v) => R::Ref(lookup(v, p)),
        R::Own(v) => R::Own(lookup_owned(v, p)),
        other => other,
    })
}

#[inline(never)]
fn eval_other<'a>(e: &'a Expr, ctx: &Ctx<'a>) -> Eval<'a> {
    match e {
        Expr::Lit(v) => Ok(R::Ref(v)),
        Expr::This(p) => {
            let t = ctx.this()?;
            Ok(R::Ref(lookup(t, p)))
        }
        Expr::Root(p) => match ctx.root {
            Some(r) => Ok(R::Ref(lookup(r, p))),
            None => Ok(R::Ref(&NULL)),
        },
        Expr::Param(depth, _, p) => {
            let mut f = ctx.params;
            for _ in 0..*depth {
                f = f.and_then(|x| x.parent);
            }
            match f {
                Some(fr) => Ok(R::Ref(lookup(fr.value, p))),
                None => Err("lambda parameter is not bound".into()),
            }
        }
        Expr::Var(n) => match ctx.vars.get(n) {
            Some(v) => Ok(R::Ref(v)),
            None => Err(format!("variable '{n}' undefined")),
        },
        Expr::MetaAll => Ok(R::Own(Value::Object(
            ctx.meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ))),
        Expr::Meta(k) => Ok(match ctx.meta.get(k.as_str()) {
            Some(v) => R::Ref(v),
            None => R::Ref(&NULL),
        }),
        Expr::Field(t, p) => {
            let r = need(eval(t, ctx)?, t)?;
            Ok(match r {
                R::Ref(v) => R::Ref(lookup(v, p)),
                R::Own(v) => R::Own(lookup_owned(v, p)),
                other => other,
            })
        }
        Expr::Func(f, args) => call_fn(*f, args, ctx),
        Expr::Counter(st, args) => counter(st, args, ctx),
        Expr::LibFunc(spec, args) => {
            let vals = coerce_args(spec.params, eval_args(args, ctx)?)
                .map_err(|e| format!("function {}: {e}", spec.name))?;
            (spec.imp)(&vals).map(R::Own).map_err(|m| m.to_string())
        }
        Expr::Method(t, m, args) => call_method(t, *m, args, ctx),
        Expr::LibMethod(t, spec, args) => {
            let target = need(eval(t, ctx)?, t)?;
            let raw = if spec.name == "set" && args.len() == 2 {
                // `set(path, deleted())` removes the path: the marker cannot reach the library.
                let p = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
                match eval(&args[1], ctx)? {
                    R::Deleted => {
                        let path = ops::split_dot_path(&str_arg(&p)?);
                        let mut v = target.into_owned().unwrap_or(Value::Null);
                        ops::delete_path(&mut v, &path);
                        return Ok(R::Own(v));
                    }
                    R::Nothing => {
                        return Err(format!(
                            "{}: expected value, got nothing",
                            annotation(&args[1])
                        ))
                    }
                    v => vec![p, v.into_owned().unwrap_or(Value::Null)],
                }
            } else {
                eval_args(args, ctx)?
            };
            let vals =
                coerce_args(spec.params, raw).map_err(|e| format!("method {}: {e}", spec.name))?;
            let tv = target.value().unwrap_or(&NULL);
            (spec.imp)(tv, &vals)
                .map(R::Own)
                .map_err(|m| ops::annotate_error(m, &annotation(t)))
        }
        Expr::Capture(t, body) => {
            let target = need(eval(t, ctx)?, t)?;
            let v = match target {
                R::Ref(v) => Cow::Borrowed(v),
                R::Own(v) => Cow::Owned(v),
                _ => Cow::Owned(Value::Null),
            };
            let c2 = ctx.with_this(&v);
            let r = eval(body, &c2)?;
            Ok(detach(r, &v, ctx))
        }
        Expr::NamedCapture(t, body) => {
            let target = need(eval(t, ctx)?, t)?;
            let v = target.into_owned().unwrap_or(Value::Null);
            let r = with_param(ctx, &v, |c| eval(body, c).map(own))?;
            Ok(r)
        }
        Expr::Lambda(body) => eval(body, ctx),
        Expr::Index(t, i) => {
            let target = need(eval(t, ctx)?, t)?;
            let idx = need(eval(i, ctx)?, i)?;
            index(target, idx.value().unwrap_or(&NULL), t)
        }
        Expr::Slice(t, parts) => {
            let target = need(eval(t, ctx)?, t)?;
            let mut bounds = [None, None, None];
            for (i, p) in parts.iter().enumerate() {
                if let Some(p) = p {
                    let v = eval(p, ctx)?;
                    match v.value() {
                        Some(Value::Null) | None => {}
                        Some(v) => match ops::int_of(v) {
                            Some(n) => bounds[i] = Some(n),
                            None => return Err(type_error("integer", v)),
                        },
                    }
                }
            }
            slice(target.value().unwrap_or(&NULL), bounds, t)
        }
        Expr::Not(i) => {
            let r = need(eval(i, ctx)?, i)?;
            match r.value() {
                Some(Value::Bool(b)) => Ok(R::Own(Value::Bool(!b))),
                Some(v) => Err(ops::type_error_from("bool", v, &annotation(i))),
                None => Err("expected bool value".into()),
            }
        }
        Expr::Neg(i) => {
            let r = need(eval(i, ctx)?, i)?;
            match r.value() {
                Some(Value::Int(n)) => Ok(R::Own(Value::Int(n.wrapping_neg()))),
                Some(Value::Float(f)) => Ok(R::Own(Value::Float(-f))),
                Some(v) => Err(format!(
                    "cannot subtract types number (from number literal) and {} (from {})",
                    v.type_name(),
                    annotation(i)
                )),
                None => Err("expected number value".into()),
            }
        }
        Expr::Bin(op, l, r) => binop(*op, l, r, ctx),
        Expr::If(branches, otherwise) => {
            for (i, (c, v)) in branches.iter().enumerate() {
                let cv = eval(c, ctx).map_err(|e| {
                    if i == 0 {
                        format!("failed to check if condition: {e}")
                    } else {
                        format!("failed to check if condition {i}: {e}")
                    }
                })?;
                match cv.value() {
                    Some(Value::Bool(true)) => return eval(v, ctx),
                    // Null is an honorary false, as in Bento.
                    Some(Value::Bool(false)) | Some(Value::Null) | None => {}
                    Some(other) => return Err(non_boolean(c, other)),
                }
            }
            match otherwise {
                Some(o) => eval(o, ctx),
                None => Ok(R::Nothing),
            }
        }
        Expr::Match(subject, cases) => {
            // Cases and results see `this` = the subject (or the current `this`).
            let subj_val: Cow<Value> = match subject {
                Some(s) => match need(eval(s, ctx)?, s)? {
                    R::Ref(v) => Cow::Borrowed(v),
                    R::Own(v) => Cow::Owned(v),
                    _ => Cow::Owned(Value::Null),
                },
                None => match ctx.this() {
                    Ok(v) => Cow::Borrowed(v),
                    Err(_) => Cow::Owned(Value::Null),
                },
            };
            let c2 = ctx.with_this(&subj_val);
            for (i, (pat, val)) in cases.iter().enumerate() {
                let hit = match pat {
                    Pattern::Any => true,
                    Pattern::Value(v) => *subj_val == *v,
                    Pattern::Query(q) => {
                        let c_eval = if subject.is_some() { &c2 } else { ctx };
                        match eval(q, c_eval) {
                            Ok(r) => matches!(r.value(), Some(Value::Bool(true))),
                            Err(e) => return Err(format!("failed to check match case {i}: {e}")),
                        }
                    }
                };
                if hit {
                    return if subject.is_some() {
                        Ok(own(eval(val, &c2)?))
                    } else {
                        eval(val, ctx)
                    };
                }
            }
            Ok(R::Nothing)
        }
        Expr::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match eval(i, ctx)? {
                    R::Ref(v) => out.push(v.clone()),
                    R::Own(v) => out.push(v),
                    R::Deleted | R::Nothing => {}
                }
            }
            Ok(R::Own(Value::Array(out)))
        }
        Expr::Object(entries) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = match k {
                    Key::Static(s) => s.clone(),
                    Key::Dynamic(ke) => match need(eval(ke, ctx)?, ke)?.value() {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                        Some(other) => {
                            return Err(ops::type_error_from("string", other, &annotation(ke)))
                        }
                        None => String::new(),
                    },
                };
                match eval(v, ctx)? {
                    R::Ref(x) => {
                        out.insert(key, x.clone());
                    }
                    R::Own(x) => {
                        out.insert(key, x);
                    }
                    R::Deleted | R::Nothing => {}
                }
            }
            Ok(R::Own(Value::Object(out)))
        }
    }
}

/// A result borrowed from a temporary `this` must be copied out before the temporary dies.
fn detach<'a>(r: R<'_>, _tmp: &Value, _ctx: &Ctx<'a>) -> R<'a> {
    own(r)
}

fn own<'x, 'y>(r: R<'x>) -> R<'y> {
    match r {
        R::Ref(v) => R::Own(v.clone()),
        R::Own(v) => R::Own(v),
        R::Deleted => R::Deleted,
        R::Nothing => R::Nothing,
    }
}

fn with_param<'a, T>(ctx: &Ctx<'a>, v: &Value, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
    let frame = Frame {
        value: v,
        parent: ctx.params,
    };
    let c2 = Ctx {
        params: Some(&frame),
        ..*ctx
    };
    f(&c2)
}

/// Run a query argument against `v`: a named lambda binds its parameter, a plain query rebinds
/// `this`. The result is owned.
pub fn apply_query(q: &Expr, v: &Value, ctx: &Ctx<'_>) -> Result<R<'static>, String> {
    match q {
        Expr::Lambda(body) => with_param(ctx, v, |c| eval(body, c).map(own)),
        other => {
            let c2 = ctx.with_this(v);
            eval(other, &c2).map(own)
        }
    }
}

fn eval_args(args: &[Expr], ctx: &Ctx<'_>) -> Result<Vec<Value>, String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match eval(a, ctx)? {
            R::Ref(v) => out.push(v.clone()),
            R::Own(v) => out.push(v),
            r => {
                return Err(format!(
                    "{}: expected value, got {}",
                    annotation(a),
                    r.type_name()
                ))
            }
        }
    }
    Ok(out)
}

fn coerce_args(params: &[super::library::Param], vals: Vec<Value>) -> Result<Vec<Value>, String> {
    if params.is_empty() {
        return Ok(vals);
    }
    vals.into_iter()
        .zip(params)
        .map(|(v, p)| super::compile::coerce_arg(p, v))
        .collect()
}

fn binop<'a>(op: BinOp, l: &'a Expr, r: &'a Expr, ctx: &Ctx<'a>) -> Eval<'a> {
    match op {
        BinOp::Coalesce => match eval(l, ctx) {
            Ok(v) if !matches!(v.value(), Some(Value::Null)) && v.value().is_some() => Ok(v),
            _ => eval(r, ctx),
        },
        BinOp::And | BinOp::Or => {
            let lv = need(eval(l, ctx)?, l)?;
            let lb = match lv.value() {
                Some(Value::Bool(b)) => *b,
                Some(v) => return Err(ops::type_error_from("bool", v, &annotation(l))),
                None => false,
            };
            if op == BinOp::And && !lb {
                return Ok(R::Own(Value::Bool(false)));
            }
            if op == BinOp::Or && lb {
                return Ok(R::Own(Value::Bool(true)));
            }
            let rv = need(eval(r, ctx)?, r)?;
            match rv.value() {
                Some(Value::Bool(b)) => Ok(R::Own(Value::Bool(*b))),
                Some(v) => Err(ops::type_error_from("bool", v, &annotation(r))),
                None => Ok(R::Own(Value::Bool(false))),
            }
        }
        _ => {
            let lv = need(eval(l, ctx)?, l)?;
            let rv = need(eval(r, ctx)?, r)?;
            let a = lv.value().unwrap_or(&NULL);
            let b = rv.value().unwrap_or(&NULL);
            ops::binary(op, a, b, &|| annotation(l), &|| annotation(r)).map(R::Own)
        }
    }
}

fn index<'a>(target: R<'a>, idx: &Value, t: &Expr) -> Eval<'a> {
    let Some(i) = ops::int_of(idx) else {
        // A string index on an object is a field lookup.
        if let (Some(Value::Object(_)), Value::String(k)) = (target.value(), idx) {
            return Ok(match target {
                R::Ref(v) => R::Ref(lookup(v, std::slice::from_ref(k))),
                R::Own(v) => R::Own(lookup_owned(v, std::slice::from_ref(k))),
                o => o,
            });
        }
        return Err(type_error("integer", idx));
    };
    match target {
        R::Ref(Value::Array(a)) => Ok(match ops::norm_index(i, a.len()) {
            Some(j) => R::Ref(&a[j]),
            None => R::Ref(&NULL),
        }),
        R::Own(Value::Array(mut a)) => Ok(match ops::norm_index(i, a.len()) {
            Some(j) => R::Own(a.swap_remove(j)),
            None => R::Own(Value::Null),
        }),
        other => {
            let v = other.value().unwrap_or(&NULL);
            match v {
                Value::String(s) => {
                    let b = s.as_bytes();
                    match ops::norm_index(i, b.len()) {
                        Some(j) => Ok(R::Own(Value::Int(b[j] as i64))),
                        None => Err(format!("index {i} out of bounds")),
                    }
                }
                Value::Bytes(b) => match ops::norm_index(i, b.len()) {
                    Some(j) => Ok(R::Own(Value::Int(b[j] as i64))),
                    None => Err(format!("index {i} out of bounds")),
                },
                other => Err(ops::type_error_from(
                    "array, string or bytes",
                    other,
                    &annotation(t),
                )),
            }
        }
    }
}

fn slice<'a>(v: &Value, b: [Option<i64>; 3], t: &Expr) -> Eval<'a> {
    match v {
        Value::Array(a) => {
            let idx = ops::slice_indices(a.len(), b[0], b[1], b[2])?;
            Ok(R::Own(Value::Array(
                idx.into_iter().map(|i| a[i].clone()).collect(),
            )))
        }
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let idx = ops::slice_indices(chars.len(), b[0], b[1], b[2])?;
            Ok(R::Own(Value::String(
                idx.into_iter().map(|i| chars[i]).collect(),
            )))
        }
        Value::Bytes(by) => {
            let idx = ops::slice_indices(by.len(), b[0], b[1], b[2])?;
            Ok(R::Own(Value::Bytes(
                idx.into_iter().map(|i| by[i]).collect(),
            )))
        }
        other => Err(ops::type_error_from(
            "array, string or bytes",
            other,
            &annotation(t),
        )),
    }
}
