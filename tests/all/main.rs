//! One integration-test binary (one link) holding every end-to-end test module.

mod acks;
mod cli;
mod config_fuzz;
mod connectors;
mod http_api;
mod support;
