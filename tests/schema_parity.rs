//! The PostgreSQL migrations build the schema the SQLite migrations build:
//! the same tables, the same columns in the same order with the same kind
//! (integer, real, text, blob) and nullability, the same keys, foreign keys,
//! number of CHECK constraints and indexes; on PostgreSQL every integer is
//! int8 and every real float8, ids the database numbers are identities, and
//! the tables SQLite's triggers make append-only refuse UPDATE, DELETE and
//! TRUNCATE with the same messages. A second test applies the migrations to
//! databases that already hold rows, on both backends, and compares what
//! the data-moving migrations made of them.
//!
//! Needs a PostgreSQL server: `OVERSIGHT_TEST_POSTGRES_URL`, which
//! `source tests/postgres.sh` (and so `bash tests/run.sh`) sets. Each test
//! creates its own database (C collation, UTF-8) and drops it at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, Row};

const URL_VARIABLE: &str = "OVERSIGHT_TEST_POSTGRES_URL";

/// Where the two schemas cannot be the same, and why. Nullability of these
/// columns is not compared.
const NULLABILITY_EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// Integer primary keys that the product (or a migration) inserts with an
/// explicit value: on PostgreSQL they must accept one, so they are not
/// `GENERATED ALWAYS`. Every other SQLite `INTEGER PRIMARY KEY` must be
/// numbered by PostgreSQL (an identity).
const EXPLICIT_IDS: &[(&str, &str, &str)] = &[
    (
        "agency",
        "id",
        "inserted with its id: 1 by migration 0001, the next by `agency add` under the write lock",
    ),
    ("audit_log", "seq", "the hash chain's sequence number, src/audit/mod.rs inserts it"),
    ("stop_aggregates", "agency_id", "one row per agency, keyed by the agency's id"),
    ("deployment", "id", "one row, id 1, inserted by migration 0019"),
];

/// One row for each append-only table, so that row triggers have a row to
/// fire on; inserted in this order (the first statement is a user the
/// others refer to). Portable SQL: run on both backends.
const FIXTURES: &[(&str, &str)] = &[
    (
        "users",
        "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('fixture', 'Fixture', 'x', 0)",
    ),
    (
        "audit_log",
        "INSERT INTO audit_log (seq, at_us, user_id, username, roles, source, action, object_kind, object_id, outcome, \
         details, prev_hash, hash, agency_id) VALUES (1, 1700000000000000, NULL, 'system', '', 'test', 'test.fixture', 'test', '1', \
         'ok', '{}', 'genesis', 'hash', 1)",
    ),
    (
        "sign_offs",
        "INSERT INTO sign_offs (record_kind, record_id, decision, reviewer_id, reviewer_name, reviewer_kind, signed_at, \
         action_at, record_hash, agency_id) VALUES ('stop', 1, 'approved', (SELECT id FROM users WHERE username = 'fixture'), \
         'Fixture', 'agency', 1700000000, 1700000000, 'hash', 1)",
    ),
    (
        "reports",
        "INSERT INTO reports (number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
         audit_head, file_sha256, file_name, size, agency_id) VALUES ('R-1', '2026-01-01', '2026-03-31', 1700000000, \
         'fixture', 'data', 1, 'head', 'file', 'r-1.pdf', 1, 1)",
    ),
    (
        "report_comments",
        "INSERT INTO report_comments (report_id, user_id, author, body, created_at, agency_id) VALUES \
         ((SELECT id FROM reports WHERE number = 'R-1'), (SELECT id FROM users WHERE username = 'fixture'), 'Fixture', \
         'A comment.', 1700000000, 1)",
    ),
    (
        "publications",
        "INSERT INTO publications (agency_id, period_from, period_to, version, published_at, correction, data_sha256, \
         audit_seq, body, measures_csv, measures_json, dictionary_csv, datapackage, pdf_file, pdf_sha256, note) \
         VALUES (1, '2026-01-01', '2026-03-31', 1, 1700000000, '', 'data', 1, '{}', 'csv', '{}', 'csv', '{}', 'p.pdf', \
         'pdf', 'note')",
    ),
    (
        "state_reports",
        "INSERT INTO state_reports (number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
         audit_head, file_sha256, file_name, size) VALUES ('S-1', '2026-01-01', '2026-03-31', 1700000000, 'fixture', \
         'data', 1, 'head', 'state-file', 's-1.pdf', 1)",
    ),
    (
        "state_report_agencies",
        "INSERT INTO state_report_agencies (report_id, agency_id, data_form, data_sha256, audit_seq, audit_head) VALUES \
         ((SELECT id FROM state_reports WHERE number = 'S-1'), 1, 'v3', 'data', 1, 'head')",
    ),
    (
        "package_receipts",
        "INSERT INTO package_receipts (agency_id, period_from, period_to, fingerprint, source_seq, source_head, \
         exported_at, records, received_at, received_by) VALUES (1, '2026-01-01', '2026-03-31', 'fingerprint', 1, \
         'head', '2026-04-01T00:00:00Z', '{}', 1700000000, 'fixture')",
    ),
    (
        "audit_checkpoints",
        "INSERT INTO audit_checkpoints (agency_id, size, root, note, signed_at_us) VALUES (1, 1, 'root', 'note', 1)",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    /// integer, real, text, blob, or what else the type is.
    kind: String,
    /// The type as the database names it (SQLite's declared type,
    /// PostgreSQL's `pg_type.typname`).
    declared: String,
    not_null: bool,
    /// PostgreSQL: identity ('a' always, 'd' by default, '' none), and
    /// whether the column has a default. SQLite: whether the column is a
    /// rowid alias (`INTEGER PRIMARY KEY`).
    identity: String,
    has_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    unique: bool,
    partial: bool,
    /// Key columns in order; an expression is `<expression>`.
    keys: Vec<String>,
}

#[derive(Debug, Default)]
struct Table {
    columns: Vec<Column>,
    /// Indexes made with CREATE INDEX (not those behind constraints).
    indexes: BTreeMap<String, Index>,
    /// "primary key (a, b)", "unique (c)".
    keys: BTreeSet<String>,
    /// "(a) -> t (b)".
    foreign_keys: BTreeSet<String>,
    checks: usize,
}

type Schema = BTreeMap<String, Table>;

/// A PostgreSQL constraint: kind, columns, and for a foreign key the table
/// and columns it refers to.
type ConstraintRow = (String, Vec<String>, Option<String>, Option<Vec<String>>);

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

async fn migrator(backend: &str) -> Migrator {
    let path = manifest_path(&format!("migrations/{backend}"));
    Migrator::new(path.as_path()).await.unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn postgres_url() -> String {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{URL_VARIABLE} is not set: this test needs a PostgreSQL server. Run the whole suite with \
             `bash tests/run.sh`, or start a throwaway server first: `source tests/postgres.sh` then \
             `cargo test --test schema_parity`"
        ),
    }
}

/// A fresh SQLite file in a temporary folder (kept alive by the TempDir).
async fn fresh_sqlite() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("parity.db"))
        .create_if_missing(true)
        // As src/db.rs runs the migrations: rebuilding a table needs it.
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("open SQLite");
    (dir, pool)
}

/// A database of its own on the test server, dropped by `drop_database`.
struct PgDatabase {
    admin: PgConnectOptions,
    name: String,
    pool: PgPool,
}

async fn fresh_postgres(purpose: &str) -> PgDatabase {
    let url = postgres_url();
    let admin = PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("{URL_VARIABLE}={url}: {e}"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("{purpose}_{}_{nanos}", std::process::id());
    let mut conn = sqlx::PgConnection::connect_with(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VARIABLE}={url}: {e}"));
    sqlx::query(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    conn.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(admin.clone().database(&name))
        .await
        .unwrap_or_else(|e| panic!("connecting to database {name}: {e}"));
    PgDatabase { admin, name, pool }
}

impl PgDatabase {
    async fn drop_database(self) {
        self.pool.close().await;
        let mut conn =
            sqlx::PgConnection::connect_with(&self.admin).await.expect("connect to drop the database");
        sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("dropping database {}: {e}", self.name));
        conn.close().await.ok();
    }
}

/// SQLite's type affinity rules (section 3.1 of "Datatypes In SQLite").
fn sqlite_kind(declared: &str) -> String {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "integer"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "text"
    } else if t.contains("BLOB") || t.is_empty() {
        "blob"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real"
    } else {
        return format!("numeric ({declared})");
    }
    .to_string()
}

fn postgres_kind(typname: &str) -> String {
    match typname {
        "int2" | "int4" | "int8" => "integer",
        "float4" | "float8" => "real",
        "text" | "varchar" | "bpchar" => "text",
        "bytea" => "blob",
        other => return format!("other ({other})"),
    }
    .to_string()
}

/// CHECK constraints in a CREATE TABLE statement as SQLite stores it (with
/// the columns later ALTER TABLE statements added), comments left out.
fn count_checks(sql: &str) -> usize {
    let code: String =
        sql.lines().map(|line| line.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let upper = code.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    upper
        .match_indices("CHECK")
        .filter(|(at, _)| {
            let before_ok = *at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            let after = upper[at + 5..].trim_start();
            before_ok && after.starts_with('(')
        })
        .count()
}

async fn sqlite_schema(db: &SqlitePool) -> Schema {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(db)
    .await
    .expect("SQLite tables");
    let mut schema = Schema::new();
    for (name, sql) in tables {
        let without_rowid: bool =
            sqlx::query_scalar("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = $1")
                .bind(&name)
                .fetch_one(db)
                .await
                .expect("pragma_table_list");
        let rows = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid")
            .bind(&name)
            .fetch_all(db)
            .await
            .expect("pragma_table_info");
        let mut primary: Vec<(i64, String)> = Vec::new();
        let mut columns = Vec::new();
        for row in &rows {
            let column: String = row.get("name");
            let declared: String = row.get("type");
            let pk: i64 = row.get("pk");
            if pk > 0 {
                primary.push((pk, column.clone()));
            }
            columns.push(Column {
                kind: sqlite_kind(&declared),
                not_null: row.get::<bool, _>("notnull"),
                identity: String::new(),
                has_default: false,
                name: column,
                declared,
            });
        }
        primary.sort();
        let rowid_alias = primary.len() == 1
            && !without_rowid
            && columns.iter().any(|c| c.name == primary[0].1 && c.declared.eq_ignore_ascii_case("INTEGER"));
        for column in &mut columns {
            let in_primary = primary.iter().any(|(_, p)| *p == column.name);
            if in_primary && rowid_alias {
                // The rowid itself: never NULL, numbered by SQLite when not given.
                column.not_null = true;
                column.identity = "rowid".into();
            } else if in_primary && without_rowid {
                column.not_null = true;
            }
        }
        let mut table = Table { columns, checks: count_checks(&sql), ..Table::default() };
        if !primary.is_empty() {
            let names: Vec<&str> = primary.iter().map(|(_, c)| c.as_str()).collect();
            table.keys.insert(format!("primary key ({})", names.join(", ")));
        }
        let indexes = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
            .bind(&name)
            .fetch_all(db)
            .await
            .expect("pragma_index_list");
        for index in indexes {
            let index_name: String = index.get("name");
            let origin: String = index.get("origin");
            let keys: Vec<(i64, Option<String>)> =
                sqlx::query_as("SELECT cid, name FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno")
                    .bind(&index_name)
                    .fetch_all(db)
                    .await
                    .expect("pragma_index_xinfo");
            let keys: Vec<String> = keys
                .into_iter()
                .map(|(cid, column)| match (cid, column) {
                    (-2, _) => "<expression>".to_string(),
                    (_, Some(column)) => column,
                    (_, None) => "rowid".to_string(),
                })
                .collect();
            match origin.as_str() {
                "c" => {
                    table.indexes.insert(
                        index_name,
                        Index {
                            unique: index.get::<bool, _>("unique"),
                            partial: index.get::<bool, _>("partial"),
                            keys,
                        },
                    );
                }
                "u" => {
                    table.keys.insert(format!("unique ({})", keys.join(", ")));
                }
                // The primary key's own index: already taken from table_info.
                _ => {}
            }
        }
        let foreign: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(db)
        .await
        .expect("pragma_foreign_key_list");
        let mut by_id: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for (id, target, from, to) in foreign {
            let entry = by_id.entry(id).or_insert_with(|| (target, Vec::new(), Vec::new()));
            entry.1.push(from);
            entry.2.push(to.unwrap_or_else(|| "<primary key>".into()));
        }
        for (target, from, to) in by_id.into_values() {
            table.foreign_keys.insert(format!("({}) -> {target} ({})", from.join(", "), to.join(", ")));
        }
        schema.insert(name, table);
    }
    schema
}

async fn postgres_schema(db: &PgPool) -> Schema {
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations' \
         ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .expect("PostgreSQL tables");
    let mut schema = Schema::new();
    for (name,) in tables {
        // The table list came from the current schema, which resolves the names.
        let relation = name.clone();
        let columns = sqlx::query(
            "SELECT a.attname::text AS name, t.typname::text AS typname, a.attnotnull, a.attidentity::text AS identity, \
             a.atthasdef FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(&relation)
        .fetch_all(db)
        .await
        .expect("pg_attribute")
        .into_iter()
        .map(|row| {
            let typname: String = row.get("typname");
            Column {
                name: row.get("name"),
                kind: postgres_kind(&typname),
                declared: typname,
                not_null: row.get("attnotnull"),
                identity: row.get("identity"),
                has_default: row.get("atthasdef"),
            }
        })
        .collect();
        let mut table = Table { columns, ..Table::default() };
        let constraints: Vec<ConstraintRow> = sqlx::query_as(
            "SELECT k.contype::text, \
               ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord), \
               CASE WHEN k.contype = 'f' THEN k.confrelid::regclass::text END, \
               CASE WHEN k.contype = 'f' THEN ARRAY(SELECT a.attname::text \
                     FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord) END \
             FROM pg_constraint k WHERE k.conrelid = $1::regclass",
        )
        .bind(&relation)
        .fetch_all(db)
        .await
        .expect("pg_constraint");
        for (kind, columns, target, target_columns) in constraints {
            match kind.as_str() {
                "p" => {
                    table.keys.insert(format!("primary key ({})", columns.join(", ")));
                }
                "u" => {
                    table.keys.insert(format!("unique ({})", columns.join(", ")));
                }
                "f" => {
                    table.foreign_keys.insert(format!(
                        "({}) -> {} ({})",
                        columns.join(", "),
                        target.unwrap_or_default(),
                        target_columns.unwrap_or_default().join(", ")
                    ));
                }
                "c" => table.checks += 1,
                _ => {}
            }
        }
        let indexes: Vec<(String, bool, bool, Vec<String>)> = sqlx::query_as(
            "SELECT i.relname::text, x.indisunique, x.indpred IS NOT NULL, \
               ARRAY(SELECT CASE WHEN u.attnum = 0 THEN '<expression>' ELSE a.attname::text END \
                     FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, ord) \
                     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum \
                     WHERE u.ord <= x.indnkeyatts ORDER BY u.ord) \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = $1::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)",
        )
        .bind(&relation)
        .fetch_all(db)
        .await
        .expect("pg_index");
        for (index, unique, partial, keys) in indexes {
            table.indexes.insert(index, Index { unique, partial, keys });
        }
        schema.insert(name, table);
    }
    schema
}

fn describe(c: &Column) -> String {
    format!("{} {} (declared {})", c.kind, if c.not_null { "NOT NULL" } else { "NULL" }, c.declared)
}

fn describe_index(i: &Index) -> String {
    format!(
        "{}({}){}",
        if i.unique { "UNIQUE " } else { "" },
        i.keys.join(", "),
        if i.partial { " WHERE …" } else { "" }
    )
}

/// Every difference between the two schemas, one line each.
fn compare(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for name in sqlite.keys().filter(|t| !postgres.contains_key(*t)) {
        out.push(format!("table {name}: only in SQLite"));
    }
    for name in postgres.keys().filter(|t| !sqlite.contains_key(*t)) {
        out.push(format!("table {name}: only in PostgreSQL"));
    }
    for (name, s) in sqlite {
        let Some(p) = postgres.get(name) else { continue };
        for i in 0..s.columns.len().max(p.columns.len()) {
            match (s.columns.get(i), p.columns.get(i)) {
                (Some(a), Some(b)) => {
                    if a.name != b.name {
                        out.push(format!(
                            "table {name}, column #{}: SQLite has `{}`, PostgreSQL `{}` (same columns in the same order?)",
                            i + 1,
                            a.name,
                            b.name
                        ));
                        continue;
                    }
                    let excepted = NULLABILITY_EXCEPTIONS.iter().any(|(t, c, _)| t == name && *c == a.name);
                    if a.kind != b.kind || (a.not_null != b.not_null && !excepted) {
                        out.push(format!(
                            "table {name}, column `{}`: SQLite {}, PostgreSQL {}",
                            a.name,
                            describe(a),
                            describe(b)
                        ));
                    }
                }
                (Some(a), None) => {
                    out.push(format!("table {name}, column `{}` ({}): only in SQLite", a.name, describe(a)))
                }
                (None, Some(b)) => out.push(format!(
                    "table {name}, column `{}` ({}): only in PostgreSQL",
                    b.name,
                    describe(b)
                )),
                (None, None) => {}
            }
        }
        for (index, a) in &s.indexes {
            match p.indexes.get(index) {
                None => {
                    out.push(format!("table {name}: index `{index}` {} only in SQLite", describe_index(a)))
                }
                Some(b) if a != b => out.push(format!(
                    "table {name}: index `{index}` is {} on SQLite, {} on PostgreSQL",
                    describe_index(a),
                    describe_index(b)
                )),
                Some(_) => {}
            }
        }
        for (index, b) in p.indexes.iter().filter(|(i, _)| !s.indexes.contains_key(*i)) {
            out.push(format!("table {name}: index `{index}` {} only in PostgreSQL", describe_index(b)));
        }
        for key in s.keys.difference(&p.keys) {
            out.push(format!("table {name}: {key} only in SQLite"));
        }
        for key in p.keys.difference(&s.keys) {
            out.push(format!("table {name}: {key} only in PostgreSQL"));
        }
        for key in s.foreign_keys.difference(&p.foreign_keys) {
            out.push(format!("table {name}: foreign key {key} only in SQLite"));
        }
        for key in p.foreign_keys.difference(&s.foreign_keys) {
            out.push(format!("table {name}: foreign key {key} only in PostgreSQL"));
        }
        if s.checks != p.checks {
            out.push(format!(
                "table {name}: {} CHECK constraints on SQLite, {} on PostgreSQL",
                s.checks, p.checks
            ));
        }
    }
    out
}

/// PostgreSQL's own rules: 64-bit integers and doubles only (sqlx decodes
/// int4 and float4 into neither i64 nor f64), and ids that SQLite numbers
/// are numbered by PostgreSQL, except those the product inserts itself.
fn postgres_rules(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for (name, table) in postgres {
        for c in &table.columns {
            match (c.kind.as_str(), c.declared.as_str()) {
                ("integer", "int8") | ("real", "float8") | ("text", "text") | ("blob", "bytea") => {}
                ("integer", other) => out.push(format!("{name}.{}: {other}, must be int8 (BIGINT)", c.name)),
                ("real", other) => {
                    out.push(format!("{name}.{}: {other}, must be float8 (DOUBLE PRECISION)", c.name))
                }
                (_, other) => out.push(format!(
                    "{name}.{}: {other}, must be one of BIGINT, DOUBLE PRECISION, TEXT, BYTEA",
                    c.name
                )),
            }
        }
    }
    for (name, table) in sqlite {
        for c in table.columns.iter().filter(|c| c.identity == "rowid") {
            let Some(pg) = postgres.get(name).and_then(|t| t.columns.iter().find(|p| p.name == c.name))
            else {
                continue;
            };
            let explicit = EXPLICIT_IDS.iter().find(|(t, col, _)| t == name && *col == c.name);
            match explicit {
                Some((_, _, why)) if pg.identity == "a" => out.push(format!(
                    "{name}.{}: GENERATED ALWAYS refuses the explicit ids the product inserts ({why}): \
                     use BY DEFAULT or a plain key",
                    c.name
                )),
                None if pg.identity.is_empty() && !pg.has_default => out.push(format!(
                    "{name}.{}: SQLite numbers new rows (INTEGER PRIMARY KEY); PostgreSQL needs an identity \
                     (GENERATED ALWAYS AS IDENTITY), or list the column in EXPLICIT_IDS if ids are always given",
                    c.name
                )),
                _ => {}
            }
        }
    }
    for (table, column, _) in EXPLICIT_IDS.iter().chain(NULLABILITY_EXCEPTIONS) {
        if !sqlite.get(*table).is_some_and(|t| t.columns.iter().any(|c| c.name == *column)) {
            out.push(format!("{table}.{column} is listed in this test but is not in the SQLite schema"));
        }
    }
    out
}

/// SQLite's append-only tables, from their triggers: table -> (message on
/// UPDATE, message on DELETE).
async fn append_only_tables(db: &SqlitePool) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let triggers: Vec<(String, String)> =
        sqlx::query_as("SELECT tbl_name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")
            .fetch_all(db)
            .await
            .expect("SQLite triggers");
    let mut tables: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for (table, sql) in triggers {
        let upper = sql.to_ascii_uppercase();
        let Some(at) = upper.find("RAISE(ABORT,") else { continue };
        let rest = &sql[at + "RAISE(ABORT,".len()..];
        let message = rest.split('\'').nth(1).unwrap_or_default().to_string();
        let entry = tables.entry(table).or_default();
        if upper.contains("BEFORE UPDATE") {
            entry.0 = Some(message);
        } else if upper.contains("BEFORE DELETE") {
            entry.1 = Some(message);
        }
    }
    tables
}

fn succeeded(rows: u64) -> String {
    match rows {
        0 => "succeeded (0 rows: was the fixture row inserted?)".to_string(),
        n => format!("succeeded ({n} rows)"),
    }
}

fn error_message(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> Result<String, String> {
    match result {
        Err(sqlx::Error::Database(e)) => Ok(e.message().to_string()),
        Err(other) => Err(format!("failed, but not in the database: {other}")),
        Ok(done) => Err(succeeded(done.rows_affected())),
    }
}

fn sqlite_error_message(
    result: Result<sqlx::sqlite::SqliteQueryResult, sqlx::Error>,
) -> Result<String, String> {
    match result {
        Err(sqlx::Error::Database(e)) => Ok(e.message().to_string()),
        Err(other) => Err(format!("failed, but not in the database: {other}")),
        Ok(done) => Err(succeeded(done.rows_affected())),
    }
}

/// UPDATE, DELETE and TRUNCATE on each append-only table fail with the
/// SQLite trigger's message (TRUNCATE: the DELETE message). Each attempt
/// runs in a transaction that is rolled back, so a statement that wrongly
/// succeeds does not hide the next check.
async fn check_append_only(sqlite: &SqlitePool, postgres: &PgPool, schema: &Schema) -> Vec<String> {
    let tables = append_only_tables(sqlite).await;
    let mut out = Vec::new();
    if tables.is_empty() {
        out.push("no append-only table found among SQLite's triggers (expected audit_log at least)".into());
    }
    for table in tables.keys().filter(|t| !FIXTURES.iter().any(|(f, _)| f == *t)) {
        out.push(format!("append-only table {table} has no row in FIXTURES to try its triggers on"));
    }
    for (table, sql) in FIXTURES {
        if let Err(e) = sqlx::query(sql).execute(sqlite).await {
            out.push(format!("fixture row for {table} on SQLite: {e}"));
        }
        if let Err(e) = sqlx::query(sql).execute(postgres).await {
            out.push(format!("fixture row for {table} on PostgreSQL: {e}"));
        }
    }
    for (table, (on_update, on_delete)) in &tables {
        // A column the UPDATE may set to itself (not an identity).
        let Some(column) = schema.get(table).and_then(|t| t.columns.last()).map(|c| c.name.clone()) else {
            continue;
        };
        let update = format!("UPDATE {table} SET {column} = {column}");
        let delete = format!("DELETE FROM {table}");
        let truncate = format!("TRUNCATE {table} CASCADE");
        let attempts = [
            (update.as_str(), on_update.as_deref(), true),
            (delete.as_str(), on_delete.as_deref(), true),
            (truncate.as_str(), on_delete.as_deref(), false),
        ];
        for (statement, expected, on_sqlite) in attempts {
            let Some(expected) = expected else {
                out.push(format!("{table}: SQLite has no trigger for `{statement}`"));
                continue;
            };
            let mut tx = postgres.begin().await.expect("begin");
            let result = sqlx::query(statement).execute(&mut *tx).await;
            tx.rollback().await.ok();
            match error_message(result) {
                Ok(message) if message == expected => {}
                Ok(message) => out.push(format!(
                    "PostgreSQL `{statement}` was refused with \"{message}\", expected \"{expected}\""
                )),
                Err(what) => {
                    out.push(format!("PostgreSQL `{statement}` {what}: the table must be append-only"))
                }
            }
            if on_sqlite {
                let mut tx = sqlite.begin().await.expect("begin");
                let result = sqlx::query(statement).execute(&mut *tx).await;
                tx.rollback().await.ok();
                match sqlite_error_message(result) {
                    Ok(message) if message == expected => {}
                    Ok(message) => {
                        out.push(format!("SQLite `{statement}`: \"{message}\", expected \"{expected}\""))
                    }
                    Err(what) => out.push(format!("SQLite `{statement}` {what} (no row to fire on?)")),
                }
            }
        }
    }
    out
}

fn report(title: &str, problems: &[String]) -> String {
    let mut text = String::new();
    if !problems.is_empty() {
        let _ = writeln!(text, "{title} ({}):", problems.len());
        for p in problems {
            let _ = writeln!(text, "  - {p}");
        }
    }
    text
}

#[tokio::test]
async fn postgres_migrations_build_the_sqlite_schema() {
    let (_dir, sqlite) = fresh_sqlite().await;
    migrator("sqlite").await.run(&sqlite).await.expect("SQLite migrations");
    let pg = fresh_postgres("parity").await;
    let migrated = migrator("postgres").await.run(&pg.pool).await;

    let mut text = String::new();
    match migrated {
        Err(e) => {
            let _ = writeln!(text, "migrations/postgres did not apply: {e}");
        }
        Ok(()) => {
            let sqlite_tables = sqlite_schema(&sqlite).await;
            let postgres_tables = postgres_schema(&pg.pool).await;
            assert!(
                sqlite_tables.len() > 20,
                "the SQLite schema read back has {} tables",
                sqlite_tables.len()
            );
            text += &report(
                "schema differences between migrations/sqlite and migrations/postgres",
                &compare(&sqlite_tables, &postgres_tables),
            );
            text += &report("PostgreSQL column rules", &postgres_rules(&sqlite_tables, &postgres_tables));
            text += &report(
                "append-only tables on PostgreSQL",
                &check_append_only(&sqlite, &pg.pool, &postgres_tables).await,
            );
        }
    }
    pg.drop_database().await;
    sqlite.close().await;
    assert!(text.is_empty(), "\n{text}");
}

/// The same statements on either backend; results read back as text.
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    async fn run(&self, sql: &str) {
        let result = match self {
            Db::Sqlite(db) => sqlx::query(sql).execute(db).await.map(|_| ()),
            Db::Postgres(db) => sqlx::query(sql).execute(db).await.map(|_| ()),
        };
        result.unwrap_or_else(|e| panic!("{}: `{sql}`: {e}", self.name()));
    }

    /// The rows of a query whose columns are all TEXT, each joined with '|'
    /// (NULL as `NULL`).
    async fn rows(&self, sql: &str) -> Vec<String> {
        fn join(values: Vec<Option<String>>) -> String {
            values.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join("|")
        }
        let result: Result<Vec<String>, sqlx::Error> = match self {
            Db::Sqlite(db) => sqlx::query(sql).fetch_all(db).await.map(|rows| {
                rows.iter()
                    .map(|r| join((0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()))
                    .collect()
            }),
            Db::Postgres(db) => sqlx::query(sql).fetch_all(db).await.map(|rows| {
                rows.iter()
                    .map(|r| join((0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()))
                    .collect()
            }),
        };
        result.unwrap_or_else(|e| panic!("{}: `{sql}`: {e}", self.name()))
    }

    /// Applies the migrations up to `last` (all when None), as an older
    /// version of the product would have left the database.
    async fn migrate(&self, migrator: &Migrator, last: Option<i64>) {
        match (self, last) {
            (Db::Sqlite(db), None) => migrator.run(db).await.expect("SQLite migrations"),
            (Db::Postgres(db), None) => migrator.run(db).await.expect("PostgreSQL migrations"),
            (Db::Sqlite(db), Some(last)) => {
                apply_up_to(&mut *db.acquire().await.expect("connection"), migrator, last).await
            }
            (Db::Postgres(db), Some(last)) => {
                apply_up_to(&mut *db.acquire().await.expect("connection"), migrator, last).await
            }
        }
    }
}

async fn apply_up_to(conn: &mut impl Migrate, migrator: &Migrator, last: i64) {
    conn.ensure_migrations_table().await.expect("migrations table");
    let applied: BTreeSet<i64> =
        conn.list_applied_migrations().await.expect("applied migrations").iter().map(|m| m.version).collect();
    for migration in migrator.iter().filter(|m| m.version <= last && !applied.contains(&m.version)) {
        conn.apply(migration)
            .await
            .unwrap_or_else(|e| panic!("migration {} {}: {e}", migration.version, migration.description));
    }
}

/// Rows a database had before the data-moving migrations (0013 fills
/// stop_districts from the stops; 0014 gives every arrest a salt and adds
/// columns to the append-only sign_offs and reports; 0016 rebuilds the
/// stop and arrest indexes; 0017 adds the aggregates' state row).
async fn fill_and_migrate(db: &Db, migrator: &Migrator) -> BTreeMap<&'static str, Vec<String>> {
    db.migrate(migrator, Some(12)).await;
    db.run("INSERT INTO officers (badge, last_name, first_name, status) VALUES ('B-1', 'Ferreira', 'Ana', 'active')")
        .await;
    db.run("INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('sup', 'Supervisor', 'x', 0)")
        .await;
    for (date, time, district) in [
        ("2026-03-01", "'08:15'", "North"),
        ("2026-03-01", "NULL", "South"),
        ("2026-03-02", "'23:59'", "North"),
        ("2026-03-03", "'00:00'", ""),
        ("2026-03-04", "NULL", "Ébène"),
        ("2026-03-04", "'12:00'", "north"),
    ] {
        db.run(&format!(
            "INSERT INTO stops (stop_date, stop_time, district, stop_type, officer_id, reason, action_287g, searched, \
             created_at, updated_at) VALUES ('{date}', {time}, '{district}', 'traffic', \
             (SELECT id FROM officers WHERE badge = 'B-1'), 'traffic_violation', 1, 1, 0, 0)"
        ))
        .await;
    }
    db.migrate(migrator, Some(13)).await;
    for (date, name) in
        [("2026-03-05", "Person One"), ("2026-03-06", "Person Two"), ("2026-03-06", "Person Three")]
    {
        db.run(&format!(
            "INSERT INTO arrests (arrest_date, arrest_time, officer_id, person_name, charges, offense_class, \
             priority_level, arrest_type, detainer_lodged, created_at, updated_at) VALUES ('{date}', '10:00', \
             (SELECT id FROM officers WHERE badge = 'B-1'), '{name}', 'charge', 'felony', '1', 'custodial', 1, 0, 0)"
        ))
        .await;
    }
    db.run(
        "INSERT INTO sign_offs (record_kind, record_id, decision, reviewer_id, reviewer_name, reviewer_kind, signed_at, \
         action_at, record_hash) VALUES ('arrest', 1, 'approved', (SELECT id FROM users WHERE username = 'sup'), \
         'Supervisor', 'agency', 1, 1, 'hash')",
    )
    .await;
    db.run(
        "INSERT INTO reports (number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
         audit_head, file_sha256, file_name, size) VALUES ('R-1', '2026-01-01', '2026-03-31', 1, 'sup', 'd', 0, 'h', \
         'f', 'r.pdf', 1)",
    )
    .await;
    db.migrate(migrator, None).await;

    let mut seen = BTreeMap::new();
    seen.insert("stop_districts", db.rows("SELECT name FROM stop_districts ORDER BY name").await);
    seen.insert(
        "stops (list order)",
        db.rows(
            "SELECT stop_date, COALESCE(stop_time, ''), district FROM stops \
             ORDER BY stop_date DESC, COALESCE(stop_time, '') DESC, id DESC",
        )
        .await,
    );
    seen.insert(
        "arrests",
        db.rows(
            "SELECT arrest_date, person_name, CAST(length(person_salt) AS TEXT) FROM arrests ORDER BY id",
        )
        .await,
    );
    seen.insert("arrest salts", db.rows("SELECT person_salt FROM arrests ORDER BY id").await);
    seen.insert("sign_offs", db.rows("SELECT record_kind, decision, form FROM sign_offs ORDER BY id").await);
    seen.insert("reports", db.rows("SELECT number, data_form FROM reports ORDER BY id").await);
    seen.insert(
        "agency",
        db.rows("SELECT CAST(id AS TEXT), mfa_policy, CAST(sign_off_days AS TEXT), paper_size FROM agency")
            .await,
    );
    seen.insert("courses", db.rows("SELECT name, effective_on FROM courses ORDER BY id").await);
    // Migration 0018: every record that was there is the first agency's.
    seen.insert(
        "agencies of records",
        db.rows(
            "SELECT DISTINCT CAST(agency_id AS TEXT) FROM (SELECT agency_id FROM stops UNION ALL \
             SELECT agency_id FROM arrests UNION ALL SELECT agency_id FROM sign_offs UNION ALL \
             SELECT agency_id FROM reports UNION ALL SELECT agency_id FROM courses UNION ALL \
             SELECT agency_id FROM users UNION ALL SELECT agency_id FROM audit_log) AS records",
        )
        .await,
    );
    seen.insert(
        "stop_aggregates",
        db.rows(
            "SELECT CAST(agency_id AS TEXT), CAST(built AS TEXT), CAST(band_from AS TEXT), CAST(band_to AS TEXT) \
             FROM stop_aggregates",
        )
        .await,
    );
    seen
}

#[tokio::test]
async fn data_moving_migrations_keep_existing_rows() {
    let (_dir, sqlite) = fresh_sqlite().await;
    let pg = fresh_postgres("parity_data").await;
    let on_sqlite = fill_and_migrate(&Db::Sqlite(sqlite.clone()), &migrator("sqlite").await).await;
    let on_postgres = fill_and_migrate(&Db::Postgres(pg.pool.clone()), &migrator("postgres").await).await;
    pg.drop_database().await;
    sqlite.close().await;

    let mut problems = Vec::new();
    for (what, rows) in [("SQLite", &on_sqlite["arrest salts"]), ("PostgreSQL", &on_postgres["arrest salts"])]
    {
        let distinct: BTreeSet<&String> = rows.iter().collect();
        if rows.len() != 3 || distinct.len() != rows.len() {
            problems.push(format!("{what}: the three arrests should have three different salts: {rows:?}"));
        }
        for salt in rows {
            if salt.len() != 32 || !salt.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                problems.push(format!("{what}: salt {salt:?} is not 16 bytes in lowercase hex"));
            }
        }
    }
    for (what, sqlite_rows) in &on_sqlite {
        if *what == "arrest salts" {
            continue;
        }
        let postgres_rows = &on_postgres[what];
        if sqlite_rows != postgres_rows {
            problems.push(format!(
                "{what}:\n      SQLite:     {sqlite_rows:?}\n      PostgreSQL: {postgres_rows:?}"
            ));
        }
    }
    let expected_districts = ["North", "South", "north", "Ébène"];
    if on_postgres["stop_districts"] != expected_districts {
        problems.push(format!(
            "stop_districts on PostgreSQL: {:?}, expected {expected_districts:?} (byte order, one per distinct name)",
            on_postgres["stop_districts"]
        ));
    }
    assert!(problems.is_empty(), "\n{}", report("after migrating databases that held rows", &problems));
}

/// The URL tests/postgres.sh exports names the socket folder as a
/// percent-encoded host; sqlx 0.8.6 also takes it as a `host=` parameter.
/// Both reach the server over the Unix socket (no TCP address).
#[tokio::test]
async fn the_socket_url_forms_connect() {
    let url = postgres_url();
    let options = PgConnectOptions::from_str(&url).expect("URL");
    let mut forms = vec![("exported", url.clone())];
    if let Some(socket) = options.get_socket() {
        if let Ok(dir) = std::env::var("OVERSIGHT_TEST_POSTGRES_DIR") {
            assert_eq!(socket, &PathBuf::from(&dir), "the URL's host decodes to the socket folder");
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("host", &socket.to_string_lossy())
            .append_pair("port", &options.get_port().to_string());
        forms.push((
            "host parameter",
            format!("postgres://{}@localhost/postgres?{}", options.get_username(), query.finish()),
        ));
    }
    for (form, url) in forms {
        let mut conn =
            sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| panic!("{form} form {url}: {e}"));
        let (over_socket, collation): (bool, String) =
            sqlx::query_as("SELECT inet_server_addr() IS NULL, current_setting('lc_collate')")
                .fetch_one(&mut conn)
                .await
                .expect("query");
        if std::env::var("OVERSIGHT_TEST_POSTGRES_DIR").is_ok() {
            assert!(over_socket, "{form} form {url} should connect over the Unix socket");
            assert_eq!(collation, "C", "tests/postgres.sh makes a C-locale cluster");
        }
        conn.close().await.ok();
    }
}
