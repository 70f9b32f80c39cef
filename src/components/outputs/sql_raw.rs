//! `sql_raw` output: runs a query per message (in one transaction-less sequence per batch).

use async_trait::async_trait;

use crate::components::connectors::sql;
use crate::components::outputs::sql_insert::connect_error;
use crate::components::processors::sql_raw::{raw_fields, RawQuery, SqlRawConfig};
use crate::components::{BuildCtx, BuildError, ComponentError, Output, Plugin};
use crate::message::Batch;
use crate::spec::{ComponentKind, ComponentSpec};

pub fn spec() -> ComponentSpec {
    ComponentSpec::new("sql_raw", ComponentKind::Output, "Executes an arbitrary SQL query for each message.")
        .description("Values from `args_mapping` are bound as parameters. When the database connection is lost the output reconnects and retries the batch; any other failure is reported upstream (nack).")
        .fields(raw_fields(true))
        .example("Upsert (PostgreSQL)", "output:\n  sql_raw:\n    driver: postgres\n    dsn: postgres://foouser:foopass@localhost:5432/testdb?sslmode=disable\n    query: INSERT INTO footable (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name\n    args_mapping: root = [ this.id, this.name ]\n")
}

pub fn plugin() -> Plugin<dyn Output> {
    Plugin { spec, build }
}

fn build(conf: &serde_json::Value, ctx: &BuildCtx) -> Result<Box<dyn Output>, BuildError> {
    let c: SqlRawConfig = ctx.parse(conf)?;
    let max_in_flight = c.max_in_flight.unwrap_or(64).max(1) as usize;
    Ok(Box::new(SqlRawOutput {
        q: RawQuery::new(c, ctx)?,
        max_in_flight,
    }))
}

pub struct SqlRawOutput {
    q: RawQuery,
    max_in_flight: usize,
}

#[async_trait]
impl Output for SqlRawOutput {
    async fn connect(&self) -> Result<(), ComponentError> {
        self.q.db.connect().await.map_err(connect_error)
    }

    async fn write(&self, batch: &Batch) -> Result<(), ComponentError> {
        for i in 0..batch.len() {
            let query = self.q.text(batch, i).map_err(ComponentError::Failed)?;
            let args =
                sql::args_for(self.q.args.as_ref(), batch, i).map_err(ComponentError::Failed)?;
            self.q.db.exec(&query, args).await?;
        }
        Ok(())
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}
