//! Redis plumbing shared by the `redis*` components: a client parsed at build time and a
//! reconnecting connection opened on first use.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::tls::TlsConfig;
use crate::components::{BuildCtx, BuildError, ComponentError};
use crate::spec::FieldSpec;

pub fn url_field() -> FieldSpec {
    FieldSpec::string(
        "url",
        "The URL of the target Redis server. Database is optional and is supplied as the URL path.",
    )
    .example("redis://:6379")
    .example("redis://localhost:6379")
    .example("redis://foousername:foopassword@redisplace:6379")
    .example("redis://localhost:6379/1")
}

pub fn kind_field() -> FieldSpec {
    FieldSpec::string("kind", "Specifies a simple, cluster-aware, or failover-aware redis client. Only `simple` is supported.")
        .default("simple")
        .options(&["simple"])
        .advanced()
}

/// Bento's `master` names the Sentinel master of a `failover` client, which engine lacks.
pub fn master_field() -> FieldSpec {
    FieldSpec::refused("master", "Redis Sentinel failover is not built").default("")
}

/// `component_config!` for a `redis*` component: its struct starts with the connection fields
/// every one of them has (`url`, `kind`, `master`, `tls`, in Bento's order), then its own. The
/// fields are written into the struct rather than flattened in from one of their own, so that a
/// bad one (`tls.enabled`) is reported at its path, which serde's `flatten` loses.
macro_rules! redis_component_config {
    ($(#[$sattr:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $crate::spec::component_config! {
            $(#[$sattr])*
            $vis struct $name {
                pub url: String = spec($crate::components::connectors::redis::url_field()),
                pub kind: String = spec($crate::components::connectors::redis::kind_field()),
                #[serde(skip)]
                #[allow(dead_code)]
                master: $crate::spec::Refused = spec($crate::components::connectors::redis::master_field()),
                pub tls: $crate::components::connectors::tls::TlsConfig =
                    spec($crate::components::connectors::tls::tls_field()),
                $($body)*
            }
        }
    };
}
pub(crate) use redis_component_config;

/// One component's Redis connection.
pub struct RedisConn {
    client: redis::Client,
    url: String,
    tls: TlsConfig,
    /// Longest a single command may take (blocking pops wait longer than the default).
    response_timeout: Option<Duration>,
    conn: OnceCell<ConnectionManager>,
}

impl RedisConn {
    pub fn new(
        url: &str,
        tls: &TlsConfig,
        response_timeout: Option<Duration>,
        ctx: &BuildCtx,
    ) -> Result<RedisConn, BuildError> {
        let client = redis::Client::open(url).map_err(|e| ctx.error(format!("url: {e}")))?;
        tls.check(ctx)?;
        Ok(RedisConn {
            client,
            url: url.to_owned(),
            tls: tls.clone(),
            response_timeout,
            conn: OnceCell::new(),
        })
    }

    /// The connection (opened on first use; it reconnects by itself after failures).
    pub async fn get(&self) -> Result<ConnectionManager, ComponentError> {
        self.conn
            .get_or_try_init(|| async {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(5)))
                    .set_response_timeout(self.response_timeout)
                    .set_number_of_retries(2);
                let client = self.client().await?;
                ConnectionManager::new_with_config(client, cfg)
                    .await
                    .map_err(|e| ComponentError::Failed(format!("redis: {e}")))
            })
            .await
            .cloned()
    }

    /// The client: `rediss://` URLs use TLS; `tls` adds root CAs and a client certificate.
    async fn client(&self) -> Result<redis::Client, ComponentError> {
        crate::http::install_tls_provider();
        if !self.tls.enabled {
            return Ok(self.client.clone());
        }
        let root_cert = self
            .tls
            .root_cas()
            .map_err(ComponentError::Failed)?
            .map(String::into_bytes);
        let client_tls = self.tls.client_cert().map_err(ComponentError::Failed)?.map(
            |(client_cert, client_key)| redis::ClientTlsConfig {
                client_cert,
                client_key,
            },
        );
        redis::Client::build_with_tls(
            self.url.as_str(),
            redis::TlsCertificates {
                client_tls,
                root_cert,
            },
        )
        .map_err(|e| ComponentError::Failed(format!("redis tls: {e}")))
    }

    /// Run `cmd`, retrying `retries` times `period` apart before giving up with the last error.
    pub async fn query_retrying(
        &self,
        cmd: &redis::Cmd,
        retries: u32,
        period: Duration,
    ) -> Result<redis::Value, String> {
        let mut attempt = 0;
        loop {
            let r = match self.get().await {
                Ok(mut c) => match cmd.query_async::<redis::Value>(&mut c).await {
                    // go-redis, under Bento's redis processor, returns a nil reply (`GET` of a
                    // missing key) as the error `redis: nil`, retried like any other.
                    Ok(redis::Value::Nil) => Err("redis: nil".to_owned()),
                    Ok(v) => Ok(v),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) if attempt >= retries => return Err(e),
                Err(e) => {
                    attempt += 1;
                    tracing::warn!("redis command failed, retrying ({attempt}/{retries}): {e}");
                    tokio::time::sleep(period).await;
                }
            }
        }
    }

    /// Open the connection and check the server answers.
    pub async fn ping(&self) -> Result<(), ComponentError> {
        let mut c = self.get().await?;
        redis::cmd("PING")
            .query_async::<()>(&mut c)
            .await
            .map_err(|e| ComponentError::Failed(format!("redis: {e}")))
    }
}

/// A Redis error as a component error: connection trouble means reconnect and retry.
pub fn component_error(e: redis::RedisError) -> ComponentError {
    if e.is_connection_dropped() || e.is_io_error() || e.is_timeout() || e.is_connection_refusal() {
        ComponentError::NotConnected
    } else {
        ComponentError::Failed(format!("redis: {e}"))
    }
}

/// A Redis reply as a message value.
pub fn reply_value(v: redis::Value) -> crate::message::Value {
    use crate::message::Value as V;
    use redis::Value as R;
    match v {
        R::Nil => V::Null,
        R::Int(i) => V::Int(i),
        R::BulkString(b) => match String::from_utf8(b) {
            Ok(s) => V::String(s),
            Err(e) => V::Bytes(e.into_bytes()),
        },
        R::Array(a) | R::Set(a) => V::Array(a.into_iter().map(reply_value).collect()),
        R::SimpleString(s) => V::String(s),
        R::Okay => V::String("OK".into()),
        R::Map(m) => V::Object(
            m.into_iter()
                .map(|(k, v)| (reply_value(k).to_string(), reply_value(v)))
                .collect(),
        ),
        R::Double(f) => V::Float(f),
        R::Boolean(b) => V::Bool(b),
        R::VerbatimString { text, .. } => V::String(text),
        R::BigNumber(n) => V::String(n.to_string()),
        R::Attribute { data, .. } => reply_value(*data),
        R::Push { data, .. } => V::Array(data.into_iter().map(reply_value).collect()),
        R::ServerError(e) => V::String(format!("{e:?}")),
        other => V::String(format!("{other:?}")),
    }
}

/// A message value as a command argument.
pub fn arg_bytes(v: &crate::message::Value) -> Vec<u8> {
    match v {
        crate::message::Value::Bytes(b) => b.clone(),
        other => other.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_when_building() {
        let ctx = BuildCtx::new(Default::default());
        let tls = TlsConfig::default();
        assert!(RedisConn::new("redis://localhost:6379/1", &tls, None, &ctx).is_ok());
        assert!(RedisConn::new("rediss://cache.example:6380", &tls, None, &ctx).is_ok());
        assert!(RedisConn::new("nonsense", &tls, None, &ctx).is_err());
    }
}
