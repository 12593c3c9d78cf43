//! Every row of every table from one database to another, on either
//! backend (`oversight copy`): the storage layer's generic copy, which
//! knows tables, columns and keys but no domain.
//!
//! - Tables are copied parents first (the foreign keys of the target's
//!   catalog, sorted: the agencies before every table of their records),
//!   each in the order of its whole key, a batch at a time (a key may have
//!   several columns: the audit log's (agency_id, seq), the aggregates'
//!   (agency_id, day, …)); a table that refers to itself (officers'
//!   supervisors) is copied so that a row's parent is always written
//!   before it.
//! - Values keep their kind; a NULL takes the kind of the target's column
//!   (PostgreSQL checks a parameter's type).
//! - Ids are written as they were, so every reference, sign-off
//!   fingerprint and audit entry still names the same record; PostgreSQL's
//!   identity sequences are then moved past the largest id.
//! - Left out: the migrations' bookkeeping (each backend has its own) and
//!   sessions (signed-in users sign in again on the new deployment).
//! - A copy of one agency (`Slice::Agency`, `oversight backup --agency`)
//!   takes its agency row, the rows whose `agency_id` is that agency (its
//!   audit chain among them), its users' roles and the deployment's
//!   settings; never another agency's rows nor the state's (the state
//!   chain, statewide reports). A table it cannot place is an error, not
//!   a silent gap in the copy.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row, TypeInfo, ValueRef};

use super::{Db, Tx, Value, query, query_as, query_scalar};

/// Rows read and written per statement.
const BATCH: i64 = 2000;

/// A column's kind on the target.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

impl Kind {
    fn of(declared: &str) -> Kind {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Kind::Int
        } else if t.contains("REAL") || t.contains("DOUB") || t.contains("FLOAT") {
            Kind::Real
        } else if t.contains("BLOB") || t.contains("BYTEA") {
            Kind::Blob
        } else {
            Kind::Text
        }
    }

    /// `value` as this kind (a NULL typed for the column).
    fn cast(self, value: Value<'static>) -> Value<'static> {
        match (self, value) {
            (Kind::Int, Value::Int(v)) => Value::Int(v),
            (Kind::Real, Value::Real(v)) => Value::Real(v),
            (Kind::Real, Value::Int(v)) => Value::Real(v.map(|v| v as f64)),
            (Kind::Text, Value::Text(v)) => Value::Text(v),
            (Kind::Blob, Value::Blob(v)) => Value::Blob(v),
            (Kind::Int, _) => Value::Int(None),
            (Kind::Real, _) => Value::Real(None),
            (Kind::Text, _) => Value::Text(None),
            (Kind::Blob, _) => Value::Blob(None),
        }
    }
}

/// A row of any table, each value decoded by its own type.
struct AnyRow(Vec<Value<'static>>);

impl<'r> FromRow<'r, SqliteRow> for AnyRow {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        let mut values = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let raw = row.try_get_raw(i)?;
            // SQLite types each value (its storage class), not the column.
            let kind = if raw.is_null() { None } else { Some(raw.type_info().name().to_string()) };
            values.push(match kind.as_deref() {
                None => Value::Text(None),
                Some("INTEGER") => Value::Int(Some(row.try_get(i)?)),
                Some("REAL") => Value::Real(Some(row.try_get(i)?)),
                Some("BLOB") => Value::Blob(Some(Cow::Owned(row.try_get(i)?))),
                Some(_) => Value::Text(Some(Cow::Owned(row.try_get(i)?))),
            });
        }
        Ok(AnyRow(values))
    }
}

impl<'r> FromRow<'r, PgRow> for AnyRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let mut values = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let name = row.try_get_raw(i)?.type_info().name().to_string();
            values.push(match name.as_str() {
                "INT8" => Value::Int(row.try_get(i)?),
                "INT4" => Value::Int(row.try_get::<Option<i32>, _>(i)?.map(i64::from)),
                "FLOAT8" => Value::Real(row.try_get(i)?),
                "BYTEA" => Value::Blob(row.try_get::<Option<Vec<u8>>, _>(i)?.map(Cow::Owned)),
                _ => Value::Text(row.try_get::<Option<String>, _>(i)?.map(Cow::Owned)),
            });
        }
        Ok(AnyRow(values))
    }
}

/// A table of the target: its columns with their kinds, its key.
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    key: Vec<String>,
    /// A column referring to this table's own key (officers.supervisor_id).
    parent: Option<String>,
}

/// Tables the copy leaves out.
const LEFT_OUT: [&str; 2] = ["_sqlx_migrations", "tower_sessions"];

/// Rows copied per table.
pub type Copied = BTreeMap<String, u64>;

/// Which rows of the source a copy takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slice {
    /// Every row: the whole deployment (`oversight copy`).
    All,
    /// One agency's rows (its id): a deployment of that agency alone.
    Agency(i64),
}

impl Slice {
    /// The condition that picks `table`'s rows of this slice; `None` for a
    /// table the slice leaves out (the state's own records).
    fn condition(self, table: &Table) -> Result<Option<String>, sqlx::Error> {
        let Slice::Agency(agency) = self else { return Ok(Some("1 = 1".into())) };
        // The agency id is an integer of the product's own: nothing a user typed.
        Ok(match table.name.as_str() {
            "agency" => Some(format!("id = {agency}")),
            "deployment" => Some("1 = 1".into()),
            "user_roles" => Some(format!("user_id IN (SELECT id FROM users WHERE agency_id = {agency})")),
            name if name.starts_with("state_") => None,
            _ if table.columns.iter().any(|(c, _)| c == "agency_id") => Some(format!("agency_id = {agency}")),
            name => {
                return Err(sqlx::Error::Protocol(format!(
                    "the table {name} has no agency column: a copy of one agency cannot tell which of its rows \
                     are the agency's (db/transfer.rs, Slice::condition)"
                )));
            }
        })
    }
}

/// A transaction on `db` that reads one snapshot of it (the copy's
/// source: a server may keep writing meanwhile).
pub async fn snapshot(db: &Db) -> Result<Tx, sqlx::Error> {
    db.begin_snapshot().await
}

/// Copies every row the snapshot `from` reads into the transaction `tx`
/// (on the target), which the caller commits; returns the rows copied per
/// table. The target must hold no records: the caller checks.
pub async fn copy_all(from: &mut Tx, tx: &mut Tx) -> Result<Copied, sqlx::Error> {
    copy_slice(from, tx, Slice::All).await
}

/// Copies the rows of `slice` that the snapshot `from` reads into `tx`,
/// as `copy_all` does.
pub async fn copy_slice(from: &mut Tx, tx: &mut Tx, slice: Slice) -> Result<Copied, sqlx::Error> {
    let tables = target_tables(tx).await?;
    // What the migrations put in the empty target (the agency row, the
    // aggregates' state) gives way to the source's, children first.
    for table in tables.iter().rev() {
        query(&format!("DELETE FROM {}", table.name)).execute(&mut **tx).await?;
    }
    let mut copied = Copied::new();
    for table in &tables {
        let Some(condition) = slice.condition(table)? else { continue };
        let rows = copy_table(from, tx, table, &condition).await?;
        copied.insert(table.name.clone(), rows);
    }
    if tx.is_postgres() {
        for table in tables.iter().filter(|t| t.key == ["id"]) {
            query(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0} \
                 WHERE pg_get_serial_sequence('{0}', 'id') IS NOT NULL",
                table.name
            ))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(copied)
}

/// Rows of every copied table as `tx` sees them, to compare with what
/// was copied.
pub async fn counts(tx: &mut Tx) -> Result<Copied, sqlx::Error> {
    slice_counts(tx, Slice::All).await
}

/// Rows of `slice` in every table it takes, as `tx` sees them.
pub async fn slice_counts(tx: &mut Tx, slice: Slice) -> Result<Copied, sqlx::Error> {
    let tables = target_tables(tx).await?;
    let mut counts = Copied::new();
    for table in tables {
        let Some(condition) = slice.condition(&table)? else { continue };
        let n: i64 = query_scalar(&format!("SELECT COUNT(*) FROM {} WHERE {condition}", table.name))
            .fetch_one(&mut **tx)
            .await?;
        counts.insert(table.name, n as u64);
    }
    Ok(counts)
}

async fn copy_table(from: &mut Tx, tx: &mut Tx, table: &Table, condition: &str) -> Result<u64, sqlx::Error> {
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let list = names.join(", ");
    let key = table.key.join(", ");
    let key_at: Vec<usize> =
        table.key.iter().map(|k| names.iter().position(|c| c == k).unwrap_or(0)).collect();
    let insert = Insert {
        head: format!(
            "INSERT INTO {} ({list}){} VALUES ",
            table.name,
            if tx.is_postgres() { " OVERRIDING SYSTEM VALUE" } else { "" }
        ),
        width: names.len(),
    };
    let mut after: Option<Vec<Value<'static>>> = None;
    let mut written = 0u64;
    let mut held: Vec<Vec<Value<'static>>> = Vec::new();
    loop {
        let mut sql = format!("SELECT {list} FROM {} WHERE {condition}", table.name);
        if let Some(after) = &after {
            let marks: Vec<String> = (1..=after.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" AND ({key}) > ({})", marks.join(", ")));
        }
        sql.push_str(&format!(" ORDER BY {key} LIMIT {BATCH}"));
        let mut q = query_as::<AnyRow>(&sql);
        for value in after.iter().flatten() {
            q = q.bind(value.clone());
        }
        let batch = q.fetch_all(&mut **from).await?;
        let Some(last) = batch.last() else { break };
        after = Some(key_at.iter().map(|&i| last.0[i].clone()).collect());
        let rows: Vec<Vec<Value<'static>>> = batch
            .into_iter()
            .map(|row| row.0.into_iter().zip(&table.columns).map(|(v, (_, kind))| kind.cast(v)).collect())
            .collect();
        if table.parent.is_some() {
            held.extend(rows);
        } else {
            written += insert.rows(tx, rows).await?;
        }
    }
    if let Some(parent) = &table.parent {
        written += parents_first(tx, &insert, &names, parent, held).await?;
    }
    Ok(written)
}

/// A table's INSERT, many rows a statement (a statement a row took most
/// of a copy's time).
struct Insert {
    head: String,
    width: usize,
}

impl Insert {
    /// Rows a statement. PostgreSQL takes up to 65,535 values a statement
    /// and each statement is a round trip, so many rows go at once. On
    /// SQLite (in process, no round trip) sqlx names each bound value with
    /// `sqlite3_bind_parameter_name`, which walks the statement's list of
    /// parameters: binding is quadratic in their number, and 900 rows a
    /// statement spent 97% of a copy there. A few values a statement there.
    fn per_statement(&self, postgres: bool) -> usize {
        let values = if postgres { 30_000 } else { 100 };
        (values / self.width.max(1)).clamp(1, 1000)
    }

    async fn rows(&self, tx: &mut Tx, rows: Vec<Vec<Value<'static>>>) -> Result<u64, sqlx::Error> {
        let written = rows.len() as u64;
        let per_statement = self.per_statement(tx.is_postgres());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(per_statement).collect();
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let marks: Vec<String> =
                        (1..=self.width).map(|c| format!("${}", r * self.width + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!("{}{}", self.head, tuples.join(", "));
            let mut q = query(&sql);
            for value in chunk.into_iter().flatten() {
                q = q.bind(value);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(written)
    }
}

/// Writes a self-referring table's rows so that each row's parent (the
/// row its `parent` column names) is written before it.
async fn parents_first(
    tx: &mut Tx,
    insert: &Insert,
    names: &[&str],
    parent: &str,
    mut rows: Vec<Vec<Value<'static>>>,
) -> Result<u64, sqlx::Error> {
    let id_at = names.iter().position(|c| *c == "id").unwrap_or(0);
    let parent_at = names.iter().position(|c| *c == parent).unwrap_or(0);
    let all: BTreeSet<i64> = rows.iter().filter_map(|r| int(&r[id_at])).collect();
    let mut done = BTreeSet::new();
    let mut written = 0;
    while !rows.is_empty() {
        let (ready, waiting): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| match int(&r[parent_at]) {
            None => true,
            Some(p) => done.contains(&p) || !all.contains(&p) || Some(p) == int(&r[id_at]),
        });
        if ready.is_empty() {
            return Err(sqlx::Error::Protocol(format!(
                "rows that refer to each other in a cycle through {parent}"
            )));
        }
        // Rows of one round refer only to rows of earlier rounds.
        done.extend(ready.iter().filter_map(|row| int(&row[id_at])));
        written += insert.rows(tx, ready).await?;
        rows = waiting;
    }
    Ok(written)
}

fn int(value: &Value<'_>) -> Option<i64> {
    match value {
        Value::Int(v) => *v,
        _ => None,
    }
}

/// The target's tables, parents before the tables that refer to them.
async fn target_tables(tx: &mut Tx) -> Result<Vec<Table>, sqlx::Error> {
    let postgres = tx.is_postgres();
    let names: Vec<String> = query_scalar(if postgres {
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
    })
    .fetch_all(&mut **tx)
    .await?;
    let mut tables = Vec::new();
    for name in names.into_iter().filter(|n| !LEFT_OUT.contains(&n.as_str())) {
        tables.push(describe(tx, name, postgres).await?);
    }
    let references: Vec<(String, String, String)> = query_as(if postgres {
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, a.attname::text FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f'"
    } else {
        "SELECT m.name, f.\"table\", f.\"from\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table'"
    })
    .fetch_all(&mut **tx)
    .await?;
    for (child, parent, column) in &references {
        if child == parent {
            if let Some(t) = tables.iter_mut().find(|t| &t.name == child) {
                t.parent = Some(column.clone());
            }
        }
    }
    // Kahn's sort on the references between different tables.
    let mut ordered = Vec::with_capacity(tables.len());
    let mut placed = BTreeSet::new();
    while !tables.is_empty() {
        let (ready, waiting): (Vec<Table>, Vec<Table>) = tables.into_iter().partition(|t| {
            references
                .iter()
                .all(|(child, parent, _)| child != &t.name || parent == child || placed.contains(parent))
        });
        if ready.is_empty() {
            return Err(sqlx::Error::Protocol("tables that refer to each other in a cycle".into()));
        }
        placed.extend(ready.iter().map(|t| t.name.clone()));
        ordered.extend(ready);
        tables = waiting;
    }
    Ok(ordered)
}

async fn describe(tx: &mut Tx, name: String, postgres: bool) -> Result<Table, sqlx::Error> {
    let columns: Vec<(String, String)> = query_as(if postgres {
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
    } else {
        "SELECT name, type FROM pragma_table_info($1) ORDER BY cid"
    })
    .bind(&name)
    .fetch_all(&mut **tx)
    .await?;
    let key: Vec<String> = query_scalar(if postgres {
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
         AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary \
         ORDER BY array_position(i.indkey::int2[], a.attnum)"
    } else {
        "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk"
    })
    .bind(&name)
    .fetch_all(&mut **tx)
    .await?;
    // A table without a declared key is read in the order of all its
    // columns, which is still a total order for the paging.
    let key = if key.is_empty() { columns.iter().map(|(c, _)| c.clone()).collect() } else { key };
    Ok(Table {
        columns: columns.into_iter().map(|(c, t)| (c, Kind::of(&t))).collect(),
        key,
        parent: None,
        name,
    })
}
