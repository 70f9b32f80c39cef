//! Bloblang: parser, compiler and interpreter, and its library.
//!
//! TEMPORARY: until the language lands, mappings are limited to `root = <JSON literal>` and
//! interpolated strings are taken literally.

pub mod library;

use std::fmt;

use crate::message::{Message, Value};

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ParseError {
    pub errors: Vec<Diagnostic>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.errors {
            write!(f, "line {} char {}: {}", d.line, d.col, d.message)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct ExecError(pub String);

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
pub struct Mapping {
    value: Value,
}

pub fn parse_mapping(src: &str) -> Result<Mapping, ParseError> {
    let body = src
        .trim()
        .strip_prefix("root")
        .map(str::trim_start)
        .and_then(|s| s.strip_prefix('='));
    match body.map(|b| Value::from_json_str(b.trim())) {
        Some(Ok(value)) => Ok(Mapping { value }),
        _ => Err(ParseError {
            errors: vec![Diagnostic {
                line: 1,
                col: 1,
                message: "expected root = <literal>".into(),
            }],
        }),
    }
}

impl Mapping {
    pub fn map_message(&self, batch: &[Message], index: usize) -> Result<Option<Message>, ExecError> {
        let _ = (batch, index);
        self.new_message()
    }
    pub fn mutate_message(&self, batch: &[Message], index: usize) -> Result<Option<Message>, ExecError> {
        self.map_message(batch, index)
    }
    pub fn query(&self, batch: &[Message], index: usize) -> Result<Value, ExecError> {
        let _ = (batch, index);
        Ok(self.value.clone())
    }
    pub fn new_message(&self) -> Result<Option<Message>, ExecError> {
        Ok(Some(Message::from_value(self.value.clone())))
    }
}

#[derive(Clone, Debug)]
pub struct InterpolatedString {
    text: String,
}

pub fn parse_interpolation(src: &str) -> Result<InterpolatedString, ParseError> {
    Ok(InterpolatedString {
        text: src.to_owned(),
    })
}

impl InterpolatedString {
    pub fn is_static(&self) -> bool {
        true
    }
    pub fn render(&self, _batch: &[Message], _index: usize) -> Result<String, ExecError> {
        Ok(self.text.clone())
    }
    pub fn render_static(&self) -> String {
        self.text.clone()
    }
}
