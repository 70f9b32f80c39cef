//! `sql_insert` output: one multi-row INSERT per batch. A lost connection makes the runtime
//! reconnect and retry; other failures nack the batch.

use async_trait::async_trait;

use crate::components::connectors::sql::{Inserter, SqlError};
use crate::components::processors::sql_insert::{inserter, SqlInsertConfig};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_insert", ComponentKind::Output, "Inserts a row into an SQL database for each message.")
        .description("Each batch becomes one multi-row INSERT statement whose values are bound as parameters, so a batch is written whole or not at all: a message whose `args_mapping` fails fails the batch and nothing of it is inserted. When the database connection is lost the output reconnects and retries the batch; any other failure is reported upstream (nack).")
        .fields(SqlInsertConfig::fields())
        .example("Table insert (PostgreSQL)", "output:\n  sql_insert:\n    driver: postgres\n    dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n    table: footable\n    columns: [ id, name, topic ]\n    args_mapping: |\n      root = [\n        this.user.id,\n        this.user.name,\n        meta(\"kafka_topic\"),\n      ]\n")
        .example("Insert into SQLite, creating the table", "output:\n  sql_insert:\n    driver: sqlite\n    dsn: file:./events.db\n    table: events\n    columns: [ id, body ]\n    args_mapping: root = [ this.id, this.body ]\n    init_statement: CREATE TABLE IF NOT EXISTS events (id INTEGER, body TEXT)\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: SqlInsertConfig = ctx.parse(conf)?;
    let max_in_flight = c.max_in_flight.unwrap_or(64).max(1) as usize;
    Ok(Box::new(SqlInsertOutput {
        inner: inserter(c, ctx)?,
        max_in_flight,
    }))
}

pub struct SqlInsertOutput {
    inner: Inserter,
    max_in_flight: usize,
}

#[async_trait]
impl Output for SqlInsertOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        self.inner.db.connect().await.map_err(connect_error)
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        // A batch is written whole or not at all: its nack replays every message of it.
        let (r, failed) = self.inner.insert(batch, true).await;
        if let Some((i, e)) = failed.first() {
            return Err(ComponentError::Failed(format!("message {i}: {e}")));
        }
        r.map_err(ComponentError::from)
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

/// `connect` reports every failure as such (the runtime retries it with backoff).
pub fn connect_error(e: SqlError) -> ComponentError {
    ComponentError::Failed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[tokio::test]
    async fn a_batch_is_inserted_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dsn = dir.path().join("t.db").display().to_string();
        let conf = serde_json::json!({"sql_insert": {
            "driver": "sqlite", "dsn": dsn, "table": "t", "columns": ["id"],
            "args_mapping": "root = [ this.id.number() ]",
            "init_statement": "CREATE TABLE t (id INTEGER)",
        }});
        let conf =
            crate::components::registry::ComponentConf::from_json(ComponentKind::Output, &conf)
                .expect("config");
        let out =
            crate::components::registry::build_output(&conf, &BuildCtx::new(Default::default()))
                .expect("built");
        out.connect().await.expect("connects");
        let batch = |docs: &[&str]| -> Batch {
            docs.iter()
                .map(|d| Message::from_bytes(d.to_string()))
                .collect()
        };
        let err = out.write(&batch(&[r#"{"id": 1}"#, r#"{"id": "x"}"#])).await;
        assert!(err.is_err(), "a message without arguments fails the batch");
        out.write(&batch(&[r#"{"id": 2}"#, r#"{"id": 3}"#]))
            .await
            .expect("a good batch");
        let rows = rusqlite::Connection::open(&dsn)
            .expect("open")
            .query_row("SELECT group_concat(id) FROM t", [], |r| {
                r.get::<_, String>(0)
            })
            .expect("rows");
        assert_eq!(rows, "2,3", "nothing of the failed batch was inserted");
    }
}
