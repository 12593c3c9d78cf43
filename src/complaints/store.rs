//! Queries on complaints; every change with its audit entry.

use serde_json::json;

use super::Complaint;
use crate::agency::Scope;
use crate::audit::{self, Actor, Entry, Event};
use crate::db::{self, now_unix};

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

/// A complaint involves 287(g) when it names a 287(g) stop or arrest, or
/// was forwarded to ICE OPR or DHS CRCL: the one rule behind C2 and the
/// list's "involving 287(g)" filter, as SQL over `complaints` in a query
/// whose `$1` is the agency's id: the stops and arrests it reads are that
/// agency's. (The subqueries are bound to `$1` rather than matched to
/// `complaints.agency_id`: a correlated subquery is run again for each
/// complaint, which took seconds where this takes milliseconds.)
/// A complaint with no stop or arrest tests `NULL IN (…)`, which is NULL,
/// not false: each test is read as false then, or `NOT` of the whole would
/// leave every unlinked complaint out of "not involving 287(g)".
pub const INVOLVES_287G: &str = "(complaints.forwarded_to <> '' \
     OR COALESCE(complaints.arrest_id IN (SELECT id FROM arrests WHERE agency_id = $1 \
         AND (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1)), FALSE) \
     OR COALESCE(complaints.stop_id IN (SELECT id FROM stops WHERE agency_id = $1 AND action_287g = 1), FALSE))";

/// The complaint list's filters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub allegation: String,
    pub disposition: String,
    /// Inclusive `YYYY-MM-DD` bounds on the received date, or on the
    /// closing date when `by_closed`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub by_closed: bool,
    pub involving_287g: Option<bool>,
    pub limit: Option<i64>,
}

pub async fn filtered(scope: &Scope, f: &Filter) -> Result<Vec<Complaint>, sqlx::Error> {
    // The agency is bound first, as `$1`, which `INVOLVES_287G` reads.
    let mut q: crate::db::Builder =
        crate::db::Builder::new(format!("SELECT {COLUMNS} FROM complaints WHERE complaints.agency_id = "));
    q.push_bind(scope.id());
    if !f.allegation.is_empty() {
        q.push(" AND allegation = ").push_bind(f.allegation.clone());
    }
    if !f.disposition.is_empty() {
        q.push(" AND disposition = ").push_bind(f.disposition.clone());
    }
    let column = if f.by_closed { "closed_on" } else { "received_on" };
    if let Some(from) = &f.from {
        q.push(format!(" AND {column} >= ")).push_bind(from.clone());
    }
    if let Some(to) = &f.to {
        q.push(format!(" AND {column} <= ")).push_bind(to.clone());
    }
    match f.involving_287g {
        Some(true) => {
            q.push(format!(" AND {INVOLVES_287G}"));
        }
        Some(false) => {
            q.push(format!(" AND NOT {INVOLVES_287G}"));
        }
        None => {}
    }
    q.push(" ORDER BY received_on DESC, id DESC");
    if let Some(limit) = f.limit {
        q.push(" LIMIT ").push_bind(limit);
    }
    q.build_query_as().fetch_all(scope).await
}

/// The ids of the agency's complaints involving 287(g) (`INVOLVES_287G`).
pub async fn involving_287g(scope: &Scope) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    let ids: Vec<i64> = db::query_scalar(&format!(
        "SELECT id FROM complaints WHERE complaints.agency_id = $1 AND {INVOLVES_287G}"
    ))
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Complaints received or closed in `from`..=`to`, all of them (the
/// measures read every one; the list page shows at most 500).
pub async fn received_or_closed_between(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<Complaint>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM complaints WHERE ((received_on >= $1 AND received_on <= $2) \
         OR (closed_on >= $1 AND closed_on <= $2)) AND agency_id = $3 ORDER BY received_on DESC, id DESC"
    ))
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

pub async fn list(scope: &Scope, allegation: &str, disposition: &str) -> Result<Vec<Complaint>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM complaints WHERE ($1 = '' OR allegation = $1) AND ($2 = '' OR disposition = $2) \
         AND agency_id = $3 ORDER BY received_on DESC, id DESC LIMIT 500"
    ))
    .bind(allegation)
    .bind(disposition)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Every complaint, in id order (the export: all of them, not a page).
pub async fn all(scope: &Scope) -> Result<Vec<Complaint>, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM complaints WHERE agency_id = $1 ORDER BY id"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn get(scope: &Scope, id: i64) -> Result<Complaint, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM complaints WHERE id = $1 AND agency_id = $2"))
        .bind(id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

type Args<'q> = crate::db::QueryAs<'q, (i64,)>;

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

/// Inserts inside the caller's transaction (imports), into its agency.
pub async fn insert(tx: &mut crate::db::Tx, c: &Complaint) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    let now = now_unix();
    let values: Vec<String> = (1..=FIELDS.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO complaints ({}, created_at, updated_at, agency_id) VALUES ({}, $12, $13, $14) \
         RETURNING id",
        FIELDS.join(", "),
        values.join(", ")
    );
    let (id,) = bind(db::query_as(&sql), c).bind(now).bind(now).bind(agency).fetch_one(&mut **tx).await?;
    Ok(id)
}

pub async fn create(scope: &Scope, actor: &Actor, c: &Complaint) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
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

pub async fn update(scope: &Scope, actor: &Actor, c: &Complaint) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before: Complaint =
        db::query_as(&format!("SELECT {COLUMNS} FROM complaints WHERE id = $1 AND agency_id = $2"))
            .bind(c.id)
            .bind(scope.id())
            .fetch_one(&mut *tx)
            .await?;
    let sets: Vec<String> = FIELDS.iter().enumerate().map(|(i, f)| format!("{f} = ${}", i + 1)).collect();
    let sql = format!(
        "UPDATE complaints SET {}, updated_at = $12 WHERE id = $13 AND agency_id = $14 RETURNING id",
        sets.join(", ")
    );
    bind(db::query_as(&sql), c).bind(now_unix()).bind(c.id).bind(scope.id()).fetch_one(&mut *tx).await?;
    if before != *c {
        audit::record(&mut tx, actor, Event::new("complaint.update", "complaint", c.id).changes(&before, c))
            .await?;
    }
    tx.commit().await
}

pub async fn history(scope: &Scope, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(scope, "complaint", id).await
}

/// Every complaint of the transaction's agency received in [from, to], in
/// that order (a submission package, docs/packages.md).
pub async fn received_between_in(
    tx: &mut crate::db::Tx,
    from: &str,
    to: &str,
) -> Result<Vec<Complaint>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM complaints WHERE received_on >= $1 AND received_on <= $2 AND agency_id = $3 \
         ORDER BY received_on, id"
    ))
    .bind(from)
    .bind(to)
    .bind(agency)
    .fetch_all(&mut **tx)
    .await
}
