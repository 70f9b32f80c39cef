//! engine: a config-driven stream processor compatible with Bento configs and Bloblang.

pub mod bloblang;
pub mod cli;
pub mod message;
