// Temporary entry point for the `blobl` subcommand (the core developer replaces this file).
use clap::Parser;

#[derive(Parser)]
#[command(name = "engine")]
enum Cli {
    /// Run a Bloblang mapping over stdin lines.
    Blobl(engine::cli::blobl::BloblArgs),
}

fn main() {
    let code = match Cli::parse() {
        Cli::Blobl(a) => engine::cli::blobl::run(&a),
    };
    std::process::exit(code)
}
