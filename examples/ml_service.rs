//! The stand-in ML inference service used by the tests, runnable on its own for trying the
//! worker pipeline locally:
//!
//!     cargo run --example ml_service -- 127.0.0.1:8000
//!
//! `POST /v1/infer` with `{"prompt": "..."}` answers `{"output", "tokens_used", "attempt"}`.
//! Query parameters make it misbehave: `fail=N&key=K` (503 for the first N requests of key K),
//! `status=CODE`, `delay_ms=MS`, `stall=1`.

#[path = "../tests/all/ml_service.rs"]
mod ml_service;

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let (addr, _svc) = ml_service::start_on(&address).await;
    println!("ML service stand-in listening on http://{addr}/v1/infer");
    let _ = tokio::signal::ctrl_c().await;
}
