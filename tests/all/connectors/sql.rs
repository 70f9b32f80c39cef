//! SQL outputs through the suite (PostgreSQL and SQLite), and the SQL processors.

use std::sync::Arc;

use async_trait::async_trait;
use engine::components::registry;
use engine::components::registry::ComponentConf;
use engine::components::{BuildCtx, Shared};
use engine::message::{Batch, Message};
use engine::spec::ComponentKind;

use super::suite::{self, suite_tests, Harness, Target};

pub fn postgres_dsn() -> Option<String> {
    super::service(
        "ENGINE_TEST_POSTGRES_DSN",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        5432,
    )
}

pub async fn pg_client(dsn: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .expect("test connection to PostgreSQL");
    tokio::spawn(conn);
    client
}

struct Postgres {
    dsn: String,
}

#[async_trait]
impl Target for Postgres {
    async fn setup(&self, id: &str) {
        pg_client(&self.dsn)
            .await
            .batch_execute(&format!("CREATE TABLE {id} (id int4 NOT NULL, name text)"))
            .await
            .unwrap();
    }
    async fn stored(&self, id: &str) -> Vec<String> {
        let rows = pg_client(&self.dsn)
            .await
            .query(&format!("SELECT id, name FROM {id}"), &[])
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                let (i, n): (i32, String) = (r.get(0), r.get(1));
                format!("{{\"id\":{i},\"name\":\"{n}\"}}")
            })
            .collect()
    }
    async fn kill(&self, id: &str) {
        // Only the backends of the component under test (its DSN names the application).
        let n = pg_client(&self.dsn)
            .await
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&id],
            )
            .await
            .unwrap()
            .len();
        eprintln!("postgres: terminated {n} backends");
    }
    async fn teardown(&self, id: &str) {
        let _ = pg_client(&self.dsn)
            .await
            .batch_execute(&format!("DROP TABLE IF EXISTS {id}"))
            .await;
    }
    async fn sabotage(&self, id: &str) -> bool {
        pg_client(&self.dsn)
            .await
            .batch_execute(&format!("ALTER TABLE {id} RENAME TO {id}_away"))
            .await
            .unwrap();
        true
    }
    async fn repair(&self, id: &str) {
        pg_client(&self.dsn)
            .await
            .batch_execute(&format!("ALTER TABLE {id}_away RENAME TO {id}"))
            .await
            .unwrap();
    }
}

fn with_app_name(dsn: &str) -> String {
    let sep = if dsn.contains('?') { '&' } else { '?' };
    format!("{dsn}{sep}application_name=$ID")
}

fn sql_insert_postgres() -> Option<Harness> {
    let dsn = postgres_dsn()?;
    Some(Harness {
        name: "sql_insert_postgres",
        output: format!(
            "sql_insert:\n  driver: postgres\n  dsn: \"{}\"\n  table: $ID\n  columns: [ id, name ]\n  args_mapping: root = [ this.id, this.name ]\n  max_in_flight: 64\n  conn_max_open: 8\n",
            with_app_name(&dsn)
        ),
        input: None,
        target: Arc::new(Postgres { dsn }),
    })
}

/// `sql_raw` as an output runs its statement per message (here an upsert).
fn sql_raw_postgres() -> Option<Harness> {
    let dsn = postgres_dsn()?;
    Some(Harness {
        name: "sql_raw_postgres",
        output: format!(
            "sql_raw:\n  driver: postgres\n  dsn: \"{}\"\n  query: INSERT INTO $ID (id, name) VALUES ($1, $2)\n  args_mapping: root = [ this.id, this.name ]\n  max_in_flight: 16\n",
            with_app_name(&dsn)
        ),
        input: None,
        target: Arc::new(Postgres { dsn }),
    })
}

// Each case works on its own table and kills only its own connections (by application name),
// so the PostgreSQL cases run side by side.
suite_tests! { harness: sql_insert_postgres();
    insert_open_close(h) { suite::open_close(&h).await }
    insert_send_batch(h) { suite::send_batch(&h, 10).await }
    insert_stream_parallel(h) { suite::stream_parallel(&h, 10_000).await }
    insert_at_least_once(h) { suite::at_least_once_output(&h, 100).await }
    insert_reconnect(h) { suite::reconnect_output(&h, 1000).await }
}

suite_tests! { harness: sql_raw_postgres();
    raw_open_close(h) { suite::open_close(&h).await }
    raw_send_batch(h) { suite::send_batch(&h, 10).await }
    raw_stream_parallel(h) { suite::stream_parallel(&h, 2000).await }
    raw_at_least_once(h) { suite::at_least_once_output(&h, 100).await }
    raw_reconnect(h) { suite::reconnect_output(&h, 500).await }
}

struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    fn conn(&self, id: &str) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join(format!("{id}.db"))).unwrap()
    }
}

#[async_trait]
impl Target for Sqlite {
    async fn setup(&self, id: &str) {
        self.conn(id)
            .execute_batch(&format!(
                "CREATE TABLE {id} (id INTEGER NOT NULL, name TEXT)"
            ))
            .unwrap();
    }
    async fn stored(&self, id: &str) -> Vec<String> {
        let c = self.conn(id);
        let mut s = c.prepare(&format!("SELECT id, name FROM {id}")).unwrap();
        s.query_map([], |r| {
            Ok(format!(
                "{{\"id\":{},\"name\":\"{}\"}}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }
    async fn kill(&self, _id: &str) {}
    async fn teardown(&self, _id: &str) {}
    async fn sabotage(&self, id: &str) -> bool {
        self.conn(id)
            .execute_batch(&format!("ALTER TABLE {id} RENAME TO {id}_away"))
            .unwrap();
        true
    }
    async fn repair(&self, id: &str) {
        self.conn(id)
            .execute_batch(&format!("ALTER TABLE {id}_away RENAME TO {id}"))
            .unwrap();
    }
}

fn sql_insert_sqlite() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    Some(Harness {
        name: "sql_insert_sqlite",
        output: format!(
            "sql_insert:\n  driver: sqlite\n  dsn: \"{}/$ID.db\"\n  table: $ID\n  columns: [ id, name ]\n  args_mapping: root = [ this.id, this.name ]\n  init_statement: PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL\n",
            dir.path().display()
        ),
        input: None,
        target: Arc::new(Sqlite { dir }),
    })
}

suite_tests! { harness: sql_insert_sqlite();
    sqlite_open_close(h) { suite::open_close(&h).await }
    sqlite_send_batch(h) { suite::send_batch(&h, 10).await }
    sqlite_stream_parallel(h) { suite::stream_parallel(&h, 10_000).await }
    sqlite_at_least_once(h) { suite::at_least_once_output(&h, 100).await }
}

async fn processor(yaml: &str) -> Arc<engine::components::ProcessorStage> {
    let j: serde_json::Value = serde_json::from_str(yaml).unwrap();
    let conf = ComponentConf::from_json(ComponentKind::Processor, &j).unwrap();
    registry::build_processor(&conf, &BuildCtx::new(Arc::new(Shared::default()))).unwrap()
}

fn docs(items: &[&str]) -> Batch {
    items
        .iter()
        .map(|s| Message::from_bytes(s.to_string()))
        .collect()
}

async fn processors_round_trip(driver: &str, dsn: &str, table: &str, raw_select: &str) {
    let conn = format!("\"driver\": \"{driver}\", \"dsn\": \"{dsn}\"");
    let insert = processor(&format!(
        r#"{{"sql_insert": {{ {conn}, "table": "{table}", "columns": ["id", "name", "score", "doc"],
            "args_mapping": "root = [ this.id, this.name, this.score, this.doc ]",
            "init_statement": "CREATE TABLE IF NOT EXISTS {table} (id int8, name text, score float8, doc text)" }} }}"#
    ))
    .await;
    let out = insert
        .run(docs(&[
            r#"{"id":1,"name":"a","score":1.5,"doc":{"x":[1,2]}}"#,
            r#"{"id":2,"name":"b","score":null,"doc":"plain"}"#,
            r#"{"id":"not json"#,
        ]))
        .await;
    assert_eq!(out.len(), 1);
    assert!(out[0][0].error().is_none(), "{:?}", out[0][0].error());
    assert_eq!(
        out[0][0].as_str_lossy(),
        r#"{"id":1,"name":"a","score":1.5,"doc":{"x":[1,2]}}"#
    );
    assert!(
        out[0][2].error().is_some(),
        "a message whose args fail is flagged"
    );

    let select = processor(&format!(
        r#"{{"sql_select": {{ {conn}, "table": "{table}", "columns": ["id", "name", "score", "doc"],
            "where": "id >= ?", "args_mapping": "root = [ this.min ]", "suffix": "ORDER BY id" }} }}"#
    ))
    .await;
    let out = select.run(docs(&[r#"{"min":1}"#, r#"{"min":2}"#])).await;
    assert_eq!(
        out[0][0].as_str_lossy(),
        r#"[{"doc":"{\"x\":[1,2]}","id":1,"name":"a","score":1.5},{"doc":"plain","id":2,"name":"b","score":null}]"#
    );
    assert_eq!(
        out[0][1].as_str_lossy(),
        r#"[{"doc":"plain","id":2,"name":"b","score":null}]"#
    );

    let raw = processor(&format!(
        r#"{{"sql_raw": {{ {conn}, "query": "{raw_select}", "args_mapping": "root = [ this.name ]" }} }}"#
    ))
    .await;
    let out = raw
        .run(docs(&[r#"{"name":"b"}"#, r#"{"name":"zzz"}"#]))
        .await;
    assert_eq!(out[0][0].as_str_lossy(), r#"[{"id":2}]"#);
    assert_eq!(out[0][1].as_str_lossy(), "[]");

    let bad = processor(&format!(
        r#"{{"sql_raw": {{ {conn}, "query": "SELECT nope FROM {table}", "exec_only": true }} }}"#
    ))
    .await;
    let out = bad.run(docs(&["keep me"])).await;
    assert_eq!(out[0][0].as_str_lossy(), "keep me");
    assert!(out[0][0].error().is_some());
}

#[tokio::test]
async fn sql_processors_postgres() {
    let Some(dsn) = postgres_dsn() else { return };
    let table = format!("engine_proc_{}", uuid::Uuid::new_v4().simple());
    processors_round_trip(
        "postgres",
        &dsn,
        &table,
        &format!("SELECT id FROM {table} WHERE name = $1"),
    )
    .await;
    let _ = pg_client(&dsn)
        .await
        .batch_execute(&format!("DROP TABLE {table}"))
        .await;
}

/// Every PostgreSQL type comes back, as its text form where lib/pq (under Bento) gives text.
#[tokio::test]
async fn postgres_columns_of_every_type_come_back_as_bentos() {
    let Some(dsn) = postgres_dsn() else { return };
    let query = "SELECT ARRAY[1,2,3] AS a, ARRAY['x','y z'] AS b, interval '1 year 2 months 3 days 04:05:06.5' AS i, '-1 day'::interval AS ni, '192.168.0.1'::inet AS ip, '10.0.0.0/8'::cidr AS net, '12:34:56.25'::time AS t, '1234.56'::money AS m, '{\\\"k\\\":1}'::jsonb AS j, '{\\\"k\\\":  1}'::json AS js, '08:00:2b:01:02:03'::macaddr AS mac, B'101' AS bits, ARRAY[[1,2],[3,4]] AS aa, ARRAY[NULL, 'a']::text[] AS an, 'a'::\\\"char\\\" AS c, 7::int8 AS n";
    let raw = processor(&format!(
        r#"{{"sql_raw": {{ "driver": "postgres", "dsn": "{dsn}", "query": "{query}" }} }}"#
    ))
    .await;
    let out = raw.run(docs(&["{}"])).await;
    assert!(out[0][0].error().is_none(), "{:?}", out[0][0].error());
    let rows: serde_json::Value = serde_json::from_slice(out[0][0].bytes()).unwrap();
    let text = |k: &str| match &rows[0][k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (k, want) in [
        ("a", "{1,2,3}"),
        ("b", "{x,\"y z\"}"),
        ("i", "1 year 2 mons 3 days 04:05:06.5"),
        ("ni", "-1 days"),
        ("ip", "192.168.0.1"),
        ("net", "10.0.0.0/8"),
        ("t", "12:34:56.25"),
        ("m", "$1,234.56"),
        ("j", "{\"k\": 1}"),
        ("js", "{\"k\":  1}"),
        ("mac", "08:00:2b:01:02:03"),
        ("bits", "101"),
        ("aa", "{{1,2},{3,4}}"),
        ("an", "{NULL,a}"),
        ("c", "a"),
        ("n", "7"),
    ] {
        assert_eq!(text(k), want, "column {k}");
    }
}

/// `${! }` in a query is text unless `unsafe_dynamic_query`; a database that does not answer
/// is an error naming why.
#[tokio::test]
async fn postgres_queries_are_verbatim_unless_dynamic_and_connection_errors_say_why() {
    let Some(dsn) = postgres_dsn() else { return };
    let query = |dynamic: bool| {
        format!(
            r#"{{"sql_raw": {{ "driver": "postgres", "dsn": "{dsn}", "query": "SELECT '${{! this.x }}' AS q", "unsafe_dynamic_query": {dynamic} }} }}"#
        )
    };
    let out = processor(&query(false))
        .await
        .run(docs(&[r#"{"x":"v"}"#]))
        .await;
    assert_eq!(out[0][0].as_str_lossy(), r#"[{"q":"${! this.x }"}]"#);
    let out = processor(&query(true))
        .await
        .run(docs(&[r#"{"x":"v"}"#]))
        .await;
    assert_eq!(out[0][0].as_str_lossy(), r#"[{"q":"v"}]"#);

    let down = processor(
        r#"{"sql_raw": { "driver": "postgres", "dsn": "postgres://postgres@127.0.0.1:1/test?sslmode=disable", "query": "SELECT 1" } }"#,
    )
    .await;
    let out = down.run(docs(&["{}"])).await;
    let e = out[0][0]
        .error()
        .map(|e| e.text.clone())
        .unwrap_or_default();
    assert!(e.contains("Connection refused"), "{e}");
}

/// Bento's deprecated `sql` processor, as the platform's first configs wrote it: it runs as
/// `sql_raw`, leaving the message as it was unless a `result_codec` asks for the rows.
#[tokio::test]
async fn the_deprecated_sql_processor_runs_as_sql_raw_on_postgres() {
    let Some(dsn) = postgres_dsn() else { return };
    let table = format!("engine_sqldep_{}", uuid::Uuid::new_v4().simple());
    let client = pg_client(&dsn).await;
    client
        .batch_execute(&format!("CREATE TABLE {table} (id int8, name text)"))
        .await
        .unwrap();
    let insert = processor(&format!(
        r#"{{"sql": {{ "driver": "postgres", "data_source_name": "{dsn}",
            "query": "INSERT INTO {table} (id, name) VALUES ($1, $2)",
            "args_mapping": "root = [ this.id, this.name ]" }} }}"#
    ))
    .await;
    let out = insert.run(docs(&[r#"{"id":7,"name":"seven"}"#])).await;
    assert!(out[0][0].error().is_none(), "{:?}", out[0][0].error());
    assert_eq!(out[0][0].as_str_lossy(), r#"{"id":7,"name":"seven"}"#);
    let row = client
        .query_one(&format!("SELECT name FROM {table} WHERE id = 7"), &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "seven");

    let select = processor(&format!(
        r#"{{"sql": {{ "driver": "postgres", "data_source_name": "{dsn}",
            "query": "SELECT id, name FROM {table} WHERE id = $1",
            "args_mapping": "root = [ this.id ]", "result_codec": "json_array" }} }}"#
    ))
    .await;
    let out = select.run(docs(&[r#"{"id":7}"#])).await;
    assert_eq!(out[0][0].as_str_lossy(), r#"[{"id":7,"name":"seven"}]"#);
    let _ = client.batch_execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test]
async fn sql_processors_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = dir.path().join("p.db").display().to_string();
    processors_round_trip(
        "sqlite",
        &dsn,
        "things",
        "SELECT id FROM things WHERE name = ?",
    )
    .await;
}

#[tokio::test]
async fn postgres_binds_ints_to_the_column_types() {
    let Some(dsn) = postgres_dsn() else { return };
    let table = format!("engine_types_{}", uuid::Uuid::new_v4().simple());
    let insert = processor(&format!(
        r#"{{"sql_insert": {{ "driver": "postgres", "dsn": "{dsn}", "table": "{table}",
            "columns": ["a", "b", "c", "d", "e", "f"],
            "args_mapping": "root = [ this.n, this.n, this.n, this.n, this.n, json(\"t\") ]",
            "init_statement": "CREATE TABLE IF NOT EXISTS {table} (a int2, b int4, c int8, d numeric, e float4, f timestamptz)" }} }}"#
    ))
    .await;
    let out = insert
        .run(docs(&[r#"{"n":7,"t":"2024-01-02T03:04:05Z"}"#]))
        .await;
    assert!(out[0][0].error().is_none(), "{:?}", out[0][0].error());
    // Values are checked against the column types the server reports, never spliced in.
    let out = insert
        .run(docs(&[r#"{"n":70000,"t":"2024-01-02T03:04:05Z"}"#]))
        .await;
    let e = out[0][0]
        .error()
        .map(|e| e.text.clone())
        .unwrap_or_default();
    assert!(e.contains("out of range for smallint"), "{e}");
    let out = insert
        .run(docs(&[
            r#"{"n":"1; DROP TABLE x","t":"2024-01-02T03:04:05Z"}"#,
        ]))
        .await;
    let e = out[0][0]
        .error()
        .map(|e| e.text.clone())
        .unwrap_or_default();
    assert!(e.contains("is not an integer"), "{e}");
    let select = processor(&format!(
        r#"{{"sql_raw": {{ "driver": "postgres", "dsn": "{dsn}", "conn_max_life_time": "1ms", "query": "SELECT a, b, c, d, e, f, -12345.0670::numeric AS g, 0.0001::numeric(10,6) AS h, 100000000::numeric AS i FROM {table}" }} }}"#
    ))
    .await;
    // Two messages: with a 1ms connection lifetime the second one gets a fresh connection.
    let out = select.run(docs(&["{}", "{}"])).await;
    assert_eq!(out[0][1].as_str_lossy(), out[0][0].as_str_lossy());
    assert_eq!(
        out[0][0].as_str_lossy(),
        r#"[{"a":7,"b":7,"c":7,"d":"7","e":7,"f":"2024-01-02T03:04:05Z","g":"-12345.0670","h":"0.000100","i":"100000000"}]"#
    );
    let _ = pg_client(&dsn)
        .await
        .batch_execute(&format!("DROP TABLE {table}"))
        .await;
}

/// `sslmode` as libpq reads it, against the test server's own certificate (Debian's clusters
/// serve TLS with a self-signed "snakeoil" certificate).
#[test]
fn postgres_sslmode_disable_require_verify_ca_and_verify_full() {
    let Some(dsn) = postgres_dsn() else { return };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ssl, cert) = rt.block_on(async {
        let c = pg_client(&dsn).await;
        let ssl: String = c.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        let cert: String = c.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
        (ssl, cert)
    });
    if ssl != "on" || std::fs::metadata(&cert).is_err() {
        let why = format!("the test PostgreSQL serves no TLS (ssl={ssl}, cert {cert})");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let base = dsn.split('?').next().unwrap_or_default().to_owned();
    let run = |params: &str| -> String {
        let (_dir, path) = crate::support::temp_config(&format!(
            "http: {{enabled: false}}\ninput:\n  generate:\n    count: 1\n    interval: ''\n    mapping: root = 1\npipeline:\n  processors:\n    - sql_raw:\n        driver: postgres\n        dsn: \"{base}?{params}\"\n        query: SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()\n    - catch:\n        - mapping: root = error()\noutput:\n  stdout: {{}}\n"
        ));
        let out =
            crate::support::run_engine(&["run", "-c", path.to_str().unwrap_or_default()], b"");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(run("sslmode=disable"), r#"[{"ssl":false}]"#);
    assert_eq!(run("sslmode=require"), r#"[{"ssl":true}]"#);
    assert_eq!(run(""), r#"[{"ssl":true}]"#, "prefer is the default");
    // The self-signed certificate is its own root: the chain checks out...
    assert_eq!(
        run(&format!("sslmode=verify-ca&sslrootcert={cert}")),
        r#"[{"ssl":true}]"#
    );
    // ...but not for 127.0.0.1, which it does not name.
    let full = run(&format!("sslmode=verify-full&sslrootcert={cert}"));
    assert!(
        full.contains("certificate not valid for name \"127.0.0.1\""),
        "{full}"
    );
    // A root that did not sign it refuses it.
    let other = run("sslmode=verify-ca&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
    assert!(
        other.contains("UnknownIssuer") || other.contains("no certificate"),
        "{other}"
    );
}
