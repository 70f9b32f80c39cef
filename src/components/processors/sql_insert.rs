//! `sql_insert` processor: inserts one row per message (one multi-row INSERT per batch) and
//! leaves the messages unchanged.

use async_trait::async_trait;
use serde::Deserialize;

use crate::components::connectors::sql::{self, Db, Inserter, SqlConnConfig};
use crate::components::{
    BatchFailure, BuildCtx, BuildError, ComponentError, ComponentInfo, Plugin, Processor,
};
use crate::config::spec::{ComponentKind, ComponentSpec, FieldSpec, FieldType};
use crate::message::Batch;

#[derive(Deserialize)]
pub struct SqlInsertConfig {
    #[serde(flatten)]
    pub conn: SqlConnConfig,
    pub table: String,
    pub columns: Vec<String>,
    pub args_mapping: String,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
    #[serde(default)]
    pub max_in_flight: Option<i64>,
}

/// The fields `sql_insert` has as a processor and as an output (`extra` goes after `suffix`).
pub fn insert_fields(extra: Vec<FieldSpec>) -> Vec<FieldSpec> {
    let mut f = sql::conn_fields();
    let tail = f.split_off(2);
    f.extend([
        FieldSpec::string("table", "The table to insert to.").example("foo"),
        FieldSpec::array("columns", FieldType::String, "A list of columns to insert.")
            .example(serde_json::json!(["foo", "bar", "baz"])),
        sql::args_mapping_field(true),
        FieldSpec::string(
            "prefix",
            "An optional prefix to prepend to the insert query (before INSERT).",
        )
        .optional()
        .advanced(),
        FieldSpec::string(
            "suffix",
            "An optional suffix to append to the insert query.",
        )
        .optional()
        .advanced()
        .example("ON CONFLICT (name) DO NOTHING"),
    ]);
    f.extend(extra);
    f.extend(tail);
    f
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_insert", ComponentKind::Processor, "Inserts rows into an SQL database for each message, and leaves the message unchanged.")
        .description("All messages of a batch go into one multi-row INSERT statement whose values are bound as parameters. If the insert fails the messages remain unchanged and are flagged with the error, which can be caught using error handling methods; a message whose `args_mapping` fails is flagged and left out of the insert.")
        .fields(insert_fields(vec![]))
        .example("Table insert (PostgreSQL)", "pipeline:\n  processors:\n    - sql_insert:\n        driver: postgres\n        dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n        table: footable\n        columns: [ id, name, topic ]\n        args_mapping: |\n          root = [\n            this.user.id,\n            this.user.name,\n            meta(\"kafka_topic\"),\n          ]\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

pub fn inserter(c: SqlInsertConfig, ctx: &BuildCtx) -> Result<Inserter, BuildError> {
    if c.columns.is_empty() {
        return Err(ctx.error("columns must not be empty"));
    }
    let args = sql::parse_args_mapping(Some(&c.args_mapping), ctx)?
        .ok_or_else(|| ctx.error("args_mapping must not be empty"))?;
    Ok(Inserter {
        db: Db::new(c.conn, ctx)?,
        table: c.table,
        columns: c.columns,
        args,
        prefix: c.prefix,
        suffix: c.suffix,
    })
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: SqlInsertConfig = ctx.parse(conf)?;
    Ok(Box::new(SqlInsertProcessor {
        inner: inserter(c, ctx)?,
        info: ctx.info.clone(),
    }))
}

pub struct SqlInsertProcessor {
    inner: Inserter,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for SqlInsertProcessor {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        let (r, failed) = self.inner.insert(&batch, false).await;
        for (i, e) in failed {
            self.info.flag(&mut batch[i], e);
        }
        // A failed insert flags the whole batch (the stage does that for an Err).
        match r {
            Ok(()) => Ok(vec![batch]),
            Err(e) => Err(BatchFailure {
                error: ComponentError::Failed(e.to_string()),
                batch,
            }),
        }
    }
}
