//! A plain hand-written gateway doing what `configs/gateway.yaml` does on its 202 path, with no
//! engine in it: the baseline of the gateway row of `benches/platform.sh`.
//!
//!     cargo run --release --features bench-baselines --example bench_gateway_baseline -- --address 127.0.0.1:8090
//!
//! `POST /api/v1/inference`: parse and validate the JSON body, look the key's SHA-256 up in
//! PostgreSQL, reserve the estimate in Redis with the same Lua script, insert the request row,
//! publish it persistent and mandatory on a confirm-mode channel and wait for the confirm, then
//! answer 202 `{request_id, status, estimated_tokens}`. Refusals answer 400/401/429 and a failed
//! queue or database 503 (releasing the reservation), as the config does. Backends come from
//! the same environment variables as `configs/backends/production.yaml`. `--declare` declares
//! the request queue (durable) and purges it, then exits.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueuePurgeOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    address: String,
    /// Declare (durable) and purge the request queue, then exit.
    #[arg(long)]
    declare: bool,
}

const RESERVE: &str = "local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if used + want > tonumber(ARGV[2]) then
  return -1
end
used = redis.call('INCRBY', KEYS[1], want)
redis.call('EXPIRE', KEYS[1], 172800)
return used";

struct App {
    pg: deadpool_postgres::Pool,
    redis: redis::aio::ConnectionManager,
    reserve: redis::Script,
    channel: lapin::Channel,
    queue: String,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn refuse(status: StatusCode, error: &str, field: &str) -> Response<Full<Bytes>> {
    reply(status, json!({"error": error, "field": field}))
}

/// The validated request, or the field that failed.
fn validate(body: &Value) -> Result<(String, String, Value, i64), (&'static str, &'static str)> {
    let Some(obj) = body.as_object() else {
        return Err(("the body must be a JSON object", "body"));
    };
    let model = match obj.get("model").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => m.to_owned(),
        _ => return Err(("model must be a non-empty string", "model")),
    };
    let prompt = match obj.get("prompt").and_then(Value::as_str) {
        Some(p) if !p.is_empty() && p.len() <= 100_000 => p.to_owned(),
        Some(_) => return Err(("prompt must be 1 to 100000 characters long", "prompt")),
        None => return Err(("prompt must be a string", "prompt")),
    };
    let max_tokens = match obj.get("max_tokens") {
        None | Some(Value::Null) => 256,
        Some(v) => match v.as_i64() {
            Some(n) if (1..=8192).contains(&n) => n,
            _ => return Err(("max_tokens must be an integer from 1 to 8192", "max_tokens")),
        },
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(p) if p.is_object() => p.clone(),
        Some(_) => return Err(("params must be an object", "params")),
    };
    Ok((model, prompt, params, max_tokens))
}

async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::POST || req.uri().path() != "/api/v1/inference" {
        return reply(StatusCode::NOT_FOUND, json!({"error": "not found"}));
    }
    let key = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .trim()
        .to_owned();
    let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large", "body"),
    };
    let Ok(client) = app.pg.get().await else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "unavailable"}),
        );
    };
    // Authenticate first, as the config does.
    let key_sha256 = hex::encode(Sha256::digest(key.as_bytes()));
    let row = match client
        .prepare_cached(
            "SELECT user_id, daily_token_limit, active FROM api_keys WHERE key_sha256 = $1",
        )
        .await
    {
        Ok(stmt) => client.query_opt(&stmt, &[&key_sha256]).await,
        Err(e) => Err(e),
    };
    let (user_id, limit) = match row {
        Ok(Some(r)) if r.get::<_, bool>(2) => (r.get::<_, String>(0), r.get::<_, i64>(1)),
        Ok(_) => {
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({"error": "missing, unknown or inactive API key"}),
            )
        }
        Err(_) => {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "unavailable"}),
            )
        }
    };
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (model, prompt, params, max_tokens) = match validate(&parsed) {
        Ok(v) => v,
        Err((error, field)) => return refuse(StatusCode::BAD_REQUEST, error, field),
    };
    let estimated = (prompt.len() as i64 + 3) / 4 + max_tokens;
    let quota_key = format!("quota:{user_id}:{}", chrono::Utc::now().format("%Y-%m-%d"));
    let mut redis = app.redis.clone();
    let used: Result<i64, _> = app
        .reserve
        .key(&quota_key)
        .arg(estimated)
        .arg(limit)
        .invoke_async(&mut redis)
        .await;
    match used {
        Ok(n) if n < 0 => {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "daily token quota exceeded",
                "max_tokens",
            )
        }
        Ok(_) => {}
        Err(_) => {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "unavailable"}),
            )
        }
    }
    let request_id = uuid::Uuid::new_v4();
    let release = |mut redis: redis::aio::ConnectionManager, key: String| async move {
        let _: Result<i64, _> = redis::cmd("DECRBY")
            .arg(key)
            .arg(estimated)
            .query_async(&mut redis)
            .await;
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "the service is unavailable, try again later"}),
        )
    };
    let inserted = match client
        .prepare_cached(
            "INSERT INTO requests (request_id, user_id, model, prompt, params, max_tokens, estimated_tokens, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued')",
        )
        .await
    {
        Ok(stmt) => {
            client
                .execute(
                    &stmt,
                    &[
                        &request_id,
                        &user_id,
                        &model,
                        &prompt,
                        &params,
                        &(max_tokens as i32),
                        &(estimated as i32),
                    ],
                )
                .await
        }
        Err(e) => Err(e),
    };
    if inserted.is_err() {
        return release(redis, quota_key).await;
    }
    let id = request_id.to_string();
    let message = json!({
        "request_id": id, "user_id": user_id, "model": model, "prompt": prompt,
        "params": params, "max_tokens": max_tokens, "estimated_tokens": estimated,
        "quota_key": quota_key,
    })
    .to_string();
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    let opts = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let confirmed = match app
        .channel
        .basic_publish(
            "".into(),
            app.queue.as_str().into(),
            opts,
            message.as_bytes(),
            props,
        )
        .await
    {
        Ok(confirm) => matches!(confirm.await, Ok(Confirmation::Ack(None))),
        Err(_) => false,
    };
    if !confirmed {
        let _ = client
            .execute(
                "UPDATE requests SET status = 'failed', error = 'queueing failed' WHERE request_id = $1",
                &[&request_id],
            )
            .await;
        return release(redis, quota_key).await;
    }
    reply(
        StatusCode::ACCEPTED,
        json!({"request_id": id, "status": "queued", "estimated_tokens": estimated}),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    engine::http::install_tls_provider();
    let amqp_url = engine::components::connectors::amqp::default_vhost(&env(
        "AMQP_URL",
        "amqp://guest:guest@127.0.0.1:5672/",
    ));
    let queue = env("REQUEST_QUEUE", "inference_requests");
    let conn = Connection::connect(&amqp_url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    if args.declare {
        let opts = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), opts, FieldTable::default())
            .await?;
        let n = channel
            .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
            .await?;
        eprintln!("declared {queue}, purged {n} messages");
        return Ok(());
    }
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;

    let pg_config: tokio_postgres::Config = env(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
    )
    .parse()?;
    let manager = deadpool_postgres::Manager::from_config(
        pg_config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool_size = env("PG_POOL_SIZE", "16").parse().unwrap_or(16);
    let pg = deadpool_postgres::Pool::builder(manager)
        .max_size(pool_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?;
    let redis = redis::Client::open(env("REDIS_URL", "redis://127.0.0.1:6379"))?
        .get_connection_manager()
        .await?;
    let app = Arc::new(App {
        pg,
        redis,
        reserve: redis::Script::new(RESERVE),
        channel,
        queue,
    });
    let listener = TcpListener::bind(&args.address).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(app, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
