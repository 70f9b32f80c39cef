//! Syntax errors worded as Bento words them, every broken statement of a mapping reported in
//! one run; one scanner (`code_chars`) reads past comments and string literals for them.

use super::{BloblParser, Rule};
use crate::bloblang::error::Diagnostic;
use pest::Parser;

/// The first syntax error, then those found by re-parsing from each following top-level
/// statement, so that one run reports every broken statement.
pub(super) fn syntax_errors(src: &str, first: pest::error::Error<Rule>) -> Vec<Diagnostic> {
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
    let mut line_start = |i: usize, depth: &mut i64| {
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let rest = &src[j..];
        // An unindented assignment after an unclosed bracket starts afresh.
        if *depth > 0 && j == i && is_assignment_line(rest.lines().next().unwrap_or("")) {
            *depth = 0;
        }
        if *depth == 0
            && j < b.len()
            && !matches!(b[j], b'\n' | b'\r' | b'#' | b'}' | b')' | b']')
            && !rest.starts_with("else")
        {
            out.push(i);
        }
    };
    if !src.is_empty() {
        line_start(0, &mut depth);
    }
    for lexeme in code_chars(src) {
        match lexeme {
            Lexeme::Code(i, '\n') if i + 1 < b.len() => line_start(i + 1, &mut depth),
            Lexeme::Code(_, '(' | '[' | '{') => depth += 1,
            Lexeme::Code(_, ')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    out
}

/// What the error reporting reads of a mapping: a character outside comments and string
/// literals, or a string literal that is never closed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lexeme {
    Code(usize, char),
    /// A `"` string left open at the end of its line (the scan goes on with the line break),
    /// or a `"""` string never closed (`to_end`: nothing follows).
    OpenString {
        at: usize,
        to_end: bool,
    },
}

/// The one scanner of a mapping's text that error reporting uses: comments (`#` to the end of
/// the line) and string literals (`"..."` with `\` escapes, `"""..."""` raw) are skipped, so
/// brackets and line breaks inside them are not seen.
fn code_chars(src: &str) -> impl Iterator<Item = Lexeme> + '_ {
    let mut chars = src.char_indices().peekable();
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        let (i, c) = chars.next()?;
        match c {
            '#' => while chars.next_if(|&(_, d)| d != '\n').is_some() {},
            '"' if src[i..].starts_with("\"\"\"") => match src[i + 3..].find("\"\"\"") {
                Some(end) => {
                    let stop = i + 3 + end + 3;
                    while chars.next_if(|&(j, _)| j < stop).is_some() {}
                }
                None => {
                    done = true;
                    return Some(Lexeme::OpenString {
                        at: i,
                        to_end: true,
                    });
                }
            },
            '"' => loop {
                match chars.next_if(|&(_, d)| d != '\n') {
                    Some((_, '\\')) => {
                        chars.next();
                    }
                    Some((_, '"')) => break,
                    Some(_) => {}
                    None => {
                        return Some(Lexeme::OpenString {
                            at: i,
                            to_end: false,
                        })
                    }
                }
            },
            c => return Some(Lexeme::Code(i, c)),
        }
    })
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

pub(super) fn pest_error(src: &str, e: pest::error::Error<Rule>) -> Diagnostic {
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
    for lexeme in code_chars(src) {
        match lexeme {
            Lexeme::Code(i, c @ ('(' | '[' | '{')) => stack.push((c, i)),
            Lexeme::Code(_, ')' | ']' | '}') => {
                stack.pop();
            }
            Lexeme::OpenString { to_end: true, .. } => return None,
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
    code_chars(src).find_map(|lexeme| match lexeme {
        Lexeme::OpenString { at, .. } => Some(at),
        Lexeme::Code(..) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_reads_past_comments_and_strings() {
        let code = |src| -> String {
            code_chars(src)
                .map(|l| match l {
                    Lexeme::Code(_, c) => c,
                    Lexeme::OpenString { .. } => '!',
                })
                .collect()
        };
        assert_eq!(code("a(\"(\\\"[\") # {\nb"), "a() \nb");
        assert_eq!(code("x = \"\"\"{\n\"\"\" + y"), "x =  + y");
        // A string open at its line's end lets the scan go on; a raw one never closed ends it.
        assert_eq!(code("a \"b\nc"), "a !\nc");
        assert_eq!(code("a \"\"\"b\nc ("), "a !");
        assert_eq!(
            code_chars("ab \"c").last(),
            Some(Lexeme::OpenString {
                at: 3,
                to_end: false
            })
        );
        assert_eq!(unterminated_quote("root = \"\"\"x"), Some(7));
        assert_eq!(innermost_open("f(a, [1, \"]\" # )\n"), Some(('[', 5)));
        assert_eq!(
            statement_starts("a = (\n  1)\n# c\nb = \"\n\"\nc = 2"),
            [0, 15, 21, 23]
        );
    }
}
