//! Parse and execution errors, formatted the way Bento formats them.

use std::fmt;

/// One problem found in a mapping, at a 1-based line and character of the mapping text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at byte offset `offset` of `src`.
    pub fn at(src: &str, offset: usize, message: &str) -> Diagnostic {
        let (line, col) = line_col(src, offset);
        Diagnostic {
            line,
            col,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} char {}: {}", self.line, self.col, self.message)
    }
}

/// 1-based line and character (not byte) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = src[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Every problem found while parsing and compiling a mapping.
#[derive(Clone, Debug, thiserror::Error)]
pub struct ParseError {
    pub errors: Vec<Diagnostic>,
    /// The mapping text, for the caret snippets.
    pub text: String,
}

impl ParseError {
    pub fn new(src: &str, errors: Vec<Diagnostic>) -> ParseError {
        ParseError {
            errors,
            text: src.to_string(),
        }
    }

    /// Single-line form: `line 1 char 10: expected ...; line 2 ...`.
    pub fn single_line(&self) -> String {
        self.errors
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for ParseError {
    /// Bento's structured form: the message, then the source line with a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.text.split('\n').collect();
        for (i, d) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
            let width = d.line.to_string().len();
            let pad = " ".repeat(width);
            writeln!(f, "{pad} |")?;
            let text = lines
                .get(d.line.saturating_sub(1))
                .copied()
                .unwrap_or("")
                .trim_end_matches('\r');
            writeln!(f, "{} | {}", d.line, text)?;
            let caret_pad: String = text
                .chars()
                .take(d.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "{pad} | {caret_pad}^---")?;
        }
        Ok(())
    }
}

/// A mapping failed on a message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExecError {
    pub message: String,
}

impl ExecError {
    pub fn new(message: impl Into<String>) -> ExecError {
        ExecError {
            message: message.into(),
        }
    }
}
