//! Running `root = this` mappings in place.
//!
//! A mapping that starts with `root = this` and then only sets fields of `root` that it never
//! reads from `this` (the gateway's enrichment: `root = this`, `root.estimated_tokens = ...`,
//! `root.status = "queued"`) gives the same result whether `this` is the untouched input or the
//! document being edited. Such a mapping can take ownership of the parsed input and edit it
//! instead of deep-copying it first, which is most of the cost of a mapping on large documents.
//! The check is conservative: anything it cannot see through makes the mapping ineligible.

use std::collections::HashSet;

use super::ast::Target;
use super::compile::{CStmt, Expr, Key, Pattern};
use super::eval::{self, ExecEnv, State, This};
use super::{ExecError, Mapping};
use crate::message::{Message, Value};

/// Whether `stmts` may run in place (see the module docs).
pub(crate) fn eligible(stmts: &[CStmt]) -> bool {
    let Some((first, rest)) = stmts.split_first() else {
        return false;
    };
    let starts_with_this = matches!(
        first,
        CStmt::Assign { target: Target::Root(p), value: Expr::This(q), .. } if p.is_empty() && q.is_empty()
    );
    if !starts_with_this {
        return false;
    }
    let mut written = HashSet::new();
    let mut reads = Reads::default();
    for s in rest {
        let CStmt::Assign { target, value, .. } = s else {
            return false;
        };
        match target {
            Target::Root(p) => match p.first() {
                Some(k) => {
                    written.insert(k.clone());
                }
                None => return false,
            },
            Target::Meta(_) | Target::Let(_) => {}
        }
        reads.expr(value, false);
    }
    !reads.whole && reads.fields.is_disjoint(&written)
}

/// The top-level fields of `this` an expression reads; `whole` when it reads `this` itself.
#[derive(Default)]
struct Reads {
    fields: HashSet<String>,
    whole: bool,
}

impl Reads {
    /// `rebound`: inside a context where `this` means something else (a capture, a match
    /// subject), so `this` reads there do not touch the input.
    fn expr(&mut self, e: &Expr, rebound: bool) {
        match e {
            Expr::This(p) => {
                if !rebound {
                    match p.first() {
                        Some(k) => {
                            self.fields.insert(k.clone());
                        }
                        None => self.whole = true,
                    }
                }
            }
            Expr::Lit(_)
            | Expr::Root(_)
            | Expr::Param(..)
            | Expr::Var(_)
            | Expr::MetaAll
            | Expr::Meta(_) => {}
            Expr::Field(t, _) | Expr::Not(t) | Expr::Neg(t) => self.expr(t, rebound),
            Expr::Func(_, args)
            | Expr::Counter(_, args)
            | Expr::LibFunc(_, args)
            | Expr::Array(args) => {
                for a in args {
                    self.expr(a, rebound);
                }
            }
            Expr::Method(t, _, args) | Expr::LibMethod(t, _, args) => {
                self.expr(t, rebound);
                for a in args {
                    self.expr(a, rebound);
                }
            }
            Expr::Capture(t, body) => {
                self.expr(t, rebound);
                self.expr(body, true);
            }
            // A named capture or a lambda may read the outer `this`: count it.
            Expr::NamedCapture(t, body) => {
                self.expr(t, rebound);
                self.expr(body, rebound);
            }
            Expr::Lambda(body) => self.expr(body, rebound),
            Expr::Index(a, b) | Expr::Bin(_, a, b) => {
                self.expr(a, rebound);
                self.expr(b, rebound);
            }
            Expr::Slice(t, parts) => {
                self.expr(t, rebound);
                for p in parts.iter().flatten() {
                    self.expr(p, rebound);
                }
            }
            Expr::If(branches, otherwise) => {
                for (c, v) in branches {
                    self.expr(c, rebound);
                    self.expr(v, rebound);
                }
                if let Some(o) = otherwise {
                    self.expr(o, rebound);
                }
            }
            Expr::Match(subject, cases) => {
                let inner = match subject {
                    Some(s) => {
                        self.expr(s, rebound);
                        true
                    }
                    None => rebound,
                };
                for (pat, v) in cases {
                    if let Pattern::Query(q) = pat {
                        self.expr(q, inner);
                    }
                    self.expr(v, inner);
                }
            }
            Expr::Object(entries) => {
                for (k, v) in entries {
                    if let Key::Dynamic(d) = k {
                        self.expr(d, rebound);
                    }
                    self.expr(v, rebound);
                }
            }
        }
    }
}

impl Mapping {
    /// Like [`Mapping::exec_root`] with `this` given by value: an eligible mapping edits it in
    /// place instead of copying it.
    pub fn exec_root_owned(
        &self,
        batch: &[Message],
        index: usize,
        this: Value,
    ) -> Result<Option<Option<Value>>, ExecError> {
        if !self.inner.in_place {
            return self.exec_root(batch, index, Some(&this));
        }
        let state = self.run_in_place(batch, index, this)?;
        if state.deleted {
            return Ok(None);
        }
        Ok(Some(state.root))
    }

    /// `mapping` processor semantics on message `index` of a batch the caller owns: the message
    /// is replaced by the result. False when the mapping deleted it. An eligible mapping edits
    /// the parsed payload in place; on an error the message is left as it was.
    pub fn map_message_in_place(
        &self,
        batch: &mut [Message],
        index: usize,
    ) -> Result<bool, ExecError> {
        let owned = match self.inner.in_place {
            true => batch.get_mut(index).and_then(Message::take_structured),
            false => None,
        };
        let Some(this) = owned else {
            let result = self.map_message(batch, index)?;
            return Ok(match (result, batch.get_mut(index)) {
                (Some(m), Some(slot)) => {
                    *slot = m;
                    true
                }
                (None, _) => false,
                (Some(_), None) => true,
            });
        };
        let (root, meta) = {
            let state = self.run_in_place(batch, index, this)?;
            if state.deleted {
                return Ok(false);
            }
            let meta = match state.meta {
                std::borrow::Cow::Owned(m) => Some(m),
                std::borrow::Cow::Borrowed(_) => None,
            };
            (state.root, meta)
        };
        if let Some(m) = batch.get_mut(index) {
            if let Some(meta) = meta {
                m.set_meta(meta);
            }
            if let Some(root) = root {
                m.set_value(root);
            }
        }
        Ok(true)
    }

    /// Run an eligible mapping with `this` as the document being edited: in mutation mode
    /// `this` reads that document, which the eligibility check made equivalent to the input.
    fn run_in_place<'m>(
        &self,
        batch: &'m [Message],
        index: usize,
        this: Value,
    ) -> Result<State<'m>, ExecError> {
        let meta = match batch.get(index) {
            Some(m) => std::borrow::Cow::Borrowed(m.meta()),
            None => std::borrow::Cow::Owned(Default::default()),
        };
        let mut state = State::new(meta);
        state.root = Some(this);
        let env = ExecEnv {
            batch,
            index,
            maps: &self.inner.maps,
            mutate: true,
            depth: 0,
        };
        let null = Value::Null;
        eval::exec_stmts(&self.inner.stmts[1..], &mut state, &env, This::Value(&null))
            .map_err(ExecError::new)?;
        Ok(state)
    }

    /// Whether [`Mapping::exec_root_owned`] edits its input in place.
    pub fn runs_in_place(&self) -> bool {
        self.inner.in_place
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_mapping;
    use super::*;

    fn in_place(src: &str) -> bool {
        parse_mapping(src)
            .map(|m| m.runs_in_place())
            .unwrap_or(false)
    }

    #[test]
    fn recognises_enrichment_shapes() {
        assert!(in_place("root = this"));
        assert!(in_place("root = this\nroot.estimated_tokens = (this.prompt.length() / 4).ceil()\nroot.status = \"queued\""));
        assert!(in_place(
            "root = this\nroot.upper = this.tags.map_each(t -> t.uppercase())\nmeta k = \"v\""
        ));
    }

    #[test]
    fn refuses_what_could_observe_the_edits() {
        assert!(!in_place("root.a = this.a"));
        assert!(!in_place("root = this\nroot.a = 1\nroot.b = this.a"));
        assert!(!in_place("root = this\nroot.copy = this"));
        assert!(!in_place("root = this\nroot = {}"));
        assert!(!in_place("root = this\nif this.a == 1 { root.b = 2 }"));
    }

    #[test]
    fn in_place_gives_the_same_result_as_a_copy() {
        let src = "root = this\nroot.n = this.m + 1\nroot.gone = deleted()";
        let m = parse_mapping(src).unwrap();
        assert!(m.runs_in_place());
        let input = Value::from_json_str(r#"{"m":1,"gone":true,"keep":[1,2]}"#).unwrap();
        let batch = [Message::from_value(input.clone())];
        let copied = m.exec_root(&batch, 0, Some(&input)).unwrap();
        let owned = m.exec_root_owned(&batch, 0, input).unwrap();
        assert_eq!(copied, owned);
        assert_eq!(
            owned.flatten().unwrap().to_json_string(),
            r#"{"keep":[1,2],"m":1,"n":2}"#
        );
    }
}

#[cfg(test)]
mod peer_programs {
    #[test]
    fn the_gateway_enrichment_runs_in_place() {
        let src = "root = this\nroot.estimated_tokens = (this.prompt.length() / 4).ceil()\nroot.status = \"queued\"\n";
        assert!(super::super::parse_mapping(src).unwrap().runs_in_place());
    }
}
