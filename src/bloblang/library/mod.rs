//! The Bloblang function and method library: one table entry per function or method, with its
//! documentation and examples beside the implementation. The examples run as tests and feed
//! `engine list bloblang-functions` / `bloblang-methods`.
//!
//! Entries here are "simple": they see only their target value and their already evaluated
//! arguments. Functions and methods that need the interpreter (lambdas such as `map_each`,
//! `catch`, `apply`) or the message (`content()`, `metadata()`) live with the interpreter.
//!
//! Conventions the interpreter relies on:
//! * Arguments arrive evaluated, one per declared parameter, defaults filled in
//!   (`ParamDefault::Optional` as `Value::Null`). Methods listed in [`VARIADIC_METHODS`] declare
//!   no parameters and receive every argument as given.
//! * Errors are Bento's bare texts (`expected string value, got number (5)`); the interpreter adds
//!   the context (`field `this.foo`: ...`). [`helpers::type_error`] builds the type errors.
//! * Categories are Bento's. Entries Bento hides from its documentation (aliases such as
//!   `replace`, `re_replace`, `not`) use the category [`HIDDEN`]; Bento's deprecated entries use
//!   `"Deprecated"`.
//! * `sort` here is the no-argument natural sort and `unique` has no `emit` argument; the
//!   interpreter's lambda-taking variants take over when arguments are given. `set(path, value)`
//!   cannot see `deleted()`, which the interpreter handles itself.

use crate::message::Value;

pub mod coercion;
pub mod encoding;
#[cfg(test)]
mod examples_test;
pub mod formats;
pub mod general;
pub mod gofmt;
pub mod golayout;
pub mod helpers;
pub mod jwt;
pub mod numbers;
pub mod objects;
pub mod parsing;
pub mod regexp;
pub mod schema;
pub mod strings;
pub mod timestamps;
pub mod xml;

/// What an argument must be. The interpreter checks literal arguments against it at compile time
/// and evaluated ones at run time, and fills in defaults, so an implementation receives exactly
/// `params.len()` values in declaration order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    Any,
    String,
    Int,
    Float,
    Bool,
    Array,
    Object,
}

#[derive(Clone, Copy, Debug)]
pub enum ParamDefault {
    Required,
    /// Optional with no default: the implementation receives `Value::Null`.
    Optional,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: ParamDefault,
    pub description: &'static str,
}

/// A documented example: a mapping and pairs of (input, expected output). An expected output of
/// the form `Error("...")` means the mapping must fail with a message containing that text.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    pub summary: &'static str,
    pub mapping: &'static str,
    pub cases: &'static [(&'static str, &'static str)],
    /// Examples whose output varies between runs (random, time) are shown but not checked.
    pub skip_check: bool,
}

pub type MethodFn = fn(target: &Value, args: &[Value]) -> Result<Value, String>;
pub type FunctionFn = fn(args: &[Value]) -> Result<Value, String>;

pub struct MethodSpec {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    pub examples: &'static [Example],
    pub imp: MethodFn,
}

pub struct FunctionSpec {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    pub examples: &'static [Example],
    pub imp: FunctionFn,
}

/// The category of entries Bento registers as hidden: callable, never listed.
pub const HIDDEN: &str = "Hidden";

/// Methods taking any number of arguments (Bento's `VariadicParams`): their `params` is empty
/// and the interpreter passes every evaluated argument, positionally, as is.
pub const VARIADIC_METHODS: &[&str] = &["append", "concat", "format", "with", "without", "zip"];

pub fn is_variadic_method(name: &str) -> bool {
    VARIADIC_METHODS.contains(&name)
}

/// Every simple method, in one explicit list.
pub fn methods() -> Vec<&'static MethodSpec> {
    let tables: &[&'static [MethodSpec]] = &[
        strings::METHODS,
        numbers::METHODS,
        coercion::METHODS,
        objects::METHODS,
        parsing::METHODS,
        timestamps::METHODS,
        encoding::METHODS,
        regexp::METHODS,
        jwt::METHODS,
        schema::METHODS,
        general::METHODS,
        xml::METHODS,
        formats::METHODS,
    ];
    tables.iter().flat_map(|t| t.iter()).collect()
}

/// Every simple function, in one explicit list.
pub fn functions() -> Vec<&'static FunctionSpec> {
    let tables: &[&'static [FunctionSpec]] = &[
        numbers::FUNCTIONS,
        timestamps::FUNCTIONS,
        general::FUNCTIONS,
        general::FILE_FUNCTIONS,
    ];
    tables.iter().flat_map(|t| t.iter()).collect()
}

/// Values for the library's tests: a string, and a document from JSON text.
#[cfg(test)]
pub(crate) mod test_values {
    use crate::message::Value;

    pub fn s(x: &str) -> Value {
        Value::from(x)
    }

    pub fn j(x: &str) -> Value {
        Value::from_json_str(x).unwrap()
    }
}
