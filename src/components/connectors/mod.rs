//! Helpers shared by the connectors that talk to servers (AMQP, SQL, Redis): URL lists with
//! failover, and the conversion of metadata values for wire formats.

pub mod amqp;
pub mod http_client;
pub mod pg_tls;
pub mod redis;
pub mod sql;
pub mod tls;

use crate::bloblang::Mapping;
use crate::components::ComponentError;
use crate::message::{Message, Value};

/// Run the args mapping for message `i`: it must give an array.
pub fn args_for(
    mapping: Option<&Mapping>,
    batch: &[Message],
    i: usize,
) -> Result<Vec<Value>, String> {
    let Some(m) = mapping else {
        return Ok(Vec::new());
    };
    match m
        .query(batch, i)
        .map_err(|e| format!("args_mapping: {e}"))?
    {
        Value::Array(a) => Ok(a),
        other => Err(format!(
            "args_mapping returned non-array result: {}",
            other.type_name()
        )),
    }
}

/// Bento's `urls` lists: every item may hold several comma-separated URLs; blanks are ignored.
pub fn expand_urls(urls: &[String]) -> Vec<String> {
    urls.iter()
        .flat_map(|u| u.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Try `connect` on each URL in order and return the first success (failover). The error
/// names every URL that failed, with passwords hidden.
pub async fn connect_any<T, E, F, Fut>(urls: &[String], mut connect: F) -> Result<T, ComponentError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    if urls.is_empty() {
        return Err(ComponentError::Failed("no urls configured".into()));
    }
    let mut errors = Vec::with_capacity(urls.len());
    for u in urls {
        match connect(u.clone()).await {
            Ok(t) => return Ok(t),
            Err(e) => errors.push(format!("{}: {e}", redact_url(u))),
        }
    }
    Err(ComponentError::Failed(format!(
        "failed to connect: {}",
        errors.join("; ")
    )))
}

/// `scheme://user:secret@host` → `scheme://user:xxxxx@host`, for logs and errors.
pub fn redact_url(u: &str) -> String {
    let Some(scheme_end) = u.find("://") else {
        return u.to_owned();
    };
    let rest = &u[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:xxxxx{}",
            &u[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => u.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_expand_on_commas() {
        let got = expand_urls(&["amqp://a/, amqp://b/".into(), "".into(), "amqp://c/".into()]);
        assert_eq!(got, vec!["amqp://a/", "amqp://b/", "amqp://c/"]);
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:xxxxx@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
    }

    #[tokio::test]
    async fn failover_takes_the_first_that_works() {
        let urls = vec!["bad".to_owned(), "good".to_owned(), "also".to_owned()];
        let got = connect_any(&urls, |u| async move {
            if u == "bad" {
                Err("refused")
            } else {
                Ok(u)
            }
        })
        .await;
        assert_eq!(got, Ok("good".to_owned()));
        let none: Result<(), _> = connect_any(&urls, |_| async { Err::<(), _>("refused") }).await;
        assert!(matches!(none, Err(ComponentError::Failed(e)) if e.contains("bad: refused")));
    }
}
