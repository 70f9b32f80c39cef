//! `http_client`: sends each message to an HTTP server; a failed request nacks the message.

use async_trait::async_trait;

use crate::components::batching::{batching_field, TakenBatching};
use crate::components::connectors::http_client::{
    client_fields, HttpClient, HttpClientConfig, MultipartPartConfig,
};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::{Batch, Message, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    @open
    /// The output's own fields; the client's are read into [`HttpClientConfig`] from the same
    /// object, as for the `http` processor (a flattened field's errors would lose their path),
    /// so unknown fields are not denied here, and the spec puts the client's fields first.
    pub struct HttpClientOutputConfig {
        pub max_in_flight: i64 = int("The maximum number of parallel requests.").default(64),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
        pub batch_as_multipart: bool = bool("Send message batches as a single request using RFC1341 multipart (a batch comes from a `batching` policy).")
            .default(false)
            .advanced(),
        #[serde(default)]
        pub multipart: Vec<MultipartPartConfig> = array(FieldType::Object(MultipartPartConfig::fields()), "EXPERIMENTAL: Create explicit multipart HTTP requests: each message is sent as a multipart body of these parts, rendered for it.")
            .default(serde_json::json!([]))
            .advanced(),
        pub propagate_response: bool = bool("Whether the response body is stored as the reply for inputs that answer their callers (`http_server`).")
            .default(false)
            .advanced(),
    }
}

pub fn spec() -> ComponentSpec {
    let mut fields = client_fields();
    fields.extend(HttpClientOutputConfig::fields());
    ComponentSpec::new("http_client", ComponentKind::Output, "Sends messages to an HTTP server.")
        .description("A message is acknowledged once the server answered with a 2xx (or a `successful_on`) status, after retries as for the `http` processor; otherwise it is nacked with the error.")
        .fields(fields)
        .example("Post to a webhook", "output:\n  http_client:\n    url: http://localhost:9000/hook\n    verb: POST\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: HttpClientOutputConfig = ctx.parse(conf)?;
    let client: HttpClientConfig = ctx.parse(conf)?;
    Ok(Box::new(HttpClientOutput {
        client: HttpClient::new(&client, &ctx.resources)
            .map(|client| client.with_multipart(&c.multipart))
            .map_err(|e| ctx.error(e))?,
        max_in_flight: usize::try_from(c.max_in_flight.max(1)).unwrap_or(1),
        propagate: c.propagate_response,
        multipart: c.batch_as_multipart,
    }))
}

pub struct HttpClientOutput {
    client: HttpClient,
    max_in_flight: usize,
    propagate: bool,
    multipart: bool,
}

#[async_trait]
impl Output for HttpClientOutput {
    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        if self.multipart && batch.len() > 1 {
            return self
                .client
                .send_multipart(batch)
                .await
                .map(drop)
                .map_err(|e| ComponentError::Failed(e.message));
        }
        for i in 0..batch.len() {
            let resp = self
                .client
                .send(batch, i)
                .await
                .map_err(|e| ComponentError::Failed(e.message))?;
            if self.propagate {
                if let Some(slot) = batch[i].sync_response() {
                    let mut reply = Message::from_bytes(resp.body);
                    let mut meta = self.client.extracted(&resp.headers);
                    meta.insert(
                        "http_status_code".into(),
                        Value::Int(i64::from(resp.status)),
                    );
                    reply.set_meta(meta);
                    slot.push(reply);
                }
            }
        }
        Ok(())
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}
