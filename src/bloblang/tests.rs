//! Language-level tests.

use super::*;
use crate::message::{Message, Value};

fn run(mapping: &str, input: &str) -> Result<String, String> {
    let m = parse_mapping(mapping).map_err(|e| e.to_string())?;
    let msg = Message::from_bytes(input.to_string());
    match m.map_message(&[msg], 0) {
        Ok(Some(out)) => Ok(out.as_str_lossy().into_owned()),
        Ok(None) => Ok("<deleted>".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn basic_assignments() {
    assert_eq!(
        run("root.a = this.b + 1", r#"{"b":2}"#).unwrap(),
        r#"{"a":3}"#
    );
    assert_eq!(run("a.b = \"x\"", "{}").unwrap(), r#"{"a":{"b":"x"}}"#);
    assert_eq!(
        run("this.foo + this.bar", r#"{"foo":5,"bar":3}"#).unwrap(),
        "8"
    );
}
