//! `sql_insert` processor: inserts one row per message (one multi-row INSERT per batch) and
//! leaves the messages unchanged.

use async_trait::async_trait;

use crate::components::batching::{batching_field, TakenBatching};
use crate::components::connectors::sql::{self, Db, Inserter, SqlConnOptions, SqlTarget};
use crate::components::{
    BatchFailure, BuildCtx, BuildError, ComponentError, ComponentInfo, Plugin, Processor,
};
use crate::message::Batch;
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    @open
    /// `sql_insert` as a processor and as an output: `max_in_flight` and `batching` are the
    /// output's fields, which the processor's spec leaves out (a key its spec does not declare
    /// never reaches the struct).
    pub struct SqlInsertConfig {
        #[serde(flatten)]
        pub target: SqlTarget = flatten(SqlTarget::fields()),
        pub table: String = string("The table to insert to.").example("foo"),
        pub columns: Vec<String> = array(FieldType::String, "A list of columns to insert.")
            .example(serde_json::json!(["foo", "bar", "baz"])),
        // Required (no `default`): a config without it is refused as a missing field.
        #[serde(deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub args_mapping: Option<crate::bloblang::Mapping> = spec(sql::args_mapping_field(true)),
        #[serde(default)]
        pub prefix: Option<String> = string("An optional prefix to prepend to the insert query (before INSERT).")
            .optional()
            .advanced(),
        #[serde(default)]
        pub suffix: Option<String> = string("An optional suffix to append to the insert query.")
            .optional()
            .advanced()
            .example("ON CONFLICT (name) DO NOTHING"),
        #[serde(default)]
        pub max_in_flight: Option<i64> = spec(sql::max_in_flight_field()),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
        #[serde(flatten)]
        pub conn: SqlConnOptions = flatten(SqlConnOptions::fields()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_insert", ComponentKind::Processor, "Inserts rows into an SQL database for each message, and leaves the message unchanged.")
        .description("All messages of a batch go into one multi-row INSERT statement whose values are bound as parameters. If the insert fails the messages remain unchanged and are flagged with the error, which can be caught using error handling methods; a message whose `args_mapping` fails is flagged and left out of the insert.")
        .fields(sql::without(SqlInsertConfig::fields(), &["max_in_flight", "batching"]))
        .example("Table insert (PostgreSQL)", "pipeline:\n  processors:\n    - sql_insert:\n        driver: postgres\n        dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n        table: footable\n        columns: [ id, name, topic ]\n        args_mapping: |\n          root = [\n            this.user.id,\n            this.user.name,\n            meta(\"kafka_topic\"),\n          ]\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

pub fn inserter(c: SqlInsertConfig, ctx: &BuildCtx) -> Result<Inserter, BuildError> {
    if c.columns.is_empty() {
        return Err(ctx.error("columns must not be empty"));
    }
    let args = c
        .args_mapping
        .ok_or_else(|| ctx.error("args_mapping must not be empty"))?;
    Ok(Inserter {
        db: Db::new(c.target, c.conn, ctx)?,
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
