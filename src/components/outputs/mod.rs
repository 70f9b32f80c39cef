//! Outputs: one file per component.

pub mod amqp_0_9;
pub mod drop;
pub mod file;
pub mod http_client;
pub mod inproc;
pub mod redis_list;
pub mod reject;
pub mod sql_insert;
pub mod sql_raw;
pub mod stdout;
pub mod sync_response;

/// The `codec` field of the line-oriented outputs: only `lines` is supported.
pub(crate) fn codec_field() -> crate::config::spec::FieldSpec {
    crate::config::spec::FieldSpec::string(
        "codec",
        "How messages are written: `lines` writes each message followed by a newline.",
    )
    .default("lines")
    .options(&["lines"])
    .advanced()
}
