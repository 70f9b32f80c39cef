//! A subset of Go's `fmt.Sprintf`, used by the `format` method: flags `-+# 0`, width, precision
//! and the verbs `v s d f F e E g G q x X t c o b T %`. Bloblang values map to the Go types Bento
//! hands to `Sprintf` (int64, float64, string, []byte, bool, nil, []any, map[string]any).

use super::helpers::{format_go_g, format_go_g_prec, go_quote};
use crate::message::Value;

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut argi = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        while i < chars.len() {
            match chars[i] {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        let mut width = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            width.push(chars[i]);
            i += 1;
        }
        spec.width = width.parse().ok();
        if !width.is_empty() && spec.width.is_none_or(|w| w > 1_000_000) {
            out.push_str("%!(BADWIDTH)");
            spec.width = None;
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let mut p = String::new();
            while i < chars.len() && chars[i].is_ascii_digit() {
                p.push(chars[i]);
                i += 1;
            }
            spec.prec = Some(if p.is_empty() {
                0
            } else {
                p.parse().unwrap_or(usize::MAX)
            });
            if spec.prec.is_some_and(|p| p > 1_000_000) {
                out.push_str("%!(BADPREC)");
                spec.prec = None;
            }
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        let body = format_one(verb, &spec, arg);
        pad(&mut out, &body, &spec, verb);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (n, a) in args[argi..].iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str(go_type(a));
            out.push('=');
            out.push_str(&go_v(a, false));
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, body: &str, spec: &Spec, verb: char) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && !matches!(verb, 's' | 'q' | 'v' | 't' | 'T') {
        let (sign, rest) = match body.strip_prefix(['-', '+']) {
            Some(r) => (&body[..1], r),
            None => ("", body),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "[]uint8",
        Value::Timestamp(_) => "time.Time",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` (nested: inside containers, strings are printed raw as well).
fn go_v(v: &Value, _nested: bool) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_go_g(*f),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => {
            let parts: Vec<String> = b.iter().map(|x| x.to_string()).collect();
            format!("[{}]", parts.join(" "))
        }
        // Go's time.Time String(): the zone name follows the offset ("UTC" for UTC, the numeric
        // offset again for unnamed fixed zones).
        Value::Timestamp(t) => {
            let zone = if t.offset().local_minus_utc() == 0 {
                "UTC".to_string()
            } else {
                t.format("%z").to_string()
            };
            format!("{} {zone}", t.format("%Y-%m-%d %H:%M:%S%.f %z"))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|x| go_v(x, true)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{k}:{}", go_v(x, true)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn bad(verb: char, v: &Value) -> String {
    format!("%!{verb}({}={})", go_type(v), go_v(v, false))
}

fn sign(s: String, spec: &Spec, neg: bool) -> String {
    if neg {
        s
    } else if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn format_one(verb: char, spec: &Spec, v: &Value) -> String {
    match verb {
        'v' => match v {
            Value::Float(f) => sign(format_go_g(*f), spec, *f < 0.0),
            Value::Int(i) => sign(i.to_string(), spec, *i < 0),
            _ => go_v(v, false),
        },
        'T' => go_type(v).to_string(),
        's' => match v {
            Value::String(s) => truncate(s, spec.prec),
            Value::Bytes(b) => truncate(&String::from_utf8_lossy(b), spec.prec),
            Value::Array(_) | Value::Object(_) | Value::Null | Value::Timestamp(_) => {
                go_v(v, false)
            }
            _ => bad(verb, v),
        },
        'q' => match v {
            Value::String(s) => go_quote(s),
            Value::Bytes(b) => go_quote(&String::from_utf8_lossy(b)),
            Value::Int(i) => char::from_u32(*i as u32)
                .map(|c| format!("'{c}'"))
                .unwrap_or_else(|| bad(verb, v)),
            _ => bad(verb, v),
        },
        'd' => match v {
            Value::Int(i) => sign(i.to_string(), spec, *i < 0),
            _ => bad(verb, v),
        },
        'b' | 'o' | 'x' | 'X' => match v {
            Value::Int(i) => {
                let a = i.unsigned_abs();
                let mut s = match verb {
                    'b' => format!("{a:b}"),
                    'o' => format!("{a:o}"),
                    'x' => format!("{a:x}"),
                    _ => format!("{a:X}"),
                };
                if spec.sharp {
                    s = match verb {
                        'o' => format!("0{s}"),
                        'x' => format!("0x{s}"),
                        'X' => format!("0X{s}"),
                        _ => s,
                    };
                }
                if *i < 0 {
                    s = format!("-{s}");
                }
                sign(s, spec, *i < 0)
            }
            Value::String(s) if verb == 'x' || verb == 'X' => hexs(s.as_bytes(), verb),
            Value::Bytes(b) if verb == 'x' || verb == 'X' => hexs(b, verb),
            Value::Float(f) if verb == 'x' || verb == 'X' => bad(verb, &Value::Float(*f)),
            _ => bad(verb, v),
        },
        'c' => match v {
            Value::Int(i) => char::from_u32(*i as u32)
                .map(String::from)
                .unwrap_or_else(|| "\u{fffd}".into()),
            _ => bad(verb, v),
        },
        't' => match v {
            Value::Bool(b) => b.to_string(),
            _ => bad(verb, v),
        },
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let f = match v {
                Value::Float(f) => *f,
                // Bento often holds JSON numbers as float64: accept integers too.
                Value::Int(i) => *i as f64,
                _ => return bad(verb, v),
            };
            if f.is_nan() {
                return "NaN".into();
            }
            if f.is_infinite() {
                return if f > 0.0 {
                    sign("+Inf".into(), spec, false)
                } else {
                    "-Inf".into()
                };
            }
            let s = match verb {
                'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f),
                'e' | 'E' => {
                    let s = go_exp(f, spec.prec.unwrap_or(6));
                    if verb == 'E' {
                        s.to_uppercase()
                    } else {
                        s
                    }
                }
                _ => {
                    let s = match spec.prec {
                        None => format_go_g(f),
                        Some(p) => format_go_g_prec(f, Some(p), 6),
                    };
                    if verb == 'G' {
                        s.to_uppercase()
                    } else {
                        s
                    }
                }
            };
            let neg = s.starts_with('-');
            sign(s, spec, neg)
        }
        _ => format!("%!{verb}({}={})", go_type(v), go_v(v, false)),
    }
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn hexs(b: &[u8], verb: char) -> String {
    let s = hex::encode(b);
    if verb == 'X' {
        s.to_uppercase()
    } else {
        s
    }
}

fn go_exp(f: f64, prec: usize) -> String {
    let s = format!("{:.*e}", prec, f);
    match s.split_once('e') {
        Some((m, e)) => {
            let n: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let args = [Value::from("lance"), Value::Int(37), Value::Int(13)];
        assert_eq!(sprintf("%s(%v): %v", &args), "lance(37): 13");
        assert_eq!(sprintf("%f", &[Value::Float(1.0)]), "1.000000");
        assert_eq!(sprintf("%f", &[Value::Float(-0.0)]), "-0.000000");
        assert_eq!(
            sprintf(
                "%5d|%-4s|%05.1f",
                &[Value::Int(3), Value::from("a"), Value::Float(2.25)]
            ),
            "    3|a   |002.2"
        );
        assert_eq!(sprintf("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf(
                "%q %x %t %%",
                &[Value::from("a"), Value::Int(255), Value::Bool(true)]
            ),
            "\"a\" ff true %"
        );
        assert_eq!(
            sprintf("%v", &[Value::Array(vec![Value::Int(1), Value::from("b")])]),
            "[1 b]"
        );
        assert_eq!(sprintf("x", &[Value::Int(1)]), "x%!(EXTRA int64=1)");
        assert_eq!(sprintf("%e", &[Value::Float(1234.5)]), "1.234500e+03");
        assert_eq!(sprintf("%99999999999d", &[Value::Int(1)]), "%!(BADWIDTH)1");
        let t = chrono::DateTime::parse_from_rfc3339("2020-08-14T11:50:26.371Z").unwrap();
        assert_eq!(
            sprintf("%v", &[Value::Timestamp(t)]),
            "2020-08-14 11:50:26.371 +0000 UTC"
        );
    }
}
