//! JSON Web Tokens: HMAC (HS256/384/512), RSA PKCS#1 v1.5 (RS256/384/512) and ECDSA
//! (ES256/384/512) signing and verification.

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
const PARSE_ASYM: &[Param] = &[req(
    "signing_secret",
    K::String,
    "The PEM encoded public key that was used for signing the token.",
)];
const SIGN_ASYM: &[Param] = &[req(
    "signing_secret",
    K::String,
    "The PEM encoded private key to use for signing the token.",
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
    MethodSpec {
        name: "parse_jwt_rs256",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS256. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_rs256("""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S
8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32
WfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB
+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8
Cy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp
XOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO
+QIDAQAB
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.b0lH3jEupZZ4zoaly4Y_GCvu94HH6UKdKY96zfGNsIkPZpQLHIkZ7jMWlLlNOAd8qXlsBGP_i8H2qCKI4zlWJBGyPZgxXDzNRPVrTDfFpn4t4nBcA1WK2-ntXP3ehQxsaHcQU8Z_nsogId7Pme5iJRnoHWEnWtbwz5DLSXL3ZZNnRdrHM9MdI7QSDz9mojKDCaMpGN9sG7Xl-tGdBp1XzXuUOzG8S03mtZ1IgVR1uiBL2N6oohHIAunk8DIAmNWI-zgycTgzUGU7mvPkKH43qO8Ua1-13tCUBKKa8VxcotZ67Mxm1QAvBGoDnTKwWMwghLzs6d6WViXQg6eWlJcpBA"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_rs256,
    },
    MethodSpec {
        name: "parse_jwt_rs384",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS384. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_rs384("""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S
8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32
WfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB
+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8
Cy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp
XOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO
+QIDAQAB
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.orcXYBcjVE5DU7mvq4KKWFfNdXR4nEY_xupzWoETRpYmQZIozlZnM_nHxEk2dySvpXlAzVm7kgOPK2RFtGlOVaNRIa3x-pMMr-bhZTno4L8Hl4sYxOks3bWtjK7wql4uqUbqThSJB12psAXw2-S-I_FMngOPGIn4jDT9b802ottJSvTpXcy0-eKTjrV2PSkRRu-EYJh0CJZW55MNhqlt6kCGhAXfbhNazN3ASX-dmpd_JixyBKphrngr_zRA-FCn_Xf3QQDA-5INopb4Yp5QiJ7UxVqQEKI80X_JvJqz9WE1qiAw8pq5-xTen1t7zTP-HT1NbbD3kltcNa3G8acmNg"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_rs384,
    },
    MethodSpec {
        name: "parse_jwt_rs512",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS512. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_rs512("""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S
8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32
WfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB
+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8
Cy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp
XOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO
+QIDAQAB
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.rsMp_X5HMrUqKnZJIxo27aAoscovRA6SSQYR9rq7pifIj0YHXxMyNyOBDGnvVALHKTi25VUGHpfNUW0VVMmae0A4t_ObNU6hVZHguWvetKZZq4FZpW1lgWHCMqgPGwT5_uOqwYCH6r8tJuZT3pqXeL0CY4putb1AN2w6CVp620nh3l8d3XWb4jaifycd_4CEVCqHuWDmohfug4VhmoVKlIXZkYoAQowgHlozATDssBSWdYtv107Wd2AzEoiXPu6e3pflsuXULlyqQnS4ELEKPYThFLafh1NqvZDPddqozcPZ-iODBW-xf3A4DYDdivnMYLrh73AZOGHexxu8ay6nDA"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_rs512,
    },
    MethodSpec {
        name: "parse_jwt_es256",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES256. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_es256("""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGtLqIBePHmIhQcf0JLgc+F/4W/oI
dp0Gta53G35VerNDgUUXmp78J2kfh4qLdh0XtmOMI587tCaqjvDAXfs//w==
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.GIRajP9JJbpTlqSCdNEz4qpQkRvzX4Q51YnTwVyxLDM9tKjR_a8ggHWn9CWj7KG0x8J56OWtmUxn112SRTZVhQ"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_es256,
    },
    MethodSpec {
        name: "parse_jwt_es384",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES384. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_es384("""-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAERoz74/B6SwmLhs8X7CWhnrWyRrB13AuU
8OYeqy0qHRu9JWNw8NIavqpTmu6XPT4xcFanYjq8FbeuM11eq06C52mNmS4LLwzA
2imlFEgn85bvJoC3bnkuq4mQjwt9VxdH
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.H2HBSlrvQBaov2tdreGonbBexxtQB-xzaPL4-tNQZ6TVh7VH8VBcSwcWHYa1lBAHmdsKOFcB2Wk0SB7QWeGT3ptSgr-_EhDMaZ8bA5spgdpq5DsKfaKHrd7DbbQlmxNq"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_es384,
    },
    MethodSpec {
        name: "parse_jwt_es512",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES512. This method does not validate JWT claims.",
        params: PARSE_ASYM,
        examples: &[ex("", r#"root.claims = this.signed.parse_jwt_es512("""-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQAkHLdts9P56fFkyhpYQ31M/Stwt3w
vpaxhlfudxnXgTO1IP4RQRgryRxZ19EUzhvWDcG3GQIckoNMY5PelsnCGnIBT2Xh
9NQkjWF5K6xS4upFsbGSAwQ+GIyyk5IPJ2LHgOyMSCVh5gRZXV3CZLzXujx/umC9
UeYyTt05zRRWuD+p5bY=
-----END PUBLIC KEY-----""")"#, &[(r#"{"signed":"eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.ACrpLuU7TKpAnncDCpN9m85nkL55MJ45NFOBl6-nEXmNT1eIxWjiP4pwWVbFH9et_BgN14119jbL_KqEJInPYc9nAXC6dDLq0aBU-dalvNl4-O5YWpP43-Y-TBGAsWnbMTrchILJ4-AEiICe73Ck5yWPleKg9c3LtkEFWfGs7BoPRguZ"}"#, r#"{"claims":{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}}"#)])],
        imp: parse_es512,
    },
    MethodSpec {
        name: "sign_jwt_rs256",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS256 (RSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs256(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_rs256,
    },
    MethodSpec {
        name: "sign_jwt_rs384",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS384 (RSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs384(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_rs384,
    },
    MethodSpec {
        name: "sign_jwt_rs512",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS512 (RSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs512(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_rs512,
    },
    MethodSpec {
        name: "sign_jwt_es256",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES256 (ECDSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es256(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_es256,
    },
    MethodSpec {
        name: "sign_jwt_es384",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES384 (ECDSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es384(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_es384,
    },
    MethodSpec {
        name: "sign_jwt_es512",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES512 (ECDSA private key in PEM format).",
        params: SIGN_ASYM,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es512(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[])],
        imp: sign_es512,
    },
];

#[derive(Clone, Copy)]
enum Alg {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
    Es512,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
        }
    }

    /// Sign the JWT signing input with a secret (HMAC) or a PEM private key.
    fn sign(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let pem = || std::str::from_utf8(key).map_err(|_| "key is not valid PEM text".to_string());
        match self {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => Ok(self.mac(key, data)),
            Alg::Rs256 => rsa_sign::<sha2::Sha256>(pem()?, data),
            Alg::Rs384 => rsa_sign::<sha2::Sha384>(pem()?, data),
            Alg::Rs512 => rsa_sign::<sha2::Sha512>(pem()?, data),
            Alg::Es256 => {
                use p256::ecdsa::signature::Signer;
                let sk = ec_secret::<p256::NistP256>(pem()?)?;
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(sk).sign(data);
                Ok(sig.to_bytes().to_vec())
            }
            Alg::Es384 => {
                use p384::ecdsa::signature::Signer;
                let sk = ec_secret::<p384::NistP384>(pem()?)?;
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(sk).sign(data);
                Ok(sig.to_bytes().to_vec())
            }
            Alg::Es512 => {
                use p521::ecdsa::signature::Signer;
                let sk = ec_secret::<p521::NistP521>(pem()?)?;
                let signer = p521::ecdsa::SigningKey::from_bytes(&sk.to_bytes())
                    .map_err(|e| format!("invalid ECDSA key: {e}"))?;
                let sig: p521::ecdsa::Signature = signer.sign(data);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }

    /// Verify a signature over the JWT signing input.
    fn verify(self, key: &[u8], data: &[u8], sig: &[u8]) -> Result<bool, String> {
        let pem = || std::str::from_utf8(key).map_err(|_| "key is not valid PEM text".to_string());
        match self {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => Ok(constant_time_eq(sig, &self.mac(key, data))),
            Alg::Rs256 => rsa_verify::<sha2::Sha256>(pem()?, data, sig),
            Alg::Rs384 => rsa_verify::<sha2::Sha384>(pem()?, data, sig),
            Alg::Rs512 => rsa_verify::<sha2::Sha512>(pem()?, data, sig),
            Alg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                let pk = ec_public::<p256::NistP256>(pem()?)?;
                let Ok(s) = p256::ecdsa::Signature::from_slice(sig) else {
                    return Ok(false);
                };
                Ok(p256::ecdsa::VerifyingKey::from(pk).verify(data, &s).is_ok())
            }
            Alg::Es384 => {
                use p384::ecdsa::signature::Verifier;
                let pk = ec_public::<p384::NistP384>(pem()?)?;
                let Ok(s) = p384::ecdsa::Signature::from_slice(sig) else {
                    return Ok(false);
                };
                Ok(p384::ecdsa::VerifyingKey::from(pk).verify(data, &s).is_ok())
            }
            Alg::Es512 => {
                use p521::ecdsa::signature::Verifier;
                let pk = ec_public::<p521::NistP521>(pem()?)?;
                let vk = p521::ecdsa::VerifyingKey::from_affine(*pk.as_affine())
                    .map_err(|e| format!("invalid ECDSA key: {e}"))?;
                let Ok(s) = p521::ecdsa::Signature::from_slice(sig) else {
                    return Ok(false);
                };
                Ok(vk.verify(data, &s).is_ok())
            }
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
            Alg::Hs384 | Alg::Rs384 | Alg::Es384 => run::<Hmac<sha2::Sha384>>(key, data),
            Alg::Hs512 | Alg::Rs512 | Alg::Es512 => run::<Hmac<sha2::Sha512>>(key, data),
            Alg::Hs256 | Alg::Rs256 | Alg::Es256 => run::<Hmac<sha2::Sha256>>(key, data),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn rsa_public(pem: &str) -> Result<rsa::RsaPublicKey, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("failed to parse RSA public key: {e}"))
}

fn rsa_private(pem: &str) -> Result<rsa::RsaPrivateKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|e| format!("failed to parse RSA private key: {e}"))
}

fn rsa_sign<D>(pem: &str, data: &[u8]) -> Result<Vec<u8>, String>
where
    D: sha2::Digest + rsa::pkcs8::AssociatedOid,
{
    use rsa::signature::{SignatureEncoding, Signer};
    let key = rsa::pkcs1v15::SigningKey::<D>::new(rsa_private(pem)?);
    let sig = key
        .try_sign(data)
        .map_err(|e| format!("failed to sign: {e}"))?;
    Ok(sig.to_vec())
}

fn rsa_verify<D>(pem: &str, data: &[u8], sig: &[u8]) -> Result<bool, String>
where
    D: sha2::Digest + rsa::pkcs8::AssociatedOid,
{
    use rsa::signature::Verifier;
    let key = rsa::pkcs1v15::VerifyingKey::<D>::new(rsa_public(pem)?);
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return Ok(false);
    };
    Ok(key.verify(data, &sig).is_ok())
}

fn ec_public<C>(pem: &str) -> Result<elliptic_curve::PublicKey<C>, String>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::DecodePublicKey;
    elliptic_curve::PublicKey::<C>::from_public_key_pem(pem)
        .map_err(|e| format!("failed to parse ECDSA public key: {e}"))
}

fn ec_secret<C>(pem: &str) -> Result<elliptic_curve::SecretKey<C>, String>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::DecodePrivateKey;
    elliptic_curve::SecretKey::<C>::from_sec1_pem(pem)
        .or_else(|_| elliptic_curve::SecretKey::<C>::from_pkcs8_pem(pem))
        .map_err(|e| format!("failed to parse ECDSA private key: {e}"))
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
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if !alg
        .verify(&secret, signing_input.as_bytes(), &sig)
        .map_err(|e| fail(&e))?
    {
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
    let sig = URL_SAFE_NO_PAD.encode(alg.sign(&secret, signing_input.as_bytes())?);
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

fn parse_rs256(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Rs256)
}
fn sign_rs256(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Rs256)
}
fn parse_rs384(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Rs384)
}
fn sign_rs384(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Rs384)
}
fn parse_rs512(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Rs512)
}
fn sign_rs512(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Rs512)
}
fn parse_es256(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Es256)
}
fn sign_es256(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Es256)
}
fn parse_es384(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Es384)
}
fn sign_es384(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Es384)
}
fn parse_es512(v: &Value, a: &[Value]) -> Result<Value, String> {
    parse_jwt(v, a, Alg::Es512)
}
fn sign_es512(v: &Value, a: &[Value]) -> Result<Value, String> {
    sign_jwt(v, a, Alg::Es512)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::MethodFn;

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
        for spec in METHODS.iter().skip(3).take(3) {
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

    // Throwaway keys generated for these tests only.
    const RSA_PRIV: &str = r"-----BEGIN RSA PRIVATE KEY-----
MIICXwIBAAKBgQDLIFEvF1SIQ9ov/oYlAGtrwFTiN0xsrdSsnvlG4jlYNWaiF2PH
nJ9FlPkvBe6o1t3HnZVS5Vm5HaStdT2fer+v2/mekfzRdIDy9by5s/REvZvJPcxT
td+TAX9bWMwh0twoorTFj6KzqnknOTesRMbdeYq4FokjsH2WkJk2NU43AQIDAQAB
AoGBAMoBFpuFURy+lcK7FX7AvxOGTyQ1KDzAVstgwbibi7nMSYgTSLifasmREIqS
FLk2DZLRhUnOKn9tGnMiMClksjEVPCYC6clCu1nDHIQKbYJeg79k1hOc7EeTDRN0
I7bbYjHA4t1PKLYg12j/aTXUEQFCQWcw/e4k96e7i97xP1bRAkEA5BIjYyXAa7Hm
x91xmaVaAyx8yAcX100T9CwCywW1sJsM3GaxZnDUmA8/tsVqQSvhViRR/N7C/AHL
SpvAiUrMNQJBAOQALsUGDR3D/Rch7/IMmGhTZTQUIKw4mcmyU/0fRW2TRYAQaQDP
56LwKwDNOw+F9SlNDutU6w6vMQ1P7ntBYR0CQQCle4OxrPKxMaQB4OtMUG2/X8gq
WvsxfPu9bzGXncz3F4l9YgXWDogyzN2uAA/Yub4GgtP6ZqeTsrmOqPRKqbsBAkEA
vlygsAOTY+zFHVFKgy+c+E3Yy5iahvBjBpILqeU4FHrHplsNMI5lehdH8E1qKFXS
EX+zGy01bHc9Xz4DgYleyQJBALCs/FiWCMmeJCFCKojUD+7urJcG4ZAMoN+pjCYP
veU3IaudogS1wNokgiK3+ZefQBeXFcwNeGiUNAibLhAplEY=
-----END RSA PRIVATE KEY-----";
    const RSA_PUB: &str = r"-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDLIFEvF1SIQ9ov/oYlAGtrwFTi
N0xsrdSsnvlG4jlYNWaiF2PHnJ9FlPkvBe6o1t3HnZVS5Vm5HaStdT2fer+v2/me
kfzRdIDy9by5s/REvZvJPcxTtd+TAX9bWMwh0twoorTFj6KzqnknOTesRMbdeYq4
FokjsH2WkJk2NU43AQIDAQAB
-----END PUBLIC KEY-----";
    const P256_PRIV: &str = r"-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINdrXF5aStZTN+8qEWe5G4hoMpzd3buZSJLl1CGx3q0foAoGCCqGSM49
AwEHoUQDQgAEWtl7oYAL6fCRz34lK/eTYHGf72MbDzifomOLoqHkkOL3to67BybH
75jT0tjmzerr5rKZISeuM7QMQQ1a0PfQAw==
-----END EC PRIVATE KEY-----";
    const P256_PUB: &str = r"-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWtl7oYAL6fCRz34lK/eTYHGf72Mb
DzifomOLoqHkkOL3to67BybH75jT0tjmzerr5rKZISeuM7QMQQ1a0PfQAw==
-----END PUBLIC KEY-----";
    const P384_PRIV: &str = r"-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDCxkxghri0eRs0ntnBbMWUccPTgAyJRjNEWohAbjBY3MOVUKW7WaukF
0e53NQASOQKgBwYFK4EEACKhZANiAARVdSCoddPMeLW4oeBtWIwUVKLztMWltCiR
HENz9AmbjFL9NhcoE6UYnte5Qm905Q8+mxAbNzSPIqgq78qJWCflua8RnU0bOGwx
FYNH1FL85F8Dqo47o3ZT2X1nleTFLxY=
-----END EC PRIVATE KEY-----";
    const P384_PUB: &str = r"-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEVXUgqHXTzHi1uKHgbViMFFSi87TFpbQo
kRxDc/QJm4xS/TYXKBOlGJ7XuUJvdOUPPpsQGzc0jyKoKu/KiVgn5bmvEZ1NGzhs
MRWDR9RS/ORfA6qOO6N2U9l9Z5XkxS8W
-----END PUBLIC KEY-----";
    const P521_PRIV: &str = r"-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIBPd1qVwVmogT/BrfuKZaaE5QXWMZZIWYMH/5h0iEm1xYac5INnyir
gP0Vw7PmDpOQDOI/Grn0OETqXfDLc4Fcpk6gBwYFK4EEACOhgYkDgYYABAHLoA/+
d7gd4LL8sWCvU6zevmr0yzwwvcb59+z13M9e5yADcMfVBuNoMblpv5U3+khhBVib
FlxPp4r+6Vo1t+LTdQC8JqcYkYZYiczljxiDXO3HJYT4d8a2cAOm182pvgNeRsmH
jMR9Cq8u2lNP25ACYjO9PTPE38j7xzlrqiRvwHbAlA==
-----END EC PRIVATE KEY-----";
    const P521_PUB: &str = r"-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBy6AP/ne4HeCy/LFgr1Os3r5q9Ms8
ML3G+ffs9dzPXucgA3DH1QbjaDG5ab+VN/pIYQVYmxZcT6eK/ulaNbfi03UAvCan
GJGGWInM5Y8Yg1ztxyWE+HfGtnADptfNqb4DXkbJh4zEfQqvLtpTT9uQAmIzvT0z
xN/I+8c5a6okb8B2wJQ=
-----END PUBLIC KEY-----";

    #[test]
    fn asymmetric_round_trips() {
        let claims = Value::from_json_str(r#"{"a":1,"sub":"x"}"#).unwrap();
        let cases: [(MethodFn, MethodFn, &str, &str); 6] = [
            (sign_rs256, parse_rs256, RSA_PRIV, RSA_PUB),
            (sign_rs384, parse_rs384, RSA_PRIV, RSA_PUB),
            (sign_rs512, parse_rs512, RSA_PRIV, RSA_PUB),
            (sign_es256, parse_es256, P256_PRIV, P256_PUB),
            (sign_es384, parse_es384, P384_PRIV, P384_PUB),
            (sign_es512, parse_es512, P521_PRIV, P521_PUB),
        ];
        for (sign, parse, private, public) in cases {
            let token = sign(&claims, &[s(private)]).unwrap();
            assert_eq!(parse(&token, &[s(public)]).unwrap(), claims);
            let Value::String(t) = &token else { panic!() };
            let tampered = format!("{}x", &t[..t.len() - 2]);
            assert!(parse(&s(&tampered), &[s(public)]).is_err());
        }
        assert!(sign_rs256(&claims, &[s("not a key")])
            .unwrap_err()
            .contains("RSA private key"));
        assert!(parse_es256(&s("a.b.c"), &[s("nope")]).is_err());
    }

    #[test]
    fn documented_asymmetric_tokens() {
        let claims =
            Value::from_json_str(r#"{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}"#)
                .unwrap();
        for spec in METHODS
            .iter()
            .filter(|m| m.name.starts_with("parse_jwt_rs") || m.name.starts_with("parse_jwt_es"))
        {
            let mapping = spec.examples[0].mapping;
            let start = mapping.find("\"\"\"").unwrap() + 3;
            let end = mapping.rfind("\"\"\"").unwrap();
            let key = s(&mapping[start..end]);
            let input = Value::from_json_str(spec.examples[0].cases[0].0).unwrap();
            let token = input.as_object().unwrap()["signed"].clone();
            assert_eq!((spec.imp)(&token, &[key]).unwrap(), claims, "{}", spec.name);
        }
    }
}
