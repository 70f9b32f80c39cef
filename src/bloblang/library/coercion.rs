//! Type coercion methods.

use super::helpers::*;
use super::numbers::go_parse_float;
use super::{MethodSpec, ParamDefault as D, ParamKind as K, HIDDEN};
use crate::message::Value;

const CAT: &str = "Type Coercion";

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "array",
        category: CAT,
        description: "Return an array containing the target value. If the value is already an array it is unchanged.",
        params: &[],
        examples: &[ex("", "root.my_array = this.name.array()", &[(r#"{"name":"foobar bazson"}"#, r#"{"my_array":["foobar bazson"]}"#)])],
        imp: array,
    },
    MethodSpec {
        name: "bool",
        category: CAT,
        description: "Attempt to parse a value into a boolean. An optional argument can be provided, in which case if the value cannot be parsed the argument will be returned instead. If the value is a number then any non-zero value will resolve to `true`, if the value is a string then any of the following values are considered valid: `1, t, T, TRUE, true, True, 0, f, F, FALSE`.",
        params: &[opt("default", K::Bool, D::Optional, "An optional value to yield if the target cannot be parsed as a boolean.")],
        examples: &[ex("", "root.foo = this.thing.bool()\nroot.bar = this.thing.bool(true)", &[])],
        imp: bool_,
    },
    MethodSpec {
        name: "bytes",
        category: CAT,
        description: "Marshal a value into a byte array. If the value is already a byte array it is unchanged.",
        params: &[],
        examples: &[ex("", "root.first_byte = this.name.bytes().index(0)", &[(r#"{"name":"foobar bazson"}"#, r#"{"first_byte":102}"#)])],
        imp: bytes,
    },
    MethodSpec {
        name: "number",
        category: CAT,
        description: "Attempt to parse a value into a number. An optional argument can be provided, in which case if the value cannot be parsed into a number the argument will be returned instead.",
        params: &[opt("default", K::Float, D::Optional, "An optional value to yield if the target cannot be parsed as a number.")],
        examples: &[ex("", "root.foo = this.thing.number() + 10\nroot.bar = this.thing.number(5) * 10", &[])],
        imp: number,
    },
    MethodSpec {
        name: "string",
        category: CAT,
        description: "Marshal a value into a string. If the value is already a string it is unchanged.",
        params: &[],
        examples: &[
            ex("", "root.nested_json = this.string()", &[(r#"{"foo":"bar"}"#, r#"{"nested_json":"{\"foo\":\"bar\"}"}"#)]),
            ex("", "root.id = this.id.string()", &[(r#"{"id":228930314431312345}"#, r#"{"id":"228930314431312345"}"#)]),
        ],
        imp: string,
    },
    MethodSpec {
        name: "type",
        category: CAT,
        description: "Returns the type of a value as a string, providing one of the following values: `string`, `bytes`, `number`, `bool`, `timestamp`, `array`, `object` or `null`.",
        params: &[],
        examples: &[
            ex("", "root.bar_type = this.bar.type()\nroot.foo_type = this.foo.type()", &[(r#"{"bar":10,"foo":"is a string"}"#, r#"{"bar_type":"number","foo_type":"string"}"#)]),
            ex("", "root.type = this.type()", &[
                (r#""foobar""#, r#"{"type":"string"}"#),
                ("666", r#"{"type":"number"}"#),
                ("false", r#"{"type":"bool"}"#),
                (r#"["foo", "bar"]"#, r#"{"type":"array"}"#),
                (r#"{"foo": "bar"}"#, r#"{"type":"object"}"#),
                ("null", r#"{"type":"null"}"#),
            ]),
            ex("", "root.type = content().type()", &[("foobar", r#"{"type":"bytes"}"#)]),
            ex("", "root.type = this.ts_parse(\"2006-01-02\").type()", &[(r#""2022-06-06""#, r#"{"type":"timestamp"}"#)]),
        ],
        imp: type_,
    },
    MethodSpec {
        name: "not",
        category: HIDDEN,
        description: "Hidden: the boolean negation of the target (the `!` operator).",
        params: &[],
        examples: &[],
        imp: not,
    },
];

fn array(v: &Value, _: &[Value]) -> Result<Value, String> {
    match v {
        Value::Array(_) => Ok(v.clone()),
        other => Ok(Value::Array(vec![other.clone()])),
    }
}

/// Bento's `IToBool`.
pub fn to_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(f) => Ok(*f != 0.0),
        Value::String(_) | Value::Bytes(_) => {
            let s = get_str(v)?;
            match s.as_ref() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
                _ => Err(type_error(v, &["bool"])),
            }
        }
        _ => Err(type_error(v, &["bool"])),
    }
}

fn bool_(v: &Value, args: &[Value]) -> Result<Value, String> {
    match (to_bool(v), arg(args, 0)) {
        (Ok(b), _) => Ok(Value::Bool(b)),
        (Err(e), Value::Null) => Err(e),
        (Err(_), d) => Ok(d.clone()),
    }
}

fn bytes(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Bytes(to_bytes(v)))
}

/// Bento's `IToNumber`, keeping integers (and integral strings) as integers.
pub fn to_number(v: &Value) -> Result<Value, String> {
    match v {
        Value::Int(_) | Value::Float(_) => Ok(v.clone()),
        Value::String(_) | Value::Bytes(_) => {
            let s = get_str(v)?;
            if let Ok(i) = s.parse::<i64>() {
                return Ok(Value::Int(i));
            }
            go_parse_float(&s).map(Value::Float)
        }
        _ => Err(type_error(v, &["number"])),
    }
}

fn number(v: &Value, args: &[Value]) -> Result<Value, String> {
    match (to_number(v), arg(args, 0)) {
        (Ok(n), _) => Ok(n),
        (Err(e), Value::Null) => Err(e),
        (Err(_), d) => Ok(d.clone()),
    }
}

fn string(v: &Value, _: &[Value]) -> Result<Value, String> {
    match v {
        Value::String(_) => Ok(v.clone()),
        other => Ok(Value::String(to_string_lossy(other))),
    }
}

fn type_(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::String(v.type_name().into()))
}

fn not(v: &Value, _: &[Value]) -> Result<Value, String> {
    match v {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Err(type_error(other, &["bool"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::j;

    #[test]
    fn documented() {
        assert_eq!(array(&Value::from("x"), &[]).unwrap(), j(r#"["x"]"#));
        assert_eq!(array(&j("[1]"), &[]).unwrap(), j("[1]"));
        assert_eq!(
            bool_(&Value::from("true"), &[Value::Null]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            bool_(&Value::Int(0), &[Value::Null]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            bool_(&Value::from("nah"), &[Value::Bool(true)]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            bool_(&Value::from("nah"), &[Value::Null]).unwrap_err(),
            "expected bool value, got string (\"nah\")"
        );
        assert_eq!(
            bytes(&Value::from("foo"), &[]).unwrap(),
            Value::Bytes(b"foo".to_vec())
        );
        assert_eq!(
            number(&Value::from("12"), &[Value::Null]).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            number(&Value::from("1.5"), &[Value::Null]).unwrap(),
            Value::Float(1.5)
        );
        assert_eq!(
            number(&Value::from("x"), &[Value::Int(5)]).unwrap(),
            Value::Int(5)
        );
        assert!(number(&Value::Null, &[Value::Null]).is_err());
        assert_eq!(
            string(&j(r#"{"foo":"bar"}"#), &[]).unwrap(),
            Value::from(r#"{"foo":"bar"}"#)
        );
        assert_eq!(
            string(&j("228930314431312345"), &[]).unwrap(),
            Value::from("228930314431312345")
        );
        assert_eq!(string(&Value::Null, &[]).unwrap(), Value::from("null"));
        assert_eq!(
            type_(&Value::Bytes(vec![]), &[]).unwrap(),
            Value::from("bytes")
        );
        assert_eq!(not(&Value::Bool(true), &[]).unwrap(), Value::Bool(false));
        assert!(not(&Value::Int(1), &[]).is_err());
    }
}
