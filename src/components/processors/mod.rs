//! Processors: one file per component.

pub mod branch;
pub mod flow;
pub mod http;
pub mod log;
pub mod mapping;
pub mod noop;
pub mod resource;
pub mod sleep;
