//! pest grammar (`bloblang-grammar/bloblang.pest`) → AST.

mod build;
mod report;

use pest::Parser;
use pest_derive::Parser;

use super::ast::*;
use super::error::Diagnostic;
use crate::message::Value;
use build::{span_of, Builder};
pub(crate) use report::{col_offset, line_start_offset, statement_starts};
use report::{pest_error, syntax_errors};

#[derive(Parser)]
#[grammar = "../bloblang-grammar/bloblang.pest"]
struct BloblParser;

/// Deepest bracket nesting accepted, so that recursion in the parser, compiler and interpreter
/// cannot overflow the stack on hostile input.
const MAX_NESTING: usize = 128;

pub fn parse_mapping_ast(src: &str) -> Result<Vec<Stmt>, Vec<Diagnostic>> {
    check_nesting(src)?;
    let mut pairs = match BloblParser::parse(Rule::mapping, src) {
        Ok(p) => p,
        Err(e) => return Err(syntax_errors(src, e)),
    };
    let Some(mapping) = pairs.next() else {
        return Err(vec![Diagnostic::at(
            src,
            0,
            "expected import, map, or assignment",
        )]);
    };
    let mut b = Builder::new(src);
    let mut out = Vec::new();
    for p in mapping.into_inner() {
        match p.as_rule() {
            Rule::bare_query => {
                let span = span_of(&p);
                let value = match p.into_inner().next() {
                    Some(e) => b.expr(e),
                    None => Ast::Lit(Value::Null, span),
                };
                out.push(Stmt::Assign {
                    target: Target::Root(Vec::new()),
                    value,
                    span,
                });
            }
            Rule::EOI => {}
            _ => {
                if let Some(s) = b.stmt(p) {
                    out.push(s);
                }
            }
        }
    }
    for st in &out {
        check_stmt_depth(src, st, 0, &mut b.errors);
    }
    if b.errors.is_empty() {
        Ok(out)
    } else {
        Err(b.errors)
    }
}

/// Deepest expression tree accepted: the compiler and interpreter recurse on it.
const MAX_DEPTH: usize = 200;

fn check_stmt_depth(src: &str, st: &Stmt, level: usize, errors: &mut Vec<Diagnostic>) {
    match st {
        Stmt::Assign { value, span, .. } if ast_depth(value, 0) > MAX_DEPTH => {
            errors.push(Diagnostic::at(
                src,
                span.start,
                "expression is too deeply nested",
            ));
        }
        Stmt::If {
            branches,
            otherwise,
            span,
        } => {
            if level > MAX_DEPTH {
                errors.push(Diagnostic::at(
                    src,
                    span.start,
                    "statement is too deeply nested",
                ));
                return;
            }
            for (c, body) in branches {
                if ast_depth(c, 0) > MAX_DEPTH {
                    errors.push(Diagnostic::at(
                        src,
                        span.start,
                        "expression is too deeply nested",
                    ));
                }
                for s in body {
                    check_stmt_depth(src, s, level + 1, errors);
                }
            }
            for s in otherwise.iter().flatten() {
                check_stmt_depth(src, s, level + 1, errors);
            }
        }
        Stmt::Map { body, .. } => {
            for s in body {
                check_stmt_depth(src, s, level + 1, errors);
            }
        }
        _ => {}
    }
}

/// Depth of an expression tree, giving up (returning a large value) past the limit.
pub fn ast_depth(a: &Ast, d: usize) -> usize {
    if d > MAX_DEPTH {
        return d;
    }
    let n = d + 1;
    let sub = |x: &Ast| ast_depth(x, n);
    match a {
        Ast::Lit(..) | Ast::Ident(..) | Ast::Var(..) | Ast::Meta(..) => n,
        Ast::Call { args, .. } => args.iter().map(|x| sub(&x.value)).max().unwrap_or(n),
        Ast::Method { target, args, .. } => args
            .iter()
            .map(|x| sub(&x.value))
            .max()
            .unwrap_or(n)
            .max(sub(target)),
        Ast::Field { target, .. } => sub(target),
        Ast::Capture { target, body, .. } => sub(target).max(sub(body)),
        Ast::Index { target, index, .. } => sub(target).max(sub(index)),
        Ast::Slice { target, parts, .. } => parts
            .iter()
            .flatten()
            .map(|x| sub(x))
            .max()
            .unwrap_or(n)
            .max(sub(target)),
        Ast::Lambda { body, .. } => sub(body),
        Ast::Unary(_, x, _) => sub(x),
        Ast::Binary(_, l, r, _) => sub(l).max(sub(r)),
        Ast::If {
            branches,
            otherwise,
            ..
        } => branches
            .iter()
            .map(|(c, v)| sub(c).max(sub(v)))
            .chain(otherwise.iter().map(|o| sub(o)))
            .max()
            .unwrap_or(n),
        Ast::Match { subject, cases, .. } => cases
            .iter()
            .map(|(p, v)| p.as_ref().map(sub).unwrap_or(n).max(sub(v)))
            .chain(subject.iter().map(|s| sub(s)))
            .max()
            .unwrap_or(n),
        Ast::Array(items, _) => items.iter().map(sub).max().unwrap_or(n),
        Ast::Object(entries, _) => entries
            .iter()
            .map(|(k, v)| {
                let kd = match k {
                    ObjKey::Dynamic(a) => sub(a),
                    ObjKey::Static(_) => n,
                };
                kd.max(sub(v))
            })
            .max()
            .unwrap_or(n),
    }
}

/// Parse one query (an expression on its own).
pub fn parse_query_ast(src: &str) -> Result<Ast, Vec<Diagnostic>> {
    let stmts = parse_mapping_ast(src)?;
    match stmts.into_iter().next() {
        Some(Stmt::Assign {
            target: Target::Root(p),
            value,
            ..
        }) if p.is_empty() => Ok(value),
        _ => Err(vec![Diagnostic::at(src, 0, "expected query")]),
    }
}

pub enum InterpPart {
    Text(String),
    Query(Ast, Span),
}

pub fn parse_interpolation_ast(src: &str) -> Result<Vec<InterpPart>, Vec<Diagnostic>> {
    check_nesting(src)?;
    let mut pairs =
        BloblParser::parse(Rule::interpolation, src).map_err(|e| vec![pest_error(src, e)])?;
    let Some(top) = pairs.next() else {
        return Ok(Vec::new());
    };
    let mut b = Builder::new(src);
    let mut out: Vec<InterpPart> = Vec::new();
    for p in top.into_inner() {
        match p.as_rule() {
            Rule::interp_text => push_text(&mut out, p.as_str()),
            Rule::interp_escaped => {
                // `${{! x }}` renders as `${! x }`.
                let s = p.as_str();
                let inner = &s[4..s.len() - 2];
                push_text(&mut out, &format!("${{!{inner}}}"));
            }
            Rule::interp_query => {
                let span = span_of(&p);
                if let Some(e) = p.into_inner().next() {
                    let q = b.expr(e);
                    if ast_depth(&q, 0) > MAX_DEPTH {
                        b.err(span, "expression is too deeply nested");
                    }
                    out.push(InterpPart::Query(q, span));
                }
            }
            _ => {}
        }
    }
    if b.errors.is_empty() {
        Ok(out)
    } else {
        Err(b.errors)
    }
}

fn push_text(out: &mut Vec<InterpPart>, s: &str) {
    if let Some(InterpPart::Text(t)) = out.last_mut() {
        t.push_str(s);
    } else {
        out.push(InterpPart::Text(s.to_string()));
    }
}

fn check_nesting(src: &str) -> Result<(), Vec<Diagnostic>> {
    let mut depth = 0usize;
    for (i, c) in src.char_indices() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(vec![Diagnostic::at(
                        src,
                        i,
                        "expression nesting exceeds the supported depth",
                    )]);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // Long operator chains also recurse: bound the number of method tails and prefix operators.
    let chained = src.matches('.').count() + src.matches('!').count() + src.matches('-').count();
    if chained > 20_000 {
        return Err(vec![Diagnostic::at(src, 0, "mapping is too large")]);
    }
    Ok(())
}
