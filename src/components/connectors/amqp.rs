//! AMQP 0.9.1 plumbing shared by the `amqp_0_9` input and output: connecting with failover and
//! converting header values.

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, LongString};
use lapin::{Connection, ConnectionProperties};

use super::tls::TlsConfig;
use super::{connect_any, expand_urls};
use crate::components::ComponentError;
use crate::message::{Metadata, Value};

/// Connect to the first URL of `urls` (comma-separated items expanded) that accepts us.
/// `amqps://` URLs use TLS; `tls` adds root CAs and a client certificate.
pub async fn connect(
    urls: &[String],
    tls: &TlsConfig,
    name: &str,
) -> Result<Connection, ComponentError> {
    crate::http::install_tls_provider();
    let urls = expand_urls(urls);
    let tls = OwnedTLSConfig {
        identity: tls
            .client_cert()
            .map_err(ComponentError::Failed)?
            .map(|(pem, key)| OwnedIdentity::PKCS8 { pem, key }),
        cert_chain: tls.root_cas().map_err(ComponentError::Failed)?,
    };
    connect_any(&urls, |u| {
        let u = default_vhost(&u);
        let props = ConnectionProperties::default().with_connection_name(name.into());
        let tls = tls.clone();
        async move {
            let runtime = lapin::runtime::default_runtime()?;
            Connection::connect_with_config(&u, props, tls, runtime).await
        }
    })
    .await
}

/// Go's amqp091 `ParseURI` reads a path of `/` or none as the default vhost `/`; lapin reads
/// them as the vhost `""`, which RabbitMQ refuses. Bento's documented form
/// `amqp://guest:guest@localhost:5672/` must connect, so such paths are made explicit (`/%2f`).
/// Every other path (`/vh`, `/%2f`) is left for lapin, which decodes it as Go does.
pub fn default_vhost(u: &str) -> String {
    let Some(scheme_end) = u.find("://") else {
        return u.to_owned();
    };
    let rest = &u[scheme_end + 3..];
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_start);
    let (path, query) = match tail.find('?') {
        Some(q) => tail.split_at(q),
        None => (tail, ""),
    };
    if path.is_empty() || path == "/" {
        format!("{}{authority}/%2f{query}", &u[..scheme_end + 3])
    } else {
        u.to_owned()
    }
}

/// A header or property as Bento's `amqpSetMetadata` stores it: the key with `-` turned into
/// `_`, the value as text; a table becomes one entry per member (`key_member`), an array one per
/// item (`key_0`, `key_1`); timestamps are RFC 3339 in UTC, decimals their digits with the
/// point; empty values are not stored.
///
/// Where Bento's switch has no case for a type (`int8`, `uint16`, `uint32`, `uint64`) it stores
/// nothing, and a decimal with a scale of 0 gets a trailing point (`"12."`): nobody can rely on
/// a header being dropped, so engine writes those as their digits.
pub fn set_metadata(meta: &mut Metadata, key: &str, v: &AMQPValue) {
    let key = key.replace('-', "_");
    let text = match v {
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(i) => i.to_string(),
        AMQPValue::ShortShortUInt(i) => i.to_string(),
        AMQPValue::ShortInt(i) => i.to_string(),
        AMQPValue::ShortUInt(i) => i.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::LongUInt(i) => i.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::Float(f) => crate::message::value::format_go_float(f64::from(*f)),
        AMQPValue::Double(f) => crate::message::value::format_go_float(*f),
        AMQPValue::DecimalValue(d) => decimal_text(d.value, d.scale),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ByteArray(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
        AMQPValue::Timestamp(t) => i64::try_from(*t)
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        AMQPValue::FieldTable(t) => {
            for (k, v) in t.inner() {
                set_metadata(meta, &format!("{key}_{}", k.as_str()), v);
            }
            return;
        }
        AMQPValue::FieldArray(a) => {
            for (i, v) in a.as_slice().iter().enumerate() {
                set_metadata(meta, &format!("{key}_{i}"), v);
            }
            return;
        }
        AMQPValue::Void => String::new(),
    };
    if !text.is_empty() {
        meta.insert(key.into(), Value::String(text));
    }
}

/// An AMQP decimal (`value` × 10^-`scale`) as text: `12345`, scale 2 → `123.45`.
fn decimal_text(value: u32, scale: u8) -> String {
    let digits = value.to_string();
    let scale = usize::from(scale);
    if scale == 0 {
        return digits;
    }
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    format!("{int}.{frac}")
}

/// Metadata value → header value: scalars keep their type, everything else is sent as JSON text.
pub fn to_amqp(v: &Value) -> AMQPValue {
    match v {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Int(i) => AMQPValue::LongLongInt(*i),
        Value::Float(f) => AMQPValue::Double(*f),
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Bytes(b) => AMQPValue::LongString(LongString::from(b.clone())),
        other => AMQPValue::LongString(LongString::from(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::FieldTable;

    #[test]
    fn headers_become_metadata_as_bento_stores_them() {
        let mut nested = FieldTable::default();
        nested.insert("in-ner".into(), AMQPValue::LongInt(-4));
        let mut headers = FieldTable::default();
        headers.insert("x-count".into(), AMQPValue::ShortShortUInt(3));
        headers.insert("flag".into(), AMQPValue::Boolean(true));
        headers.insert("ratio".into(), AMQPValue::Double(0.5));
        headers.insert("empty".into(), AMQPValue::LongString("".into()));
        headers.insert("none".into(), AMQPValue::Void);
        headers.insert(
            "price".into(),
            AMQPValue::DecimalValue(lapin::types::DecimalValue {
                scale: 2,
                value: 12345,
            }),
        );
        headers.insert(
            "small".into(),
            AMQPValue::DecimalValue(lapin::types::DecimalValue { scale: 3, value: 5 }),
        );
        headers.insert("at".into(), AMQPValue::Timestamp(1_700_000_000));
        headers.insert(
            "list".into(),
            AMQPValue::FieldArray(
                vec![AMQPValue::LongString("a".into()), AMQPValue::Boolean(false)].into(),
            ),
        );
        headers.insert("table".into(), AMQPValue::FieldTable(nested));
        let mut meta = Metadata::new();
        set_metadata(&mut meta, "", &AMQPValue::Void);
        for (k, v) in headers.inner() {
            set_metadata(&mut meta, k.as_str(), v);
        }
        let got: Vec<(String, String)> = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want = [
            ("at", "2023-11-14T22:13:20Z"),
            ("flag", "true"),
            ("list_0", "a"),
            ("list_1", "false"),
            ("price", "123.45"),
            ("ratio", "0.5"),
            ("small", "0.005"),
            ("table_in_ner", "-4"),
            ("x_count", "3"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
        assert!(meta.values().all(|v| matches!(v, Value::String(_))));
    }

    #[test]
    fn vhost_paths_read_as_go_reads_them() {
        let cases = [
            (
                "amqp://guest:guest@localhost:5672/",
                "amqp://guest:guest@localhost:5672/%2f",
            ),
            (
                "amqp://guest:guest@localhost:5672",
                "amqp://guest:guest@localhost:5672/%2f",
            ),
            ("amqps://h/?heartbeat=5", "amqps://h/%2f?heartbeat=5"),
            ("amqp://h:5672/%2f", "amqp://h:5672/%2f"),
            ("amqp://h:5672/vh", "amqp://h:5672/vh"),
        ];
        for (given, want) in cases {
            assert_eq!(default_vhost(given), want, "{given}");
        }
    }

    #[test]
    fn headers_round_trip_and_flatten() {
        let mut inner = FieldTable::default();
        inner.insert("b".into(), AMQPValue::LongLongInt(2));
        let mut t = FieldTable::default();
        t.insert("a".into(), to_amqp(&Value::from("x")));
        t.insert("n".into(), AMQPValue::FieldTable(inner));
        let mut out = Metadata::new();
        for (k, v) in t.inner() {
            set_metadata(&mut out, k.as_str(), v);
        }
        let want: Metadata = [
            ("a".into(), Value::from("x")),
            ("n_b".into(), Value::from("2")),
        ]
        .into_iter()
        .collect();
        assert_eq!(out, want);
    }
}
