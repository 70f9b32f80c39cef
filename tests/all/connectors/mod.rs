//! Connectors against real servers on loopback, through one reusable suite (`suite.rs`).
//! Each connector supplies config templates with `$ID` and a [`suite::Target`] that inspects
//! and disrupts the server; a server that is not reachable skips the tests (fails with CI=true).

mod amqp;
mod redis;
mod sql;
pub mod suite;

/// The URL of a test service from `var` (or `default`), if something listens at `host:port`.
/// Unreachable: panics under `CI=true`, otherwise prints why the test is skipped.
pub fn service(var: &str, default: &str, host_port: &str) -> Option<String> {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let addr = std::env::var(format!("{var}_ADDR")).unwrap_or_else(|_| host_port.to_owned());
    let reachable = addr
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        })
        .unwrap_or(false);
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
