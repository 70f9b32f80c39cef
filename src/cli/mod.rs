//! The command line: `run`, `streams`, `lint`, `list`, `blobl`. Errors are rendered here, once.

mod lint;
mod list;
mod logging;
mod run;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "engine",
    version,
    about = "A config-driven stream processor: input → processors → output, configured in YAML, transformed with Bloblang.",
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the main config file.
    #[arg(short = 'c', long = "config", global = true)]
    pub config: Option<String>,
    /// Resource files (globs) holding `*_resources` sections.
    #[arg(short = 'r', long = "resources", global = true)]
    pub resources: Vec<String>,
    /// Override a config field: `-s input.generate.count=5`.
    #[arg(short = 's', long = "set", global = true)]
    pub set: Vec<String>,
    /// Run even when the config has lint errors (they are logged as warnings).
    #[arg(long, global = true)]
    pub chilled: bool,
    /// Dotenv files (globs) loaded into the environment before the config is read.
    #[arg(short = 'e', long = "env-file", global = true)]
    pub env_file: Vec<String>,
    /// Override `logger.level`.
    #[arg(long = "log.level", global = true)]
    pub log_level: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a stream from a config file (the default command).
    Run {
        /// The config file (same as -c).
        path: Option<String>,
    },
    /// Run several stream configs in one process; `inproc` connects them.
    Streams {
        /// Stream config files or directories.
        paths: Vec<String>,
    },
    /// Check configs for errors, printing `file(line,col) message` lines.
    Lint {
        /// Files, directories, or `dir/...` to walk recursively.
        paths: Vec<String>,
    },
    /// List the available components and Bloblang functions and methods.
    List {
        /// inputs, processors, outputs, caches, rate-limits, bloblang-functions, bloblang-methods.
        kinds: Vec<String>,
        /// text, json or json-full.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

pub fn main() -> i32 {
    crate::http::install_tls_provider();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
        }
    };
    if let Err(e) = load_env_files(&cli.global.env_file) {
        eprintln!("{e}");
        return 1;
    }
    match cli.command {
        None => run::run(&cli.global, None),
        Some(Command::Run { path }) => run::run(&cli.global, path),
        Some(Command::Streams { paths }) => run::streams(&cli.global, &paths),
        Some(Command::Lint { paths }) => lint::lint(&cli.global, &paths),
        Some(Command::List { kinds, format }) => list::list(&kinds, &format),
    }
}

fn load_env_files(globs: &[String]) -> Result<(), String> {
    let files = engine_config::expand_globs(globs).map_err(|e| e.to_string())?;
    for f in files {
        dotenvy::from_path(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}

use crate::config as engine_config;
