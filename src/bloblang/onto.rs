//! Mapping onto an existing message: the `branch` processor's `result_map`, where `this` is the
//! branch's result and `root`/metadata start as the original message's, so that assignments
//! merge the result back into it.

use super::interp::{self, ExecEnv, State, This};
use super::{ExecError, Mapping};
use crate::message::Message;

impl Mapping {
    /// Run the mapping with `this` = `context[index]`, onto a copy of `target`. `Ok(None)` when
    /// the mapping deleted the root.
    pub fn map_onto(
        &self,
        target: &Message,
        context: &[Message],
        index: usize,
    ) -> Result<Option<Message>, ExecError> {
        let mut state = State::new(target.meta().clone());
        state.root = target.structured().ok().cloned();
        let original_root = state.root.clone();
        let env = ExecEnv {
            batch: context,
            index,
            maps: &self.inner.maps,
            mutate: false,
        };
        let empty = Message::default();
        let this = This::Message(context.get(index).unwrap_or(&empty));
        interp::exec_stmts(&self.inner.stmts, &mut state, &env, this).map_err(ExecError::new)?;
        if state.deleted {
            return Ok(None);
        }
        let mut out = target.clone();
        out.set_meta(state.meta);
        match state.root {
            // Untouched: keep the original payload bytes exactly.
            Some(r) if Some(&r) == original_root.as_ref() => {}
            Some(r) => out.set_value(r),
            None => {}
        }
        Ok(Some(out))
    }
}
