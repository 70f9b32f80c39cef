//! Bento's scanners: how the bytes of a `stdin` or `file` input become messages (`lines` with
//! its options, `csv`, `json_documents`, `chunker`, `re_match`, `to_the_end`, `skip_bom`,
//! `decompress`), and the deprecated `codec` field that named them.
//!
//! Plain `lines` is read on the input's own task (the fast path: `stdin` and `file` split the
//! blocks they read with [`LineReader::next_line_async`], no line copied). Every other scanner
//! runs on a thread of its own over a blocking reader, so that it can be written with the
//! well-kept synchronous readers (csv, flate2, serde_json's stream) and so that a read the
//! input loop cancels never loses half a record: messages cross to the input on a channel.

use std::io::{BufRead, BufReader, Read};

use bytes::{Buf, Bytes, BytesMut};

use regex::bytes::Regex;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::message::{Message, Value};
use crate::spec::{component_config, FieldSpec};

/// Bento's `max_buffer_size` default: a line or match longer than this is an error.
const DEFAULT_MAX_BUFFER: usize = 65536;

#[derive(Clone, Debug)]
pub enum Scanner {
    Lines {
        /// `None`: `\n`, with a `\r` before it removed.
        delimiter: Option<Vec<u8>>,
        max_buffer: usize,
        omit_empty: bool,
    },
    ToTheEnd,
    Chunker(usize),
    JsonDocuments,
    Csv {
        delimiter: u8,
        header: bool,
        lazy_quotes: bool,
        continue_on_error: bool,
    },
    ReMatch {
        pattern: Regex,
        max_buffer: usize,
    },
    SkipBom(Box<Scanner>),
    Decompress {
        algorithm: String,
        into: Box<Scanner>,
    },
}

/// The child scanner of `skip_bom` and `decompress`.
fn into_field() -> FieldSpec {
    FieldSpec::any(
        "into",
        "The child scanner to feed the resulting stream into.",
    )
    .default(serde_json::json!({"to_the_end": {}}))
}

pub(crate) fn scanner_field() -> FieldSpec {
    FieldSpec::object(
        "scanner",
        "How the stream of bytes is split into messages; exactly one scanner.",
        vec![
            FieldSpec::object("lines", "Split an input stream into a message per line of data.", LinesConfig::fields()).optional(),
            FieldSpec::object("csv", "Consume comma-separated values row by row; with a header row each message is an object keyed by it.", CsvConfig::fields()).optional(),
            FieldSpec::object("chunker", "Split an input stream into chunks of a given number of bytes.", ChunkerConfig::fields()).optional(),
            FieldSpec::object("json_documents", "Consumes a stream of one or more JSON documents.", vec![]).optional(),
            FieldSpec::object("re_match", "Split an input stream into segments matching against a regular expression.", ReMatchConfig::fields()).optional(),
            FieldSpec::object("to_the_end", "Read the input stream all the way until the end and deliver it as a single message.", vec![]).optional(),
            FieldSpec::object("skip_bom", "Skip one or more byte order marks for each opened child scanner.", IntoConfig::fields()).optional(),
            FieldSpec::object("decompress", "Decompress the stream of bytes according to an algorithm, before feeding it into a child scanner.", DecompressConfig::fields()).optional(),
            FieldSpec::refused("tar", "the tar scanner is not built"),
            FieldSpec::refused("switch", "the switch scanner is not built"),
        ],
    )
    .default(serde_json::json!({"lines": {}}))
    .advanced()
}

/// Bento's deprecated `codec` field of the `stdin` and `file` inputs, which a `scanner` replaced.
pub(crate) fn codec_field() -> FieldSpec {
    FieldSpec::string("codec", "Deprecated (Bento's older form of `scanner`, which it overrides): `lines`, `all-bytes`, `delim:x`, `chunker:N`, `csv`, `csv:x`, or one of `gzip`, `pgzip`, `zlib`, `bzip2`, `flate`, `snappy`, `lz4`, `zstd` followed by `/` and one of those.")
        .optional()
        .advanced()
}

/// `continue_on_error`: a row that does not parse is an empty message flagged with why.
fn failed_row(text: String) -> Message {
    let mut m = Message::from_bytes(Vec::new());
    m.set_error(crate::message::MessageError {
        text,
        label: String::new(),
        path: String::new(),
        component: "csv".into(),
    });
    m
}

/// The `scanner` value as Bento writes it: a map holding exactly one scanner.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum ScannerConfig {
    #[serde(rename = "lines")]
    Lines(LinesConfig),
    #[serde(rename = "csv")]
    Csv(CsvConfig),
    #[serde(rename = "chunker")]
    Chunker(ChunkerConfig),
    #[serde(rename = "json_documents")]
    JsonDocuments {},
    #[serde(rename = "re_match")]
    ReMatch(ReMatchConfig),
    #[serde(rename = "to_the_end")]
    ToTheEnd {},
    #[serde(rename = "skip_bom")]
    SkipBom(IntoConfig),
    #[serde(rename = "decompress")]
    Decompress(DecompressConfig),
}

component_config! {
    struct ChunkerConfig {
        size: i64 = int("The size of each chunk in bytes."),
    }
}

component_config! {
    struct DecompressConfig {
        algorithm: String = string("One of `gzip`, `pgzip`, `zlib`, `bzip2`, `flate`, `snappy`, `lz4`, `zstd`.").options(&["gzip", "pgzip", "zlib", "bzip2", "flate", "snappy", "lz4", "zstd"]),
        #[serde(default)]
        into: Option<serde_json::Value> = spec(into_field()),
    }
}

component_config! {
    #[serde(default)]
    struct LinesConfig {
        custom_delimiter: Option<String> = string("Use a provided custom delimiter for detecting the end of a line rather than a single line break.").optional(),
        max_buffer_size: i64 = int("Set the maximum buffer size for storing line data, this limits the maximum size that a line can be without causing an error.").default(DEFAULT_MAX_BUFFER as i64),
        omit_empty: bool = bool("Omit empty lines.").default(false),
    }
}

impl Default for LinesConfig {
    fn default() -> Self {
        LinesConfig {
            custom_delimiter: None,
            max_buffer_size: DEFAULT_MAX_BUFFER as i64,
            omit_empty: false,
        }
    }
}

component_config! {
    #[serde(default)]
    struct CsvConfig {
        custom_delimiter: Option<String> = string("Use a provided custom delimiter instead of the default comma.").optional(),
        parse_header_row: bool = bool("Whether to reference the first row as a header row. If set to true the output structure for messages will be an object where field keys are determined by the header row. Otherwise, each message will consist of an array of values from the corresponding CSV row.").default(true),
        lazy_quotes: bool = bool("If set to `true`, a quote may appear in an unquoted field and a non-doubled quote may appear in a quoted field. engine's CSV reader always takes a stray quote in an unquoted field as text: with `false` it does not refuse such a row as Go's does.").default(false),
        continue_on_error: bool = bool("If a row fails to parse due to any error emit an empty message marked with the error and then continue consuming subsequent rows when possible.").default(false),
    }
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig {
            custom_delimiter: None,
            parse_header_row: true,
            lazy_quotes: false,
            continue_on_error: false,
        }
    }
}

component_config! {
    struct ReMatchConfig {
        pattern: String = string("The pattern to match against.").example("(?m)^\\d\\d:\\d\\d:\\d\\d"),
        #[serde(default = "default_max_buffer")]
        max_buffer_size: i64 = int("Set the maximum buffer size for storing line data, this limits the maximum size that a message can be without causing an error.").default(DEFAULT_MAX_BUFFER as i64),
    }
}

fn default_max_buffer() -> i64 {
    DEFAULT_MAX_BUFFER as i64
}

component_config! {
    #[derive(Default)]
    #[serde(default)]
    struct IntoConfig {
        into: Option<serde_json::Value> = spec(into_field()),
    }
}

fn positive(n: i64, field: &str) -> Result<usize, String> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{field}: expected a positive number, got {n}"))
}

impl Scanner {
    /// The scanner a `scanner` value names (after defaults), or the `codec` that overrides it.
    pub fn from_config(
        scanner: &serde_json::Value,
        codec: Option<&str>,
    ) -> Result<Scanner, String> {
        match codec.filter(|c| !c.is_empty()) {
            Some(c) => {
                tracing::warn!("the codec field is deprecated: use scanner");
                Scanner::from_codec(c)
            }
            None => Scanner::parse(scanner),
        }
    }

    pub fn parse(v: &serde_json::Value) -> Result<Scanner, String> {
        let c: ScannerConfig =
            serde_json::from_value(v.clone()).map_err(|e| format!("scanner: {e}"))?;
        let nested = |into: Option<serde_json::Value>| -> Result<Box<Scanner>, String> {
            match into {
                None | Some(serde_json::Value::Null) => Ok(Box::new(Scanner::ToTheEnd)),
                Some(inner) => Scanner::parse(&inner).map(Box::new),
            }
        };
        Ok(match c {
            ScannerConfig::Lines(l) => Scanner::Lines {
                delimiter: l
                    .custom_delimiter
                    .filter(|d| !d.is_empty())
                    .map(String::into_bytes),
                max_buffer: positive(l.max_buffer_size, "lines.max_buffer_size")?,
                omit_empty: l.omit_empty,
            },
            ScannerConfig::ToTheEnd {} => Scanner::ToTheEnd,
            ScannerConfig::JsonDocuments {} => Scanner::JsonDocuments,
            ScannerConfig::Chunker(c) => Scanner::Chunker(positive(c.size, "chunker.size")?),
            ScannerConfig::Csv(c) => Scanner::Csv {
                delimiter: match c.custom_delimiter.as_deref() {
                    None | Some("") => b',',
                    Some(d) if d.len() == 1 => d.as_bytes()[0],
                    Some(d) => {
                        return Err(format!(
                            "csv.custom_delimiter: expected one character, got {d:?}"
                        ))
                    }
                },
                header: c.parse_header_row,
                lazy_quotes: c.lazy_quotes,
                continue_on_error: c.continue_on_error,
            },
            ScannerConfig::ReMatch(r) => Scanner::ReMatch {
                pattern: Regex::new(&r.pattern).map_err(|e| format!("re_match.pattern: {e}"))?,
                max_buffer: positive(r.max_buffer_size, "re_match.max_buffer_size")?,
            },
            ScannerConfig::SkipBom(i) => Scanner::SkipBom(nested(i.into)?),
            ScannerConfig::Decompress(d) => Scanner::Decompress {
                algorithm: d.algorithm,
                into: nested(d.into)?,
            },
        })
    }

    /// Bento's codec names, as its `codec` field took them.
    pub fn from_codec(codec: &str) -> Result<Scanner, String> {
        if let Some((algorithm, rest)) = codec.split_once('/') {
            return Ok(Scanner::Decompress {
                algorithm: algorithm.to_owned(),
                into: Box::new(Scanner::from_codec(rest)?),
            });
        }
        let lines = |delimiter: Option<Vec<u8>>| Scanner::Lines {
            delimiter,
            max_buffer: DEFAULT_MAX_BUFFER,
            omit_empty: false,
        };
        Ok(match codec {
            "lines" => lines(None),
            "all-bytes" => Scanner::ToTheEnd,
            "csv" => Scanner::Csv {
                delimiter: b',',
                header: true,
                lazy_quotes: false,
                continue_on_error: false,
            },
            c => match (
                c.strip_prefix("delim:"),
                c.strip_prefix("chunker:"),
                c.strip_prefix("csv:"),
            ) {
                (Some(d), _, _) if !d.is_empty() => lines(Some(d.as_bytes().to_vec())),
                (_, Some(n), _) => Scanner::Chunker(
                    n.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("codec {c}: expected a chunk size"))?,
                ),
                (_, _, Some(d)) if d.len() == 1 => Scanner::Csv {
                    delimiter: d.as_bytes()[0],
                    header: true,
                    lazy_quotes: false,
                    continue_on_error: false,
                },
                _ => return Err(format!("codec {c} is not supported by engine")),
            },
        })
    }

    /// Plain `lines` (newline delimited, empty lines kept): the inputs read it themselves,
    /// without a thread; the longest line it takes.
    pub fn plain_lines(&self) -> Option<usize> {
        match self {
            Scanner::Lines {
                delimiter: None,
                omit_empty: false,
                max_buffer,
            } => Some(*max_buffer),
            _ => None,
        }
    }

    /// Scan `r` on a thread of its own; messages (or the error that ended the scan) arrive on
    /// the channel, which closes at the end of the data.
    pub fn spawn(self, r: Box<dyn Read + Send>) -> mpsc::Receiver<Result<Message, String>> {
        let (tx, rx) = mpsc::channel(256);
        std::thread::spawn(move || {
            let mut emit = |m: Result<Message, String>| tx.blocking_send(m).is_ok();
            if let Err(e) = self.scan(r, &mut emit) {
                emit(Err(e));
            }
        });
        rx
    }

    /// Feed every message of `r` to `emit`, stopping early when it returns false.
    pub fn scan(
        &self,
        r: Box<dyn Read + Send>,
        emit: &mut dyn FnMut(Result<Message, String>) -> bool,
    ) -> Result<(), String> {
        let io = |e: std::io::Error| e.to_string();
        match self {
            Scanner::Lines {
                delimiter,
                max_buffer,
                omit_empty,
            } => {
                let mut lines = LineReader::new(r, *max_buffer, delimiter.clone());
                while let Some(line) = lines.next_line()? {
                    if *omit_empty && line.is_empty() {
                        continue;
                    }
                    if !emit(Ok(Message::from_bytes(line))) {
                        break;
                    }
                }
                Ok(())
            }
            Scanner::ToTheEnd => {
                let mut all = Vec::new();
                let mut r = r;
                r.read_to_end(&mut all).map_err(io)?;
                emit(Ok(Message::from_bytes(all)));
                Ok(())
            }
            Scanner::Chunker(size) => {
                let mut r = r;
                loop {
                    let mut chunk = Vec::with_capacity(*size);
                    let n = (&mut r)
                        .take(*size as u64)
                        .read_to_end(&mut chunk)
                        .map_err(io)?;
                    if n == 0 || !emit(Ok(Message::from_bytes(chunk))) || n < *size {
                        return Ok(());
                    }
                }
            }
            Scanner::JsonDocuments => {
                let docs = serde_json::Deserializer::from_reader(BufReader::new(r))
                    .into_iter::<serde_json::Value>();
                for doc in docs {
                    let doc = doc.map_err(|e| e.to_string())?;
                    if !emit(Ok(Message::from_value(Value::from(doc)))) {
                        break;
                    }
                }
                Ok(())
            }
            Scanner::Csv {
                delimiter,
                header,
                lazy_quotes,
                continue_on_error,
            } => {
                // lazy_quotes: the csv crate reads a stray quote as text already; strictness is
                // Go's, so both settings read what Go's lazy mode reads.
                let _ = lazy_quotes;
                let mut rdr = csv::ReaderBuilder::new()
                    .delimiter(*delimiter)
                    .has_headers(false)
                    .flexible(*continue_on_error)
                    .from_reader(r);
                let mut names: Option<Vec<String>> = None;
                for rec in rdr.records() {
                    let rec = match rec {
                        Ok(r) => r,
                        Err(e) if *continue_on_error => {
                            if !emit(Ok(failed_row(e.to_string()))) {
                                break;
                            }
                            continue;
                        }
                        Err(e) => return Err(e.to_string()),
                    };
                    let fields: Vec<String> = rec.iter().map(str::to_owned).collect();
                    if *header && names.is_none() {
                        names = Some(fields);
                        continue;
                    }
                    let value = match &names {
                        Some(names) => {
                            if names.len() != fields.len() {
                                let e = format!(
                                    "record on line {}: wrong number of fields",
                                    rec.position().map_or(0, |p| p.line())
                                );
                                if *continue_on_error {
                                    if !emit(Ok(failed_row(e))) {
                                        break;
                                    }
                                    continue;
                                }
                                return Err(e);
                            }
                            serde_json::Value::Object(
                                names
                                    .iter()
                                    .cloned()
                                    .zip(fields.into_iter().map(serde_json::Value::String))
                                    .collect(),
                            )
                        }
                        None => serde_json::Value::Array(
                            fields.into_iter().map(serde_json::Value::String).collect(),
                        ),
                    };
                    if !emit(Ok(Message::from_value(Value::from(value)))) {
                        break;
                    }
                }
                Ok(())
            }
            Scanner::ReMatch {
                pattern,
                max_buffer,
            } => {
                let mut r = r;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let mut eof = false;
                loop {
                    // A message runs from one match to the start of the next.
                    let starts: Vec<usize> = pattern
                        .find_iter(&buf)
                        .map(|m| m.start())
                        .filter(|s| *s > 0)
                        .collect();
                    if let Some(&cut) = starts.first() {
                        let rest = buf.split_off(cut);
                        let msg = std::mem::replace(&mut buf, rest);
                        if !emit(Ok(Message::from_bytes(msg))) {
                            return Ok(());
                        }
                        continue;
                    }
                    if eof {
                        if !buf.is_empty() {
                            emit(Ok(Message::from_bytes(buf)));
                        }
                        return Ok(());
                    }
                    if buf.len() > *max_buffer {
                        return Err(TOKEN_TOO_LONG.into());
                    }
                    let n = r.read(&mut chunk).map_err(io)?;
                    eof = n == 0;
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
            Scanner::SkipBom(into) => {
                let mut r = BufReader::new(r);
                let head = r.fill_buf().map_err(io)?;
                if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    r.consume(3);
                }
                into.scan(Box::new(r), emit)
            }
            Scanner::Decompress { algorithm, into } => {
                let r: Box<dyn Read + Send> = match algorithm.as_str() {
                    "gzip" | "pgzip" => Box::new(flate2::read::MultiGzDecoder::new(r)),
                    "zlib" => Box::new(flate2::read::ZlibDecoder::new(r)),
                    "flate" => Box::new(flate2::read::DeflateDecoder::new(r)),
                    "bzip2" => Box::new(bzip2::read::MultiBzDecoder::new(r)),
                    "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(r)),
                    "snappy" => Box::new(snap::read::FrameDecoder::new(r)),
                    "zstd" => Box::new(
                        ruzstd::decoding::StreamingDecoder::new(r).map_err(|e| e.to_string())?,
                    ),
                    other => return Err(format!("decompress: unrecognised algorithm {other}")),
                };
                into.scan(r, emit)
            }
        }
    }
}

/// Go's `bufio.Scanner` error for a token longer than its buffer, which Bento reports as is.
pub(crate) const TOKEN_TOO_LONG: &str = "bufio.Scanner: token too long";

/// Bytes a [`LineReader`] reads at a time.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The lines of a reader, each a [`Bytes`] view of one shared read buffer: a line becomes its
/// message's payload without being copied (the buffer's space is reused once its lines are
/// dropped). Lines end at `delimiter`, or at `\n` with a `\r` before it dropped, as Go's
/// `bufio.ScanLines`; a line longer than `max` is [`TOKEN_TOO_LONG`].
pub(crate) struct LineReader<R> {
    input: R,
    buf: BytesMut,
    delimiter: Option<Vec<u8>>,
    /// How far `buf` has been searched for a delimiter without finding one.
    searched: usize,
    eof: bool,
    max: usize,
    /// Dropping the rest of a line longer than `max` until its delimiter.
    skipping: bool,
}

/// What a [`LineReader`]'s buffer gives next, before reading more.
enum Buffered {
    Line(Bytes),
    End,
    NeedsInput,
}

impl<R> LineReader<R> {
    pub(crate) fn new(input: R, max: usize, delimiter: Option<Vec<u8>>) -> LineReader<R> {
        LineReader {
            input,
            buf: BytesMut::with_capacity(READ_CHUNK),
            delimiter,
            searched: 0,
            eof: false,
            max,
            skipping: false,
        }
    }

    /// The next line if the buffer holds the whole of it (or the input has ended). After a
    /// line too long to keep (the error), the next line is the one after it.
    fn buffered(&mut self) -> Result<Buffered, String> {
        loop {
            let rest = &self.buf[self.searched..];
            let (found, delimiter_len) = match &self.delimiter {
                None => (memchr::memchr(b'\n', rest), 1),
                Some(d) => (memchr::memmem::find(rest, d), d.len()),
            };
            if let Some(i) = found {
                let end = self.searched + i;
                self.searched = 0;
                if std::mem::take(&mut self.skipping) {
                    self.buf.advance(end + delimiter_len);
                    continue;
                }
                if end > self.max {
                    self.buf.advance(end + delimiter_len);
                    return Err(TOKEN_TOO_LONG.into());
                }
                let mut line = self.buf.split_to(end + delimiter_len);
                line.truncate(end);
                return Ok(Buffered::Line(self.finish(line)));
            }
            if self.skipping {
                // Only the start of a delimiter split between reads is worth keeping.
                let keep = delimiter_len - 1;
                self.buf.advance(self.buf.len().saturating_sub(keep));
                self.searched = 0;
                if !self.eof {
                    return Ok(Buffered::NeedsInput);
                }
                self.skipping = false;
                self.buf.clear();
                return Ok(Buffered::End);
            }
            // A delimiter may start in what was read and end in what comes next.
            self.searched = self.buf.len().saturating_sub(delimiter_len - 1);
            if self.buf.len() > self.max {
                // The rest of this line is dropped as it arrives.
                self.skipping = true;
                return Err(TOKEN_TOO_LONG.into());
            }
            if !self.eof {
                return Ok(Buffered::NeedsInput);
            }
            self.searched = 0;
            if self.buf.is_empty() {
                return Ok(Buffered::End);
            }
            let line = self.buf.split();
            return Ok(Buffered::Line(self.finish(line)));
        }
    }

    /// A line as it is handed out: without the `\r` of a `\r\n` end (default delimiter only).
    fn finish(&self, mut line: BytesMut) -> Bytes {
        if self.delimiter.is_none() && line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        line.freeze()
    }
}

impl<R: Read> LineReader<R> {
    /// The next line without its delimiter; `Ok(None)` at the end of the input.
    pub(crate) fn next_line(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            match self.buffered()? {
                Buffered::Line(line) => return Ok(Some(line)),
                Buffered::End => return Ok(None),
                Buffered::NeedsInput => {}
            }
            let len = self.buf.len();
            self.buf.resize(len + READ_CHUNK, 0);
            let read = loop {
                match self.input.read(&mut self.buf[len..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            match read {
                Ok(n) => {
                    self.buf.truncate(len + n);
                    self.eof = n == 0;
                }
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e.to_string());
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// [`LineReader::next_line`] over an async reader. Cancel-safe: a read dropped half way
    /// leaves what it had read in the buffer, and the next call goes on from there.
    pub(crate) async fn next_line_async(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            match self.buffered()? {
                Buffered::Line(line) => return Ok(Some(line)),
                Buffered::End => return Ok(None),
                Buffered::NeedsInput => {}
            }
            self.buf.reserve(READ_CHUNK);
            let n = self.input.read_buf(&mut self.buf).await;
            self.eof = n.map_err(|e| e.to_string())? == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::{LineReader, Scanner, READ_CHUNK, TOKEN_TOO_LONG};

    fn scan(s: &Scanner, data: &[u8]) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        let r = s.scan(Box::new(std::io::Cursor::new(data.to_vec())), &mut |m| {
            out.push(m.map(|m| m.as_str_lossy().into_owned()));
            true
        });
        if let Err(e) = r {
            out.push(Err(e));
        }
        out
    }

    fn oks(v: &[&str]) -> Vec<Result<String, String>> {
        v.iter().map(|s| Ok(s.to_string())).collect()
    }

    fn parse(j: serde_json::Value) -> Scanner {
        Scanner::parse(&j).unwrap()
    }

    #[test]
    fn lines_take_a_custom_delimiter_a_buffer_limit_and_omit_empty() {
        let s = parse(serde_json::json!({"lines": {"custom_delimiter": "||", "omit_empty": true}}));
        assert_eq!(scan(&s, b"a||b|c||||d"), oks(&["a", "b|c", "d"]));
        let s = parse(serde_json::json!({"lines": {}}));
        assert_eq!(scan(&s, b"a\r\n\nb"), oks(&["a", "", "b"]));
        let s = parse(serde_json::json!({"lines": {"max_buffer_size": 4}}));
        assert_eq!(
            scan(&s, b"abcd\nabcdef\n"),
            vec![
                Ok("abcd".into()),
                Err("bufio.Scanner: token too long".into())
            ]
        );
    }

    #[test]
    fn csv_rows_become_objects_or_arrays() {
        let s = parse(serde_json::json!({"csv": {}}));
        assert_eq!(
            scan(&s, b"a,b\n1,\"x,y\"\n2,z\n"),
            oks(&[r#"{"a":"1","b":"x,y"}"#, r#"{"a":"2","b":"z"}"#])
        );
        let s =
            parse(serde_json::json!({"csv": {"custom_delimiter": ";", "parse_header_row": false}}));
        assert_eq!(scan(&s, b"1;2\n"), oks(&[r#"["1","2"]"#]));
        let s = parse(serde_json::json!({"csv": {"continue_on_error": true}}));
        let mut flagged = Vec::new();
        let _ = s.scan(
            Box::new(std::io::Cursor::new(b"a,b\n1\n2,3\n".to_vec())),
            &mut |m| {
                flagged.push(m.map(|m| m.error().is_some()));
                true
            },
        );
        assert_eq!(flagged, vec![Ok(true), Ok(false)]);
        let out = scan(&s, b"a,b\n1\n2,3\n");
        assert_eq!(out[1], Ok(r#"{"a":"2","b":"3"}"#.into()));
    }

    #[test]
    fn documents_chunks_matches_and_the_whole() {
        let s = parse(serde_json::json!({"json_documents": {}}));
        assert_eq!(
            scan(&s, b"{\"a\":1} {\"b\":2}\n[3]"),
            oks(&[r#"{"a":1}"#, r#"{"b":2}"#, "[3]"])
        );
        let s = parse(serde_json::json!({"chunker": {"size": 3}}));
        assert_eq!(scan(&s, b"abcdefgh"), oks(&["abc", "def", "gh"]));
        let s = parse(serde_json::json!({"re_match": {"pattern": "(?m)^\\d\\d:"}}));
        assert_eq!(
            scan(&s, b"10: one\nmore\n11: two\n"),
            oks(&["10: one\nmore\n", "11: two\n"])
        );
        let s = parse(serde_json::json!({"to_the_end": {}}));
        assert_eq!(scan(&s, b"a\nb\n"), oks(&["a\nb\n"]));
    }

    #[test]
    fn boms_are_skipped_and_streams_decompressed() {
        let s = parse(serde_json::json!({"skip_bom": {"into": {"lines": {}}}}));
        assert_eq!(scan(&s, b"\xEF\xBB\xBFa\nb\n"), oks(&["a", "b"]));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"x\ny\n").unwrap();
        let data = gz.finish().unwrap();
        let s =
            parse(serde_json::json!({"decompress": {"algorithm": "gzip", "into": {"lines": {}}}}));
        assert_eq!(scan(&s, &data), oks(&["x", "y"]));
        let s = parse(serde_json::json!({"decompress": {"algorithm": "gzip"}}));
        assert_eq!(scan(&s, &data), oks(&["x\ny\n"]));
    }

    #[test]
    fn codecs_name_scanners_as_bentos_did() {
        assert_eq!(
            Scanner::from_codec("lines").unwrap().plain_lines(),
            Some(65536)
        );
        assert_eq!(
            scan(&Scanner::from_codec("delim:;").unwrap(), b"a;b"),
            oks(&["a", "b"])
        );
        assert_eq!(
            scan(&Scanner::from_codec("all-bytes").unwrap(), b"a;b"),
            oks(&["a;b"])
        );
        assert_eq!(
            scan(&Scanner::from_codec("chunker:2").unwrap(), b"abc"),
            oks(&["ab", "c"])
        );
        assert!(Scanner::from_codec("tar").is_err());
        assert!(Scanner::parse(&serde_json::json!({"lines": {}, "csv": {}})).is_err());
    }

    /// Hands out its bytes a few at a time, as a pipe may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all_lines(input: &[u8], step: usize, max: usize) -> Vec<Result<String, String>> {
        let mut lines = LineReader::new(Trickle(input, step), max, None);
        let mut got = Vec::new();
        loop {
            match lines.next_line() {
                Ok(Some(l)) => got.push(Ok(String::from_utf8_lossy(&l).into_owned())),
                Ok(None) => return got,
                Err(e) => {
                    got.push(Err(e));
                    return got;
                }
            }
        }
    }

    #[tokio::test]
    async fn the_async_reader_splits_as_the_blocking_one_and_a_dropped_read_loses_nothing() {
        use tokio::io::AsyncWriteExt;
        let input = b"{\"a\":1}\r\n\nsecond line\nlast\r";
        for step in [1, 3, 64] {
            // A duplex holds at most `step` bytes: every read gets that many at most.
            let (mut tx, rx) = tokio::io::duplex(step);
            let writer = tokio::spawn(async move { tx.write_all(input).await });
            let mut lines = LineReader::new(rx, 100, None);
            let mut got = Vec::new();
            while let Some(l) = lines.next_line_async().await.unwrap() {
                got.push(String::from_utf8_lossy(&l).into_owned());
            }
            assert_eq!(
                got,
                ["{\"a\":1}", "", "second line", "last"],
                "reads of {step}"
            );
            writer.await.unwrap().unwrap();
        }
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut lines = LineReader::new(rx, 100, None);
        tx.write_all(b"hal").await.unwrap();
        // The read sees half a line, then is dropped (as the input loop's select! may).
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            lines.next_line_async(),
        )
        .await;
        assert!(cancelled.is_err());
        tx.write_all(b"f a line\nnext").await.unwrap();
        drop(tx);
        let mut rest = Vec::new();
        while let Some(l) = lines.next_line_async().await.unwrap() {
            rest.push(l);
        }
        assert_eq!(rest, [&b"half a line"[..], b"next"]);
        // A line longer than the maximum is the error, whether its end came in the same read
        // or much later; the line after it is read as usual (as Bento's plain lines go on).
        for step in [1, 4, 64] {
            let (mut tx, rx) = tokio::io::duplex(step);
            let writer =
                tokio::spawn(async move { tx.write_all(b"abc\nabcdefgh\nxy\nabcdefgh").await });
            let mut lines = LineReader::new(rx, 5, None);
            let mut got = Vec::new();
            loop {
                match lines.next_line_async().await {
                    Ok(Some(l)) => got.push(Ok(String::from_utf8_lossy(&l).into_owned())),
                    Ok(None) => break,
                    Err(e) => got.push(Err(e)),
                }
            }
            let want = [
                Ok("abc".to_owned()),
                Err(TOKEN_TOO_LONG.to_owned()),
                Ok("xy".to_owned()),
                Err(TOKEN_TOO_LONG.to_owned()),
            ];
            assert_eq!(got, want, "reads of {step}");
            writer.await.unwrap().unwrap();
        }
    }

    #[test]
    fn lines_split_as_go_scans_them_whatever_the_reads() {
        let input = b"{\"a\":1}\r\n\nsecond line\nlast\r";
        let want: Vec<Result<String, String>> = ["{\"a\":1}", "", "second line", "last"]
            .iter()
            .map(|s| Ok(s.to_string()))
            .collect();
        for step in [1, 2, 3, 7, 64, READ_CHUNK] {
            assert_eq!(all_lines(input, step, 100), want, "reads of {step} bytes");
        }
        // A line of exactly the maximum passes; one byte more is Go's "token too long", also
        // when the line has no newline yet.
        assert_eq!(
            all_lines(b"abcd\nx", 1, 4),
            vec![Ok("abcd".into()), Ok("x".into())]
        );
        assert_eq!(
            all_lines(b"ab\nabcde\nx", 3, 4),
            vec![Ok("ab".into()), Err(TOKEN_TOO_LONG.into())]
        );
        assert_eq!(
            all_lines(b"abcdefgh", 2, 4),
            vec![Err(TOKEN_TOO_LONG.into())]
        );
        // Lines longer than one read of the buffer.
        let long = format!("{}\n{}\n", "x".repeat(READ_CHUNK + 10), "y".repeat(3));
        let got = all_lines(long.as_bytes(), READ_CHUNK, 2 * READ_CHUNK);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().map(String::len), Ok(READ_CHUNK + 10));
        assert_eq!(got[1], Ok("yyy".into()));
    }
}
