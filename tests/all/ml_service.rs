//! A stand-in for the ML inference service (outside this project, so it may be faked): answers
//! `POST /v1/infer` with a completion, and misbehaves on request.
//!
//! Controls, as query parameters: `fail=N` answers 503 to the first N requests carrying the same
//! `key`; `status=CODE` always answers CODE; `delay_ms=MS` answers after MS milliseconds;
//! `stall=1` never answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Default)]
pub struct MlService {
    /// Requests seen per `key`.
    pub seen: Mutex<HashMap<String, u64>>,
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r.headers_mut()
        .insert("x-model-version", "stub-1".parse().unwrap());
    r
}

impl MlService {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let q: HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let key = q.get("key").cloned().unwrap_or_default();
        let n = {
            let mut seen = self.seen.lock().unwrap();
            let c = seen.entry(key).or_default();
            *c += 1;
            *c
        };
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if q.contains_key("stall") {
            std::future::pending::<()>().await;
        }
        if let Some(ms) = q.get("delay_ms").and_then(|v| v.parse().ok()) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        if let Some(code) = q.get("status").and_then(|v| v.parse().ok()) {
            return reply(
                StatusCode::from_u16(code).unwrap(),
                format!("{{\"error\":\"status {code}\"}}"),
            );
        }
        if let Some(fail) = q.get("fail").and_then(|v| v.parse::<u64>().ok()) {
            if n <= fail {
                return reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "{\"error\":\"overloaded\"}".into(),
                );
            }
        }
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let prompt = doc.get("prompt").and_then(|p| p.as_str()).unwrap_or("");
        let out = serde_json::json!({
            "output": format!("echo: {prompt}"),
            "tokens_used": prompt.len() / 4 + 1,
            "attempt": n,
        });
        reply(StatusCode::OK, out.to_string())
    }
}

/// Start the service on a free loopback port.
#[allow(dead_code)]
pub async fn start() -> (SocketAddr, Arc<MlService>) {
    start_on("127.0.0.1:0").await
}

/// Start the service on `address`.
pub async fn start_on(address: &str) -> (SocketAddr, Arc<MlService>) {
    let listener = TcpListener::bind(address).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = Arc::new(MlService::default());
    let s = svc.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let f = service_fn(move |req| {
                    let s = s.clone();
                    async move { Ok::<_, Infallible>(s.handle(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), f)
                    .await;
            });
        }
    });
    (addr, svc)
}
