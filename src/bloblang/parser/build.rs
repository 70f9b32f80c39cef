//! Builds the AST from pest's parse tree.

use pest::iterators::Pair;

use super::Rule;
use crate::bloblang::ast::*;
use crate::bloblang::error::Diagnostic;
use crate::message::Value;

pub(super) fn span_of(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span {
        start: s.start(),
        end: s.end(),
    }
}

pub(super) struct Builder<'s> {
    src: &'s str,
    pub(super) errors: Vec<Diagnostic>,
}

impl<'s> Builder<'s> {
    pub(super) fn new(src: &'s str) -> Self {
        Builder {
            src,
            errors: Vec::new(),
        }
    }

    pub(super) fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.errors
            .push(Diagnostic::at(self.src, span.start, &msg.into()));
    }

    fn name_of(&mut self, p: Pair<Rule>) -> String {
        match p.as_rule() {
            Rule::quoted_name => match p.into_inner().next() {
                Some(s) => self.string(s),
                None => String::new(),
            },
            Rule::string_lit | Rule::triple_string => self.string(p),
            _ => p.as_str().to_string(),
        }
    }

    fn string(&mut self, p: Pair<Rule>) -> String {
        let s = p.as_str();
        if p.as_rule() == Rule::triple_string {
            return s[3..s.len() - 3].to_string();
        }
        match unquote(s) {
            Ok(v) => v,
            Err(e) => {
                let span = span_of(&p);
                self.err(span, e);
                String::new()
            }
        }
    }

    fn stmts(&mut self, p: Pair<Rule>) -> Vec<Stmt> {
        p.into_inner().filter_map(|s| self.stmt(s)).collect()
    }

    pub(super) fn stmt(&mut self, p: Pair<Rule>) -> Option<Stmt> {
        let span = span_of(&p);
        let rule = p.as_rule();
        let mut inner = p.into_inner().filter(|q| q.as_rule() != Rule::assign_op);
        match rule {
            Rule::import_stmt | Rule::from_stmt => {
                inner.next();
                let path = inner.next().map(|s| self.string(s)).unwrap_or_default();
                Some(if rule == Rule::import_stmt {
                    Stmt::Import { path, span }
                } else {
                    Stmt::From { path, span }
                })
            }
            Rule::map_stmt => {
                inner.next();
                let name = inner.next().map(|n| self.name_of(n)).unwrap_or_default();
                let body = inner.next().map(|b| self.stmts(b)).unwrap_or_default();
                Some(Stmt::Map { name, body, span })
            }
            Rule::let_stmt => {
                inner.next();
                let name = inner.next().map(|n| self.name_of(n)).unwrap_or_default();
                let value = self.expr_opt(inner.next(), span);
                Some(Stmt::Assign {
                    target: Target::Let(name),
                    value,
                    span,
                })
            }
            Rule::meta_stmt => {
                inner.next();
                let mut key = None;
                let mut value = None;
                for q in inner {
                    if q.as_rule() == Rule::expr {
                        value = Some(self.expr(q));
                    } else {
                        key = Some(self.name_of(q));
                    }
                }
                Some(Stmt::Assign {
                    target: Target::Meta(key),
                    value: value.unwrap_or(Ast::Lit(Value::Null, span)),
                    span,
                })
            }
            Rule::at_meta_stmt => {
                let target = inner.next();
                let key = target.and_then(|t| t.into_inner().next().map(|n| self.name_of(n)));
                let value = self.expr_opt(inner.next(), span);
                Some(Stmt::Assign {
                    target: Target::Meta(key),
                    value,
                    span,
                })
            }
            Rule::assign_stmt => {
                let mut path = Vec::new();
                if let Some(t) = inner.next() {
                    for seg in t.into_inner() {
                        path.push(self.name_of(seg));
                    }
                }
                // `root.x`/`this.x` are written `x`; a quoted "root" segment is a field.
                if matches!(
                    path.first().map(String::as_str),
                    Some("root") | Some("this")
                ) {
                    path.remove(0);
                }
                let value = self.expr_opt(inner.next(), span);
                Some(Stmt::Assign {
                    target: Target::Root(path),
                    value,
                    span,
                })
            }
            Rule::if_stmt => {
                let mut branches = Vec::new();
                let mut otherwise = None;
                let mut cond: Option<Ast> = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::expr => cond = Some(self.expr(q)),
                        Rule::block => {
                            let body = self.stmts(q);
                            match cond.take() {
                                Some(c) => branches.push((c, body)),
                                None => otherwise = Some(body),
                            }
                        }
                        _ => {}
                    }
                }
                Some(Stmt::If {
                    branches,
                    otherwise,
                    span,
                })
            }
            _ => None,
        }
    }

    fn expr_opt(&mut self, p: Option<Pair<Rule>>, span: Span) -> Ast {
        match p {
            Some(p) => self.expr(p),
            None => Ast::Lit(Value::Null, span),
        }
    }

    /// `operand (binop operand)*` with Bento's precedence tiers applied.
    pub(super) fn expr(&mut self, p: Pair<Rule>) -> Ast {
        if p.as_rule() != Rule::expr {
            return self.primary(p);
        }
        let span = span_of(&p);
        let mut operands: Vec<Ast> = Vec::new();
        let mut ops: Vec<BinOp> = Vec::new();
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::operand => operands.push(self.operand(q)),
                Rule::binop => match BinOp::from_token(q.as_str()) {
                    Some(op) => ops.push(op),
                    None => self.err(span_of(&q), "unknown operator"),
                },
                _ => {}
            }
        }
        for tier in 1..=4u8 {
            if ops.is_empty() {
                break;
            }
            let mut new_operands = Vec::with_capacity(operands.len());
            let mut new_ops = Vec::with_capacity(ops.len());
            let mut it = operands.into_iter();
            let Some(first) = it.next() else {
                return Ast::Lit(Value::Null, span);
            };
            new_operands.push(first);
            for (op, rhs) in ops.into_iter().zip(it) {
                if op.tier() == tier {
                    let Some(lhs) = new_operands.pop() else {
                        break;
                    };
                    let s = Span {
                        start: lhs.span().start,
                        end: rhs.span().end,
                    };
                    new_operands.push(Ast::Binary(op, Box::new(lhs), Box::new(rhs), s));
                } else {
                    new_operands.push(rhs);
                    new_ops.push(op);
                }
            }
            operands = new_operands;
            ops = new_ops;
        }
        operands
            .into_iter()
            .next()
            .unwrap_or(Ast::Lit(Value::Null, span))
    }

    fn operand(&mut self, p: Pair<Rule>) -> Ast {
        let span = span_of(&p);
        let mut prefixes = Vec::new();
        let mut value = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::prefix_op => prefixes.push(if q.as_str() == "!" {
                    UnOp::Not
                } else {
                    UnOp::Neg
                }),
                Rule::chain => value = Some(self.chain(q)),
                _ => {}
            }
        }
        let mut v = value.unwrap_or(Ast::Lit(Value::Null, span));
        for op in prefixes.into_iter().rev() {
            v = Ast::Unary(op, Box::new(v), span);
        }
        v
    }

    fn chain(&mut self, p: Pair<Rule>) -> Ast {
        let mut inner = p.into_inner();
        let Some(first) = inner.next() else {
            return Ast::Lit(Value::Null, Span::default());
        };
        let mut cur = self.primary(first);
        for t in inner {
            let span = Span {
                start: cur.span().start,
                end: t.as_span().end(),
            };
            let rule = t.as_rule();
            let t_start = t.as_span().start();
            let mut ti = t.into_inner();
            cur = match rule {
                Rule::method_tail => {
                    let span = Span {
                        start: t_start + 1,
                        end: span.end,
                    };
                    let name = ti
                        .next()
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default();
                    let args = ti.next().map(|a| self.args(a)).unwrap_or_default();
                    Ast::Method {
                        target: Box::new(cur),
                        name,
                        args,
                        span,
                    }
                }
                Rule::field_tail => {
                    let name = ti.next().map(|n| self.name_of(n)).unwrap_or_default();
                    Ast::Field {
                        target: Box::new(cur),
                        name,
                        span,
                    }
                }
                Rule::capture_tail => {
                    let body = ti
                        .next()
                        .and_then(|pe| pe.into_inner().next())
                        .map(|e| self.expr(e))
                        .unwrap_or(Ast::Lit(Value::Null, span));
                    Ast::Capture {
                        target: Box::new(cur),
                        body: Box::new(body),
                        span,
                    }
                }
                Rule::index_tail => match ti.next() {
                    Some(q) if q.as_rule() == Rule::slice => {
                        let mut parts: [Option<Box<Ast>>; 3] = [None, None, None];
                        for (i, sp) in q.into_inner().enumerate().take(3) {
                            parts[i] = sp.into_inner().next().map(|e| Box::new(self.expr(e)));
                        }
                        Ast::Slice {
                            target: Box::new(cur),
                            parts,
                            span,
                        }
                    }
                    Some(q) => Ast::Index {
                        target: Box::new(cur),
                        index: Box::new(self.expr(q)),
                        span,
                    },
                    None => cur,
                },
                _ => cur,
            };
        }
        cur
    }

    fn args(&mut self, p: Pair<Rule>) -> Vec<Arg> {
        let mut out = Vec::new();
        for a in p.into_inner() {
            match a.as_rule() {
                Rule::named_arg => {
                    let mut it = a.into_inner();
                    let name = it.next().map(|n| n.as_str().to_string());
                    let span = Span::default();
                    let value = self.expr_opt(it.next(), span);
                    out.push(Arg { name, value });
                }
                _ => {
                    let value = self.expr(a);
                    out.push(Arg { name: None, value });
                }
            }
        }
        out
    }

    fn primary(&mut self, p: Pair<Rule>) -> Ast {
        let span = span_of(&p);
        match p.as_rule() {
            Rule::number => {
                let s = p.as_str();
                if s.contains('.') {
                    match s.parse::<f64>() {
                        Ok(f) => Ast::Lit(Value::Float(f), span),
                        Err(_) => {
                            self.err(span, "invalid number");
                            Ast::Lit(Value::Null, span)
                        }
                    }
                } else {
                    match s.parse::<i64>() {
                        Ok(i) => Ast::Lit(Value::Int(i), span),
                        Err(_) => match s.parse::<f64>() {
                            Ok(f) => Ast::Lit(Value::Float(f), span),
                            Err(_) => {
                                self.err(span, "invalid number");
                                Ast::Lit(Value::Null, span)
                            }
                        },
                    }
                }
            }
            Rule::string_lit | Rule::triple_string => {
                let s = self.string(p);
                Ast::Lit(Value::String(s), span)
            }
            Rule::bool_lit => Ast::Lit(Value::Bool(p.as_str() == "true"), span),
            Rule::null_lit => Ast::Lit(Value::Null, span),
            Rule::array_lit => {
                let items = p.into_inner().map(|e| self.expr(e)).collect();
                Ast::Array(items, span)
            }
            Rule::object_lit => {
                let mut entries = Vec::new();
                for e in p.into_inner() {
                    let mut it = e.into_inner();
                    let (Some(k), Some(v)) = (it.next(), it.next()) else {
                        continue;
                    };
                    let key = if k.as_rule() == Rule::string_key {
                        match k.into_inner().next() {
                            Some(s) => ObjKey::Static(self.string(s)),
                            None => ObjKey::Static(String::new()),
                        }
                    } else {
                        ObjKey::Dynamic(self.expr(k))
                    };
                    let val = self.expr(v);
                    entries.push((key, val));
                }
                Ast::Object(entries, span)
            }
            Rule::paren_expr => self.expr_opt(p.into_inner().next(), span),
            Rule::lambda => {
                let mut it = p.into_inner();
                let param = it
                    .next()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default();
                let body = self.expr_opt(it.next(), span);
                Ast::Lambda {
                    param,
                    body: Box::new(body),
                    span,
                }
            }
            Rule::if_expr => {
                let mut branches = Vec::new();
                let mut otherwise = None;
                let mut cond: Option<Ast> = None;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::expr => cond = Some(self.expr(q)),
                        Rule::value_block => {
                            let v = self.expr_opt(q.into_inner().next(), span);
                            match cond.take() {
                                Some(c) => branches.push((c, v)),
                                None => otherwise = Some(Box::new(v)),
                            }
                        }
                        _ => {}
                    }
                }
                Ast::If {
                    branches,
                    otherwise,
                    span,
                }
            }
            Rule::match_expr => {
                let mut subject = None;
                let mut cases = Vec::new();
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::expr => subject = Some(Box::new(self.expr(q))),
                        Rule::match_body => {
                            for c in q.into_inner() {
                                let mut it = c.into_inner();
                                let (Some(pat), Some(val)) = (it.next(), it.next()) else {
                                    continue;
                                };
                                let pat = if pat.as_rule() == Rule::wildcard {
                                    None
                                } else {
                                    Some(self.expr(pat))
                                };
                                cases.push((pat, self.expr(val)));
                            }
                        }
                        _ => {}
                    }
                }
                Ast::Match {
                    subject,
                    cases,
                    span,
                }
            }
            Rule::variable => {
                let name = p.into_inner().next().map(|n| n.as_str().to_string());
                Ast::Var(name.unwrap_or_default(), span)
            }
            Rule::meta_ref => {
                let key = p.into_inner().next().map(|n| self.name_of(n));
                Ast::Meta(key, span)
            }
            Rule::function_call => {
                let mut it = p.into_inner();
                let name = it
                    .next()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default();
                let args = it.next().map(|a| self.args(a)).unwrap_or_default();
                Ast::Call { name, args, span }
            }
            Rule::path => match p.into_inner().next() {
                Some(seg) if seg.as_rule() == Rule::quoted_name => {
                    // A quoted string at the head of a chain is a string literal.
                    let s = self.name_of(seg);
                    Ast::Lit(Value::String(s), span)
                }
                Some(seg) => Ast::Ident(seg.as_str().to_string(), span),
                None => Ast::Lit(Value::Null, span),
            },
            Rule::expr => self.expr(p),
            _ => {
                self.err(span, "unexpected syntax");
                Ast::Lit(Value::Null, span)
            }
        }
    }
}

/// Decode a Go-style double-quoted string literal.
pub fn unquote(s: &str) -> Result<String, String> {
    let body = s
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .ok_or_else(|| "required: expected end quote".to_string())?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('/') => out.push('/'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some('0') => out.push('\0'),
            Some(k @ ('u' | 'U' | 'x')) => {
                let n = match k {
                    'u' => 4,
                    'U' => 8,
                    _ => 2,
                };
                let hex: String = chars.by_ref().take(n).collect();
                let cp = u32::from_str_radix(&hex, 16)
                    .map_err(|_| "invalid syntax: bad escape sequence".to_string())?;
                match char::from_u32(cp) {
                    Some(ch) => out.push(ch),
                    None => return Err("invalid syntax: bad unicode escape".into()),
                }
            }
            _ => return Err("invalid syntax: bad escape sequence".into()),
        }
    }
    Ok(out)
}
