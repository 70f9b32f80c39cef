//! `engine blobl`: run a mapping over newline-delimited documents from stdin.

use std::io::{BufWriter, Read, Write};

use bytes::Bytes;

use crate::components::inputs::scanner::{LineReader, READ_CHUNK};

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
    /// Flush stdout after every line (set when stdin is a terminal).
    #[arg(skip)]
    pub flush_each_line: bool,
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
    let mut args = args.clone();
    // Typing documents by hand should show each result straight away.
    args.flush_each_line |= std::io::IsTerminal::is_terminal(&stdin);
    let code = run_stream(&mapping, &args, stdin.lock(), &mut out);
    let _ = out.flush();
    code
}

/// Run the mapping on one input line. The output line (with its newline) is appended to
/// `buf`; an execution error is returned instead.
fn process_line(
    mapping: &Mapping,
    args: &BloblArgs,
    line: &Bytes,
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    let msg = Message::from_bytes(line.clone());
    let raw_this;
    let this = if args.raw {
        raw_this = Value::Bytes(line.to_vec());
        Some(&raw_this)
    } else {
        None
    };
    let batch = std::slice::from_ref(&msg);
    // A mapping that can edit its input in place gets the parsed line by value: no copy.
    let owned = match (this, mapping.runs_in_place()) {
        (None, true) => Value::from_json_slice(line).ok(),
        _ => None,
    };
    let result = match owned {
        Some(v) => mapping.exec_root_owned(batch, 0, v),
        None => mapping.exec_root(batch, 0, this),
    };
    match result {
        Ok(None) => {}
        Ok(Some(None)) => {
            // Root never assigned: echo the input (re-serialised when it parsed as JSON).
            match msg.structured() {
                Ok(v) if !args.raw => write_value(buf, v, args.pretty),
                _ => buf.extend_from_slice(line),
            }
        }
        Ok(Some(Some(v))) => write_value(buf, &v, args.pretty),
        Err(e) => return Err(format!("failed to execute map: {e}")),
    }
    buf.push(b'\n');
    Ok(())
}

/// The stdin → stdout loop, separated for tests. With `threads > 1` lines are processed in
/// parallel chunks; output order is kept.
pub fn run_stream<R: Read, W: Write>(
    mapping: &Mapping,
    args: &BloblArgs,
    input: R,
    out: &mut W,
) -> i32 {
    let stderr = std::io::stderr();
    let mut lines = LineReader::new(input, args.max_token_length, None);
    if args.threads > 1 {
        return run_parallel(mapping, args, &mut lines, out);
    }
    // Output lines gather here and go out in blocks of about READ_CHUNK bytes.
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK + 4096);
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let _ = out.write_all(&buf);
                let _ = writeln!(stderr.lock(), "failed to read input: {e}");
                return 1;
            }
        };
        let mark = buf.len();
        if let Err(e) = process_line(mapping, args, &line, &mut buf) {
            buf.truncate(mark);
            let _ = writeln!(stderr.lock(), "{e}");
            continue;
        }
        if buf.len() >= READ_CHUNK || args.flush_each_line {
            if out.write_all(&buf).is_err() {
                return 1;
            }
            buf.clear();
            if args.flush_each_line && out.flush().is_err() {
                return 1;
            }
        }
    }
    if out.write_all(&buf).is_err() {
        return 1;
    }
    0
}

fn run_parallel<R: Read, W: Write>(
    mapping: &Mapping,
    args: &BloblArgs,
    lines: &mut LineReader<R>,
    out: &mut W,
) -> i32 {
    const CHUNK: usize = 512;
    let threads = args.threads.min(64);
    let stderr = std::io::stderr();
    let mut done = false;
    while !done {
        // Read up to threads × CHUNK lines.
        let mut chunks: Vec<Vec<Bytes>> = Vec::with_capacity(threads);
        'fill: for _ in 0..threads {
            let mut chunk = Vec::with_capacity(CHUNK);
            for _ in 0..CHUNK {
                match lines.next_line() {
                    Ok(Some(line)) => chunk.push(line),
                    Ok(None) => {
                        done = true;
                        chunks.push(chunk);
                        break 'fill;
                    }
                    Err(e) => {
                        let _ = writeln!(stderr.lock(), "failed to read input: {e}");
                        return 1;
                    }
                }
            }
            chunks.push(chunk);
        }
        let results: Vec<(Vec<u8>, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    s.spawn(move || {
                        let mut buf = Vec::with_capacity(chunk.len() * 64);
                        let mut errs = Vec::new();
                        for line in chunk {
                            let mark = buf.len();
                            if let Err(e) = process_line(mapping, args, line, &mut buf) {
                                buf.truncate(mark);
                                errs.push(e);
                            }
                        }
                        (buf, errs)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (buf, errs) in results {
            for e in errs {
                let _ = writeln!(stderr.lock(), "{e}");
            }
            if out.write_all(&buf).is_err() {
                return 1;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(mapping: &str, input: &str, args: BloblArgs) -> String {
        let m = parse_mapping(mapping).unwrap();
        let mut out = Vec::new();
        let code = run_stream(&m, &args, input.as_bytes(), &mut out);
        assert_eq!(code, 0);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_output_line_per_input_line() {
        let args = BloblArgs::default();
        let out = run_with(
            "root = if this.a == 2 { deleted() } else { this.a }",
            "{\"a\":1}\n{\"a\":2}\n{\"a\":\"x\"}\nnot json\n",
            BloblArgs {
                max_token_length: 1000,
                ..args
            },
        );
        // deleted ⇒ empty line; execution error ⇒ nothing printed for that line.
        assert_eq!(out, "1\n\nx\n");
    }

    #[test]
    fn unassigned_root_echoes_input() {
        let args = BloblArgs {
            max_token_length: 1000,
            ..Default::default()
        };
        let out = run_with("meta x = 1", "{\"b\":1, \"a\":2}\nraw text\n", args);
        assert_eq!(out, "{\"a\":2,\"b\":1}\nraw text\n");
    }

    #[test]
    fn pretty_and_threads() {
        let args = BloblArgs {
            max_token_length: 1000,
            pretty: true,
            ..Default::default()
        };
        assert_eq!(
            run_with("root = this", "{\"a\":[1]}\n", args),
            "{\n  \"a\": [\n    1\n  ]\n}\n"
        );
        let input: String = (0..2000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let want: String = (0..2000).map(|i| format!("{}\n", i * 2)).collect();
        let args = BloblArgs {
            max_token_length: 1000,
            threads: 3,
            ..Default::default()
        };
        assert_eq!(run_with("root = this.n * 2", &input, args), want);
    }
}
