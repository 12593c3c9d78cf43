//! Queries on stops. Lists are ordered by date, time and id, and page by
//! key (date, id) rather than by offset, so the thousandth page of a
//! million stops costs what the first does.

use serde_json::json;

use super::Stop;
use super::aggregates::{Counter, Pending};
use crate::agency::Scope;
use crate::audit::{self, Actor, Entry, Event};
use crate::compliance::exceptions::Authority;
use crate::db::{self, Tx, now_unix};

const COLUMNS: &str = "id, stop_date, stop_time, duration_minutes, location, district, lat, lng, stop_type, \
     call_for_service, officer_id, assignment, years_of_service, perceived_race, perceived_gender, perceived_age, \
     limited_english, perceived_disability, reason, traffic_violation, reason_narrative, actions, searched, \
     search_basis, contraband, results, result_narrative, immigration_status_asked, ice_contacted, action_287g, exception";

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub officer_id: Option<i64>,
    pub district: String,
    pub stop_type: String,
    pub race: String,
    pub searched: Option<bool>,
    pub result: String,
    pub action_287g: Option<bool>,
    pub oldest_first: bool,
    /// Continue after this (date, id) in the list's order.
    pub after: Option<(String, i64)>,
}

fn push_filter(q: &mut crate::db::Builder<'_>, scope: &Scope, f: &Filter) {
    // The agency first: the list indexes lead with it (migration 0018).
    q.push(" WHERE agency_id = ").push_bind(scope.id());
    if let Some(from) = &f.from {
        q.push(" AND stop_date >= ").push_bind(from.clone());
    }
    if let Some(to) = &f.to {
        q.push(" AND stop_date <= ").push_bind(to.clone());
    }
    if let Some(officer) = f.officer_id {
        q.push(" AND officer_id = ").push_bind(officer);
    }
    if !f.district.is_empty() {
        q.push(" AND district = ").push_bind(f.district.clone());
    }
    if !f.stop_type.is_empty() {
        q.push(" AND stop_type = ").push_bind(f.stop_type.clone());
    }
    push_code(q, "perceived_race", &f.race);
    // Literals, not bound values, so the partial indexes apply.
    match f.searched {
        Some(true) => {
            q.push(" AND searched = 1");
        }
        Some(false) => {
            q.push(" AND searched = 0");
        }
        None => {}
    }
    push_code(q, "results", &f.result);
    match f.action_287g {
        Some(true) => {
            q.push(" AND action_287g = 1");
        }
        Some(false) => {
            q.push(" AND action_287g = 0");
        }
        None => {}
    }
}

/// Matches one code of a multi-valued column (",a,b,"). A code is written
/// into the SQL as a literal: SQLite re-plans a statement whose LIKE
/// pattern is a bound value every time it runs, which cost a list page a
/// tenth of its time. Codes are lowercase words; anything else is bound.
fn push_code(q: &mut crate::db::Builder<'_>, column: &str, code: &str) {
    if code.is_empty() {
        return;
    }
    q.push(format!(" AND {column} LIKE "));
    if code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        q.push(format!("'%,{code},%'"));
    } else {
        q.push_bind(format!("%,{code},%"));
    }
}

/// The columns the list shows. A page reads only these: every value read
/// is copied out of SQLite and freed again, and whole records were twice
/// the work of the page's query.
const LIST_COLUMNS: &str = "id, stop_date, stop_time, stop_type, district, officer_id, perceived_race, \
     perceived_gender, perceived_age, searched, results, action_287g, exception";

#[derive(sqlx::FromRow)]
struct Listed {
    id: i64,
    stop_date: String,
    stop_time: Option<String>,
    stop_type: String,
    district: String,
    officer_id: Option<i64>,
    perceived_race: String,
    perceived_gender: String,
    perceived_age: Option<i64>,
    searched: i64,
    results: String,
    action_287g: i64,
    exception: String,
}

impl From<Listed> for Stop {
    fn from(l: Listed) -> Self {
        Stop {
            id: l.id,
            stop_date: l.stop_date,
            stop_time: l.stop_time,
            stop_type: l.stop_type,
            district: l.district,
            officer_id: l.officer_id,
            perceived_race: l.perceived_race,
            perceived_gender: l.perceived_gender,
            perceived_age: l.perceived_age,
            searched: l.searched,
            results: l.results,
            action_287g: l.action_287g,
            exception: l.exception,
            ..Stop::default()
        }
    }
}

/// The list's order within a day, as the list index holds it (migration
/// 0016): a stop without a time comes first in its day.
const LIST_TIME: &str = "COALESCE(stop_time, '')";

/// One page of stops in the filter's order, and whether more follow. The
/// stops carry the list's columns (`LIST_COLUMNS`); the rest are empty.
pub async fn page(scope: &Scope, f: &Filter, size: i64) -> Result<(Vec<Stop>, bool), sqlx::Error> {
    let mut q = crate::db::Builder::new(format!("SELECT {LIST_COLUMNS} FROM stops"));
    push_filter(&mut q, scope, f);
    let dir = if f.oldest_first { "ASC" } else { "DESC" };
    if let Some(key) = &f.after {
        crate::db::push_after(&mut q, scope, "stops", ("stop_date", LIST_TIME), !f.oldest_first, key);
    }
    q.push(format!(" ORDER BY stop_date {dir}, {LIST_TIME} {dir}, id {dir} LIMIT ")).push_bind(size + 1);
    let rows: Vec<Listed> = q.build_query_as().fetch_all(scope).await?;
    let more = rows.len() as i64 > size;
    Ok((rows.into_iter().take(size as usize).map(Stop::from).collect(), more))
}

/// One record of the agency, from the pool or inside a caller's
/// transaction; another agency's is not found.
pub async fn get<'e>(db: impl Into<crate::db::On<'e>>, scope: &Scope, id: i64) -> Result<Stop, sqlx::Error> {
    by_id(db, scope.id(), id).await
}

/// The agency's stops among `ids`, in no particular order (another
/// agency's are not found): a statement a thousand ids.
pub async fn get_many(scope: &Scope, ids: &[i64]) -> Result<Vec<Stop>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let sql =
            format!("SELECT {COLUMNS} FROM stops WHERE agency_id = $1 AND id IN ({})", db::id_list(chunk));
        found.extend(db::query_as::<Stop>(&sql).bind(scope.id()).fetch_all(scope).await?);
    }
    Ok(found)
}

const BY_ID: &str = "WHERE id = $1 AND agency_id = $2";

async fn by_id<'e>(db: impl Into<crate::db::On<'e>>, agency: i64, id: i64) -> Result<Stop, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM stops {BY_ID}")).bind(id).bind(agency).fetch_one(db).await
}

/// The agency's districts in use, for the filter menu (kept as stops are
/// written).
pub async fn districts(scope: &Scope) -> Result<Vec<String>, sqlx::Error> {
    db::query_scalar("SELECT name FROM stop_districts WHERE agency_id = $1 ORDER BY name LIMIT 500")
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

const NOTE_DISTRICT: &str =
    "INSERT INTO stop_districts (agency_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Records the district of a stop just written, inside its transaction
/// (the transaction's agency's districts).
async fn note_district(tx: &mut Tx, name: &str) -> Result<(), sqlx::Error> {
    if !name.is_empty() {
        let agency = tx.agency()?;
        db::query(NOTE_DISTRICT).bind(agency).bind(name).execute(&mut **tx).await?;
    }
    Ok(())
}

type Args<'q> = crate::db::QueryAs<'q, (i64,)>;

fn bind_stop<'q>(q: Args<'q>, s: &'q Stop) -> Args<'q> {
    q.bind(&s.stop_date)
        .bind(&s.stop_time)
        .bind(s.duration_minutes)
        .bind(&s.location)
        .bind(&s.district)
        .bind(s.lat)
        .bind(s.lng)
        .bind(&s.stop_type)
        .bind(s.call_for_service)
        .bind(s.officer_id)
        .bind(&s.assignment)
        .bind(s.years_of_service)
        .bind(&s.perceived_race)
        .bind(&s.perceived_gender)
        .bind(s.perceived_age)
        .bind(s.limited_english)
        .bind(s.perceived_disability)
        .bind(&s.reason)
        .bind(&s.traffic_violation)
        .bind(&s.reason_narrative)
        .bind(&s.actions)
        .bind(s.searched)
        .bind(&s.search_basis)
        .bind(&s.contraband)
        .bind(&s.results)
        .bind(&s.result_narrative)
        .bind(s.immigration_status_asked)
        .bind(s.ice_contacted)
        .bind(s.action_287g)
        .bind(&s.exception)
}

const FIELDS: &str = "stop_date, stop_time, duration_minutes, location, district, lat, lng, stop_type, call_for_service, \
     officer_id, assignment, years_of_service, perceived_race, perceived_gender, perceived_age, limited_english, \
     perceived_disability, reason, traffic_violation, reason_narrative, actions, searched, search_basis, contraband, \
     results, result_narrative, immigration_status_asked, ice_contacted, action_287g, exception";

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Saves a new stop, its compliance exception decided here
/// (`compliance::exceptions`), never by the caller; returns it as saved.
pub async fn create(scope: &Scope, actor: &Actor, stop: &Stop) -> Result<Stop, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let authority = Authority::load(&mut tx).await?;
    let stop = &Stop { exception: authority.stop(stop), ..stop.clone() };
    let now = now_unix();
    // PostgreSQL: the id comes from the same reservation as an import's
    // (`reserve_ids`), so a form's stop never lands inside another
    // agency's run of ids.
    let (id_column, id_value, overriding, reserved) = match tx.is_postgres() {
        true => ("id, ", "$34, ", " OVERRIDING SYSTEM VALUE", Some(reserve_ids(&mut tx, 1).await?)),
        false => ("", "", "", None),
    };
    let sql = format!(
        "INSERT INTO stops ({id_column}{FIELDS}, created_at, updated_at, agency_id){overriding} \
         VALUES ({id_value}{}, $31, $32, $33) RETURNING id",
        placeholders(1, 30)
    );
    let mut insert = bind_stop(db::query_as(&sql), stop).bind(now).bind(now).bind(scope.id());
    if let Some(id) = reserved {
        insert = insert.bind(id);
    }
    let (id,) = insert.fetch_one(&mut *tx).await?;
    note_district(&mut tx, &stop.district).await?;
    let saved = Stop { id, ..stop.clone() };
    let mut aggregates = Pending::load(&mut tx).await?;
    aggregates.add(&saved);
    aggregates.write(&mut tx).await?;
    audit::record(&mut tx, actor, Event::new("stop.create", "stop", id).details(json!({ "after": saved })))
        .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Saves an edit, its exception decided as on create; the audit entry
/// keeps the earlier values of every field that changed.
pub async fn update(scope: &Scope, actor: &Actor, stop: &Stop) -> Result<Stop, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let authority = Authority::load(&mut tx).await?;
    let stop = &Stop { exception: authority.stop(stop), ..stop.clone() };
    let before = by_id(&mut tx, scope.id(), stop.id).await?;
    let sets: Vec<String> =
        FIELDS.split(", ").enumerate().map(|(i, f)| format!("{} = ${}", f.trim(), i + 1)).collect();
    let sql = format!(
        "UPDATE stops SET {}, updated_at = $31 WHERE id = $32 AND agency_id = $33 RETURNING id",
        sets.join(", ")
    );
    bind_stop(db::query_as(&sql), stop)
        .bind(now_unix())
        .bind(stop.id)
        .bind(scope.id())
        .fetch_one(&mut *tx)
        .await?;
    note_district(&mut tx, &stop.district).await?;
    let mut aggregates = Pending::load(&mut tx).await?;
    aggregates.remove(&before);
    aggregates.add(stop);
    aggregates.write(&mut tx).await?;
    if before != *stop {
        audit::record(&mut tx, actor, Event::new("stop.update", "stop", stop.id).changes(&before, stop))
            .await?;
    }
    tx.commit().await?;
    Ok(stop.clone())
}

/// The 287(g) actions of one officer (of all, with None) of the
/// transaction's agency, for recomputing their exceptions.
pub async fn actions_in(tx: &mut Tx, officer: Option<i64>) -> Result<Vec<Stop>, sqlx::Error> {
    let agency = tx.agency()?;
    let sql = format!(
        "SELECT {COLUMNS} FROM stops WHERE action_287g = 1 AND ($1 IS NULL OR officer_id = $1) AND agency_id = $2"
    );
    db::query_as(&sql).bind(officer).bind(agency).fetch_all(&mut **tx).await
}

/// Sets a stop's exception (`compliance::exceptions::refresh`): a change
/// of the record, so its sign-off is compared again.
pub async fn set_exception(tx: &mut Tx, id: i64, exception: &str) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let before = by_id(&mut *tx, agency, id).await?;
    db::query("UPDATE stops SET exception = $1, updated_at = $2 WHERE id = $3 AND agency_id = $4")
        .bind(exception)
        .bind(now_unix())
        .bind(id)
        .bind(agency)
        .execute(&mut **tx)
        .await?;
    // The exception is part of the record the report fingerprints.
    let mut aggregates = Pending::load(&mut *tx).await?;
    aggregates.remove(&before);
    aggregates.add(&Stop { exception: exception.to_string(), ..before });
    aggregates.write(tx).await
}

pub async fn history(scope: &Scope, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(scope, "stop", id).await
}

/// Drops the indexes on stops inside the caller's transaction and returns
/// the statements that make them again (`restore_indexes`). A bulk write
/// as large as half the table is faster that way: inserting a million
/// stops of no date order into the date-ordered indexes cost 2.2 s of a
/// 3.9 s import on SQLite, building them afresh 0.7 s; on PostgreSQL the
/// COPY of a million took 5.7 s with the indexes and 1.0 s without, the
/// builds 1.2 s. The transaction makes it safe: a refused or failed import
/// rolls the indexes back with the rows. The indexes hold every agency's
/// stops (their definitions, read from the catalog here, lead with
/// `agency_id`), so the whole table is what is dropped and rebuilt.
/// SQLite's readers keep seeing the indexed snapshot until the commit;
/// PostgreSQL's, of every agency, wait for the commit (DROP INDEX locks the
/// table), which only an import of half the whole table or more does.
/// Partial indexes (searched stops, 287(g) stops) stay: few rows enter
/// them, and each rebuild would read the whole table again (0.2 s of a
/// million stops for the two).
pub async fn drop_indexes(conn: &mut crate::db::Conn) -> Result<Vec<String>, sqlx::Error> {
    let indexes: Vec<(String, String)> = db::query_as(if conn.is_postgres() {
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
         AND tablename = 'stops' AND indexname <> 'stops_pkey' AND indexdef NOT LIKE '% WHERE %'"
    } else {
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'stops' AND sql IS NOT NULL AND sql NOT LIKE '%WHERE%'"
    })
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        db::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\""))).execute(&mut *conn).await?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

/// Makes the indexes `drop_indexes` dropped.
pub async fn restore_indexes(conn: &mut crate::db::Conn, statements: &[String]) -> Result<(), sqlx::Error> {
    if statements.is_empty() {
        return Ok(());
    }
    // The sort of a build on both cores while nothing else runs: SQLite's
    // helper thread; PostgreSQL's parallel workers, with the memory to
    // sort a million entries without spilling to disk (the default 64 MB
    // does not), for this transaction only.
    let (before, after) = if conn.is_postgres() {
        ("SET LOCAL maintenance_work_mem = '256MB'", "SET LOCAL maintenance_work_mem = DEFAULT")
    } else {
        ("PRAGMA threads = 2", "PRAGMA threads = 0")
    };
    db::query(before).execute(&mut *conn).await?;
    for sql in statements {
        db::query(sql).execute(&mut *conn).await?;
    }
    db::query(after).execute(&mut *conn).await.map(|_| ())
}

/// SQLite: samples the stop indexes for the planner (`ANALYZE` on 400 rows
/// an index, milliseconds), after an import changed their sizes. Without
/// statistics SQLite read a searched list of one agency through the index
/// of every stop rather than the partial index of searched ones, now that
/// both lead with the agency: the list page served 3,600 pages a second
/// instead of 5,000. PostgreSQL's autovacuum keeps its own statistics.
pub async fn note_sizes(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if tx.is_postgres() {
        return Ok(());
    }
    db::query("PRAGMA analysis_limit = 400").execute(&mut **tx).await?;
    db::query("ANALYZE stops").execute(&mut **tx).await.map(|_| ())
}

/// Whether a bulk write of about `rows` stops should rebuild the indexes
/// rather than insert into them: when it adds at least half as many stops
/// as the table holds, every agency's (the indexes hold them all; measured:
/// a random insert costs about three times an entry of a fresh build).
///
/// On PostgreSQL the size is read from the id sequence, not the table: a
/// read of `stops` would hold a share lock on it until the commit, and two
/// agencies importing at once, each holding that lock and then asking for
/// the exclusive one DROP INDEX takes, would deadlock. The first lock an
/// import then takes on the table is DROP INDEX's own, and the other import
/// waits for it.
pub async fn rebuild_pays(conn: &mut crate::db::Conn, rows: u64) -> Result<bool, sqlx::Error> {
    let held: Option<i64> = db::query_scalar(if conn.is_postgres() {
        "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence('stops', 'id') AS regclass))"
    } else {
        "SELECT MAX(id) FROM stops"
    })
    .fetch_one(conn)
    .await?;
    Ok(rows as i64 * 2 >= held.unwrap_or(0))
}

/// `insert_many` on PostgreSQL: ids reserved from the table's identity
/// sequence, then every stop in one COPY (which writes the given ids, as
/// `OVERRIDING SYSTEM VALUE` would), in the caller's transaction, each
/// stop in the transaction's agency.
async fn copy_in(tx: &mut Tx, mut stops: Vec<Stop>, aggregates: &Counter) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let first = reserve_ids(tx, stops.len() as i64).await?;
    let now = now_unix();
    let mut rows = db::CopyRows::default();
    for (s, id) in stops.iter_mut().zip(first..) {
        s.id = id;
        rows.int(id).text(&s.stop_date).opt_text(s.stop_time.as_deref()).opt_int(s.duration_minutes);
        rows.text(&s.location).text(&s.district).opt_real(s.lat).opt_real(s.lng).text(&s.stop_type);
        rows.int(s.call_for_service).opt_int(s.officer_id).text(&s.assignment).opt_int(s.years_of_service);
        rows.text(&s.perceived_race).text(&s.perceived_gender).opt_int(s.perceived_age);
        rows.int(s.limited_english).int(s.perceived_disability).text(&s.reason).text(&s.traffic_violation);
        rows.text(&s.reason_narrative).text(&s.actions).int(s.searched).text(&s.search_basis);
        rows.text(&s.contraband).text(&s.results).text(&s.result_narrative);
        rows.int(s.immigration_status_asked).int(s.ice_contacted).int(s.action_287g).text(&s.exception);
        rows.int(now).int(now).int(agency).end_row();
    }
    // PostgreSQL refuses COPY into a table under row-level security: the
    // rows go to a temporary table (no policies), then in one INSERT, which
    // the policies check, to stops.
    let columns = format!("id, {FIELDS}, created_at, updated_at, agency_id");
    db::query("CREATE TEMPORARY TABLE staged_stops (LIKE stops) ON COMMIT DROP").execute(&mut **tx).await?;
    rows.send(tx, &format!("COPY staged_stops ({columns}) FROM STDIN")).await?;
    db::query(&format!(
        "INSERT INTO stops ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM staged_stops"
    ))
    .execute(&mut **tx)
    .await?;
    db::query("DROP TABLE staged_stops").execute(&mut **tx).await?;
    let districts: std::collections::BTreeSet<&str> =
        stops.iter().map(|s| s.district.as_str()).filter(|d| !d.is_empty()).collect();
    for district in districts {
        note_district(tx, district).await?;
    }
    aggregates.count(stops).await
}

/// PostgreSQL: reserves `count` consecutive stop ids and returns the
/// first, as one run: `setval(nextval + count - 1)` (`nextval` once a row
/// took 19 ms a batch, 2.3 s of a million).
///
/// The two calls are not atomic: a writer that draws from the sequence
/// between them would take an id inside the run. Writers of one agency
/// share its chain's lock, but writers of different agencies run in
/// parallel (each chain has its own advisory lock), so the pair is taken
/// under an advisory lock of its own, in the class `db` uses ("ovsg") with
/// the key -1 for "stop ids". A session lock, not a transaction's: held
/// until the commit it would make every agency's imports wait for each
/// other's; released right after the pair, it is held for microseconds.
/// A stop saved from the form takes its one id here too (`create`), never
/// from the column's default, so no writer draws from the sequence outside
/// the lock.
///
/// The lock, the pair and the unlock go as one message (the simple query
/// protocol, one round trip): the server runs all three once it has the
/// message, so a task cancelled while it waits (a browser that went away)
/// cannot leave the lock held on a connection that goes back to the pool.
/// Between lock and unlock only the pair could fail, and it fails only at
/// the end of the 64-bit sequence (or cancelled by an administrator): the
/// session would then keep the lock until its connection closes.
async fn reserve_ids(tx: &mut Tx, count: i64) -> Result<i64, sqlx::Error> {
    use sqlx::Row as _;
    let sql = format!(
        "SELECT pg_advisory_lock(1870033767, -1); \
         SELECT setval(pg_get_serial_sequence('stops', 'id'), \
         nextval(pg_get_serial_sequence('stops', 'id')) + {count} - 1) - {count} + 1; \
         SELECT pg_advisory_unlock(1870033767, -1)"
    );
    let pg =
        tx.postgres().ok_or_else(|| sqlx::Error::Protocol("reserving stop ids needs PostgreSQL".into()))?;
    // Through the executor's boxed future: `RawSql::fetch_all`'s own is not
    // `Send` for every lifetime, which a route's future must be.
    let rows = sqlx::Executor::fetch_all(pg, sqlx::raw_sql(&sql)).await?;
    let first = rows.get(1).ok_or_else(|| sqlx::Error::Protocol("no stop ids were reserved".into()))?;
    first.try_get::<i64, _>(0)
}

/// Rows the import hands to the writer at a time.
pub const BULK_ROWS: usize = 8192;

/// Inserts many stops of the transaction's agency inside it, without an audit
/// entry per row: imports and the demo record one entry for the batch.
/// Each stop's exception comes from `authority` (loaded in the same
/// transaction), never from the caller. Uses SQLite's API directly
/// (`bulk`), one prepared statement per call. The stops are counted by
/// `aggregates`, whose count the caller writes once before it commits.
pub async fn insert_many(
    tx: &mut crate::db::Tx,
    authority: &Authority,
    mut stops: Vec<Stop>,
    aggregates: &Counter,
) -> Result<(), sqlx::Error> {
    if stops.is_empty() {
        return Ok(());
    }
    for s in stops.iter_mut() {
        s.exception = authority.stop(s);
    }
    if tx.is_postgres() {
        return copy_in(tx, stops, aggregates).await;
    }
    let agency = tx.agency()?;
    let mut ids = Vec::with_capacity(stops.len());
    let now = now_unix();
    let placeholders: Vec<String> = (1..=33).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO stops ({FIELDS}, created_at, updated_at, agency_id) VALUES ({})",
        placeholders.join(", ")
    );
    {
        let mut handle = tx.sqlite_only("the bulk insert of stops")?.lock_handle().await?;
        let mut insert = super::bulk::Statement::prepare(&mut handle, &sql)?;
        for s in stops.iter() {
            insert.text(1, &s.stop_date)?;
            insert.opt_text(2, s.stop_time.as_deref())?;
            insert.opt_int(3, s.duration_minutes)?;
            insert.text(4, &s.location)?;
            insert.text(5, &s.district)?;
            insert.opt_real(6, s.lat)?;
            insert.opt_real(7, s.lng)?;
            insert.text(8, &s.stop_type)?;
            insert.int(9, s.call_for_service)?;
            insert.opt_int(10, s.officer_id)?;
            insert.text(11, &s.assignment)?;
            insert.opt_int(12, s.years_of_service)?;
            insert.text(13, &s.perceived_race)?;
            insert.text(14, &s.perceived_gender)?;
            insert.opt_int(15, s.perceived_age)?;
            insert.int(16, s.limited_english)?;
            insert.int(17, s.perceived_disability)?;
            insert.text(18, &s.reason)?;
            insert.text(19, &s.traffic_violation)?;
            insert.text(20, &s.reason_narrative)?;
            insert.text(21, &s.actions)?;
            insert.int(22, s.searched)?;
            insert.text(23, &s.search_basis)?;
            insert.text(24, &s.contraband)?;
            insert.text(25, &s.results)?;
            insert.text(26, &s.result_narrative)?;
            insert.int(27, s.immigration_status_asked)?;
            insert.int(28, s.ice_contacted)?;
            insert.int(29, s.action_287g)?;
            insert.text(30, &s.exception)?;
            insert.int(31, now)?;
            insert.int(32, now)?;
            insert.int(33, agency)?;
            insert.execute()?;
            ids.push(insert.last_rowid());
        }
        // On the same locked connection: a query through the pool would
        // hop to the connection's thread and back for every batch.
        let districts: std::collections::BTreeSet<&str> =
            stops.iter().map(|s| s.district.as_str()).filter(|d| !d.is_empty()).collect();
        // The insert statement borrows the connection: finalize it first.
        drop(insert);
        let mut note = super::bulk::Statement::prepare(&mut handle, NOTE_DISTRICT)?;
        note.int(1, agency)?;
        for district in districts {
            note.text(2, district)?;
            note.execute()?;
        }
    }
    // Counted as saved, with the ids SQLite gave them.
    for (s, id) in stops.iter_mut().zip(ids) {
        s.id = id;
    }
    aggregates.count(stops).await
}

/// Up to `limit` stops of the transaction's agency after id `after`, in id
/// order, in the caller's transaction.
pub async fn batch_after(tx: &mut Tx, after: i64, limit: i64) -> Result<Vec<Stop>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(&format!(
        "SELECT {COLUMNS} FROM stops WHERE id > $1 AND agency_id = $3 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .bind(agency)
    .fetch_all(&mut **tx)
    .await
}

/// Every stop of the agency in id order, a batch at a time (exports).
pub async fn for_each(scope: &Scope, mut each: impl FnMut(&Stop) -> bool) -> Result<(), sqlx::Error> {
    let mut after = 0i64;
    loop {
        let batch: Vec<Stop> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM stops WHERE id > $1 AND agency_id = $2 ORDER BY id LIMIT 5000"
        ))
        .bind(after)
        .bind(scope.id())
        .fetch_all(scope)
        .await?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = last.id;
        for s in &batch {
            if !each(s) {
                return Ok(());
            }
        }
    }
}

/// Every stop dated in [from, to], in id order, a batch at a time (the
/// report's data fingerprint).
pub async fn for_each_between(
    scope: &Scope,
    from: &str,
    to: &str,
    mut each: impl FnMut(&Stop),
) -> Result<(), sqlx::Error> {
    let mut after = 0i64;
    loop {
        let batch: Vec<Stop> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM stops WHERE stop_date >= $1 AND stop_date <= $2 AND id > $3 AND agency_id = $4 \
             ORDER BY id LIMIT 5000"
        ))
        .bind(from)
        .bind(to)
        .bind(after)
        .bind(scope.id())
        .fetch_all(scope)
        .await?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = last.id;
        batch.iter().for_each(&mut each);
    }
}

/// The 287(g) stops dated in [from, to]: (id, date, officer, reason), for
/// the program measures.
pub async fn actions_between(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String, Option<i64>, String)>, sqlx::Error> {
    db::query_as(
        "SELECT id, stop_date, officer_id, reason FROM stops WHERE action_287g = 1 AND stop_date >= $1 \
         AND stop_date <= $2 AND agency_id = $3",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// The reason of each stop a 287(g) arrest dated in [from, to] followed
/// (E3, traffic origin).
pub async fn reasons_of_arrests_between(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let rows: Vec<(i64, String)> = db::query_as(
        "SELECT id, reason FROM stops WHERE agency_id = $3 AND id IN (SELECT stop_id FROM arrests \
         WHERE agency_id = $3 AND arrest_date >= $1 AND arrest_date <= $2 \
         AND (detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1))",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    Ok(rows.into_iter().collect())
}

// ---- The measures' counts from the records themselves: the check of the
// aggregates (`aggregates`), and D9 for a window outside their band.

/// The group of a stop in each grouping, as SQL.
const GROUP_KEYS: [(&str, &str); 3] = [
    (
        "race",
        "CASE WHEN perceived_race = '' THEN 'unknown' \
         WHEN LENGTH(perceived_race) - LENGTH(REPLACE(perceived_race, ',', '')) > 2 THEN 'multiple' \
         ELSE REPLACE(perceived_race, ',', '') END",
    ),
    ("gender", "CASE WHEN perceived_gender = '' THEN 'unknown' ELSE perceived_gender END"),
    (
        "age",
        "CASE WHEN perceived_age IS NULL THEN 'unknown' WHEN perceived_age < 18 THEN 'under_18' \
         WHEN perceived_age < 25 THEN '18_24' WHEN perceived_age < 35 THEN '25_34' \
         WHEN perceived_age < 45 THEN '35_44' WHEN perceived_age < 55 THEN '45_54' \
         WHEN perceived_age < 65 THEN '55_64' ELSE '65_plus' END",
    ),
];

const GROUP_COUNTS: &str = "COUNT(*), CAST(SUM(searched) AS BIGINT), \
     CAST(SUM(CASE WHEN searched = 1 AND contraband <> '' AND contraband <> ',none,' THEN 1 ELSE 0 END) AS BIGINT), \
     CAST(SUM(CASE WHEN results LIKE '%,arrest_%' THEN 1 ELSE 0 END) AS BIGINT), \
     CAST(SUM(CASE WHEN actions LIKE '%,physical_force,%' OR actions LIKE '%,firearm_pointed,%' THEN 1 ELSE 0 END) AS BIGINT), \
     CAST(SUM(CASE WHEN results = ',no_action,' THEN 1 ELSE 0 END) AS BIGINT), \
     CAST(SUM(immigration_status_asked) AS BIGINT), \
     CAST(SUM(CASE WHEN stop_time IS NOT NULL AND duration_minutes IS NOT NULL AND location <> '' \
     AND officer_id IS NOT NULL AND perceived_race <> '' AND perceived_gender <> '' AND perceived_age IS NOT NULL \
     THEN 1 ELSE 0 END) AS BIGINT)";

/// Per (grouping, group), the stops of [from, to] counted from the records
/// (the SQL the measures ran before the aggregates); `timed` is left at 0
/// (D9 reads the times itself).
pub async fn groups_from_records(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, super::aggregates::Tally)>, sqlx::Error> {
    type Row = (String, String, i64, i64, i64, i64, i64, i64, i64, i64);
    let mut out = Vec::new();
    for (grouping, key) in GROUP_KEYS {
        let rows: Vec<Row> = db::query_as(&format!(
            "SELECT '{grouping}', {key}, {GROUP_COUNTS} FROM stops WHERE stop_date >= $1 AND stop_date <= $2 \
             AND agency_id = $3 GROUP BY 2"
        ))
        .bind(from)
        .bind(to)
        .bind(scope.id())
        .fetch_all(scope)
        .await?;
        out.extend(rows.into_iter().map(
            |(g, x, stops, searches, hits, arrests, force, no_action, inquiries, complete)| {
                let counts = crate::measures::equity::Counts {
                    stops,
                    searches,
                    hits,
                    arrests,
                    force,
                    no_action,
                    inquiries,
                };
                (g, x, super::aggregates::Tally { counts, complete, timed: 0 })
            },
        ));
    }
    Ok(out)
}

/// D9's stops of [from, to] from the records: (day, minute, minority,
/// stops) for stops with a readable time and one known group.
pub async fn darkness_from_records(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64, bool, i64)>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = db::query_as(
        "SELECT stop_date, stop_time, perceived_race FROM stops WHERE stop_date >= $1 AND stop_date <= $2 \
         AND agency_id = $3 AND stop_time IS NOT NULL AND perceived_race <> '' \
         AND LENGTH(perceived_race) - LENGTH(REPLACE(perceived_race, ',', '')) = 2",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    let mut counted: std::collections::BTreeMap<(String, i64, bool), i64> = Default::default();
    for (day, time, race) in rows {
        if let Some(minute) = super::aggregates::minute_of_day(&time) {
            *counted.entry((day, minute, race != ",white,")).or_default() += 1;
        }
    }
    Ok(counted.into_iter().map(|((d, m, x), n)| (d, m, x, n)).collect())
}

/// D9a's stops: those of the agency dated in [from, to] whose clock
/// minute is in [first, last], with one known group, counted by (day,
/// minute, minority?, district). The window is a few evening hours, so
/// this reads about an eighth of the period's stops. The clock time is
/// read and compared as the stops_list index holds it (`COALESCE(stop_time,
/// '')`: a stop without one is before every minute), so the index answers
/// alone; the raw column sent every stop of the period to the table, twice
/// the time.
pub async fn window_from_records(
    scope: &Scope,
    (from, to): (&str, &str),
    (first, last): (i64, i64),
) -> Result<Vec<(String, i64, bool, String, i64)>, sqlx::Error> {
    let clock = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    let rows: Vec<(String, String, bool, String, i64)> = db::query_as(
        "SELECT stop_date, COALESCE(stop_time, ''), perceived_race <> ',white,', district, COUNT(*) FROM stops \
         WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3 \
         AND COALESCE(stop_time, '') >= $4 AND COALESCE(stop_time, '') <= $5 \
         AND LENGTH(perceived_race) - LENGTH(REPLACE(perceived_race, ',', '')) = 2 GROUP BY 1, 2, 3, 4",
    )
    .bind(scope.id())
    .bind(from)
    .bind(to)
    .bind(clock(first))
    .bind(clock(last))
    .fetch_all(scope)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(day, time, minority, district, n)| {
            Some((day, super::aggregates::minute_of_day(&time)?, minority, district, n))
        })
        .collect())
}

/// The stops of the agency dated in [from, to] that name an officer, as
/// the early-warning list reads them (`measures::warning`): officer,
/// hour, weekday, month, district, race group, searched.
pub async fn for_early_warning(
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<crate::measures::warning::Pool, sqlx::Error> {
    let mut days: std::collections::HashMap<String, Option<(u8, u8)>> = Default::default();
    let mut pool = crate::measures::warning::Pool::default();
    let mut add = |officer: i64, day: &str, time: &str, district: &str, race: &str, searched: i64| {
        let date = match days.get(day) {
            Some(date) => *date,
            None => {
                let date = crate::web::parse_date(day)
                    .map(|d| (d.weekday().number_days_from_monday(), d.month() as u8));
                *days.entry(day.to_string()).or_insert(date)
            }
        };
        let Some((weekday, month)) = date else { return };
        pool.add(&crate::measures::warning::OfficerStop {
            officer,
            hour: super::aggregates::minute_of_day(time).map(|m| (m / 60) as u8),
            weekday,
            month,
            district,
            group: super::aggregates::race_group(race),
            searched: searched == 1,
            stops: 1,
        });
    };
    // One pass over the stops_list index, which holds every column read
    // (the clock time as the index's `COALESCE(stop_time, '')`: the raw
    // column sent each row to the table, three times the read). Streamed
    // in no order (the pool sorts): nothing of the year is held as rows.
    const SQL: &str = "SELECT officer_id, stop_date, COALESCE(stop_time, ''), district, perceived_race, searched \
        FROM stops WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3 AND officer_id IS NOT NULL";
    if let Some(sqlite) = scope.db().sqlite() {
        // On SQLite through its own API, each row read where it lies: the
        // query builder's per-row decoding was four fifths of the read.
        let mut conn = sqlite.acquire().await?;
        let mut handle = conn.lock_handle().await?;
        let mut select = super::bulk::Statement::prepare(&mut handle, SQL)?;
        select.int(1, scope.id())?;
        select.text(2, from)?;
        select.text(3, to)?;
        select.each_row(|row| {
            add(row.int(0), row.text(1), row.text(2), row.text(3), row.text(4), row.int(5))
        })?;
    } else {
        db::query_as::<(i64, String, String, String, String, i64)>(SQL)
            .bind(scope.id())
            .bind(from)
            .bind(to)
            .for_each(scope, |(officer, day, time, district, race, searched)| {
                add(officer, &day, &time, &district, &race, searched)
            })
            .await?;
    }
    Ok(pool)
}

/// Every stop of the agency dated in [from, to], handed to `each` as its
/// id and content digest (`aggregates::content_digest`), in no order: the
/// leaves of a v4 report's record tree (docs/fingerprints.md). On SQLite
/// through its own API, each row read where it lies, as the early-warning
/// list reads: the query builder's per-row decoding was most of the read.
pub async fn for_each_content_digest(
    scope: &Scope,
    from: &str,
    to: &str,
    mut each: impl FnMut(i64, [u8; 32]),
) -> Result<(), sqlx::Error> {
    use super::aggregates::content_digest;
    let Some(sqlite) = scope.db().sqlite() else {
        return for_each_between(scope, from, to, |s| each(s.id, content_digest(s))).await;
    };
    let sql =
        format!("SELECT {COLUMNS} FROM stops WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3");
    let mut conn = sqlite.acquire().await?;
    let mut handle = conn.lock_handle().await?;
    let mut select = super::bulk::Statement::prepare(&mut handle, &sql)?;
    select.int(1, scope.id())?;
    select.text(2, from)?;
    select.text(3, to)?;
    select.each_row(|row| {
        let stop = stop_of_row(row);
        each(stop.id, content_digest(&stop));
    })
}

/// A stop from a row of `SELECT {COLUMNS}`, read in place.
fn stop_of_row(row: &super::bulk::Row<'_>) -> Stop {
    let text = |i| row.text(i).to_string();
    Stop {
        id: row.int(0),
        stop_date: text(1),
        stop_time: (!row.is_null(2)).then(|| text(2)),
        duration_minutes: row.opt_int(3),
        location: text(4),
        district: text(5),
        lat: row.opt_real(6),
        lng: row.opt_real(7),
        stop_type: text(8),
        call_for_service: row.int(9),
        officer_id: row.opt_int(10),
        assignment: text(11),
        years_of_service: row.opt_int(12),
        perceived_race: text(13),
        perceived_gender: text(14),
        perceived_age: row.opt_int(15),
        limited_english: row.int(16),
        perceived_disability: row.int(17),
        reason: text(18),
        traffic_violation: text(19),
        reason_narrative: text(20),
        actions: text(21),
        searched: row.int(22),
        search_basis: text(23),
        contraband: text(24),
        results: text(25),
        result_narrative: text(26),
        immigration_status_asked: row.int(27),
        ice_contacted: row.int(28),
        action_287g: row.int(29),
        exception: text(30),
    }
}

/// Every stop of the transaction's agency dated in [from, to], in (date,
/// id) order, a batch at a time: a submission package's stops
/// (docs/packages.md), read inside the package's snapshot or import.
pub async fn for_each_dated_in(
    tx: &mut Tx,
    from: &str,
    to: &str,
    mut each: impl FnMut(Stop) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let agency = tx.agency()?;
    // The next batch starts after the last stop handed over. Its date is
    // the index's lower bound: an OR of the cursor alone would leave the
    // bound at the period's start, so each batch re-read every stop before it.
    let mut after = (from.to_string(), 0i64);
    loop {
        let batch: Vec<Stop> = db::query_as(&format!(
            "SELECT {COLUMNS} FROM stops WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3 \
             AND (stop_date > $2 OR id > $4) ORDER BY stop_date, id LIMIT 5000"
        ))
        .bind(agency)
        .bind(&after.0)
        .bind(to)
        .bind(after.1)
        .fetch_all(&mut **tx)
        .await?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = (last.stop_date.clone(), last.id);
        batch.into_iter().try_for_each(&mut each)?;
    }
}

/// The ids of the transaction's agency's stops dated in [from, to], in
/// (date, id) order: a package's stops by their place (docs/packages.md).
pub async fn ids_dated_in(tx: &mut Tx, from: &str, to: &str) -> Result<Vec<i64>, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_scalar(
        "SELECT id FROM stops WHERE agency_id = $1 AND stop_date >= $2 AND stop_date <= $3 ORDER BY stop_date, id",
    )
    .bind(agency)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}
