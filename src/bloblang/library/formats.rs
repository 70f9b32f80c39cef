//! Less common parsing methods: MessagePack, big decimals and JSONPath queries.

use super::helpers::*;
use super::{MethodSpec, ParamKind as K};
use crate::message::value::Object;
use crate::message::Value;

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "parse_msgpack",
        category: "Parsing",
        description: "Parses a MessagePack message into a structured document.",
        params: &[],
        examples: &[
            ex("", "root = content().decode(\"hex\").parse_msgpack()", &[("81a3666f6fa3626172", r#"{"foo":"bar"}"#)]),
            ex("", "root = this.encoded.decode(\"base64\").parse_msgpack()", &[(r#"{"encoded":"gaNmb2+jYmFy"}"#, r#"{"foo":"bar"}"#)]),
        ],
        imp: parse_msgpack,
    },
    MethodSpec {
        name: "format_msgpack",
        category: "Parsing",
        description: "Formats data as a MessagePack message in bytes format.",
        params: &[],
        examples: &[
            ex("", "root = this.format_msgpack().encode(\"hex\")", &[(r#"{"foo":"bar"}"#, "81a3666f6fa3626172")]),
            ex("", "root.encoded = this.format_msgpack().encode(\"base64\")", &[(r#"{"foo":"bar"}"#, r#"{"encoded":"gaNmb2+jYmFy"}"#)]),
        ],
        imp: format_msgpack,
    },
    MethodSpec {
        name: "parse_big_decimal",
        category: "Parsing",
        description: "Parses a big-endian two's complement unscaled integer (as produced by Kafka Connect or Debezium for DECIMAL columns) into a decimal string with the given scale.",
        params: &[req("scale", K::Int, "The number of digits after the decimal point.")],
        examples: &[ex("", "root.amount = this.amount.decode(\"base64\").parse_big_decimal(scale: 2)", &[
            (r#"{"amount":"MDk="}"#, r#"{"amount":"123.45"}"#),
            (r#"{"amount":"/w=="}"#, r#"{"amount":"-0.01"}"#),
        ])],
        imp: parse_big_decimal,
    },
    MethodSpec {
        name: "json_path",
        category: "Object & Array Manipulation",
        description: "Executes the given JSONPath expression on an object or array and returns the result. The JSONPath expression syntax can be found at https://goessner.net/articles/JsonPath/.",
        params: &[req("expression", K::String, "The JSONPath expression to execute.")],
        examples: &[
            ex("", "root.all_names = this.json_path(\"$..name\")", &[
                (r#"{"name":"alice","foo":{"name":"bob"}}"#, r#"{"all_names":["alice","bob"]}"#),
                (r#"{"thing":["this","bar",{"name":"alice"}]}"#, r#"{"all_names":["alice"]}"#),
            ]),
            ex("", "root.text_objects = this.json_path(\"$.body[?(@.type=='text')]\")", &[(r#"{"body":[{"type":"image","id":"foo"},{"type":"text","id":"bar"}]}"#, r#"{"text_objects":[{"id":"bar","type":"text"}]}"#)]),
        ],
        imp: json_path,
    },
];

fn from_msgpack(v: rmpv::Value) -> Value {
    match v {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(i) => match i.as_i64() {
            Some(n) => Value::Int(n),
            None => Value::Float(i.as_f64().unwrap_or(0.0)),
        },
        rmpv::Value::F32(f) => Value::Float(format!("{f:e}").parse().unwrap_or(f as f64)),
        rmpv::Value::F64(f) => Value::Float(f),
        rmpv::Value::String(s) => match s.into_str() {
            Some(s) => Value::String(s),
            None => Value::Null,
        },
        rmpv::Value::Binary(b) => Value::Bytes(b),
        rmpv::Value::Array(a) => Value::Array(a.into_iter().map(from_msgpack).collect()),
        rmpv::Value::Map(m) => {
            let mut o = Object::new();
            for (k, v) in m {
                let key = match k {
                    rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                    other => to_string_lossy(&from_msgpack(other)),
                };
                o.insert(key, from_msgpack(v));
            }
            Value::Object(o)
        }
        rmpv::Value::Ext(_, data) => Value::Bytes(data),
    }
}

fn to_msgpack(v: &Value) -> rmpv::Value {
    match v {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Int(i) => rmpv::Value::from(*i),
        Value::Float(f) => rmpv::Value::F64(*f),
        Value::String(s) => rmpv::Value::from(s.as_str()),
        Value::Bytes(b) => rmpv::Value::Binary(b.clone()),
        Value::Timestamp(_) => rmpv::Value::from(to_string_lossy(v)),
        Value::Array(a) => rmpv::Value::Array(a.iter().map(to_msgpack).collect()),
        Value::Object(o) => rmpv::Value::Map(
            o.iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

/// The deepest nesting of MessagePack arrays and maps accepted: each level costs stack twice
/// (decoding, then converting), and a few bytes of input can nest thousands deep.
pub const MAX_MSGPACK_DEPTH: usize = 256;

fn parse_msgpack(v: &Value, _: &[Value]) -> Result<Value, String> {
    let bytes = str_or_bytes(v)?;
    let mut rd = &bytes[..];
    let parsed = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_MSGPACK_DEPTH)
        .map_err(|e| format!("failed to parse MessagePack: {e}"))?;
    Ok(from_msgpack(parsed))
}

fn format_msgpack(v: &Value, _: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &to_msgpack(v)).map_err(|e| e.to_string())?;
    Ok(Value::Bytes(out))
}

fn parse_big_decimal(v: &Value, args: &[Value]) -> Result<Value, String> {
    let scale = arg_int(args, 0)?;
    let bytes = str_or_bytes(v)?;
    if bytes.is_empty() {
        return Err("cannot parse an empty byte array as a big decimal".into());
    }
    if bytes.len() > 16 {
        return Err("big decimal values wider than 128 bits are not supported".into());
    }
    let mut buf = if bytes[0] & 0x80 != 0 {
        [0xffu8; 16]
    } else {
        [0u8; 16]
    };
    buf[16 - bytes.len()..].copy_from_slice(&bytes);
    let n = i128::from_be_bytes(buf);
    if !(0..=1000).contains(&scale) {
        return Err(format!("invalid scale: {scale}"));
    }
    let digits = n.unsigned_abs().to_string();
    let scale = scale as usize;
    let mut s = if scale == 0 {
        digits
    } else if digits.len() > scale {
        format!(
            "{}.{}",
            &digits[..digits.len() - scale],
            &digits[digits.len() - scale..]
        )
    } else {
        format!("0.{}{}", "0".repeat(scale - digits.len()), digits)
    };
    if n < 0 {
        s.insert(0, '-');
    }
    Ok(Value::String(s))
}

fn json_path(v: &Value, args: &[Value]) -> Result<Value, String> {
    let expr = arg_str(args, 0)?;
    let path = serde_json_path::JsonPath::parse(&expr)
        .map_err(|e| format!("failed to parse JSONPath expression: {e}"))?;
    let json: serde_json::Value = v.into();
    Ok(Value::Array(
        path.query(&json)
            .all()
            .into_iter()
            .map(|n| Value::from(n.clone()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    #[test]
    fn msgpack() {
        let packed = Value::Bytes(hex::decode("81a3666f6fa3626172").unwrap());
        assert_eq!(parse_msgpack(&packed, &[]).unwrap(), j(r#"{"foo":"bar"}"#));
        assert_eq!(format_msgpack(&j(r#"{"foo":"bar"}"#), &[]).unwrap(), packed);
        let v = j(r#"{"a":[1,-2,1.5,true,null,"x"]}"#);
        assert_eq!(
            parse_msgpack(&format_msgpack(&v, &[]).unwrap(), &[]).unwrap(),
            v
        );
        assert!(parse_msgpack(&Value::Bytes(vec![0x81, 0xa3]), &[]).is_err());
    }

    #[test]
    fn big_decimal() {
        assert_eq!(
            parse_big_decimal(&Value::Bytes(vec![0x30, 0x39]), &[Value::Int(2)]).unwrap(),
            s("123.45")
        );
        assert_eq!(
            parse_big_decimal(&Value::Bytes(vec![0xff]), &[Value::Int(2)]).unwrap(),
            s("-0.01")
        );
        assert_eq!(
            parse_big_decimal(&Value::Bytes(vec![0x05]), &[Value::Int(0)]).unwrap(),
            s("5")
        );
        assert!(parse_big_decimal(&Value::Bytes(vec![]), &[Value::Int(2)]).is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(
            json_path(
                &j(r#"{"name":"alice","foo":{"name":"bob"}}"#),
                &[s("$..name")]
            )
            .unwrap(),
            j(r#"["alice","bob"]"#)
        );
        assert_eq!(
            json_path(
                &j(r#"{"body":[{"type":"image","id":"foo"},{"type":"text","id":"bar"}]}"#),
                &[s("$.body[?(@.type=='text')]")]
            )
            .unwrap(),
            j(r#"[{"id":"bar","type":"text"}]"#)
        );
        assert!(json_path(&j("{}"), &[s("$[")]).is_err());
    }
}
