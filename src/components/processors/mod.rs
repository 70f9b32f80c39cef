//! Processors: one file per component.

pub mod branch;
pub mod cache;
pub mod cached;
pub mod dedupe;
pub mod flow;
pub mod http;
pub mod log;
pub mod mapping;
pub mod noop;
pub mod rate_limit;
pub mod redis;
pub mod redis_script;
pub mod resource;
pub mod retry;
pub mod sleep;
pub mod sql_insert;
pub mod sql_raw;
pub mod sql_select;
