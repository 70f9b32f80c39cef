//! Command line subcommands.

pub mod blobl;
