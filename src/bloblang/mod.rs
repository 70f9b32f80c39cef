//! Bloblang: parser, compiler and interpreter, and its library.
//!
//! `parse_mapping` turns mapping text into a compiled [`Mapping`] (pest grammar in
//! `bloblang-grammar/bloblang.pest` → [`ast`] → [`compile`] → [`eval`]); the mapping is then run
//! with `mapping` ([`Mapping::map_message`]) or `mutation` ([`Mapping::mutate_message`])
//! semantics. [`parse_interpolation`] handles `${! ... }` strings in configs.

pub mod ast;
pub mod builtins;
pub mod compile;
pub mod error;
pub mod eval;
mod inplace;
pub mod library;
pub mod parser;
pub mod value_ops;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

pub use error::{Diagnostic, ExecError, ParseError};

use crate::message::{Message, Value};
use compile::{CStmt, Compiler, Expr, Maps};
use eval::{ExecEnv, State, This};

pub(crate) struct MappingInner {
    pub stmts: Vec<CStmt>,
    pub maps: Maps,
    /// See [`inplace`]: the mapping may edit an owned input instead of copying it.
    pub in_place: bool,
}

/// A compiled mapping. Cheap to clone; shareable between threads.
#[derive(Clone)]
pub struct Mapping {
    pub(crate) inner: Arc<MappingInner>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("statements", &self.inner.stmts.len())
            .finish()
    }
}

/// Compile errors of the parts of a mapping that parse, reported alongside its syntax errors:
/// the statements before the first broken one and those after the last broken one.
fn compile_errors_around(src: &str, syntax: &[Diagnostic], allow_files: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let starts = parser::statement_starts(src);
    let (Some(first), Some(last)) = (syntax.first(), syntax.last()) else {
        return out;
    };
    let mut check = |offset: usize, text: &str| {
        if let Ok(stmts) = parser::parse_mapping_ast(text) {
            let mut c = Compiler::new(text);
            c.allow_files = allow_files;
            c.stmts(stmts, false);
            for d in c.errors {
                let at = parser::line_start_offset(text, d.line)
                    + parser::col_offset(text, d.line, d.col);
                out.push(Diagnostic::at(src, offset + at, &d.message));
            }
        }
    };
    // Before: up to the start of the statement holding the first syntax error.
    let first_at = parser::line_start_offset(src, first.line);
    if let Some(&stmt_start) = starts.iter().rev().find(|&&s| s <= first_at) {
        if stmt_start > 0 {
            check(0, &src[..stmt_start]);
        }
    }
    // After: from the statement following the last syntax error.
    let last_at = parser::line_start_offset(src, last.line);
    if let Some(&next) = starts.iter().find(|&&s| s > last_at) {
        check(next, &src[next..]);
    }
    out
}

fn compile_mapping(src: &str, allow_files: bool) -> Result<Mapping, ParseError> {
    let ast = match parser::parse_mapping_ast(src) {
        Ok(a) => a,
        Err(mut errors) => {
            let extra = compile_errors_around(src, &errors, allow_files);
            errors.extend(extra);
            errors.sort_by_key(|d| (d.line, d.col));
            errors.dedup();
            return Err(ParseError::new(src, errors));
        }
    };
    if !allow_files {
        for s in &ast {
            if matches!(s, ast::Stmt::Import { .. } | ast::Stmt::From { .. }) {
                return Err(ParseError::new(
                    src,
                    vec![Diagnostic::at(
                        src,
                        0,
                        "imports are disabled in this context",
                    )],
                ));
            }
        }
    }
    let from_count = ast
        .iter()
        .filter(|s| matches!(s, ast::Stmt::From { .. }))
        .count();
    if from_count > 0 && ast.len() > 1 {
        return Err(ParseError::new(
            src,
            vec![Diagnostic::at(
                src,
                0,
                "unexpected content after single root import",
            )],
        ));
    }
    let mut c = Compiler::new(src);
    c.allow_files = allow_files;
    let stmts = c.stmts(ast, false);
    if !c.errors.is_empty() {
        return Err(ParseError::new(src, c.errors));
    }
    Ok(Mapping {
        inner: Arc::new(MappingInner {
            in_place: inplace::eligible(&stmts),
            stmts,
            maps: c.maps,
        }),
    })
}

/// Parse and compile a mapping. All problems found are reported together.
pub fn parse_mapping(src: &str) -> Result<Mapping, ParseError> {
    compile_mapping(src, true)
}

/// A mapping from untrusted text (the `bloblang()` method): no file access.
pub(crate) fn parse_mapping_restricted(src: &str) -> Result<Mapping, ParseError> {
    compile_mapping(src, false)
}

/// What a run produced.
pub(crate) struct Outcome<'m> {
    pub state: State<'m>,
}

impl Mapping {
    fn run<'m>(
        &self,
        batch: &'m [Message],
        index: usize,
        mutate: bool,
        this: This<'_>,
    ) -> Result<Outcome<'m>, ExecError> {
        let meta = match batch.get(index) {
            Some(m) => Cow::Borrowed(m.meta()),
            None => Cow::Owned(Default::default()),
        };
        let mut state = State::new(meta);
        let env = ExecEnv {
            batch,
            index,
            maps: &self.inner.maps,
            mutate,
            depth: 0,
        };
        eval::exec_stmts(&self.inner.stmts, &mut state, &env, this).map_err(ExecError::new)?;
        Ok(Outcome { state })
    }

    fn finish(
        &self,
        batch: &[Message],
        index: usize,
        out: Outcome<'_>,
    ) -> Result<Option<Message>, ExecError> {
        let st = out.state;
        if st.deleted {
            return Ok(None);
        }
        let mut msg = batch.get(index).cloned().unwrap_or_default();
        if let Cow::Owned(meta) = st.meta {
            msg.set_meta(meta);
        }
        if let Some(root) = st.root {
            msg.set_value(root);
        }
        Ok(Some(msg))
    }

    /// `mapping` processor semantics on message `index` of `batch`: a new document is built,
    /// `this` is the (read-only) input. `Ok(None)` when `root = deleted()`. When root is never
    /// assigned the payload is unchanged; metadata starts as a copy of the input's.
    pub fn map_message(
        &self,
        batch: &[Message],
        index: usize,
    ) -> Result<Option<Message>, ExecError> {
        self.run_on_message(batch, index, false)
    }

    /// `mutation` semantics: the input document is edited in place (`this` sees the edits).
    pub fn mutate_message(
        &self,
        batch: &[Message],
        index: usize,
    ) -> Result<Option<Message>, ExecError> {
        self.run_on_message(batch, index, true)
    }

    fn run_on_message(
        &self,
        batch: &[Message],
        index: usize,
        mutate: bool,
    ) -> Result<Option<Message>, ExecError> {
        let empty = Message::default();
        let this_msg = batch.get(index).unwrap_or(&empty);
        let out = self.run(batch, index, mutate, This::Message(this_msg))?;
        self.finish(batch, index, out)
    }

    /// `branch` `result_map` semantics: `this` is message `index` of `batch` (the branch result,
    /// also what `metadata()` and `content()` read), while `root` and `meta` start as the
    /// `original` message's document and metadata, which the mapping edits. `Ok(None)` when
    /// `root = deleted()`.
    pub fn map_onto(
        &self,
        original: &Message,
        batch: &[Message],
        index: usize,
    ) -> Result<Option<Message>, ExecError> {
        let empty = Message::default();
        let this_msg = batch.get(index).unwrap_or(&empty);
        let mut state = State::new(Cow::Borrowed(original.meta()));
        state.root = original.structured().ok().cloned();
        let env = ExecEnv {
            batch,
            index,
            maps: &self.inner.maps,
            mutate: false,
            depth: 0,
        };
        eval::exec_stmts(&self.inner.stmts, &mut state, &env, This::Message(this_msg))
            .map_err(ExecError::new)?;
        if state.deleted {
            return Ok(None);
        }
        let mut msg = original.clone();
        if let Cow::Owned(meta) = state.meta {
            msg.set_meta(meta);
        }
        if let Some(root) = state.root {
            msg.set_value(root);
        }
        Ok(Some(msg))
    }

    /// Evaluate for a value (check fields, `args_mapping`): returns the value root was assigned,
    /// or `Value::Null` when root was never assigned or was deleted.
    pub fn query(&self, batch: &[Message], index: usize) -> Result<Value, ExecError> {
        let empty = Message::default();
        let this_msg = batch.get(index).unwrap_or(&empty);
        let out = self.run(batch, index, false, This::Message(this_msg))?;
        Ok(out.state.root.unwrap_or(Value::Null))
    }

    /// Run against a value as `this` (no message), returning the root (Null when unassigned or
    /// deleted). Handy for tests and for callers that already hold a value.
    pub fn query_value(&self, this: &Value) -> Result<Value, ExecError> {
        let out = self.run(&[], 0, false, This::Value(this))?;
        Ok(out.state.root.unwrap_or(Value::Null))
    }

    /// `generate` input: no input document (an empty message). `Ok(None)` when deleted.
    pub fn new_message(&self) -> Result<Option<Message>, ExecError> {
        let batch = [Message::from_bytes(Vec::new())];
        let out = self.run(&batch, 0, false, This::Message(&batch[0]))?;
        let st = out.state;
        if st.deleted {
            return Ok(None);
        }
        let mut msg = Message::from_bytes(Vec::new());
        msg.set_meta(st.meta.into_owned());
        if let Some(root) = st.root {
            msg.set_value(root);
        }
        Ok(Some(msg))
    }

    /// Low-level run used by the `blobl` CLI: returns `Ok(None)` when deleted, `Ok(Some(None))`
    /// when root was never assigned, `Ok(Some(Some(v)))` otherwise.
    pub fn exec_root(
        &self,
        batch: &[Message],
        index: usize,
        this: Option<&Value>,
    ) -> Result<Option<Option<Value>>, ExecError> {
        let empty = Message::default();
        let this_src = match this {
            Some(v) => This::Value(v),
            None => This::Message(batch.get(index).unwrap_or(&empty)),
        };
        let out = self.run(batch, index, false, this_src)?;
        if out.state.deleted {
            return Ok(None);
        }
        Ok(Some(out.state.root))
    }
}

// ------------------------------------------------------------------------------------------------
// Documentation tables (for `engine list bloblang-functions` / `bloblang-methods`)

/// One documented function or method, whichever table it comes from.
#[derive(Clone, Copy)]
pub struct Doc {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub params: &'static [library::Param],
    pub examples: &'static [library::Example],
}

/// Every function, sorted by name (interpreter-level ones and the library's).
pub fn function_docs() -> Vec<Doc> {
    let mut out: Vec<Doc> = builtins::FUNCTIONS
        .iter()
        .map(|f| Doc {
            name: f.name,
            category: f.category,
            description: f.description,
            params: f.params,
            examples: f.examples,
        })
        .collect();
    for f in library::functions() {
        if !out.iter().any(|d| d.name == f.name) {
            out.push(Doc {
                name: f.name,
                category: f.category,
                description: f.description,
                params: f.params,
                examples: f.examples,
            });
        }
    }
    out.sort_by_key(|d| d.name);
    out
}

/// Every method, sorted by name; where both tables define a name, the one the compiler uses.
pub fn method_docs() -> Vec<Doc> {
    let lib = library::methods();
    let mut out: Vec<Doc> = Vec::new();
    for m in builtins::METHODS {
        if m.prefer_library && lib.iter().any(|l| l.name == m.name) {
            continue;
        }
        out.push(Doc {
            name: m.name,
            category: m.category,
            description: m.description,
            params: m.params,
            examples: m.examples,
        });
    }
    for m in lib {
        if !out.iter().any(|d| d.name == m.name) {
            out.push(Doc {
                name: m.name,
                category: m.category,
                description: m.description,
                params: m.params,
                examples: m.examples,
            });
        }
    }
    out.sort_by_key(|d| d.name);
    out
}

// ------------------------------------------------------------------------------------------------
// Interpolation

enum Part {
    Text(String),
    Query(Expr),
}

struct InterpInner {
    parts: Vec<Part>,
    maps: Maps,
}

/// A config string with `${! query }` blocks.
#[derive(Clone)]
pub struct InterpolatedString {
    inner: Arc<InterpInner>,
}

impl std::fmt::Debug for InterpolatedString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterpolatedString")
            .field("static", &self.is_static())
            .finish()
    }
}

/// A config field that holds an interpolated string is parsed as the config is read.
impl<'de> serde::Deserialize<'de> for InterpolatedString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let src = <Cow<'de, str>>::deserialize(d)?;
        parse_interpolation(&src).map_err(serde::de::Error::custom)
    }
}

/// A config field that holds a mapping is parsed as the config is read.
impl<'de> serde::Deserialize<'de> for Mapping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let src = <Cow<'de, str>>::deserialize(d)?;
        parse_mapping(&src).map_err(serde::de::Error::custom)
    }
}

/// A config field holding a mapping that may be left blank (Bento's `""` for "none"): `None`
/// when absent or blank, else parsed as the config is read, so an error names the field.
/// `#[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]`.
pub fn mapping_unless_blank<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Mapping>, D::Error> {
    match <Option<Cow<'de, str>> as serde::Deserialize>::deserialize(d)? {
        Some(src) if !src.trim().is_empty() => parse_mapping(&src)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

/// Parse an interpolated string. `${{! ... }}` is an escaped literal `${! ... }`.
pub fn parse_interpolation(src: &str) -> Result<InterpolatedString, ParseError> {
    let parts = parser::parse_interpolation_ast(src).map_err(|e| ParseError::new(src, e))?;
    let mut c = Compiler::new(src);
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            parser::InterpPart::Text(t) => out.push(Part::Text(t)),
            parser::InterpPart::Query(a, _) => out.push(Part::Query(c.expr(a))),
        }
    }
    if !c.errors.is_empty() {
        return Err(ParseError::new(src, c.errors));
    }
    Ok(InterpolatedString {
        inner: Arc::new(InterpInner {
            parts: out,
            maps: c.maps,
        }),
    })
}

impl InterpolatedString {
    pub fn is_static(&self) -> bool {
        self.inner.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    pub fn render_static(&self) -> String {
        let mut s = String::new();
        for p in &self.inner.parts {
            if let Part::Text(t) = p {
                s.push_str(t);
            }
        }
        s
    }

    /// Render against message `index` of `batch`: strings raw, other values as JSON.
    pub fn render(&self, batch: &[Message], index: usize) -> Result<String, ExecError> {
        let mut s = String::new();
        let empty = Message::default();
        let msg = batch.get(index).unwrap_or(&empty);
        let vars = std::collections::HashMap::new();
        for p in &self.inner.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Query(q) => {
                    let ctx = eval::Ctx {
                        this: This::Message(msg),
                        root: None,
                        vars: &vars,
                        meta: msg.meta(),
                        batch,
                        index,
                        params: None,
                        maps: &self.inner.maps,
                        depth: 0,
                    };
                    match eval::eval(q, &ctx).map_err(ExecError::new)? {
                        eval::R::Ref(v) => push_value(&mut s, v),
                        eval::R::Own(v) => push_value(&mut s, &v),
                        eval::R::Deleted => {}
                        eval::R::Nothing => s.push_str("null"),
                    }
                }
            }
        }
        Ok(s)
    }
}

fn push_value(s: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::String(x) => s.push_str(x),
        other => {
            let _ = write!(s, "{other}");
        }
    }
}
