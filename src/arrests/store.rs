//! Queries on arrests; every change with its audit entry (personal data
//! only as salted commitments, see `Arrest::audit_view`).

use serde_json::json;

use crate::canonical::Sum;

use super::Arrest;
use crate::agency::Scope;
use crate::audit::{self, Actor, Entry, Event};
use crate::compliance::exceptions::Authority;
use crate::db::{self, Tx, now_unix};

const COLUMNS: &str = "id, arrest_date, arrest_time, officer_id, stop_id, person_name, person_dob, charges, offense_code, \
     offense_class, priority_level, arrest_type, detainer_lodged, removal_paperwork, warrant_served, transferred_at, \
     released_at, perceived_race, perceived_gender, perceived_age, exception, person_salt, name_commitment, dob_commitment, \
     purged_on";
const FIELDS: [&str; 21] = [
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
    "person_salt",
];

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub officer_id: Option<i64>,
    pub action_287g: Option<bool>,
    /// E5's holds: ICE warrants served whose hold had ended, or had been
    /// open longer than 48 hours, at the end of the period. The value is
    /// that end less 48 hours ("YYYY-MM-DD HH:MM"): a hold still open and
    /// taken at or after it is left out, as the measure leaves it out.
    pub hold_counted_before: Option<String>,
    pub after: Option<(String, i64)>,
}

pub async fn page(scope: &Scope, f: &Filter, size: i64) -> Result<(Vec<Arrest>, bool), sqlx::Error> {
    let mut q: crate::db::Builder =
        crate::db::Builder::new(format!("SELECT {COLUMNS} FROM arrests WHERE agency_id = "));
    q.push_bind(scope.id());
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
    if let Some(cutoff) = &f.hold_counted_before {
        q.push(
            " AND warrant_served = 1 AND (COALESCE(transferred_at, '') <> '' OR COALESCE(released_at, '') <> '' \
             OR arrest_date || ' ' || arrest_time < ",
        )
        .push_bind(cutoff.clone())
        .push(")");
    }
    if let Some(key) = &f.after {
        crate::db::push_after(&mut q, scope, "arrests", ("arrest_date", "arrest_time"), true, key);
    }
    // Newest first by date and time, as the date index holds them.
    q.push(" ORDER BY arrest_date DESC, arrest_time DESC, id DESC LIMIT ").push_bind(size + 1);
    let mut rows: Vec<Arrest> = q.build_query_as().fetch_all(scope).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    Ok((rows, more))
}

/// One record of the scope's agency, from the pool or inside a caller's
/// transaction; another agency's is not found.
pub async fn get<'e>(
    db: impl Into<crate::db::On<'e>>,
    scope: &Scope,
    id: i64,
) -> Result<Arrest, sqlx::Error> {
    get_in(db, scope.id(), id).await
}

/// The agency's arrests among `ids`, in no particular order (another
/// agency's are not found): a statement a thousand ids.
pub async fn get_many(scope: &Scope, ids: &[i64]) -> Result<Vec<Arrest>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let sql =
            format!("SELECT {COLUMNS} FROM arrests WHERE agency_id = $1 AND id IN ({})", db::id_list(chunk));
        found.extend(db::query_as::<Arrest>(&sql).bind(scope.id()).fetch_all(scope).await?);
    }
    Ok(found)
}

async fn get_in<'e>(db: impl Into<crate::db::On<'e>>, agency: i64, id: i64) -> Result<Arrest, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM arrests WHERE id = $1 AND agency_id = $2"))
        .bind(id)
        .bind(agency)
        .fetch_one(db)
        .await
}

type Args<'q> = crate::db::QueryAs<'q, (i64,)>;

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
        .bind(&a.person_salt)
}

/// Inserts inside the caller's transaction (an import records one audit
/// entry for the whole file), into its agency, with a new salt for the
/// record's personal commitments and its compliance exception decided by
/// `authority` (loaded in the same transaction), never by the caller;
/// returns the record as stored.
pub async fn insert(tx: &mut Tx, authority: &Authority, arrest: &Arrest) -> Result<Arrest, sqlx::Error> {
    let saved = insert_row(tx, authority, arrest).await?;
    note_digests(tx, None, Some(&saved)).await?;
    Ok(saved)
}

/// `insert` for many arrests (an import, a package): each row, then each
/// day's digest once for all of that day's arrests, not once an arrest
/// (50,000 arrests were 150,000 statements, now 50,000 and one pair a day).
pub async fn insert_many(
    tx: &mut Tx,
    authority: &Authority,
    arrests: &[Arrest],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut days: std::collections::BTreeMap<String, (i64, Sum)> = Default::default();
    let mut ids = Vec::with_capacity(arrests.len());
    for arrest in arrests {
        let saved = insert_row(tx, authority, arrest).await?;
        let day = days.entry(saved.arrest_date.clone()).or_default();
        day.0 += 1;
        day.1.add(&Sum::expand(&saved.content_digest()));
        ids.push(saved.id);
    }
    for (day, (count, sum)) in days {
        add_to_day(tx, &day, count, &sum).await?;
    }
    Ok(ids)
}

/// The row alone, with its salt and exception.
async fn insert_row(tx: &mut Tx, authority: &Authority, arrest: &Arrest) -> Result<Arrest, sqlx::Error> {
    let agency = tx.agency()?;
    let now = now_unix();
    let mut saved = Arrest {
        person_salt: crate::canonical::new_salt(),
        exception: authority.arrest(arrest),
        ..arrest.clone()
    };
    let values: Vec<String> = (1..=FIELDS.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO arrests ({}, created_at, updated_at, agency_id) VALUES ({}, $22, $23, $24) RETURNING id",
        FIELDS.join(", "),
        values.join(", ")
    );
    let (id,) =
        bind(db::query_as(&sql), &saved).bind(now).bind(now).bind(agency).fetch_one(&mut **tx).await?;
    saved.id = id;
    Ok(saved)
}

/// Adds `count` arrests whose content digests sum to `sum` to the day's
/// digest of the transaction's agency.
async fn add_to_day(tx: &mut Tx, day: &str, count: i64, sum: &Sum) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let stored: Option<(i64, Vec<u8>)> =
        db::query_as("SELECT arrests, sum FROM arrest_digests WHERE agency_id = $1 AND day = $2")
            .bind(agency)
            .bind(day)
            .fetch_optional(&mut **tx)
            .await?;
    let (held, bytes) = stored.unwrap_or_default();
    let mut total = Sum::from_bytes(&bytes);
    total.add(sum);
    db::query(
        "INSERT INTO arrest_digests (agency_id, day, arrests, sum) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (agency_id, day) DO UPDATE SET arrests = excluded.arrests, sum = excluded.sum",
    )
    .bind(agency)
    .bind(day)
    .bind(held + count)
    .bind(total.to_bytes())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Keeps the day digests (`arrest_digests`, docs/fingerprints.md
/// `report/v3`) of the transaction's agency in the writing transaction: the
/// record as it was leaves its day's sum, the record as it is joins its own.
async fn note_digests(
    tx: &mut Tx,
    before: Option<&Arrest>,
    after: Option<&Arrest>,
) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    for (arrest, sign) in [(before, -1i64), (after, 1)] {
        let Some(a) = arrest else { continue };
        let stored: Option<(i64, Vec<u8>)> =
            db::query_as("SELECT arrests, sum FROM arrest_digests WHERE agency_id = $1 AND day = $2")
                .bind(agency)
                .bind(&a.arrest_date)
                .fetch_optional(&mut **tx)
                .await?;
        let (count, bytes) = stored.unwrap_or_default();
        let mut sum = Sum::from_bytes(&bytes);
        let content = Sum::expand(&a.content_digest());
        if sign > 0 {
            sum.add(&content)
        } else {
            sum.sub(&content)
        }
        if count + sign == 0 {
            db::query("DELETE FROM arrest_digests WHERE agency_id = $1 AND day = $2")
                .bind(agency)
                .bind(&a.arrest_date)
                .execute(&mut **tx)
                .await?;
        } else {
            db::query(
                "INSERT INTO arrest_digests (agency_id, day, arrests, sum) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (agency_id, day) DO UPDATE SET arrests = excluded.arrests, sum = excluded.sum",
            )
            .bind(agency)
            .bind(&a.arrest_date)
            .bind(count + sign)
            .bind(sum.to_bytes())
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Day digests of the arrests dated in [from, to]: kept ones
/// (`from_records` false) or computed again from the arrests.
pub async fn digests_between(
    scope: &Scope,
    from: &str,
    to: &str,
    from_records: bool,
) -> Result<Vec<(String, i64, Sum)>, sqlx::Error> {
    if from_records {
        return Ok(day_sums(&between(scope, from, to).await?)
            .into_iter()
            .map(|(d, (n, s))| (d, n, s))
            .collect());
    }
    let rows: Vec<(String, i64, Vec<u8>)> = db::query_as(
        "SELECT day, arrests, sum FROM arrest_digests WHERE day >= $1 AND day <= $2 AND agency_id = $3 \
         ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(rows.into_iter().map(|(d, n, s)| (d, n, Sum::from_bytes(&s))).collect())
}

fn day_sums(arrests: &[Arrest]) -> std::collections::BTreeMap<String, (i64, Sum)> {
    let mut days: std::collections::BTreeMap<String, (i64, Sum)> = Default::default();
    for a in arrests {
        let day = days.entry(a.arrest_date.clone()).or_default();
        day.0 += 1;
        day.1.add(&Sum::expand(&a.content_digest()));
    }
    days
}

/// Builds the day digests of the transaction's agency from its arrests
/// inside the caller's transaction; returns how many days' digests differed.
pub async fn rebuild_digests(tx: &mut Tx) -> Result<usize, sqlx::Error> {
    let agency = tx.agency()?;
    let all: Vec<Arrest> = db::query_as(&format!("SELECT {COLUMNS} FROM arrests WHERE agency_id = $1"))
        .bind(agency)
        .fetch_all(&mut **tx)
        .await?;
    let fresh = day_sums(&all);
    let stored: Vec<(String, i64, Vec<u8>)> =
        db::query_as("SELECT day, arrests, sum FROM arrest_digests WHERE agency_id = $1")
            .bind(agency)
            .fetch_all(&mut **tx)
            .await?;
    let stored: std::collections::BTreeMap<String, (i64, Sum)> =
        stored.into_iter().map(|(d, n, s)| (d, (n, Sum::from_bytes(&s)))).collect();
    let differing = fresh.iter().filter(|(d, v)| stored.get(*d) != Some(v)).count()
        + stored.keys().filter(|d| !fresh.contains_key(*d)).count();
    db::query("DELETE FROM arrest_digests WHERE agency_id = $1").bind(agency).execute(&mut **tx).await?;
    for (day, (n, sum)) in &fresh {
        db::query("INSERT INTO arrest_digests (agency_id, day, arrests, sum) VALUES ($1, $2, $3, $4)")
            .bind(agency)
            .bind(day)
            .bind(n)
            .bind(sum.to_bytes())
            .execute(&mut **tx)
            .await?;
    }
    Ok(differing)
}

pub async fn create(scope: &Scope, actor: &Actor, arrest: &Arrest) -> Result<Arrest, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let authority = Authority::load(&mut tx).await?;
    let saved = insert(&mut tx, &authority, arrest).await?;
    let id = saved.id;
    let details = json!({ "after": saved.audit_view() });
    audit::record(&mut tx, actor, Event::new("arrest.create", "arrest", id).details(details)).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Saves an edit, its exception decided as on create; returns it as saved.
pub async fn update(scope: &Scope, actor: &Actor, arrest: &Arrest) -> Result<Arrest, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before = get(&mut tx, scope, arrest.id).await?;
    // The record keeps its salt: an unchanged name commits to the same
    // value, so the entry lists only what changed.
    let authority = Authority::load(&mut tx).await?;
    let mut arrest = Arrest {
        person_salt: before.person_salt.clone(),
        exception: authority.arrest(arrest),
        name_commitment: before.name_commitment.clone(),
        dob_commitment: before.dob_commitment.clone(),
        purged_on: before.purged_on.clone(),
        ..arrest.clone()
    };
    // A purged record's name and date of birth stay purged, whatever an
    // edit sends for them (docs/retention.md).
    if before.purged_on.is_some() {
        arrest.person_name = String::new();
        arrest.person_dob = None;
    }
    let arrest = &arrest;
    let sets: Vec<String> = FIELDS.iter().enumerate().map(|(i, f)| format!("{f} = ${}", i + 1)).collect();
    let sql = format!(
        "UPDATE arrests SET {}, updated_at = $22 WHERE id = $23 AND agency_id = $24 RETURNING id",
        sets.join(", ")
    );
    bind(db::query_as(&sql), arrest)
        .bind(now_unix())
        .bind(arrest.id)
        .bind(scope.id())
        .fetch_one(&mut *tx)
        .await?;
    note_digests(&mut tx, Some(&before), Some(arrest)).await?;
    if before != *arrest {
        let event = Event::new("arrest.update", "arrest", arrest.id)
            .changes(&before.audit_view(), &arrest.audit_view());
        audit::record(&mut tx, actor, event).await?;
    }
    tx.commit().await?;
    Ok(arrest.clone())
}

/// Purges the name and date of birth of each of the agency's arrests dated
/// before `cutoff` and not purged yet, on `day`, each with its audit entry,
/// all in one transaction (docs/retention.md); returns their ids. Each
/// record keeps its commitments, so its committed form is unchanged: that
/// is checked record by record, and a difference refuses the whole purge.
pub async fn purge_personal_before(
    scope: &Scope,
    actor: &Actor,
    cutoff: &str,
    day: &str,
    keep: &[i64],
) -> anyhow::Result<Vec<i64>> {
    let mut tx = scope.begin_write().await?;
    let old: Vec<Arrest> = db::query_as(&format!(
        "SELECT {COLUMNS} FROM arrests WHERE agency_id = $1 AND arrest_date < $2 AND purged_on IS NULL ORDER BY id"
    ))
    .bind(scope.id())
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    let old: Vec<Arrest> = old.into_iter().filter(|a| !keep.contains(&a.id)).collect();
    let now = now_unix();
    for arrest in &old {
        let purged = arrest.purged(day);
        if purged.content_digest() != arrest.content_digest() {
            tx.rollback().await?;
            anyhow::bail!("arrest {} would change its fingerprint if purged", arrest.id);
        }
        db::query(
            "UPDATE arrests SET person_name = '', person_dob = NULL, person_salt = '', name_commitment = $1, \
             dob_commitment = $2, purged_on = $3, updated_at = $4 WHERE id = $5 AND agency_id = $6",
        )
        .bind(&purged.name_commitment)
        .bind(&purged.dob_commitment)
        .bind(day)
        .bind(now)
        .bind(arrest.id)
        .bind(scope.id())
        .execute(&mut *tx)
        .await?;
        let details = json!({ "purged": ["person_name", "person_dob"], "arrested_before": cutoff });
        audit::record(
            &mut tx,
            actor,
            Event::new("arrest.personal_purged", "arrest", arrest.id).details(details),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(old.iter().map(|a| a.id).collect())
}

/// How many of the agency's arrests dated before `cutoff` still hold a
/// name and date of birth the retention setting allows purging.
pub async fn count_purgeable(scope: &Scope, cutoff: &str) -> Result<i64, sqlx::Error> {
    db::query_scalar(
        "SELECT COUNT(*) FROM arrests WHERE agency_id = $1 AND arrest_date < $2 AND purged_on IS NULL",
    )
    .bind(scope.id())
    .bind(cutoff)
    .fetch_one(scope)
    .await
}

pub async fn history(scope: &Scope, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(scope, "arrest", id).await
}

/// The 287(g) actions of one officer (of all the transaction's agency's,
/// with None), for recomputing their exceptions.
pub async fn actions_in(tx: &mut Tx, officer: Option<i64>) -> Result<Vec<Arrest>, sqlx::Error> {
    let agency = tx.agency()?;
    let sql = format!(
        "SELECT {COLUMNS} FROM arrests WHERE (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1) \
         AND ($1 IS NULL OR officer_id = $1) AND agency_id = $2"
    );
    db::query_as(&sql).bind(officer).bind(agency).fetch_all(&mut **tx).await
}

/// Sets an arrest's exception (`compliance::exceptions::refresh`); an
/// arrest of another agency than the transaction's is not found.
pub async fn set_exception(tx: &mut Tx, id: i64, exception: &str) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let before = get_in(&mut *tx, agency, id).await?;
    db::query("UPDATE arrests SET exception = $1, updated_at = $2 WHERE id = $3 AND agency_id = $4")
        .bind(exception)
        .bind(now_unix())
        .bind(id)
        .bind(agency)
        .execute(&mut **tx)
        .await?;
    let after = Arrest { exception: exception.to_string(), ..before.clone() };
    note_digests(tx, Some(&before), Some(&after)).await
}

/// Every arrest, in id order (exports).
pub async fn all(scope: &Scope) -> Result<Vec<Arrest>, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM arrests WHERE agency_id = $1 ORDER BY id"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

/// Every arrest dated in [from, to] (measures).
/// The 287(g) arrests (`Arrest::action_287g`) dated in [from, to], through
/// the partial index that holds only them.
pub async fn actions_between(scope: &Scope, from: &str, to: &str) -> Result<Vec<Arrest>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2 \
         AND (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1) AND agency_id = $3 \
         ORDER BY arrest_date, id"
    ))
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

pub async fn between(scope: &Scope, from: &str, to: &str) -> Result<Vec<Arrest>, sqlx::Error> {
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2 AND agency_id = $3 \
         ORDER BY arrest_date, id"
    ))
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// The agency's arrests of the days in [from, to], from the day digests.
pub async fn count_between(scope: &Scope, period: crate::measures::Period) -> Result<i64, sqlx::Error> {
    db::query_scalar(
        "SELECT CAST(COALESCE(SUM(arrests), 0) AS BIGINT) FROM arrest_digests \
         WHERE agency_id = $1 AND day >= $2 AND day <= $3",
    )
    .bind(scope.id())
    .bind(period.from_text())
    .bind(period.to_text())
    .fetch_one(scope)
    .await
}

/// Every arrest of the transaction's agency dated in [from, to], in date
/// order (a submission package, docs/packages.md).
pub async fn between_in(tx: &mut Tx, from: &str, to: &str) -> Result<Vec<Arrest>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2 AND agency_id = $3 \
         ORDER BY arrest_date, id"
    ))
    .bind(from)
    .bind(to)
    .bind(agency)
    .fetch_all(&mut **tx)
    .await
}
