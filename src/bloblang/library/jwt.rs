//! JSON Web Tokens signed with HMAC (HS256/384/512), RSA PKCS#1 v1.5 (RS256/384/512) and ECDSA
//! (ES256 on P-256, ES384 on P-384, ES512 on P-521), following golang-jwt v5 as Bento uses it:
//! the same segment handling, error texts and key parsing (`ParseRSAPublicKeyFromPEM` and
//! friends). Parsed keys are cached per thread, keyed by their PEM text, since the secret is
//! nearly always a literal.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::alphabet;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::der::Decode as _;
use rsa::pkcs8::spki::SubjectPublicKeyInfoRef;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, PrivateKeyInfo};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::Digest as _;

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
    MethodSpec {
        name: "parse_jwt_rs256",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS256. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_rs256(\"\"\"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S\n8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32\nWfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB\n+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8\nCy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp\nXOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO\n+QIDAQAB\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.b0lH3jEupZZ4zoaly4Y_GCvu94HH6UKdKY96zfGNsIkPZpQLHIkZ7jMWlLlNOAd8qXlsBGP_i8H2qCKI4zlWJBGyPZgxXDzNRPVrTDfFpn4t4nBcA1WK2-ntXP3ehQxsaHcQU8Z_nsogId7Pme5iJRnoHWEnWtbwz5DLSXL3ZZNnRdrHM9MdI7QSDz9mojKDCaMpGN9sG7Xl-tGdBp1XzXuUOzG8S03mtZ1IgVR1uiBL2N6oohHIAunk8DIAmNWI-zgycTgzUGU7mvPkKH43qO8Ua1-13tCUBKKa8VxcotZ67Mxm1QAvBGoDnTKwWMwghLzs6d6WViXQg6eWlJcpBA\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Rs256),
    },
    MethodSpec {
        name: "parse_jwt_rs384",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS384. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_rs384(\"\"\"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S\n8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32\nWfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB\n+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8\nCy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp\nXOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO\n+QIDAQAB\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.orcXYBcjVE5DU7mvq4KKWFfNdXR4nEY_xupzWoETRpYmQZIozlZnM_nHxEk2dySvpXlAzVm7kgOPK2RFtGlOVaNRIa3x-pMMr-bhZTno4L8Hl4sYxOks3bWtjK7wql4uqUbqThSJB12psAXw2-S-I_FMngOPGIn4jDT9b802ottJSvTpXcy0-eKTjrV2PSkRRu-EYJh0CJZW55MNhqlt6kCGhAXfbhNazN3ASX-dmpd_JixyBKphrngr_zRA-FCn_Xf3QQDA-5INopb4Yp5QiJ7UxVqQEKI80X_JvJqz9WE1qiAw8pq5-xTen1t7zTP-HT1NbbD3kltcNa3G8acmNg\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Rs384),
    },
    MethodSpec {
        name: "parse_jwt_rs512",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with RS512. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_rs512(\"\"\"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs/ibN8r68pLMR6gRzg4S\n8v8l6Q7yi8qURjkEbcNeM1rkokC7xh0I4JVTwxYSVv/JIW8qJdyspl5NIfuAVi32\nWfKvSAs+NIs+DMsNPYw3yuQals4AX8hith1YDvYpr8SD44jxhz/DR9lYKZFGhXGB\n+7NqQ7vpTWp3BceLYocazWJgusZt7CgecIq57ycM5hjM93BvlrUJ8nQ1a46wfL/8\nCy4P0et70hzZrsjjN41KFhKY0iUwlyU41yEiDHvHDDsTMBxAZosWjSREGfJL6Mfp\nXOInTHs/Gg6DZMkbxjQu6L06EdJ+Q/NwglJdAXM7Zo9rNELqRig6DdvG5JesdMsO\n+QIDAQAB\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.rsMp_X5HMrUqKnZJIxo27aAoscovRA6SSQYR9rq7pifIj0YHXxMyNyOBDGnvVALHKTi25VUGHpfNUW0VVMmae0A4t_ObNU6hVZHguWvetKZZq4FZpW1lgWHCMqgPGwT5_uOqwYCH6r8tJuZT3pqXeL0CY4putb1AN2w6CVp620nh3l8d3XWb4jaifycd_4CEVCqHuWDmohfug4VhmoVKlIXZkYoAQowgHlozATDssBSWdYtv107Wd2AzEoiXPu6e3pflsuXULlyqQnS4ELEKPYThFLafh1NqvZDPddqozcPZ-iODBW-xf3A4DYDdivnMYLrh73AZOGHexxu8ay6nDA\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Rs512),
    },
    MethodSpec {
        name: "parse_jwt_es256",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES256. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_es256(\"\"\"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGtLqIBePHmIhQcf0JLgc+F/4W/oI\ndp0Gta53G35VerNDgUUXmp78J2kfh4qLdh0XtmOMI587tCaqjvDAXfs//w==\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.GIRajP9JJbpTlqSCdNEz4qpQkRvzX4Q51YnTwVyxLDM9tKjR_a8ggHWn9CWj7KG0x8J56OWtmUxn112SRTZVhQ\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Es256),
    },
    MethodSpec {
        name: "parse_jwt_es384",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES384. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_es384(\"\"\"-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAERoz74/B6SwmLhs8X7CWhnrWyRrB13AuU\n8OYeqy0qHRu9JWNw8NIavqpTmu6XPT4xcFanYjq8FbeuM11eq06C52mNmS4LLwzA\n2imlFEgn85bvJoC3bnkuq4mQjwt9VxdH\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.H2HBSlrvQBaov2tdreGonbBexxtQB-xzaPL4-tNQZ6TVh7VH8VBcSwcWHYa1lBAHmdsKOFcB2Wk0SB7QWeGT3ptSgr-_EhDMaZ8bA5spgdpq5DsKfaKHrd7DbbQlmxNq\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Es384),
    },
    MethodSpec {
        name: "parse_jwt_es512",
        category: CAT,
        description: "Parses a claims object from a JWT string encoded with ES512. This method does not validate JWT claims.",
        params: PARSE,
        examples: &[ex("", "root.claims = this.signed.parse_jwt_es512(\"\"\"-----BEGIN PUBLIC KEY-----\nMIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQAkHLdts9P56fFkyhpYQ31M/Stwt3w\nvpaxhlfudxnXgTO1IP4RQRgryRxZ19EUzhvWDcG3GQIckoNMY5PelsnCGnIBT2Xh\n9NQkjWF5K6xS4upFsbGSAwQ+GIyyk5IPJ2LHgOyMSCVh5gRZXV3CZLzXujx/umC9\nUeYyTt05zRRWuD+p5bY=\n-----END PUBLIC KEY-----\"\"\")", &[("{\"signed\":\"eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.ACrpLuU7TKpAnncDCpN9m85nkL55MJ45NFOBl6-nEXmNT1eIxWjiP4pwWVbFH9et_BgN14119jbL_KqEJInPYc9nAXC6dDLq0aBU-dalvNl4-O5YWpP43-Y-TBGAsWnbMTrchILJ4-AEiICe73Ck5yWPleKg9c3LtkEFWfGs7BoPRguZ\"}", "{\"claims\":{\"iat\":1516239022,\"mood\":\"Disdainful\",\"sub\":\"1234567890\"}}")])],
        imp: |v, a| parse_jwt(v, a, Alg::Es512),
    },
    MethodSpec {
        name: "sign_jwt_rs256",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS256.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs256(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.b0lH3jEupZZ4zoaly4Y_GCvu94HH6UKdKY96zfGNsIkPZpQLHIkZ7jMWlLlNOAd8qXlsBGP_i8H2qCKI4zlWJBGyPZgxXDzNRPVrTDfFpn4t4nBcA1WK2-ntXP3ehQxsaHcQU8Z_nsogId7Pme5iJRnoHWEnWtbwz5DLSXL3ZZNnRdrHM9MdI7QSDz9mojKDCaMpGN9sG7Xl-tGdBp1XzXuUOzG8S03mtZ1IgVR1uiBL2N6oohHIAunk8DIAmNWI-zgycTgzUGU7mvPkKH43qO8Ua1-13tCUBKKa8VxcotZ67Mxm1QAvBGoDnTKwWMwghLzs6d6WViXQg6eWlJcpBA\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Rs256),
    },
    MethodSpec {
        name: "sign_jwt_rs384",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS384.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs384(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.orcXYBcjVE5DU7mvq4KKWFfNdXR4nEY_xupzWoETRpYmQZIozlZnM_nHxEk2dySvpXlAzVm7kgOPK2RFtGlOVaNRIa3x-pMMr-bhZTno4L8Hl4sYxOks3bWtjK7wql4uqUbqThSJB12psAXw2-S-I_FMngOPGIn4jDT9b802ottJSvTpXcy0-eKTjrV2PSkRRu-EYJh0CJZW55MNhqlt6kCGhAXfbhNazN3ASX-dmpd_JixyBKphrngr_zRA-FCn_Xf3QQDA-5INopb4Yp5QiJ7UxVqQEKI80X_JvJqz9WE1qiAw8pq5-xTen1t7zTP-HT1NbbD3kltcNa3G8acmNg\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Rs384),
    },
    MethodSpec {
        name: "sign_jwt_rs512",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using RS512.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_rs512(\"\"\"-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.rsMp_X5HMrUqKnZJIxo27aAoscovRA6SSQYR9rq7pifIj0YHXxMyNyOBDGnvVALHKTi25VUGHpfNUW0VVMmae0A4t_ObNU6hVZHguWvetKZZq4FZpW1lgWHCMqgPGwT5_uOqwYCH6r8tJuZT3pqXeL0CY4putb1AN2w6CVp620nh3l8d3XWb4jaifycd_4CEVCqHuWDmohfug4VhmoVKlIXZkYoAQowgHlozATDssBSWdYtv107Wd2AzEoiXPu6e3pflsuXULlyqQnS4ELEKPYThFLafh1NqvZDPddqozcPZ-iODBW-xf3A4DYDdivnMYLrh73AZOGHexxu8ay6nDA\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Rs512),
    },
    MethodSpec {
        name: "sign_jwt_es256",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES256.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es256(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1MTYyMzkwMjIsIm1vb2QiOiJEaXNkYWluZnVsIiwic3ViIjoiMTIzNDU2Nzg5MCJ9.-8LrOdkEiv_44ADWW08lpbq41ZmHCel58NMORPq1q4Dyw0zFhqDVLrRoSvCvuyyvgXAFb9IHfR-9MlJ_2ShA9A\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Es256),
    },
    MethodSpec {
        name: "sign_jwt_es384",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES384.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es384(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.8FmTKH08dl7dyxrNu0rmvhegiIBCy-O9cddGco2e9lpZtgv5mS5qHgPkgBC5eRw1d7SRJsHwHZeehzdqT5Ba7aZJIhz9ds0sn37YQ60L7jT0j2gxCzccrt4kECHnUnLw\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Es384),
    },
    MethodSpec {
        name: "sign_jwt_es512",
        category: CAT,
        description: "Hash and sign an object representing JSON Web Token (JWT) claims using ES512.",
        params: SIGN,
        examples: &[ex_skip("", "root.signed = this.claims.sign_jwt_es512(\"\"\"-----BEGIN EC PRIVATE KEY-----\n... signature data ...\n-----END EC PRIVATE KEY-----\"\"\")", &[("{\"claims\":{\"sub\":\"user123\"}}", "{\"signed\":\"eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.AQbEWymoRZxDJEJtKSFFG2k2VbDCTYSuBwAZyMqexCspr3If8aERTVGif8HXG3S7TzMBCCzxkcKr3eIU441l3DlpAMNfQbkcOlBqMvNBn-CX481WyKf3K5rFHQ-6wRonz05aIsWAxCDvAozI_9J0OWllxdQ2MBAuTPbPJ38OqXsYkCQs\"}")])],
        imp: |v, a| sign_jwt(v, a, Alg::Es512),
    },
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Hmac,
    Rsa,
    Ecdsa,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

/// The `alg` names golang-jwt registers (`GetSigningMethod`): a token naming one of these with
/// the wrong method fails the key function, any other name is "unavailable".
const KNOWN_ALGS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "EdDSA", "none",
];

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

    fn family(self) -> Family {
        match self {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => Family::Hmac,
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 => Family::Rsa,
            Alg::Es256 | Alg::Es384 | Alg::Es512 => Family::Ecdsa,
        }
    }

    /// The hash size in bits (256, 384 or 512) selects SHA-256/384/512 for every family.
    fn bits(self) -> u16 {
        match self {
            Alg::Hs256 | Alg::Rs256 | Alg::Es256 => 256,
            Alg::Hs384 | Alg::Rs384 | Alg::Es384 => 384,
            Alg::Hs512 | Alg::Rs512 | Alg::Es512 => 512,
        }
    }

    /// The curve an ES algorithm signs on (ES512 is P-521).
    fn curve(self) -> Curve {
        match self.bits() {
            256 => Curve::P256,
            384 => Curve::P384,
            _ => Curve::P521,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self.bits() {
            256 => sha2::Sha256::digest(data).to_vec(),
            384 => sha2::Sha384::digest(data).to_vec(),
            _ => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self.bits() {
            256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
            _ => Pkcs1v15Sign::new::<sha2::Sha512>(),
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
        match self.bits() {
            256 => run::<Hmac<sha2::Sha256>>(key, data),
            384 => run::<Hmac<sha2::Sha384>>(key, data),
            _ => run::<Hmac<sha2::Sha512>>(key, data),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys.

/// golang-jwt's key parsing errors.
const ERR_NOT_PEM: &str = "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key";
const ERR_NOT_RSA_PUBLIC: &str = "key is not a valid RSA public key";
const ERR_NOT_RSA_PRIVATE: &str = "key is not a valid RSA private key";
const ERR_NOT_EC_PUBLIC: &str = "key is not a valid ECDSA public key";
const ERR_NOT_EC_PRIVATE: &str = "key is not a valid ECDSA private key";

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";

enum EcPublic {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

enum EcPrivate {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// A key to verify with (`parse_jwt_*`) or to sign with (`sign_jwt_*`).
#[derive(Clone)]
enum Key {
    Hmac(Rc<[u8]>),
    RsaPublic(Rc<RsaPublicKey>),
    RsaPrivate(Rc<RsaPrivateKey>),
    EcPublic(Rc<EcPublic>),
    EcPrivate(Rc<EcPrivate>),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum KeyUse {
    Verify,
    Sign,
}

const KEY_CACHE_LIMIT: usize = 64;

/// Parsed keys (or the parse error) by family, use and PEM text.
type KeyCache = HashMap<(Family, KeyUse, String), Result<Key, String>>;

thread_local! {
    static KEY_CACHE: RefCell<KeyCache> =
        RefCell::new(HashMap::new());
}

/// Decode a signing secret the way Bento's secret decoders do, reusing this thread's cached
/// result for the same PEM text.
fn decode_key(family: Family, key_use: KeyUse, secret: &[u8]) -> Result<Key, String> {
    if family == Family::Hmac {
        return Ok(Key::Hmac(Rc::from(secret)));
    }
    let text = String::from_utf8_lossy(secret).into_owned();
    let cache_key = (family, key_use, text);
    if let Some(hit) = KEY_CACHE.with(|c| c.borrow().get(&cache_key).cloned()) {
        return hit;
    }
    let der = pem_decode(cache_key.2.as_bytes());
    let parsed = match der {
        None => Err(ERR_NOT_PEM.to_string()),
        Some(der) => match (family, key_use) {
            (Family::Rsa, KeyUse::Verify) => rsa_public(&der).map(|k| Key::RsaPublic(Rc::new(k))),
            (Family::Rsa, KeyUse::Sign) => rsa_private(&der).map(|k| Key::RsaPrivate(Rc::new(k))),
            (_, KeyUse::Verify) => ec_public(&der).map(|k| Key::EcPublic(Rc::new(k))),
            (_, KeyUse::Sign) => ec_private(&der).map(|k| Key::EcPrivate(Rc::new(k))),
        },
    };
    KEY_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= KEY_CACHE_LIMIT {
            c.clear();
        }
        c.insert(cache_key, parsed.clone());
    });
    parsed
}

/// Go's `pem.Decode`: the first well-formed `-----BEGIN X-----` ... `-----END X-----` block
/// anywhere in the text, headers skipped, whatever its type.
fn pem_decode(data: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(data);
    let mut rest: &str = &text;
    while let Some(pos) = rest.find("-----BEGIN ") {
        let after = &rest[pos + "-----BEGIN ".len()..];
        rest = after;
        let line_end = after.find('\n')?;
        let type_line = after[..line_end].trim_end_matches(['\r', ' ', '\t']);
        let Some(label) = type_line.strip_suffix("-----") else {
            continue;
        };
        let body = &after[line_end + 1..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            continue;
        };
        let mut body = &body[..end];
        // Headers (`Proc-Type: ...`) end at the first blank line.
        if body.lines().next().is_some_and(|l| l.contains(':')) {
            match body.find("\n\n").or_else(|| body.find("\r\n\r\n")) {
                Some(blank) => body = &body[blank..],
                None => continue,
            }
        }
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = STANDARD.decode(b64.as_bytes()) {
            return Some(der);
        }
    }
    None
}

fn spki_oid(der: &[u8]) -> Option<String> {
    SubjectPublicKeyInfoRef::from_der(der)
        .ok()
        .map(|spki| spki.algorithm.oid.to_string())
}

fn pkcs8_oid(der: &[u8]) -> Option<String> {
    PrivateKeyInfo::from_der(der)
        .ok()
        .map(|info| info.algorithm.oid.to_string())
}

/// `jwt.ParseRSAPublicKeyFromPEM`: PKIX, then PKCS#1.
fn rsa_public(der: &[u8]) -> Result<RsaPublicKey, String> {
    if let Some(oid) = spki_oid(der) {
        if oid != OID_RSA {
            return Err(ERR_NOT_RSA_PUBLIC.into());
        }
        return RsaPublicKey::from_public_key_der(der)
            .map_err(|_| "x509: failed to parse public key".to_string());
    }
    RsaPublicKey::from_pkcs1_der(der).map_err(|_| "x509: failed to parse public key".to_string())
}

/// `jwt.ParseRSAPrivateKeyFromPEM`: PKCS#1, then PKCS#8.
fn rsa_private(der: &[u8]) -> Result<RsaPrivateKey, String> {
    if let Ok(k) = RsaPrivateKey::from_pkcs1_der(der) {
        return Ok(k);
    }
    match pkcs8_oid(der) {
        Some(oid) if oid == OID_RSA => RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|_| "x509: failed to parse private key".to_string()),
        Some(_) => Err(ERR_NOT_RSA_PRIVATE.into()),
        None if ec_sec1(der).is_some() => Err(
            "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"
                .into(),
        ),
        None => Err("x509: failed to parse private key".into()),
    }
}

/// `jwt.ParseECPublicKeyFromPEM`: PKIX with an EC key on P-256, P-384 or P-521.
fn ec_public(der: &[u8]) -> Result<EcPublic, String> {
    match spki_oid(der) {
        Some(oid) if oid != OID_EC => return Err(ERR_NOT_EC_PUBLIC.into()),
        Some(_) => {}
        None => return Err("x509: malformed certificate".into()),
    }
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        return Ok(EcPublic::P256(p256::ecdsa::VerifyingKey::from(&k)));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
        return Ok(EcPublic::P384(p384::ecdsa::VerifyingKey::from(&k)));
    }
    if let Ok(k) = p521::PublicKey::from_public_key_der(der) {
        if let Ok(v) = p521::ecdsa::VerifyingKey::from_affine(*k.as_affine()) {
            return Ok(EcPublic::P521(v));
        }
    }
    Err("x509: unsupported elliptic curve".into())
}

/// A SEC 1 `EC PRIVATE KEY` on one of the supported curves.
fn ec_sec1(der: &[u8]) -> Option<EcPrivate> {
    use p256::elliptic_curve::SecretKey;
    if let Ok(k) = SecretKey::<p256::NistP256>::from_sec1_der(der) {
        return Some(EcPrivate::P256(k.into()));
    }
    if let Ok(k) = SecretKey::<p384::NistP384>::from_sec1_der(der) {
        return Some(EcPrivate::P384(k.into()));
    }
    if let Ok(k) = SecretKey::<p521::NistP521>::from_sec1_der(der) {
        return p521::ecdsa::SigningKey::from_bytes(&k.to_bytes())
            .ok()
            .map(EcPrivate::P521);
    }
    None
}

/// `jwt.ParseECPrivateKeyFromPEM`: SEC 1, then PKCS#8.
fn ec_private(der: &[u8]) -> Result<EcPrivate, String> {
    if let Some(k) = ec_sec1(der) {
        return Ok(k);
    }
    match pkcs8_oid(der) {
        Some(oid) if oid == OID_EC => {
            if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
                return Ok(EcPrivate::P256(k.into()));
            }
            if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
                return Ok(EcPrivate::P384(k.into()));
            }
            if let Ok(k) = p521::SecretKey::from_pkcs8_der(der) {
                if let Ok(s) = p521::ecdsa::SigningKey::from_bytes(&k.to_bytes()) {
                    return Ok(EcPrivate::P521(s));
                }
            }
            Err("x509: failed to parse EC private key embedded in PKCS#8: x509: unknown elliptic curve".into())
        }
        Some(_) => Err(ERR_NOT_EC_PRIVATE.into()),
        None if RsaPrivateKey::from_pkcs1_der(der).is_ok() => Err(
            "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
                .into(),
        ),
        None => Err("x509: failed to parse private key".into()),
    }
}

impl EcPublic {
    fn curve(&self) -> Curve {
        match self {
            EcPublic::P256(_) => Curve::P256,
            EcPublic::P384(_) => Curve::P384,
            EcPublic::P521(_) => Curve::P521,
        }
    }

    /// ECDSA over the curve's own hash, which is the algorithm's when the curves agree. A
    /// signature is r||s, each as wide as the curve's field.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            EcPublic::P256(k) => {
                p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            EcPublic::P384(k) => {
                p384::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            EcPublic::P521(k) => {
                p521::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        }
    }
}

impl EcPrivate {
    fn curve(&self) -> Curve {
        match self {
            EcPrivate::P256(_) => Curve::P256,
            EcPrivate::P384(_) => Curve::P384,
            EcPrivate::P521(_) => Curve::P521,
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer as _;
        match self {
            EcPrivate::P256(k) => k
                .try_sign(msg)
                .map(|s: p256::ecdsa::Signature| s.to_bytes().to_vec())
                .map_err(|e| e.to_string()),
            EcPrivate::P384(k) => k
                .try_sign(msg)
                .map(|s: p384::ecdsa::Signature| s.to_bytes().to_vec())
                .map_err(|e| e.to_string()),
            EcPrivate::P521(k) => k
                .try_sign(msg)
                .map(|s: p521::ecdsa::Signature| s.to_bytes().to_vec())
                .map_err(|e| e.to_string()),
        }
    }
}

/// `SigningMethod.Verify`: `Ok(())` or the error golang-jwt wraps in "token signature is
/// invalid".
fn verify(alg: Alg, key: &Key, signing_input: &[u8], sig: &[u8]) -> Result<(), &'static str> {
    match key {
        Key::Hmac(secret) => {
            if constant_time_eq(sig, &alg.mac(secret, signing_input)) {
                Ok(())
            } else {
                Err("signature is invalid")
            }
        }
        Key::RsaPublic(k) => k
            .verify(alg.pkcs1v15(), &alg.digest(signing_input), sig)
            .map_err(|_| "crypto/rsa: verification error"),
        Key::EcPublic(k) => {
            if k.curve() == alg.curve() && k.verify(signing_input, sig) {
                Ok(())
            } else {
                Err("crypto/ecdsa: verification error")
            }
        }
        Key::RsaPrivate(_) | Key::EcPrivate(_) => Err("key is of invalid type"),
    }
}

/// `SigningMethod.Sign`.
fn sign(alg: Alg, key: &Key, signing_input: &[u8]) -> Result<Vec<u8>, String> {
    match key {
        Key::Hmac(secret) => Ok(alg.mac(secret, signing_input)),
        Key::RsaPrivate(k) => k
            .sign(alg.pkcs1v15(), &alg.digest(signing_input))
            .map_err(|e| e.to_string()),
        Key::EcPrivate(k) if k.curve() == alg.curve() => k.sign(signing_input),
        Key::EcPrivate(_) => Err("key is invalid".into()),
        Key::RsaPublic(_) | Key::EcPublic(_) => Err("key is of invalid type".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens.

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Go's `base64.RawURLEncoding`, which (not being `Strict()`) accepts non-zero trailing bits.
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `Parser.DecodeSegment`, with Go's error text.
fn decode_segment(seg: &str) -> Result<Vec<u8>, String> {
    RAW_URL.decode(seg).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => i,
            base64::DecodeError::InvalidLength(n) => n,
            base64::DecodeError::InvalidPadding => seg.find('=').unwrap_or(seg.len()),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

/// `encoding/json`'s output for a map: keys sorted (our objects always are) and `<`, `>`, `&`
/// escaped. Those three only ever occur inside strings, so escaping the whole text is safe.
fn go_json_marshal(v: &Value) -> Vec<u8> {
    let raw = v.to_json_bytes();
    let mut out = Vec::with_capacity(raw.len());
    for b in raw {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(b),
        }
    }
    out
}

/// `jwt.ParseWithClaims` with `MapClaims` and a key function that insists on `alg`, the steps
/// in golang-jwt's order. Registered claims are not validated.
fn parse_jwt(v: &Value, args: &[Value], alg: Alg) -> Result<Value, String> {
    let key = decode_key(alg.family(), KeyUse::Verify, &get_bytes(arg(args, 0))?)?;
    let token = get_str(v)?;
    let fail = |m: String| format!("failed to parse JWT string: {m}");
    let malformed = |what: &str, e: String| fail(format!("token is malformed: {what}: {e}"));
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(fail(
            "token is malformed: token contains an invalid number of segments".into(),
        ));
    }
    let header_bytes =
        decode_segment(parts[0]).map_err(|e| malformed("could not base64 decode header", e))?;
    let header = Value::from_json_slice(&header_bytes)
        .map_err(|e| malformed("could not JSON decode header", e.to_string()))?;
    let header = match header {
        Value::Object(h) => h,
        Value::Null => Object::new(),
        other => {
            return Err(malformed(
                "could not JSON decode header",
                format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    go_json_type(&other)
                ),
            ))
        }
    };
    let claims_bytes =
        decode_segment(parts[1]).map_err(|e| malformed("could not base64 decode claim", e))?;
    let claims = Value::from_json_slice(&claims_bytes)
        .map_err(|e| malformed("could not JSON decode claim", e.to_string()))?;
    let claims = match claims {
        Value::Object(_) => claims,
        Value::Null => Value::Object(Object::new()),
        other => {
            return Err(malformed(
                "could not JSON decode claim",
                format!(
                    "json: cannot unmarshal {} into Go value of type jwt.MapClaims",
                    go_json_type(&other)
                ),
            ))
        }
    };
    let header_alg = match header.get("alg") {
        Some(Value::String(a)) => a.as_str(),
        _ => {
            return Err(fail(
                "token is unverifiable: signing method (alg) is unspecified".into(),
            ))
        }
    };
    if !KNOWN_ALGS.contains(&header_alg) {
        return Err(fail(
            "token is unverifiable: signing method (alg) is unavailable".into(),
        ));
    }
    let sig =
        decode_segment(parts[2]).map_err(|e| malformed("could not base64 decode signature", e))?;
    if header_alg != alg.name() {
        return Err(fail(format!(
            "token is unverifiable: error while executing keyfunc: incorrect signing method: {header_alg}"
        )));
    }
    let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
    verify(alg, &key, signing_input.as_bytes(), &sig)
        .map_err(|e| fail(format!("token signature is invalid: {e}")))?;
    Ok(claims)
}

/// The type word of Go's `json: cannot unmarshal X into ...`.
fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) | Value::Bytes(_) | Value::Timestamp(_) => "string",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Float(_) => "number",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// `jwt.NewWithClaims(method, MapClaims(obj)).SignedString(key)`.
fn sign_jwt(v: &Value, args: &[Value], alg: Alg) -> Result<Value, String> {
    let key = decode_key(alg.family(), KeyUse::Sign, &get_bytes(arg(args, 0))?)
        .map_err(|e| format!("failed to decode signing_secret: {e}"))?;
    signed(alg, &key, get_object(v)?, &Object::new()).map(Value::String)
}

fn signed(alg: Alg, key: &Key, claims: &Object, headers: &Object) -> Result<String, String> {
    let mut header = headers.clone();
    header.insert("alg".into(), Value::String(alg.name().into()));
    header.insert("typ".into(), Value::String("JWT".into()));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(go_json_marshal(&Value::Object(header))),
        URL_SAFE_NO_PAD.encode(go_json_marshal(&Value::Object(claims.clone())))
    );
    let sig = sign(alg, key, signing_input.as_bytes())
        .map_err(|e| format!("failed to sign token: {e}"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// A token signed with a PEM private key, as the `jwt` auth of Bento's HTTP client sends:
/// `method` is `RS256`, `ES384`…, `headers` join `alg` and `typ`.
pub fn sign_token(
    method: &str,
    private_key_pem: &[u8],
    claims: &Object,
    headers: &Object,
) -> Result<String, String> {
    let alg = [
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
    ]
    .into_iter()
    .find(|a| a.name() == method)
    .ok_or_else(|| format!("signing method {method} is not supported"))?;
    let key = decode_key(alg.family(), KeyUse::Sign, private_key_pem)?;
    signed(alg, &key, claims, headers)
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
    use crate::bloblang::library::test_values::s;

    fn spec(name: &str) -> &'static MethodSpec {
        METHODS.iter().find(|m| m.name == name).unwrap()
    }

    fn call(name: &str, target: &Value, secret: &str) -> Result<Value, String> {
        (spec(name).imp)(target, &[s(secret)])
    }

    fn obj(json: &str) -> Value {
        Value::from_json_str(json).unwrap()
    }

    const RSA_PKCS1: &str = include_str!("testdata/jwt/rsa_pkcs1.pem");
    const RSA_PKCS1_PUB: &str = include_str!("testdata/jwt/rsa_pkcs1.pub");
    const RSA_PKCS1_PUB_PKCS1: &str = include_str!("testdata/jwt/rsa_pkcs1_public.pem");
    const RSA_PKCS8: &str = include_str!("testdata/jwt/rsa_pkcs8.pem");
    const RSA_PKCS8_PUB: &str = include_str!("testdata/jwt/rsa_pkcs8.pub");
    const EC256: &str = include_str!("testdata/jwt/ec256.pem");
    const EC256_PUB: &str = include_str!("testdata/jwt/ec256.pub");
    const EC384: &str = include_str!("testdata/jwt/ec384.pem");
    const EC384_PUB: &str = include_str!("testdata/jwt/ec384.pub");
    const EC521: &str = include_str!("testdata/jwt/ec521.pem");
    const EC521_PUB: &str = include_str!("testdata/jwt/ec521.pub");

    #[test]
    fn documented_hmac() {
        let secret = [s("dont-tell-anyone")];
        let claims = obj(r#"{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}"#);
        for name in ["parse_jwt_hs256", "parse_jwt_hs384", "parse_jwt_hs512"] {
            let spec = spec(name);
            let token = obj(spec.examples[0].cases[0].0).as_object().unwrap()["signed"].clone();
            assert_eq!((spec.imp)(&token, &secret).unwrap(), claims, "{name}");
            assert!((spec.imp)(&token, &[s("wrong")])
                .unwrap_err()
                .ends_with("token signature is invalid: signature is invalid"));
        }
        for name in ["sign_jwt_hs256", "sign_jwt_hs384", "sign_jwt_hs512"] {
            let spec = spec(name);
            let (input, output) = spec.examples[0].cases[0];
            let claims = obj(input).as_object().unwrap()["claims"].clone();
            let expected = obj(output).as_object().unwrap()["signed"].clone();
            assert_eq!((spec.imp)(&claims, &secret).unwrap(), expected, "{name}");
        }
        let hs256 = sign_hs256(&obj(r#"{"a":1}"#), &secret).unwrap();
        assert_eq!(
            parse_hs384(&hs256, &secret).unwrap_err(),
            "failed to parse JWT string: token is unverifiable: error while executing keyfunc: incorrect signing method: HS256"
        );
        assert_eq!(
            parse_hs256(&s("a.b"), &secret).unwrap_err(),
            "failed to parse JWT string: token is malformed: token contains an invalid number of segments"
        );
    }

    /// The documented RS and ES tokens were signed by Bento; their keys are in the mappings.
    #[test]
    fn documented_asymmetric() {
        let claims = obj(r#"{"iat":1516239022,"mood":"Disdainful","sub":"1234567890"}"#);
        for alg in ["rs256", "rs384", "rs512", "es256", "es384", "es512"] {
            let spec = spec(&format!("parse_jwt_{alg}"));
            let mapping = spec.examples[0].mapping;
            let key = mapping.split("\"\"\"").nth(1).unwrap();
            let token = obj(spec.examples[0].cases[0].0).as_object().unwrap()["signed"].clone();
            assert_eq!((spec.imp)(&token, &[s(key)]).unwrap(), claims, "{alg}");
            // Flip one signature character.
            let Value::String(t) = &token else { panic!() };
            let mut bad = t.clone().into_bytes();
            let at = t.rfind('.').unwrap() + 5;
            bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
            let bad = Value::String(String::from_utf8(bad).unwrap());
            let family = if alg.starts_with("rs") {
                "rsa"
            } else {
                "ecdsa"
            };
            assert_eq!(
                (spec.imp)(&bad, &[s(key)]).unwrap_err(),
                format!("failed to parse JWT string: token signature is invalid: crypto/{family}: verification error"),
                "{alg}"
            );
        }
    }

    #[test]
    fn sign_then_parse() {
        let claims = obj(r#"{"exp":1,"html":"<a&b>","n":[1,2.5],"sub":"user123"}"#);
        let cases = [
            ("rs256", RSA_PKCS1, RSA_PKCS1_PUB),
            ("rs384", RSA_PKCS1, RSA_PKCS1_PUB_PKCS1),
            ("rs512", RSA_PKCS8, RSA_PKCS8_PUB),
            ("es256", EC256, EC256_PUB),
            ("es384", EC384, EC384_PUB),
            ("es512", EC521, EC521_PUB),
        ];
        for (alg, private, public) in cases {
            let token = call(&format!("sign_jwt_{alg}"), &claims, private).unwrap();
            let text = token.as_str().unwrap().to_string();
            let header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, alg.to_uppercase());
            assert!(text.starts_with(&format!("{}.", URL_SAFE_NO_PAD.encode(header))));
            let payload = text.split('.').nth(1).unwrap();
            assert_eq!(
                URL_SAFE_NO_PAD.decode(payload).unwrap(),
                br#"{"exp":1,"html":"\u003ca\u0026b\u003e","n":[1,2.5],"sub":"user123"}"#
            );
            // Expired, and still parsed: registered claims are not validated.
            assert_eq!(
                call(&format!("parse_jwt_{alg}"), &token, public).unwrap(),
                claims
            );
        }
        // RSA PKCS#1 v1.5 signatures are deterministic.
        assert_eq!(
            call("sign_jwt_rs256", &claims, RSA_PKCS1),
            call("sign_jwt_rs256", &claims, RSA_PKCS1)
        );
        // ES signatures are r||s at the curve's width.
        for (alg, key, len) in [
            ("es256", EC256, 64),
            ("es384", EC384, 96),
            ("es512", EC521, 132),
        ] {
            let token = call(&format!("sign_jwt_{alg}"), &claims, key).unwrap();
            let sig = token
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_string();
            assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), len, "{alg}");
        }
    }

    #[test]
    fn errors() {
        let claims = obj(r#"{"sub":"x"}"#);
        let rs256 = call("sign_jwt_rs256", &claims, RSA_PKCS1).unwrap();
        let es256 = call("sign_jwt_es256", &claims, EC256).unwrap();
        let p = "failed to parse JWT string: ";
        // The header's alg must be the method's.
        assert_eq!(
            call("parse_jwt_rs384", &rs256, RSA_PKCS1_PUB).unwrap_err(),
            format!("{p}token is unverifiable: error while executing keyfunc: incorrect signing method: RS256")
        );
        assert_eq!(
            call("parse_jwt_es256", &rs256, EC256_PUB).unwrap_err(),
            format!("{p}token is unverifiable: error while executing keyfunc: incorrect signing method: RS256")
        );
        // The none attack.
        let none = s("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyMTMzOCIsIm5hbWUiOiJOb3QgQmxvYmF0aGFuIn0.");
        assert_eq!(
            call("parse_jwt_rs256", &none, RSA_PKCS1_PUB).unwrap_err(),
            format!("{p}token is unverifiable: error while executing keyfunc: incorrect signing method: none")
        );
        let unknown = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"XX256"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert_eq!(
            call("parse_jwt_es256", &s(&unknown), EC256_PUB).unwrap_err(),
            format!("{p}token is unverifiable: signing method (alg) is unavailable")
        );
        let no_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert_eq!(
            call("parse_jwt_es256", &s(&no_alg), EC256_PUB).unwrap_err(),
            format!("{p}token is unverifiable: signing method (alg) is unspecified")
        );
        let array_claims = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#),
            URL_SAFE_NO_PAD.encode("[1]")
        );
        assert_eq!(
            call("parse_jwt_es256", &s(&array_claims), EC256_PUB).unwrap_err(),
            format!("{p}token is malformed: could not JSON decode claim: json: cannot unmarshal array into Go value of type jwt.MapClaims")
        );
        assert_eq!(
            call("parse_jwt_es256", &s("e$.e30.e30"), EC256_PUB).unwrap_err(),
            format!("{p}token is malformed: could not base64 decode header: illegal base64 data at input byte 1")
        );
        // Another key, another curve.
        assert_eq!(
            call("parse_jwt_rs256", &rs256, RSA_PKCS8_PUB).unwrap_err(),
            format!("{p}token signature is invalid: crypto/rsa: verification error")
        );
        let es256_on_p384 = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"JWT"}"#),
            es256.as_str().unwrap().split('.').nth(1).unwrap(),
            es256.as_str().unwrap().split('.').nth(2).unwrap()
        );
        assert_eq!(
            call("parse_jwt_es256", &s(&es256_on_p384), EC384_PUB).unwrap_err(),
            format!("{p}token signature is invalid: crypto/ecdsa: verification error")
        );
        // Keys of the wrong kind or not PEM at all.
        assert_eq!(
            call("parse_jwt_rs256", &rs256, EC256_PUB).unwrap_err(),
            "key is not a valid RSA public key"
        );
        assert_eq!(
            call("parse_jwt_es256", &es256, RSA_PKCS1_PUB).unwrap_err(),
            "key is not a valid ECDSA public key"
        );
        assert_eq!(
            call("parse_jwt_rs256", &rs256, "not a key").unwrap_err(),
            "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key"
        );
        assert_eq!(
            call("sign_jwt_es256", &claims, RSA_PKCS1).unwrap_err(),
            "failed to decode signing_secret: x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
        );
        assert_eq!(
            call("sign_jwt_es256", &claims, RSA_PKCS8).unwrap_err(),
            "failed to decode signing_secret: key is not a valid ECDSA private key"
        );
        assert_eq!(
            call("sign_jwt_rs256", &claims, EC384).unwrap_err(),
            "failed to decode signing_secret: key is not a valid RSA private key"
        );
        assert_eq!(
            call("sign_jwt_rs256", &claims, EC256).unwrap_err(),
            "failed to decode signing_secret: x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"
        );
        assert_eq!(
            call("sign_jwt_es384", &claims, EC256).unwrap_err(),
            "failed to sign token: key is invalid"
        );
        assert_eq!(
            call("sign_jwt_rs256", &claims, "-----BEGIN RSA PRIVATE KEY-----\n... signature data ...\n-----END RSA PRIVATE KEY-----").unwrap_err(),
            "failed to decode signing_secret: invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key"
        );
        assert!(call("sign_jwt_rs256", &s("x"), RSA_PKCS1)
            .unwrap_err()
            .contains("expected object value"));
    }

    #[test]
    fn pem_is_found_like_go() {
        let wrapped = format!("some text before\n{EC256_PUB}\ntrailing");
        assert!(pem_decode(wrapped.as_bytes()).is_some());
        assert!(pem_decode(b"-----BEGIN X-----\nAAAA\n-----END Y-----\n").is_none());
        assert!(pem_decode(b"-----BEGIN X-----").is_none());
        assert!(pem_decode(b"-----BEGIN X-----\n%%%%\n-----END X-----\n").is_none());
    }
}
