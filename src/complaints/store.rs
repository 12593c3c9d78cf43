//! Queries on complaints; every change with its audit entry.

use serde_json::json;
use sqlx::Sqlite;

use super::Complaint;
use crate::audit::{self, Actor, Entry, Event};
use crate::db::{Db, begin_write, now_unix};

const COLUMNS: &str = "id, received_on, channel, allegation, summary, officers, stop_id, arrest_id, forwarded_to, \
     forwarded_on, disposition, closed_on";
const FIELDS: [&str; 11] = [
    "received_on",
    "channel",
    "allegation",
    "summary",
    "officers",
    "stop_id",
    "arrest_id",
    "forwarded_to",
    "forwarded_on",
    "disposition",
    "closed_on",
];

pub async fn list(db: &Db, allegation: &str, disposition: &str) -> Result<Vec<Complaint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM complaints WHERE ($1 = '' OR allegation = $1) AND ($2 = '' OR disposition = $2) \
         ORDER BY received_on DESC, id DESC LIMIT 500"
    ))
    .bind(allegation)
    .bind(disposition)
    .fetch_all(db)
    .await
}

pub async fn get(db: &Db, id: i64) -> Result<Complaint, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM complaints WHERE id = $1")).bind(id).fetch_one(db).await
}

type Args<'q> = sqlx::query::QueryAs<'q, Sqlite, (i64,), sqlx::sqlite::SqliteArguments<'q>>;

fn bind<'q>(q: Args<'q>, c: &'q Complaint) -> Args<'q> {
    q.bind(&c.received_on)
        .bind(&c.channel)
        .bind(&c.allegation)
        .bind(&c.summary)
        .bind(&c.officers)
        .bind(c.stop_id)
        .bind(c.arrest_id)
        .bind(&c.forwarded_to)
        .bind(&c.forwarded_on)
        .bind(&c.disposition)
        .bind(&c.closed_on)
}

/// Inserts inside the caller's transaction (imports).
pub async fn insert(tx: &mut crate::db::Tx, c: &Complaint) -> Result<i64, sqlx::Error> {
    let now = now_unix();
    let values: Vec<String> = (1..=FIELDS.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO complaints ({}, created_at, updated_at) VALUES ({}, $12, $13) RETURNING id",
        FIELDS.join(", "),
        values.join(", ")
    );
    let (id,) = bind(sqlx::query_as(&sql), c).bind(now).bind(now).fetch_one(&mut **tx).await?;
    Ok(id)
}

pub async fn create(db: &Db, actor: &Actor, c: &Complaint) -> Result<i64, sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let id = insert(&mut tx, c).await?;
    let saved = Complaint { id, ..c.clone() };
    audit::record(
        &mut tx,
        actor,
        Event::new("complaint.create", "complaint", id).details(json!({ "after": saved })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(db: &Db, actor: &Actor, c: &Complaint) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let before: Complaint = sqlx::query_as(&format!("SELECT {COLUMNS} FROM complaints WHERE id = $1"))
        .bind(c.id)
        .fetch_one(&mut *tx)
        .await?;
    let sets: Vec<String> = FIELDS.iter().enumerate().map(|(i, f)| format!("{f} = ${}", i + 1)).collect();
    let sql =
        format!("UPDATE complaints SET {}, updated_at = $12 WHERE id = $13 RETURNING id", sets.join(", "));
    bind(sqlx::query_as(&sql), c).bind(now_unix()).bind(c.id).fetch_one(&mut *tx).await?;
    if before != *c {
        audit::record(&mut tx, actor, Event::new("complaint.update", "complaint", c.id).changes(&before, c))
            .await?;
    }
    tx.commit().await
}

pub async fn history(db: &Db, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(db, "complaint", id).await
}
