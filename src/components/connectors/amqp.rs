//! AMQP 0.9.1 plumbing shared by the `amqp_0_9` input and output: connecting with failover and
//! converting header values.

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Connection, ConnectionProperties};

use super::tls::TlsConfig;
use super::{connect_any, expand_urls};
use crate::components::ComponentError;
use crate::message::Value;

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
            .await
            .map_err(ComponentError::Failed)?
            .map(|(pem, key)| OwnedIdentity::PKCS8 { pem, key }),
        cert_chain: tls.root_cas().await.map_err(ComponentError::Failed)?,
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

/// Header value → metadata value. Nested tables are flattened by the caller.
pub fn from_amqp(v: &AMQPValue) -> Value {
    match v {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(i) => Value::Int((*i).into()),
        AMQPValue::ShortShortUInt(i) => Value::Int((*i).into()),
        AMQPValue::ShortInt(i) => Value::Int((*i).into()),
        AMQPValue::ShortUInt(i) => Value::Int((*i).into()),
        AMQPValue::LongInt(i) => Value::Int((*i).into()),
        AMQPValue::LongUInt(i) => Value::Int((*i).into()),
        AMQPValue::LongLongInt(i) => Value::Int(*i),
        AMQPValue::Float(f) => Value::Float((*f).into()),
        AMQPValue::Double(f) => Value::Float(*f),
        AMQPValue::DecimalValue(d) => {
            Value::Float(f64::from(d.value) / 10f64.powi(i32::from(d.scale)))
        }
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into()),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(from_amqp).collect()),
        AMQPValue::Timestamp(t) => Value::Int(i64::try_from(*t).unwrap_or(i64::MAX)),
        AMQPValue::FieldTable(t) => Value::Object(
            t.inner()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), from_amqp(v)))
                .collect(),
        ),
        AMQPValue::ByteArray(b) => Value::Bytes(b.as_slice().to_vec()),
        AMQPValue::Void => Value::Null,
    }
}

/// Headers → metadata entries; a nested table's keys are prefixed with their parent's key
/// (`parent_child`), as Bento does.
pub fn flatten_headers(prefix: &str, t: &FieldTable, out: &mut Vec<(String, Value)>) {
    for (k, v) in t.inner() {
        let key = if prefix.is_empty() {
            k.as_str().to_owned()
        } else {
            format!("{prefix}_{}", k.as_str())
        };
        match v {
            AMQPValue::FieldTable(inner) => flatten_headers(&key, inner, out),
            other => out.push((key, from_amqp(other))),
        }
    }
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
        let mut out = Vec::new();
        flatten_headers("", &t, &mut out);
        assert_eq!(
            out,
            vec![
                ("a".into(), Value::from("x")),
                ("n_b".into(), Value::Int(2))
            ]
        );
    }
}
