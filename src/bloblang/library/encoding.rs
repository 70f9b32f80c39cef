//! Encoding, hashing, compression and encryption methods.

use std::io::{Read, Write};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Digest as _;

use super::helpers::*;
use super::{MethodSpec, ParamDefault as D, ParamKind as K};
use crate::message::Value;

const CAT: &str = "Encoding and Encryption";

pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "encode",
        category: CAT,
        description: "Encodes a string or byte array target according to a chosen scheme and returns a string result. Available schemes are: `base64`, `base64url` (RFC 4648 with padding characters), `base64rawurl` (RFC 4648 without padding characters), `hex`, `ascii85`.",
        params: &[req("scheme", K::String, "The encoding scheme to use.")],
        examples: &[
            ex("", "root.encoded = this.value.encode(\"hex\")", &[(r#"{"value":"hello world"}"#, r#"{"encoded":"68656c6c6f20776f726c64"}"#)]),
            ex("", "root.encoded = content().encode(\"ascii85\")", &[("this is totally unstructured data", "{\"encoded\":\"FD,B0+DGm>FDl80Ci\\\"A>F`)8BEckl6F`M&(+Cno&@/\"}")]),
        ],
        imp: encode,
    },
    MethodSpec {
        name: "decode",
        category: CAT,
        description: "Decodes an encoded string target according to a chosen scheme and returns the result as a byte array. Available schemes are: `base64`, `base64url` (RFC 4648 with padding characters), `base64rawurl` (RFC 4648 without padding characters), `hex`, `ascii85`.",
        params: &[req("scheme", K::String, "The decoding scheme to use.")],
        examples: &[
            ex("", "root.decoded = this.value.decode(\"hex\").string()", &[(r#"{"value":"68656c6c6f20776f726c64"}"#, r#"{"decoded":"hello world"}"#)]),
            ex("", "root = this.encoded.decode(\"ascii85\")", &[("{\"encoded\":\"FD,B0+DGm>FDl80Ci\\\"A>F`)8BEckl6F`M&(+Cno&@/\"}", "this is totally unstructured data")]),
        ],
        imp: decode,
    },
    MethodSpec {
        name: "hash",
        category: CAT,
        description: "Hashes a string or byte array according to a chosen algorithm and returns the result as a byte array. Available algorithms are: `hmac_sha1`, `hmac_sha256`, `hmac_sha512`, `md5`, `sha1`, `sha256`, `sha512`, `xxhash64`, `crc32`, `fnv32`. The hmac algorithms require a key, which is specified as a second argument.",
        params: &[
            req("algorithm", K::String, "The hasing algorithm to use."),
            opt("key", K::String, D::Optional, "An optional key to use."),
            opt("polynomial", K::String, D::Str("IEEE"), "An optional polynomial key to use when selecting the `crc32` algorithm, otherwise ignored. Options are `IEEE` (default), `Castagnoli` and `Koopman`"),
        ],
        examples: &[
            ex("", "root.h1 = this.value.hash(\"sha1\").encode(\"hex\")\nroot.h2 = this.value.hash(\"hmac_sha1\",\"static-key\").encode(\"hex\")", &[(r#"{"value":"hello world"}"#, r#"{"h1":"2aae6c35c94fcfb415dbe95f408b9ce91ee846ed","h2":"d87e5f068fa08fe90bb95bc7c8344cb809179d76"}"#)]),
            ex("The `crc32` algorithm supports options for the polynomial.", "root.h1 = this.value.hash(algorithm: \"crc32\", polynomial: \"Castagnoli\").encode(\"hex\")\nroot.h2 = this.value.hash(algorithm: \"crc32\", polynomial: \"Koopman\").encode(\"hex\")", &[(r#"{"value":"hello world"}"#, r#"{"h1":"c99465aa","h2":"df373d3c"}"#)]),
        ],
        imp: hash,
    },
    MethodSpec {
        name: "compress",
        category: CAT,
        description: "Compresses a string or byte array value according to a specified algorithm: `flate`, `gzip`, `pgzip`, `lz4`, `snappy`, `zlib` or `zstd`.",
        params: &[
            req("algorithm", K::String, "One of `flate`, `gzip`, `pgzip`, `lz4`, `snappy`, `zlib`, `zstd`."),
            opt("level", K::Int, D::Int(-1), "The level of compression to use. May not be applicable to all algorithms."),
        ],
        examples: &[
            // The compressed length depends on the deflate implementation (Go's differs from
            // flate2 by a byte here), so the example is shown but not checked.
            ex_skip("", "let long_content = range(0, 1000).map_each(content()).join(\" \")\nroot.a_len = $long_content.length()\nroot.b_len = $long_content.compress(\"gzip\").length()\n", &[("hello world this is some content", r#"{"a_len":32999,"b_len":161}"#)]),
            ex("", "root.compressed = content().compress(\"lz4\").encode(\"base64\")", &[("hello world I love space", r#"{"compressed":"BCJNGGRwuRgAAIBoZWxsbyB3b3JsZCBJIGxvdmUgc3BhY2UAAAAAGoETLg=="}"#)]),
        ],
        imp: compress,
    },
    MethodSpec {
        name: "decompress",
        category: CAT,
        description: "Decompresses a string or byte array value according to a specified algorithm: `bzip2`, `flate`, `gzip`, `pgzip`, `lz4`, `snappy`, `zlib` or `zstd`. The result of decompression is a byte array.",
        params: &[req("algorithm", K::String, "One of `bzip2`, `flate`, `gzip`, `pgzip`, `lz4`, `snappy`, `zlib`, `zstd`.")],
        examples: &[
            ex("", "root = this.compressed.decode(\"base64\").decompress(\"lz4\")", &[(r#"{"compressed":"BCJNGGRwuRgAAIBoZWxsbyB3b3JsZCBJIGxvdmUgc3BhY2UAAAAAGoETLg=="}"#, "hello world I love space")]),
            ex("Use the `.string()` method in order to coerce the result into a string.", "root.result = this.compressed.decode(\"base64\").decompress(\"lz4\").string()", &[(r#"{"compressed":"BCJNGGRwuRgAAIBoZWxsbyB3b3JsZCBJIGxvdmUgc3BhY2UAAAAAGoETLg=="}"#, r#"{"result":"hello world I love space"}"#)]),
        ],
        imp: decompress,
    },
    MethodSpec {
        name: "encrypt_aes",
        category: CAT,
        description: "Encrypts a string or byte array target according to a chosen AES encryption method and returns a string result. The algorithms require a key and an initialization vector / nonce. Available schemes are: `ctr`, `ofb`, `cbc`.",
        params: AES_PARAMS,
        examples: &[ex("", "let key = \"2b7e151628aed2a6abf7158809cf4f3c\".decode(\"hex\")\nlet vector = \"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\".decode(\"hex\")\nroot.encrypted = this.value.encrypt_aes(\"ctr\", $key, $vector).encode(\"hex\")", &[(r#"{"value":"hello world!"}"#, r#"{"encrypted":"84e9b31ff7400bdf80be7254"}"#)])],
        imp: encrypt_aes,
    },
    MethodSpec {
        name: "decrypt_aes",
        category: CAT,
        description: "Decrypts an encrypted string or byte array target according to a chosen AES encryption method and returns the result as a byte array. The algorithms require a key and an initialization vector / nonce. Available schemes are: `ctr`, `ofb`, `cbc`.",
        params: AES_PARAMS,
        examples: &[ex("", "let key = \"2b7e151628aed2a6abf7158809cf4f3c\".decode(\"hex\")\nlet vector = \"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\".decode(\"hex\")\nroot.decrypted = this.value.decode(\"hex\").decrypt_aes(\"ctr\", $key, $vector).string()", &[(r#"{"value":"84e9b31ff7400bdf80be7254"}"#, r#"{"decrypted":"hello world!"}"#)])],
        imp: decrypt_aes,
    },
];

const AES_PARAMS: &[super::Param] = &[
    req(
        "scheme",
        K::String,
        "The scheme to use for encryption, one of `ctr`, `ofb`, `cbc`.",
    ),
    req("key", K::String, "A key to encrypt with."),
    req("iv", K::String, "An initialization vector / nonce."),
];

/// Go's `encoding/ascii85` encoder (no delimiters, `z` for zero groups).
pub fn ascii85_encode(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len() * 5 / 4 + 4);
    for chunk in src.chunks(4) {
        let mut buf = [0u8; 4];
        buf[..chunk.len()].copy_from_slice(chunk);
        let mut v = u32::from_be_bytes(buf);
        if v == 0 && chunk.len() == 4 {
            out.push('z');
            continue;
        }
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = (v % 85) as u8 + b'!';
            v /= 85;
        }
        for d in &digits[..chunk.len() + 1] {
            out.push(*d as char);
        }
    }
    out
}

/// Go's `encoding/ascii85` decoder: whitespace is skipped, `z` expands to four zero bytes.
pub fn ascii85_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(src.len() * 4 / 5);
    let mut group = [0u32; 5];
    let mut n = 0;
    for (i, &c) in src.iter().enumerate() {
        match c {
            b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\x0b' | 0 => continue,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                group[n] = (c - b'!') as u32;
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, d| acc * 85 + *d as u64);
                    if v > u32::MAX as u64 {
                        return Err(format!("illegal ascii85 data at input byte {i}"));
                    }
                    out.extend_from_slice(&(v as u32).to_be_bytes());
                    n = 0;
                }
            }
            _ => return Err(format!("illegal ascii85 data at input byte {i}")),
        }
    }
    if n == 1 {
        return Err(format!("illegal ascii85 data at input byte {}", src.len()));
    }
    if n > 1 {
        for d in group.iter_mut().skip(n) {
            *d = 84;
        }
        let v = group.iter().fold(0u64, |acc, d| acc * 85 + *d as u64);
        out.extend_from_slice(&(v as u32).to_be_bytes()[..n - 1]);
    }
    Ok(out)
}

fn b64_err(e: base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(i, _) => format!("illegal base64 data at input byte {i}"),
        base64::DecodeError::InvalidLength(l) => format!("illegal base64 data at input byte {l}"),
        base64::DecodeError::InvalidLastSymbol(i, _) => {
            format!("illegal base64 data at input byte {i}")
        }
        base64::DecodeError::InvalidPadding => "illegal base64 data at input byte 0".into(),
    }
}

pub fn encode_bytes(scheme: &str, b: &[u8]) -> Result<String, String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    Ok(match scheme {
        "base64" => STANDARD.encode(b),
        "base64url" => URL_SAFE.encode(b),
        "base64rawurl" => URL_SAFE_NO_PAD.encode(b),
        "hex" => hex::encode(b),
        "ascii85" => ascii85_encode(b),
        other => return Err(format!("unrecognized encoding type: {other}")),
    })
}

pub fn decode_bytes(scheme: &str, b: &[u8]) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    // Go's streaming base64 decoders skip newlines.
    let strip = || -> Vec<u8> {
        b.iter()
            .copied()
            .filter(|c| *c != b'\n' && *c != b'\r')
            .collect()
    };
    match scheme {
        "base64" => STANDARD.decode(strip()).map_err(b64_err),
        "base64url" => URL_SAFE.decode(strip()).map_err(b64_err),
        "base64rawurl" => URL_SAFE_NO_PAD.decode(strip()).map_err(b64_err),
        "hex" => hex::decode(b).map_err(|e| match e {
            hex::FromHexError::InvalidHexCharacter { c, .. } => {
                format!(
                    "encoding/hex: invalid byte: U+{:04X} {}",
                    c as u32,
                    go_char_quote(c)
                )
            }
            _ => "encoding/hex: odd length hex string".into(),
        }),
        "ascii85" => ascii85_decode(b),
        other => Err(format!("unrecognized encoding type: {other}")),
    }
}

fn go_char_quote(c: char) -> String {
    let q = go_quote(&c.to_string());
    format!("'{}'", &q[1..q.len() - 1])
}

fn encode(v: &Value, args: &[Value]) -> Result<Value, String> {
    let scheme = arg_str(args, 0)?;
    encode_bytes(&scheme, &str_or_bytes(v)?).map(Value::String)
}

fn decode(v: &Value, args: &[Value]) -> Result<Value, String> {
    let scheme = arg_str(args, 0)?;
    decode_bytes(&scheme, &str_or_bytes(v)?).map(Value::Bytes)
}

fn hmac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

const CRC32_KOOPMAN: crc::Algorithm<u32> = crc::Algorithm {
    width: 32,
    poly: 0x741b8cd7,
    init: 0xffffffff,
    refin: true,
    refout: true,
    xorout: 0xffffffff,
    check: 0x2d3dd0ae,
    residue: 0x00000000,
};

fn hash(v: &Value, args: &[Value]) -> Result<Value, String> {
    let algo = arg_str(args, 0)?;
    let key = arg_opt_str(args, 1)?
        .map(|_| get_bytes(arg(args, 1)).map(|b| b.into_owned()))
        .transpose()?
        .unwrap_or_default();
    let poly = arg_opt_str(args, 2)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "IEEE".into());
    let data = str_or_bytes(v)?;
    let needs_key = || {
        if key.is_empty() {
            Err(format!("hash algorithm {algo} requires a key argument"))
        } else {
            Ok(())
        }
    };
    let out = match algo.as_ref() {
        "hmac_sha1" | "hmac-sha1" => {
            needs_key()?;
            hmac_of::<Hmac<sha1::Sha1>>(&key, &data)
        }
        "hmac_sha256" | "hmac-sha256" => {
            needs_key()?;
            hmac_of::<Hmac<sha2::Sha256>>(&key, &data)
        }
        "hmac_sha512" | "hmac-sha512" => {
            needs_key()?;
            hmac_of::<Hmac<sha2::Sha512>>(&key, &data)
        }
        "md5" => md5::Md5::digest(&data[..]).to_vec(),
        "sha1" => sha1::Sha1::digest(&data[..]).to_vec(),
        "sha256" => sha2::Sha256::digest(&data[..]).to_vec(),
        "sha512" => sha2::Sha512::digest(&data[..]).to_vec(),
        "xxhash64" => twox_hash::XxHash64::oneshot(0, &data)
            .to_string()
            .into_bytes(),
        // FNV-1 (not 1a), as Go's fnv.New32, written as decimal text like xxhash64.
        "fnv32" => data
            .iter()
            .fold(2_166_136_261u32, |h, b| {
                h.wrapping_mul(16_777_619) ^ *b as u32
            })
            .to_string()
            .into_bytes(),
        "crc32" => {
            let sum = match poly.as_str() {
                "IEEE" => crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&data),
                "Castagnoli" => crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&data),
                "Koopman" => crc::Crc::<u32>::new(&CRC32_KOOPMAN).checksum(&data),
                other => return Err(format!("unsupported crc32 hash key {}", go_quote(other))),
            };
            sum.to_be_bytes().to_vec()
        }
        other => return Err(format!("unrecognized hash type: {other}")),
    };
    Ok(Value::Bytes(out))
}

fn compress(v: &Value, args: &[Value]) -> Result<Value, String> {
    let algo = arg_str(args, 0)?;
    let level = match arg(args, 1) {
        Value::Null => -1,
        l => get_int(l)?,
    };
    let lvl = if (0..=9).contains(&level) {
        flate2::Compression::new(level as u32)
    } else {
        flate2::Compression::default()
    };
    let data = str_or_bytes(v)?;
    let io = |e: std::io::Error| e.to_string();
    let out = match algo.as_ref() {
        "gzip" | "pgzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), lvl);
            e.write_all(&data).map_err(io)?;
            e.finish().map_err(io)?
        }
        "zlib" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), lvl);
            e.write_all(&data).map_err(io)?;
            e.finish().map_err(io)?
        }
        "flate" => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), lvl);
            e.write_all(&data).map_err(io)?;
            e.finish().map_err(io)?
        }
        "lz4" => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max4MB)
                .content_checksum(true);
            let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            e.write_all(&data).map_err(io)?;
            e.finish().map_err(|e| e.to_string())?
        }
        "zstd" => ruzstd::encoding::compress_to_vec(
            &data[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        ),
        "snappy" => snap::raw::Encoder::new()
            .compress_vec(&data)
            .map_err(|e| e.to_string())?,
        other => return Err(format!("unrecognised compression algorithm: {other}")),
    };
    Ok(Value::Bytes(out))
}

/// The largest output `decompress` produces: a few kilobytes of a crafted archive can expand
/// to gigabytes (a decompression bomb).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

fn decompress(v: &Value, args: &[Value]) -> Result<Value, String> {
    let algo = arg_str(args, 0)?;
    let data = str_or_bytes(v)?;
    let reader: Box<dyn Read + '_> = match algo.as_ref() {
        "gzip" | "pgzip" => Box::new(flate2::read::MultiGzDecoder::new(&data[..])),
        "zlib" => Box::new(flate2::read::ZlibDecoder::new(&data[..])),
        "flate" => Box::new(flate2::read::DeflateDecoder::new(&data[..])),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(&data[..])),
        "bzip2" => Box::new(bzip2::read::MultiBzDecoder::new(&data[..])),
        "zstd" => match ruzstd::decoding::StreamingDecoder::new(&data[..]) {
            Ok(d) => Box::new(d),
            Err(e) => return Err(e.to_string()),
        },
        "snappy" => {
            let len = snap::raw::decompress_len(&data).map_err(|e| e.to_string())?;
            if len as u64 > MAX_DECOMPRESSED_BYTES {
                return Err(too_large());
            }
            return snap::raw::Decoder::new()
                .decompress_vec(&data)
                .map(Value::Bytes)
                .map_err(|e| e.to_string());
        }
        other => return Err(format!("unrecognised compression algorithm: {other}")),
    };
    let mut out = Vec::new();
    reader
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(too_large());
    }
    Ok(Value::Bytes(out))
}

fn too_large() -> String {
    format!("decompressed data larger than {MAX_DECOMPRESSED_BYTES} bytes")
}

fn aes_apply(v: &Value, args: &[Value], encrypt: bool) -> Result<Value, String> {
    use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, StreamCipher};
    let scheme = arg_str(args, 0)?;
    let key = get_bytes(arg(args, 1))?;
    let iv = get_bytes(arg(args, 2))?;
    if !matches!(key.len(), 16 | 24 | 32) {
        return Err(format!("crypto/aes: invalid key size {}", key.len()));
    }
    if iv.len() != 16 {
        return Err("the key must match the initialisation vector size".into());
    }
    let mut buf = str_or_bytes(v)?.into_owned();
    let bad_len = |_| "invalid key or iv length".to_string();

    macro_rules! with_aes {
        ($f:ident) => {
            match key.len() {
                16 => $f!(aes::Aes128),
                24 => $f!(aes::Aes192),
                _ => $f!(aes::Aes256),
            }
        };
    }
    macro_rules! ctr_mode {
        ($c:ty) => {{
            let mut s = ctr::Ctr128BE::<$c>::new_from_slices(&key, &iv).map_err(bad_len)?;
            s.apply_keystream(&mut buf);
        }};
    }
    macro_rules! ofb_mode {
        ($c:ty) => {{
            let mut s = ofb::Ofb::<$c>::new_from_slices(&key, &iv).map_err(bad_len)?;
            s.apply_keystream(&mut buf);
        }};
    }
    macro_rules! cbc_enc {
        ($c:ty) => {{
            let mut m = cbc::Encryptor::<$c>::new_from_slices(&key, &iv).map_err(bad_len)?;
            for chunk in buf.chunks_exact_mut(16) {
                let block: &mut aes::Block =
                    chunk.try_into().map_err(|_| "bad block".to_string())?;
                m.encrypt_block(block);
            }
        }};
    }
    macro_rules! cbc_dec {
        ($c:ty) => {{
            let mut m = cbc::Decryptor::<$c>::new_from_slices(&key, &iv).map_err(bad_len)?;
            for chunk in buf.chunks_exact_mut(16) {
                let block: &mut aes::Block =
                    chunk.try_into().map_err(|_| "bad block".to_string())?;
                m.decrypt_block(block);
            }
        }};
    }

    match scheme.as_ref() {
        "ctr" => with_aes!(ctr_mode),
        "ofb" => with_aes!(ofb_mode),
        "cbc" => {
            if buf.len() % 16 != 0 {
                return Err(if encrypt {
                    "plaintext is not a multiple of the block size".into()
                } else {
                    "ciphertext is not a multiple of the block size".into()
                });
            }
            if encrypt {
                with_aes!(cbc_enc)
            } else {
                with_aes!(cbc_dec)
            }
        }
        other => {
            return Err(if encrypt {
                format!("unrecognized encryption type: {other}")
            } else {
                format!("unrecognized decryption type: {other}")
            })
        }
    }
    Ok(Value::Bytes(buf))
}

fn encrypt_aes(v: &Value, args: &[Value]) -> Result<Value, String> {
    aes_apply(v, args, true)
}

fn decrypt_aes(v: &Value, args: &[Value]) -> Result<Value, String> {
    aes_apply(v, args, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloblang::library::test_values::s;

    #[test]
    fn decompression_bombs_are_refused() {
        // 300 MiB of zeros compress to about 300 KiB.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..300 {
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
        }
        let bomb = Value::Bytes(enc.finish().unwrap());
        let err = decompress(&bomb, &[s("gzip")]).unwrap_err();
        assert!(err.contains("larger than 268435456 bytes"), "{err}");
        let small = compress(&s("hello"), &[s("gzip")]).unwrap();
        assert_eq!(
            decompress(&small, &[s("gzip")]).unwrap(),
            Value::Bytes(b"hello".to_vec())
        );
    }

    fn hexs(v: Value) -> String {
        match v {
            Value::Bytes(b) => hex::encode(b),
            other => panic!("not bytes: {other:?}"),
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(
            encode(&s("hello world"), &[s("hex")]).unwrap(),
            s("68656c6c6f20776f726c64")
        );
        let a85 = "FD,B0+DGm>FDl80Ci\"A>F`)8BEckl6F`M&(+Cno&@/";
        assert_eq!(
            encode(&s("this is totally unstructured data"), &[s("ascii85")]).unwrap(),
            s(a85)
        );
        assert_eq!(
            decode(&s(a85), &[s("ascii85")]).unwrap(),
            Value::Bytes(b"this is totally unstructured data".to_vec())
        );
        assert_eq!(
            encode(&Value::Bytes(vec![0, 0, 0, 0, 1]), &[s("ascii85")]).unwrap(),
            s("z!<")
        );
        assert_eq!(
            decode(&s("z!<"), &[s("ascii85")]).unwrap(),
            Value::Bytes(vec![0, 0, 0, 0, 1])
        );
        assert_eq!(
            decode(&s("68656c6c6f"), &[s("hex")]).unwrap(),
            Value::Bytes(b"hello".to_vec())
        );
        assert_eq!(
            decode(&s("6g"), &[s("hex")]).unwrap_err(),
            "encoding/hex: invalid byte: U+0067 'g'"
        );
        assert_eq!(encode(&s("hi?>"), &[s("base64")]).unwrap(), s("aGk/Pg=="));
        assert_eq!(
            encode(&s("hi?>"), &[s("base64url")]).unwrap(),
            s("aGk_Pg==")
        );
        assert_eq!(
            encode(&s("hi?>"), &[s("base64rawurl")]).unwrap(),
            s("aGk_Pg")
        );
        assert_eq!(
            decode(&s("aGk/Pg=="), &[s("base64")]).unwrap(),
            Value::Bytes(b"hi?>".to_vec())
        );
        assert!(decode(&s("a*"), &[s("base64")])
            .unwrap_err()
            .starts_with("illegal base64 data"));
        assert_eq!(
            encode(&s("x"), &[s("nope")]).unwrap_err(),
            "unrecognized encoding type: nope"
        );
        assert!(encode(&Value::Int(1), &[s("hex")]).is_err());
    }

    #[test]
    fn hashes() {
        let hw = s("hello world");
        let none = Value::Null;
        assert_eq!(
            hexs(hash(&hw, &[s("sha1"), none.clone(), none.clone()]).unwrap()),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            hexs(hash(&hw, &[s("hmac_sha1"), s("static-key"), none.clone()]).unwrap()),
            "d87e5f068fa08fe90bb95bc7c8344cb809179d76"
        );
        assert_eq!(
            hexs(hash(&hw, &[s("crc32"), none.clone(), s("Castagnoli")]).unwrap()),
            "c99465aa"
        );
        assert_eq!(
            hexs(hash(&hw, &[s("crc32"), none.clone(), s("Koopman")]).unwrap()),
            "df373d3c"
        );
        assert_eq!(
            hexs(hash(&hw, &[s("crc32"), none.clone(), none.clone()]).unwrap()),
            "0d4a1185"
        );
        assert_eq!(
            hexs(hash(&hw, &[s("md5"), none.clone(), none.clone()]).unwrap()),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(
            hash(&hw, &[s("xxhash64"), none.clone(), none.clone()]).unwrap(),
            Value::Bytes(b"5020219685658847592".to_vec())
        );
        // FNV-1 32 of "hello world" is 0x548da96f.
        assert_eq!(
            hash(&hw, &[s("fnv32"), none.clone(), none.clone()]).unwrap(),
            Value::Bytes(0x548da96fu32.to_string().into_bytes())
        );
        assert_eq!(
            hash(&hw, &[s("hmac_sha256"), none.clone(), none.clone()]).unwrap_err(),
            "hash algorithm hmac_sha256 requires a key argument"
        );
        assert!(hash(&hw, &[s("nope"), none.clone(), none]).is_err());
    }

    #[test]
    fn compression() {
        let long = s(&vec!["hello world this is some content"; 1000].join(" "));
        for algo in ["gzip", "zlib", "flate", "pgzip", "lz4", "snappy", "zstd"] {
            let c = compress(&long, &[s(algo), Value::Null]).unwrap();
            let d = decompress(&c, &[s(algo)]).unwrap();
            assert_eq!(d, long, "{algo}");
        }
        assert!(decompress(&s("not gzip"), &[s("gzip")]).is_err());
        assert!(decompress(&s("not zstd"), &[s("zstd")]).is_err());
        // "hello" compressed with bzip2 -9.
        let bz = hex::decode(
            "425a68393141592653591931653d00000081000244a000219a68334d07338bb9229c28480c98b29e80",
        )
        .unwrap();
        assert_eq!(
            decompress(&Value::Bytes(bz), &[s("bzip2")]).unwrap(),
            Value::Bytes(b"hello".to_vec())
        );
        let lz = compress(&s("hello world I love space"), &[s("lz4"), Value::Null]).unwrap();
        assert_eq!(
            encode(&lz, &[s("base64")]).unwrap(),
            s("BCJNGGRwuRgAAIBoZWxsbyB3b3JsZCBJIGxvdmUgc3BhY2UAAAAAGoETLg==")
        );
        assert!(compress(&long, &[s("lzma"), Value::Null]).is_err());
    }

    #[test]
    fn aes() {
        let key = Value::Bytes(hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap());
        let iv = Value::Bytes(hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").unwrap());
        let enc = encrypt_aes(&s("hello world!"), &[s("ctr"), key.clone(), iv.clone()]).unwrap();
        assert_eq!(hexs(enc.clone()), "84e9b31ff7400bdf80be7254");
        assert_eq!(
            decrypt_aes(&enc, &[s("ctr"), key.clone(), iv.clone()]).unwrap(),
            Value::Bytes(b"hello world!".to_vec())
        );
        for scheme in ["ofb", "cbc"] {
            let e = encrypt_aes(
                &s("0123456789abcdef"),
                &[s(scheme), key.clone(), iv.clone()],
            )
            .unwrap();
            assert_eq!(
                decrypt_aes(&e, &[s(scheme), key.clone(), iv.clone()]).unwrap(),
                Value::Bytes(b"0123456789abcdef".to_vec())
            );
        }
        assert!(encrypt_aes(&s("short"), &[s("cbc"), key.clone(), iv.clone()]).is_err());
        assert!(encrypt_aes(&s("x"), &[s("ctr"), s("short"), iv])
            .unwrap_err()
            .contains("invalid key size"));
    }
}
