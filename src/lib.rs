//! engine: a config-driven stream processor compatible with Bento configs and Bloblang.
//!
//! The library is the engine; the `engine` binary is a thin command line over [`cli::main`].

pub mod bloblang;
pub mod cli;
pub mod components;
pub mod config;
pub mod http;
pub mod message;
pub mod metrics;
pub mod pipeline;
pub mod spec;
