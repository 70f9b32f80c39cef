//! Number manipulation methods and the `pi`/`range` functions, plus the explicit integer and
//! float casts (Bento's `IToInt`, `IToUint`, ... conversions).

use super::helpers::*;
use super::{FunctionSpec, MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::Value;

const CAT: &str = "Number Manipulation";

macro_rules! cast_spec {
    ($name:literal, $imp:ident, $desc:literal, $ex_map:expr, $ex_cases:expr) => {
        MethodSpec {
            name: $name,
            category: CAT,
            description: $desc,
            params: &[],
            examples: &[ex("", $ex_map, $ex_cases)],
            imp: $imp,
        }
    };
}

macro_rules! int_cast_spec {
    ($name:literal, $imp:ident, $desc:literal, $hex:literal, $hexout:literal, $neg:literal) => {
        MethodSpec {
            name: $name,
            category: CAT,
            description: $desc,
            params: &[],
            examples: &[
                ex(
                    "",
                    concat!(
                        "\nroot.a = this.a.",
                        $name,
                        "()\nroot.b = this.b.round().",
                        $name,
                        "()\nroot.c = this.c.",
                        $name,
                        "()\nroot.d = this.d.",
                        $name,
                        "().catch(0)\n"
                    ),
                    &[(
                        r#"{"a":12,"b":12.34,"c":"12","d":-12}"#,
                        concat!(r#"{"a":12,"b":12,"c":12,"d":"#, $neg, "}"),
                    )],
                ),
                ex(
                    "",
                    concat!("\nroot = this.", $name, "()\n"),
                    &[(concat!("\"", $hex, "\""), $hexout)],
                ),
            ],
            imp: $imp,
        }
    };
}

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "abs",
        category: CAT,
        description: "Returns the absolute value of an int64 or float64 number. As a special case, when an integer is provided that is the minimum value it is converted to the maximum value.",
        params: &[],
        examples: &[ex("", "\nroot.outs = this.ins.map_each(ele -> ele.abs())\n", &[(r#"{"ins":[9,-18,1.23,-4.56]}"#, r#"{"outs":[9,18,1.23,4.56]}"#)])],
        imp: abs,
    },
    MethodSpec {
        name: "ceil",
        category: CAT,
        description: "Returns the least integer value greater than or equal to a number. If the resulting value fits within a 64-bit integer then that is returned, otherwise a new floating point number is returned.",
        params: &[],
        examples: &[ex("", "root.new_value = this.value.ceil()", &[(r#"{"value":5.3}"#, r#"{"new_value":6}"#), (r#"{"value":-5.9}"#, r#"{"new_value":-5}"#)])],
        imp: ceil,
    },
    MethodSpec {
        name: "floor",
        category: CAT,
        description: "Returns the greatest integer value less than or equal to the target number. If the resulting value fits within a 64-bit integer then that is returned, otherwise a new floating point number is returned.",
        params: &[],
        examples: &[ex("", "root.new_value = this.value.floor()", &[(r#"{"value":5.7}"#, r#"{"new_value":5}"#)])],
        imp: floor,
    },
    MethodSpec {
        name: "round",
        category: CAT,
        description: "Rounds numbers to the nearest integer, rounding half away from zero. If the resulting value fits within a 64-bit integer then that is returned, otherwise a new floating point number is returned.",
        params: &[],
        examples: &[ex("", "root.new_value = this.value.round()", &[(r#"{"value":5.3}"#, r#"{"new_value":5}"#), (r#"{"value":5.9}"#, r#"{"new_value":6}"#)])],
        imp: round,
    },
    MethodSpec {
        name: "log",
        category: CAT,
        description: "Returns the natural logarithm of a number.",
        params: &[],
        examples: &[ex("", "root.new_value = this.value.log().round()", &[(r#"{"value":1}"#, r#"{"new_value":0}"#), (r#"{"value":2.7183}"#, r#"{"new_value":1}"#)])],
        imp: log,
    },
    MethodSpec {
        name: "log10",
        category: CAT,
        description: "Returns the decimal logarithm of a number.",
        params: &[],
        examples: &[ex("", "root.new_value = this.value.log10()", &[(r#"{"value":100}"#, r#"{"new_value":2}"#), (r#"{"value":1000}"#, r#"{"new_value":3}"#)])],
        imp: log10,
    },
    MethodSpec {
        name: "pow",
        category: CAT,
        description: "Returns the number raised to the specified exponent.",
        params: &[req("exponent", K::Float, "The exponent you want to raise to the power of.")],
        examples: &[
            ex("", "root.new_value = this.value * 10.pow(-2)", &[(r#"{"value":2}"#, r#"{"new_value":0.02}"#)]),
            ex("", "root.new_value = this.value.pow(-2)", &[(r#"{"value":2}"#, r#"{"new_value":0.25}"#)]),
        ],
        imp: pow,
    },
    MethodSpec {
        name: "sin",
        category: CAT,
        description: "Calculates the sine of a given angle specified in radians.",
        params: &[],
        examples: &[ex("", "root.new_value = (this.value * (pi() / 180)).sin()", &[(r#"{"value":45}"#, r#"{"new_value":0.7071067811865475}"#), (r#"{"value":0}"#, r#"{"new_value":0}"#), (r#"{"value":90}"#, r#"{"new_value":1}"#)])],
        imp: sin,
    },
    MethodSpec {
        name: "cos",
        category: CAT,
        description: "Calculates the cosine of a given angle specified in radians.",
        params: &[],
        examples: &[ex("", "root.new_value = (this.value * (pi() / 180)).cos()", &[(r#"{"value":45}"#, r#"{"new_value":0.7071067811865476}"#), (r#"{"value":0}"#, r#"{"new_value":1}"#), (r#"{"value":180}"#, r#"{"new_value":-1}"#)])],
        imp: cos,
    },
    MethodSpec {
        name: "tan",
        category: CAT,
        description: "Calculates the tangent of a given angle specified in radians.",
        params: &[],
        examples: &[ex("", "root.new_value = \"%f\".format((this.value * (pi() / 180)).tan())", &[(r#"{"value":0}"#, r#"{"new_value":"0.000000"}"#), (r#"{"value":45}"#, r#"{"new_value":"1.000000"}"#), (r#"{"value":180}"#, r#"{"new_value":"-0.000000"}"#)])],
        imp: tan,
    },
    MethodSpec {
        name: "max",
        category: CAT,
        description: "Returns the largest numerical value found within an array. All values must be numerical and the array must not be empty, otherwise an error is returned.",
        params: &[],
        examples: &[
            ex("", "root.biggest = this.values.max()", &[(r#"{"values":[0,3,2.5,7,5]}"#, r#"{"biggest":7}"#)]),
            ex("", "root.new_value = [0,this.value].max()", &[(r#"{"value":-1}"#, r#"{"new_value":0}"#), (r#"{"value":7}"#, r#"{"new_value":7}"#)]),
        ],
        imp: max,
    },
    MethodSpec {
        name: "min",
        category: CAT,
        description: "Returns the smallest numerical value found within an array. All values must be numerical and the array must not be empty, otherwise an error is returned.",
        params: &[],
        examples: &[
            ex("", "root.smallest = this.values.min()", &[(r#"{"values":[0,3,-2.5,7,5]}"#, r#"{"smallest":-2.5}"#)]),
            ex("", "root.new_value = [10,this.value].min()", &[(r#"{"value":2}"#, r#"{"new_value":2}"#), (r#"{"value":23}"#, r#"{"new_value":10}"#)]),
        ],
        imp: min,
    },
    int_cast_spec!("int64", int64, "Converts a numerical type into a 64-bit signed integer, this is for advanced use cases where a specific data type is needed for a given component (such as the ClickHouse SQL driver). If the value is a string then an attempt will be made to parse it as a 64-bit integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error. In order to convert a floating point number containing decimals first use `.round()` on the value. Please refer to the `strconv.ParseInt` documentation for details regarding the supported formats.", "0xDEADBEEF", "3735928559", "-12"),
    int_cast_spec!("int32", int32, "Converts a numerical type into a 32-bit signed integer. If the value is a string then an attempt will be made to parse it as a 32-bit integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xDEAD", "57005", "-12"),
    int_cast_spec!("int16", int16, "Converts a numerical type into a 16-bit signed integer. If the value is a string then an attempt will be made to parse it as a 16-bit integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xDE", "222", "-12"),
    int_cast_spec!("int8", int8, "Converts a numerical type into a 8-bit signed integer. If the value is a string then an attempt will be made to parse it as a 8-bit integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xD", "13", "-12"),
    int_cast_spec!("uint64", uint64, "Converts a numerical type into a 64-bit unsigned integer. If the value is a string then an attempt will be made to parse it as a 64-bit unsigned integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xDEADBEEF", "3735928559", "0"),
    int_cast_spec!("uint32", uint32, "Converts a numerical type into a 32-bit unsigned integer. If the value is a string then an attempt will be made to parse it as a 32-bit unsigned integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xDEAD", "57005", "0"),
    int_cast_spec!("uint16", uint16, "Converts a numerical type into a 16-bit unsigned integer. If the value is a string then an attempt will be made to parse it as a 16-bit unsigned integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xDE", "222", "0"),
    int_cast_spec!("uint8", uint8, "Converts a numerical type into a 8-bit unsigned integer. If the value is a string then an attempt will be made to parse it as a 8-bit unsigned integer. If the target value exceeds the capacity of an integer or contains decimal values then this method will throw an error.", "0xD", "13", "0"),
    cast_spec!("float64", float64, "Converts a numerical type into a 64-bit floating point number. If the value is a string then an attempt will be made to parse it as a 64-bit floating point number.", "\nroot.out = this.in.float64()\n", &[(r#"{"in":"6.674282313423543523453425345e-11"}"#, r#"{"out":6.674282313423544e-11}"#)]),
    cast_spec!("float32", float32, "Converts a numerical type into a 32-bit floating point number. If the value is a string then an attempt will be made to parse it as a 32-bit floating point number.", "\nroot.out = this.in.float32()\n", &[(r#"{"in":"6.674282313423543523453425345e-11"}"#, r#"{"out":6.674283e-11}"#)]),
];

pub static FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "pi",
        category: "General",
        description: "Returns the value of the mathematical constant Pi.",
        params: &[],
        examples: &[
            ex("", "root.radians = this.degrees * (pi() / 180)", &[(r#"{"degrees":45}"#, r#"{"radians":0.7853981633974483}"#)]),
            ex("", "root.degrees = this.radians * (180 / pi())", &[(r#"{"radians":0.78540}"#, r#"{"degrees":45.00010522957486}"#)]),
        ],
        imp: pi,
    },
    FunctionSpec {
        name: "range",
        category: "General",
        description: "The `range` function creates an array of integers following a range between a start, stop and optional step integer argument. If the step argument is omitted then it defaults to 1. A negative step can be provided as long as stop < start.",
        params: &[
            req("start", K::Int, "The start value."),
            req("stop", K::Int, "The stop value."),
            opt("step", K::Int, D::Int(1), "The step value."),
        ],
        examples: &[ex("", "root.a = range(0, 10)\nroot.b = range(start: 0, stop: this.max, step: 2) # Using named params\nroot.c = range(0, -this.max, -2)", &[(r#"{"max":10}"#, r#"{"a":[0,1,2,3,4,5,6,7,8,9],"b":[0,2,4,6,8],"c":[0,-2,-4,-6,-8]}"#)])],
        imp: range,
    },
];

fn abs(v: &Value, _: &[Value]) -> Result<Value, String> {
    match v {
        Value::Int(i) => Ok(Value::Int(if *i == i64::MIN { i64::MAX } else { i.abs() })),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        _ => Err(type_error(v, &["number"])),
    }
}

/// An integer when the (already integral) float fits `i64`, else the float.
fn int_if_fits(f: f64) -> Value {
    if f.is_finite() && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

fn rounding(v: &Value, op: fn(f64) -> f64) -> Result<Value, String> {
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => Ok(int_if_fits(op(*f))),
        _ => Err(type_error(v, &["number"])),
    }
}

fn ceil(v: &Value, _: &[Value]) -> Result<Value, String> {
    rounding(v, f64::ceil)
}

fn floor(v: &Value, _: &[Value]) -> Result<Value, String> {
    rounding(v, f64::floor)
}

fn round(v: &Value, _: &[Value]) -> Result<Value, String> {
    rounding(v, f64::round)
}

fn float_op(v: &Value, op: fn(f64) -> f64) -> Result<Value, String> {
    Ok(Value::Float(op(get_number(v)?)))
}

fn log(v: &Value, _: &[Value]) -> Result<Value, String> {
    float_op(v, f64::ln)
}

fn log10(v: &Value, _: &[Value]) -> Result<Value, String> {
    float_op(v, f64::log10)
}

fn sin(v: &Value, _: &[Value]) -> Result<Value, String> {
    float_op(v, f64::sin)
}

fn cos(v: &Value, _: &[Value]) -> Result<Value, String> {
    float_op(v, f64::cos)
}

fn tan(v: &Value, _: &[Value]) -> Result<Value, String> {
    float_op(v, f64::tan)
}

fn pow(v: &Value, args: &[Value]) -> Result<Value, String> {
    let base = get_number(v)?;
    let exp = get_number(arg(args, 0))?;
    Ok(Value::Float(base.powf(exp)))
}

fn extreme(v: &Value, want_max: bool) -> Result<Value, String> {
    let arr = get_array(v)?;
    if arr.is_empty() {
        return Err("the array was empty".into());
    }
    let mut best: Option<f64> = None;
    for (i, e) in arr.iter().enumerate() {
        let n = get_number(e).map_err(|e| format!("index {i} of array: {e}"))?;
        best = Some(match best {
            None => n,
            Some(b) if want_max => b.max(n),
            Some(b) => b.min(n),
        });
    }
    Ok(Value::Float(best.unwrap_or(0.0)))
}

fn max(v: &Value, _: &[Value]) -> Result<Value, String> {
    extreme(v, true)
}

fn min(v: &Value, _: &[Value]) -> Result<Value, String> {
    extreme(v, false)
}

/// Go's `strconv.ParseInt(s, 0, 64)`-style parsing: optional sign, `0x`/`0o`/`0b`/leading-zero
/// octal prefixes and underscores between digits (base prefix only).
pub fn go_parse_int(s: &str) -> Result<i64, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mag = go_parse_uint_inner(digits).map_err(|e| strconv_error("ParseInt", s, e))?;
    if neg {
        if mag > i64::MAX as u64 + 1 {
            return Err(strconv_error("ParseInt", s, "value out of range"));
        }
        Ok((mag as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(mag).map_err(|_| strconv_error("ParseInt", s, "value out of range"))
    }
}

pub fn go_parse_uint(s: &str) -> Result<u64, String> {
    go_parse_uint_inner(s).map_err(|e| strconv_error("ParseUint", s, e))
}

fn go_parse_uint_inner(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err("invalid syntax");
    }
    let lower = s.to_ascii_lowercase();
    let (radix, body, prefixed) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    // Go syntax: underscores only between digits (or right after a base prefix).
    let bad_underscores =
        body.ends_with('_') || body.contains("__") || (!prefixed && body.starts_with('_'));
    if bad_underscores {
        return Err("invalid syntax");
    }
    let body = body.replace('_', "");
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return Err("invalid syntax");
    }
    u64::from_str_radix(&body, radix).map_err(|_| "value out of range")
}

/// Go's `strconv.ParseFloat(s, 64)`.
pub fn go_parse_float(s: &str) -> Result<f64, String> {
    let t = s.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let trimmed = lower.trim_start_matches(['+', '-']);
    if matches!(trimmed, "inf" | "infinity" | "nan") {
        return lower
            .parse::<f64>()
            .map_err(|_| strconv_error("ParseFloat", s, "invalid syntax"));
    }
    if trimmed.starts_with("0x") {
        // Hexadecimal floats (`0x1p-2`) are rare enough not to be supported.
        return Err(strconv_error("ParseFloat", s, "invalid syntax"));
    }
    if s.contains("__") || s.starts_with('_') || s.ends_with('_') {
        return Err(strconv_error("ParseFloat", s, "invalid syntax"));
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        return Err(strconv_error("ParseFloat", s, "invalid syntax"));
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_infinite() => Err(strconv_error("ParseFloat", s, "value out of range")),
        Ok(f) => Ok(f),
        Err(_) => Err(strconv_error("ParseFloat", s, "invalid syntax")),
    }
}

/// Bento's `IToInt`.
pub fn to_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) => {
            let f = *f;
            if f.is_infinite() {
                return Err("cannot convert +/-INF to an integer".into());
            }
            if f.is_nan() {
                return Err("cannot convert NAN to an integer".into());
            }
            if f >= 9.223_372_036_854_776e18 {
                return Err("float value is too large to be cast as a signed integer".into());
            }
            if f < -9.223_372_036_854_776e18 {
                return Err("float value is too small to be cast as a signed integer".into());
            }
            if f.fract() != 0.0 {
                return Err("float value contains decimals and therefore cannot be cast as a signed integer, if you intend to round the value then call `.round()` explicitly before this cast".into());
            }
            Ok(f as i64)
        }
        Value::String(s) => go_parse_int(s),
        Value::Bytes(b) => go_parse_int(&String::from_utf8_lossy(b)),
        _ => Err(type_error(v, &["number"])),
    }
}

/// Bento's `IToUint`.
pub fn to_uint(v: &Value) -> Result<u64, String> {
    match v {
        Value::Int(i) if *i < 0 => {
            Err("signed integer value is negative and cannot be cast as an unsigned integer".into())
        }
        Value::Int(i) => Ok(*i as u64),
        Value::Float(f) => {
            let f = *f;
            if f < 0.0 {
                return Err(
                    "float value is negative and cannot be cast as an unsigned integer".into(),
                );
            }
            if f.is_infinite() {
                return Err("cannot convert +/-INF to an unsigned integer".into());
            }
            if f.is_nan() {
                return Err("cannot convert NAN to an unsigned integer".into());
            }
            if f >= 1.844_674_407_370_955_2e19 {
                return Err("float value is too large to be cast as an unsigned integer".into());
            }
            if f.fract() != 0.0 {
                return Err("float value contains decimals and therefore cannot be cast as an unsigned integer, if you intend to round the value then call `.round()` explicitly before this cast".into());
            }
            Ok(f as u64)
        }
        Value::String(s) => go_parse_uint(s),
        Value::Bytes(b) => go_parse_uint(&String::from_utf8_lossy(b)),
        _ => Err(type_error(v, &["number"])),
    }
}

fn uint_value(u: u64) -> Value {
    i64::try_from(u).map_or(Value::Float(u as f64), Value::Int)
}

fn int_range(v: &Value, min: i64, max: i64, bits: &str) -> Result<Value, String> {
    let i = to_int(v)?;
    if i > max {
        return Err(format!(
            "value is too large to be cast as {bits} signed integer"
        ));
    }
    if i < min {
        return Err(format!(
            "value is too small to be cast as {bits} signed integer"
        ));
    }
    Ok(Value::Int(i))
}

fn uint_range(v: &Value, max: u64, bits: &str) -> Result<Value, String> {
    let u = to_uint(v)?;
    if u > max {
        return Err(format!(
            "value is too large to be cast as {bits} unsigned integer"
        ));
    }
    Ok(uint_value(u))
}

fn int64(v: &Value, _: &[Value]) -> Result<Value, String> {
    to_int(v).map(Value::Int)
}
fn int32(v: &Value, _: &[Value]) -> Result<Value, String> {
    int_range(v, i32::MIN as i64, i32::MAX as i64, "a 32-bit")
}
fn int16(v: &Value, _: &[Value]) -> Result<Value, String> {
    int_range(v, i16::MIN as i64, i16::MAX as i64, "a 16-bit")
}
fn int8(v: &Value, _: &[Value]) -> Result<Value, String> {
    int_range(v, i8::MIN as i64, i8::MAX as i64, "an 8-bit")
}
fn uint64(v: &Value, _: &[Value]) -> Result<Value, String> {
    to_uint(v).map(uint_value)
}
fn uint32(v: &Value, _: &[Value]) -> Result<Value, String> {
    uint_range(v, u32::MAX as u64, "a 32-bit")
}
fn uint16(v: &Value, _: &[Value]) -> Result<Value, String> {
    uint_range(v, u16::MAX as u64, "a 16-bit")
}
fn uint8(v: &Value, _: &[Value]) -> Result<Value, String> {
    uint_range(v, u8::MAX as u64, "an 8-bit")
}

/// Bento's `IToFloat64`.
pub fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::String(s) => go_parse_float(s),
        Value::Bytes(b) => go_parse_float(&String::from_utf8_lossy(b)),
        _ => Err(type_error(v, &["number"])),
    }
}

fn float64(v: &Value, _: &[Value]) -> Result<Value, String> {
    to_float(v).map(Value::Float)
}

fn float32(v: &Value, _: &[Value]) -> Result<Value, String> {
    let f = to_float(v)? as f32;
    // Keep the float32's shortest decimal form, as Go writes a float32.
    let shortest: f64 = format!("{f:e}").parse().unwrap_or(f as f64);
    Ok(Value::Float(shortest))
}

fn pi(_: &[Value]) -> Result<Value, String> {
    Ok(Value::Float(std::f64::consts::PI))
}

fn range(args: &[Value]) -> Result<Value, String> {
    let start = arg_int(args, 0)?;
    let stop = arg_int(args, 1)?;
    let step = match arg(args, 2) {
        Value::Null => 1,
        v => get_int(v)?,
    };
    if step == 0 {
        return Err("step must be greater than or less than 0".into());
    }
    if step > 0 && start > stop {
        return Err(format!(
            "with positive step arg start ({start}) must be < stop ({stop})"
        ));
    }
    if step < 0 && stop > start {
        return Err(format!(
            "with negative step arg stop ({stop}) must be <= start ({start})"
        ));
    }
    let count = ((stop as i128 - start as i128) / step as i128).unsigned_abs();
    if count > 10_000_000 {
        return Err("range too large".into());
    }
    let mut out = Vec::with_capacity(count as usize + 1);
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        match i.checked_add(step) {
            Some(n) => i = n,
            None => break,
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::j;

    fn f(x: f64) -> Value {
        Value::Float(x)
    }

    #[test]
    fn documented() {
        assert_eq!(abs(&Value::Int(-18), &[]).unwrap(), Value::Int(18));
        assert_eq!(abs(&f(-4.56), &[]).unwrap(), f(4.56));
        assert!(matches!(ceil(&f(5.3), &[]).unwrap(), Value::Int(6)));
        assert!(matches!(ceil(&f(-5.9), &[]).unwrap(), Value::Int(-5)));
        assert!(matches!(floor(&f(5.7), &[]).unwrap(), Value::Int(5)));
        assert!(matches!(round(&f(5.5), &[]).unwrap(), Value::Int(6)));
        assert!(matches!(round(&f(-5.5), &[]).unwrap(), Value::Int(-6)));
        assert!(matches!(round(&f(1e300), &[]).unwrap(), Value::Float(_)));
        assert_eq!(log10(&Value::Int(1000), &[]).unwrap(), f(3.0));
        assert_eq!(pow(&Value::Int(2), &[Value::Int(-2)]).unwrap(), f(0.25));
        assert_eq!(max(&j("[0,3,2.5,7,5]"), &[]).unwrap(), Value::Int(7));
        assert_eq!(min(&j("[0,3,-2.5,7,5]"), &[]).unwrap(), f(-2.5));
        assert_eq!(max(&j("[]"), &[]).unwrap_err(), "the array was empty");
        let sin45 = sin(&f(45.0 * std::f64::consts::PI / 180.0), &[]).unwrap();
        assert_eq!(sin45.to_json_string(), "0.7071067811865475");
    }

    #[test]
    fn casts() {
        assert_eq!(int64(&Value::from("12"), &[]).unwrap(), Value::Int(12));
        assert_eq!(
            int64(&Value::from("0xDEADBEEF"), &[]).unwrap(),
            Value::Int(3735928559)
        );
        assert_eq!(
            int32(&Value::from("0xDEAD"), &[]).unwrap(),
            Value::Int(57005)
        );
        assert_eq!(int8(&Value::from("0xD"), &[]).unwrap(), Value::Int(13));
        assert_eq!(uint16(&Value::from("0xDE"), &[]).unwrap(), Value::Int(222));
        assert_eq!(int64(&f(12.0), &[]).unwrap(), Value::Int(12));
        assert!(int64(&f(12.34), &[])
            .unwrap_err()
            .contains("contains decimals"));
        assert_eq!(
            uint8(&Value::Int(-12), &[]).unwrap_err(),
            "signed integer value is negative and cannot be cast as an unsigned integer"
        );
        assert_eq!(
            int8(&Value::Int(300), &[]).unwrap_err(),
            "value is too large to be cast as an 8-bit signed integer"
        );
        assert_eq!(
            int64(&Value::from("abc"), &[]).unwrap_err(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            float64(&Value::from("6.674282313423543523453425345e-11"), &[])
                .unwrap()
                .to_json_string(),
            "6.674282313423544e-11"
        );
        assert_eq!(
            float32(&Value::from("6.674282313423543523453425345e-11"), &[])
                .unwrap()
                .to_json_string(),
            "6.674283e-11"
        );
        assert!(float64(&Value::from("nope"), &[]).is_err());
        assert_eq!(int64(&Value::from("0o17"), &[]).unwrap(), Value::Int(15));
        assert_eq!(int64(&Value::from("1_000"), &[]).unwrap(), Value::Int(1000));
        assert!(int64(&Value::from("1__0"), &[]).is_err());
        assert!(int64(&Value::from("_1"), &[]).is_err());
        assert_eq!(
            float64(&Value::from("1_000.5"), &[]).unwrap(),
            Value::Float(1000.5)
        );
        assert!(float64(&Value::from("0x1F"), &[]).is_err());
        assert_eq!(
            int64(&Value::from("-9223372036854775808"), &[]).unwrap(),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn functions() {
        assert_eq!(
            range(&[Value::Int(0), Value::Int(10), Value::Int(2)]).unwrap(),
            j("[0,2,4,6,8]")
        );
        assert_eq!(
            range(&[Value::Int(0), Value::Int(-10), Value::Int(-2)]).unwrap(),
            j("[0,-2,-4,-6,-8]")
        );
        assert_eq!(
            range(&[Value::Int(0), Value::Int(3), Value::Null]).unwrap(),
            j("[0,1,2]")
        );
        assert!(range(&[Value::Int(0), Value::Int(3), Value::Int(0)]).is_err());
        assert!(range(&[Value::Int(5), Value::Int(3), Value::Int(1)]).is_err());
        assert_eq!(pi(&[]).unwrap(), f(std::f64::consts::PI));
    }
}
