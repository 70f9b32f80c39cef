//! `sql_raw` processor: runs an arbitrary query per message; the payload becomes the rows
//! (an array of objects) unless `exec_only`.

use async_trait::async_trait;

use crate::bloblang::{parse_interpolation, InterpolatedString, Mapping};
use crate::components::batching::{batching_field, TakenBatching};
use crate::components::connectors::sql::{self, Db, SqlConnOptions, SqlTarget};
use crate::components::{BatchFailure, BuildCtx, BuildError, ComponentInfo, Plugin, Processor};
use crate::message::{Batch, Message, Value};
use crate::spec::{component_config, ComponentKind, ComponentSpec, FieldSpec};

component_config! {
    @open
    /// `sql_raw` as a processor and as an output: `exec_only` is the processor's field,
    /// `max_in_flight` and `batching` the output's (each spec leaves the other's out, and a key
    /// its spec does not declare never reaches the struct).
    pub struct SqlRawConfig {
        #[serde(flatten)]
        pub target: SqlTarget = flatten(SqlTarget::fields()),
        pub query: String = string("The query to execute. The style of placeholder depends on the driver: `$1`, `$2` for postgres, `?` for sqlite.")
            .example("INSERT INTO footable (foo, bar, baz) VALUES (?, ?, ?);")
            .example("SELECT * FROM footable WHERE user_id = $1;"),
        #[serde(default)]
        pub unsafe_dynamic_query: bool = bool("Whether to enable interpolation functions in the query. Great care should be made to ensure your queries are defended against injection attacks.").default(false).advanced(),
        #[serde(default, deserialize_with = "crate::bloblang::mapping_unless_blank")]
        pub args_mapping: Option<Mapping> = spec(sql::args_mapping_field(false)),
        #[serde(default)]
        pub exec_only: bool = bool("Whether the query result should be discarded. When set to `true` the message contents will remain unchanged, which is useful in cases where you are executing inserts, updates, etc.").default(false),
        #[serde(default)]
        pub max_in_flight: Option<i64> = spec(sql::max_in_flight_field()),
        #[serde(skip)]
        #[allow(dead_code)]
        batching: TakenBatching = spec(batching_field()),
        #[serde(flatten)]
        pub conn: SqlConnOptions = flatten(SqlConnOptions::fields()),
    }
}

/// The fields of `sql_raw` as a processor, or (`output`) as an output.
pub fn raw_fields(output: bool) -> Vec<FieldSpec> {
    let theirs: &[&str] = match output {
        true => &["exec_only"],
        false => &["max_in_flight", "batching"],
    };
    sql::without(SqlRawConfig::fields(), theirs)
}

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_raw", ComponentKind::Processor, "Runs an arbitrary SQL query against a database and (optionally) returns the result as an array of objects, one for each row returned.")
        .description("If the query fails to execute then the message will remain unchanged and the error can be caught using error handling methods.")
        .fields(raw_fields(false))
        .example("Upsert (PostgreSQL)", "pipeline:\n  processors:\n    - sql_raw:\n        driver: postgres\n        dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n        query: INSERT INTO footable (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name\n        args_mapping: root = [ this.id, this.name ]\n        exec_only: true\n")
        .example("Query SQLite", "pipeline:\n  processors:\n    - sql_raw:\n        driver: sqlite\n        dsn: file:./data.db\n        query: SELECT * FROM footable WHERE user_id = ?\n        args_mapping: root = [ this.user.id ]\n")
}

pub fn plugin() -> Plugin<dyn Processor> {
    Plugin { spec, build }
}

/// The query of `sql_raw`: fixed, or rendered per message with `unsafe_dynamic_query`.
pub struct RawQuery {
    pub db: Db,
    /// `Some` with `unsafe_dynamic_query`: rendered per message. Otherwise `text` is sent as
    /// written, `${! }` and all.
    dynamic: Option<InterpolatedString>,
    text: String,
    pub args: Option<Mapping>,
}

impl RawQuery {
    pub fn new(c: SqlRawConfig, ctx: &BuildCtx) -> Result<RawQuery, BuildError> {
        let dynamic = match c.unsafe_dynamic_query {
            true => {
                Some(parse_interpolation(&c.query).map_err(|e| ctx.error(format!("query: {e}")))?)
            }
            false => None,
        };
        if c.query.trim().is_empty() {
            return Err(ctx.error("query must not be empty"));
        }
        let db = Db::new(c.target, c.conn, ctx)?;
        Ok(RawQuery {
            // SQLite's statement cache is a bounded LRU already; PostgreSQL's is not.
            db: if c.unsafe_dynamic_query {
                db.without_statement_cache()
            } else {
                db
            },
            dynamic,
            text: c.query,
            args: c.args_mapping,
        })
    }

    pub fn text(&self, batch: &[Message], i: usize) -> Result<String, String> {
        match &self.dynamic {
            Some(q) => q.render(batch, i).map_err(|e| format!("query: {e}")),
            None => Ok(self.text.clone()),
        }
    }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Processor>, BuildError> {
    let c: SqlRawConfig = ctx.parse(conf)?;
    let exec_only = c.exec_only;
    Ok(Box::new(SqlRaw {
        q: RawQuery::new(c, ctx)?,
        exec_only,
        info: ctx.info.clone(),
    }))
}

pub struct SqlRaw {
    q: RawQuery,
    exec_only: bool,
    info: ComponentInfo,
}

#[async_trait]
impl Processor for SqlRaw {
    async fn process(&self, mut batch: Batch) -> Result<Vec<Batch>, BatchFailure> {
        for i in 0..batch.len() {
            let r = async {
                let sql = self.q.text(&batch, i)?;
                let args = sql::args_for(self.q.args.as_ref(), &batch, i)?;
                if self.exec_only {
                    self.q.db.exec(&sql, args).await.map(|_| None)
                } else {
                    self.q.db.query(&sql, args).await.map(Some)
                }
                .map_err(|e| e.to_string())
            }
            .await;
            match r {
                Ok(Some(rows)) => batch[i].set_value(Value::Array(rows)),
                Ok(None) => {}
                Err(e) => self.info.flag(&mut batch[i], e),
            }
        }
        Ok(vec![batch])
    }
}

component_config! {
    /// Bento's deprecated `sql` processor: `sql_raw` under older field names. The platform's
    /// first configs were written with it, so it runs (with a warning) rather than being refused.
    pub struct SqlDeprecatedConfig {
        pub driver: String = string("A database driver to use.").options(sql::DRIVERS),
        pub data_source_name: String = string("Data source name."),
        pub query: String = string("The query to execute.").example("INSERT INTO footable (foo, bar, baz) VALUES (?, ?, ?);"),
        pub unsafe_dynamic_query: bool = bool("Whether to enable interpolation functions in the query.").default(false).advanced(),
        #[serde(default)]
        pub args_mapping: Option<String> = spec(sql::args_mapping_field(false)),
        pub result_codec: String = string("Result codec: `none` discards the rows.").default("none"),
    }
}

pub fn deprecated_spec() -> ComponentSpec {
    ComponentSpec::new("sql", ComponentKind::Processor, "Runs an arbitrary SQL query against a database and (optionally) returns the result as an array of objects, one for each row returned.")
        .status(crate::spec::Status::Deprecated)
        .description("Deprecated in Bento: use `sql_raw` (or `sql_insert`, `sql_select`). It runs as `sql_raw` does, with `data_source_name` as its `dsn`; with `result_codec: none` (the default) the message is left unchanged (`exec_only`), with any other codec it becomes the rows. A warning is logged when it is built.")
        .fields(SqlDeprecatedConfig::fields())
        .example("As the platform's first configs wrote it (SQLite)", "pipeline:\n  processors:\n    - sql:\n        driver: sqlite\n        data_source_name: 'file::memory:'\n        query: SELECT ? AS id\n        args_mapping: root = [ this.id ]\n        result_codec: json_array\n")
}

pub fn deprecated_plugin() -> Plugin<dyn Processor> {
    Plugin {
        spec: deprecated_spec,
        build: build_deprecated,
    }
}

fn build_deprecated(
    conf: &serde_json::Value,
    ctx: &BuildCtx,
) -> Result<Box<dyn Processor>, BuildError> {
    let c: SqlDeprecatedConfig = ctx.parse(conf)?;
    tracing::warn!(path = %ctx.info.path, "the sql processor is deprecated: it runs as sql_raw; use sql_raw, sql_insert or sql_select");
    let mut raw = serde_json::json!({
        "driver": c.driver,
        "dsn": c.data_source_name,
        "query": c.query,
        "unsafe_dynamic_query": c.unsafe_dynamic_query,
        "exec_only": c.result_codec == "none",
    });
    if let (Some(m), Some(o)) = (c.args_mapping, raw.as_object_mut()) {
        o.insert("args_mapping".into(), m.into());
    }
    build(&spec().resolve(Some(&raw)), ctx)
}
