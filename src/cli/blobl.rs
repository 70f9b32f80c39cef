//! `engine blobl`: run a mapping over newline-delimited documents from stdin.

use std::io::{BufRead, BufWriter, Read, Write};

use crate::bloblang::{parse_mapping, Mapping};
use crate::message::{Message, Value};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct BloblArgs {
    /// The mapping to execute.
    pub mapping: Option<String>,
    /// Read the mapping from a file.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Execute the mapping on the raw input, without parsing it as JSON.
    #[arg(short = 'r', long = "raw")]
    pub raw: bool,
    /// Pretty-print JSON output.
    #[arg(short = 'p', long = "pretty")]
    pub pretty: bool,
    /// Number of threads (accepted; execution is single threaded and ordered).
    #[arg(short = 't', long = "threads", default_value_t = 1)]
    pub threads: usize,
    /// Maximum length of one input line in bytes.
    #[arg(long = "max-token-length", default_value_t = 65536)]
    pub max_token_length: usize,
}

/// Run `blobl`; returns the process exit code.
pub fn run(args: &BloblArgs) -> i32 {
    let src = match (&args.file, &args.mapping) {
        (Some(f), _) => match std::fs::read_to_string(f) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("failed to read mapping file: {e}");
                return 1;
            }
        },
        (None, Some(m)) => m.clone(),
        (None, None) => {
            eprintln!("a mapping must be provided");
            return 1;
        }
    };
    let mapping = match parse_mapping(&src) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("failed to parse mapping: {e}");
            return 1;
        }
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let code = run_stream(&mapping, args, stdin.lock(), &mut out);
    let _ = out.flush();
    code
}

/// The stdin → stdout loop, separated for tests.
pub fn run_stream<R: BufRead, W: Write>(
    mapping: &Mapping,
    args: &BloblArgs,
    mut input: R,
    out: &mut W,
) -> i32 {
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let stderr = std::io::stderr();
    loop {
        line.clear();
        match (&mut input)
            .take(args.max_token_length as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(stderr.lock(), "failed to read input: {e}");
                return 1;
            }
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        } else if line.len() > args.max_token_length {
            let _ = writeln!(stderr.lock(), "failed to read input: token too long");
            return 1;
        }
        let msg = Message::from_bytes(line.clone());
        let raw_this;
        let this = if args.raw {
            raw_this = Value::String(String::from_utf8_lossy(&line).into_owned());
            Some(&raw_this)
        } else {
            None
        };
        let batch = std::slice::from_ref(&msg);
        buf.clear();
        match mapping.exec_root(batch, 0, this) {
            Ok(None) => {}
            Ok(Some(None)) => {
                // Root never assigned: echo the input (re-serialised when it parsed as JSON).
                match msg.structured() {
                    Ok(v) if !args.raw => write_value(&mut buf, v, args.pretty),
                    _ => buf.extend_from_slice(&line),
                }
            }
            Ok(Some(Some(v))) => write_value(&mut buf, &v, args.pretty),
            Err(e) => {
                let _ = writeln!(stderr.lock(), "failed to execute map: {e}");
                continue;
            }
        }
        buf.push(b'\n');
        if out.write_all(&buf).is_err() {
            return 1;
        }
    }
    0
}

fn write_value(buf: &mut Vec<u8>, v: &Value, pretty: bool) {
    match v {
        Value::String(s) => buf.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => buf.extend_from_slice(b),
        other if pretty => buf.extend_from_slice(other.to_json_pretty("  ").as_bytes()),
        other => other.write_json(buf),
    }
}
