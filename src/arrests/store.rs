//! Queries on arrests; every change with its audit entry (personal data
//! only as fingerprints, see `Arrest::audit_view`).

use serde_json::json;
use sqlx::{QueryBuilder, Sqlite};

use super::Arrest;
use crate::audit::{self, Actor, Entry, Event};
use crate::db::{Db, begin_write, now_unix};

const COLUMNS: &str = "id, arrest_date, arrest_time, officer_id, stop_id, person_name, person_dob, charges, offense_code, \
     offense_class, priority_level, arrest_type, detainer_lodged, removal_paperwork, warrant_served, transferred_at, \
     released_at, perceived_race, perceived_gender, perceived_age, exception";
const FIELDS: [&str; 20] = [
    "arrest_date",
    "arrest_time",
    "officer_id",
    "stop_id",
    "person_name",
    "person_dob",
    "charges",
    "offense_code",
    "offense_class",
    "priority_level",
    "arrest_type",
    "detainer_lodged",
    "removal_paperwork",
    "warrant_served",
    "transferred_at",
    "released_at",
    "perceived_race",
    "perceived_gender",
    "perceived_age",
    "exception",
];

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub officer_id: Option<i64>,
    pub action_287g: Option<bool>,
    pub after: Option<(String, i64)>,
}

pub async fn page(db: &Db, f: &Filter, size: i64) -> Result<(Vec<Arrest>, bool), sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS} FROM arrests WHERE 1 = 1"));
    if let Some(from) = &f.from {
        q.push(" AND arrest_date >= ").push_bind(from.clone());
    }
    if let Some(to) = &f.to {
        q.push(" AND arrest_date <= ").push_bind(to.clone());
    }
    if let Some(officer) = f.officer_id {
        q.push(" AND officer_id = ").push_bind(officer);
    }
    match f.action_287g {
        Some(true) => {
            q.push(" AND (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1)");
        }
        Some(false) => {
            q.push(" AND detainer_lodged = 0 AND removal_paperwork = 0 AND warrant_served = 0");
        }
        None => {}
    }
    if let Some(key) = &f.after {
        crate::db::push_after(&mut q, "arrests", ("arrest_date", "arrest_time"), true, key);
    }
    // Newest first by date and time, as the date index holds them.
    q.push(" ORDER BY arrest_date DESC, arrest_time DESC, id DESC LIMIT ").push_bind(size + 1);
    let mut rows: Vec<Arrest> = q.build_query_as().fetch_all(db).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    Ok((rows, more))
}

/// One record, from the pool or inside a caller's transaction.
pub async fn get<'e>(db: impl sqlx::SqliteExecutor<'e>, id: i64) -> Result<Arrest, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM arrests WHERE id = $1")).bind(id).fetch_one(db).await
}

type Args<'q> = sqlx::query::QueryAs<'q, Sqlite, (i64,), sqlx::sqlite::SqliteArguments<'q>>;

fn bind<'q>(q: Args<'q>, a: &'q Arrest) -> Args<'q> {
    q.bind(&a.arrest_date)
        .bind(&a.arrest_time)
        .bind(a.officer_id)
        .bind(a.stop_id)
        .bind(&a.person_name)
        .bind(&a.person_dob)
        .bind(&a.charges)
        .bind(&a.offense_code)
        .bind(&a.offense_class)
        .bind(&a.priority_level)
        .bind(&a.arrest_type)
        .bind(a.detainer_lodged)
        .bind(a.removal_paperwork)
        .bind(a.warrant_served)
        .bind(&a.transferred_at)
        .bind(&a.released_at)
        .bind(&a.perceived_race)
        .bind(&a.perceived_gender)
        .bind(a.perceived_age)
        .bind(&a.exception)
}

/// Inserts inside the caller's transaction (an import records one audit
/// entry for the whole file).
pub async fn insert(tx: &mut crate::db::Tx, arrest: &Arrest) -> Result<i64, sqlx::Error> {
    let now = now_unix();
    let values: Vec<String> = (1..=FIELDS.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO arrests ({}, created_at, updated_at) VALUES ({}, $21, $22) RETURNING id",
        FIELDS.join(", "),
        values.join(", ")
    );
    let (id,) = bind(sqlx::query_as(&sql), arrest).bind(now).bind(now).fetch_one(&mut **tx).await?;
    Ok(id)
}

pub async fn create(db: &Db, actor: &Actor, arrest: &Arrest) -> Result<i64, sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let id = insert(&mut tx, arrest).await?;
    let saved = Arrest { id, ..arrest.clone() };
    let details = json!({ "after": saved.audit_view() });
    audit::record(&mut tx, actor, Event::new("arrest.create", "arrest", id).details(details)).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(db: &Db, actor: &Actor, arrest: &Arrest) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let before: Arrest = sqlx::query_as(&format!("SELECT {COLUMNS} FROM arrests WHERE id = $1"))
        .bind(arrest.id)
        .fetch_one(&mut *tx)
        .await?;
    let sets: Vec<String> = FIELDS.iter().enumerate().map(|(i, f)| format!("{f} = ${}", i + 1)).collect();
    let sql = format!("UPDATE arrests SET {}, updated_at = $21 WHERE id = $22 RETURNING id", sets.join(", "));
    bind(sqlx::query_as(&sql), arrest).bind(now_unix()).bind(arrest.id).fetch_one(&mut *tx).await?;
    if before != *arrest {
        let event = Event::new("arrest.update", "arrest", arrest.id)
            .changes(&before.audit_view(), &arrest.audit_view());
        audit::record(&mut tx, actor, event).await?;
    }
    tx.commit().await
}

pub async fn history(db: &Db, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(db, "arrest", id).await
}

/// Every arrest dated in [from, to] (measures).
pub async fn between(db: &Db, from: &str, to: &str) -> Result<Vec<Arrest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2 ORDER BY arrest_date, id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}
