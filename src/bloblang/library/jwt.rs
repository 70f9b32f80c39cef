//! JSON Web Tokens signed with HMAC (HS256, HS384, HS512).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};

use super::helpers::*;
use super::{MethodSpec, Param, ParamKind as K};
use crate::message::value::Object;
use crate::message::Value;

const CAT: &str = "JSON Web Tokens";
const PARSE: &[Param] = &[req(
    "signing_secret",
    K::String,
    "The secret that was used for signing the token.",
)];
const SIGN: &[Param] = &[req(
    "signing_secret",
    K::String,
    "The secret to use for signing the token.",
)];

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "parse_jwt_hs256",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with HS256. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_hs256(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"signed":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.YwXOM8v3gHVWcQRRRQc_zDlhmLnM62fwhFYGpiA0J1A"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_hs256,
    },
    MethodSpec {
        name: "parse_jwt_hs384",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with HS384. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_hs384(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"signed":"eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.2Y8rf_ijwN4t8hOGGViON_GrirLkCQVbCOuax6EoZ3nluX0tCGezcJxbctlIfsQ2"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_hs384,
    },
    MethodSpec {
        name: "parse_jwt_hs512",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with HS512. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_hs512(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"signed":"eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.utRb0urG6LGGyranZJVo5Dk0Fns1QNcSUYPN0TObQ-YzsGGB8jrxHwM5NAJccjJZzKectEUqmmKCaETZvuX4Fg"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_hs512,
    },
    MethodSpec {
        name: "sign_jwt_hs256",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using HS256.",
        params: SIGN,
        examples: &[ex("", "root.signed = this.claims.sign_jwt_hs256(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"claims":{"sub":"user123"}}"#, r#"{"signed":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.hUl-nngPMY_3h9vveWJUPsCcO5PeL6k9hWLnMYeFbFQ"}"#)])],
        imp: sign_hs256,
    },
    MethodSpec {
        name: "sign_jwt_hs384",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using HS384.",
        params: SIGN,
        examples: &[ex("", "root.signed = this.claims.sign_jwt_hs384(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"claims":{"sub":"user123"}}"#, r#"{"signed":"eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.zGYLr83aToon1efUNq-hw7XgT20lPvZb8sYei8x6S6mpHwb433SJdXJXx0Oio8AZ"}"#)])],
        imp: sign_hs384,
    },
    MethodSpec {
        name: "sign_jwt_hs512",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using HS512.",
        params: SIGN,
        examples: &[ex("", "root.signed = this.claims.sign_jwt_hs512(\"\"\"dont-tell-anyone\"\"\")", &[(r#"{"claims":{"sub":"user123"}}"#, r#"{"signed":"eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.zBNR9o_6EDwXXKkpKLNJhG26j8Dc-mV-YahBwmEdCrmiWt5les8I9rgmNlWIowpq6Yxs4kLNAdFhqoRz3NXT3w"}"#)])],
        imp: sign_hs512,
    },
];

#[derive(Clone, Copy)]
enum Alg {
    Hs256,
    Hs384,
    Hs512,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
        }
    }

    fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Alg::Hs256 => run::<Hmac<sha2::Sha256>>(key, data),
            Alg::Hs384 => run::<Hmac<sha2::Sha384>>(key, data),
            Alg::Hs512 => run::<Hmac<sha2::Sha512>>(key, data),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_jwt(v: &Value, args: &[Value], alg: Alg) -> Result<Value, String> {
    let token = get_str(v)?;
    let secret = get_bytes(arg(args, 0))?;
    let fail = |m: &str| format!("failed to parse JWT string: {m}");
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(fail("token contains an invalid number of segments"));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(parts[0].trim_end_matches('='))
        .map_err(|e| {
            fail(&format!(
                "token is malformed: could not base64 decode header: {e}"
            ))
        })?;
    let header = Value::from_json_slice(&header_bytes).map_err(|e| {
        fail(&format!(
            "token is malformed: could not JSON decode header: {e}"
        ))
    })?;
    let header_alg = header
        .as_object()
        .and_then(|h| h.get("alg"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if header_alg != alg.name() {
        return Err(fail(&format!(
            "token is unverifiable: error while executing keyfunc: unexpected signing method: {header_alg}"
        )));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2].trim_end_matches('='))
        .map_err(|e| fail(&format!("token signature is invalid: {e}")))?;
    let expected = alg.mac(&secret, format!("{}.{}", parts[0], parts[1]).as_bytes());
    if !constant_time_eq(&sig, &expected) {
        return Err(fail("token signature is invalid: signature is invalid"));
    }
    let claims_bytes = URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|e| {
            fail(&format!(
                "token is malformed: could not base64 decode claim: {e}"
            ))
        })?;
    let claims = Value::from_json_slice(&claims_bytes).map_err(|e| {
        fail(&format!(
            "token is malformed: could not JSON decode claim: {e}"
        ))
    })?;
    match claims {
        Value::Object(_) => Ok(claims),
        _ => Err(fail("token is malformed: claims are not an object")),
    }
}

fn sign_jwt(v: &Value, args: &[Value], alg: Alg) -> Result<Value, String> {
    let claims = get_object(v)?;
    let secret = get_bytes(arg(args, 0))?;
    let mut header = Object::new();
    header.insert("alg".into(), Value::String(alg.name().into()));
    header.insert("typ".into(), Value::String("JWT".into()));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(header).to_json_bytes()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_json_bytes())
    );
    let sig = URL_SAFE_NO_PAD.encode(alg.mac(&secret, signing_input.as_bytes()));
    Ok(Value::String(format!("{signing_input}.{sig}")))
}

fn parse_hs256(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Hs256)
}
fn parse_hs384(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Hs384)
}
fn parse_hs512(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Hs512)
}
fn sign_hs256(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Hs256)
}
fn sign_hs384(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Hs384)
}
fn sign_hs512(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Hs512)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    #[test]
    fn documented() {
        let secret = [s("dont-tell-anyone")];
        let claims =
            Value::from_json_str(r#"{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}"#)
                .unwrap();
        for (alg, spec) in METHODS.iter().take(3).enumerate() {
            let token = spec.examples[0].cases[0].0;
            let token = Value::from_json_str(token).unwrap().as_object().unwrap()["signed"].clone();
            assert_eq!((spec.imp)(&token, &secret).unwrap(), claims, "alg {alg}");
            assert!((spec.imp)(&token, &[s("wrong")])
                .unwrap_err()
                .contains("signature is invalid"));
        }
        for spec in METHODS.iter().skip(3) {
            let (input, output) = spec.examples[0].cases[0];
            let claims =
                Value::from_json_str(input).unwrap().as_object().unwrap()["claims"].clone();
            let expected =
                Value::from_json_str(output).unwrap().as_object().unwrap()["signed"].clone();
            assert_eq!(
                (spec.imp)(&claims, &secret).unwrap(),
                expected,
                "{}",
                spec.name
            );
        }
        let hs256 = sign_hs256(&Value::from_json_str(r#"{"a":1}"#).unwrap(), &secret).unwrap();
        assert!(parse_hs384(&hs256, &secret)
            .unwrap_err()
            .contains("unexpected signing method: HS256"));
        assert!(parse_hs256(&s("a.b"), &secret).is_err());
    }
}
