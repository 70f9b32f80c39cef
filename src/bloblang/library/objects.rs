//! Object and array manipulation methods that need no lambdas.

use super::helpers::*;
use super::{MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::value::Object;
use crate::message::Value;

const CAT: &str = "Object & Array Manipulation";

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "append",
        category: CAT,
        description: "Returns an array with new elements appended to the end.",
        params: &[],
        examples: &[ex("", r#"root.foo = this.foo.append("and", "this")"#, &[(r#"{"foo":["bar","baz"]}"#, r#"{"foo":["bar","baz","and","this"]}"#)])],
        imp: append,
    },
    MethodSpec {
        name: "assign",
        category: CAT,
        description: "Merge a source object into an existing destination object. When a collision is found within the merged structures (both a source and destination object contain the same non-object keys) the value in the source object is used.",
        params: &[req("with", K::Any, "A value to merge the target value with.")],
        examples: &[ex("", "root = this.foo.assign(this.bar)", &[(r#"{"foo":{"first_name":"fooer","likes":"bars"},"bar":{"second_name":"barer","likes":"foos"}}"#, r#"{"first_name":"fooer","likes":"foos","second_name":"barer"}"#)])],
        imp: assign,
    },
    MethodSpec {
        name: "merge",
        category: CAT,
        description: "Merge a source object into an existing destination object. When a collision is found within the merged structures (both a source and destination object contain the same non-object keys) the result will be an array containing both values, where values that are already arrays will be expanded into the resulting array.",
        params: &[req("with", K::Any, "A value to merge the target value with.")],
        examples: &[ex("", "root = this.foo.merge(this.bar)", &[(r#"{"foo":{"first_name":"fooer","likes":"bars"},"bar":{"second_name":"barer","likes":"foos"}}"#, r#"{"first_name":"fooer","likes":["bars","foos"],"second_name":"barer"}"#)])],
        imp: merge,
    },
    MethodSpec {
        name: "collapse",
        category: CAT,
        description: "Collapse an array or object into an object of key/value pairs for each field, where the key is the full path of the structured field in dot path notation. Empty arrays and objects are ignored by default.",
        params: &[opt("include_empty", K::Bool, D::Bool(false), "Whether to include empty objects and arrays in the resulting object.")],
        examples: &[
            ex("", "root.result = this.collapse()", &[(r#"{"foo":[{"bar":"1"},{"bar":{}},{"bar":"2"},{"bar":[]}]}"#, r#"{"result":{"foo.0.bar":"1","foo.2.bar":"2"}}"#)]),
            ex("An optional boolean parameter can be set to true in order to include empty objects and arrays.", "root.result = this.collapse(include_empty: true)", &[(r#"{"foo":[{"bar":"1"},{"bar":{}},{"bar":"2"},{"bar":[]}]}"#, r#"{"result":{"foo.0.bar":"1","foo.1.bar":{},"foo.2.bar":"2","foo.3.bar":[]}}"#)]),
        ],
        imp: collapse,
    },
    MethodSpec {
        name: "concat",
        category: CAT,
        description: "Concatenates an array value with one or more argument arrays.",
        params: &[],
        examples: &[ex("", "root.foo = this.foo.concat(this.bar, this.baz)", &[(r#"{"foo":["a","b"],"bar":["c"],"baz":["d","e","f"]}"#, r#"{"foo":["a","b","c","d","e","f"]}"#)])],
        imp: concat,
    },
    MethodSpec {
        name: "enumerated",
        category: CAT,
        description: "Converts an array into a new array of objects, where each object has a field index containing the `index` of the element and a field `value` containing the original value of the element.",
        params: &[],
        examples: &[ex("", "root.foo = this.foo.enumerated()", &[(r#"{"foo":["bar","baz"]}"#, r#"{"foo":[{"index":0,"value":"bar"},{"index":1,"value":"baz"}]}"#)])],
        imp: enumerated,
    },
    MethodSpec {
        name: "explode",
        category: CAT,
        description: "Explodes an array or object at a field path.",
        params: &[req("path", K::String, "A dot path to a field to explode.")],
        examples: &[
            ex("##### On arrays\n\nExploding arrays results in an array containing elements matching the original document, where the target field of each element is an element of the exploded array:", "root = this.explode(\"value\")", &[(r#"{"id":1,"value":["foo","bar","baz"]}"#, r#"[{"id":1,"value":"foo"},{"id":1,"value":"bar"},{"id":1,"value":"baz"}]"#)]),
            ex("##### On objects\n\nExploding objects results in an object where the keys match the target object, and the values match the original document but with the target field replaced by the exploded value:", "root = this.explode(\"value\")", &[(r#"{"id":1,"value":{"foo":2,"bar":[3,4],"baz":{"bev":5}}}"#, r#"{"bar":{"id":1,"value":[3,4]},"baz":{"id":1,"value":{"bev":5}},"foo":{"id":1,"value":2}}"#)]),
        ],
        imp: explode,
    },
    MethodSpec {
        name: "find",
        category: CAT,
        description: "Returns the index of the first occurrence of a value in an array. `-1` is returned if there are no matches.",
        params: &[req("value", K::Any, "A value to find.")],
        examples: &[
            ex("", r#"root.index = this.find("bar")"#, &[(r#"["foo", "bar", "baz"]"#, r#"{"index":1}"#)]),
            ex("", "root.index = this.things.find(this.goal)", &[(r#"{"goal":"bar","things":["foo", "bar", "baz"]}"#, r#"{"index":1}"#)]),
        ],
        imp: find,
    },
    MethodSpec {
        name: "find_all",
        category: CAT,
        description: "Returns an array containing the indexes of all occurrences of a value in an array. An empty array is returned if there are no matches.",
        params: &[req("value", K::Any, "A value to find.")],
        examples: &[
            ex("", r#"root.index = this.find_all("bar")"#, &[(r#"["foo", "bar", "baz", "bar"]"#, r#"{"index":[1,3]}"#)]),
            ex("", "root.indexes = this.things.find_all(this.goal)", &[(r#"{"goal":"bar","things":["foo", "bar", "baz", "bar", "buz"]}"#, r#"{"indexes":[1,3]}"#)]),
        ],
        imp: find_all,
    },
    MethodSpec {
        name: "flatten",
        category: CAT,
        description: "Iterates an array and any element that is itself an array is removed and has its elements inserted directly in the resulting array.",
        params: &[],
        examples: &[ex("", "root.result = this.flatten()", &[(r#"["foo",["bar","baz"],"buz"]"#, r#"{"result":["foo","bar","baz","buz"]}"#)])],
        imp: flatten,
    },
    MethodSpec {
        name: "get",
        category: CAT,
        description: "Extract a field value, identified via a dot path, from an object.",
        params: &[req("path", K::String, "A dot path identifying a field to obtain.")],
        examples: &[ex("", "root.result = this.foo.get(this.target)", &[
            (r#"{"foo":{"bar":"from bar","baz":"from baz"},"target":"bar"}"#, r#"{"result":"from bar"}"#),
            (r#"{"foo":{"bar":"from bar","baz":"from baz"},"target":"baz"}"#, r#"{"result":"from baz"}"#),
        ])],
        imp: get,
    },
    MethodSpec {
        name: "set",
        category: CAT,
        description: "Set a field value, identified via a dot path, within an object or array, returning the modified value.",
        params: &[
            req("path", K::String, "A dot path identifying a field to set."),
            req("value", K::Any, "The value to set."),
        ],
        examples: &[
            ex("", "root = this.set(\"nested.field\", \"foo\")", &[(r#"{"bar":"value"}"#, r#"{"bar":"value","nested":{"field":"foo"}}"#)]),
            ex("", "root = this.set(\"field\", \"foo\").set(\"another_field\", \"data\")", &[(r#"{"bar":"value"}"#, r#"{"another_field":"data","bar":"value","field":"foo"}"#)]),
            ex("", "root = this.set(\"arr.0\", \"foo\")", &[(r#"{"bar":"value", "arr": ["value"]}"#, r#"{"arr":["foo"],"bar":"value"}"#)]),
        ],
        imp: set,
    },
    MethodSpec {
        name: "index",
        category: CAT,
        description: "Extract an element from an array by an index. The index can be negative, and if so the element will be selected from the end counting backwards starting from -1.",
        params: &[req("index", K::Int, "The index to obtain from an array.")],
        examples: &[
            ex("", "root.last_name = this.names.index(-1)", &[(r#"{"names":["rachel","stevens"]}"#, r#"{"last_name":"stevens"}"#)]),
            ex("It is also possible to use this method on byte arrays, in which case the selected element will be returned as an integer.", "root.last_byte = this.name.bytes().index(-1)", &[(r#"{"name":"foobar bazson"}"#, r#"{"last_byte":110}"#)]),
        ],
        imp: index,
    },
    MethodSpec {
        name: "join",
        category: CAT,
        description: "Join an array of strings with an optional delimiter into a single string.",
        params: &[opt("delimiter", K::String, D::Optional, "An optional delimiter to add between each string.")],
        examples: &[ex("", "root.joined_words = this.words.join()\nroot.joined_numbers = this.numbers.map_each(this.string()).join(\",\")", &[(r#"{"words":["hello","world"],"numbers":[3,8,11]}"#, r#"{"joined_numbers":"3,8,11","joined_words":"helloworld"}"#)])],
        imp: join,
    },
    MethodSpec {
        name: "key_values",
        category: CAT,
        description: "Returns the key/value pairs of an object as an array, where each element is an object with a `key` field and a `value` field.",
        params: &[],
        examples: &[ex("", "root.foo_key_values = this.foo.key_values().sort_by(pair -> pair.key)", &[(r#"{"foo":{"bar":1,"baz":2}}"#, r#"{"foo_key_values":[{"key":"bar","value":1},{"key":"baz","value":2}]}"#)])],
        imp: key_values,
    },
    MethodSpec {
        name: "keys",
        category: CAT,
        description: "Returns the keys of an object as an array.",
        params: &[],
        examples: &[ex("", "root.foo_keys = this.foo.keys()", &[(r#"{"foo":{"bar":1,"baz":2}}"#, r#"{"foo_keys":["bar","baz"]}"#)])],
        imp: keys,
    },
    MethodSpec {
        name: "values",
        category: CAT,
        description: "Returns the values of an object as an array.",
        params: &[],
        examples: &[ex("", "root.foo_vals = this.foo.values().sort()", &[(r#"{"foo":{"bar":1,"baz":2}}"#, r#"{"foo_vals":[1,2]}"#)])],
        imp: values,
    },
    MethodSpec {
        name: "sort",
        category: CAT,
        description: "Attempts to sort the values of an array in increasing order. The type of all values must match in order for the ordering to succeed. Supports string and number values.",
        params: &[],
        examples: &[ex("", "root.sorted = this.foo.sort()", &[(r#"{"foo":["bbb","ccc","aaa"]}"#, r#"{"sorted":["aaa","bbb","ccc"]}"#)])],
        imp: sort,
    },
    MethodSpec {
        name: "squash",
        category: CAT,
        description: "Squashes an array of objects into a single object, where key collisions result in the values being merged (following similar rules as the `.merge()` method)",
        params: &[],
        examples: &[ex("", "root.locations = this.locations.map_each(loc -> {loc.state: [loc.name]}).squash()", &[(r#"{"locations":[{"name":"Seattle","state":"WA"},{"name":"New York","state":"NY"},{"name":"Bellevue","state":"WA"},{"name":"Olympia","state":"WA"}]}"#, r#"{"locations":{"NY":["New York"],"WA":["Seattle","Bellevue","Olympia"]}}"#)])],
        imp: squash,
    },
    MethodSpec {
        name: "sum",
        category: CAT,
        description: "Sum the numerical values of an array.",
        params: &[],
        examples: &[ex("", "root.sum = this.foo.sum()", &[(r#"{"foo":[3,8,4]}"#, r#"{"sum":15}"#)])],
        imp: sum,
    },
    MethodSpec {
        name: "unique",
        category: CAT,
        description: "Attempts to remove duplicate values from an array. The array may contain a combination of different value types, but numbers and strings that are equivalent will be considered duplicates.",
        params: &[],
        examples: &[ex("", "root.uniques = this.foo.unique()", &[(r#"{"foo":["a","b","a","c"]}"#, r#"{"uniques":["a","b","c"]}"#)])],
        imp: unique,
    },
    MethodSpec {
        name: "with",
        category: CAT,
        description: "Returns an object where all but one or more field path arguments are removed. Each path specifies a specific field to be retained from the input object, allowing for nested fields.",
        params: &[],
        examples: &[ex("", "root = this.with(\"inner.a\",\"inner.c\",\"d\")", &[(r#"{"inner":{"a":"first","b":"second","c":"third"},"d":"fourth","e":"fifth"}"#, r#"{"d":"fourth","inner":{"a":"first","c":"third"}}"#)])],
        imp: with,
    },
    MethodSpec {
        name: "without",
        category: CAT,
        description: "Returns an object where one or more field path arguments are removed. Each path specifies a specific field to be deleted from the input object, allowing for nested fields.",
        params: &[],
        examples: &[ex("", "root = this.without(\"inner.a\",\"inner.c\",\"d\")", &[(r#"{"inner":{"a":"first","b":"second","c":"third"},"d":"fourth","e":"fifth"}"#, r#"{"e":"fifth","inner":{"b":"second"}}"#)])],
        imp: without,
    },
    MethodSpec {
        name: "zip",
        category: CAT,
        description: "Zip an array value with one or more argument arrays. Each array must match in length.",
        params: &[],
        examples: &[ex("", "root.foo = this.foo.zip(this.bar, this.baz)", &[(r#"{"foo":["a","b","c"],"bar":[1,2,3],"baz":[4,5,6]}"#, r#"{"foo":[["a",1,4],["b",2,5],["c",3,6]]}"#)])],
        imp: zip,
    },
];

/// Split a Bento dot path into segments (`~1` stands for `.`, `~0` for `~`).
pub fn dot_path(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.split('.')
        .map(|s| s.replace("~1", ".").replace("~0", "~"))
        .collect()
}

pub fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(o) => o.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Set a value at a path, creating objects as needed. Fails when the path crosses a scalar or an
/// array with a bad index.
pub fn set_path(target: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *target = value;
        return Ok(());
    };
    if target.is_null() {
        *target = Value::Object(Object::new());
    }
    match target {
        Value::Object(o) => {
            let child = o.entry(first.clone()).or_insert(Value::Null);
            set_path(child, rest, value)
        }
        Value::Array(a) => {
            let len = a.len();
            let child = first
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get_mut(i))
                .ok_or_else(|| {
                    format!("failed to resolve path segment '{first}': index out of bounds for array of length {len}")
                })?;
            set_path(child, rest, value)
        }
        other => Err(format!(
            "failed to resolve path segment '{first}': expected object or array, got {}",
            other.type_name()
        )),
    }
}

fn delete_path(target: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    // Like Bento's `without`, only objects are descended into.
    if let Value::Object(o) = target {
        if rest.is_empty() {
            o.remove(first);
        } else if let Some(c) = o.get_mut(first) {
            delete_path(c, rest);
        }
    }
}

fn append(v: &Value, args: &[Value]) -> Result<Value, String> {
    let mut a = get_array(v)?.clone();
    a.extend(args.iter().cloned());
    Ok(Value::Array(a))
}

/// Bento's merge semantics (gabs `Merge`): objects merge recursively, colliding values become
/// arrays with array values expanded.
pub fn merge_values(dst: Value, src: Value) -> Value {
    match (dst, src) {
        (Value::Object(mut d), Value::Object(s)) => {
            for (k, sv) in s {
                let nv = match d.remove(&k) {
                    Some(dv) => merge_values(dv, sv),
                    None => sv,
                };
                d.insert(k, nv);
            }
            Value::Object(d)
        }
        (Value::Array(mut d), Value::Array(s)) => {
            d.extend(s);
            Value::Array(d)
        }
        (Value::Array(mut d), s) => {
            d.push(s);
            Value::Array(d)
        }
        (d, Value::Array(s)) => {
            let mut out = vec![d];
            out.extend(s);
            Value::Array(out)
        }
        (d, s) => Value::Array(vec![d, s]),
    }
}

/// Bento's `assign`: objects merge recursively and the source wins any other collision.
fn assign_values(dst: Value, src: Value) -> Value {
    match (dst, src) {
        (Value::Object(mut d), Value::Object(s)) => {
            for (k, sv) in s {
                let nv = match d.remove(&k) {
                    Some(dv) => assign_values(dv, sv),
                    None => sv,
                };
                d.insert(k, nv);
            }
            Value::Object(d)
        }
        (_, s) => s,
    }
}

/// The shared shape of `merge` and `assign`: an array target gets the source appended (array
/// sources are expanded), an object target is merged with an object source (other sources
/// leave it unchanged), anything else is an error.
fn merge_like(v: &Value, with: &Value, f: fn(Value, Value) -> Value) -> Result<Value, String> {
    match (v, with) {
        (Value::Array(a), Value::Array(b)) => {
            let mut out = a.clone();
            out.extend(b.iter().cloned());
            Ok(Value::Array(out))
        }
        (Value::Array(a), other) => {
            let mut out = a.clone();
            out.push(other.clone());
            Ok(Value::Array(out))
        }
        (Value::Object(_), Value::Object(_)) => Ok(f(v.clone(), with.clone())),
        (Value::Object(_), _) => Ok(v.clone()),
        (other, _) => Err(type_error(other, &["object", "array"])),
    }
}

fn assign(v: &Value, args: &[Value]) -> Result<Value, String> {
    merge_like(v, arg(args, 0), assign_values)
}

fn merge(v: &Value, args: &[Value]) -> Result<Value, String> {
    merge_like(v, arg(args, 0), merge_values)
}

fn collapse_into(prefix: &str, v: &Value, include_empty: bool, out: &mut Object) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, c) in o {
                collapse_into(&key(k), c, include_empty, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                collapse_into(&key(&i.to_string()), c, include_empty, out);
            }
        }
        Value::Object(_) | Value::Array(_) => {
            if include_empty {
                out.insert(prefix.to_string(), v.clone());
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn collapse(v: &Value, args: &[Value]) -> Result<Value, String> {
    let include_empty = arg_bool(args, 0, false)?;
    let mut out = Object::new();
    match v {
        Value::Object(_) | Value::Array(_) => collapse_into("", v, include_empty, &mut out),
        other => return Err(type_error(other, &["object", "array"])),
    }
    Ok(Value::Object(out))
}

fn concat(v: &Value, args: &[Value]) -> Result<Value, String> {
    let mut a = get_array(v)?.clone();
    for x in args {
        a.extend(get_array(x)?.iter().cloned());
    }
    Ok(Value::Array(a))
}

fn enumerated(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Array(
        get_array(v)?
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut o = Object::new();
                o.insert("index".into(), Value::Int(i as i64));
                o.insert("value".into(), e.clone());
                Value::Object(o)
            })
            .collect(),
    ))
}

fn explode(v: &Value, args: &[Value]) -> Result<Value, String> {
    let path_str = arg_str(args, 0)?;
    let path = dot_path(&path_str);
    get_object(v)?;
    let target = get_path(v, &path).unwrap_or(&Value::Null);
    match target {
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for e in a {
                let mut copy = v.clone();
                set_path(&mut copy, &path, e.clone())?;
                out.push(copy);
            }
            Ok(Value::Array(out))
        }
        Value::Object(o) => {
            let mut out = Object::new();
            for (k, e) in o {
                let mut copy = v.clone();
                set_path(&mut copy, &path, e.clone())?;
                out.insert(k.clone(), copy);
            }
            Ok(Value::Object(out))
        }
        other => Err(format!(
            "expected array or object value at path '{path_str}', found: {}",
            other.type_name()
        )),
    }
}

fn find(v: &Value, args: &[Value]) -> Result<Value, String> {
    let needle = arg(args, 0);
    Ok(Value::Int(
        get_array(v)?
            .iter()
            .position(|e| values_equal(e, needle))
            .map_or(-1, |i| i as i64),
    ))
}

fn find_all(v: &Value, args: &[Value]) -> Result<Value, String> {
    let needle = arg(args, 0);
    Ok(Value::Array(
        get_array(v)?
            .iter()
            .enumerate()
            .filter(|(_, e)| values_equal(e, needle))
            .map(|(i, _)| Value::Int(i as i64))
            .collect(),
    ))
}

fn flatten(v: &Value, _: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for e in get_array(v)? {
        match e {
            Value::Array(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Ok(Value::Array(out))
}

fn get(v: &Value, args: &[Value]) -> Result<Value, String> {
    let path = dot_path(&arg_str(args, 0)?);
    Ok(get_path(v, &path).cloned().unwrap_or(Value::Null))
}

fn set(v: &Value, args: &[Value]) -> Result<Value, String> {
    let path = dot_path(&arg_str(args, 0)?);
    let mut out = v.clone();
    set_path(&mut out, &path, arg(args, 1).clone())?;
    Ok(out)
}

fn index(v: &Value, args: &[Value]) -> Result<Value, String> {
    let i = arg_int(args, 0)?;
    let len = match v {
        Value::Array(a) => a.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(type_error(other, &["array"])),
    } as i64;
    let idx = if i < 0 { len + i } else { i };
    if idx < 0 || idx >= len {
        return Err(format!(
            "index '{idx}' was out of bounds for array size: {len}"
        ));
    }
    Ok(match v {
        Value::Array(a) => a[idx as usize].clone(),
        Value::Bytes(b) => Value::Int(b[idx as usize] as i64),
        _ => Value::Null,
    })
}

fn join(v: &Value, args: &[Value]) -> Result<Value, String> {
    let delim = arg_opt_str(args, 0)?.unwrap_or_default();
    let arr = get_array(v)?;
    let mut out = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(delim.as_bytes());
        }
        let b = str_or_bytes(e).map_err(|e| format!("failed to join element {i}: {e}"))?;
        out.extend_from_slice(&b);
    }
    Ok(Value::String(String::from_utf8_lossy(&out).into_owned()))
}

fn key_values(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Array(
        get_object(v)?
            .iter()
            .map(|(k, e)| {
                let mut o = Object::new();
                o.insert("key".into(), Value::String(k.clone()));
                o.insert("value".into(), e.clone());
                Value::Object(o)
            })
            .collect(),
    ))
}

fn keys(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Array(
        get_object(v)?
            .keys()
            .map(|k| Value::String(k.clone()))
            .collect(),
    ))
}

fn values(v: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(Value::Array(get_object(v)?.values().cloned().collect()))
}

fn sort(v: &Value, _: &[Value]) -> Result<Value, String> {
    let arr = get_array(v)?;
    if arr
        .iter()
        .all(|e| matches!(e, Value::Int(_) | Value::Float(_)))
    {
        let mut out = arr.clone();
        out.sort_by(|a, b| {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
        });
        return Ok(Value::Array(out));
    }
    if arr
        .iter()
        .all(|e| matches!(e, Value::String(_) | Value::Bytes(_)))
    {
        let mut out = arr.clone();
        out.sort_by_key(to_bytes);
        return Ok(Value::Array(out));
    }
    let first = arr.first().unwrap_or(&Value::Null);
    let expected: &[&str] = match first {
        Value::Int(_) | Value::Float(_) => &["number"],
        _ => &["string"],
    };
    for e in arr {
        let ok = match expected[0] {
            "number" => matches!(e, Value::Int(_) | Value::Float(_)),
            _ => matches!(e, Value::String(_) | Value::Bytes(_)),
        };
        if !ok {
            return Err(type_error(e, expected));
        }
    }
    Ok(Value::Array(arr.clone()))
}

fn squash(v: &Value, _: &[Value]) -> Result<Value, String> {
    // Like gabs' Merge, elements that are not objects are ignored.
    let mut out = Value::Object(Object::new());
    for e in get_array(v)? {
        if let Value::Object(_) = e {
            out = merge_values(out, e.clone());
        }
    }
    Ok(out)
}

fn sum(v: &Value, _: &[Value]) -> Result<Value, String> {
    let arr = match v {
        Value::Int(_) | Value::Float(_) => return Ok(v.clone()),
        other => get_array(other)?,
    };
    let mut int_sum: Option<i64> = Some(0);
    let mut f = 0.0;
    for (i, e) in arr.iter().enumerate() {
        match e {
            Value::Int(n) => {
                int_sum = int_sum.and_then(|s| s.checked_add(*n));
                f += *n as f64;
            }
            Value::Float(x) => {
                int_sum = None;
                f += x;
            }
            other => return Err(format!("index {i}: {}", type_error(other, &["number"]))),
        }
    }
    Ok(int_sum.map_or(Value::Float(f), Value::Int))
}

/// Strings (and bytes) and numbers are deduplicated separately: `"5"` differs from `5`.
fn unique(v: &Value, _: &[Value]) -> Result<Value, String> {
    let arr = get_array(v)?;
    let mut strs = std::collections::HashSet::new();
    let mut nums: Vec<f64> = Vec::new();
    let mut out: Vec<Value> = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        let is_new = match e {
            Value::String(s) => strs.insert(s.as_bytes().to_vec()),
            Value::Bytes(b) => strs.insert(b.clone()),
            Value::Int(_) | Value::Float(_) => {
                let n = e.as_f64().unwrap_or(0.0);
                if nums.contains(&n) {
                    false
                } else {
                    nums.push(n);
                    true
                }
            }
            other => {
                return Err(format!(
                    "index {i}: {}",
                    type_error(other, &["string", "number"])
                ))
            }
        };
        if is_new {
            out.push(e.clone());
        }
    }
    Ok(Value::Array(out))
}

fn variadic_paths(args: &[Value]) -> Result<Vec<Vec<String>>, String> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            get_str(a)
                .map(|s| dot_path(&s))
                .map_err(|e| format!("argument {i}: {e}"))
        })
        .collect()
}

/// Bento's `mapWith`: keep keys named by a path; nested paths only filter nested objects.
fn map_with(m: &Object, paths: &[&[String]]) -> Object {
    let mut out = Object::new();
    for (k, v) in m {
        let mut included = false;
        let mut nested: Vec<&[String]> = Vec::new();
        for p in paths {
            if p.first() == Some(k) {
                included = true;
                if p.len() > 1 {
                    nested.push(&p[1..]);
                }
            }
        }
        if !included {
            continue;
        }
        match v {
            Value::Object(inner) if !nested.is_empty() => {
                out.insert(k.clone(), Value::Object(map_with(inner, &nested)));
            }
            other => {
                out.insert(k.clone(), other.clone());
            }
        }
    }
    out
}

fn with(v: &Value, args: &[Value]) -> Result<Value, String> {
    let obj = get_object(v)?;
    let paths = variadic_paths(args)?;
    let refs: Vec<&[String]> = paths
        .iter()
        .filter(|p| !p.is_empty())
        .map(Vec::as_slice)
        .collect();
    Ok(Value::Object(map_with(obj, &refs)))
}

fn without(v: &Value, args: &[Value]) -> Result<Value, String> {
    get_object(v)?;
    let mut out = v.clone();
    for p in variadic_paths(args)? {
        delete_path(&mut out, &p);
    }
    Ok(out)
}

fn zip(v: &Value, args: &[Value]) -> Result<Value, String> {
    let base = get_array(v)?;
    if args.is_empty() {
        return Err("zip requires at least one argument".into());
    }
    let mut others = Vec::with_capacity(args.len());
    for a in args {
        let arr = get_array(a)?;
        if arr.len() != base.len() {
            return Err("can't zip different length array values".into());
        }
        others.push(arr);
    }
    Ok(Value::Array(
        base.iter()
            .enumerate()
            .map(|(i, e)| {
                let mut row = vec![e.clone()];
                row.extend(others.iter().map(|o| o[i].clone()));
                Value::Array(row)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::{j, s};

    #[test]
    fn documented() {
        assert_eq!(
            append(&j(r#"["bar","baz"]"#), &[s("and"), s("this")]).unwrap(),
            j(r#"["bar","baz","and","this"]"#)
        );
        let foo = j(r#"{"first_name":"fooer","likes":"bars"}"#);
        let bar = j(r#"{"second_name":"barer","likes":"foos"}"#);
        assert_eq!(
            assign(&foo, std::slice::from_ref(&bar)).unwrap(),
            j(r#"{"first_name":"fooer","likes":"foos","second_name":"barer"}"#)
        );
        assert_eq!(
            merge(&foo, &[bar]).unwrap(),
            j(r#"{"first_name":"fooer","likes":["bars","foos"],"second_name":"barer"}"#)
        );
        let c = j(r#"{"foo":[{"bar":"1"},{"bar":{}},{"bar":"2"},{"bar":[]}]}"#);
        assert_eq!(
            collapse(&c, &[Value::Bool(false)]).unwrap(),
            j(r#"{"foo.0.bar":"1","foo.2.bar":"2"}"#)
        );
        assert_eq!(
            collapse(&c, &[Value::Bool(true)]).unwrap(),
            j(r#"{"foo.0.bar":"1","foo.1.bar":{},"foo.2.bar":"2","foo.3.bar":[]}"#)
        );
        assert_eq!(
            concat(&j(r#"["a","b"]"#), &[j(r#"["c"]"#), j(r#"["d","e","f"]"#)]).unwrap(),
            j(r#"["a","b","c","d","e","f"]"#)
        );
        assert_eq!(
            enumerated(&j(r#"["bar","baz"]"#), &[]).unwrap(),
            j(r#"[{"index":0,"value":"bar"},{"index":1,"value":"baz"}]"#)
        );
        assert_eq!(
            explode(&j(r#"{"id":1,"value":["foo","bar","baz"]}"#), &[s("value")]).unwrap(),
            j(r#"[{"id":1,"value":"foo"},{"id":1,"value":"bar"},{"id":1,"value":"baz"}]"#)
        );
        assert_eq!(
            explode(
                &j(r#"{"id":1,"value":{"foo":2,"bar":[3,4],"baz":{"bev":5}}}"#),
                &[s("value")]
            )
            .unwrap(),
            j(
                r#"{"bar":{"id":1,"value":[3,4]},"baz":{"id":1,"value":{"bev":5}},"foo":{"id":1,"value":2}}"#
            )
        );
        assert!(explode(&j(r#"{"value":1}"#), &[s("value")]).is_err());
        assert_eq!(
            find(&j(r#"["foo","bar","baz"]"#), &[s("bar")]).unwrap(),
            Value::Int(1)
        );
        assert_eq!(find(&j(r#"["foo"]"#), &[s("bar")]).unwrap(), Value::Int(-1));
        assert_eq!(
            find_all(&j(r#"["foo","bar","baz","bar"]"#), &[s("bar")]).unwrap(),
            j("[1,3]")
        );
        assert_eq!(
            flatten(&j(r#"["foo",["bar","baz"],"buz"]"#), &[]).unwrap(),
            j(r#"["foo","bar","baz","buz"]"#)
        );
        assert_eq!(
            get(
                &j(r#"{"bar":"from bar","baz":{"x":[1,2]}}"#),
                &[s("baz.x.1")]
            )
            .unwrap(),
            Value::Int(2)
        );
        assert_eq!(
            get(&j(r#"{"bar":"from bar"}"#), &[s("nope.x")]).unwrap(),
            Value::Null
        );
        assert_eq!(
            set(&j(r#"{"bar":"value"}"#), &[s("nested.field"), s("foo")]).unwrap(),
            j(r#"{"bar":"value","nested":{"field":"foo"}}"#)
        );
        assert_eq!(
            set(
                &j(r#"{"bar":"value","arr":["value"]}"#),
                &[s("arr.0"), s("foo")]
            )
            .unwrap(),
            j(r#"{"arr":["foo"],"bar":"value"}"#)
        );
        assert_eq!(
            index(&j(r#"["rachel","stevens"]"#), &[Value::Int(-1)]).unwrap(),
            s("stevens")
        );
        assert_eq!(
            index(&Value::Bytes(b"foobar bazson".to_vec()), &[Value::Int(-1)]).unwrap(),
            Value::Int(110)
        );
        assert_eq!(
            index(&j("[1]"), &[Value::Int(3)]).unwrap_err(),
            "index '3' was out of bounds for array size: 1"
        );
        assert_eq!(
            assign(
                &j(r#"{"a":[1],"b":{"c":1}}"#),
                &[j(r#"{"a":[2],"b":{"d":2}}"#)]
            )
            .unwrap(),
            j(r#"{"a":[2],"b":{"c":1,"d":2}}"#)
        );
        assert_eq!(merge(&j("[1]"), &[j("[2,3]")]).unwrap(), j("[1,2,3]"));
        assert_eq!(merge(&j("[1]"), &[j("{}")]).unwrap(), j("[1,{}]"));
        assert_eq!(merge(&j(r#"{"a":1}"#), &[j("5")]).unwrap(), j(r#"{"a":1}"#));
        assert!(merge(&j("5"), &[j("{}")]).is_err());
        assert_eq!(
            join(&j(r#"["hello","world"]"#), &[Value::Null]).unwrap(),
            s("helloworld")
        );
        assert_eq!(join(&j(r#"["3","8"]"#), &[s(",")]).unwrap(), s("3,8"));
        assert!(join(&j("[1]"), &[Value::Null])
            .unwrap_err()
            .starts_with("failed to join element 0"));
        assert_eq!(
            key_values(&j(r#"{"bar":1,"baz":2}"#), &[]).unwrap(),
            j(r#"[{"key":"bar","value":1},{"key":"baz","value":2}]"#)
        );
        assert_eq!(
            keys(&j(r#"{"bar":1,"baz":2}"#), &[]).unwrap(),
            j(r#"["bar","baz"]"#)
        );
        assert_eq!(values(&j(r#"{"bar":1,"baz":2}"#), &[]).unwrap(), j("[1,2]"));
        assert_eq!(
            sort(&j(r#"["bbb","ccc","aaa"]"#), &[]).unwrap(),
            j(r#"["aaa","bbb","ccc"]"#)
        );
        assert_eq!(sort(&j("[3,1.5,2]"), &[]).unwrap(), j("[1.5,2,3]"));
        assert!(sort(&j(r#"[3,"a"]"#), &[]).is_err());
        assert_eq!(
            squash(&j(r#"[{"WA":["Seattle"]},{"NY":["New York"]},{"WA":["Bellevue"]},{"WA":["Olympia"]}]"#), &[]).unwrap(),
            j(r#"{"NY":["New York"],"WA":["Seattle","Bellevue","Olympia"]}"#)
        );
        assert!(matches!(sum(&j("[3,8,4]"), &[]).unwrap(), Value::Int(15)));
        assert_eq!(sum(&j("[1.5,1]"), &[]).unwrap(), Value::Float(2.5));
        assert_eq!(
            unique(&j(r#"["a","b","a","c"]"#), &[]).unwrap(),
            j(r#"["a","b","c"]"#)
        );
        assert_eq!(
            unique(&j(r#"[5,"5",5.0,"5"]"#), &[]).unwrap(),
            j(r#"[5,"5"]"#)
        );
        assert!(unique(&j(r#"[{}]"#), &[])
            .unwrap_err()
            .starts_with("index 0: expected string or number value"));
        assert_eq!(sum(&Value::Int(3), &[]).unwrap(), Value::Int(3));
        assert!(sum(&j(r#"[1,"a"]"#), &[])
            .unwrap_err()
            .starts_with("index 1: expected number value"));
        let w = j(r#"{"inner":{"a":"first","b":"second","c":"third"},"d":"fourth","e":"fifth"}"#);
        assert_eq!(
            with(&w, &[s("inner.a"), s("inner.c"), s("d")]).unwrap(),
            j(r#"{"d":"fourth","inner":{"a":"first","c":"third"}}"#)
        );
        assert_eq!(
            without(&w, &[s("inner.a"), s("inner.c"), s("d")]).unwrap(),
            j(r#"{"e":"fifth","inner":{"b":"second"}}"#)
        );
        assert_eq!(
            zip(&j(r#"["a","b","c"]"#), &[j("[1,2,3]"), j("[4,5,6]")]).unwrap(),
            j(r#"[["a",1,4],["b",2,5],["c",3,6]]"#)
        );
        assert!(zip(&j("[1]"), &[j("[1,2]")]).is_err());
    }
}
