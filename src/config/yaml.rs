//! YAML read into a tree that remembers where every node came from.
//!
//! Lint needs the line and column of each key and value; the typed structs do not. Both are fed
//! from this one tree: lint walks it, and `to_json` turns it into the `serde_json::Value` that the
//! component config structs deserialise from. Scalars follow the YAML 1.2 core schema, so `yes`
//! and `on` stay strings (as in Go's yaml.v3, which Bento uses).

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar and whether it was quoted (quoted scalars are always strings).
    Scalar(String, bool),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// 1-based line and column of the node's first character (for block scalars, of the
    /// content's first character).
    pub line: usize,
    pub col: usize,
    /// A `|` or `>` block scalar, whose every line is indented like its first.
    pub block: bool,
}

#[derive(Debug, Error, Clone, PartialEq)]
#[error("{message}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value of key `k` in a mapping node.
    pub fn get(&self, k: &str) -> Option<&Node> {
        self.map()?
            .iter()
            .find(|(key, _)| key.scalar() == Some(k))
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, k: &str) -> Option<&mut Node> {
        match &mut self.kind {
            NodeKind::Map(m) => m
                .iter_mut()
                .find(|(key, _)| key.scalar() == Some(k))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s, false) if is_null_literal(s))
    }

    pub fn empty_map(line: usize, col: usize) -> Node {
        Node {
            kind: NodeKind::Map(Vec::new()),
            line,
            col,
            block: false,
        }
    }

    pub fn string(s: impl Into<String>, line: usize, col: usize) -> Node {
        Node {
            kind: NodeKind::Scalar(s.into(), true),
            line,
            col,
            block: false,
        }
    }

    /// Insert or replace key `k` in a mapping node.
    pub fn set(&mut self, k: &str, v: Node) {
        if let NodeKind::Map(m) = &mut self.kind {
            if let Some(slot) = m.iter_mut().find(|(key, _)| key.scalar() == Some(k)) {
                slot.1 = v;
            } else {
                let key = Node::string(k, v.line, v.col);
                m.push((key, v));
            }
        }
    }

    /// The resolved JSON value of this subtree (core schema scalar resolution).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            NodeKind::Scalar(s, quoted) => resolve_scalar(s, *quoted),
            NodeKind::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            NodeKind::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar().unwrap_or_default().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Build a tree from a JSON value (for defaults and `--set`), positioned at `line`/`col`.
    pub fn from_json(v: &serde_json::Value, line: usize, col: usize) -> Node {
        let kind = match v {
            serde_json::Value::Null => NodeKind::Scalar("null".into(), false),
            serde_json::Value::Bool(b) => NodeKind::Scalar(b.to_string(), false),
            serde_json::Value::Number(n) => NodeKind::Scalar(n.to_string(), false),
            serde_json::Value::String(s) => NodeKind::Scalar(s.clone(), true),
            serde_json::Value::Array(a) => {
                NodeKind::Seq(a.iter().map(|x| Node::from_json(x, line, col)).collect())
            }
            serde_json::Value::Object(o) => NodeKind::Map(
                o.iter()
                    .map(|(k, x)| (Node::string(k, line, col), Node::from_json(x, line, col)))
                    .collect(),
            ),
        };
        Node {
            kind,
            line,
            col,
            block: false,
        }
    }
}

pub fn is_null_literal(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn resolve_scalar(s: &str, quoted: bool) -> serde_json::Value {
    use serde_json::Value as J;
    if quoted {
        return J::String(s.to_owned());
    }
    if is_null_literal(s) {
        return J::Null;
    }
    match s {
        "true" | "True" | "TRUE" => return J::Bool(true),
        "false" | "False" | "FALSE" => return J::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_yaml_int(s) {
        return J::from(i);
    }
    if let Some(f) = parse_yaml_float(s) {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return J::Number(n);
        }
    }
    J::String(s.to_owned())
}

fn parse_yaml_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_yaml_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // The core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = match mant.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mant, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mant_ok = match frac {
        Some(f) => digits(int_part) && digits(f) && !(int_part.is_empty() && f.is_empty()),
        None => !int_part.is_empty() && digits(int_part),
    };
    let exp_ok = match exp {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
        None => true,
    };
    if mant_ok && exp_ok && (frac.is_some() || exp.is_some()) {
        s.parse::<f64>().ok()
    } else {
        None
    }
}

enum Frame {
    Seq(Vec<Node>, Span),
    Map(Vec<(Node, Node)>, Option<Node>, Span),
}

/// Parse one YAML document. An empty document is an empty mapping, as Bento treats an empty
/// config file. Anchors and aliases are resolved by copying the anchored subtree.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut pending_anchor: Vec<usize> = Vec::new();
    let mut root: Option<Node> = None;
    let mut docs = 0;

    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(YamlError {
                        line: span.start.line(),
                        col: span.start.col() + 1,
                        message: "a config file holds one YAML document; found a second".into(),
                    });
                }
                None
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                Some((
                    Node {
                        kind: NodeKind::Scalar(cow_string(value), quoted),
                        line: span.start.line(),
                        col: span.start.col() + 1,
                        block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
                    },
                    anchor,
                ))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some((n.clone(), 0)),
                None => {
                    return Err(YamlError {
                        line: span.start.line(),
                        col: span.start.col() + 1,
                        message: "unknown anchor".into(),
                    })
                }
            },
            Event::SequenceStart(anchor, _) => {
                pending_anchor.push(anchor);
                stack.push(Frame::Seq(Vec::new(), span));
                None
            }
            Event::MappingStart(anchor, _) => {
                pending_anchor.push(anchor);
                stack.push(Frame::Map(Vec::new(), None, span));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, start)) => Some((
                    Node {
                        kind: NodeKind::Seq(items),
                        line: start.start.line(),
                        col: start.start.col() + 1,
                        block: false,
                    },
                    pending_anchor.pop().unwrap_or(0),
                )),
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(entries, _, start)) => Some((
                    Node {
                        kind: NodeKind::Map(merge_keys(entries)),
                        line: start.start.line(),
                        col: start.start.col() + 1,
                        block: false,
                    },
                    pending_anchor.pop().unwrap_or(0),
                )),
                _ => None,
            },
            _ => None,
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                Some(Frame::Seq(items, _)) => items.push(node),
                Some(Frame::Map(entries, key, _)) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                },
                None => root = Some(node),
            }
        }
    }
    Ok(match root {
        Some(n) if n.is_null() => Node::empty_map(n.line, n.col),
        Some(n) => n,
        None => Node::empty_map(1, 1),
    })
}

/// YAML's merge key, as yaml.v3 (and so Bento) reads it: `<<: *anchor` (or a list of them)
/// adds the keys of the anchored mapping that the mapping does not set itself; of several
/// merged mappings, the first to set a key wins.
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge = |k: &Node| matches!(&k.kind, NodeKind::Scalar(s, false) if s == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return entries;
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| is_merge(k));
    let sources = merges.into_iter().flat_map(|(_, v)| match v.kind {
        NodeKind::Seq(items) => items,
        _ => vec![v],
    });
    for source in sources {
        // A merge of something other than a mapping stays for lint to report.
        let NodeKind::Map(merged) = source.kind else {
            own.push((Node::string("<<", source.line, source.col), source));
            continue;
        };
        for (k, v) in merged {
            if !own
                .iter()
                .any(|(o, _)| o.scalar().is_some() && o.scalar() == k.scalar())
            {
                own.push((k, v));
            }
        }
    }
    own
}

fn cow_string(c: Cow<'_, str>) -> String {
    c.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forms Go's yaml.v3 takes and Bento's example configs use, which the YAML 1.2 spec (and
    /// saphyr-parser unpatched) refuses: see vendor/saphyr-parser/PATCHES.md.
    #[test]
    fn reads_what_yaml_v3_reads() {
        let text = "a:\n  b: 'one\n  two\nthree'\nc:\n  - d: {\n      \"x\": 1,\n  \"y\": [2,\n3]\n    }\n";
        let n = parse(text).unwrap();
        assert_eq!(
            n.get("a").and_then(|a| a.get("b")).and_then(Node::scalar),
            Some("one two three")
        );
        let d = n
            .get("c")
            .and_then(Node::seq)
            .and_then(|s| s[0].get("d"))
            .unwrap();
        assert_eq!(d.get("x").and_then(Node::scalar), Some("1"));
        let y = d.get("y").and_then(Node::seq).unwrap();
        assert_eq!(
            y.iter().filter_map(Node::scalar).collect::<Vec<_>>(),
            ["2", "3"]
        );
        // Block indentation is still checked.
        assert!(parse("a:\n  b: 1\n   c: 2\n").is_err());
    }

    #[test]
    fn positions_are_one_based() {
        let n = parse("input:\n  stdin: {}\noutput:\n  drop: {}\n").unwrap();
        let (k, v) = &n.map().unwrap()[1];
        assert_eq!((k.line, k.col), (3, 1));
        let (k2, _) = &v.map().unwrap()[0];
        assert_eq!((k2.line, k2.col), (4, 3));
    }

    #[test]
    fn core_schema_scalars() {
        let n = parse("a: yes\nb: 10\nc: 1.5\nd: '10'\ne: true\nf: ~\ng: 0x1f\n").unwrap();
        let j = n.to_json();
        assert_eq!(j["a"], "yes");
        assert_eq!(j["b"], 10);
        assert_eq!(j["c"], 1.5);
        assert_eq!(j["d"], "10");
        assert_eq!(j["e"], true);
        assert!(j["f"].is_null());
        assert_eq!(j["g"], 31);
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1);
    }

    #[test]
    fn anchors_are_copied() {
        let j = parse("a: &x {k: 1}\nb: *x\n").unwrap().to_json();
        assert_eq!(j["b"]["k"], 1);
    }

    #[test]
    fn merge_keys_add_what_the_mapping_does_not_set() {
        let j = parse("base: &b {a: 1, b: 2}\nmore: &m {b: 3, c: 4}\nx:\n  <<: *b\n  a: 9\ny:\n  <<: [*m, *b]\n")
            .unwrap()
            .to_json();
        assert_eq!(j["x"], serde_json::json!({"a": 9, "b": 2}));
        assert_eq!(j["y"], serde_json::json!({"b": 3, "c": 4, "a": 1}));
        // A quoted "<<" is an ordinary key.
        let j = parse("x: {'<<': 1}\n").unwrap().to_json();
        assert_eq!(j["x"]["<<"], 1);
    }

    #[test]
    fn empty_document_is_empty_map() {
        assert_eq!(parse("").unwrap().map().map(|m| m.len()), Some(0));
        assert_eq!(
            parse("# only a comment\n").unwrap().map().map(|m| m.len()),
            Some(0)
        );
    }
}
