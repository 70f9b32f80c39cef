//! Inputs: one file per component.

pub mod amqp_0_9;
pub mod file;
pub mod generate;
pub mod http_server;
pub mod inproc;
pub mod redis_list;
pub mod stdin;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Read one line (without its `\n` or `\r\n`); `None` at end of input.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    buf.clear();
    if r.read_until(b'\n', buf).await? == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(Some(buf.clone()))
}

/// The `scanner` field shared by the line-oriented inputs: only `lines` is supported.
pub(crate) fn scanner_field() -> crate::config::spec::FieldSpec {
    crate::config::spec::FieldSpec::any(
        "scanner",
        "How the stream of bytes is split into messages. Only `lines: {}` (one message per line) is supported.",
    )
    .default(serde_json::json!({"lines": {}}))
    .advanced()
}

pub(crate) fn check_scanner(v: &serde_json::Value) -> Result<(), String> {
    match v.as_object() {
        Some(o) if o.len() == 1 && o.contains_key("lines") => Ok(()),
        _ => Err(format!(
            "scanner {v} is not supported: only `lines: {{}}` is"
        )),
    }
}

pub(crate) fn auto_replay_field() -> crate::config::spec::FieldSpec {
    crate::config::spec::FieldSpec::bool(
        "auto_replay_nacks",
        "Whether messages that are rejected (nacked) at the output level are automatically replayed indefinitely. Disabling it drops nacked messages.",
    )
    .default(true)
}
