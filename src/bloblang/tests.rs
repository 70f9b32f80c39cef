//! Language-level tests: semantics, golden parse errors, examples of every table entry, and a
//! no-panic property test.

use super::*;
use crate::message::{Message, MessageError, Value};

fn msg(input: &str) -> Message {
    Message::from_bytes(input.to_string())
}

fn run(mapping: &str, input: &str) -> Result<String, String> {
    let m = parse_mapping(mapping).map_err(|e| e.single_line())?;
    match m.map_message(&[msg(input)], 0) {
        Ok(Some(out)) => Ok(out.as_str_lossy().into_owned()),
        Ok(None) => Ok("<deleted>".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn ok(mapping: &str, input: &str) -> String {
    match run(mapping, input) {
        Ok(s) => s,
        Err(e) => panic!("mapping {mapping:?} failed: {e}"),
    }
}

fn err(mapping: &str, input: &str) -> String {
    match run(mapping, input) {
        Ok(s) => panic!("mapping {mapping:?} unexpectedly succeeded: {s}"),
        Err(e) => e,
    }
}

#[test]
fn assignments_and_paths() {
    assert_eq!(ok("root.a = this.b + 1", r#"{"b":2}"#), r#"{"a":3}"#);
    assert_eq!(ok("a.b = \"x\"", "{}"), r#"{"a":{"b":"x"}}"#);
    assert_eq!(ok("this.foo + this.bar", r#"{"foo":5,"bar":3}"#), "8");
    assert_eq!(ok("this.foo-this.bar", r#"{"foo":5,"bar":3}"#), "2");
    assert_eq!(ok("root.\"a.b\".c = 1", "{}"), r#"{"a.b":{"c":1}}"#);
    assert_eq!(ok("root = this.\"a.b\"", r#"{"a.b":7}"#), "7");
    assert_eq!(
        ok(
            "root = this.items.1.name",
            r#"{"items":[{"name":"a"},{"name":"b"}]}"#
        ),
        "b"
    );
    assert_eq!(ok("root = this.missing.deep", "{}"), "null");
    assert_eq!(
        ok("root.x = 1\nroot.y = root.x + 1", "{}"),
        r#"{"x":1,"y":2}"#
    );
    assert_eq!(
        ok("root.root = \"not set at root\"", "not json"),
        r#"{"root":"not set at root"}"#
    );
    assert_eq!(ok("this.x = 5", "{}"), r#"{"x":5}"#);
}

#[test]
fn unassigned_root_keeps_payload_and_deleted_drops() {
    assert_eq!(ok("meta foo = \"bar\"", "not json"), "not json");
    assert_eq!(ok("root = deleted()", "{}"), "<deleted>");
    assert_eq!(
        ok("root = this\nroot.zed = deleted()", r#"{"foo":1,"zed":2}"#),
        r#"{"foo":1}"#
    );
}

#[test]
fn mapping_vs_mutation() {
    let m = parse_mapping("root.b = this.a\nroot.c = this.b").unwrap();
    let input = [msg(r#"{"a":1}"#)];
    let mapped = m.map_message(&input, 0).unwrap().unwrap();
    assert_eq!(mapped.as_str_lossy(), r#"{"b":1,"c":null}"#);
    let mutated = m.mutate_message(&input, 0).unwrap().unwrap();
    assert_eq!(mutated.as_str_lossy(), r#"{"a":1,"b":1,"c":1}"#);
}

#[test]
fn metadata_semantics() {
    let m = parse_mapping(
        "meta foo = \"new\"\nroot.at = @foo\nroot.input = metadata(\"foo\")\nroot.all = @\n@bar = 5",
    )
    .unwrap();
    let mut input = msg("{}");
    input.meta_mut().insert("foo".into(), Value::from("old"));
    let out = m.map_message(&[input], 0).unwrap().unwrap();
    assert_eq!(
        out.as_str_lossy(),
        r#"{"all":{"foo":"new"},"at":"new","input":"old"}"#
    );
    assert_eq!(out.meta().get("bar"), Some(&Value::Int(5)));
    let m = parse_mapping("meta = deleted()").unwrap();
    let mut input = msg("{}");
    input.meta_mut().insert("foo".into(), Value::from("old"));
    let out = m.map_message(&[input], 0).unwrap().unwrap();
    assert!(out.meta().is_empty());
}

#[test]
fn arithmetic_and_precedence() {
    assert_eq!(ok("root = 1 + 2 * 3", "{}"), "7");
    assert_eq!(ok("root = 7 / 2", "{}"), "3.5");
    assert_eq!(ok("root = 6 / 2", "{}"), "3");
    assert_eq!(ok("root = 7 % 3", "{}"), "1");
    assert_eq!(ok("root = 1.5 + 1", "{}"), "2.5");
    assert_eq!(ok("root = \"a\" + \"b\"", "{}"), "ab");
    assert_eq!(ok("root = this.a | \"default\"", "{}"), "default");
    assert_eq!(ok("root = this.a | \"d\" + \"x\"", "{}"), "dx");
    assert_eq!(ok("root = 1 == 1.0", "{}"), "true");
    assert_eq!(ok("root = 1 == \"1\"", "{}"), "false");
    assert_eq!(ok("root = \"a\" < \"b\"", "{}"), "true");
    assert_eq!(ok("root = true || false && false", "{}"), "false");
    assert_eq!(ok("root = !true", "{}"), "false");
    assert_eq!(ok("root = -this.a", r#"{"a":3}"#), "-3");
    assert_eq!(ok("root = false && throw(\"x\")", "{}"), "false");
    assert!(err("root = this.a + 1", r#"{"a":"x"}"#).contains(
        "cannot add types string (from field `this.a`) and number (from number literal)"
    ));
    assert!(err("root = 5 / 0", "{}").contains("divide by zero"));
    assert!(err("root = null > 1", "{}").contains("cannot compare"));
}

#[test]
fn error_format_names_line() {
    let e = err("root.a = 1\nroot.b = this.a + 1", r#"{"a":"x"}"#);
    assert!(e.starts_with("failed assignment (line 2): "), "{e}");
}

#[test]
fn if_match_and_nothing() {
    assert_eq!(
        ok(
            "root = if this.a > 1 { \"big\" } else { \"small\" }",
            r#"{"a":3}"#
        ),
        "big"
    );
    assert_eq!(
        ok("root.a = \"x\"\nroot.a = if false { \"y\" }", "{}"),
        r#"{"a":"x"}"#
    );
    assert_eq!(
        ok(
            "root = match this.a { \"x\" => 1, \"y\" => 2, _ => 3 }",
            r#"{"a":"y"}"#
        ),
        "2"
    );
    assert_eq!(
        ok(
            "root = match this { this.a > 5 => \"big\"\n  _ => \"small\" }",
            r#"{"a":9}"#
        ),
        "big"
    );
    assert_eq!(
        ok(
            "root = match { this.a == 1 => \"one\", _ => \"other\" }",
            r#"{"a":1}"#
        ),
        "one"
    );
    assert_eq!(
        ok("if this.a == 1 {\n  root.b = \"one\"\n} else if this.a == 2 {\n  root.b = \"two\"\n} else {\n  root.b = \"many\"\n}", r#"{"a":2}"#),
        r#"{"b":"two"}"#
    );
    assert_eq!(ok("root = [1, deleted(), 3]", "{}"), "[1,3]");
    assert_eq!(
        ok("root = {\"a\": 1, \"b\": deleted()}", "{}"),
        r#"{"a":1}"#
    );
    assert_eq!(ok("root = {(this.k): 1}", r#"{"k":"dyn"}"#), r#"{"dyn":1}"#);
}

#[test]
fn variables_lambdas_and_captures() {
    assert_eq!(ok("let x = 5\nroot = $x * 2", "{}"), "10");
    assert_eq!(ok("let \"a b\" = 5\nroot = var(\"a b\")", "{}"), "5");
    assert_eq!(
        ok("root = this.foo.(a + b)", r#"{"foo":{"a":1,"b":2}}"#),
        "3"
    );
    assert_eq!(
        ok(
            "root = this.foo.(f -> f.a + f.b)",
            r#"{"foo":{"a":1,"b":2}}"#
        ),
        "3"
    );
    assert_eq!(
        ok("root = this.n.map_each(x -> x * 2)", r#"{"n":[1,2]}"#),
        "[2,4]"
    );
    assert_eq!(
        ok("root = this.n.map_each(this * 2)", r#"{"n":[1,2]}"#),
        "[2,4]"
    );
    assert_eq!(
        ok(
            "root = this.o.map_each(kv -> kv.value + 1)",
            r#"{"o":{"a":1}}"#
        ),
        r#"{"a":2}"#
    );
    assert_eq!(
        ok("root = this.n.filter(x -> x > 1)", r#"{"n":[1,2,3]}"#),
        "[2,3]"
    );
    assert_eq!(
        ok(
            "root = this.n.fold(0, i -> i.tally + i.value)",
            r#"{"n":[1,2,3]}"#
        ),
        "6"
    );
    assert_eq!(ok("root = this.n.sort()", r#"{"n":[3,1,2]}"#), "[1,2,3]");
    assert_eq!(
        ok(
            "root = this.n.sort(i -> i.left > i.right)",
            r#"{"n":[3,1,2]}"#
        ),
        "[3,2,1]"
    );
    assert_eq!(
        ok("root = this.n.any(x -> x > 2)", r#"{"n":[1,3]}"#),
        "true"
    );
    assert_eq!(
        ok("root = this.n.all(x -> x > 2)", r#"{"n":[1,3]}"#),
        "false"
    );
    assert_eq!(
        ok("root = this.n.find_by(x -> x == 3)", r#"{"n":[1,3]}"#),
        "1"
    );
    assert_eq!(
        ok(
            "root = this.o.map_each_key(k -> k + \"!\")",
            r#"{"o":{"a":1}}"#
        ),
        r#"{"a!":1}"#
    );
}

#[test]
fn catch_or_and_errors() {
    assert_eq!(ok("root = this.a.number().catch(0)", r#"{"a":"x"}"#), "0");
    assert_eq!(ok("root = this.a.or(\"d\")", "{}"), "d");
    assert_eq!(ok("root = (this.a + 1).catch(-1)", r#"{"a":"x"}"#), "-1");
    assert!(err("root = throw(\"boom\")", "{}").contains("boom"));
    assert!(err("root = this.a.not_null()", "{}").contains("field `this.a`: value is null"));
    assert!(err("root = this", "not json").contains("unable to reference message as structured"));
}

#[test]
fn indexing_and_slicing() {
    assert_eq!(ok("root = this.a[0]", r#"{"a":[1,2,3]}"#), "1");
    assert_eq!(ok("root = this.a[-1]", r#"{"a":[1,2,3]}"#), "3");
    assert_eq!(ok("root = this.a[1:]", r#"{"a":[1,2,3]}"#), "[2,3]");
    assert_eq!(ok("root = this.a[::-1]", r#"{"a":[1,2,3]}"#), "[3,2,1]");
    assert_eq!(ok("root = this.s[1:3]", r#"{"s":"hello"}"#), "el");
    assert_eq!(
        ok("root = this.a[::9223372036854775807]", r#"{"a":[1,2,3]}"#),
        "[1]"
    );
    assert_eq!(
        ok("root = this.a[::-9223372036854775807]", r#"{"a":[1,2,3]}"#),
        "[3]"
    );
    assert_eq!(
        ok(
            "root = this.a[-9223372036854775807:9223372036854775807]",
            r#"{"a":[1,2,3]}"#
        ),
        "[1,2,3]"
    );
}

#[test]
fn literals() {
    assert_eq!(ok("root = \"a\\nb\\u00e9\"", "{}"), "a\nbé");
    assert_eq!(
        ok("root = \"\"\"raw \\n \"quoted\" \"\"\"", "{}"),
        "raw \\n \"quoted\" "
    );
    assert_eq!(
        ok("root = [1, 2.5, true, null, \"x\"]", "{}"),
        r#"[1,2.5,true,null,"x"]"#
    );
    assert_eq!(
        ok("root = {\n  \"a\": 1,\n  \"b\": [\n    2,\n  ],\n}", "{}"),
        r#"{"a":1,"b":[2]}"#
    );
    assert_eq!(ok("# comment\nroot = 1 # trailing\n# more", "{}"), "1");
}

#[test]
fn maps_and_apply() {
    let m = "map thing {\n  root.inner = this.first\n}\nroot.foo = this.doc.apply(\"thing\")";
    assert_eq!(
        ok(m, r#"{"doc":{"first":"x"}}"#),
        r#"{"foo":{"inner":"x"}}"#
    );
    assert_eq!(
        ok(
            "root = this.body.bloblang(\"root.x = this.y\")",
            r#"{"body":{"y":1}}"#
        ),
        r#"{"x":1}"#
    );
}

#[test]
fn message_functions() {
    let m = parse_mapping(
        "root.c = content().string()\nroot.i = batch_index()\nroot.n = batch_size()\nroot.e = errored()\nroot.err = error()\nroot.j = json(\"a\")",
    )
    .unwrap();
    let mut a = msg(r#"{"a":1}"#);
    a.set_error(MessageError {
        text: "bad".into(),
        ..Default::default()
    });
    let batch = [msg("{}"), a];
    let out = m.map_message(&batch, 1).unwrap().unwrap();
    assert_eq!(
        out.as_str_lossy(),
        r#"{"c":"{\"a\":1}","e":true,"err":"bad","i":1,"j":1,"n":2}"#
    );
    let m = parse_mapping("root = this.a.from_all()").unwrap();
    let batch = [msg(r#"{"a":1}"#), msg(r#"{"a":2}"#)];
    let out = m.map_message(&batch, 0).unwrap().unwrap();
    assert_eq!(out.as_str_lossy(), "[1,2]");
}

#[test]
fn counter_is_per_instance() {
    let m = parse_mapping("root = counter()").unwrap();
    let input = [msg("{}")];
    let a = m.query(&input, 0).unwrap();
    let b = m.query(&input, 0).unwrap();
    assert_eq!((a, b), (Value::Int(1), Value::Int(2)));
    let m2 = parse_mapping("root = counter()").unwrap();
    assert_eq!(m2.query(&input, 0).unwrap(), Value::Int(1));
}

#[test]
fn query_and_new_message() {
    let m = parse_mapping("root = this.a > 1").unwrap();
    assert_eq!(m.query(&[msg(r#"{"a":2}"#)], 0).unwrap(), Value::Bool(true));
    let m = parse_mapping("root = {\"x\": 1}\nmeta k = \"v\"").unwrap();
    let out = m.new_message().unwrap().unwrap();
    assert_eq!(out.as_str_lossy(), r#"{"x":1}"#);
    assert_eq!(out.meta_str("k").as_deref(), Some("v"));
    let m = parse_mapping("root = deleted()").unwrap();
    assert!(m.new_message().unwrap().is_none());
}

#[test]
fn interpolation() {
    let i = parse_interpolation("static").unwrap();
    assert!(i.is_static());
    assert_eq!(i.render_static(), "static");
    let i = parse_interpolation("id: ${! this.id } n: ${!this.n + 1} o: ${! this.o }").unwrap();
    assert!(!i.is_static());
    let out = i
        .render(&[msg(r#"{"id":"abc","n":1,"o":{"a":1}}"#)], 0)
        .unwrap();
    assert_eq!(out, r#"id: abc n: 2 o: {"a":1}"#);
    let i = parse_interpolation("${{! not a query }}").unwrap();
    assert_eq!(i.render(&[msg("{}")], 0).unwrap(), "${! not a query }");
    assert!(parse_interpolation("${! this. }").is_err());
}

#[test]
fn method_as_function_extension() {
    // `not_null(x)` means `x.not_null()`; the same rule lets `ceil(length(x) / 4)` work once
    // the library provides those methods.
    assert_eq!(ok("root = not_null(this.a)", r#"{"a":1}"#), "1");
    assert_eq!(ok("root = type(this.a)", r#"{"a":1}"#), "number");
}

#[test]
fn syntax_errors_in_several_statements_are_all_reported() {
    let e = parse_mapping(
        "root.a = this.a +\nroot.b = \"ok\"\nroot.c = [1, 2\nroot.d = 5\nroot.e = foo(\n",
    )
    .unwrap_err();
    let got: Vec<String> = e.errors.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        got,
        vec![
            // An operator may be followed by a line break, so line 2 continues line 1.
            "line 2 char 8: expected line break",
            "line 3 char 15: required: expected ]",
            "line 6 char 1: required: expected function argument",
        ]
    );
}

#[test]
fn parse_errors_are_all_reported() {
    let e =
        parse_mapping("root.a = nope()\nroot.b = alsonope()\nroot.c = this.x.what()").unwrap_err();
    assert_eq!(e.errors.len(), 3);
    assert_eq!((e.errors[1].line, e.errors[1].col), (2, 20));
    let rendered = e.to_string();
    assert!(
        rendered.contains("line 3 char 23: unrecognised method 'what'"),
        "{rendered}"
    );
    assert!(
        rendered.contains("3 | root.c = this.x.what()"),
        "{rendered}"
    );
}

/// Malformed mappings and the exact error they produce (first diagnostic). The first block
/// comes from Bento's own parser tests (`query_parser_test.go`), positions included.
const GOLDEN_ERRORS: &[(&str, &str)] = &[
    ("not_a_function()", "line 1 char 17: unrecognised function 'not_a_function'"),
    ("json(\"foo", "line 1 char 6: required: expected end quote"),
    ("json(", "line 1 char 6: required: expected function argument"),
    ("json(0,", "line 1 char 8: required: expected function argument"),
    ("foo.catch(fallback: \"meow\", tz:)", "line 1 char 32: required: expected argument value"),
    ("json(\"foo\") + ", "line 1 char 15: expected query"),
    ("(json(\"foo\") ", "line 1 char 14: required: expected closing bracket"),
    ("(json(\"foo\") + ", "line 1 char 16: expected query"),
    ("json(\"foo\").not_a_thing()", "line 1 char 26: unrecognised method 'not_a_thing'"),
    ("json(\"foo\").from(", "line 1 char 18: required: expected function argument"),
    ("json(\"foo\").from()", "line 1 char 19: missing parameter: index"),
    ("json(\"foo\").from(\"nah\")", "line 1 char 24: field index: expected number value, got string (\"nah\")"),
    ("json(\"foo\").map()", "line 1 char 18: missing parameter: query"),
    ("json(\"foo\").(=)", "line 1 char 14: required: expected query"),
    ("match json(\"foo\")", "line 1 char 18: required: expected {"),
    ("this.(foo -> foo.(foo -> foo.bar))", "line 1 char 19: context label `foo` would shadow a parent context"),
    ("this.(this -> this.foo)", "line 1 char 7: context label `this` is not allowed"),
    ("this.(root -> root.foo)", "line 1 char 7: context label `root` is not allowed"),
    ("this.(foo -> bar -> baz -> baz.foo)", "line 1 char 7: it would be in poor taste to capture the same context under both 'foo' and 'bar'"),
    ("json(\"foo\").catch(0, high: 5)", "line 1 char 30: cannot mix named and nameless arguments"),
    ("root = \"unterminated", "line 1 char 8: required: expected end quote"),
    ("root = \"\"\"never closed", "line 1 char 8: required: expected end quote"),
    ("root = nosuchfunction()", "line 1 char 24: unrecognised function 'nosuchfunction'"),
    ("root = this.nosuchmethod()", "line 1 char 27: unrecognised method 'nosuchmethod'"),
    ("root = this.foo.bar(", "line 1 char 21: required: expected function argument"),
    ("root = 5 +", "line 1 char 11: expected query"),
    ("root = this.catch(1, 2)", "line 1 char 24: wrong number of arguments, expected 1, got 2"),
    ("root = match this { 1 => \"a\"", "line 1 char 29: required: expected }"),
    ("let = blah", "line 1 char 5: required: expected variable name"),
    ("foo wat bar", "line 1 char 5: expected ="),
    ("foo = bar bar = baz", "line 1 char 11: expected line break"),
    ("foo = blah.", "line 1 char 12: required: expected method or field path"),
    ("root = this.a ** 2", "line 1 char 16: expected query"),
    ("root = [1, 2", "line 1 char 13: required: expected ]"),
    ("root = {\"a\": 1", "line 1 char 15: required: expected }"),
    ("meta foo+bar = baz", "line 1 char 9: expected ="),
    ("root = if this.a { 1 } else", "line 1 char 28: required: expected {"),
    ("map foo {\n  meta foo = \"bar\"\n}", "line 2 char 3: setting meta fields is not allowed within this block"),
    ("root = throw()", "line 1 char 15: missing parameter: why"),
    ("root = 1 +* 2", "line 1 char 11: expected query"),
    ("root = this.(", "line 1 char 14: required: expected query"),
    ("root = $", "line 1 char 9: expected name"),
    ("root = \"a\\q\"", "line 1 char 8: invalid syntax: bad escape sequence"),
    ("root = counter(min: \"x\")", "line 1 char 25: field min: expected number value, got string (\"x\")"),
    ("root = counter(nope: 1)", "line 1 char 24: counter: unknown parameter nope"),
    ("root = counter(1, max: 2)", "line 1 char 26: cannot mix named and nameless arguments"),
    ("\n   ", "line 2 char 4: expected import, map, or assignment"),
    ("!foo = bar", "line 1 char 6: expected the mapping to end here as the beginning is shorthand for `root = !foo`, but this shorthand form cannot be followed with more assignments"),
    ("root.a = 1\nroot.b = nosuchfn()\nroot.c = alsono()", "line 2 char 20: unrecognised function 'nosuchfn'"),
    ("root = this.map_each(x -> )", "line 1 char 27: expected query"),
    ("map foo {\n  foo = bar\n}\nmap foo {\n  foo = bar\n}", "line 4 char 1: map name collision: foo"),
    ("map {\n  foo = bar\n}", "line 1 char 5: required: expected map name"),
    ("let foo+bar = baz", "line 1 char 8: expected ="),
    ("root = x -> x", "line 1 char 8: unexpected lambda: lambdas are only allowed as arguments"),
    ("root = this.apply()", "line 1 char 20: missing parameter: mapping"),
    ("# foobar", "line 1 char 9: expected import, map, or assignment"),
    ("\n\"root.something\" = 5 + 2", "line 2 char 18: expected the mapping to end here as the beginning is shorthand for `root = \"root.someth...`, but this shorthand form cannot be followed with more assignments"),
];

#[test]
fn golden_parse_errors() {
    assert!(GOLDEN_ERRORS.len() >= 20);
    let mut failures = Vec::new();
    for (mapping, want) in GOLDEN_ERRORS {
        match parse_mapping(mapping) {
            Ok(_) => failures.push(format!("{mapping:?}: parsed")),
            Err(e) => {
                let got = e.errors.first().map(|d| d.to_string()).unwrap_or_default();
                if got != *want {
                    failures.push(format!("{mapping:?}:\n  want {want}\n  got  {got}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Check one documented example case: `Error("...")` expects a failure containing the text.
fn check_example(name: &str, mapping: &str, input: &str, expected: &str) -> Option<String> {
    let m = match parse_mapping(mapping) {
        Ok(m) => m,
        Err(e) => return Some(format!("{name}: {mapping:?} did not parse: {e}")),
    };
    let result = m.map_message(&[msg(input)], 0);
    if let Some(want) = expected
        .strip_prefix("Error(\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        return match result {
            Err(e) if e.to_string().contains(want) => None,
            other => Some(format!(
                "{name}: {mapping:?} on {input}: expected error {want:?}, got {:?}",
                other.map(|o| o.map(|m| m.as_str_lossy().into_owned()))
            )),
        };
    }
    let got = match result {
        Ok(Some(m)) => m.as_str_lossy().into_owned(),
        Ok(None) => "<deleted>".into(),
        Err(e) => return Some(format!("{name}: {mapping:?} on {input}: {e}")),
    };
    let same = match (Value::from_json_str(&got), Value::from_json_str(expected)) {
        (Ok(a), Ok(b)) => a == b,
        _ => got == expected,
    };
    if same {
        None
    } else {
        Some(format!(
            "{name}: {mapping:?} on {input}: want {expected}, got {got}"
        ))
    }
}

#[test]
fn every_table_example_runs() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut all: Vec<(&str, &[library::Example])> = Vec::new();
    for f in builtins::FUNCTIONS {
        all.push((f.name, f.examples));
    }
    for m in builtins::METHODS {
        all.push((m.name, m.examples));
    }
    for f in library::functions() {
        all.push((f.name, f.examples));
    }
    for m in library::methods() {
        all.push((m.name, m.examples));
    }
    for (name, examples) in all {
        for ex in examples {
            if ex.skip_check {
                continue;
            }
            // A fresh compile per example; cases of one example share it (stateful functions).
            let m = match parse_mapping(ex.mapping) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{name}: {:?} did not parse: {e}", ex.mapping));
                    continue;
                }
            };
            let _ = m;
            if name == "counter" {
                let m = parse_mapping(ex.mapping).unwrap();
                for (i, (input, want)) in ex.cases.iter().enumerate() {
                    let got = m.map_message(&[msg(input)], 0).unwrap().unwrap();
                    assert_eq!(got.as_str_lossy(), *want, "counter case {i}");
                    checked += 1;
                }
                continue;
            }
            for (input, want) in ex.cases {
                checked += 1;
                if let Some(f) = check_example(name, ex.mapping, input, want) {
                    failures.push(f);
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} example cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "root",
        "this",
        ".",
        "=",
        " ",
        "\n",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\"\"\"",
        "a",
        "b",
        "1",
        "2.5",
        "-",
        "+",
        "*",
        "/",
        "%",
        "|",
        "||",
        "&&",
        "!",
        "==",
        "<",
        ">=",
        ",",
        ":",
        "=>",
        "->",
        "$",
        "@",
        "let ",
        "meta ",
        "map ",
        "if ",
        "else ",
        "match ",
        "_",
        "x",
        "deleted()",
        "catch(",
        "map_each(",
        "filter(",
        "counter(",
        "#",
        "\\",
        "null",
        "true",
        "from ",
        "import ",
        "apply(",
        "fold(",
        "sort(",
        "json(",
        "content()",
        "`",
        "é",
    ];

    fn mapping_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.concat())
    }

    fn json_doc() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{}".to_string()),
            Just(r#"{"a":1,"b":"x","c":[1,2,{"d":null}]}"#.to_string()),
            Just("not json".to_string()),
            Just("[1,2,3]".to_string()),
            any::<String>(),
        ]
    }

    /// Well-formed expressions built from the grammar, to exercise the interpreter rather than
    /// the parser's error paths.
    fn expression() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("this".to_string()),
            Just("this.a".to_string()),
            Just("this.c.2.d".to_string()),
            Just("root.x".to_string()),
            Just("@".to_string()),
            Just("@k".to_string()),
            Just("$v".to_string()),
            Just("null".to_string()),
            Just("deleted()".to_string()),
            Just("nothing()".to_string()),
            Just("content()".to_string()),
            Just("counter()".to_string()),
            any::<i64>().prop_map(|i| i.to_string()),
            (0.0f64..1e9).prop_map(|f| format!("{f:.3}")),
            "[a-z ]{0,6}".prop_map(|s| format!("{s:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
        ];
        leaf.prop_recursive(5, 64, 4, |inner| {
            let ops = prop::sample::select(vec![
                "+", "-", "*", "/", "%", "|", "==", "!=", "<", ">=", "&&", "||",
            ]);
            let methods = prop::sample::select(vec![
                "catch(0)",
                "or(1)",
                "not_null()",
                "not_empty()",
                "type()",
                "string()",
                "number()",
                "map_each(x -> x)",
                "filter(x -> x != null)",
                "fold(0, t -> t.tally)",
                "sort()",
                "sort_by(x -> x)",
                "any(x -> x == 1)",
                "exists(\"a\")",
                "get(\"a.b\")",
                "map_each_key(k -> k)",
                "from(0)",
                "from_all()",
                "bloblang(\"root = this\")",
            ]);
            prop_oneof![
                (inner.clone(), ops, inner.clone()).prop_map(|(l, o, r)| format!("({l} {o} {r})")),
                (inner.clone(), methods).prop_map(|(t, m)| format!("({t}).{m}")),
                inner.clone().prop_map(|e| format!("!{e}")),
                inner.clone().prop_map(|e| format!("-{e}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("{{\"k\": {a}, ({b}): 1}}")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(c, a, b)| format!("if {c} {{ {a} }} else {{ {b} }}")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(s, a, b)| format!("match {s} {{ {a} => {b}, _ => null }}")),
                (inner.clone(), inner.clone()).prop_map(|(t, b)| format!("({t}).({b})")),
                (inner.clone(), inner.clone()).prop_map(|(t, i)| format!("({t})[{i}]")),
                inner.clone().prop_map(|t| format!("({t})[1:-1]")),
            ]
        })
    }

    proptest! {
        // 2000 cases per property by default; PROPTEST_CASES overrides.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
            ..ProptestConfig::default()
        })]

        /// Random well-formed mappings compile and run without panicking, in both modes.
        #[test]
        fn well_formed_mappings_never_panic(e1 in expression(), e2 in expression(), input in json_doc()) {
            let src = format!("let v = {e1}\nmeta k = {e2}\nroot.x = {e1}\nroot.y = {e2}\nif {e1} == {e2} {{ root.z = $v }}");
            let m = parse_mapping(&src);
            prop_assert!(m.is_ok(), "{src}: {:?}", m.err().map(|e| e.to_string()));
            if let Ok(m) = m {
                let batch = [Message::from_bytes(input.clone()), Message::from_bytes("{}")];
                let _ = m.map_message(&batch, 0);
                let _ = m.mutate_message(&batch, 1);
                let _ = m.query(&batch, 0);
            }
        }

        /// Random token soup and random bytes never make the parser or interpreter panic.
        #[test]
        fn never_panics(src in mapping_text(), input in json_doc()) {
            if let Ok(m) = parse_mapping(&src) {
                let batch = [Message::from_bytes(input.clone())];
                let _ = m.map_message(&batch, 0);
                let _ = m.mutate_message(&batch, 0);
                let _ = m.new_message();
            }
            let _ = parse_interpolation(&src);
        }

        #[test]
        fn arbitrary_text_never_panics(src in any::<String>()) {
            let _ = parse_mapping(&src);
            let _ = parse_interpolation(&src);
        }
    }
}

#[test]
fn compiled_forms_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Mapping>();
    assert_send_sync::<InterpolatedString>();
}

#[test]
fn type_errors_name_their_source() {
    let e = err("root = this.a.not_null().uppercase_nope", r#"{"a":null}"#);
    assert!(e.contains("field `this.a`: value is null"), "{e}");
    let e = err("root = !this.a", r#"{"a":"x"}"#);
    assert!(
        e.contains(r#"expected bool value, got string from field `this.a` ("x")"#),
        "{e}"
    );
    let e = err("root = if this.a { 1 }", r#"{"a":"x"}"#);
    assert!(
        e.contains("field `this.a` resolved to a non-boolean value x (string)"),
        "{e}"
    );
}

#[test]
fn map_onto_edits_the_original() {
    let m = parse_mapping("root.result = this.out\nmeta from_branch = metadata(\"k\")").unwrap();
    let original = msg(r#"{"id":1}"#);
    let mut result = msg(r#"{"out":"x"}"#);
    result.meta_mut().insert("k".into(), Value::from("v"));
    let out = m.map_onto(&original, &[result], 0).unwrap().unwrap();
    assert_eq!(out.as_str_lossy(), r#"{"id":1,"result":"x"}"#);
    assert_eq!(out.meta_str("from_branch").as_deref(), Some("v"));
}

#[test]
fn deepest_accepted_mappings_run_on_small_stacks() {
    let chains = [
        format!("root = this.a{}", ".map_each(x -> x)".repeat(195)),
        format!("root = 1{}", " + this.b".repeat(198)),
        format!("root = {}1{}", "[".repeat(120), "]".repeat(120)),
        format!("root = {}this.c", "!".repeat(190)),
        format!("root = {}c{}", "this.(".repeat(120), ")".repeat(120)),
        format!("root = {}1{}", "if true { ".repeat(60), " }".repeat(60)),
        format!(
            "root = {}1{}",
            "match { true => ".repeat(60),
            " }".repeat(60)
        ),
    ];
    for m in chains {
        // Tokio worker threads have 2 MiB stacks.
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let mapping = parse_mapping(&m).map_err(|e| e.single_line())?;
                let input = [Message::from_bytes(r#"{"a":[1],"b":1,"c":true}"#)];
                mapping
                    .map_message(&input, 0)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .unwrap();
        assert!(handle.join().unwrap().is_ok());
    }
    let too_deep = format!("root = 1{}", " + 1".repeat(300));
    assert!(parse_mapping(&too_deep)
        .unwrap_err()
        .to_string()
        .contains("too deeply nested"));
}

#[test]
fn docs_list_every_name_once() {
    let f = function_docs();
    assert!(f.iter().any(|d| d.name == "content"));
    let m = method_docs();
    assert!(m.iter().any(|d| d.name == "map_each"));
    let mut names: Vec<_> = m.iter().map(|d| d.name).collect();
    names.dedup();
    assert_eq!(names.len(), m.len());
}

#[test]
fn imports_resolve_relative_to_the_importing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/inner.blobl"),
        "map inner {\n  root.v = this.x\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("outer.blobl"),
        "import \"./sub/inner.blobl\"\nmap outer {\n  root.o = this.apply(\"inner\")\n}\n",
    )
    .unwrap();
    let outer = dir.path().join("outer.blobl");
    let m = format!(
        "import \"{}\"\nroot = this.apply(\"outer\")",
        outer.display()
    );
    assert_eq!(ok(&m, r#"{"x":5}"#), r#"{"o":{"v":5}}"#);
    let direct = dir.path().join("direct.blobl");
    std::fs::write(&direct, "root.nested = this").unwrap();
    assert_eq!(
        ok(&format!("from \"{}\"", direct.display()), r#"{"x":1}"#),
        r#"{"nested":{"x":1}}"#
    );
}

#[test]
fn multi_line_queries_with_comments() {
    let m = parse_mapping(
        "root = json(\n\t\"foo\" # Here's a thing\n).(\n\tbar | # And look at this thing\n\tbaz |\n\tquz\n).from_all() # And this",
    )
    .unwrap();
    let batch = [
        msg(r#"{"foo":{"baz":"from_baz"},"quz":"not this"}"#),
        msg(r#"{"foo":{"quz":"from_quz"}}"#),
        msg(r#"{"foo":{"bar":"from_bar"},"baz":"and not this"}"#),
    ];
    let out = m.map_message(&batch, 0).unwrap().unwrap();
    assert_eq!(out.as_str_lossy(), r#"["from_baz","from_quz","from_bar"]"#);
    assert_eq!(ok("root = this.a.\n  not_null()", r#"{"a":1}"#), "1");
    assert_eq!(
        ok("root = this.without_nope | this.a +\n  1", r#"{"a":1}"#),
        "2"
    );
}

#[test]
fn deprecated_meta_function_and_from() {
    let mut a = msg("{}");
    a.meta_mut().insert("foo".into(), Value::Int(5));
    let batch = [msg("{}"), a];
    let m = parse_mapping(
        "root = [meta(\"foo\"), meta(\"nope\"), meta(\"foo\").from(1), json(\"x\").from(-1)]",
    )
    .unwrap();
    let out = m.map_message(&batch, 1).unwrap().unwrap();
    assert_eq!(out.as_str_lossy(), r#"["5",null,"5",null]"#);
}

/// Expression cases from Bento's parser tests: (query, input document, expected output).
const EXPRESSION_CASES: &[(&str, &str, &str)] = &[
    ("match \"string literal\" {\n  this == \"string literal\" => \"first\"\n  this != \"string literal\" => \"second\"\n  _ => \"third\"\n  \n} ", "{}", "first"),
    ("match \"string literal\"\n{\n  this != \"string literal\" => \"first\"\n  this == \"string literal\" => \"second\"\n  _ => \"third\" }", "{}", "second"),
    ("match \"foo\" {\n  \"foo\" => \"first\"\n  \"bar\" => \"second\"\n  _ => \"third\"\n}", "{}", "first"),
    ("match \"baz\" {\n  \"foo\" => \"first\"\n  \"bar\" => \"second\"\n  _ => \"third\"\n}", "{}", "third"),
    ("match json(\"foo\") {\n  this > 10 =>  this + 1\n  this > 5 => this + 2\n  _ => this + 3\n  }", r#"{"foo":7}"#, "9"),
    ("match json(\"foo\") {\n  this > 10 =>  this + 1\n  this > 5 => this + 2\n  _ => this + 3 }", r#"{"foo":15}"#, "16"),
    ("match \"\" {\n  json().foo > 5 => json().foo\n  json().bar > 5 => \"bigbar\"\n  _ => json().baz\n}", r#"{"foo":6,"bar":3,"baz":"isbaz"}"#, "6"),
    ("match \"\" {\n  json().foo > 5 => \"bigfoo\"\n  json().bar.number().or(0) > 5 => \"bigbar\"\n  _ => json().baz }", r#"{"foo":2,"bar":"not a number","baz":"isbaz"}"#, "isbaz"),
    ("(match (json(\"foo\")) {\n  (this > 10) => (this + 1)\n  (this > 5) => (this + 2)\n  _ => (this + 3) })", r#"{"foo":7}"#, "9"),
    ("match {\n  json(\"foo\") > 10 =>  json(\"foo\") + 1\n  json(\"foo\") > 5 =>  json(\"foo\") + 2\n  _ => \"nope\"\n  }", r#"{"foo":7}"#, "9"),
    ("match \"bar\" {\n  \"foo\" => \"first\",\n  \"bar\" => \"second\",\n  _ => \"third\",\n}", "{}", "second"),
    ("match \"bar\" {\"foo\"=>\"first\",\"bar\"=>\"second\",_=>\"third\"}", "{}", "second"),
    ("if \"foo\" == \"foo\" { \"foo\" } else { \"bar\" }", "{}", "foo"),
    ("if json(\"type\") == \"foo\"{\"was foo\"} else if json(\"type\") == \"bar\"{\"was bar\"} else if json(\"type\") == \"baz\"{\"was baz\"}else{\"was none\"}", r#"{"type":"baz"}"#, "was baz"),
    ("if json(\"type\") == \"foo\" {\n  \"was foo\"\n} else if json(\"type\") == \"bar\" {\n  \"was bar\"\n} else {\n  \"was none\"\n}", r#"{"type":"x"}"#, "was none"),
    ("match [ \"foo\" ] {\n  [ \"foo\" ] => \"first\",\n  \"bar\" => \"second\",\n  _ => \"third\",\n}", "{}", "first"),
    ("null | \"a string\"", "{}", "a string"),
    ("5 - 2", "{}", "3"),
    ("json(\"foo\") && (json(\"bar\") > 2)", r#"{"foo":true,"bar":3}"#, "true"),
    ("json().(json(path))", r#"{"path":"foo","foo":"this"}"#, "this"),
    ("this.without_field.or(\"x\")", "{}", "x"),
    ("\"foo\" != 5", "{}", "true"),
    ("null != \"foo\"", "{}", "true"),
    ("!true || false", "{}", "false"),
    ("false || !false", "{}", "true"),
    ("5 % 2", "{}", "1"),
    ("\"7\".number() % \"4\".number()", "{}", "3"),
    ("true && false || true && false", "{}", "false"),
    ("false || true && true || false", "{}", "true"),
    ("true || false && true", "{}", "true"),
    ("false && (\"not a number\".number() > 0)", "{}", "false"),
    ("true || (\"not a number\".number() > 0)", "{}", "true"),
    ("json(\"foo\") + json(\"bar\")", "{\"foo\":5,\"bar\":12}", "17"),
    ("json(\"foo\") - 7", "{\"foo\":5,\"bar\":12}", "-2"),
    ("json(\"foo\") + json(\"bar\") + \"baz\".number(0)", "{\"foo\":5,\"bar\":12}", "17"),
    ("-json(\"foo\")", "{\"foo\":5}", "-5"),
    ("json(\"foo\") * json(\"bar\") * 2", "{\"foo\":5,\"bar\":2}", "20"),
    ("2 + 3 * 2 + 1", "{}", "9"),
    ("( 2 + 3 ) * (2 + 1)", "{}", "15"),
    ("(2 + 3 )* (2+1 ) * 3", "{}", "45"),
    ("6 - 6 / 2 + 1", "{}", "4"),
    ("(8 - 4) / (1 + 1)", "{}", "2"),
    ("8 > 2*6", "{}", "false"),
    ("8 >= 7+1", "{}", "true"),
    ("8 > 3 && 1 < 4", "{}", "true"),
    ("json(\"foo\") | json(\"bar\")", "{\"foo\":null,\"bar\":\"from_bar\"}", "from_bar"),
    ("deleted() | \"this\"", "{}", "this"),
    ("nothing() | \"this\"", "{}", "this"),
    ("\"2\".number() == 2", "{}", "true"),
    ("2.0 == 2", "{}", "true"),
    ("2.5 == 3.5-1", "{}", "true"),
    ("5 <= 2.5*2", "{}", "true"),
    ("-(2) < 2", "{}", "true"),
    ("2 < -\"2\".number()", "{}", "false"),
    ("(2 == 1) || (2 != 2)", "{}", "false"),
    ("null == null", "{}", "true"),
    ("{} == {}", "{}", "true"),
    ("[\"bar\"] != [\"foo\"]", "{}", "true"),
    ("{} != null", "{}", "true"),
];

#[test]
fn bento_expression_cases() {
    let mut failures = Vec::new();
    for (q, input, want) in EXPRESSION_CASES {
        match run(q, input) {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{q:?}: want {want}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn recursive_maps_fail_cleanly() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            run(
                "map a {\n  root = this.apply(\"a\")\n}\nroot = this.apply(\"a\")",
                "{}",
            )
        })
        .unwrap();
    let e = handle.join().unwrap().unwrap_err();
    assert!(e.contains("maximum recursion depth exceeded"), "{e}");
}

#[test]
fn interpolation_errors_name_positions() {
    let e = parse_interpolation("prefix ${! nope() } suffix").unwrap_err();
    assert_eq!(
        e.errors[0].to_string(),
        "line 1 char 18: unrecognised function 'nope'"
    );
    let e = parse_interpolation("a ${! this.foo ").unwrap_err();
    assert_eq!(e.errors[0].line, 1);
    let i = parse_interpolation("${! meta(\"k\") }-${!count(\"interp_c\")}").unwrap();
    let mut m = msg("{}");
    m.meta_mut().insert("k".into(), Value::from("v"));
    assert_eq!(i.render(&[m], 0).unwrap(), "v-1");
}

#[test]
fn recursive_tree_walk_handles_deep_documents() {
    let mapping = r#"map walk {
  root = match {
    this.type() == "object" => this.map_each(item -> item.value.apply("walk")),
    this.type() == "array" => this.map_each(ele -> ele.apply("walk")),
    this.type() == "string" => this + "!",
    _ => this,
  }
}
root = this.apply("walk")"#;
    assert_eq!(
        ok(
            mapping,
            r#"{"first":{"nested":"foo"},"second":10,"third":["1",{"also":"2"}]}"#
        ),
        r#"{"first":{"nested":"foo!"},"second":10,"third":["1!",{"also":"2!"}]}"#
    );
    // Nesting as deep as the JSON parser accepts, on a 2 MiB stack.
    let depth = 100;
    let doc = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
    let want = format!("{}\"x!\"{}", "[".repeat(depth), "]".repeat(depth));
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || run(mapping, &doc))
        .unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), want);
}

#[test]
fn compile_errors_are_reported_with_syntax_errors() {
    let e = parse_mapping("root.a = nope()\nroot.b = [1, 2\nroot.c = 3\nroot.d = alsonope()")
        .unwrap_err();
    let got: Vec<String> = e.errors.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        got,
        vec![
            "line 1 char 16: unrecognised function 'nope'",
            "line 2 char 15: required: expected ]",
            "line 4 char 20: unrecognised function 'alsonope'",
        ]
    );
}
