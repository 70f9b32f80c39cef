//! SQL plumbing shared by the `sql_*` processors and outputs: the common connection fields,
//! a lazily opened database handle per component (a deadpool-postgres pool, or one SQLite
//! connection used on the blocking pool), statement builders, and the one conversion between
//! [`Value`]s and SQL parameters and columns. Values are only ever bound as parameters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use thiserror::Error;
use tokio::sync::OnceCell;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

pub use super::args_for;
use crate::bloblang::Mapping;
use crate::components::{BuildCtx, BuildError, ComponentError};
use crate::message::value::Object;
use crate::message::{Message, Value};
use crate::spec::{component_config, FieldSpec, FieldType, Refused};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SqlError {
    /// The connection is gone (server restarted, backend terminated): reconnect and retry.
    #[error("sql connection lost: {0}")]
    Connection(String),
    #[error("{0}")]
    Query(String),
}

impl From<SqlError> for ComponentError {
    fn from(e: SqlError) -> ComponentError {
        match e {
            SqlError::Connection(_) => ComponentError::NotConnected,
            SqlError::Query(q) => ComponentError::Failed(q),
        }
    }
}

component_config! {
    @open
    /// Which database an SQL component talks to: the connection fields that come before the
    /// component's own in its spec (as in Bento); [`SqlConnOptions`] holds the ones after them.
    #[derive(Clone)]
    pub struct SqlTarget {
        pub driver: String = string("A database driver to use.").options(DRIVERS),
        pub dsn: String = string("A Data Source Name to identify the target database. For `postgres` a URL or key/value string (`postgres://user:password@host:5432/db?sslmode=disable`); `sslmode` is read as libpq reads it: `disable`, `prefer` (the default: TLS when the server offers it, unchecked), `require` (TLS, unchecked), `verify-ca` (the chain must lead to `sslrootcert`) and `verify-full` (also the host name), over rustls; for `sqlite` a file path or `file:` URI (`file:./data.db`, `:memory:`).")
            .example("postgres://foouser:foopass@localhost:5432/foodb?sslmode=disable")
            .example("file:./foo.db"),
    }
}

component_config! {
    @open
    /// The connection fields that come after an SQL component's own.
    #[derive(Clone)]
    pub struct SqlConnOptions {
        #[serde(default)]
        pub init_files: Vec<String> = array(FieldType::String, "An optional list of file paths (globs allowed) containing SQL statements to execute immediately upon the first connection to the target database. Failures are logged as warnings.")
            .optional().advanced().example(serde_json::json!(["./init/*.sql"])),
        #[serde(default)]
        pub init_statement: Option<String> = string("An optional SQL statement to execute immediately upon the first connection to the target database, after the init files. Failures are logged as warnings.")
            .optional().advanced().example("CREATE TABLE IF NOT EXISTS some_table (foo varchar(50), bar integer, baz varchar(50));"),
        #[serde(default)]
        pub init_verify_conn: bool = bool("Whether to verify the database connection on startup by performing a simple ping: a database that does not answer stops the stream from starting. (Outputs also check their connection whenever they connect.)").default(false).advanced(),
        #[serde(default, deserialize_with = "crate::spec::optional_duration_field")]
        pub conn_max_idle_time: Option<Duration> = string("An optional maximum amount of time a connection may be idle; a pooled connection idle for longer is closed instead of reused.").optional().advanced().duration(),
        #[serde(default, deserialize_with = "crate::spec::optional_duration_field")]
        pub conn_max_life_time: Option<Duration> = string("An optional maximum amount of time a connection may be reused.").optional().advanced().duration(),
        #[serde(default)]
        pub conn_max_idle: i64 = int("An optional maximum number of connections in the idle connection pool (accepted for compatibility: the pool keeps up to `conn_max_open` connections).").default(2).advanced(),
        #[serde(default)]
        pub conn_max_open: Option<i64> = int("An optional maximum number of open connections to the database (default 10 for postgres; sqlite always uses one).").optional().advanced(),
        #[serde(skip)]
        #[allow(dead_code)]
        secret_name: Refused = refused(CLOUD),
        #[serde(skip)]
        #[allow(dead_code)]
        iam_enabled: Refused = refused(CLOUD),
        #[serde(skip)]
        #[allow(dead_code)]
        azure: Refused = refused(CLOUD),
        #[serde(skip)]
        #[allow(dead_code)]
        region: Refused = refused(CLOUD),
        #[serde(skip)]
        #[allow(dead_code)]
        endpoint: Refused = refused(CLOUD),
        #[serde(skip)]
        #[allow(dead_code)]
        credentials: Refused = refused(CLOUD),
    }
}

component_config! {
    @open
    /// The connection fields every SQL component has. A component's struct flattens in the two
    /// parts on either side of its own fields, and puts them together for [`Db::new`].
    #[derive(Clone)]
    pub struct SqlConnConfig {
        #[serde(flatten)]
        pub target: SqlTarget = flatten(SqlTarget::fields()),
        #[serde(flatten)]
        pub options: SqlConnOptions = flatten(SqlConnOptions::fields()),
    }
}

pub const DRIVERS: &[&str] = &["postgres", "sqlite"];

/// Bento's AWS and Azure authentication of the SQL components.
const CLOUD: &str = "cloud credentials (AWS Secrets Manager, IAM, Azure Entra) are not built: no cloud is reachable to test them; put the credentials in the dsn";

/// `fields` without those named: the spec, as a processor or as an output, of a struct both
/// share (a key its spec leaves out never reaches the struct, which is not strict about keys).
pub fn without(fields: Vec<FieldSpec>, names: &[&str]) -> Vec<FieldSpec> {
    fields
        .into_iter()
        .filter(|f| !names.contains(&f.name))
        .collect()
}

/// The `max_in_flight` of the SQL outputs.
pub fn max_in_flight_field() -> FieldSpec {
    FieldSpec::int(
        "max_in_flight",
        "The maximum number of inserts to run in parallel.",
    )
    .default(64)
}

pub fn args_mapping_field(required: bool) -> FieldSpec {
    let f = FieldSpec::bloblang("args_mapping", "A Bloblang mapping which should evaluate to an array of values matching in size to the number of columns/placeholders.")
        .example("root = [ this.cat.meow, this.doc.woofs[0] ]")
        .example("root = [ meta(\"user.id\") ]");
    if required {
        f
    } else {
        f.optional()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Driver {
    Postgres,
    Sqlite,
}

impl Driver {
    /// The placeholder for argument `n` (1-based).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Driver::Postgres => format!("${n}"),
            Driver::Sqlite => "?".into(),
        }
    }

    /// Turn the `?` placeholders of a `where` clause into this driver's, counting from
    /// `start` (1-based); `??` stays a literal `?`.
    pub fn rebind(self, clause: &str, start: usize) -> String {
        if self == Driver::Sqlite {
            return clause.to_owned();
        }
        let mut out = String::with_capacity(clause.len() + 8);
        let mut n = start;
        let mut chars = clause.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '?' {
                if chars.peek() == Some(&'?') {
                    chars.next();
                    out.push('?');
                } else {
                    out.push_str(&self.placeholder(n));
                    n += 1;
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// A database a component talks to: opened on first use, shared by its concurrent calls.
pub struct Db {
    driver: Driver,
    conf: SqlConnConfig,
    /// Pooled connections older than this, or idle for longer than `max_idle`, are replaced.
    max_life: Option<Duration>,
    max_idle: Option<Duration>,
    handle: OnceCell<Handle>,
    /// Whether statements are prepared once per connection and kept. Queries built per
    /// message (`unsafe_dynamic_query`) are not: each distinct text would stay cached for ever.
    cache_statements: bool,
}

enum Handle {
    Postgres(deadpool_postgres::Pool),
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
}

/// The rows a query returned, one object per row.
pub type Rows = Vec<Value>;

impl Db {
    /// A component's connection fields: those before its own (`target`) and after (`options`).
    pub fn new(
        target: SqlTarget,
        options: SqlConnOptions,
        ctx: &BuildCtx,
    ) -> Result<Db, BuildError> {
        let conf = SqlConnConfig { target, options };
        let driver = match conf.target.driver.as_str() {
            "postgres" | "pgx" => Driver::Postgres,
            "sqlite" | "sqlite3" => Driver::Sqlite,
            other => {
                return Err(ctx.error(format!(
                    "driver '{other}' is not supported (supported: {})",
                    DRIVERS.join(", ")
                )))
            }
        };
        if driver == Driver::Postgres {
            super::pg_tls::pg_tls(&conf.target.dsn)
                .and_then(|t| {
                    t.dsn
                        .parse::<tokio_postgres::Config>()
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| ctx.error(format!("dsn: {e}")))?;
        }
        let max_idle = conf.options.conn_max_idle_time;
        let max_life = conf.options.conn_max_life_time;
        let verify = conf.options.init_verify_conn;
        let db = Db {
            driver,
            conf,
            max_life,
            max_idle,
            handle: OnceCell::new(),
            cache_statements: true,
        };
        if verify {
            db.verify_now(ctx)?;
        }
        Ok(db)
    }

    /// `init_verify_conn`: open the database while the component is built and check it
    /// answers, so that a stream with an unreachable database does not start (as Bento fails
    /// the component). Building is synchronous; the runtime that runs streams has worker
    /// threads to block on.
    fn verify_now(&self, ctx: &BuildCtx) -> Result<(), BuildError> {
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
            .ok_or_else(|| {
                ctx.error("init_verify_conn: no multi-threaded runtime to connect from")
            })?;
        tokio::task::block_in_place(|| handle.block_on(self.connect()))
            .map_err(|e| ctx.error(format!("init_verify_conn: {e}")))
    }

    /// Prepare every statement afresh instead of keeping it (for query texts that change).
    pub fn without_statement_cache(mut self) -> Db {
        self.cache_statements = false;
        self
    }

    /// A pooled client that is neither too old nor was idle too long.
    async fn client(
        &self,
        pool: &deadpool_postgres::Pool,
    ) -> Result<deadpool_postgres::Object, SqlError> {
        loop {
            let c = pool.get().await.map_err(pool_error)?;
            let m = deadpool_postgres::Object::metrics(&c);
            let stale = self.max_life.is_some_and(|l| m.age() > l)
                || self.max_idle.is_some_and(|l| m.last_used() > l);
            if !stale {
                return Ok(c);
            }
            // Taking it out of the pool closes it and frees its slot.
            drop(deadpool_postgres::Object::take(c));
        }
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// Open the database (once), run the init files and statement, and check it answers.
    pub async fn connect(&self) -> Result<(), SqlError> {
        let h = self.handle().await?;
        if let Handle::Postgres(pool) = h {
            let client = self.client(pool).await?;
            client.simple_query("").await.map_err(pg_error)?;
        }
        Ok(())
    }

    async fn handle(&self) -> Result<&Handle, SqlError> {
        self.handle.get_or_try_init(|| self.open()).await
    }

    async fn open(&self) -> Result<Handle, SqlError> {
        let h = match self.driver {
            Driver::Postgres => {
                let tls = super::pg_tls::pg_tls(&self.conf.target.dsn)
                    .map_err(|e| SqlError::Query(format!("dsn: {e}")))?;
                let pg: tokio_postgres::Config = tls
                    .dsn
                    .parse()
                    .map_err(|e| SqlError::Query(format!("dsn: {e}")))?;
                let manager_config = deadpool_postgres::ManagerConfig {
                    recycling_method: deadpool_postgres::RecyclingMethod::Fast,
                };
                let mgr = match tls.tls {
                    None => deadpool_postgres::Manager::from_config(
                        pg,
                        tokio_postgres::NoTls,
                        manager_config,
                    ),
                    Some(tls) => deadpool_postgres::Manager::from_config(
                        pg,
                        tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                        manager_config,
                    ),
                };
                let size = self
                    .conf
                    .options
                    .conn_max_open
                    .filter(|n| *n > 0)
                    .map_or(10, |n| n as usize);
                let pool = deadpool_postgres::Pool::builder(mgr)
                    .max_size(size)
                    .runtime(deadpool_postgres::Runtime::Tokio1)
                    .wait_timeout(Some(Duration::from_secs(30)))
                    .create_timeout(Some(Duration::from_secs(10)))
                    .build()
                    .map_err(|e| SqlError::Query(e.to_string()))?;
                // Fail here (and be retried) when the server is not reachable.
                drop(pool.get().await.map_err(pool_error)?);
                Handle::Postgres(pool)
            }
            Driver::Sqlite => {
                let dsn = self.conf.target.dsn.clone();
                let conn = tokio::task::spawn_blocking(move || {
                    let flags =
                        rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI;
                    let c = rusqlite::Connection::open_with_flags(&dsn, flags)?;
                    c.busy_timeout(Duration::from_secs(10))?;
                    Ok::<_, rusqlite::Error>(c)
                })
                .await
                .map_err(|e| SqlError::Query(e.to_string()))?
                .map_err(|e| SqlError::Query(format!("open {}: {e}", self.conf.target.dsn)))?;
                Handle::Sqlite(Arc::new(Mutex::new(conn)))
            }
        };
        self.init(&h).await;
        Ok(h)
    }

    async fn init(&self, h: &Handle) {
        let mut scripts = Vec::new();
        if !self.conf.options.init_files.is_empty() {
            match crate::spec::expand_globs(&self.conf.options.init_files) {
                Ok(paths) => {
                    for p in paths {
                        match tokio::fs::read_to_string(&p).await {
                            Ok(s) => scripts.push((p.display().to_string(), s)),
                            Err(e) => tracing::warn!("sql init file {}: {e}", p.display()),
                        }
                    }
                }
                Err(e) => tracing::warn!("sql init_files: {e}"),
            }
        }
        if let Some(s) = self
            .conf
            .options
            .init_statement
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            scripts.push(("init_statement".into(), s.to_owned()));
        }
        for (name, sql) in scripts {
            let r = match h {
                Handle::Postgres(pool) => match pool.get().await {
                    Ok(c) => c
                        .batch_execute(&sql)
                        .await
                        .map_err(|e| pg_error(e).to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Handle::Sqlite(c) => {
                    let c = c.clone();
                    tokio::task::spawn_blocking(move || match c.lock() {
                        Ok(c) => c.execute_batch(&sql).map_err(|e| e.to_string()),
                        Err(_) => Err("sqlite connection poisoned".into()),
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
                }
            };
            if let Err(e) = r {
                tracing::warn!("sql {name} failed: {e}");
            }
        }
    }

    /// Run a statement that returns rows.
    pub async fn query(&self, sql: &str, args: Vec<Value>) -> Result<Rows, SqlError> {
        self.run(sql, args, true).await
    }

    /// Run a statement for its effect.
    pub async fn exec(&self, sql: &str, args: Vec<Value>) -> Result<(), SqlError> {
        self.run(sql, args, false).await.map(drop)
    }

    async fn run(&self, sql: &str, args: Vec<Value>, rows: bool) -> Result<Rows, SqlError> {
        match self.handle().await? {
            Handle::Postgres(pool) => {
                let client = self.client(pool).await?;
                let stmt = if self.cache_statements {
                    client.prepare_cached(sql).await
                } else {
                    client.prepare(sql).await
                }
                .map_err(pg_error)?;
                let params = stmt
                    .params()
                    .iter()
                    .enumerate()
                    .map(|(i, ty)| {
                        pg_param(args.get(i).unwrap_or(&Value::Null), ty)
                            .map_err(|e| SqlError::Query(format!("argument {}: {e}", i + 1)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if params.len() != args.len() {
                    return Err(SqlError::Query(format!(
                        "the statement takes {} arguments, args_mapping gave {}",
                        params.len(),
                        args.len()
                    )));
                }
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                if !rows {
                    client.execute(&stmt, &refs).await.map_err(pg_error)?;
                    return Ok(Vec::new());
                }
                let got = client.query(&stmt, &refs).await.map_err(pg_error)?;
                got.iter().map(pg_row).collect()
            }
            Handle::Sqlite(conn) => {
                let conn = conn.clone();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || sqlite_run(&conn, &sql, &args, rows))
                    .await
                    .map_err(|e| SqlError::Query(e.to_string()))?
            }
        }
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> SqlError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        other => SqlError::Connection(other.to_string()),
    }
}

fn pg_error(e: tokio_postgres::Error) -> SqlError {
    use tokio_postgres::error::SqlState;
    let lost = e.is_closed()
        || e.code().is_some_and(|c| {
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || c.code().starts_with("08")
        })
        || (e.code().is_none()
            && e.as_db_error().is_none()
            && std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()));
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        // The cause (a refused connection, a certificate that does not check out) is in the
        // source chain.
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    };
    if lost {
        SqlError::Connection(text)
    } else {
        SqlError::Query(text)
    }
}

// ---------------------------------------------------------------- Value → PostgreSQL

/// A parameter sent in text format, for column types without a native conversion (numeric,
/// timestamps, uuid, ...): the server parses it as it would a literal.
#[derive(Debug)]
struct TextParam(String);

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }
    to_sql_checked!();
}

#[derive(Debug)]
struct NullParam;

impl ToSql for NullParam {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

type PgParam = Box<dyn ToSql + Sync + Send>;

fn int_of(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an integer")),
        other => Err(format!("a {} is not an integer", other.type_name())),
    }
}

fn float_of(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a number")),
        other => Err(format!("a {} is not a number", other.type_name())),
    }
}

/// The parameter for `v` bound to a placeholder the server typed `ty`.
fn pg_param(v: &Value, ty: &Type) -> Result<PgParam, String> {
    if v.is_null() {
        return Ok(Box::new(NullParam));
    }
    let p: PgParam = match *ty {
        Type::BOOL => match v {
            Value::Bool(b) => Box::new(*b),
            Value::String(s) => Box::new(matches!(s.as_str(), "true" | "t" | "1")),
            other => Box::new(int_of(other)? != 0),
        },
        Type::INT2 => Box::new(i16::try_from(int_of(v)?).map_err(|_| "out of range for smallint")?),
        Type::INT4 => Box::new(i32::try_from(int_of(v)?).map_err(|_| "out of range for integer")?),
        Type::INT8 => Box::new(int_of(v)?),
        Type::FLOAT4 => Box::new(float_of(v)? as f32),
        Type::FLOAT8 => Box::new(float_of(v)?),
        Type::JSON | Type::JSONB => match v {
            // A string is taken as a JSON document if it is one, else as a JSON string.
            Value::String(s) => Box::new(
                serde_json::from_str::<serde_json::Value>(s)
                    .unwrap_or_else(|_| serde_json::Value::String(s.clone())),
            ),
            other => Box::new(serde_json::Value::from(other)),
        },
        Type::BYTEA => match v {
            Value::Bytes(b) => Box::new(b.clone()),
            Value::String(s) => Box::new(s.as_bytes().to_vec()),
            other => Box::new(other.to_string().into_bytes()),
        },
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Box::new(v.to_string())
        }
        _ => match v {
            Value::Timestamp(t) => Box::new(TextParam(t.to_rfc3339())),
            other => Box::new(TextParam(other.to_string())),
        },
    };
    Ok(p)
}

// ---------------------------------------------------------------- PostgreSQL → Value

fn pg_row(row: &tokio_postgres::Row) -> Result<Value, SqlError> {
    let mut obj = Object::new();
    for (i, col) in row.columns().iter().enumerate() {
        let v = pg_column(row, i, col.type_())
            .map_err(|e| SqlError::Query(format!("column {}: {e}", col.name())))?;
        obj.insert(col.name().to_owned(), v);
    }
    Ok(Value::Object(obj))
}

fn pg_column(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value, String> {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
    ) -> Result<Option<T>, String> {
        row.try_get::<_, Option<T>>(i).map_err(|e| e.to_string())
    }
    let v = match *ty {
        Type::BOOL => get::<bool>(row, i)?.map(Value::Bool),
        Type::INT2 => get::<i16>(row, i)?.map(|n| Value::Int(n.into())),
        Type::INT4 => get::<i32>(row, i)?.map(|n| Value::Int(n.into())),
        Type::INT8 => get::<i64>(row, i)?.map(Value::Int),
        Type::OID => get::<u32>(row, i)?.map(|n| Value::Int(n.into())),
        Type::FLOAT4 => get::<f32>(row, i)?.map(|n| Value::Float(n.into())),
        Type::FLOAT8 => get::<f64>(row, i)?.map(Value::Float),
        // As lib/pq under Bento gives them: the document's text, not a parsed value.
        Type::JSON | Type::JSONB => get::<PgText>(row, i)?.map(|t| Value::String(t.0)),
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(Value::Bytes),
        Type::TIMESTAMPTZ => get::<chrono::DateTime<chrono::Utc>>(row, i)?
            .map(|t| Value::Timestamp(t.fixed_offset())),
        Type::TIMESTAMP => get::<chrono::NaiveDateTime>(row, i)?
            .map(|t| Value::Timestamp(t.and_utc().fixed_offset())),
        Type::DATE => get::<chrono::NaiveDate>(row, i)?.map(|d| Value::String(d.to_string())),
        Type::UUID => get::<uuid::Uuid>(row, i)?.map(|u| Value::String(u.to_string())),
        // As text, like Go's driver: no precision is lost.
        Type::NUMERIC => get::<PgNumeric>(row, i)?.map(|n| Value::String(n.0)),
        // Every other type as its text form, as lib/pq gives it (arrays `{1,2}`, intervals,
        // addresses, times, money, enums…).
        _ => get::<PgText>(row, i)?.map(|t| Value::String(t.0)),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// Any column as PostgreSQL's text output for it, decoded from the binary form the protocol
/// carries (tokio-postgres asks for binary results).
struct PgText(String);

impl<'a> tokio_postgres::types::FromSql<'a> for PgText {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<PgText, Box<dyn std::error::Error + Sync + Send>> {
        pg_text(ty, raw)
            .map(PgText)
            .ok_or_else(|| format!("malformed or unsupported value of type {ty}").into())
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's text output of a binary value of type `ty`.
fn pg_text(ty: &Type, raw: &[u8]) -> Option<String> {
    use tokio_postgres::types::Kind;
    let be_i64 =
        |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.get(..8)?.try_into().ok()?)) };
    let be_i32 =
        |b: &[u8]| -> Option<i32> { Some(i32::from_be_bytes(b.get(..4)?.try_into().ok()?)) };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    Some(match *ty {
        Type::BOOL => (if *raw.first()? != 0 { "t" } else { "f" }).to_owned(),
        Type::INT2 => i16::from_be_bytes(raw.get(..2)?.try_into().ok()?).to_string(),
        Type::INT4 => be_i32(raw)?.to_string(),
        Type::INT8 => be_i64(raw)?.to_string(),
        Type::OID => u32::from_be_bytes(raw.get(..4)?.try_into().ok()?).to_string(),
        Type::FLOAT4 => f32::from_be_bytes(raw.get(..4)?.try_into().ok()?).to_string(),
        Type::FLOAT8 => f64::from_be_bytes(raw.get(..8)?.try_into().ok()?).to_string(),
        Type::NUMERIC => decode_numeric(raw)?,
        Type::JSONB => text(raw.get(1..)?)?,
        Type::UUID => uuid::Uuid::from_slice(raw.get(..16)?).ok()?.to_string(),
        Type::BYTEA => format!("\\x{}", hex::encode(raw)),
        Type::CHAR => (*raw.first()? as char).to_string(),
        Type::DATE => {
            let days = be_i32(raw)?;
            let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?;
            (epoch + chrono::Duration::days(days.into())).to_string()
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = be_i64(raw)?;
            let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
            let t = epoch + chrono::Duration::microseconds(micros);
            let body = t.format("%Y-%m-%d %H:%M:%S%.f").to_string();
            match *ty {
                Type::TIMESTAMPTZ => format!("{body}+00"),
                _ => body,
            }
        }
        Type::TIME => time_of_day(be_i64(raw)?),
        Type::TIMETZ => {
            // The zone is stored in seconds west of UTC.
            let west = be_i32(raw.get(8..)?)?;
            format!("{}{}", time_of_day(be_i64(raw)?), utc_offset(-west))
        }
        Type::INTERVAL => interval_text(
            be_i64(raw)?,
            be_i32(raw.get(8..)?)?,
            be_i32(raw.get(12..)?)?,
        ),
        Type::MONEY => money_text(be_i64(raw)?),
        Type::INET | Type::CIDR => inet_text(raw, *ty == Type::CIDR)?,
        Type::MACADDR => raw
            .get(..6)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        Type::BIT | Type::VARBIT => {
            let bits = usize::try_from(be_i32(raw)?).ok()?;
            let bytes = raw.get(4..)?;
            (0..bits)
                .map(|i| {
                    if bytes.get(i / 8)? & (0x80 >> (i % 8)) != 0 {
                        Some('1')
                    } else {
                        Some('0')
                    }
                })
                .collect::<Option<String>>()?
        }
        _ => match ty.kind() {
            Kind::Array(elem) => array_text(elem, raw)?,
            Kind::Domain(base) => pg_text(base, raw)?,
            // Enums, text-like and most extension types (citext, xml, ltree…) send their text.
            _ => text(raw)?,
        },
    })
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight, as PostgreSQL writes it.
fn time_of_day(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        s.push_str(format!(".{frac:06}").trim_end_matches('0'));
    }
    s
}

fn utc_offset(east: i32) -> String {
    let sign = if east < 0 { '-' } else { '+' };
    let a = east.unsigned_abs();
    match (a / 60 % 60, a % 60) {
        (0, 0) => format!("{sign}{:02}", a / 3600),
        (m, 0) => format!("{sign}{:02}:{m:02}", a / 3600),
        (m, s) => format!("{sign}{:02}:{m:02}:{s:02}", a / 3600),
    }
}

/// PostgreSQL's default (`postgres` IntervalStyle) interval output.
fn interval_text(micros: i64, days: i32, months: i32) -> String {
    let mut parts = Vec::new();
    let unit = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (years, mons) = (months / 12, months % 12);
    if years != 0 {
        parts.push(unit(years.into(), "year", "years"));
    }
    if mons != 0 {
        parts.push(unit(mons.into(), "mon", "mons"));
    }
    if days != 0 {
        parts.push(unit(days.into(), "day", "days"));
    }
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        parts.push(format!("{sign}{}", time_of_day(micros.abs())));
    }
    parts.join(" ")
}

/// `money` in the C locale: `$1,234.56`.
fn money_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let whole = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

fn inet_text(raw: &[u8], cidr: bool) -> Option<String> {
    let (family, bits, addr) = (*raw.first()?, *raw.get(1)?, raw.get(4..)?);
    let ip: std::net::IpAddr = match family {
        2 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(addr.get(..4)?).ok()?).into(),
        _ => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(addr.get(..16)?).ok()?).into(),
    };
    let full = if ip.is_ipv4() { 32 } else { 128 };
    Some(match cidr || bits != full {
        true => format!("{ip}/{bits}"),
        false => ip.to_string(),
    })
}

/// An array in PostgreSQL's text form: `{1,2}`, `{{a,b},{c,d}}`, elements quoted when needed.
fn array_text(elem: &Type, raw: &[u8]) -> Option<String> {
    let word =
        |i: usize| -> Option<i32> { Some(i32::from_be_bytes(raw.get(i..i + 4)?.try_into().ok()?)) };
    let ndim = usize::try_from(word(0)?).ok()?;
    if ndim == 0 {
        return Some("{}".into());
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|d| usize::try_from(word(12 + 8 * d)?).ok())
        .collect::<Option<_>>()?;
    let mut pos = 12 + 8 * ndim;
    let mut items = Vec::new();
    for _ in 0..dims.iter().product::<usize>() {
        let len = word(pos)?;
        pos += 4;
        if len < 0 {
            items.push("NULL".to_owned());
            continue;
        }
        let len = usize::try_from(len).ok()?;
        let v = pg_text(elem, raw.get(pos..pos + len)?)?;
        pos += len;
        let plain = !v.is_empty()
            && !v.eq_ignore_ascii_case("NULL")
            && !v.contains(|c: char| "{},\"\\".contains(c) || c.is_whitespace());
        items.push(match plain {
            true => v,
            false => format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
        });
    }
    fn nest(items: &[String], dims: &[usize]) -> String {
        match dims {
            [] | [_] => format!("{{{}}}", items.join(",")),
            [_, rest @ ..] => {
                let step = rest.iter().product::<usize>().max(1);
                let inner: Vec<String> = items.chunks(step).map(|c| nest(c, rest)).collect();
                format!("{{{}}}", inner.join(","))
            }
        }
    }
    Some(nest(&items, &dims))
}

/// PostgreSQL's binary NUMERIC (base-10000 digits), decoded to its text form.
struct PgNumeric(String);

impl<'a> tokio_postgres::types::FromSql<'a> for PgNumeric {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<PgNumeric, Box<dyn std::error::Error + Sync + Send>> {
        decode_numeric(raw)
            .map(PgNumeric)
            .ok_or_else(|| "malformed numeric".into())
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

fn decode_numeric(raw: &[u8]) -> Option<String> {
    let word =
        |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let ndigits = usize::try_from(word(0)?).ok()?;
    let weight = i64::from(word(2)?);
    let sign = word(4)? as u16;
    let dscale = usize::try_from(word(6)?).ok()?;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits = (0..ndigits)
        .map(|k| word(8 + 2 * k))
        .collect::<Option<Vec<i16>>>()?;
    let digit = |k: i64| -> i16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for k in 0..=weight {
            if k == 0 {
                out.push_str(&digit(k).to_string());
            } else {
                out.push_str(&format!("{:04}", digit(k)));
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut k = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(k)));
            k += 1;
        }
        frac.truncate(dscale);
        out.push('.');
        out.push_str(&frac);
    }
    Some(out)
}

// ---------------------------------------------------------------- SQLite

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Null => S::Null,
        Value::Bool(b) => S::Integer(i64::from(*b)),
        Value::Int(i) => S::Integer(*i),
        Value::Float(f) => S::Real(*f),
        Value::String(s) => S::Text(s.clone()),
        Value::Bytes(b) => S::Blob(b.clone()),
        Value::Timestamp(t) => S::Text(t.to_rfc3339()),
        other => S::Text(other.to_json_string()),
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as S;
    match v {
        S::Null => Value::Null,
        S::Integer(i) => Value::Int(i),
        S::Real(f) => Value::Float(f),
        S::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        S::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn sqlite_run(
    conn: &Mutex<rusqlite::Connection>,
    sql: &str,
    args: &[Value],
    want_rows: bool,
) -> Result<Rows, SqlError> {
    let q = |e: rusqlite::Error| SqlError::Query(e.to_string());
    let conn = conn
        .lock()
        .map_err(|_| SqlError::Query("sqlite connection poisoned".into()))?;
    let mut stmt = conn.prepare_cached(sql).map_err(q)?;
    let expected = stmt.parameter_count();
    if expected != args.len() {
        return Err(SqlError::Query(format!(
            "the statement takes {expected} arguments, args_mapping gave {}",
            args.len()
        )));
    }
    let params: Vec<rusqlite::types::Value> = args.iter().map(sqlite_value).collect();
    if !want_rows {
        stmt.execute(rusqlite::params_from_iter(params.iter()))
            .map_err(q)?;
        return Ok(Vec::new());
    }
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(q)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(q)? {
        let mut obj = Object::new();
        for (i, name) in names.iter().enumerate() {
            obj.insert(name.clone(), from_sqlite(row.get_ref(i).map_err(q)?));
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

// ---------------------------------------------------------------- statements

/// `INSERT INTO table (cols) VALUES (...), (...)` for `rows` rows, with prefix and suffix.
pub fn insert_statement(
    driver: Driver,
    prefix: Option<&str>,
    table: &str,
    columns: &[String],
    rows: usize,
    suffix: Option<&str>,
) -> String {
    let mut sql = String::new();
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        sql.push_str(p);
        sql.push(' ');
    }
    sql.push_str(&format!(
        "INSERT INTO {table} ({}) VALUES ",
        columns.join(", ")
    ));
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&driver.placeholder(n));
            n += 1;
        }
        sql.push(')');
    }
    if let Some(s) = suffix.filter(|s| !s.is_empty()) {
        sql.push(' ');
        sql.push_str(s);
    }
    sql
}

/// The shared part of `sql_insert` (processor and output): build and run one multi-row INSERT
/// for a batch. Messages whose args mapping fails are left out and reported by index.
pub struct Inserter {
    pub db: Db,
    pub table: String,
    pub columns: Vec<String>,
    pub args: Mapping,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

impl Inserter {
    /// Insert the rows of `batch` whose arguments could be built, in one statement; the
    /// messages whose arguments failed come back with the reason. With `all_or_none` a batch
    /// with any such message inserts nothing, so that replaying it cannot insert a row twice.
    pub async fn insert(
        &self,
        batch: &[Message],
        all_or_none: bool,
    ) -> (Result<(), SqlError>, Vec<(usize, String)>) {
        let mut args = Vec::with_capacity(batch.len() * self.columns.len());
        let mut failed = Vec::new();
        let mut rows = 0;
        for i in 0..batch.len() {
            match args_for(Some(&self.args), batch, i) {
                Ok(a) if a.len() == self.columns.len() => {
                    args.extend(a);
                    rows += 1;
                }
                Ok(a) => failed.push((
                    i,
                    format!(
                        "args_mapping returned {} values for {} columns",
                        a.len(),
                        self.columns.len()
                    ),
                )),
                Err(e) => failed.push((i, e)),
            }
        }
        if rows == 0 || (all_or_none && !failed.is_empty()) {
            return (Ok(()), failed);
        }
        let sql = insert_statement(
            self.db.driver(),
            self.prefix.as_deref(),
            &self.table,
            &self.columns,
            rows,
            self.suffix.as_deref(),
        );
        (self.db.exec(&sql, args).await, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statements_use_the_driver_placeholders() {
        let cols = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            insert_statement(
                Driver::Postgres,
                None,
                "t",
                &cols,
                2,
                Some("ON CONFLICT DO NOTHING")
            ),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            insert_statement(
                Driver::Sqlite,
                Some("WITH x AS (SELECT 1)"),
                "t",
                &cols,
                1,
                None
            ),
            "WITH x AS (SELECT 1) INSERT INTO t (a, b) VALUES (?, ?)"
        );
    }

    #[test]
    fn where_clauses_are_rebound_for_postgres() {
        assert_eq!(
            Driver::Postgres.rebind("a = ? AND b = ?", 1),
            "a = $1 AND b = $2"
        );
        assert_eq!(
            Driver::Postgres.rebind("j ?? 'k' AND a = ?", 1),
            "j ? 'k' AND a = $1"
        );
        assert_eq!(Driver::Sqlite.rebind("a = ?", 1), "a = ?");
    }

    #[tokio::test]
    async fn sqlite_round_trips_values() {
        let ctx = BuildCtx::new(Arc::default());
        let conf: SqlConnConfig = serde_json::from_value(serde_json::json!({
            "driver": "sqlite", "dsn": ":memory:",
            "init_statement": "CREATE TABLE t (i INTEGER, f REAL, s TEXT, b BLOB, n TEXT);"
        }))
        .unwrap();
        let db = Db::new(conf.target, conf.options, &ctx).unwrap();
        db.exec(
            "INSERT INTO t (i, f, s, b, n) VALUES (?, ?, ?, ?, ?)",
            vec![
                Value::Int(7),
                Value::Float(1.5),
                Value::from("x"),
                Value::Bytes(b"yz".to_vec()),
                Value::Null,
            ],
        )
        .await
        .unwrap();
        let rows = db.query("SELECT * FROM t", vec![]).await.unwrap();
        assert_eq!(
            Value::Array(rows).to_json_string(),
            r#"[{"b":"yz","f":1.5,"i":7,"n":null,"s":"x"}]"#
        );
        let e = db
            .exec("INSERT INTO t (i) VALUES (?)", vec![])
            .await
            .unwrap_err();
        assert!(matches!(e, SqlError::Query(m) if m.contains("takes 1 arguments")));
    }
}
