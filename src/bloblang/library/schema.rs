//! `json_schema`: validation against a JSON Schema (the `jsonschema` crate), with Bento's error
//! text. Bento validates with gojsonschema and joins its errors as `<field> <description>`, the
//! description lower-cased (with the property name's case restored where the error names one), so
//! the crate's errors are rewritten into gojsonschema's messages here. Compiled schemas are cached
//! per thread, keyed by the schema text, since schemas are nearly always literals.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value as Json;

use super::helpers::*;
use super::{MethodSpec, Param, ParamKind as K};
use crate::message::value::format_rfc3339_nano;
use crate::message::Value;

const CAT: &str = "Object & Array Manipulation";
const SCHEMA: &[Param] = &[req(
    "schema",
    K::String,
    "The schema to check values against.",
)];

pub static METHODS: &[MethodSpec] = &[MethodSpec {
    name: "json_schema",
    category: CAT,
    description: "Checks a [JSON schema](https://json-schema.org/) against a value and returns the value if it matches or throws and error if it does not.",
    params: SCHEMA,
    examples: &[
        ex(
            "",
            "root = this.json_schema(\"\"\"{\n  \"type\":\"object\",\n  \"properties\":{\n    \"foo\":{\n      \"type\":\"string\"\n    }\n  }\n}\"\"\")",
            &[
                (r#"{"foo":"bar"}"#, r#"{"foo":"bar"}"#),
                // Bento's full text is "failed assignment (line 1): field `this`: foo invalid
                // type. ..."; the interpreter annotates a bare `this` as "this", so only the
                // method's own part is checked here.
                (
                    r#"{"foo":5}"#,
                    r#"Error("foo invalid type. expected: string, given: integer")"#,
                ),
            ],
        ),
        ex_skip(
            "In order to load a schema from a file use the `file` function.",
            "root = this.json_schema(file(env(\"BENTO_TEST_BLOBLANG_SCHEMA_FILE\")))",
            &[],
        ),
    ],
    imp: json_schema,
}];

struct Compiled {
    validator: Validator,
    /// The schema document, to read keyword values (`type` lists) back by schema path.
    schema: Json,
}

const CACHE_LIMIT: usize = 64;

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Compiled>>> = RefCell::new(HashMap::new());
}

/// Compile a schema, reusing this thread's cached copy.
fn compile(text: &str) -> Result<Rc<Compiled>, String> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(text).cloned()) {
        return Ok(hit);
    }
    let fail = |e: String| format!("failed to parse json schema definition: {e}");
    let schema: Json = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
    let mut options = jsonschema::options().should_validate_formats(true);
    // gojsonschema reads draft 4, 6 and 7; without `$schema` the nearest is draft 7.
    if schema.get("$schema").is_none() {
        options = options.with_draft(Draft::Draft7);
    }
    let validator = options.build(&schema).map_err(|e| fail(e.to_string()))?;
    let compiled = Rc::new(Compiled { validator, schema });
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(text.to_string(), compiled.clone());
    });
    Ok(compiled)
}

fn json_schema(v: &Value, args: &[Value]) -> Result<Value, String> {
    let compiled = compile(&arg_str(args, 0)?)?;
    let instance = to_json(v);
    let mut lines = Vec::new();
    for err in compiled.validator.iter_errors(&instance) {
        describe(&err, &compiled.schema, &mut lines);
    }
    if lines.is_empty() {
        return Ok(v.clone());
    }
    Err(lines
        .iter()
        .map(GoError::render)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// A value as gojsonschema's `NewGoLoader` sees it: through `encoding/json`, so bytes become
/// base64 text and timestamps RFC 3339 strings.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(STANDARD.encode(b)),
        Value::Timestamp(t) => Json::String(format_rfc3339_nano(t)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// One gojsonschema `ResultError`: its context (the field path), its description, and the
/// `property` detail some errors carry.
struct GoError {
    context: String,
    description: String,
    property: Option<String>,
}

impl GoError {
    /// Bento's rendering: `Field() + " " + lower(description)`, where `Field()` is the property
    /// when there is one, whose case is restored when the description starts with it.
    fn render(&self) -> String {
        let lower = self.description.to_lowercase();
        match &self.property {
            Some(p) => {
                let rest = lower.strip_prefix(&p.to_lowercase()).unwrap_or(&lower);
                format!("{p} {p}{rest}")
            }
            None => format!("{} {lower}", self.context),
        }
    }
}

/// gojsonschema's context: `(root)` for the document, else the path's segments joined by dots.
fn field_of(err: &ValidationError<'_>) -> String {
    let pointer = err.instance_path().as_str();
    if pointer.is_empty() {
        return "(root)".into();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|seg| seg.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A number as gojsonschema formats a `big.Float` limit (`%v`: shortest, exponent from 1e+06).
fn go_number(v: &Json) -> String {
    match v.as_f64() {
        Some(f) => format_go_g(f),
        None => v.to_string(),
    }
}

/// `encoding/json`'s text for a schema value (enum members, const).
fn go_json(v: &Json) -> String {
    let text = v.to_string();
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The type gojsonschema reports as `given`.
fn given_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// The keyword's value in the schema, when the error's schema path can be followed.
fn keyword_value<'s>(schema: &'s Json, err: &ValidationError<'_>) -> Option<&'s Json> {
    schema.pointer(err.schema_path().as_str())
}

/// Rewrite one crate error into gojsonschema's error(s).
fn describe(err: &ValidationError<'_>, schema: &Json, out: &mut Vec<GoError>) {
    let context = field_of(err);
    let push = |out: &mut Vec<GoError>, description: String, property: Option<String>| {
        out.push(GoError {
            context: context.clone(),
            description,
            property,
        })
    };
    match err.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected = match keyword_value(schema, err) {
                Some(Json::String(t)) => t.clone(),
                Some(Json::Array(ts)) if ts.len() == 1 => {
                    ts[0].as_str().unwrap_or_default().to_string()
                }
                Some(Json::Array(ts)) => format!(
                    "[{}]",
                    ts.iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                _ => match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(set) => format!(
                        "[{}]",
                        set.iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                },
            };
            let given = given_type(err.instance());
            push(
                out,
                format!("Invalid type. Expected: {expected}, given: {given}"),
                None,
            );
        }
        ValidationErrorKind::Required { property } => {
            let p = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            push(out, format!("{p} is required"), Some(p));
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for p in unexpected {
                push(
                    out,
                    format!("Additional property {p} is not allowed"),
                    Some(p.clone()),
                );
            }
        }
        ValidationErrorKind::PropertyNames { error } => {
            let p = error
                .instance()
                .as_str()
                .map_or_else(|| error.instance().to_string(), str::to_string);
            push(
                out,
                format!("Property name of \"{p}\" does not match"),
                Some(p),
            );
        }
        ValidationErrorKind::Enum { options } => {
            let allowed = match options.as_ref() {
                Json::Array(items) => items.iter().map(go_json).collect::<Vec<_>>().join(", "),
                other => go_json(other),
            };
            let d = format!("{context} must be one of the following: {allowed}");
            push(out, d, None);
        }
        ValidationErrorKind::Constant { expected_value } => {
            let d = format!("{context} does not match: {}", go_json(expected_value));
            push(out, d, None);
        }
        ValidationErrorKind::Minimum { limit } => push(
            out,
            format!("Must be greater than or equal to {}", go_number(limit)),
            None,
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => push(
            out,
            format!("Must be greater than {}", go_number(limit)),
            None,
        ),
        ValidationErrorKind::Maximum { limit } => push(
            out,
            format!("Must be less than or equal to {}", go_number(limit)),
            None,
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            push(out, format!("Must be less than {}", go_number(limit)), None)
        }
        ValidationErrorKind::MultipleOf { multiple_of } => push(
            out,
            format!("Must be a multiple of {}", format_go_g(*multiple_of)),
            None,
        ),
        ValidationErrorKind::MinLength { limit } => push(
            out,
            format!("String length must be greater than or equal to {limit}"),
            None,
        ),
        ValidationErrorKind::MaxLength { limit } => push(
            out,
            format!("String length must be less than or equal to {limit}"),
            None,
        ),
        ValidationErrorKind::MinItems { limit } => {
            push(out, format!("Array must have at least {limit} items"), None)
        }
        ValidationErrorKind::MaxItems { limit } => {
            push(out, format!("Array must have at most {limit} items"), None)
        }
        ValidationErrorKind::MinProperties { limit } => {
            push(out, format!("Must have at least {limit} properties"), None)
        }
        ValidationErrorKind::MaxProperties { limit } => {
            push(out, format!("Must have at most {limit} properties"), None)
        }
        ValidationErrorKind::UniqueItems => {
            // One error per repeated item, naming the previous occurrence and this one.
            if let Json::Array(items) = err.instance().as_ref() {
                let mut seen: HashMap<String, usize> = HashMap::new();
                for (j, item) in items.iter().enumerate() {
                    let key = canonical(item);
                    if let Some(i) = seen.get(&key) {
                        push(out, format!("array items[{i},{j}] must be unique"), None);
                    }
                    seen.insert(key, j);
                }
            }
        }
        ValidationErrorKind::Pattern { pattern } => {
            push(out, format!("Does not match pattern '{pattern}'"), None)
        }
        ValidationErrorKind::Format { format } => {
            push(out, format!("Does not match format '{format}'"), None)
        }
        ValidationErrorKind::Contains => {
            push(out, "At least one of the items must match".into(), None)
        }
        ValidationErrorKind::AdditionalItems { .. } => {
            push(out, "No additional items allowed on array".into(), None)
        }
        ValidationErrorKind::FalseSchema => push(out, "False always fails validation".into(), None),
        ValidationErrorKind::Not { .. } => {
            push(out, "Must not validate the schema (not)".into(), None)
        }
        ValidationErrorKind::AnyOf { context: branches } => {
            push(
                out,
                "Must validate at least one schema (anyOf)".into(),
                None,
            );
            closest_branch(branches, schema, out);
        }
        ValidationErrorKind::OneOfNotValid { context: branches } => {
            push(
                out,
                "Must validate one and only one schema (oneOf)".into(),
                None,
            );
            closest_branch(branches, schema, out);
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => push(
            out,
            "Must validate one and only one schema (oneOf)".into(),
            None,
        ),
        _ => push(out, err.to_string(), None),
    }
}

/// gojsonschema adds the errors of the branch that came closest to matching; the branch with
/// the fewest errors stands in for its score.
fn closest_branch(
    branches: &[Vec<ValidationError<'static>>],
    schema: &Json,
    out: &mut Vec<GoError>,
) {
    if let Some(best) = branches.iter().min_by_key(|b| b.len()) {
        for err in best {
            describe(err, schema, out);
        }
    }
}

/// Equality for `uniqueItems` the way gojsonschema compares (JSON text, numbers by value, keys
/// sorted).
fn canonical(v: &Json) -> String {
    match v {
        Json::Number(n) => n.as_f64().map_or_else(|| n.to_string(), format_go_g),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Json::String((*k).clone()), canonical(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: &str, input: &str) -> Result<Value, String> {
        json_schema(
            &Value::from_json_str(input).unwrap(),
            &[Value::from(schema)],
        )
    }

    #[test]
    fn documented() {
        let schema = r#"{"type":"object","properties":{"foo":{"type":"string"}}}"#;
        assert_eq!(
            check(schema, r#"{"foo":"bar"}"#).unwrap(),
            Value::from_json_str(r#"{"foo":"bar"}"#).unwrap()
        );
        assert_eq!(
            check(schema, r#"{"foo":5}"#).unwrap_err(),
            "foo invalid type. expected: string, given: integer"
        );
        assert_eq!(
            check(schema, r#"{"foo":5.5}"#).unwrap_err(),
            "foo invalid type. expected: string, given: number"
        );
        assert_eq!(
            check(schema, r#"[1]"#).unwrap_err(),
            "(root) invalid type. expected: object, given: array"
        );
    }

    #[test]
    fn gojsonschema_messages() {
        let cases = [
            (
                r#"{"required":["Name"]}"#,
                r#"{}"#,
                "Name Name is required",
            ),
            (
                r#"{"properties":{"a":{}},"additionalProperties":false}"#,
                r#"{"a":1,"Bee":2}"#,
                "Bee Beeadditional property bee is not allowed",
            ),
            (
                r#"{"properties":{"a":{"type":["string","null"]}}}"#,
                r#"{"a":true}"#,
                "a invalid type. expected: [string,null], given: boolean",
            ),
            (
                r#"{"properties":{"a":{"enum":["X",2]}}}"#,
                r#"{"a":"y"}"#,
                r#"a a must be one of the following: "x", 2"#,
            ),
            (
                r#"{"const":"A"}"#,
                r#""b""#,
                r#"(root) (root) does not match: "a""#,
            ),
            (
                r#"{"items":{"minimum":10}}"#,
                r#"[10,9]"#,
                "1 must be greater than or equal to 10",
            ),
            (
                r#"{"exclusiveMaximum":1000000}"#,
                r#"1000000"#,
                "(root) must be less than 1e+06",
            ),
            (
                r#"{"properties":{"s":{"minLength":3,"pattern":"^A"}}}"#,
                r#"{"s":"b"}"#,
                "s string length must be greater than or equal to 3\ns does not match pattern '^a'",
            ),
            (
                r#"{"maxItems":1,"uniqueItems":true}"#,
                r#"[1,1.0]"#,
                "(root) array must have at most 1 items\n(root) array items[0,1] must be unique",
            ),
            (
                r#"{"format":"email"}"#,
                r#""nope""#,
                "(root) does not match format 'email'",
            ),
            (
                r#"{"multipleOf":2.5}"#,
                r#"3"#,
                "(root) must be a multiple of 2.5",
            ),
            (
                r#"{"anyOf":[{"type":"string"},{"type":"integer","minimum":5}]}"#,
                r#"3"#,
                "(root) must validate at least one schema (anyof)\n(root) invalid type. expected: string, given: integer",
            ),
            (
                r#"{"not":{"type":"integer"}}"#,
                r#"3"#,
                "(root) must not validate the schema (not)",
            ),
            (
                r#"{"properties":{"a":{"properties":{"b":{"maxProperties":0}}}}}"#,
                r#"{"a":{"b":{"c":1}}}"#,
                "a.b must have at most 0 properties",
            ),
        ];
        for (schema, input, want) in cases {
            assert_eq!(check(schema, input).unwrap_err(), want, "{schema} {input}");
        }
    }

    #[test]
    fn values_pass_through_and_bad_schemas_fail() {
        let v = Value::Bytes(b"hi".to_vec());
        assert_eq!(
            json_schema(&v, &[Value::from(r#"{"type":"string"}"#)]).unwrap(),
            v
        );
        assert!(check("{nope", "1")
            .unwrap_err()
            .starts_with("failed to parse json schema definition: "));
        assert!(check(r#"{"type":"nope"}"#, "1")
            .unwrap_err()
            .starts_with("failed to parse json schema definition: "));
        // No network or file resolution.
        assert!(check(r#"{"$ref":"https://example.com/s.json"}"#, "1")
            .unwrap_err()
            .starts_with("failed to parse json schema definition: "));
    }

    #[test]
    fn cached_per_schema_text() {
        let schema = r#"{"type":"integer"}"#;
        let a = compile(schema).unwrap();
        let b = compile(schema).unwrap();
        assert!(Rc::ptr_eq(&a, &b));
    }
}
