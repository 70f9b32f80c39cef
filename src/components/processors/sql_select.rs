//! `sql_select` processor: runs a SELECT per message and replaces its payload with the rows,
//! an array of objects.

use async_trait::async_trait;

use crate::bloblang::Mapping;
use crate::components::connectors::sql::{self, Db, SqlConnOptions, SqlTarget};
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::{Batch, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldType};

component_config! {
    @open
    pub struct SqlSelectConfig {
        #[serde(flatten)]
        pub target: SqlTarget = flatten(SqlTarget::fields()),
        pub table: String = string("The table to query.").example("foo"),
        pub columns: Vec<String> = array(FieldType::String, "A list of columns to query.").example(serde_json::json!(["*"])).example(serde_json::json!(["foo", "bar", "baz"])),
        #[serde(default)]
        pub r#where: Option<String> = string("An optional where clause to add. Placeholder arguments are populated with the `args_mapping` field. Placeholders should always be question marks, and will automatically be converted to dollar syntax when the postgres driver is used.")
            .optional().example("meow = ? and woof = ?").example("user_id = ?"),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub args_mapping: Option<Mapping> = spec(sql::args_mapping_field(false)),
        #[serde(default)]
        pub prefix: Option<String> = string("An optional prefix to prepend to the query (before SELECT).").optional().advanced(),
        #[serde(default)]
        pub suffix: Option<String> = string("An optional suffix to append to the select query.").optional().advanced().example("ORDER BY id LIMIT 10"),
        #[serde(flatten)]
        pub conn: SqlConnOptions = flatten(SqlConnOptions::fields()),
    }
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_select", ComponentKind::Processor, "Runs an SQL select query against a database and returns the result as an array of objects, one for each row returned, containing a key for each column queried and its value.")
        .description("The query runs once per message; its payload is replaced by the rows. If the query fails the message remains unchanged and is flagged with the error.")
        .fields(SqlSelectConfig::fields())
        .example("Table query (PostgreSQL)", "pipeline:\n  processors:\n    - sql_select:\n        driver: postgres\n        dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n        table: footable\n        columns: [ '*' ]\n        where: user_id = ?\n        args_mapping: root = [ this.user.id ]\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: SqlSelectConfig = ctx.parse(conf)?;
    if c.columns.is_empty() {
        return Err(ctx.error("columns must not be empty"));
    }
    let db = Db::new(c.target, c.conn, ctx)?;
    let mut query = String::new();
    if let Some(p) = c.prefix.as_deref().filter(|p| !p.is_empty()) {
        query.push_str(p);
        query.push(' ');
    }
    query.push_str(&format!("SELECT {} FROM {}", c.columns.join(", "), c.table));
    if let Some(w) = c.r#where.as_deref().filter(|w| !w.is_empty()) {
        query.push_str(" WHERE ");
        query.push_str(&db.driver().rebind(w, 1));
    }
    if let Some(s) = c.suffix.as_deref().filter(|s| !s.is_empty()) {
        query.push(' ');
        query.push_str(s);
    }
    Ok(Box::new(SqlSelect {
        args: c.args_mapping,
        db,
        query,
        info: ctx.info.clone(),
    }))
}

pub struct SqlSelect {
    db: Db,
    query: String,
    args: Option<Mapping>,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for SqlSelect {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            let r = match sql::args_for(self.args.as_ref(), &batch, i) {
                Ok(args) => self
                    .db
                    .query(&self.query, args)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match r {
                Ok(rows) => batch[i].set_value(Value::Array(rows)),
                Err(e) => self.info.flag(&mut batch[i], e),
            }
        }
        Ok(vec![batch])
    }
}
