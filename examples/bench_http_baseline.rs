//! A minimal hyper 1 HTTP/1.1 server: the baseline of the `http_server → drop` row of
//! `benches/connectors.sh`. It reads each request body and answers 200 with an empty body,
//! which is what the engine's `http_server → drop` answers.
//!
//!     cargo run --release --features bench-baselines --example bench_http_baseline -- 127.0.0.1:8081 [WORK]
//!
//! WORK (default 0) is a number of loop iterations spun after reading each body: user-space
//! work of a known size, to see what a server that spends more per request gets on the same
//! bench (BENCHMARKS.md, issue 9, twelfth pass).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

static WORK: AtomicU64 = AtomicU64::new(0);

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = match req.into_body().collect().await {
        Ok(_) => hyper::StatusCode::OK,
        Err(_) => hyper::StatusCode::BAD_REQUEST,
    };
    let mut x = 0u64;
    for i in 0..WORK.load(Ordering::Relaxed) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
    }
    std::hint::black_box(x);
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    Ok(r)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    if let Some(work) = std::env::args().nth(2) {
        let work = work
            .parse()
            .map_err(|e| std::io::Error::other(format!("WORK {work}: {e}")))?;
        WORK.store(work, Ordering::Relaxed);
    }
    let listener = TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let conn =
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(handle));
            let _ = conn.await;
        });
    }
}
