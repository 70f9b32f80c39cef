//! General and environment functions, and the password hash comparison methods.

use rand::{Rng, SeedableRng};

use super::helpers::*;
use super::{FunctionSpec, MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::Value;

pub static FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "env",
        category: "Environment",
        description: "Returns the value of an environment variable, or `null` if the environment variable does not exist.",
        params: &[
            req("name", K::String, "The name of an environment variable."),
            opt("no_cache", K::Bool, D::Bool(false), "Force the variable lookup to occur for each mapping invocation."),
        ],
        examples: &[ex_skip("", "root.thing.key = env(\"key\").or(\"default value\")", &[])],
        imp: env,
    },
    FunctionSpec {
        name: "hostname",
        category: "Environment",
        description: "Returns a string matching the hostname of the machine running Bento.",
        params: &[],
        examples: &[ex_skip("", "root.thing.host = hostname()", &[])],
        imp: hostname,
    },
    FunctionSpec {
        name: "uuid_v4",
        category: "General",
        description: "Generates a new RFC-4122 UUID each time it is invoked and prints a string representation.",
        params: &[],
        examples: &[ex_skip("", "root.id = uuid_v4()", &[])],
        imp: uuid_v4,
    },
    FunctionSpec {
        name: "nanoid",
        category: "General",
        description: "Generates a new nanoid each time it is invoked and prints a string representation.",
        params: &[
            opt("length", K::Int, D::Optional, "An optional length."),
            opt("alphabet", K::String, D::Optional, "An optional custom alphabet to use for generating IDs. When specified the field `length` must also be present."),
        ],
        examples: &[
            ex_skip("", "root.id = nanoid()", &[]),
            ex_skip("It is possible to specify an optional length parameter.", "root.id = nanoid(54)", &[]),
            ex_skip("It is also possible to specify an optional custom alphabet after the length parameter.", "root.id = nanoid(54, \"abcde\")", &[]),
        ],
        imp: nanoid,
    },
    FunctionSpec {
        name: "ulid",
        category: "General",
        description: "Generate a random ULID.",
        params: &[
            opt("encoding", K::String, D::Str("crockford"), "The format to encode a ULID into. Valid options are: crockford, hex"),
            opt("random_source", K::String, D::Str("secure_random"), "The source of randomness to use for generating ULIDs. \"secure_random\" is recommended for most use cases. \"fast_random\" can be used if security is not a concern, but is not safe for concurrent use."),
        ],
        examples: &[
            ex_skip("Using the defaults of Crockford Base32 encoding and secure random source", "root.id = ulid()", &[]),
            ex_skip("ULIDs can be hex-encoded too.", "root.id = ulid(\"hex\")", &[]),
        ],
        imp: ulid,
    },
    FunctionSpec {
        name: "random_int",
        category: "General",
        description: "Generates a non-negative pseudo-random 64-bit integer. An optional integer argument can be provided in order to seed the random number generator. Optional `min` and `max` arguments can be provided in order to only generate numbers within a range.",
        params: &[
            opt("seed", K::Int, D::Optional, "A seed to use, if a query is provided it will only be resolved once during the lifetime of the mapping."),
            opt("min", K::Int, D::Int(0), "The minimum value the random generated number will have. The default value is 0."),
            opt("max", K::Int, D::Int(i64::MAX - 1), "The maximum value the random generated number will have. The default value is 9223372036854775806 (math.MaxInt64 - 1)."),
        ],
        examples: &[
            ex_skip("", "root.first = random_int()\nroot.second = random_int(1)\nroot.third = random_int(max:20)\nroot.fourth = random_int(min:10, max:20)\nroot.fifth = random_int(timestamp_unix_nano(), 5, 20)\nroot.sixth = random_int(seed:timestamp_unix_nano(), max:20)\n", &[]),
        ],
        imp: random_int,
    },
    FunctionSpec {
        name: "cosine_similarity",
        category: "General",
        description: "Computes the cosine similarity between two numeric vectors (arrays of the same length).",
        params: &[
            req("a", K::Array, "The first vector."),
            req("b", K::Array, "The second vector."),
        ],
        examples: &[
            ex("", "root.similarity = cosine_similarity([1, 2, 3], [2, 4, 6])", &[("{}", r#"{"similarity":1}"#)]),
            ex("", "root.similarity = cosine_similarity([1, 0], [0, 1])", &[("{}", r#"{"similarity":0}"#)]),
        ],
        imp: cosine_similarity,
    },
];

pub static FILE_FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "file",
        category: "Environment",
        description: "Reads a file and returns its contents. Relative paths are resolved from the directory of the process executing the mapping.",
        params: &[
            req("path", K::String, "The path of the target file."),
            opt("no_cache", K::Bool, D::Bool(false), "Whether to bypass the cache (files are read on every call here)."),
        ],
        examples: &[ex_skip("", "root.doc = file(env(\"BENTO_TEST_BLOBLANG_FILE\")).parse_json()", &[])],
        imp: file,
    },
    FunctionSpec {
        name: "file_rel",
        category: "Environment",
        description: "Reads a file and returns its contents. Relative paths are resolved from the directory of the mapping; where that is unknown, from the working directory.",
        params: &[
            req("path", K::String, "The path of the target file."),
            opt("no_cache", K::Bool, D::Bool(false), "Whether to bypass the cache (files are read on every call here)."),
        ],
        examples: &[ex_skip("", "root.doc = file_rel(env(\"BENTO_TEST_BLOBLANG_FILE\")).parse_json()", &[])],
        imp: file,
    },
    FunctionSpec {
        name: "file_rel_json",
        category: "Environment",
        description: "Reads a file and parses its contents as JSON. Relative paths are resolved from the directory of the mapping; where that is unknown, from the working directory.",
        params: &[req("path", K::String, "The path of the target file.")],
        examples: &[ex_skip("", "root.doc = file_rel_json(env(\"BENTO_TEST_BLOBLANG_FILE\"))", &[])],
        imp: file_json,
    },
    FunctionSpec {
        name: "snowflake_id",
        category: "General",
        description: "Generate a new snowflake ID each time it is invoked and prints a string representation. I.e.: 1559229974454472704",
        params: &[opt("node_id", K::Int, D::Int(1), "It is possible to specify the node_id.")],
        examples: &[
            ex_skip("", "root.id = snowflake_id()", &[]),
            ex_skip("It is possible to specify the node_id.", "root.id = snowflake_id(2)", &[]),
        ],
        imp: snowflake_id,
    },
    FunctionSpec {
        name: "ksuid",
        category: "General",
        description: "Generates a new ksuid each time it is invoked and prints a string representation.",
        params: &[],
        examples: &[ex_skip("", "root.id = ksuid()", &[])],
        imp: ksuid,
    },
];

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "compare_bcrypt",
        category: "String Manipulation",
        description: "Checks whether a string matches a hashed secret using bcrypt.",
        params: &[req("hashed_secret", K::String, "The hashed secret value to compare with the input.")],
        examples: &[ex("", "root.match = this.secret.compare_bcrypt(\"$2y$10$Dtnt5NNzVtMCOZONT705tOcS8It6krJX8bEjnDJnwxiFKsz1C.3Ay\")", &[
            (r#"{"secret":"there-are-many-blobs-in-the-sea"}"#, r#"{"match":true}"#),
            (r#"{"secret":"will-i-ever-find-love"}"#, r#"{"match":false}"#),
        ])],
        imp: compare_bcrypt,
    },
    MethodSpec {
        name: "compare_argon2",
        category: "String Manipulation",
        description: "Checks whether a string matches a hashed secret using Argon2.",
        params: &[req("hashed_secret", K::String, "The hashed secret to compare with the input. This must be a fully-qualified string which encodes the Argon2 options used to generate the hash.")],
        examples: &[ex("", "root.match = this.secret.compare_argon2(\"$argon2id$v=19$m=4096,t=3,p=1$c2FsdHktbWNzYWx0ZmFjZQ$RMUMwgtS32/mbszd+ke4o4Ej1jFpYiUqY6MHWa69X7Y\")", &[
            (r#"{"secret":"there-are-many-blobs-in-the-sea"}"#, r#"{"match":true}"#),
            (r#"{"secret":"will-i-ever-find-love"}"#, r#"{"match":false}"#),
        ])],
        imp: compare_argon2,
    },
];

fn env(args: &[Value]) -> Result<Value, String> {
    let name = arg_str(args, 0)?;
    Ok(std::env::var(name.as_ref()).map_or(Value::Null, Value::String))
}

/// Go's `os.ReadFile` error text: `open PATH: no such file or directory`.
fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
            _ => e.to_string(),
        };
        format!("open {path}: {reason}")
    })
}

fn file(args: &[Value]) -> Result<Value, String> {
    read_file(&arg_str(args, 0)?).map(Value::Bytes)
}

fn file_json(args: &[Value]) -> Result<Value, String> {
    let path = arg_str(args, 0)?;
    let bytes = read_file(&path)?;
    Value::from_json_slice(&bytes).map_err(|e| format!("failed to parse {path} as JSON: {e}"))
}

/// Snowflake IDs as bwmarrin/snowflake makes them: milliseconds since the Twitter epoch in the
/// top 41 bits, a 10 bit node id and a 12 bit sequence within the millisecond.
fn snowflake_id(args: &[Value]) -> Result<Value, String> {
    use std::sync::Mutex;
    static STATE: Mutex<(i64, i64)> = Mutex::new((0, 0));
    const EPOCH_MS: i64 = 1_288_834_974_657;
    let node = arg_opt_int(args, 0)?.unwrap_or(1);
    if !(0..=1023).contains(&node) {
        return Err(format!(
            "Node number must be between 0 and 1023, got {node}"
        ));
    }
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let mut now = chrono::Utc::now().timestamp_millis() - EPOCH_MS;
    if now < state.0 {
        now = state.0;
    }
    if now == state.0 {
        state.1 = (state.1 + 1) & 0xfff;
        if state.1 == 0 {
            now += 1;
        }
    } else {
        state.1 = 0;
    }
    state.0 = now;
    let id = (now << 22) | (node << 12) | state.1;
    Ok(Value::String(id.to_string()))
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A KSUID: 4 bytes of seconds since 2014-05-13T16:53:20Z and 16 random bytes, base62 encoded
/// into 27 characters.
fn ksuid(_: &[Value]) -> Result<Value, String> {
    let ts = (chrono::Utc::now().timestamp() - 1_400_000_000).clamp(0, u32::MAX as i64) as u32;
    let mut raw = [0u8; 20];
    raw[..4].copy_from_slice(&ts.to_be_bytes());
    rand::rng().fill(&mut raw[4..]);
    // Repeated division of the 160-bit big-endian number by 62.
    let mut num = raw.to_vec();
    let mut out = Vec::with_capacity(27);
    while num.iter().any(|b| *b != 0) {
        let mut rem = 0u32;
        for b in num.iter_mut() {
            let acc = (rem << 8) | *b as u32;
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        out.push(BASE62[rem as usize]);
    }
    while out.len() < 27 {
        out.push(b'0');
    }
    out.reverse();
    Ok(Value::String(String::from_utf8_lossy(&out).into_owned()))
}

fn hostname(_: &[Value]) -> Result<Value, String> {
    gethostname::gethostname()
        .into_string()
        .map(Value::String)
        .map_err(|_| "hostname is not valid UTF-8".to_string())
}

fn uuid_v4(_: &[Value]) -> Result<Value, String> {
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

const NANOID_ALPHABET: &str = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn nanoid(args: &[Value]) -> Result<Value, String> {
    let len = arg_opt_int(args, 0)?.unwrap_or(21);
    if len <= 0 || len > 1 << 20 {
        return Err(format!("invalid nanoid length: {len}"));
    }
    let alphabet: Vec<char> = match arg_opt_str(args, 1)? {
        Some(a) => a.chars().collect(),
        None => NANOID_ALPHABET.chars().collect(),
    };
    if alphabet.is_empty() || alphabet.len() > 255 {
        return Err("alphabet must not be empty and contain no more than 255 chars".into());
    }
    let mut rng = rand::rng();
    Ok(Value::String(
        (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect(),
    ))
}

fn ulid(args: &[Value]) -> Result<Value, String> {
    let encoding = arg_opt_str(args, 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "crockford".into());
    let source = arg_opt_str(args, 1)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "secure_random".into());
    if source != "secure_random" && source != "fast_random" {
        return Err(format!("invalid randomness source: {source}"));
    }
    let id = ::ulid::Ulid::generate();
    match encoding.as_str() {
        "crockford" => Ok(Value::String(id.to_string())),
        "hex" => Ok(Value::String(hex::encode(id.to_bytes()))),
        other => Err(format!("invalid ulid encoding: {other}")),
    }
}

fn random_int(args: &[Value]) -> Result<Value, String> {
    let seed = arg_opt_int(args, 0)?;
    let min = arg_opt_int(args, 1)?.unwrap_or(0);
    let max = arg_opt_int(args, 2)?.unwrap_or(i64::MAX - 1);
    if min < 0 || max < 0 {
        return Err(format!("min ({min}) and max ({max}) must be non-negative"));
    }
    if min > max {
        return Err(format!(
            "min ({min}) must be less than or equal to max ({max})"
        ));
    }
    let n = match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s as u64).random_range(min..=max),
        None => rand::rng().random_range(min..=max),
    };
    Ok(Value::Int(n))
}

fn cosine_similarity(args: &[Value]) -> Result<Value, String> {
    let a = get_array(arg(args, 0))?;
    let b = get_array(arg(args, 1))?;
    if a.len() != b.len() {
        return Err(format!(
            "vectors must have the same length: {} != {}",
            a.len(),
            b.len()
        ));
    }
    if a.is_empty() {
        return Err("vectors must not be empty".into());
    }
    let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (get_number(x)?, get_number(y)?);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return Err("cannot compute cosine similarity of a zero vector".into());
    }
    Ok(Value::Float(dot / (na.sqrt() * nb.sqrt())))
}

fn compare_bcrypt(v: &Value, args: &[Value]) -> Result<Value, String> {
    let secret = get_bytes(v)?;
    let hashed = arg_str(args, 0)?;
    match bcrypt::verify(&secret[..], &hashed) {
        Ok(ok) => Ok(Value::Bool(ok)),
        Err(e) => Err(format!("failed comparing bcrypt hash: {e}")),
    }
}

fn compare_argon2(v: &Value, args: &[Value]) -> Result<Value, String> {
    use argon2::{PasswordHash, PasswordVerifier};
    let secret = get_bytes(v)?;
    let hashed = arg_str(args, 0)?;
    let parsed =
        PasswordHash::new(&hashed).map_err(|e| format!("failed to parse argon2 hash: {e}"))?;
    match argon2::Argon2::default().verify_password(&secret, &parsed) {
        Ok(()) => Ok(Value::Bool(true)),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(Value::Bool(false)),
        Err(e) => Err(format!("failed comparing argon2 hash: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::s;

    #[test]
    fn functions() {
        assert_eq!(
            env(&[s("ENGINE_LIB_SURELY_UNSET_VAR"), Value::Null]).unwrap(),
            Value::Null
        );
        assert!(matches!(hostname(&[]).unwrap(), Value::String(_)));
        let u = uuid_v4(&[]).unwrap();
        assert_eq!(u.as_str().unwrap().len(), 36);
        assert_eq!(
            nanoid(&[Value::Null, Value::Null])
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            21
        );
        let n = nanoid(&[Value::Int(10), s("ab")]).unwrap();
        assert!(n.as_str().unwrap().chars().all(|c| c == 'a' || c == 'b'));
        assert_eq!(
            ulid(&[Value::Null, Value::Null])
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            26
        );
        assert_eq!(
            ulid(&[s("hex"), Value::Null])
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            32
        );
        let a = random_int(&[Value::Int(5), Value::Int(10), Value::Int(20)]).unwrap();
        assert_eq!(
            a,
            random_int(&[Value::Int(5), Value::Int(10), Value::Int(20)]).unwrap()
        );
        let Value::Int(x) = a else { panic!() };
        assert!((10..=20).contains(&x));
        assert!(random_int(&[Value::Null, Value::Int(5), Value::Int(1)]).is_err());
        let v = |x: &str| Value::from_json_str(x).unwrap();
        assert_eq!(
            cosine_similarity(&[v("[1,2,3]"), v("[2,4,6]")])
                .unwrap()
                .to_json_string(),
            "1"
        );
        assert_eq!(
            cosine_similarity(&[v("[1,0]"), v("[0,1]")])
                .unwrap()
                .to_json_string(),
            "0"
        );
        assert!(cosine_similarity(&[v("[1]"), v("[0,1]")]).is_err());
        assert_eq!(ksuid(&[]).unwrap().as_str().unwrap().len(), 27);
        let a = snowflake_id(&[Value::Null]).unwrap();
        let b = snowflake_id(&[Value::Int(2)]).unwrap();
        let (a, b): (i64, i64) = (
            a.as_str().unwrap().parse().unwrap(),
            b.as_str().unwrap().parse().unwrap(),
        );
        assert!(b > a);
        assert_eq!((b >> 12) & 0x3ff, 2);
        assert!(snowflake_id(&[Value::Int(5000)]).is_err());
        assert_eq!(
            file(&[s("/definitely/not/here"), Value::Null]).unwrap_err(),
            "open /definitely/not/here: no such file or directory"
        );
        let dir = std::env::temp_dir().join(format!("engine-lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("doc.json");
        std::fs::write(&path, br#"{"foo":"bar"}"#).unwrap();
        let p = s(path.to_str().unwrap());
        assert_eq!(
            file(&[p.clone(), Value::Null]).unwrap(),
            Value::Bytes(br#"{"foo":"bar"}"#.to_vec())
        );
        assert_eq!(file_json(&[p]).unwrap(), v(r#"{"foo":"bar"}"#));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn passwords() {
        let argon = s("$argon2id$v=19$m=4096,t=3,p=1$c2FsdHktbWNzYWx0ZmFjZQ$RMUMwgtS32/mbszd+ke4o4Ej1jFpYiUqY6MHWa69X7Y");
        assert_eq!(
            compare_argon2(
                &s("there-are-many-blobs-in-the-sea"),
                std::slice::from_ref(&argon)
            )
            .unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            compare_argon2(&s("will-i-ever-find-love"), &[argon]).unwrap(),
            Value::Bool(false)
        );
        let bc = s("$2y$10$Dtnt5NNzVtMCOZONT705tOcS8It6krJX8bEjnDJnwxiFKsz1C.3Ay");
        assert_eq!(
            compare_bcrypt(
                &s("there-are-many-blobs-in-the-sea"),
                std::slice::from_ref(&bc)
            )
            .unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            compare_bcrypt(&s("will-i-ever-find-love"), &[bc]).unwrap(),
            Value::Bool(false)
        );
        assert!(compare_bcrypt(&s("x"), &[s("nope")]).is_err());
    }
}
