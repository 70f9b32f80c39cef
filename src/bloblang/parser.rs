//! pest grammar (`bloblang-grammar/bloblang.pest`) → AST.

use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

use super::ast::*;
use super::error::Diagnostic;
use crate::message::Value;

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

/// The first syntax error, then those found by re-parsing from each following top-level
/// statement, so that one run reports every broken statement.
fn syntax_errors(src: &str, first: pest::error::Error<Rule>) -> Vec<Diagnostic> {
    let first = pest_error(src, first);
    let mut out = vec![first.clone()];
    let starts = statement_starts(src);
    let err_line_start = line_start_offset(src, first.line);
    let mut from = err_line_start;
    let mut guard = 0;
    while guard < 64 {
        guard += 1;
        let Some(&next) = starts.iter().find(|&&s| s > from) else {
            break;
        };
        // Parse the rest as statements only: a bare query is not valid after the first line.
        let rest = &src[next..];
        match BloblParser::parse(Rule::mapping, rest) {
            Ok(_) => break,
            Err(e) => {
                let d = pest_error(rest, e);
                let abs = line_start_offset(rest, d.line) + col_offset(rest, d.line, d.col);
                let shifted = Diagnostic::at(src, next + abs, &d.message);
                from = line_start_offset(src, shifted.line);
                if out.last() != Some(&shifted) {
                    out.push(shifted);
                }
            }
        }
    }
    out
}

pub(crate) fn line_start_offset(src: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    src.match_indices('\n')
        .nth(line - 2)
        .map(|(i, _)| i + 1)
        .unwrap_or(src.len())
}

pub(crate) fn col_offset(src: &str, line: usize, col: usize) -> usize {
    let start = line_start_offset(src, line);
    src[start..]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(src.len() - start)
}

/// Byte offsets of lines that start a top-level statement: bracket depth zero, outside strings,
/// not blank, not a comment, not starting with a closing bracket or `else`.
pub(crate) fn statement_starts(src: &str) -> Vec<usize> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut depth: i64 = 0;
    let mut i = 0;
    let mut at_line_start = true;
    while i < b.len() {
        if at_line_start {
            at_line_start = false;
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            let rest = &src[j..];
            // An unindented assignment after an unclosed bracket starts afresh.
            if depth > 0 && j == i && is_assignment_line(rest.lines().next().unwrap_or("")) {
                depth = 0;
            }
            if depth == 0
                && j < b.len()
                && !matches!(b[j], b'\n' | b'\r' | b'#' | b'}' | b')' | b']')
                && !rest.starts_with("else")
            {
                out.push(i);
            }
        }
        match b[i] {
            b'\n' => at_line_start = true,
            b'#' => {
                while i + 1 < b.len() && b[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => match src[i + 3..].find("\"\"\"") {
                Some(e) => i += e + 5,
                None => return out,
            },
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    at_line_start = true;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    out
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

fn span_of(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span {
        start: s.start(),
        end: s.end(),
    }
}

fn rule_name(r: &Rule) -> Option<&'static str> {
    Some(match r {
        Rule::assign_op => "=",
        Rule::expr | Rule::operand | Rule::chain | Rule::bare_query => "query",
        Rule::statement | Rule::mapping => "import, map, or assignment",
        Rule::import_stmt | Rule::from_stmt | Rule::map_stmt | Rule::assign_stmt => {
            "import, map, or assignment"
        }
        Rule::let_stmt | Rule::meta_stmt | Rule::at_meta_stmt | Rule::if_stmt => {
            "import, map, or assignment"
        }
        Rule::target_path => "assignment target",
        Rule::ident => "name",
        Rule::name | Rule::quoted_name => "name",
        Rule::string_lit | Rule::triple_string => "quoted string",
        Rule::binop => "operator",
        Rule::args => "(",
        Rule::block | Rule::value_block | Rule::match_body => "{",
        Rule::match_case => "match case",
        Rule::object_entry | Rule::string_key => "object key",
        Rule::EOI => "end of input",
        Rule::method_tail | Rule::field_tail | Rule::capture_tail => "method or field path",
        Rule::index_tail => "[",
        Rule::slice | Rule::slice_part => "index",
        Rule::seg_ident => "field name",
        Rule::kw_else => "else",
        Rule::interp_query => "${! query }",
        Rule::number => "number",
        _ => return None,
    })
}

fn pest_error(src: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };

    // An unterminated string is a clearer message than whatever was expected after it.
    if let Some(p) = unterminated_quote(src) {
        if p <= pos {
            return Diagnostic::at(src, p, "required: expected end quote");
        }
    }
    let head = &src[..pos.min(src.len())];
    let prev = head.trim_end().chars().last();
    let open = innermost_open(head);
    let in_call = open.is_some_and(|(c, at)| {
        c == '('
            && head[..at]
                .chars()
                .last()
                .is_some_and(|p| p.is_ascii_alphanumeric() || p == '_')
    });
    match prev {
        Some('(') | Some(',') if in_call => {
            return Diagnostic::at(src, pos, "required: expected function argument");
        }
        Some(':') if in_call => {
            return Diagnostic::at(src, pos, "required: expected argument value");
        }
        Some('(') => return Diagnostic::at(src, pos, "required: expected query"),
        _ => {}
    }
    let line_rest = src[pos.min(src.len())..].lines().next().unwrap_or("");
    let prev_is_operator = prev.is_some_and(|c| "+-*/%|&=<>!.[:,".contains(c));
    if (line_rest.trim().is_empty() || line_rest.trim_start().starts_with('#')) && !prev_is_operator
    {
        if let Some((c, _)) = open {
            let closer = match c {
                '(' => "closing bracket",
                '[' => "]",
                _ => "}",
            };
            return Diagnostic::at(src, pos, &format!("required: expected {closer}"));
        }
    }
    let msg = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let has = |r: Rule| positives.contains(&r);
            let after_dot = pos > 0 && src.as_bytes().get(pos - 1) == Some(&b'.');
            if has(Rule::assign_op) {
                "expected =".to_string()
            } else if has(Rule::target_path)
                || has(Rule::import_stmt)
                || has(Rule::let_stmt)
                || has(Rule::kw_import)
                || has(Rule::kw_let)
            {
                "expected import, map, or assignment".to_string()
            } else if has(Rule::match_body) || has(Rule::value_block) || has(Rule::block) {
                "required: expected {".to_string()
            } else if after_dot && (has(Rule::seg_ident) || has(Rule::ident)) {
                "required: expected method or field path".to_string()
            } else if has(Rule::EOI) {
                let line_start = src[..pos.min(src.len())]
                    .rfind('\n')
                    .map(|i| i + 1)
                    .unwrap_or(0);
                let before = src[line_start..pos.min(src.len())].trim();
                if before == "let" {
                    "required: expected variable name".to_string()
                } else if before == "map" {
                    "required: expected map name".to_string()
                } else if let Some(head) = shorthand_head(src, pos) {
                    format!(
                        "expected the mapping to end here as the beginning is shorthand for \
                         `root = {head}`, but this shorthand form cannot be followed with more \
                         assignments"
                    )
                } else {
                    "expected line break".to_string()
                }
            } else {
                let mut names: Vec<&str> = Vec::new();
                for r in positives {
                    if let Some(n) = rule_name(r) {
                        if !names.contains(&n) {
                            names.push(n);
                        }
                    }
                }
                if names.is_empty() {
                    if src[pos.min(src.len())..].trim().is_empty() {
                        "unexpected end of input".to_string()
                    } else {
                        "unexpected input".to_string()
                    }
                } else {
                    format!("expected {}", bento_list(&names))
                }
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::at(src, pos, &msg)
}

/// The innermost bracket left open in `src` and its offset (strings and comments skipped).
fn innermost_open(src: &str) -> Option<(char, usize)> {
    let mut stack = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '"' if src[i..].starts_with("\"\"\"") => {
                let end = src[i + 3..].find("\"\"\"")?;
                let stop = i + 3 + end + 3;
                while chars.peek().is_some_and(|(j, _)| *j < stop) {
                    chars.next();
                }
            }
            '"' => {
                while let Some((_, d)) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '(' | '[' | '{' => stack.push((c, i)),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// `a`, `a or b`, `a, b, or c`.
fn bento_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [a] => a.to_string(),
        [a, b] => format!("{a} or {b}"),
        _ => {
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            format!("{}, or {last}", rest.join(", "))
        }
    }
}

/// When the mapping starts with a bare query (not an assignment), the query text, shortened the
/// way Bento shortens it.
fn shorthand_head(src: &str, pos: usize) -> Option<String> {
    let body_start = src.len() - src.trim_start().len();
    let mut start = body_start;
    // Skip a leading comment/shebang line.
    while src[start..].starts_with('#') {
        let nl = src[start..].find('\n')?;
        start += nl + 1;
        start += src[start..].len() - src[start..].trim_start().len();
    }
    let first_line = src[start..].lines().next().unwrap_or("");
    if is_assignment_line(first_line) {
        return None;
    }
    let end = pos.clamp(start, src.len());
    let q = src[start..end].trim();
    let q = q.lines().next().unwrap_or(q).trim();
    Some(if q.chars().count() > 15 {
        format!("{}...", q.chars().take(12).collect::<String>())
    } else {
        q.to_string()
    })
}

fn is_assignment_line(l: &str) -> bool {
    let l = l.trim_start();
    if l.starts_with("let ")
        || l.starts_with("map ")
        || l.starts_with("import ")
        || l.starts_with("from ")
        || l.starts_with("if ")
    {
        return true;
    }
    // `target = ...` where target is a path, `meta x`, or `@x`.
    let bytes = l.as_bytes();
    let mut i = 0;
    let mut in_quote = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_quote {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if c == b'"' {
            in_quote = i > 0 && bytes[i - 1] == b'.';
            if !in_quote {
                return false;
            }
        } else if c == b'=' {
            return bytes.get(i + 1) != Some(&b'=') && bytes.get(i + 1) != Some(&b'>');
        } else if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b' ' || c == b'@') {
            return false;
        }
        i += 1;
    }
    false
}

/// Byte offset of a `"` that opens a string never closed on its line.
fn unterminated_quote(src: &str) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                let start = i;
                i += 3;
                match src[i..].find("\"\"\"") {
                    Some(e) => i += e + 3,
                    None => return Some(start),
                }
                continue;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    if i >= b.len() || b[i] == b'\n' {
                        return Some(start);
                    }
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'"' {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

struct Builder<'s> {
    src: &'s str,
    errors: Vec<Diagnostic>,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str) -> Self {
        Builder {
            src,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
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

    fn stmt(&mut self, p: Pair<Rule>) -> Option<Stmt> {
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
    fn expr(&mut self, p: Pair<Rule>) -> Ast {
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
