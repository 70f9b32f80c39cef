//! `http`: sends each message to an HTTP server and replaces it with the response.

use async_trait::async_trait;

use crate::components::connectors::http_client::{client_fields, HttpClient, HttpClientConfig};
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::{Batch, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, Refused};

component_config! {
    @open
    /// The processor's own fields; the client's are read into [`HttpClientConfig`] from the
    /// same object (not flattened in: serde loses a flattened field's path, which errors should
    /// name). No `deny_unknown_fields`, as each struct sees the other's fields (lint checks
    /// them).
    pub struct HttpProcessorConfig {
        pub parallel: bool = bool(
            "Whether to send the messages of a batch in parallel.",
        )
        .default(false),
        #[serde(skip)]
        #[allow(dead_code)]
        batch_as_multipart: Refused = refused(
            "each message is sent as its own request; multipart bodies are not built",
        )
        .default(false),
    }
}

pub fn spec() -> ComponentSpec {
    let mut fields = client_fields();
    fields.extend(HttpProcessorConfig::fields());
    ComponentSpec::new("http", ComponentKind::Processor, "Performs an HTTP request using a message batch as the request body, and replaces the original message parts with the body of the response.")
        .description("Each message is sent as its own request. On success the payload becomes the response body, the metadata `http_status_code` is set and `extract_headers` copies response headers into metadata. On failure (after `retries`) the message keeps its payload, is flagged with an error such as `http://host/path: HTTP request returned unexpected response code (502): 502 Bad Gateway, Error: ...` (the URL without credentials or query), and carries `http_status_code` when the server answered. Status codes in `backoff_on` retry with exponential backoff up to `max_retry_backoff`, codes in `drop_on` fail at once, other failures retry after `retry_period`.")
        .fields(fields)
        .example(
            "Call a model server",
            "pipeline:\n  processors:\n    - http:\n        url: http://localhost:8000/v1/infer\n        verb: POST\n        headers:\n          Content-Type: application/json\n        timeout: 30s\n        retries: 3\n",
        )
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: HttpProcessorConfig = ctx.parse(conf)?;
    let client: HttpClientConfig = ctx.parse(conf)?;
    Ok(Box::new(HttpProcessor {
        client: HttpClient::new(&client, &ctx.resources).map_err(|e| ctx.error(e))?,
        parallel: c.parallel,
        info: ctx.info.clone(),
    }))
}

pub struct HttpProcessor {
    client: HttpClient,
    parallel: bool,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for HttpProcessor {
    async fn process(&self, batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let results = if self.parallel {
            futures::future::join_all((0..batch.len()).map(|i| self.client.send(&batch, i))).await
        } else {
            let mut r = Vec::with_capacity(batch.len());
            for i in 0..batch.len() {
                r.push(self.client.send(&batch, i).await);
            }
            r
        };
        let mut out = batch;
        for (m, r) in out.iter_mut().zip(results) {
            match r {
                Ok(resp) => {
                    m.set_bytes(resp.body);
                    let extracted = self.client.extracted(&resp.headers);
                    let meta = m.meta_mut();
                    meta.extend(extracted);
                    meta.insert(
                        "http_status_code".into(),
                        Value::Int(i64::from(resp.status)),
                    );
                }
                Err(e) => {
                    if let Some(code) = e.status {
                        m.meta_mut()
                            .insert("http_status_code".into(), Value::Int(i64::from(code)));
                    }
                    self.info.flag(m, e.message);
                }
            }
        }
        Ok(vec![out])
    }
}
