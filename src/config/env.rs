//! `${VAR}` / `${VAR:default}` substitution on the raw config text, before YAML parsing, as in
//! Bento. `${{VAR}}` escapes to a literal `${VAR}` (and `${{! ... }}` to `${! ... }`); `${! ... }`
//! Bloblang interpolations are left for the components to evaluate per message.

use std::sync::LazyLock;

use regex::{Captures, Regex};

static ENV_VAR: LazyLock<Regex> = LazyLock::new(|| {
    // Same shape as Bento's: a default may itself contain `${...}` once.
    Regex::new(r"\$\{(\{)?([0-9A-Za-z_.]+)(:((\$\{[^}]+\})|[^}])*)?\}(\})?")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// A variable that was referenced without a default and is not set.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingVar {
    pub name: String,
    pub line: usize,
    pub col: usize,
}

/// Substitute environment variables using `lookup`. Returns the new text and the variables that
/// were missing (their references become empty strings).
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> (String, Vec<MissingVar>) {
    let mut missing = Vec::new();
    let out = ENV_VAR.replace_all(text, |c: &Captures| {
        let whole = c.get(0).map(|m| m.as_str()).unwrap_or_default();
        let escaped = c.get(1).is_some() && c.get(6).is_some();
        if escaped {
            // `${{X}}` -> `${X}`: drop the inner braces.
            return format!("${{{}}}", &whole[3..whole.len() - 2]);
        }
        let name = c.get(2).map(|m| m.as_str()).unwrap_or_default();
        let default = c.get(3).map(|m| &m.as_str()[1..]);
        let value = lookup(name).filter(|v| !v.is_empty());
        let v = match (value, default) {
            (Some(v), _) => v,
            (None, Some(d)) => d.to_owned(),
            (None, None) => {
                let start = c.get(0).map(|m| m.start()).unwrap_or(0);
                let (line, col) = line_col(text, start);
                missing.push(MissingVar {
                    name: name.to_owned(),
                    line,
                    col,
                });
                String::new()
            }
        };
        // A value with newlines would break the YAML structure it lands in.
        let v = v.replace('\n', "\\n");
        // A stray `}` after an unescaped match belongs to the surrounding text.
        match c.get(6) {
            Some(_) => format!("{v}}}"),
            None => v,
        }
    });
    (out.into_owned(), missing)
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("foo".into()),
            "EMPTY" => Some(String::new()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_defaults() {
        let (t, m) = interpolate("a: ${FOO}\nb: ${BAR:bar}\nc: ${EMPTY:def}\nd: ${X:}", env);
        assert_eq!(t, "a: foo\nb: bar\nc: def\nd: ");
        assert!(m.is_empty());
    }

    #[test]
    fn reports_missing_with_position() {
        let (t, m) = interpolate("a: 1\nb: x${NOPE}", env);
        assert_eq!(t, "a: 1\nb: x");
        assert_eq!(
            m,
            vec![MissingVar {
                name: "NOPE".into(),
                line: 2,
                col: 5
            }]
        );
    }

    #[test]
    fn escapes_and_bloblang_interpolations() {
        let (t, _) = interpolate("a: ${{FOO}}\nb: ${! meta(\"x\") }\nc: ${{!foo}}", env);
        assert_eq!(t, "a: ${FOO}\nb: ${! meta(\"x\") }\nc: ${{!foo}}");
    }

    #[test]
    fn newlines_are_escaped() {
        let (t, _) = interpolate("a: ${MULTI}", env);
        assert_eq!(t, "a: a\\nb");
    }
}
