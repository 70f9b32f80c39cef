//! Connectors against real servers on loopback, through one reusable suite (`suite.rs`).
//! Each connector supplies config templates with `$ID` and a [`suite::Target`] that inspects
//! and disrupts the server; a server that is not reachable skips the tests (fails with CI=true).

mod amqp;
mod e2e;
mod redis;
mod sql;
pub mod suite;

/// The URL of a test service from `var` (or `default`), if something listens at its host and
/// port (`default_port` when the URL names none). Unreachable: panics under `CI=true`,
/// otherwise prints why the test is skipped.
pub fn service(var: &str, default: &str, default_port: u16) -> Option<String> {
    use std::net::ToSocketAddrs;
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let addr = host_port(&url, default_port);
    let reachable = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        });
    if reachable {
        return Some(url);
    }
    let why = format!("{var}: nothing listens on {addr}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why} (CI=true: services are required; run scripts/services.sh start)");
    }
    eprintln!("SKIPPED: {why} (run scripts/services.sh start)");
    None
}

/// The test RabbitMQ (Bento's URL form, with the trailing `/`), if it is reachable.
pub fn amqp_url() -> Option<String> {
    service(
        "ENGINE_TEST_AMQP_URL",
        "amqp://guest:guest@127.0.0.1:5672/",
        5672,
    )
}

/// `scheme://user:pass@host:port/path?query` → `host:port`.
fn host_port(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    }
}

#[test]
fn service_addresses_come_from_the_urls() {
    assert_eq!(
        host_port("amqp://guest:guest@127.0.0.1:5672/%2f", 1),
        "127.0.0.1:5672"
    );
    assert_eq!(
        host_port("postgres://postgres@db/test?sslmode=disable", 5432),
        "db:5432"
    );
    assert_eq!(host_port("redis://127.0.0.1:6379/", 1), "127.0.0.1:6379");
}
