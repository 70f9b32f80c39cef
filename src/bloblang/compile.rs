//! AST → executable tree: resolves functions and methods, checks arity and literal arguments,
//! binds lambda parameters and folds constant sub-expressions.

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use super::ast::*;
use super::builtins::{self, NFn, NMethod};
use super::error::Diagnostic;
use super::library::{self, FunctionSpec, MethodSpec, Param, ParamDefault, ParamKind};
use crate::message::Value;

pub enum Expr {
    Lit(Value),
    /// `this.a.b` (relative to the current context).
    This(Vec<String>),
    /// `root.a.b` (the document being built).
    Root(Vec<String>),
    /// A named lambda/capture parameter `name`, `depth` frames up from the innermost, then a
    /// path into it.
    Param(usize, String, Vec<String>),
    Var(String),
    MetaAll,
    Meta(String),
    Field(Box<Expr>, Vec<String>),
    Func(NFn, Vec<Expr>),
    Counter(Arc<CounterState>, Vec<Expr>),
    LibFunc(&'static FunctionSpec, Vec<Expr>),
    Method(Box<Expr>, NMethod, Vec<Expr>),
    LibMethod(Box<Expr>, &'static MethodSpec, Vec<Expr>),
    /// `target.(body)`: body evaluated with `this` = target.
    Capture(Box<Expr>, Box<Expr>),
    /// `target.(x -> body)`: body evaluated with parameter `x` = target.
    NamedCapture(Box<Expr>, Box<Expr>),
    /// A lambda passed as an argument: `x -> body` (named) or a bare query (unnamed).
    Lambda(Box<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, [Option<Box<Expr>>; 3]),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    If(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    Match(Option<Box<Expr>>, Vec<(Pattern, Expr)>),
    Array(Vec<Expr>),
    Object(Vec<(Key, Expr)>),
}

pub enum Pattern {
    Any,
    /// A literal compared by equality.
    Value(Value),
    /// A boolean query evaluated with `this` = the matched value.
    Query(Expr),
}

pub enum Key {
    Static(String),
    Dynamic(Expr),
}

#[derive(Debug)]
pub struct CounterState {
    pub value: AtomicI64,
    pub started: std::sync::atomic::AtomicBool,
}

pub enum CStmt {
    Assign {
        target: Target,
        value: Expr,
        line: usize,
    },
    If {
        branches: Vec<(Expr, Vec<CStmt>)>,
        otherwise: Option<Vec<CStmt>>,
        line: usize,
    },
}

pub type Maps = HashMap<String, Arc<Vec<CStmt>>>;

pub struct Compiler<'s> {
    pub src: &'s str,
    pub errors: Vec<Diagnostic>,
    params: Vec<String>,
    /// Whether `import`/`from` may read files (false for `bloblang()` dynamic mappings).
    pub allow_files: bool,
    /// Directory that relative imports resolve against: the process cwd for a top-level
    /// mapping, the importing file's directory inside an import.
    pub base_dir: Option<std::path::PathBuf>,
    pub maps: Maps,
}

/// Names that are valid paths at the head of a chain.
fn is_this(s: &str) -> bool {
    s == "this"
}

impl<'s> Compiler<'s> {
    pub fn new(src: &'s str) -> Self {
        Compiler {
            src,
            errors: Vec::new(),
            params: Vec::new(),
            allow_files: true,
            base_dir: None,
            maps: HashMap::new(),
        }
    }

    fn err(&mut self, span: Span, msg: impl AsRef<str>) {
        self.errors
            .push(Diagnostic::at(self.src, span.start, msg.as_ref()));
    }

    /// Errors about a call (unknown name, arguments) point just after it, as in Bento.
    fn err_after(&mut self, span: Span, msg: impl AsRef<str>) {
        self.errors
            .push(Diagnostic::at(self.src, span.end, msg.as_ref()));
    }

    fn line(&self, span: Span) -> usize {
        super::error::line_col(self.src, span.start).0
    }

    pub fn stmts(&mut self, stmts: Vec<Stmt>, in_map: bool) -> Vec<CStmt> {
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            match s {
                Stmt::Assign {
                    target,
                    value,
                    span,
                } => {
                    if in_map && matches!(target, Target::Meta(_)) {
                        self.err(span, "setting meta fields is not allowed within this block");
                        continue;
                    }
                    let value = self.expr(value);
                    out.push(CStmt::Assign {
                        target,
                        value,
                        line: self.line(span),
                    });
                }
                Stmt::If {
                    branches,
                    otherwise,
                    span,
                } => {
                    let branches = branches
                        .into_iter()
                        .map(|(c, b)| (self.expr(c), self.stmts(b, in_map)))
                        .collect();
                    let otherwise = otherwise.map(|b| self.stmts(b, in_map));
                    out.push(CStmt::If {
                        branches,
                        otherwise,
                        line: self.line(span),
                    });
                }
                Stmt::Map { name, body, span } => {
                    if in_map {
                        self.err(span, "map definitions are not allowed within this block");
                        continue;
                    }
                    if self.maps.contains_key(&name) {
                        self.err(span, format!("map name collision: {name}"));
                        continue;
                    }
                    let body = self.stmts(body, true);
                    self.maps.insert(name, Arc::new(body));
                }
                Stmt::Import { path, span } => self.import(&path, span, false, &mut out),
                Stmt::From { path, span } => self.import(&path, span, true, &mut out),
            }
        }
        out
    }

    fn import(&mut self, path: &str, span: Span, whole: bool, out: &mut Vec<CStmt>) {
        if !self.allow_files {
            self.err(span, "imports are disabled in this context");
            return;
        }
        let resolved = match &self.base_dir {
            Some(dir) if std::path::Path::new(path).is_relative() => dir.join(path),
            _ => std::path::PathBuf::from(path),
        };
        let text = match std::fs::read_to_string(&resolved) {
            Ok(t) => t,
            Err(e) => {
                let msg = match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        format!("open {path}: no such file or directory")
                    }
                    _ => format!("open {path}: {e}"),
                };
                self.err(span, msg);
                return;
            }
        };
        let ast = match super::parser::parse_mapping_ast(&text) {
            Ok(a) => a,
            Err(errs) => {
                let first = errs.first().map(|d| d.to_string()).unwrap_or_default();
                self.err(span, format!("failed to parse import '{path}': {first}"));
                return;
            }
        };
        let mut sub = Compiler::new(&text);
        sub.base_dir = resolved.parent().map(|p| p.to_path_buf());
        let stmts = sub.stmts(ast, false);
        if let Some(d) = sub.errors.first() {
            self.err(span, format!("failed to parse import '{path}': {d}"));
            return;
        }
        if whole {
            out.extend(stmts);
        } else if sub.maps.is_empty() {
            self.err(span, format!("no maps to import from '{path}'"));
            return;
        }
        let mut collisions = Vec::new();
        for (k, v) in sub.maps {
            match self.maps.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => collisions.push(e.key().clone()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        if !collisions.is_empty() {
            collisions.sort();
            self.err(
                span,
                format!(
                    "map name collisions from import '{path}': [{}]",
                    collisions.join(" ")
                ),
            );
        }
    }

    pub fn expr(&mut self, ast: Ast) -> Expr {
        let e = self.expr_inner(ast);
        fold(e)
    }

    fn expr_inner(&mut self, ast: Ast) -> Expr {
        match ast {
            Ast::Lit(v, _) => Expr::Lit(v),
            Ast::Ident(name, _) => {
                if let Some(depth) = self.params.iter().rev().position(|p| *p == name) {
                    Expr::Param(depth, name, Vec::new())
                } else if is_this(&name) {
                    Expr::This(Vec::new())
                } else if name == "root" {
                    Expr::Root(Vec::new())
                } else {
                    Expr::This(vec![name])
                }
            }
            Ast::Var(name, _) => Expr::Var(name),
            Ast::Meta(None, _) => Expr::MetaAll,
            Ast::Meta(Some(k), _) => Expr::Meta(k),
            Ast::Field { target, name, .. } => {
                let t = self.expr_inner(*target);
                match t {
                    Expr::This(mut p) => {
                        p.push(name);
                        Expr::This(p)
                    }
                    Expr::Root(mut p) => {
                        p.push(name);
                        Expr::Root(p)
                    }
                    Expr::Param(d, n, mut p) => {
                        p.push(name);
                        Expr::Param(d, n, p)
                    }
                    Expr::Field(t, mut p) => {
                        p.push(name);
                        Expr::Field(t, p)
                    }
                    other => Expr::Field(Box::new(other), vec![name]),
                }
            }
            Ast::Call { name, args, span } => self.call(name, args, span),
            Ast::Method {
                target,
                name,
                args,
                span,
            } => {
                let t = self.expr_inner(*target);
                self.method(t, name, args, span)
            }
            Ast::Capture { target, body, .. } => {
                let t = self.expr_inner(*target);
                match *body {
                    Ast::Lambda { param, body, span } => {
                        let b = self.lambda_body(param, *body, span);
                        Expr::NamedCapture(Box::new(t), Box::new(b))
                    }
                    other => {
                        let b = self.expr_inner(other);
                        Expr::Capture(Box::new(t), Box::new(b))
                    }
                }
            }
            Ast::Index { target, index, .. } => {
                let t = self.expr_inner(*target);
                let i = self.expr_inner(*index);
                Expr::Index(Box::new(t), Box::new(i))
            }
            Ast::Slice { target, parts, .. } => {
                let t = self.expr_inner(*target);
                let [a, b, c] = parts;
                let mut conv = |p: Option<Box<Ast>>| p.map(|x| Box::new(self.expr_inner(*x)));
                let parts = [conv(a), conv(b), conv(c)];
                Expr::Slice(Box::new(t), parts)
            }
            Ast::Lambda { param, body, span } => {
                // Outside of an argument list a lambda has no meaning.
                self.err(
                    span,
                    "unexpected lambda: lambdas are only allowed as arguments",
                );
                self.params.push(param);
                let b = self.expr_inner(*body);
                self.params.pop();
                Expr::Lambda(Box::new(b))
            }
            Ast::Unary(op, inner, _) => {
                let i = self.expr_inner(*inner);
                match op {
                    UnOp::Not => Expr::Not(Box::new(i)),
                    UnOp::Neg => fold(Expr::Neg(Box::new(i))),
                }
            }
            Ast::Binary(op, l, r, _) => {
                let l = self.expr_inner(*l);
                let r = self.expr_inner(*r);
                fold(Expr::Bin(op, Box::new(l), Box::new(r)))
            }
            Ast::If {
                branches,
                otherwise,
                ..
            } => {
                let branches = branches
                    .into_iter()
                    .map(|(c, v)| (self.expr_inner(c), self.expr_inner(v)))
                    .collect();
                let otherwise = otherwise.map(|o| Box::new(self.expr_inner(*o)));
                Expr::If(branches, otherwise)
            }
            Ast::Match { subject, cases, .. } => {
                let subject = subject.map(|s| Box::new(self.expr_inner(*s)));
                let cases = cases
                    .into_iter()
                    .map(|(p, v)| {
                        let pat = match p {
                            None => Pattern::Any,
                            // A literal (other than a boolean) is compared by equality.
                            Some(a) => match fold(self.expr_inner(a)) {
                                Expr::Lit(v) if !matches!(v, Value::Bool(_)) => Pattern::Value(v),
                                e => Pattern::Query(e),
                            },
                        };
                        (pat, self.expr_inner(v))
                    })
                    .collect();
                Expr::Match(subject, cases)
            }
            Ast::Array(items, _) => fold(Expr::Array(
                items.into_iter().map(|i| self.expr_inner(i)).collect(),
            )),
            Ast::Object(entries, _) => fold(Expr::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ObjKey::Static(s) => Key::Static(s),
                            ObjKey::Dynamic(a) => Key::Dynamic(self.expr_inner(a)),
                        };
                        (key, self.expr_inner(v))
                    })
                    .collect(),
            )),
        }
    }

    /// Compile an argument that may be a lambda (`x -> body`) or a plain query.
    fn lambda_arg(&mut self, a: Ast) -> Expr {
        match a {
            Ast::Lambda { param, body, span } => {
                Expr::Lambda(Box::new(self.lambda_body(param, *body, span)))
            }
            other => fold(self.expr_inner(other)),
        }
    }

    /// The body of `param -> body`, with `param` bound. Labels are checked as Bento does.
    fn lambda_body(&mut self, param: String, body: Ast, span: Span) -> Expr {
        if param == "this" || param == "root" {
            self.err(span, format!("context label `{param}` is not allowed"));
        } else if param != "_" && self.params.contains(&param) {
            self.err(
                span,
                format!("context label `{param}` would shadow a parent context"),
            );
        } else if let Ast::Lambda { param: inner, .. } = &body {
            self.err(
                span,
                format!(
                    "it would be in poor taste to capture the same context under both '{param}' and '{inner}'"
                ),
            );
        }
        self.params.push(param);
        let b = self.expr_inner(body);
        self.params.pop();
        b
    }

    /// Order arguments by parameter, fill defaults, and check literal kinds.
    fn bind_args(
        &mut self,
        what: &str,
        params: &[Param],
        args: Vec<Arg>,
        span: Span,
        lazy: bool,
    ) -> Option<Vec<Expr>> {
        let named = args.iter().any(|a| a.name.is_some());
        let positional = args.iter().any(|a| a.name.is_none());
        if named && positional {
            self.err_after(span, "cannot mix named and nameless arguments");
            return None;
        }
        let mut slots: Vec<Option<Ast>> = (0..params.len()).map(|_| None).collect();
        if named {
            for a in args {
                let n = a.name.unwrap_or_default();
                match params.iter().position(|p| p.name == n) {
                    Some(i) => slots[i] = Some(a.value),
                    None => {
                        self.err_after(span, format!("{what}: unknown parameter {n}"));
                        return None;
                    }
                }
            }
        } else {
            if args.len() > params.len() {
                self.err_after(
                    span,
                    format!(
                        "wrong number of arguments, expected {}, got {}",
                        params.len(),
                        args.len()
                    ),
                );
                return None;
            }
            for (i, a) in args.into_iter().enumerate() {
                slots[i] = Some(a.value);
            }
        }
        let mut out = Vec::with_capacity(params.len());
        for (p, slot) in params.iter().zip(slots) {
            match slot {
                Some(a) => {
                    let e = if lazy {
                        self.lambda_arg(a)
                    } else {
                        fold(self.expr_inner(a))
                    };
                    if let Expr::Lit(v) = &e {
                        if let Err(m) = check_kind(p, v) {
                            self.err_after(span, m);
                            return None;
                        }
                    }
                    out.push(e);
                }
                None => match p.default {
                    ParamDefault::Required => {
                        self.err_after(span, format!("missing parameter: {}", p.name));
                        return None;
                    }
                    ParamDefault::Optional | ParamDefault::Null => out.push(Expr::Lit(Value::Null)),
                    ParamDefault::Bool(b) => out.push(Expr::Lit(Value::Bool(b))),
                    ParamDefault::Int(i) => out.push(Expr::Lit(Value::Int(i))),
                    ParamDefault::Float(f) => out.push(Expr::Lit(Value::Float(f))),
                    ParamDefault::Str(s) => out.push(Expr::Lit(Value::String(s.to_string()))),
                },
            }
        }
        Some(out)
    }

    fn call(&mut self, name: String, args: Vec<Arg>, span: Span) -> Expr {
        if let Some(spec) = builtins::function(&name) {
            if spec.id == NFn::Counter {
                let set_given =
                    args.len() > 2 || args.iter().any(|a| a.name.as_deref() == Some("set"));
                let Some(mut a) = self.bind_args(&name, spec.params, args, span, false) else {
                    return Expr::Lit(Value::Null);
                };
                if !set_given {
                    a.truncate(2);
                }
                return Expr::Counter(
                    Arc::new(CounterState {
                        value: AtomicI64::new(0),
                        started: Default::default(),
                    }),
                    a,
                );
            }
            let Some(a) = self.bind_args(&name, spec.params, args, span, false) else {
                return Expr::Lit(Value::Null);
            };
            return Expr::Func(spec.id, a);
        }
        if let Some(spec) = lib_function(&name) {
            let Some(a) = self.bind_args(&name, spec.params, args, span, false) else {
                return Expr::Lit(Value::Null);
            };
            return Expr::LibFunc(spec, a);
        }
        // Extension: a method called as a function takes its target as the first argument.
        if is_method_name(&name) {
            let mut args = args;
            if args.is_empty() || args[0].name.is_some() {
                self.err(
                    span,
                    format!("method {name} called as a function requires its target as the first argument"),
                );
                return Expr::Lit(Value::Null);
            }
            let target = args.remove(0);
            let t = self.expr_inner(target.value);
            return self.method(t, name, args, span);
        }
        self.err_after(span, format!("unrecognised function '{name}'"));
        Expr::Lit(Value::Null)
    }

    fn method(&mut self, target: Expr, name: String, args: Vec<Arg>, span: Span) -> Expr {
        let lib = lib_method(&name);
        let native = builtins::method(&name);
        let use_native = match (native, lib) {
            (Some(n), Some(_)) => !n.prefer_library,
            (Some(_), None) => true,
            _ => false,
        };
        if use_native {
            if let Some(spec) = native {
                let Some(a) = self.bind_args(&name, spec.params, args, span, spec.lazy_args) else {
                    return Expr::Lit(Value::Null);
                };
                return Expr::Method(Box::new(target), spec.id, a);
            }
        }
        if let Some(spec) = lib {
            if spec.params.is_empty() && library::is_variadic_method(spec.name) {
                // Variadic: every argument, evaluated, positionally.
                if args.iter().any(|a| a.name.is_some()) {
                    self.err(span, format!("{name}: named arguments are not supported"));
                    return Expr::Lit(Value::Null);
                }
                let a = args
                    .into_iter()
                    .map(|a| fold(self.expr_inner(a.value)))
                    .collect();
                return Expr::LibMethod(Box::new(target), spec, a);
            }
            let Some(a) = self.bind_args(&name, spec.params, args, span, false) else {
                return Expr::Lit(Value::Null);
            };
            // A literal pattern is compiled now, as Bento compiles it: a bad one is a parse
            // error (and so a lint error), not a failure of every message.
            if spec.name.starts_with("re_") {
                if let Some(Expr::Lit(Value::String(pattern))) = a.first() {
                    if let Err(e) = regex::Regex::new(pattern) {
                        let text = e.to_string();
                        let why = text
                            .lines()
                            .find_map(|l| l.trim().strip_prefix("error: "))
                            .unwrap_or(&text);
                        self.err(
                            span,
                            format!("{name}: invalid regular expression {pattern:?}: {why}"),
                        );
                        return Expr::Lit(Value::Null);
                    }
                }
            }
            return Expr::LibMethod(Box::new(target), spec, a);
        }
        self.err_after(span, format!("unrecognised method '{name}'"));
        Expr::Lit(Value::Null)
    }
}

pub fn is_method_name(name: &str) -> bool {
    builtins::method(name).is_some() || lib_method(name).is_some()
}

type FnIndex = HashMap<&'static str, &'static FunctionSpec>;
type MethodIndex = HashMap<&'static str, &'static MethodSpec>;

/// The library's functions by name, built once.
fn lib_function(name: &str) -> Option<&'static FunctionSpec> {
    static INDEX: std::sync::OnceLock<FnIndex> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut m = HashMap::new();
            for f in library::functions() {
                m.entry(f.name).or_insert(f);
            }
            m
        })
        .get(name)
        .copied()
}

/// The library's methods by name, built once.
fn lib_method(name: &str) -> Option<&'static MethodSpec> {
    static INDEX: std::sync::OnceLock<MethodIndex> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut m = HashMap::new();
            for f in library::methods() {
                m.entry(f.name).or_insert(f);
            }
            m
        })
        .get(name)
        .copied()
}

fn check_kind(p: &Param, v: &Value) -> Result<(), String> {
    coerce_arg(p, v.clone()).map(|_| ())
}

/// Check an argument against its parameter and normalise it: whole floats become ints for int
/// parameters, bytes become strings for string parameters. Null means "not given" for
/// parameters that are not required.
pub fn coerce_arg(p: &Param, v: Value) -> Result<Value, String> {
    if v.is_null() && !matches!(p.default, ParamDefault::Required) {
        return Ok(v);
    }
    let (ok, name) = match p.kind {
        ParamKind::Any => return Ok(v),
        // Bytes stay bytes (keys, IVs): implementations read either.
        ParamKind::String => (matches!(v, Value::String(_) | Value::Bytes(_)), "string"),
        ParamKind::Int => match v {
            Value::Int(_) => return Ok(v),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() => {
                return Ok(Value::Int(f as i64))
            }
            _ => (false, "number"),
        },
        ParamKind::Float => (matches!(v, Value::Int(_) | Value::Float(_)), "number"),
        ParamKind::Bool => (matches!(v, Value::Bool(_)), "bool"),
        ParamKind::Array => (matches!(v, Value::Array(_)), "array"),
        ParamKind::Object => (matches!(v, Value::Object(_)), "object"),
    };
    if ok {
        Ok(v)
    } else {
        Err(format!(
            "field {}: {}",
            p.name,
            super::value_ops::type_error(name, &v)
        ))
    }
}

/// Constant folding: operators on literals, literal arrays/objects.
fn fold(e: Expr) -> Expr {
    match e {
        Expr::Bin(op, l, r) => match (*l, *r) {
            (Expr::Lit(a), Expr::Lit(b))
                if !matches!(op, BinOp::And | BinOp::Or | BinOp::Coalesce) =>
            {
                match super::value_ops::binary(op, &a, &b, &|| String::new(), &|| String::new()) {
                    Ok(v) => Expr::Lit(v),
                    Err(_) => Expr::Bin(op, Box::new(Expr::Lit(a)), Box::new(Expr::Lit(b))),
                }
            }
            (l, r) => Expr::Bin(op, Box::new(l), Box::new(r)),
        },
        Expr::Neg(inner) => match *inner {
            Expr::Lit(Value::Int(i)) => Expr::Lit(Value::Int(i.wrapping_neg())),
            Expr::Lit(Value::Float(f)) => Expr::Lit(Value::Float(-f)),
            other => Expr::Neg(Box::new(other)),
        },
        Expr::Array(items) if items.iter().all(|i| matches!(i, Expr::Lit(_))) => {
            Expr::Lit(Value::Array(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        Expr::Lit(v) => Some(v),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        Expr::Object(entries)
            if entries
                .iter()
                .all(|(k, v)| matches!(k, Key::Static(_)) && matches!(v, Expr::Lit(_))) =>
        {
            let mut o = std::collections::BTreeMap::new();
            for (k, v) in entries {
                if let (Key::Static(k), Expr::Lit(v)) = (k, v) {
                    o.insert(k, v);
                }
            }
            Expr::Lit(Value::Object(o))
        }
        other => other,
    }
}
