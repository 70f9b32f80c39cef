//! The tree-walking interpreter.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering as AtOrd;
use std::sync::Mutex;

use super::ast::{BinOp, Target};
use super::builtins::{NFn, NMethod};
use super::compile::{CStmt, CounterState, Expr, Key, Maps, Pattern};
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

static COUNTS: std::sync::LazyLock<Mutex<HashMap<String, i64>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

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

fn str_arg(v: &Value) -> Result<Cow<'_, str>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b)),
        other => Err(type_error("string", other)),
    }
}

fn call_fn<'a>(f: NFn, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
    let argv = |i: usize| -> Result<Value, String> {
        match args.get(i) {
            Some(a) => Ok(need(eval(a, ctx)?, a)?.into_owned().unwrap_or(Value::Null)),
            None => Ok(Value::Null),
        }
    };
    let msg = ctx.msg();
    Ok(match f {
        NFn::Content => R::Own(Value::Bytes(
            msg.map(|m| m.bytes().to_vec()).unwrap_or_default(),
        )),
        NFn::Json => {
            let path = argv(0)?;
            let p = ops::split_dot_path(&str_arg(&path)?);
            let m = msg.ok_or("message is not available")?;
            let v = m.structured().map_err(|e| e.to_string())?;
            R::Ref(lookup(v, &p))
        }
        NFn::Metadata | NFn::Meta => {
            let key = argv(0)?;
            let key = str_arg(&key)?.into_owned();
            let meta = msg.map(|m| m.meta()).unwrap_or(empty_meta());
            if key.is_empty() {
                R::Own(Value::Object(
                    meta.iter()
                        .map(|(k, v)| {
                            let v = if f == NFn::Meta {
                                Value::String(v.to_string())
                            } else {
                                v.clone()
                            };
                            (k.to_string(), v)
                        })
                        .collect(),
                ))
            } else {
                match meta.get(key.as_str()) {
                    // The deprecated `meta()` reads values as strings; empty means absent.
                    Some(v) if f == NFn::Meta => match v.to_string() {
                        s if s.is_empty() => R::Own(Value::Null),
                        s => R::Own(Value::String(s)),
                    },
                    Some(v) => R::Own(v.clone()),
                    None => R::Own(Value::Null),
                }
            }
        }
        NFn::RootMeta => {
            let key = argv(0)?;
            let key = str_arg(&key)?.into_owned();
            if key.is_empty() {
                R::Own(Value::Object(
                    ctx.meta
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                        .collect(),
                ))
            } else {
                match ctx.meta.get(key.as_str()) {
                    Some(v) => R::Own(Value::String(v.to_string())),
                    None => R::Own(Value::Null),
                }
            }
        }
        NFn::BatchIndex => R::Own(Value::Int(ctx.index as i64)),
        NFn::BatchSize => R::Own(Value::Int(ctx.batch.len() as i64)),
        NFn::Errored => R::Own(Value::Bool(msg.and_then(|m| m.error()).is_some())),
        NFn::Error => R::Own(match msg.and_then(|m| m.error()) {
            Some(e) => Value::String(e.text.clone()),
            None => Value::Null,
        }),
        NFn::ErrorSourceLabel | NFn::ErrorSourcePath | NFn::ErrorSourceType => {
            R::Own(match msg.and_then(|m| m.error()) {
                Some(e) => Value::String(match f {
                    NFn::ErrorSourceLabel => e.label.clone(),
                    NFn::ErrorSourcePath => e.path.clone(),
                    _ => e.component.clone(),
                }),
                None => Value::Null,
            })
        }
        NFn::Deleted => R::Deleted,
        NFn::Nothing => R::Nothing,
        NFn::Throw => {
            let why = argv(0)?;
            return Err(str_arg(&why)?.into_owned());
        }
        NFn::Counter => R::Own(Value::Null),
        NFn::Count => {
            let name = argv(0)?;
            let name = str_arg(&name)?.into_owned();
            let mut m = COUNTS
                .lock()
                .map_err(|_| "counter state poisoned".to_string())?;
            let c = m.entry(name).or_insert(0);
            *c += 1;
            R::Own(Value::Int(*c))
        }
        NFn::Var => {
            let name = argv(0)?;
            let name = str_arg(&name)?;
            match ctx.vars.get(name.as_ref()) {
                Some(v) => R::Own(v.clone()),
                None => return Err(format!("variable '{name}' undefined")),
            }
        }
        NFn::TracingId => R::Own(Value::String(String::new())),
        NFn::TracingSpan => R::Own(Value::Null),
    })
}

fn counter<'a>(st: &CounterState, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
    let get = |i: usize| -> Result<Value, String> {
        match args.get(i) {
            Some(a) => Ok(eval(a, ctx)?.into_owned().unwrap_or(Value::Null)),
            None => Ok(Value::Null),
        }
    };
    let min = ops::int_of(&get(0)?).unwrap_or(1);
    let max = ops::int_of(&get(1)?).unwrap_or(i64::MAX);
    if !st.started.swap(true, AtOrd::SeqCst) {
        st.value.store(min.wrapping_sub(1), AtOrd::SeqCst);
    }
    // `set`: a number resets the counter to it, null reads it without counting, nothing counts.
    if let Some(a) = args.get(2) {
        match eval(a, ctx)? {
            R::Nothing | R::Deleted => {}
            r => match r.value() {
                Some(Value::Null) | None => {
                    return Ok(R::Own(Value::Int(st.value.load(AtOrd::SeqCst))));
                }
                Some(v) => match ops::int_of(v) {
                    Some(n) => {
                        st.value.store(n, AtOrd::SeqCst);
                        return Ok(R::Own(Value::Int(n)));
                    }
                    None => return Err(type_error("number", v)),
                },
            },
        }
    }
    let step = |c: i64| if c >= max { min } else { c + 1 };
    let prev = st
        .value
        .fetch_update(AtOrd::SeqCst, AtOrd::SeqCst, |c| Some(step(c)))
        .unwrap_or(min);
    Ok(R::Own(Value::Int(step(prev))))
}

fn truthy(r: R<'_>, q: &Expr) -> Result<bool, String> {
    match r.value() {
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ops::type_error_from("bool", v, &annotation(q))),
        None => Ok(false),
    }
}

fn call_method<'a>(t: &'a Expr, m: NMethod, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
    if matches!(
        m,
        NMethod::Catch | NMethod::Or | NMethod::From | NMethod::FromAll
    ) {
        return call_special_method(t, m, args, ctx);
    }
    let target = need(eval(t, ctx)?, t)?;
    method_body(t, target, m, args, ctx).map_err(|e| ops::annotate_error(e, &annotation(t)))
}

/// Methods that handle the target's failure or context themselves.
#[inline(never)]
fn call_special_method<'a>(t: &'a Expr, m: NMethod, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
    match m {
        NMethod::Catch => {
            match eval(t, ctx) {
                Ok(v) => Ok(v),
                // `catch(err -> ...)` binds the error message; a plain query sees the
                // unchanged context.
                Err(e) => match &args[0] {
                    Expr::Lambda(body) => {
                        let ev = Value::String(e);
                        with_param(ctx, &ev, |c| eval(body, c).map(own))
                    }
                    other => eval(other, ctx),
                },
            }
        }
        NMethod::Or => match eval(t, ctx) {
            Ok(v) if v.value().is_some_and(|x| !x.is_null()) => Ok(v),
            Ok(R::Deleted) => Ok(R::Deleted),
            _ => eval(&args[0], ctx),
        },
        NMethod::From | NMethod::FromAll => {
            let mut targets = Vec::new();
            if m == NMethod::From {
                let i = eval(&args[0], ctx)?;
                let i = i.value().and_then(ops::int_of).unwrap_or(0);
                let idx = ops::norm_index(i, ctx.batch.len().max(1))
                    .ok_or_else(|| format!("index {i} out of bounds"))?;
                targets.push(idx);
            } else {
                targets.extend(0..ctx.batch.len().max(1));
            }
            let mut out = Vec::new();
            for idx in &targets {
                let c2 = Ctx {
                    index: *idx,
                    this: match ctx.batch.get(*idx) {
                        Some(msg) => This::Message(msg),
                        None => ctx.this,
                    },
                    ..*ctx
                };
                out.push(eval(t, &c2).map(own)?);
            }
            if m == NMethod::From {
                return Ok(out.pop().unwrap_or(R::Nothing));
            }
            Ok(R::Own(Value::Array(
                out.into_iter().filter_map(|r| r.into_owned()).collect(),
            )))
        }
        _ => Ok(R::Nothing),
    }
}

#[inline(never)]
fn method_body<'a>(
    t: &'a Expr,
    target: R<'a>,
    m: NMethod,
    args: &'a [Expr],
    ctx: &Ctx<'a>,
) -> Eval<'a> {
    let tv: &Value = target.value().unwrap_or(&NULL);
    let err_t = |exp: &str| ops::type_error_from(exp, tv, &annotation(t));
    Ok(match m {
        NMethod::NotNull => {
            if tv.is_null() {
                return Err("value is null".into());
            }
            target
        }
        NMethod::NotEmpty => {
            let empty = match tv {
                Value::String(s) => s.is_empty(),
                Value::Bytes(b) => b.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Null => return Err("value is null".into()),
                _ => false,
            };
            if empty {
                return Err(format!("{} value is empty", tv.type_name()));
            }
            target
        }
        NMethod::Type => R::Own(Value::String(tv.type_name().into())),
        NMethod::String => R::Own(Value::String(match tv {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })),
        NMethod::Bytes => R::Own(Value::Bytes(match tv {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            other => other.to_json_bytes(),
        })),
        NMethod::Number => {
            let d = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let parsed = match tv {
                Value::Int(_) | Value::Float(_) => Ok(tv.clone()),
                Value::String(_) | Value::Bytes(_) => {
                    let s = str_arg(tv)?;
                    let s = s.trim();
                    s.parse::<i64>()
                        .map(Value::Int)
                        .or_else(|_| s.parse::<f64>().map(Value::Float))
                        .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
                }
                Value::Bool(b) => Ok(Value::Int(*b as i64)),
                other => Err(err_t_owned(t, "number", other)),
            };
            match parsed {
                Ok(v) => R::Own(v),
                Err(_) if !d.is_null() => R::Own(d),
                Err(e) => return Err(e),
            }
        }
        NMethod::Bool => {
            let d = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let parsed = match tv {
                Value::Bool(b) => Ok(*b),
                Value::Int(_) | Value::Float(_) => Ok(ops::num(tv) != 0.0),
                Value::String(s) => match s.as_str() {
                    "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
                    "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
                    _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
                },
                other => Err(err_t_owned(t, "bool", other)),
            };
            match parsed {
                Ok(b) => R::Own(Value::Bool(b)),
                Err(_) if !d.is_null() => R::Own(d),
                Err(e) => return Err(e),
            }
        }
        NMethod::Not => match tv {
            Value::Bool(b) => R::Own(Value::Bool(!b)),
            _ => return Err(err_t("bool")),
        },
        NMethod::Exists => {
            let p = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let path = ops::split_dot_path(&str_arg(&p)?);
            R::Own(Value::Bool(ops::get_path(tv, &path).is_some()))
        }
        NMethod::Get => {
            let p = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let path = ops::split_dot_path(&str_arg(&p)?);
            R::Own(ops::get_path(tv, &path).cloned().unwrap_or(Value::Null))
        }
        NMethod::Map => apply_query(&args[0], tv, ctx)?,
        NMethod::MapEach => match tv {
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for item in a {
                    match apply_query(&args[0], item, ctx)? {
                        R::Own(v) => out.push(v),
                        R::Ref(v) => out.push(v.clone()),
                        R::Deleted => {}
                        R::Nothing => out.push(item.clone()),
                    }
                }
                R::Own(Value::Array(out))
            }
            Value::Object(o) => {
                let mut out = BTreeMap::new();
                for (k, v) in o {
                    let ctxv = kv(k, v);
                    match apply_query(&args[0], &ctxv, ctx)? {
                        R::Own(x) => {
                            out.insert(k.clone(), x);
                        }
                        R::Ref(x) => {
                            out.insert(k.clone(), x.clone());
                        }
                        R::Deleted => {}
                        R::Nothing => {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
                R::Own(Value::Object(out))
            }
            _ => return Err(err_t("object or array")),
        },
        NMethod::MapEachKey => match tv {
            Value::Object(o) => {
                let mut out = BTreeMap::new();
                for (k, v) in o {
                    let kval = Value::String(k.clone());
                    match apply_query(&args[0], &kval, ctx)? {
                        R::Own(Value::String(nk)) => {
                            out.insert(nk, v.clone());
                        }
                        R::Nothing => {
                            out.insert(k.clone(), v.clone());
                        }
                        R::Deleted => {}
                        other => {
                            return Err(format!(
                                "unexpected result from key mapping: {}",
                                type_error("string", other.value().unwrap_or(&NULL))
                            ))
                        }
                    }
                }
                R::Own(Value::Object(out))
            }
            _ => return Err(err_t("object")),
        },
        NMethod::Filter => match tv {
            Value::Array(a) => {
                let mut out = Vec::new();
                for item in a {
                    if truthy(apply_query(&args[0], item, ctx)?, &args[0])? {
                        out.push(item.clone());
                    }
                }
                R::Own(Value::Array(out))
            }
            Value::Object(o) => {
                let mut out = BTreeMap::new();
                for (k, v) in o {
                    let ctxv = kv(k, v);
                    if truthy(apply_query(&args[0], &ctxv, ctx)?, &args[0])? {
                        out.insert(k.clone(), v.clone());
                    }
                }
                R::Own(Value::Object(out))
            }
            _ => return Err(err_t("object or array")),
        },
        NMethod::Fold => {
            let Value::Array(a) = tv else {
                return Err(err_t("array"));
            };
            let mut tally = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            for item in a {
                let mut o = BTreeMap::new();
                o.insert("tally".to_string(), tally);
                o.insert("value".to_string(), item.clone());
                let c = Value::Object(o);
                tally = apply_query(&args[1], &c, ctx)?
                    .into_owned()
                    .unwrap_or(Value::Null);
            }
            R::Own(tally)
        }
        NMethod::Sort | NMethod::SortBy => {
            let Value::Array(a) = tv else {
                return Err(err_t("array"));
            };
            let items = if m == NMethod::Sort && matches!(args[0], Expr::Lit(Value::Null)) {
                merge_sort(a.clone(), &mut |x, y| {
                    ops::sort_cmp(x, y).map(|o| o == std::cmp::Ordering::Less)
                })?
            } else if m == NMethod::Sort {
                // The comparator sees `{left, right}` and says whether left sorts first.
                merge_sort(a.clone(), &mut |x, y| {
                    let mut o = BTreeMap::new();
                    o.insert("left".to_string(), x.clone());
                    o.insert("right".to_string(), y.clone());
                    let c = Value::Object(o);
                    truthy(apply_query(&args[0], &c, ctx)?, &args[0])
                })?
            } else {
                let mut keyed = Vec::with_capacity(a.len());
                for it in a {
                    let k = apply_query(&args[0], it, ctx)?
                        .into_owned()
                        .unwrap_or(Value::Null);
                    keyed.push(Value::Array(vec![k, it.clone()]));
                }
                let key = |v: &Value| match v {
                    Value::Array(p) => p.first().cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                let sorted = merge_sort(keyed, &mut |x, y| {
                    ops::sort_cmp(&key(x), &key(y)).map(|o| o == std::cmp::Ordering::Less)
                })?;
                sorted
                    .into_iter()
                    .map(|p| match p {
                        Value::Array(mut p) if p.len() == 2 => p.pop().unwrap_or(Value::Null),
                        other => other,
                    })
                    .collect()
            };
            R::Own(Value::Array(items))
        }
        NMethod::All | NMethod::Any => {
            let Value::Array(a) = tv else {
                return Err(err_t("array"));
            };
            let want = m == NMethod::Any;
            // Both are false on an empty array, as in Bento.
            if a.is_empty() {
                return Ok(R::Own(Value::Bool(false)));
            }
            for item in a {
                if truthy(apply_query(&args[0], item, ctx)?, &args[0])? == want {
                    return Ok(R::Own(Value::Bool(want)));
                }
            }
            R::Own(Value::Bool(!want))
        }
        NMethod::FindBy | NMethod::FindAllBy => {
            let Value::Array(a) = tv else {
                return Err(err_t("array"));
            };
            let mut found = Vec::new();
            for (i, item) in a.iter().enumerate() {
                if truthy(apply_query(&args[0], item, ctx)?, &args[0])? {
                    if m == NMethod::FindBy {
                        return Ok(R::Own(Value::Int(i as i64)));
                    }
                    found.push(Value::Int(i as i64));
                }
            }
            if m == NMethod::FindBy {
                R::Own(Value::Int(-1))
            } else {
                R::Own(Value::Array(found))
            }
        }
        NMethod::SplitBy => match tv {
            Value::Array(a) => {
                let mut out = Vec::new();
                let mut cur = Vec::new();
                for item in a {
                    if truthy(apply_query(&args[0], item, ctx)?, &args[0])? {
                        out.push(Value::Array(std::mem::take(&mut cur)));
                    } else {
                        cur.push(item.clone());
                    }
                }
                out.push(Value::Array(cur));
                R::Own(Value::Array(out))
            }
            Value::String(s) => {
                let mut out = Vec::new();
                let mut cur = String::new();
                for c in s.chars() {
                    let cv = Value::String(c.to_string());
                    if truthy(apply_query(&args[0], &cv, ctx)?, &args[0])? {
                        out.push(Value::String(std::mem::take(&mut cur)));
                    } else {
                        cur.push(c);
                    }
                }
                out.push(Value::String(cur));
                R::Own(Value::Array(out))
            }
            _ => return Err(err_t("array or string")),
        },
        NMethod::Apply => {
            let name = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let name = str_arg(&name)?;
            let Some(body) = ctx.maps.get(name.as_ref()) else {
                return Err(format!("map {name} was not found"));
            };
            let mut st = State::new(Cow::Borrowed(ctx.meta));
            if ctx.depth >= MAX_APPLY_DEPTH {
                return Err(format!("map {name}: maximum recursion depth exceeded"));
            }
            let sub = ExecEnv {
                batch: ctx.batch,
                index: ctx.index,
                maps: ctx.maps,
                mutate: false,
                depth: ctx.depth + 1,
            };
            // Recursive maps (walking a tree) recurse once per level of the data: make sure
            // there is stack for it whatever thread we run on.
            stacker::maybe_grow(256 * 1024, 2 * 1024 * 1024, || {
                exec_stmts(body, &mut st, &sub, This::Value(tv))
            })?;
            if st.deleted {
                R::Deleted
            } else {
                match st.root {
                    Some(v) => R::Own(v),
                    None => R::Nothing,
                }
            }
        }
        NMethod::Bloblang => {
            let src = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let src = str_arg(&src)?;
            let mapping = dynamic_mapping(&src)?;
            let mut st = State::new(Cow::Owned(Metadata::new()));
            if ctx.depth >= MAX_APPLY_DEPTH {
                return Err("bloblang: maximum recursion depth exceeded".into());
            }
            let sub = ExecEnv {
                batch: ctx.batch,
                index: ctx.index,
                maps: &mapping.inner.maps,
                mutate: false,
                depth: ctx.depth + 1,
            };
            stacker::maybe_grow(256 * 1024, 2 * 1024 * 1024, || {
                exec_stmts(&mapping.inner.stmts, &mut st, &sub, This::Value(tv))
            })?;
            if st.deleted {
                R::Deleted
            } else {
                match st.root {
                    Some(v) => R::Own(v),
                    None => R::Own(Value::Null),
                }
            }
        }
        NMethod::Catch | NMethod::Or | NMethod::From | NMethod::FromAll => R::Nothing,
    })
}

/// Bento: `<annotation> resolved to a non-boolean value <v> (<Go type>)`.
fn non_boolean(c: &Expr, v: &Value) -> String {
    let go_type = match v {
        Value::String(_) => "string",
        Value::Bytes(_) => "[]uint8",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::Bool(_) => "bool",
        Value::Timestamp(_) => "time.Time",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "<nil>",
    };
    format!(
        "{} resolved to a non-boolean value {} ({go_type})",
        annotation(c),
        v
    )
}

thread_local! {
    /// Mappings compiled by `bloblang()`, by source text (bounded; cleared when full).
    static DYNAMIC: std::cell::RefCell<HashMap<String, super::Mapping>> =
        std::cell::RefCell::new(HashMap::new());
}

fn dynamic_mapping(src: &str) -> Result<super::Mapping, String> {
    if let Some(m) = DYNAMIC.with(|c| c.borrow().get(src).cloned()) {
        return Ok(m);
    }
    let m = super::parse_mapping_restricted(src).map_err(|e| e.single_line())?;
    DYNAMIC.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 64 {
            c.clear();
        }
        c.insert(src.to_string(), m.clone());
    });
    Ok(m)
}

/// A stable merge sort with a fallible "sorts before" comparator. Unlike `slice::sort_by` it
/// cannot panic when a user comparator is not a total order.
fn merge_sort(
    items: Vec<Value>,
    less: &mut dyn FnMut(&Value, &Value) -> Result<bool, String>,
) -> Result<Vec<Value>, String> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, less)?;
    let right = merge_sort(right, less)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        let take_right = match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => less(b, a)?,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right { r.next() } else { l.next() };
        if let Some(v) = next {
            out.push(v);
        }
    }
    Ok(out)
}

fn err_t_owned(t: &Expr, exp: &str, v: &Value) -> String {
    ops::type_error_from(exp, v, &annotation(t))
}

fn kv(k: &str, v: &Value) -> Value {
    let mut o = BTreeMap::new();
    o.insert("key".to_string(), Value::String(k.to_string()));
    o.insert("value".to_string(), v.clone());
    Value::Object(o)
}

// ------------------------------------------------------------------------------------------------
// Statements

pub struct State<'m> {
    /// The document built so far; `None` until first assigned.
    pub root: Option<Value>,
    pub deleted: bool,
    /// Output metadata: borrowed from the input until the first `meta` assignment.
    pub meta: Cow<'m, Metadata>,
    pub vars: HashMap<String, Value>,
}

impl<'m> State<'m> {
    pub fn new(meta: Cow<'m, Metadata>) -> State<'m> {
        State {
            root: None,
            deleted: false,
            meta,
            vars: HashMap::new(),
        }
    }
}

pub struct ExecEnv<'a> {
    pub batch: &'a [Message],
    pub index: usize,
    pub maps: &'a Maps,
    /// `mutation` semantics: `this` is the document being edited.
    pub mutate: bool,
    pub depth: usize,
}

pub fn exec_stmts(
    stmts: &[CStmt],
    st: &mut State<'_>,
    env: &ExecEnv<'_>,
    this: This<'_>,
) -> Result<(), String> {
    for s in stmts {
        match s {
            CStmt::Assign {
                target,
                value,
                line,
            } => {
                let result = {
                    let ctx = statement_ctx(st, env, this);
                    match eval(value, &ctx) {
                        Ok(R::Ref(v)) => Ok(Some(Some(v.clone()))),
                        Ok(R::Own(v)) => Ok(Some(Some(v))),
                        Ok(R::Deleted) => Ok(Some(None)),
                        Ok(R::Nothing) => Ok(None),
                        Err(e) => Err(format!("failed assignment (line {line}): {e}")),
                    }
                }?;
                // None = nothing (skip); Some(None) = deleted; Some(Some(v)) = value.
                let Some(result) = result else { continue };
                assign(target, result, st, env, this, *line)?;
            }
            CStmt::If {
                branches,
                otherwise,
                line,
            } => {
                let mut chosen: Option<&Vec<CStmt>> = None;
                for (c, body) in branches {
                    let b = {
                        let ctx = statement_ctx(st, env, this);
                        match eval(c, &ctx) {
                            Ok(r) => match r.value() {
                                Some(Value::Bool(b)) => Ok(*b),
                                Some(Value::Null) => Ok(false),
                                Some(v) => Err(format!(
                                    "failed assignment (line {line}): {}",
                                    non_boolean(c, v)
                                )),
                                None => Ok(false),
                            },
                            Err(e) => {
                                Err(format!("failed to check if condition (line {line}): {e}"))
                            }
                        }
                    }?;
                    if b {
                        chosen = Some(body);
                        break;
                    }
                }
                if chosen.is_none() {
                    chosen = otherwise.as_ref();
                }
                if let Some(body) = chosen {
                    exec_stmts(body, st, env, this)?;
                }
            }
        }
    }
    Ok(())
}

/// What a statement's expressions see: in a mutation `this` is the document being edited.
fn statement_ctx<'s>(st: &'s State, env: &'s ExecEnv<'_>, this: This<'s>) -> Ctx<'s> {
    let this_now = match (&st.root, env.mutate) {
        (Some(r), true) => This::Value(r),
        _ => this,
    };
    Ctx {
        this: this_now,
        root: root_view(st, env, this),
        vars: &st.vars,
        meta: &st.meta,
        batch: env.batch,
        index: env.index,
        params: None,
        maps: env.maps,
        depth: env.depth,
    }
}

/// What `root` reads as on the right-hand side: the document built so far; in a mutation the
/// input document until the first write.
fn root_view<'s>(st: &'s State, env: &ExecEnv<'_>, this: This<'s>) -> Option<&'s Value> {
    match &st.root {
        Some(r) => Some(r),
        None if env.mutate => match this {
            This::Value(v) => Some(v),
            This::Message(m) => m.structured().ok(),
        },
        None => None,
    }
}

fn assign(
    target: &Target,
    v: Option<Value>,
    st: &mut State<'_>,
    env: &ExecEnv<'_>,
    this: This<'_>,
    line: usize,
) -> Result<(), String> {
    match target {
        Target::Root(path) => {
            if path.is_empty() {
                match v {
                    Some(v) => {
                        st.root = Some(v);
                        st.deleted = false;
                    }
                    None => {
                        st.deleted = true;
                        st.root = None;
                    }
                }
                return Ok(());
            }
            if st.root.is_none() {
                // In a mutation the document starts as the input; in a mapping, empty.
                let start = if env.mutate {
                    match this {
                        This::Value(v) => v.clone(),
                        This::Message(m) => m.structured().cloned().unwrap_or(Value::Null),
                    }
                } else {
                    Value::Null
                };
                st.root = Some(start);
            }
            if let Some(root) = st.root.as_mut() {
                match v {
                    Some(v) => ops::set_path(root, path, v),
                    None => ops::delete_path(root, path),
                }
            }
            Ok(())
        }
        Target::Meta(None) => {
            match v {
                None => st.meta.to_mut().clear(),
                Some(Value::Object(o)) => {
                    st.meta = Cow::Owned(o.into_iter().map(|(k, v)| (k.into(), v)).collect());
                }
                Some(other) => {
                    return Err(format!(
                        "failed assignment (line {line}): setting root meta object requires object value, received: {}",
                        other.type_name()
                    ))
                }
            }
            Ok(())
        }
        Target::Meta(Some(k)) => {
            match v {
                None => {
                    st.meta.to_mut().remove(k.as_str());
                }
                Some(v) => {
                    st.meta.to_mut().insert(k.clone().into(), v);
                }
            }
            Ok(())
        }
        Target::Let(name) => {
            match v {
                None => {
                    st.vars.remove(name);
                }
                Some(v) => {
                    st.vars.insert(name.clone(), v);
                }
            }
            Ok(())
        }
    }
}
