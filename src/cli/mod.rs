//! The command line: `run`, `streams`, `lint`, `list`, `blobl`. Errors are rendered here, once.

pub mod blobl;
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
    args_conflicts_with_subcommands = false,
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version (`-v` as Bento's, `-V` as clap's).
    #[arg(short = 'v', long = "version", visible_short_alias = 'V', action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the main config file.
    #[arg(short = 'c', long = "config")]
    pub config: Option<String>,
    /// Resource files (globs) holding `*_resources` sections.
    #[arg(short = 'r', long = "resources")]
    pub resources: Vec<String>,
    /// Override a config field: `-s input.generate.count=5`.
    #[arg(short = 's', long = "set")]
    pub set: Vec<String>,
    /// Run even when the config has lint errors (they are logged as warnings).
    #[arg(long)]
    pub chilled: bool,
    /// Dotenv files (globs) loaded into the environment before the config is read.
    #[arg(short = 'e', long = "env-file")]
    pub env_file: Vec<String>,
    /// Override `logger.level`.
    #[arg(long = "log.level")]
    pub log_level: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a stream from a config file (the default command).
    Run {
        #[command(flatten)]
        args: GlobalArgs,
        /// The config file (same as -c).
        path: Option<String>,
    },
    /// Run several stream configs in one process; `inproc` connects them.
    Streams {
        #[command(flatten)]
        args: GlobalArgs,
        /// Stream config files or directories.
        paths: Vec<String>,
    },
    /// Check configs for errors, printing `file(line,col) message` lines.
    Lint {
        #[command(flatten)]
        args: GlobalArgs,
        /// Files, directories, `dir/...` to walk recursively, or globs; `.md` files have the
        /// YAML of their fenced `yaml`/`yml` blocks linted.
        paths: Vec<String>,
        /// Print linting errors for the presence of deprecated components.
        #[arg(long)]
        deprecated: bool,
        /// Print linting errors when components do not have labels.
        #[arg(long)]
        labels: bool,
        /// Do not produce lint errors when environment interpolations exist without defaults
        /// within configs but aren't defined.
        #[arg(long = "skip-env-var-check")]
        skip_env_var_check: bool,
    },
    /// List the available components and Bloblang functions and methods.
    List {
        /// inputs, processors, outputs, caches, rate-limits, bloblang-functions, bloblang-methods.
        kinds: Vec<String>,
        /// text, json or json-full.
        #[arg(long, default_value = "text")]
        format: String,
        /// Only the components of this status: stable, beta, experimental, deprecated.
        #[arg(long)]
        status: Option<String>,
    },
    /// Run a Bloblang mapping over stdin, one document per line.
    Blobl(blobl::BloblArgs),
}

impl GlobalArgs {
    /// Flags may come before the subcommand (`engine -c x run`) or after it (`engine run -c x`).
    fn merged(&self, sub: &GlobalArgs) -> GlobalArgs {
        GlobalArgs {
            config: sub.config.clone().or_else(|| self.config.clone()),
            resources: [self.resources.clone(), sub.resources.clone()].concat(),
            set: [self.set.clone(), sub.set.clone()].concat(),
            chilled: self.chilled || sub.chilled,
            env_file: [self.env_file.clone(), sub.env_file.clone()].concat(),
            log_level: sub.log_level.clone().or_else(|| self.log_level.clone()),
        }
    }
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
    let g = match &cli.command {
        Some(Command::Run { args, .. })
        | Some(Command::Streams { args, .. })
        | Some(Command::Lint { args, .. }) => cli.global.merged(args),
        _ => cli.global.clone(),
    };
    if let Err(e) = load_env_files(&g.env_file) {
        eprintln!("{e}");
        return 1;
    }
    match cli.command {
        None => run::run(&g, None),
        Some(Command::Run { path, .. }) => run::run(&g, path),
        Some(Command::Streams { paths, .. }) => run::streams(&g, &paths),
        Some(Command::Lint {
            paths,
            deprecated,
            labels,
            skip_env_var_check,
            ..
        }) => lint::lint(
            &g,
            &paths,
            crate::config::lint::LintOptions {
                deprecated,
                labels,
                skip_env_var_check,
            },
        ),
        Some(Command::List {
            kinds,
            format,
            status,
        }) => list::list(&kinds, &format, status.as_deref()),
        Some(Command::Blobl(args)) => blobl::run(&args),
    }
}

fn load_env_files(globs: &[String]) -> Result<(), String> {
    let files = crate::spec::expand_globs(globs)?;
    for f in files {
        // As Bento: a value in the file wins over the environment.
        dotenvy::from_path_override(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}
