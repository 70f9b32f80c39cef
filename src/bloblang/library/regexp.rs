//! Regular expression methods (RE2 syntax through the `regex` crate). Compiled patterns are
//! cached per thread, since patterns are nearly always literals evaluated once per message.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use super::helpers::*;
use super::{MethodSpec, Param, ParamKind as K, HIDDEN};
use crate::message::value::Object;
use crate::message::Value;

const CAT: &str = "Regular Expressions";
const PATTERN: &[Param] = &[req("pattern", K::String, "The pattern to match against.")];
const REPLACE: &[Param] = &[
    req("pattern", K::String, "The pattern to match against."),
    req("value", K::String, "The value to replace with."),
];

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "re_match",
        category: CAT,
        description: "Checks whether a regular expression matches against any part of a string and returns a boolean.",
        params: PATTERN,
        examples: &[ex("", "root.matches = this.value.re_match(\"[0-9]\")", &[
            (r#"{"value":"there are 10 puppies"}"#, r#"{"matches":true}"#),
            (r#"{"value":"there are ten puppies"}"#, r#"{"matches":false}"#),
        ])],
        imp: re_match,
    },
    MethodSpec {
        name: "re_find_all",
        category: CAT,
        description: "Returns an array containing all successive matches of a regular expression in a string.",
        params: PATTERN,
        examples: &[ex("", "root.matches = this.value.re_find_all(\"a.\")", &[(r#"{"value":"paranormal"}"#, r#"{"matches":["ar","an","al"]}"#)])],
        imp: re_find_all,
    },
    MethodSpec {
        name: "re_find_all_submatch",
        category: CAT,
        description: "Returns an array of arrays containing all successive matches of the regular expression in a string and the matches, if any, of its subexpressions.",
        params: PATTERN,
        examples: &[ex("", "root.matches = this.value.re_find_all_submatch(\"a(x*)b\")", &[(r#"{"value":"-axxb-ab-"}"#, r#"{"matches":[["axxb","xx"],["ab",""]]}"#)])],
        imp: re_find_all_submatch,
    },
    MethodSpec {
        name: "re_find_object",
        category: CAT,
        description: "Returns an object containing the first match of the regular expression and the matches of its subexpressions. The key of each match value is the name of the group when specified, otherwise it is the index of the matching group, starting with the expression as a whole at 0.",
        params: PATTERN,
        examples: &[
            ex("", "root.matches = this.value.re_find_object(\"a(?P<foo>x*)b\")", &[(r#"{"value":"-axxb-ab-"}"#, r#"{"matches":{"0":"axxb","foo":"xx"}}"#)]),
            ex("", "root.matches = this.value.re_find_object(\"(?P<key>\\\\w+):\\\\s+(?P<value>\\\\w+)\")", &[(r#"{"value":"option1: value1"}"#, r#"{"matches":{"0":"option1: value1","key":"option1","value":"value1"}}"#)]),
        ],
        imp: re_find_object,
    },
    MethodSpec {
        name: "re_find_all_object",
        category: CAT,
        description: "Returns an array of objects containing all matches of the regular expression and the matches of its subexpressions. The key of each match value is the name of the group when specified, otherwise it is the index of the matching group, starting with the expression as a whole at 0.",
        params: PATTERN,
        examples: &[
            ex("", "root.matches = this.value.re_find_all_object(\"a(?P<foo>x*)b\")", &[(r#"{"value":"-axxb-ab-"}"#, r#"{"matches":[{"0":"axxb","foo":"xx"},{"0":"ab","foo":""}]}"#)]),
            ex("", "root.matches = this.value.re_find_all_object(\"(?m)(?P<key>\\\\w+):\\\\s+(?P<value>\\\\w+)$\")", &[(r#"{"value":"option1: value1\noption2: value2\noption3: value3"}"#, r#"{"matches":[{"0":"option1: value1","key":"option1","value":"value1"},{"0":"option2: value2","key":"option2","value":"value2"},{"0":"option3: value3","key":"option3","value":"value3"}]}"#)]),
        ],
        imp: re_find_all_object,
    },
    MethodSpec {
        name: "re_replace_all",
        category: CAT,
        description: "Replaces all occurrences of the argument regular expression in a string with a value. Inside the value $ signs are interpreted as submatch expansions, e.g. `$1` represents the text of the first submatch.",
        params: REPLACE,
        examples: &[ex("", "root.new_value = this.value.re_replace_all(\"ADD ([0-9]+)\",\"+($1)\")", &[(r#"{"value":"foo ADD 70"}"#, r#"{"new_value":"foo +(70)"}"#)])],
        imp: re_replace_all,
    },
    MethodSpec {
        name: "re_replace",
        category: HIDDEN,
        description: "Hidden alias of `re_replace_all`.",
        params: REPLACE,
        examples: &[],
        imp: re_replace_all,
    },
];

const CACHE_LIMIT: usize = 512;

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Compile a pattern, reusing this thread's cached copy.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

fn pattern_arg(args: &[Value]) -> Result<Regex, String> {
    compile(&arg_str(args, 0)?)
}

fn target_text(v: &Value) -> Result<String, String> {
    Ok(String::from_utf8_lossy(&str_or_bytes(v)?).into_owned())
}

fn re_match(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    Ok(Value::Bool(re.is_match(&target_text(v)?)))
}

fn re_find_all(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    let s = target_text(v)?;
    Ok(Value::Array(
        re.find_iter(&s)
            .map(|m| Value::String(m.as_str().into()))
            .collect(),
    ))
}

fn re_find_all_submatch(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    let s = target_text(v)?;
    Ok(Value::Array(
        re.captures_iter(&s)
            .map(|caps| {
                Value::Array(
                    caps.iter()
                        .map(|m| Value::String(m.map_or("", |m| m.as_str()).into()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn group_names(re: &Regex) -> Vec<String> {
    re.capture_names()
        .enumerate()
        .map(|(i, n)| n.map_or_else(|| i.to_string(), str::to_string))
        .collect()
}

fn caps_object(names: &[String], caps: &regex::Captures) -> Value {
    let mut o = Object::new();
    for (i, name) in names.iter().enumerate() {
        let m = caps.get(i).map_or("", |m| m.as_str());
        o.insert(name.clone(), Value::String(m.into()));
    }
    Value::Object(o)
}

fn re_find_object(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    let s = target_text(v)?;
    let names = group_names(&re);
    Ok(match re.captures(&s) {
        Some(caps) => caps_object(&names, &caps),
        None => Value::Object(Object::new()),
    })
}

fn re_find_all_object(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    let s = target_text(v)?;
    let names = group_names(&re);
    Ok(Value::Array(
        re.captures_iter(&s)
            .map(|c| caps_object(&names, &c))
            .collect(),
    ))
}

fn re_replace_all(v: &Value, args: &[Value]) -> Result<Value, String> {
    let re = pattern_arg(args)?;
    let with = arg_str(args, 1)?;
    let s = target_text(v)?;
    Ok(Value::String(
        re.replace_all(&s, with.as_ref()).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    #[test]
    fn documented() {
        assert_eq!(
            re_match(&s("there are 10 puppies"), &[s("[0-9]")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            re_match(&s("there are ten puppies"), &[s("[0-9]")]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            re_find_all(&s("paranormal"), &[s("a.")]).unwrap(),
            j(r#"["ar","an","al"]"#)
        );
        assert_eq!(
            re_find_all_submatch(&s("-axxb-ab-"), &[s("a(x*)b")]).unwrap(),
            j(r#"[["axxb","xx"],["ab",""]]"#)
        );
        assert_eq!(
            re_find_object(&s("-axxb-ab-"), &[s("a(?P<foo>x*)b")]).unwrap(),
            j(r#"{"0":"axxb","foo":"xx"}"#)
        );
        assert_eq!(
            re_find_object(
                &s("option1: value1"),
                &[s(r"(?P<key>\w+):\s+(?P<value>\w+)")]
            )
            .unwrap(),
            j(r#"{"0":"option1: value1","key":"option1","value":"value1"}"#)
        );
        assert_eq!(re_find_object(&s("zzz"), &[s("a(b)")]).unwrap(), j("{}"));
        assert_eq!(
            re_find_object(&s("ab"), &[s("a(b)")]).unwrap(),
            j(r#"{"0":"ab","1":"b"}"#)
        );
        assert_eq!(
            re_find_all_object(
                &s("option1: value1\noption2: value2"),
                &[s(r"(?m)(?P<key>\w+):\s+(?P<value>\w+)$")]
            )
            .unwrap(),
            j(
                r#"[{"0":"option1: value1","key":"option1","value":"value1"},{"0":"option2: value2","key":"option2","value":"value2"}]"#
            )
        );
        assert_eq!(
            re_replace_all(&s("foo ADD 70"), &[s("ADD ([0-9]+)"), s("+($1)")]).unwrap(),
            s("foo +(70)")
        );
        assert_eq!(
            re_replace_all(&s("a-b"), &[s("(?P<x>[a-z])"), s("${x}$$")]).unwrap(),
            s("a$-b$")
        );
        assert!(re_match(&s("x"), &[s("(")])
            .unwrap_err()
            .starts_with("error parsing regexp"));
        assert!(re_match(&Value::Int(3), &[s("3")]).is_err());
    }
}
