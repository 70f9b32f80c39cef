//! String manipulation methods.

use std::borrow::Cow;

use super::gofmt::sprintf;
use super::helpers::*;
use super::{MethodSpec, ParamDefault as D, ParamKind as K, HIDDEN};
use crate::message::Value;

const CAT: &str = "String Manipulation";

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "capitalize",
        category: CAT,
        description: "Takes a string value and returns a copy with all Unicode letters that begin words mapped to their Unicode title case.",
        params: &[],
        examples: &[ex("", "root.title = this.title.capitalize()", &[(r#"{"title":"the foo bar"}"#, r#"{"title":"The Foo Bar"}"#)])],
        imp: capitalize,
    },
    MethodSpec {
        name: "contains",
        category: CAT,
        description: "Checks whether a string contains a substring, or an array or object contains a value, and returns a boolean result.",
        params: &[req("value", K::Any, "A value to test against elements of the target.")],
        examples: &[
            ex("", r#"root.has_foo = this.thing.contains("foo")"#, &[
                (r#"{"thing":["this","foo","that"]}"#, r#"{"has_foo":true}"#),
                (r#"{"thing":["this","bar","that"]}"#, r#"{"has_foo":false}"#),
            ]),
            ex("", "root.has_bar = this.thing.contains(20)", &[
                (r#"{"thing":[10.3,20.0,"huh",3]}"#, r#"{"has_bar":true}"#),
                (r#"{"thing":[2,3,40,67]}"#, r#"{"has_bar":false}"#),
            ]),
            ex("", r#"root.has_foo = this.thing.contains("foo")"#, &[
                (r#"{"thing":"this foo that"}"#, r#"{"has_foo":true}"#),
                (r#"{"thing":"this bar that"}"#, r#"{"has_foo":false}"#),
            ]),
        ],
        imp: contains,
    },
    MethodSpec {
        name: "escape_html",
        category: CAT,
        description: "Escapes a string so that special characters like `<` to become `&lt;`. It escapes only five such characters: `<`, `>`, `&`, `'` and `\"`.",
        params: &[],
        examples: &[ex("", "root.escaped = this.value.escape_html()", &[(r#"{"value":"foo & bar"}"#, r#"{"escaped":"foo &amp; bar"}"#)])],
        imp: escape_html,
    },
    MethodSpec {
        name: "unescape_html",
        category: CAT,
        description: "Unescapes a string so that entities like `&lt;` become `<`.",
        params: &[],
        examples: &[ex("", "root.unescaped = this.value.unescape_html()", &[(r#"{"value":"foo &amp; bar"}"#, r#"{"unescaped":"foo & bar"}"#)])],
        imp: unescape_html,
    },
    MethodSpec {
        name: "escape_url_query",
        category: CAT,
        description: "Escapes a string so that it can be safely placed within a URL query.",
        params: &[],
        examples: &[ex("", "root.escaped = this.value.escape_url_query()", &[(r#"{"value":"foo & bar"}"#, r#"{"escaped":"foo+%26+bar"}"#)])],
        imp: escape_url_query,
    },
    MethodSpec {
        name: "unescape_url_query",
        category: CAT,
        description: "Expands escape sequences from a URL query string.",
        params: &[],
        examples: &[ex("", "root.unescaped = this.value.unescape_url_query()", &[(r#"{"value":"foo+%26+bar"}"#, r#"{"unescaped":"foo & bar"}"#)])],
        imp: unescape_url_query,
    },
    MethodSpec {
        name: "filepath_join",
        category: CAT,
        description: "Joins an array of path elements into a single file path.",
        params: &[],
        examples: &[ex("", "root.path = this.path_elements.filepath_join()", &[(r#"{"path_elements":["/foo/","bar.txt"]}"#, r#"{"path":"/foo/bar.txt"}"#)])],
        imp: filepath_join,
    },
    MethodSpec {
        name: "filepath_split",
        category: CAT,
        description: "Splits a file path immediately following the final separator, returning a two element array of directory and file name.",
        params: &[],
        examples: &[ex("", "root.path_sep = this.path.filepath_split()", &[
            (r#"{"path":"/foo/bar.txt"}"#, r#"{"path_sep":["/foo/","bar.txt"]}"#),
            (r#"{"path":"baz.txt"}"#, r#"{"path_sep":["","baz.txt"]}"#),
        ])],
        imp: filepath_split,
    },
    MethodSpec {
        name: "format",
        category: CAT,
        description: "Use a value string as a format specifier in order to produce a new string, using any number of provided arguments (Go `fmt` verbs).",
        params: &[],
        examples: &[ex("", r#"root.foo = "%s(%v): %v".format(this.name, this.age, this.fingers)"#, &[(r#"{"name":"lance","age":37,"fingers":13}"#, r#"{"foo":"lance(37): 13"}"#)])],
        imp: format,
    },
    MethodSpec {
        name: "has_prefix",
        category: CAT,
        description: "Checks whether a string has a prefix argument and returns a bool.",
        params: &[req("value", K::String, "The string to test.")],
        examples: &[ex("", "root.t1 = this.v1.has_prefix(\"foo\")\nroot.t2 = this.v2.has_prefix(\"foo\")", &[(r#"{"v1":"foobar","v2":"barfoo"}"#, r#"{"t1":true,"t2":false}"#)])],
        imp: has_prefix,
    },
    MethodSpec {
        name: "has_suffix",
        category: CAT,
        description: "Checks whether a string has a suffix argument and returns a bool.",
        params: &[req("value", K::String, "The string to test.")],
        examples: &[ex("", "root.t1 = this.v1.has_suffix(\"foo\")\nroot.t2 = this.v2.has_suffix(\"foo\")", &[(r#"{"v1":"foobar","v2":"barfoo"}"#, r#"{"t1":false,"t2":true}"#)])],
        imp: has_suffix,
    },
    MethodSpec {
        name: "index_of",
        category: CAT,
        description: "Returns the starting index of the argument substring in a string target, or `-1` if the target doesn't contain the argument.",
        params: &[req("value", K::String, "A string to search for.")],
        examples: &[
            ex("", r#"root.index = this.thing.index_of("bar")"#, &[(r#"{"thing":"foobar"}"#, r#"{"index":3}"#)]),
            ex("", r#"root.index = content().index_of("meow")"#, &[("the cat meowed, the dog woofed", r#"{"index":8}"#)]),
        ],
        imp: index_of,
    },
    MethodSpec {
        name: "length",
        category: CAT,
        description: "Returns the length of a string (in bytes), array or object.",
        params: &[],
        examples: &[
            ex("", "root.foo_len = this.foo.length()", &[
                (r#"{"foo":"hello world"}"#, r#"{"foo_len":11}"#),
            ]),
            ex("", "root.foo_len = this.foo.length()", &[
                (r#"{"foo":["first","second"]}"#, r#"{"foo_len":2}"#),
                (r#"{"foo":{"first":"bar","second":"baz"}}"#, r#"{"foo_len":2}"#),
            ]),
        ],
        imp: length,
    },
    MethodSpec {
        name: "lowercase",
        category: CAT,
        description: "Convert a string value into lowercase.",
        params: &[],
        examples: &[ex("", "root.foo = this.foo.lowercase()", &[(r#"{"foo":"HELLO WORLD"}"#, r#"{"foo":"hello world"}"#)])],
        imp: lowercase,
    },
    MethodSpec {
        name: "uppercase",
        category: CAT,
        description: "Convert a string value into uppercase.",
        params: &[],
        examples: &[ex("", "root.foo = this.foo.uppercase()", &[(r#"{"foo":"hello world"}"#, r#"{"foo":"HELLO WORLD"}"#)])],
        imp: uppercase,
    },
    MethodSpec {
        name: "quote",
        category: CAT,
        description: "Quotes a target string using escape sequences (`\\t`, `\\n`, `\\xFF`, `\\u0100`) for control characters and non-printable characters.",
        params: &[],
        examples: &[ex("", "root.quoted = this.thing.quote()", &[(r#"{"thing":"foo\nbar"}"#, r#"{"quoted":"\"foo\\nbar\""}"#)])],
        imp: quote,
    },
    MethodSpec {
        name: "unquote",
        category: CAT,
        description: "Unquotes a target string, expanding any escape sequences (`\\t`, `\\n`, `\\xFF`, `\\u0100`) for control characters and non-printable characters.",
        params: &[],
        examples: &[ex("", "root.unquoted = this.thing.unquote()", &[(r#"{"thing":"\"foo\\nbar\""}"#, r#"{"unquoted":"foo\nbar"}"#)])],
        imp: unquote,
    },
    MethodSpec {
        name: "repeat",
        category: CAT,
        description: "Repeat returns a new string consisting of count copies of the string",
        params: &[req("count", K::Int, "The number of times to repeat the string.")],
        examples: &[ex("", "root.fruit = this.fruit + \"na\".repeat(2)", &[(r#"{"fruit":"ba"}"#, r#"{"fruit":"banana"}"#)])],
        imp: repeat,
    },
    MethodSpec {
        name: "replace_all",
        category: CAT,
        description: "Replaces all occurrences of the first argument in a target string with the second argument.",
        params: REPLACE_PARAMS,
        examples: &[ex("", r#"root.new_value = this.value.replace_all("foo","dog")"#, &[(r#"{"value":"The foo ate my homework"}"#, r#"{"new_value":"The dog ate my homework"}"#)])],
        imp: replace_all,
    },
    MethodSpec {
        name: "replace",
        category: HIDDEN,
        description: "Hidden alias of `replace_all`.",
        params: REPLACE_PARAMS,
        examples: &[],
        imp: replace_all,
    },
    MethodSpec {
        name: "replace_all_many",
        category: CAT,
        description: "For each pair of strings in an argument array, replaces all occurrences of the first item of the pair with the second.",
        params: REPLACE_MANY_PARAMS,
        examples: &[ex("", "root.new_value = this.value.replace_all_many([\n  \"<b>\", \"&lt;b&gt;\",\n  \"</b>\", \"&lt;/b&gt;\",\n  \"<i>\", \"&lt;i&gt;\",\n  \"</i>\", \"&lt;/i&gt;\",\n])", &[(r#"{"value":"<i>Hello</i> <b>World</b>"}"#, r#"{"new_value":"&lt;i&gt;Hello&lt;/i&gt; &lt;b&gt;World&lt;/b&gt;"}"#)])],
        imp: replace_all_many,
    },
    MethodSpec {
        name: "replace_many",
        category: HIDDEN,
        description: "Hidden alias of `replace_all_many`.",
        params: REPLACE_MANY_PARAMS,
        examples: &[],
        imp: replace_all_many,
    },
    MethodSpec {
        name: "reverse",
        category: CAT,
        description: "Returns the target string in reverse order.",
        params: &[],
        examples: &[
            ex("", "root.reversed = this.thing.reverse()", &[(r#"{"thing":"backwards"}"#, r#"{"reversed":"sdrawkcab"}"#)]),
            ex("", "root = content().reverse()", &[(r#"{"thing":"backwards"}"#, r#"}"sdrawkcab":"gniht"{"#)]),
        ],
        imp: reverse,
    },
    MethodSpec {
        name: "slice",
        category: CAT,
        description: "Extract a slice from a string (by byte offset) or array, between `low` (inclusive) and `high` (exclusive); negative indexes count from the end.",
        params: &[
            req("low", K::Int, "The low bound, which is the first element of the selection, or if negative selects from the end."),
            opt("high", K::Int, D::Optional, "An optional high bound."),
        ],
        examples: &[
            ex("", "root.beginning = this.value.slice(0, 2)\nroot.end = this.value.slice(4)", &[(r#"{"value":"foo bar"}"#, r#"{"beginning":"fo","end":"bar"}"#)]),
            ex("", "root.last_chunk = this.value.slice(-4)\nroot.the_rest = this.value.slice(0, -4)", &[(r#"{"value":"foo bar"}"#, r#"{"last_chunk":" bar","the_rest":"foo"}"#)]),
            ex("", "root.beginning = this.value.slice(0, 2)\nroot.end = this.value.slice(4)", &[(r#"{"value":["foo","bar","baz","buz","bev"]}"#, r#"{"beginning":["foo","bar"],"end":["bev"]}"#)]),
            ex("", "root.last_chunk = this.value.slice(-2)\nroot.the_rest = this.value.slice(0, -2)", &[(r#"{"value":["foo","bar","baz","buz","bev"]}"#, r#"{"last_chunk":["buz","bev"],"the_rest":["foo","bar","baz"]}"#)]),
        ],
        imp: slice,
    },
    MethodSpec {
        name: "slug",
        category: CAT,
        description: "Creates a \"slug\" from a given string. Wraps the github.com/gosimple/slug package.",
        params: &[opt("lang", K::String, D::Str("en"), "Language code of the substitutions to apply.")],
        examples: &[
            ex("", "root.slug = this.value.slug()", &[(r#"{"value":"Gopher & Bento"}"#, r#"{"slug":"gopher-and-bento"}"#)]),
            ex("", "root.slug = this.value.slug(\"fr\")", &[(r#"{"value":"Gaufre & Poisson d'Eau Profonde"}"#, r#"{"slug":"gaufre-et-poisson-deau-profonde"}"#)]),
        ],
        imp: slug,
    },
    MethodSpec {
        name: "split",
        category: CAT,
        description: "Split a string value into an array of strings by splitting it on a string separator, or an array into an array of arrays on a delimiter value.",
        params: &[req("delimiter", K::Any, "The delimiter to split with.")],
        examples: &[
            ex("", r#"root.words = this.value.split(",")"#, &[(r#"{"value":"foo,bar,baz"}"#, r#"{"words":["foo","bar","baz"]}"#)]),
            ex("", r#"root.segments = this.villains.split("Kraven The Hunter")"#, &[(r#"{"villains": ["Doctor Octopus", "Electro", "Kraven The Hunter", "Mysterio", "Sandman", "Vulture"]}"#, r#"{"segments":[["Doctor Octopus","Electro"],["Mysterio","Sandman","Vulture"]]}"#)]),
            ex("", "root.parts = this.mixed.split(0)", &[(r#"{"mixed": [1, "a", 2, "b", 3, "c", 4, "d", 0, "e", 5, "f", 6, "g", 7, "h", 0, "i", 8, "j", 9]}"#, r#"{"parts":[[1,"a",2,"b",3,"c",4,"d"],["e",5,"f",6,"g",7,"h"],["i",8,"j",9]]}"#)]),
            ex("", r#"root.groups = this.objects.split({"type": "separator"})"#, &[(r#"{"objects": [{"id": 1, "name": "Spider-Man"}, {"type": "separator"}, {"id": 2, "name": "Daredevil"}]}"#, r#"{"groups":[[{"id":1,"name":"Spider-Man"}],[{"id":2,"name":"Daredevil"}]]}"#)]),
        ],
        imp: split,
    },
    MethodSpec {
        name: "strip_html",
        category: CAT,
        description: "Attempts to remove all HTML tags from a target string.",
        params: &[opt("preserve", K::Array, D::Optional, "An optional array of element types to preserve in the output.")],
        examples: &[
            ex("", "root.stripped = this.value.strip_html()", &[(r#"{"value":"<p>the plain <strong>old text</strong></p>"}"#, r#"{"stripped":"the plain old text"}"#)]),
            ex("It's also possible to provide an explicit list of element types to preserve in the output.", "root.stripped = this.value.strip_html([\"article\"])", &[(r#"{"value":"<article><p>the plain <strong>old text</strong></p></article>"}"#, r#"{"stripped":"<article>the plain old text</article>"}"#)]),
        ],
        imp: strip_html,
    },
    MethodSpec {
        name: "trim",
        category: CAT,
        description: "Remove all leading and trailing characters from a string that are contained within an argument cutset. If no arguments are provided then whitespace is removed.",
        params: &[opt("cutset", K::String, D::Optional, "An optional string of characters to trim from the target value.")],
        examples: &[ex("", "root.title = this.title.trim(\"!?\")\nroot.description = this.description.trim()", &[(r#"{"description":"  something happened and its amazing! ","title":"!!!watch out!?"}"#, r#"{"description":"something happened and its amazing!","title":"watch out"}"#)])],
        imp: trim,
    },
    MethodSpec {
        name: "trim_prefix",
        category: CAT,
        description: "Remove the provided leading prefix substring from a string. If the string does not have the prefix substring, it is returned unchanged.",
        params: &[req("prefix", K::String, "The leading prefix substring to trim from the string.")],
        examples: &[ex("", "root.name = this.name.trim_prefix(\"foobar_\")\nroot.description = this.description.trim_prefix(\"foobar_\")", &[(r#"{"description":"unchanged","name":"foobar_blobton"}"#, r#"{"description":"unchanged","name":"blobton"}"#)])],
        imp: trim_prefix,
    },
    MethodSpec {
        name: "trim_suffix",
        category: CAT,
        description: "Remove the provided trailing suffix substring from a string. If the string does not have the suffix substring, it is returned unchanged.",
        params: &[req("suffix", K::String, "The trailing suffix substring to trim from the string.")],
        examples: &[ex("", "root.name = this.name.trim_suffix(\"_foobar\")\nroot.description = this.description.trim_suffix(\"_foobar\")", &[(r#"{"description":"unchanged","name":"blobton_foobar"}"#, r#"{"description":"unchanged","name":"blobton"}"#)])],
        imp: trim_suffix,
    },
];

const REPLACE_PARAMS: &[super::Param] = &[
    req("old", K::String, "A string to match against."),
    req("new", K::String, "A string to replace with."),
];

const REPLACE_MANY_PARAMS: &[super::Param] = &[req(
    "values",
    K::Array,
    "An array of values, each even value will be replaced with the following odd value.",
)];

fn capitalize(v: &Value, _: &[Value]) -> Result<Value, String> {
    map_text(v, |s| {
        let mut out = String::with_capacity(s.len());
        let mut in_word = false;
        for c in s.chars() {
            if c.is_alphanumeric() || (in_word && (c == '\'' || c == '’')) {
                if in_word {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                in_word = true;
            } else {
                out.push(c);
                in_word = false;
            }
        }
        out
    })
}

fn contains(v: &Value, args: &[Value]) -> Result<Value, String> {
    let needle = arg(args, 0);
    match v {
        Value::String(s) => Ok(Value::Bool(s.contains(to_string_lossy(needle).as_str()))),
        Value::Bytes(b) => {
            let n = to_bytes(needle);
            Ok(Value::Bool(
                n.is_empty() || b.windows(n.len()).any(|w| w == n.as_slice()),
            ))
        }
        Value::Array(a) => Ok(Value::Bool(a.iter().any(|e| values_equal(e, needle)))),
        Value::Object(o) => Ok(Value::Bool(o.values().any(|e| values_equal(e, needle)))),
        _ => Err(type_error(v, &["string", "array", "object"])),
    }
}

/// Go's `html.EscapeString`.
pub fn go_html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

fn escape_html(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::String(go_html_escape(&get_str(v)?)))
}

fn unescape_html(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::String(
        html_escape::decode_html_entities(&get_str(v)?).into_owned(),
    ))
}

/// Go's `url.QueryEscape`: everything but `A-Za-z0-9-_.~` is escaped, spaces become `+`.
pub fn go_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.QueryUnescape`.
pub fn go_query_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hexpart = bytes.get(i + 1..i + 3);
                let decoded = hexpart
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match decoded {
                    Some(b) => out.push(b),
                    None => {
                        let end = (i + 3).min(bytes.len());
                        let bad = String::from_utf8_lossy(&bytes[i..end]);
                        return Err(format!("invalid URL escape {}", go_quote(&bad)));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn escape_url_query(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::String(go_query_escape(&get_str(v)?)))
}

fn unescape_url_query(v: &Value, _: &[Value]) -> Result<Value, String> {
    go_query_unescape(&get_str(v)?).map(Value::String)
}

/// Go's `path.Clean`.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn filepath_join(v: &Value, _: &[Value]) -> Result<Value, String> {
    let arr = get_array(v)?;
    let mut parts = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        let s = get_str(e).map_err(|e| format!("path element {i}: {e}"))?;
        if !s.is_empty() {
            parts.push(s.into_owned());
        }
    }
    if parts.is_empty() {
        return Ok(Value::String(String::new()));
    }
    Ok(Value::String(clean_path(&parts.join("/"))))
}

fn filepath_split(v: &Value, _: &[Value]) -> Result<Value, String> {
    let s = get_str(v)?;
    let idx = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    Ok(Value::Array(vec![
        Value::String(s[..idx].to_string()),
        Value::String(s[idx..].to_string()),
    ]))
}

fn format(v: &Value, args: &[Value]) -> Result<Value, String> {
    Ok(Value::String(sprintf(&get_str(v)?, args)))
}

fn has_prefix(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = arg_str(args, 0)?;
    Ok(Value::Bool(str_or_bytes(v)?.starts_with(p.as_bytes())))
}

fn has_suffix(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = arg_str(args, 0)?;
    Ok(Value::Bool(str_or_bytes(v)?.ends_with(p.as_bytes())))
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn index_of(v: &Value, args: &[Value]) -> Result<Value, String> {
    let n = arg_str(args, 0)?;
    let hay = str_or_bytes(v)?;
    Ok(Value::Int(
        find_bytes(&hay, n.as_bytes()).map_or(-1, |i| i as i64),
    ))
}

fn length(v: &Value, _: &[Value]) -> Result<Value, String> {
    let n = match v {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => return Err(type_error(v, &["string", "array", "object"])),
    };
    Ok(Value::Int(n as i64))
}

fn lowercase(v: &Value, _: &[Value]) -> Result<Value, String> {
    map_text(v, str::to_lowercase)
}

fn uppercase(v: &Value, _: &[Value]) -> Result<Value, String> {
    map_text(v, str::to_uppercase)
}

fn quote(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::String(go_quote(&get_str(v)?)))
}

fn unquote(v: &Value, _: &[Value]) -> Result<Value, String> {
    go_unquote(&get_str(v)?).map(Value::String)
}

fn repeat(v: &Value, args: &[Value]) -> Result<Value, String> {
    let n = arg_int(args, 0)?;
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let s = get_str(v)?;
    if s.len().saturating_mul(n as usize) > 1 << 30 {
        return Err("strings: Repeat output length overflow".into());
    }
    Ok(Value::String(s.repeat(n as usize)))
}

fn replace_all(v: &Value, args: &[Value]) -> Result<Value, String> {
    let old = arg_str(args, 0)?;
    let new = arg_str(args, 1)?;
    map_text(v, |s| go_replace_all(s, &old, &new))
}

/// Go's `strings.ReplaceAll`: an empty `old` inserts `new` between every character.
fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::with_capacity(s.len() + new.len() * (s.len() + 1));
        out.push_str(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

fn replace_all_many(v: &Value, args: &[Value]) -> Result<Value, String> {
    let items = get_array(arg(args, 0))?;
    if items.len() % 2 != 0 {
        return Err(format!(
            "invalid arg, replacements should be in pairs and must therefore be even: {}",
            Value::Array(items.clone()).to_json_string()
        ));
    }
    let mut pairs = Vec::with_capacity(items.len() / 2);
    for i in (0..items.len()).step_by(2) {
        let from = get_str(&items[i])
            .map_err(|e| format!("invalid replacement value at index {i}: {e}"))?;
        let to = get_str(&items[i + 1])
            .map_err(|e| format!("invalid replacement value at index {}: {e}", i + 1))?;
        pairs.push((from.into_owned(), to.into_owned()));
    }
    map_text(v, |s| {
        let mut s = s.to_string();
        for (from, to) in &pairs {
            s = go_replace_all(&s, from, to);
        }
        s
    })
}

fn reverse(v: &Value, _: &[Value]) -> Result<Value, String> {
    match v {
        Value::String(s) => Ok(Value::String(s.chars().rev().collect())),
        Value::Bytes(b) => Ok(Value::Bytes(b.iter().rev().copied().collect())),
        _ => Err(type_error(v, &["string"])),
    }
}

/// Resolve Bento slice bounds against a length.
pub fn slice_bounds(len: usize, low: i64, high: Option<i64>) -> Result<(usize, usize), String> {
    if let Some(h) = high {
        if h > 0 && low >= h {
            return Err(format!(
                "lower slice bound {low} must be lower than upper ({h})"
            ));
        }
    }
    let l = len as i64;
    let start = if low < 0 { (l + low).max(0) } else { low };
    let end = match high {
        Some(h) if h < 0 => (l + h).max(0),
        Some(h) => h.min(l),
        None => l,
    };
    if start > end {
        return Err(format!(
            "lower slice bound {start} must be lower than or equal to upper bound ({end}) and target length ({l})"
        ));
    }
    Ok((start as usize, end as usize))
}

fn slice(v: &Value, args: &[Value]) -> Result<Value, String> {
    let low = arg_int(args, 0)?;
    let high = arg_opt_int(args, 1)?;
    match v {
        Value::String(s) => {
            let (a, b) = slice_bounds(s.len(), low, high)?;
            Ok(Value::String(match s.get(a..b) {
                Some(t) => t.to_string(),
                None => String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned(),
            }))
        }
        Value::Bytes(bs) => {
            let (a, b) = slice_bounds(bs.len(), low, high)?;
            Ok(Value::Bytes(bs[a..b].to_vec()))
        }
        Value::Array(arr) => {
            let (a, b) = slice_bounds(arr.len(), low, high)?;
            Ok(Value::Array(arr[a..b].to_vec()))
        }
        _ => Err(type_error(v, &["array", "string"])),
    }
}

fn slug_subs(lang: &str) -> &'static [(&'static str, &'static str)] {
    match lang {
        "de" => &[
            ("&", "und"),
            ("@", "an"),
            ("ä", "ae"),
            ("ö", "oe"),
            ("ü", "ue"),
            ("ß", "ss"),
        ],
        "fr" => &[("&", "et"), ("@", "arobase")],
        "es" => &[("&", "y"), ("@", "en")],
        "it" => &[("&", "e"), ("@", "chiocciola")],
        "nl" => &[("&", "en"), ("@", "at")],
        "pl" => &[("&", "i"), ("@", "na")],
        "sv" => &[("&", "och"), ("@", "snabel a")],
        "fi" => &[("&", "ja"), ("@", "at")],
        "gr" | "el" => &[("&", "kai")],
        "ro" => &[("&", "si"), ("@", "la")],
        "tr" => &[("&", "ve"), ("@", "et")],
        "cs" => &[("&", "a"), ("@", "zavinac")],
        "hu" => &[("&", "es"), ("@", "kukac")],
        _ => &[("&", "and"), ("@", "at")],
    }
}

fn slug(v: &Value, args: &[Value]) -> Result<Value, String> {
    let s = get_str(v)?;
    let lang = arg_opt_str(args, 0)?.unwrap_or(Cow::Borrowed("en"));
    let mut t = s.into_owned();
    for (from, to) in [
        ("\"", ""),
        ("'", ""),
        ("’", ""),
        ("‐", "-"),
        ("‒", "-"),
        ("–", "-"),
        ("—", "-"),
        ("―", "-"),
    ] {
        t = t.replace(from, to);
    }
    for (from, to) in slug_subs(&lang) {
        t = t.replace(from, to);
    }
    let t = deunicode::deunicode(&t).to_lowercase();
    let mut out = String::with_capacity(t.len());
    let mut dash = false;
    for c in t.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    Ok(Value::String(out.trim_matches(['-', '_']).to_string()))
}

fn split(v: &Value, args: &[Value]) -> Result<Value, String> {
    let delim = arg(args, 0);
    match v {
        Value::String(_) | Value::Bytes(_) => {
            let s = get_str(v)?;
            let d = get_str(delim)?;
            let parts: Vec<Value> = if d.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(d.as_ref())
                    .map(|p| Value::String(p.into()))
                    .collect()
            };
            Ok(Value::Array(match v {
                Value::Bytes(_) => parts
                    .into_iter()
                    .map(|p| match p {
                        Value::String(s) => Value::Bytes(s.into_bytes()),
                        o => o,
                    })
                    .collect(),
                _ => parts,
            }))
        }
        Value::Array(arr) => {
            let mut out = Vec::new();
            let mut cur = Vec::new();
            for e in arr {
                if values_equal(e, delim) {
                    out.push(Value::Array(std::mem::take(&mut cur)));
                } else {
                    cur.push(e.clone());
                }
            }
            out.push(Value::Array(cur));
            Ok(Value::Array(out))
        }
        _ => Err(type_error(v, &["string", "array"])),
    }
}

/// A small HTML sanitiser in the spirit of bluemonday's strict policy: tags are removed (those
/// listed in `preserve` are kept without attributes), `script`/`style` content is dropped and
/// text is re-escaped.
fn strip_html(v: &Value, args: &[Value]) -> Result<Value, String> {
    let s = get_str(v)?;
    let preserve: Vec<String> = match arg(args, 0) {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Value::String(s) => Ok(s.to_lowercase()),
                other => Err(format!(
                    "invalid arg at index {i}: {}",
                    type_error(other, &["string"])
                )),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(type_error(other, &["array"])),
    };
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = &s;
    let mut skip_until: Option<String> = None;
    while !rest.is_empty() {
        match rest.find('<') {
            None => {
                if skip_until.is_none() {
                    push_text(&mut out, rest);
                }
                break;
            }
            Some(i) => {
                if skip_until.is_none() {
                    push_text(&mut out, &rest[..i]);
                }
                let after = &rest[i + 1..];
                let is_tag = after
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
                if !is_tag {
                    if skip_until.is_none() {
                        out.push_str("&lt;");
                    }
                    rest = after;
                    continue;
                }
                let Some(end) = after.find('>') else {
                    break;
                };
                let tag = &after[..end];
                rest = &after[end + 1..];
                let closing = tag.starts_with('/');
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                if let Some(until) = &skip_until {
                    if closing && &name == until {
                        skip_until = None;
                    }
                    continue;
                }
                if !closing && (name == "script" || name == "style") && !tag.ends_with('/') {
                    skip_until = Some(name);
                    continue;
                }
                if !name.is_empty() && preserve.contains(&name) {
                    if closing {
                        out.push_str(&format!("</{name}>"));
                    } else if tag.ends_with('/') {
                        out.push_str(&format!("<{name}/>"));
                    } else {
                        out.push_str(&format!("<{name}>"));
                    }
                }
            }
        }
    }
    Ok(Value::String(out))
}

fn push_text(out: &mut String, text: &str) {
    out.push_str(&go_html_escape(&html_escape::decode_html_entities(text)));
}

fn trim(v: &Value, args: &[Value]) -> Result<Value, String> {
    let cutset = arg_opt_str(args, 0)?;
    map_text(v, |s| match &cutset {
        None => s.trim().to_string(),
        Some(c) => s.trim_matches(|ch| c.contains(ch)).to_string(),
    })
}

fn trim_prefix(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = arg_str(args, 0)?;
    map_text(v, |s| s.strip_prefix(p.as_ref()).unwrap_or(s).to_string())
}

fn trim_suffix(v: &Value, args: &[Value]) -> Result<Value, String> {
    let p = arg_str(args, 0)?;
    map_text(v, |s| s.strip_suffix(p.as_ref()).unwrap_or(s).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    #[test]
    fn documented() {
        assert_eq!(
            capitalize(&s("the foo bar"), &[]).unwrap(),
            s("The Foo Bar")
        );
        assert_eq!(
            capitalize(&s("hello world 2"), &[]).unwrap(),
            s("Hello World 2")
        );
        assert_eq!(
            contains(&j(r#"[10.3,20.0,"huh",3]"#), &[Value::Int(20)]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            contains(&s("this foo that"), &[s("foo")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            contains(&j(r#"{"a":"foo"}"#), &[s("foo")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            escape_html(&s("foo & bar"), &[]).unwrap(),
            s("foo &amp; bar")
        );
        assert_eq!(
            unescape_html(&s("foo &amp; bar &#225;"), &[]).unwrap(),
            s("foo & bar á")
        );
        assert_eq!(
            escape_url_query(&s("foo & bar~*"), &[]).unwrap(),
            s("foo+%26+bar~%2A")
        );
        assert_eq!(
            unescape_url_query(&s("foo+%26+bar"), &[]).unwrap(),
            s("foo & bar")
        );
        assert_eq!(
            unescape_url_query(&s("a%zz"), &[]).unwrap_err(),
            "invalid URL escape \"%zz\""
        );
        assert_eq!(
            filepath_join(&j(r#"["/foo/","bar.txt"]"#), &[]).unwrap(),
            s("/foo/bar.txt")
        );
        assert_eq!(
            filepath_join(&j(r#"["a","../b","./c"]"#), &[]).unwrap(),
            s("b/c")
        );
        assert_eq!(
            filepath_split(&s("/foo/bar.txt"), &[]).unwrap(),
            j(r#"["/foo/","bar.txt"]"#)
        );
        assert_eq!(
            filepath_split(&s("baz.txt"), &[]).unwrap(),
            j(r#"["","baz.txt"]"#)
        );
        assert_eq!(
            format(
                &s("%s(%v): %v"),
                &[s("lance"), Value::Int(37), Value::Int(13)]
            )
            .unwrap(),
            s("lance(37): 13")
        );
        assert_eq!(
            has_prefix(&s("foobar"), &[s("foo")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            has_suffix(&s("foobar"), &[s("foo")]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(index_of(&s("foobar"), &[s("bar")]).unwrap(), Value::Int(3));
        assert_eq!(index_of(&s("foobar"), &[s("x")]).unwrap(), Value::Int(-1));
        assert_eq!(length(&s("hello world"), &[]).unwrap(), Value::Int(11));
        assert_eq!(length(&j(r#"{"a":1,"b":2}"#), &[]).unwrap(), Value::Int(2));
        assert_eq!(uppercase(&s("hello"), &[]).unwrap(), s("HELLO"));
        assert_eq!(
            lowercase(&Value::Bytes(b"HI".to_vec()), &[]).unwrap(),
            Value::Bytes(b"hi".to_vec())
        );
        assert_eq!(quote(&s("foo\nbar"), &[]).unwrap(), s("\"foo\\nbar\""));
        assert_eq!(unquote(&s("\"foo\\nbar\""), &[]).unwrap(), s("foo\nbar"));
        assert_eq!(repeat(&s("na"), &[Value::Int(2)]).unwrap(), s("nana"));
        assert_eq!(
            replace_all(&s("The foo ate my homework"), &[s("foo"), s("dog")]).unwrap(),
            s("The dog ate my homework")
        );
        assert_eq!(
            replace_all_many(&s("<i>Hello</i> <b>World</b>"), &[j(r#"["<b>","&lt;b&gt;","</b>","&lt;/b&gt;","<i>","&lt;i&gt;","</i>","&lt;/i&gt;"]"#)]).unwrap(),
            s("&lt;i&gt;Hello&lt;/i&gt; &lt;b&gt;World&lt;/b&gt;")
        );
        assert!(replace_all_many(&s("x"), &[j(r#"["a"]"#)]).is_err());
        assert_eq!(reverse(&s("backwards"), &[]).unwrap(), s("sdrawkcab"));
        assert_eq!(
            slice(&s("foo bar"), &[Value::Int(0), Value::Int(2)]).unwrap(),
            s("fo")
        );
        assert_eq!(
            slice(&s("foo bar"), &[Value::Int(4), Value::Null]).unwrap(),
            s("bar")
        );
        assert_eq!(
            slice(&s("foo bar"), &[Value::Int(-4), Value::Null]).unwrap(),
            s(" bar")
        );
        assert_eq!(
            slice(&s("foo bar"), &[Value::Int(0), Value::Int(-4)]).unwrap(),
            s("foo")
        );
        assert_eq!(
            slice(
                &j(r#"["foo","bar","baz","buz","bev"]"#),
                &[Value::Int(-2), Value::Null]
            )
            .unwrap(),
            j(r#"["buz","bev"]"#)
        );
        assert_eq!(
            slice(&s("abc"), &[Value::Int(2), Value::Int(1)]).unwrap_err(),
            "lower slice bound 2 must be lower than upper (1)"
        );
        assert_eq!(
            slice(&s("abc"), &[Value::Int(5), Value::Null]).unwrap_err(),
            "lower slice bound 5 must be lower than or equal to upper bound (3) and target length (3)"
        );
        assert_eq!(
            slug(&s("Gopher & Bento"), &[s("en")]).unwrap(),
            s("gopher-and-bento")
        );
        assert_eq!(slug(&s("a&b_c~d"), &[s("en")]).unwrap(), s("aandb_c-d"));
        assert_eq!(
            slug(&s("Gaufre & Poisson d'Eau Profonde"), &[s("fr")]).unwrap(),
            s("gaufre-et-poisson-deau-profonde")
        );
        assert_eq!(
            split(&s("foo,bar,baz"), &[s(",")]).unwrap(),
            j(r#"["foo","bar","baz"]"#)
        );
        assert_eq!(
            split(&j(r#"[1,"a",0,"e",0,"i"]"#), &[Value::Int(0)]).unwrap(),
            j(r#"[[1,"a"],["e"],["i"]]"#)
        );
        assert_eq!(
            strip_html(
                &s("<p>the plain <strong>old text</strong></p>"),
                &[Value::Null]
            )
            .unwrap(),
            s("the plain old text")
        );
        assert_eq!(
            strip_html(
                &s("<article><p>the plain <strong>old text</strong></p></article>"),
                &[j(r#"["article"]"#)]
            )
            .unwrap(),
            s("<article>the plain old text</article>")
        );
        assert_eq!(
            trim(&s("!!!watch out!?"), &[s("!?")]).unwrap(),
            s("watch out")
        );
        assert_eq!(trim(&s("  x "), &[Value::Null]).unwrap(), s("x"));
        assert_eq!(
            trim_prefix(&s("foobar_blobton"), &[s("foobar_")]).unwrap(),
            s("blobton")
        );
        assert_eq!(
            trim_suffix(&s("blobton_foobar"), &[s("_foobar")]).unwrap(),
            s("blobton")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            uppercase(&Value::Int(5), &[]).unwrap_err(),
            "expected string value, got number (5)"
        );
        assert!(length(&Value::Null, &[]).is_err());
        assert!(unquote(&s("nope"), &[]).is_err());
    }
}
