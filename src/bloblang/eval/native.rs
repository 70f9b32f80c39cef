//! The interpreter's own functions and methods, dispatched on the ids `builtins` declares with
//! their docs: they need the message, the mapping state, or their arguments unevaluated
//! (lambdas), so they cannot be entries of `library`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering as AtOrd;

use super::*;
use crate::bloblang::builtins::{NFn, NMethod};
use crate::bloblang::compile::{CStmt, CounterState, Expr, Maps};
use crate::bloblang::value_ops::{self as ops, type_error};
use crate::message::{Metadata, Value};

/// `count()`'s counters, by name, shared by every mapping of the process (as in Bento).
static COUNTS: std::sync::LazyLock<std::sync::Mutex<HashMap<String, i64>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(HashMap::new()));

pub(super) fn str_arg(v: &Value) -> Result<Cow<'_, str>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b)),
        other => Err(type_error("string", other)),
    }
}

pub(super) fn call_fn<'a>(f: NFn, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
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

pub(super) fn counter<'a>(st: &CounterState, args: &'a [Expr], ctx: &Ctx<'a>) -> Eval<'a> {
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

pub(super) fn call_method<'a>(
    t: &'a Expr,
    m: NMethod,
    args: &'a [Expr],
    ctx: &Ctx<'a>,
) -> Eval<'a> {
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
            let nested = Nested {
                stmts: body,
                maps: ctx.maps,
                meta: Cow::Borrowed(ctx.meta),
            };
            nested.run(tv, ctx, || format!("map {name}"))?
        }
        NMethod::Bloblang => {
            let src = eval(&args[0], ctx)?.into_owned().unwrap_or(Value::Null);
            let src = str_arg(&src)?;
            let mapping = dynamic_mapping(&src)?;
            let nested = Nested {
                stmts: &mapping.inner.stmts,
                maps: &mapping.inner.maps,
                meta: Cow::Owned(Metadata::new()),
            };
            // A mapping that assigns nothing gives null here, where a map gives nothing.
            match nested.run(tv, ctx, || "bloblang".to_string())? {
                R::Nothing => R::Own(Value::Null),
                r => r,
            }
        }
        NMethod::Catch | NMethod::Or | NMethod::From | NMethod::FromAll => R::Nothing,
    })
}

/// A mapping run one level deeper than the one calling it (`apply`, `bloblang()`).
struct Nested<'a, 'm> {
    stmts: &'a [CStmt],
    maps: &'a Maps,
    meta: Cow<'m, Metadata>,
}

impl Nested<'_, '_> {
    /// The document the mapping builds from `this`: deleted, nothing when it assigns no root,
    /// or the root.
    fn run(self, this: &Value, ctx: &Ctx<'_>, name: impl FnOnce() -> String) -> Eval<'static> {
        if ctx.depth >= MAX_APPLY_DEPTH {
            return Err(format!("{}: maximum recursion depth exceeded", name()));
        }
        let mut st = State::new(self.meta);
        let sub = ExecEnv {
            batch: ctx.batch,
            index: ctx.index,
            maps: self.maps,
            mutate: false,
            depth: ctx.depth + 1,
        };
        // Recursive maps (walking a tree) recurse once per level of the data: make sure there
        // is stack for it whatever thread we run on.
        stacker::maybe_grow(256 * 1024, 2 * 1024 * 1024, || {
            exec_stmts(self.stmts, &mut st, &sub, This::Value(this))
        })?;
        Ok(match (st.deleted, st.root) {
            (true, _) => R::Deleted,
            (false, Some(v)) => R::Own(v),
            (false, None) => R::Nothing,
        })
    }
}

/// Bento: `<annotation> resolved to a non-boolean value <v> (<Go type>)`.
pub(super) fn non_boolean(c: &Expr, v: &Value) -> String {
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
    static DYNAMIC: std::cell::RefCell<HashMap<String, crate::bloblang::Mapping>> =
        std::cell::RefCell::new(HashMap::new());
}

fn dynamic_mapping(src: &str) -> Result<crate::bloblang::Mapping, String> {
    if let Some(m) = DYNAMIC.with(|c| c.borrow().get(src).cloned()) {
        return Ok(m);
    }
    let m = crate::bloblang::parse_mapping_restricted(src).map_err(|e| e.single_line())?;
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
