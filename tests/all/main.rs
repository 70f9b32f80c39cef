//! One integration-test binary (one link) holding every end-to-end test module.

mod acks;
mod bloblang_config;
mod cli;
mod config_fuzz;
mod connectors;
mod faults;
mod fidelity;
mod flow_components;
mod http_api;
mod http_client;
mod http_server;
mod input_fuzz;
mod layers;
mod ml_service;
mod platform;
mod support;
