//! XML parsing and formatting in the shape Bento's (mxj based) conversions use: attributes as
//! `-name` keys, text beside attributes or children as `#text`, repeated elements as arrays.

use quick_xml::events::Event;

use super::coercion::to_bool;
use super::helpers::*;
use super::{MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::value::Object;
use crate::message::Value;

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "parse_xml",
        category: "Parsing",
        description: "Attempts to parse a string as an XML document and returns a structured result, where elements appear as keys of an object according to the following rules: attributes are keys prefixed with a hyphen (`-`), the value of a simple element with attributes is given the key `#text`, comments, directives and process instructions are ignored, repeated elements become arrays, and if `cast` is true values are cast to numbers and booleans where possible.",
        params: &[opt("cast", K::Bool, D::Bool(false), "whether to try to cast values that are numbers and booleans to the right type.")],
        examples: &[
            ex("", "root.doc = this.doc.parse_xml()", &[(r#"{"doc":"<root><title>This is a title</title><content>This is some content</content></root>"}"#, r#"{"doc":{"root":{"content":"This is some content","title":"This is a title"}}}"#)]),
            ex("", "root.doc = this.doc.parse_xml(cast: false)", &[(r#"{"doc":"<root><title>This is a title</title><number id=99>123</number><bool>True</bool></root>"}"#, r##"{"doc":{"root":{"bool":"True","number":{"#text":"123","-id":"99"},"title":"This is a title"}}}"##)]),
            ex("", "root.doc = this.doc.parse_xml(cast: true)", &[(r#"{"doc":"<root><title>This is a title</title><number id=99>123</number><bool>True</bool></root>"}"#, r##"{"doc":{"root":{"bool":true,"number":{"#text":123,"-id":99},"title":"This is a title"}}}"##)]),
        ],
        imp: parse_xml,
    },
    MethodSpec {
        name: "format_xml",
        category: "Parsing",
        description: "Serializes a target value into an XML byte array. Keys prefixed with a hyphen (`-`) become attributes and `#text` keys become the text of their element.",
        params: &[
            opt("indent", K::String, D::Str("    "), "Indentation string. Each element in an XML object or array will begin on a new, indented line followed by one or more copies of indent according to the indentation nesting."),
            opt("no_indent", K::Bool, D::Bool(false), "Disable indentation."),
        ],
        examples: &[
            ex("Serializes a target value into a pretty-printed XML byte array (with 4 space indentation by default).", "root = this.format_xml()", &[(r#"{"foo":{"bar":{"baz":"foo bar baz"}}}"#, "<foo>\n    <bar>\n        <baz>foo bar baz</baz>\n    </bar>\n</foo>")]),
            ex("Pass a string to the `indent` parameter in order to customise the indentation.", "root = this.format_xml(\"  \")", &[(r#"{"foo":{"bar":{"baz":"foo bar baz"}}}"#, "<foo>\n  <bar>\n    <baz>foo bar baz</baz>\n  </bar>\n</foo>")]),
            ex("Use the `.string()` method in order to coerce the result into a string.", "root.doc = this.format_xml(\"\").string()", &[(r#"{"foo":{"bar":{"baz":"foo bar baz"}}}"#, r#"{"doc":"<foo>\n<bar>\n<baz>foo bar baz</baz>\n</bar>\n</foo>"}"#)]),
            ex("Set the `no_indent` parameter to true to disable indentation.", "root = this.format_xml(no_indent: true)", &[(r#"{"foo":{"bar":{"baz":"foo bar baz"}}}"#, "<foo><bar><baz>foo bar baz</baz></bar></foo>")]),
        ],
        imp: format_xml,
    },
];

struct Frame {
    name: String,
    attrs: Object,
    children: Object,
    text: String,
}

fn cast_value(s: &str, cast: bool) -> Value {
    if cast {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(f) = super::numbers::go_parse_float(s) {
            return Value::Float(f);
        }
        if let Ok(b) = to_bool(&Value::String(s.to_string())) {
            return Value::Bool(b);
        }
    }
    Value::String(s.to_string())
}

fn add_child(children: &mut Object, name: String, v: Value) {
    match children.remove(&name) {
        None => {
            children.insert(name, v);
        }
        Some(Value::Array(mut a)) => {
            a.push(v);
            children.insert(name, Value::Array(a));
        }
        Some(prev) => {
            children.insert(name, Value::Array(vec![prev, v]));
        }
    }
}

fn finish(frame: Frame, cast: bool) -> Value {
    let text = frame.text.trim();
    if frame.attrs.is_empty() && frame.children.is_empty() {
        return cast_value(text, cast);
    }
    let mut o = frame.attrs;
    for (k, v) in frame.children {
        o.insert(k, v);
    }
    if !text.is_empty() {
        o.insert("#text".into(), cast_value(text, cast));
    }
    Value::Object(o)
}

fn start_frame(e: &quick_xml::events::BytesStart, cast: bool) -> Result<Frame, String> {
    let name = e.name().as_ref().to_string();
    let mut attrs = Object::new();
    for a in e.html_attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = format!("-{}", a.key.as_ref());
        let val = a
            .normalized_value(quick_xml::XmlVersion::default())
            .map_err(|e| e.to_string())?;
        attrs.insert(key, cast_value(&val, cast));
    }
    Ok(Frame {
        name,
        attrs,
        children: Object::new(),
        text: String::new(),
    })
}

/// The deepest element nesting accepted. Documents from the network can nest without end, and
/// a value nested that deep overflows the stack of whatever walks it later (serialising it,
/// dropping it), which aborts the process.
pub const MAX_XML_DEPTH: usize = 1000;

pub fn xml_to_value(text: &str, cast: bool) -> Result<Value, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Frame> = vec![Frame {
        name: String::new(),
        attrs: Object::new(),
        children: Object::new(),
        text: String::new(),
    }];
    loop {
        let ev = reader.read_event().map_err(|e| e.to_string())?;
        match ev {
            Event::Start(e) => {
                if stack.len() > MAX_XML_DEPTH {
                    return Err(format!(
                        "XML elements nest deeper than {MAX_XML_DEPTH} levels"
                    ));
                }
                stack.push(start_frame(&e, cast)?)
            }
            Event::Empty(e) => {
                let f = start_frame(&e, cast)?;
                let name = f.name.clone();
                let v = finish(f, cast);
                if let Some(parent) = stack.last_mut() {
                    add_child(&mut parent.children, name, v);
                }
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err("unexpected closing tag".into());
                }
                let Some(f) = stack.pop() else { break };
                let name = f.name.clone();
                let v = finish(f, cast);
                if let Some(parent) = stack.last_mut() {
                    add_child(&mut parent.children, name, v);
                }
            }
            Event::Text(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let raw = format!("&{};", &*r);
                let resolved = quick_xml::escape::unescape(&raw)
                    .map_err(|e| e.to_string())?
                    .into_owned();
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("unexpected EOF: unclosed XML elements".into());
    }
    let root = stack.pop().map(|f| f.children).unwrap_or_default();
    Ok(Value::Object(root))
}

fn parse_xml(v: &Value, args: &[Value]) -> Result<Value, String> {
    let cast = arg_bool(args, 0, false)?;
    let bytes = str_or_bytes(v)?;
    xml_to_value(&String::from_utf8_lossy(&bytes), cast)
}

fn escape_xml(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => to_string_lossy(other),
    }
}

struct XmlWriter<'a> {
    out: String,
    indent: Option<&'a str>,
}

impl XmlWriter<'_> {
    fn newline(&mut self, depth: usize) {
        if let Some(ind) = self.indent {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            for _ in 0..depth {
                self.out.push_str(ind);
            }
        }
    }

    fn element(&mut self, name: &str, v: &Value, depth: usize) {
        if let Value::Array(items) = v {
            for item in items {
                self.element(name, item, depth);
            }
            return;
        }
        self.newline(depth);
        self.out.push('<');
        self.out.push_str(name);
        match v {
            Value::Object(o) => {
                for (k, a) in o.iter().filter(|(k, _)| k.starts_with('-')) {
                    self.out.push_str(&format!(
                        " {}=\"{}\"",
                        &k[1..],
                        escape_xml(&scalar_text(a), true)
                    ));
                }
                let text = o.get("#text").map(scalar_text).unwrap_or_default();
                let children: Vec<(&String, &Value)> = o
                    .iter()
                    .filter(|(k, _)| !k.starts_with('-') && k.as_str() != "#text")
                    .collect();
                if children.is_empty() && text.is_empty() {
                    self.out.push_str("/>");
                    return;
                }
                self.out.push('>');
                self.out.push_str(&escape_xml(&text, false));
                for (k, c) in &children {
                    self.element(k, c, depth + 1);
                }
                if !children.is_empty() {
                    self.newline(depth);
                }
            }
            Value::Null => {
                self.out.push_str("/>");
                return;
            }
            other => {
                self.out.push('>');
                self.out.push_str(&escape_xml(&scalar_text(other), false));
            }
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

pub fn value_to_xml(v: &Value, indent: Option<&str>) -> Result<String, String> {
    let mut w = XmlWriter {
        out: String::new(),
        indent,
    };
    match v {
        Value::Object(o) if o.len() == 1 => {
            for (k, c) in o {
                w.element(k, c, 0);
            }
        }
        Value::Object(_) => w.element("doc", v, 0),
        other => return Err(type_error(other, &["object"])),
    }
    Ok(w.out)
}

fn format_xml(v: &Value, args: &[Value]) -> Result<Value, String> {
    let indent = arg_opt_str(args, 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "    ".into());
    let no_indent = arg_bool(args, 1, false)?;
    let text = value_to_xml(v, if no_indent { None } else { Some(&indent) })?;
    Ok(Value::Bytes(text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    #[test]
    fn nesting_past_the_limit_is_an_error_not_an_abort() {
        let deep = |n: usize| "<a>".repeat(n) + &"</a>".repeat(n);
        assert!(xml_to_value(&deep(MAX_XML_DEPTH), false).is_ok());
        let err = xml_to_value(&deep(200_000), false).unwrap_err();
        assert!(err.contains("nest deeper than 1000"), "{err}");
    }

    fn text(v: Value) -> String {
        match v {
            Value::Bytes(b) => String::from_utf8(b).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parsing() {
        let doc = s("<root><title>This is a title</title><number id=99>123</number><bool>True</bool></root>");
        assert_eq!(
            parse_xml(&doc, &[Value::Bool(false)]).unwrap(),
            j(
                r##"{"root":{"bool":"True","number":{"#text":"123","-id":"99"},"title":"This is a title"}}"##
            )
        );
        assert_eq!(
            parse_xml(&doc, &[Value::Bool(true)]).unwrap(),
            j(
                r##"{"root":{"bool":true,"number":{"#text":123,"-id":99},"title":"This is a title"}}"##
            )
        );
        assert_eq!(
            parse_xml(
                &s("<a><b>1</b><b>2</b><c/><!-- x --><d>x &amp; y</d></a>"),
                &[Value::Null]
            )
            .unwrap(),
            j(r#"{"a":{"b":["1","2"],"c":"","d":"x & y"}}"#)
        );
        assert!(parse_xml(&s("<a><b></a>"), &[Value::Null]).is_err());
    }

    #[test]
    fn formatting() {
        let v = j(r#"{"foo":{"bar":{"baz":"foo bar baz"}}}"#);
        assert_eq!(
            text(format_xml(&v, &[Value::Null, Value::Null]).unwrap()),
            "<foo>\n    <bar>\n        <baz>foo bar baz</baz>\n    </bar>\n</foo>"
        );
        assert_eq!(
            text(format_xml(&v, &[s(""), Value::Null]).unwrap()),
            "<foo>\n<bar>\n<baz>foo bar baz</baz>\n</bar>\n</foo>"
        );
        assert_eq!(
            text(format_xml(&v, &[Value::Null, Value::Bool(true)]).unwrap()),
            "<foo><bar><baz>foo bar baz</baz></bar></foo>"
        );
        let a = j(r##"{"a":{"-id":"1","#text":"x<y","b":[1,2]}}"##);
        assert_eq!(
            text(format_xml(&a, &[Value::Null, Value::Bool(true)]).unwrap()),
            "<a id=\"1\">x&lt;y<b>1</b><b>2</b></a>"
        );
        assert!(format_xml(&s("x"), &[Value::Null, Value::Null]).is_err());
    }
}
