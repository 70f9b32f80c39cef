//! Statements: assignments to the document, metadata and variables, `if` and `match` blocks.

use std::borrow::Cow;
use std::collections::HashMap;

use super::*;
use crate::bloblang::ast::Target;
use crate::bloblang::compile::{CStmt, Maps};
use crate::bloblang::value_ops::{self as ops};
use crate::message::{Message, Metadata, Value};

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
