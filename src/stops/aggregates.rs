//! Aggregates of stops (docs/measures.md, "Counted as written"): what the
//! equity measures, D9, Q1 and the report's data fingerprint need, kept per
//! day and group in the same transaction as every change to the stops
//! (form, edit, exception, import, demo). A year's measures then read a few
//! thousand rows, whatever order the stops were written in.
//!
//! Every rule here is the rule the measures always applied to the raw
//! records (`Tally::of` is the SQL of issue 6 written once in Rust), and
//! `check` rebuilds everything from the records to prove it.
//!
//! Every table here is per agency (`agency_id` first in each key, migration
//! 0018): a transaction writes its own agency's aggregates (`Tx::agency`),
//! and a read names the agency's scope.

use crate::agency::Scope;
use crate::db::{self, Db, Tx};
use std::collections::{BTreeMap, HashMap};

use super::Stop;
use crate::canonical::{Binary, Sum};
use crate::measures::equity::Counts;

/// A stop's group in each grouping: race ("multiple" for more than one,
/// "unknown" for none), gender ("unknown" for none), age band.
pub fn race_group(packed: &str) -> &str {
    let codes = commas(packed);
    match codes {
        0 => "unknown",
        _ if codes > 2 => "multiple",
        _ => packed.trim_matches(','),
    }
}

/// The separators of a packed list (its codes plus one), counted a byte
/// at a time: a pattern search costs ten times that on every stop counted.
fn commas(packed: &str) -> usize {
    packed.bytes().filter(|b| *b == b',').count()
}

pub fn gender_group(gender: &str) -> &str {
    if gender.is_empty() { "unknown" } else { gender }
}

pub fn age_band(age: Option<i64>) -> &'static str {
    match age {
        None => "unknown",
        Some(a) if a < 18 => "under_18",
        Some(a) if a < 25 => "18_24",
        Some(a) if a < 35 => "25_34",
        Some(a) if a < 45 => "35_44",
        Some(a) if a < 55 => "45_54",
        Some(a) if a < 65 => "55_64",
        Some(_) => "65_plus",
    }
}

/// Minutes after midnight of "HH:MM" (D9 reads the clock time this way).
pub fn minute_of_day(time: &str) -> Option<i64> {
    let (h, m) = time.split_once(':')?;
    Some(h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
}

/// For D9: the stop's minute and whether its one known group is a
/// minority (not White); None without a time or with no or several groups.
pub fn darkness_of(s: &Stop) -> Option<(i64, bool)> {
    if commas(&s.perceived_race) != 2 {
        return None;
    }
    let minute = minute_of_day(s.stop_time.as_deref()?)?;
    Some((minute, s.perceived_race != ",white,"))
}

/// What one group of one day holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: Counts,
    /// Stops with every field Q1 requires.
    pub complete: i64,
    /// Stops with a clock time D9 can read.
    pub timed: i64,
}

impl Tally {
    /// One stop's contribution.
    pub fn of(s: &Stop) -> Tally {
        let contraband = s.searched == 1 && !s.contraband.is_empty() && s.contraband != ",none,";
        let force = s.actions.contains(",physical_force,") || s.actions.contains(",firearm_pointed,");
        let complete = s.stop_time.is_some()
            && s.duration_minutes.is_some()
            && !s.location.is_empty()
            && s.officer_id.is_some()
            && !s.perceived_race.is_empty()
            && !s.perceived_gender.is_empty()
            && s.perceived_age.is_some();
        Tally {
            counts: Counts {
                stops: 1,
                searches: s.searched,
                hits: contraband as i64,
                arrests: s.results.contains(",arrest_") as i64,
                force: force as i64,
                no_action: (s.results == ",no_action,") as i64,
                inquiries: s.immigration_status_asked,
            },
            complete: complete as i64,
            timed: s.stop_time.as_deref().and_then(minute_of_day).is_some() as i64,
        }
    }

    fn add(&mut self, other: &Tally, sign: i64) {
        let (c, o) = (&mut self.counts, &other.counts);
        c.stops += sign * o.stops;
        c.searches += sign * o.searches;
        c.hits += sign * o.hits;
        c.arrests += sign * o.arrests;
        c.force += sign * o.force;
        c.no_action += sign * o.no_action;
        c.inquiries += sign * o.inquiries;
        self.complete += sign * other.complete;
        self.timed += sign * other.timed;
    }

    fn values(&self) -> [i64; 9] {
        let c = &self.counts;
        [c.stops, c.searches, c.hits, c.arrests, c.force, c.no_action, c.inquiries, self.complete, self.timed]
    }
}

/// SHA-256 of a stop in the form `oversight-ledger/stop-content/v1`: a
/// label line, then the report's stop fields in their listed order, each
/// as a type byte and its value: 0 no value; 1 a whole number, 8 bytes
/// little-endian; 2 a decimal, its IEEE 754 bits likewise; 3 text, its
/// byte length as 4 bytes little-endian and its UTF-8. Binary rather than
/// JSON: a million stops are hashed on every import, and this is half the
/// bytes with no escaping.
pub fn content_digest(s: &Stop) -> [u8; 32] {
    let mut b = Binary::new("oversight-ledger/stop-content/v1");
    b.int(Some(s.id));
    b.text(Some(&s.stop_date));
    b.text(s.stop_time.as_deref());
    b.int(s.duration_minutes);
    b.text(Some(&s.location));
    b.text(Some(&s.district));
    b.real(s.lat);
    b.real(s.lng);
    b.text(Some(&s.stop_type));
    b.int(Some(s.call_for_service));
    b.int(s.officer_id);
    b.text(Some(&s.assignment));
    b.int(s.years_of_service);
    b.text(Some(&s.perceived_race));
    b.text(Some(&s.perceived_gender));
    b.int(s.perceived_age);
    b.int(Some(s.limited_english));
    b.int(Some(s.perceived_disability));
    b.text(Some(&s.reason));
    b.text(Some(&s.traffic_violation));
    b.text(Some(&s.reason_narrative));
    b.text(Some(&s.actions));
    b.int(Some(s.searched));
    b.text(Some(&s.search_basis));
    b.text(Some(&s.contraband));
    b.text(Some(&s.results));
    b.text(Some(&s.result_narrative));
    b.int(Some(s.immigration_status_asked));
    b.int(Some(s.ice_contacted));
    b.int(Some(s.action_287g));
    b.text(Some(&s.exception));
    b.digest()
}

/// A stop's 2048-bit content hash, what its day's digest sums.
pub fn content_sum(s: &Stop) -> Sum {
    Sum::expand(&content_digest(s))
}

/// The groupings in the order `Codes` numbers them first (0, 1, 2).
const GROUPINGS: [&str; 3] = ["race", "gender", "age"];

/// Codes seen so far, numbered, so a million stops are counted without a
/// string allocated per stop. The groupings are numbered at the start and
/// the last day looked up is kept: an import's batches come in date order,
/// so most stops are of the day before them, and each lookup saved is a
/// string hashed and compared (a tenth of the counting time).
struct Codes {
    numbers: HashMap<String, u32, rustc_hash::FxBuildHasher>,
    names: Vec<String>,
    last_day: Option<u32>,
}

impl Default for Codes {
    fn default() -> Codes {
        let mut codes = Codes { numbers: HashMap::default(), names: Vec::new(), last_day: None };
        GROUPINGS.iter().for_each(|g| _ = codes.number(g));
        codes
    }
}

impl Codes {
    fn number(&mut self, code: &str) -> u32 {
        if let Some(n) = self.numbers.get(code) {
            return *n;
        }
        let n = self.names.len() as u32;
        self.names.push(code.to_string());
        self.numbers.insert(code.to_string(), n);
        n
    }
    fn day(&mut self, day: &str) -> u32 {
        match self.last_day {
            Some(n) if self.names[n as usize] == day => n,
            _ => {
                let n = self.number(day);
                self.last_day = Some(n);
                n
            }
        }
    }
    fn name(&self, n: u32) -> &str {
        &self.names[n as usize]
    }
}

/// The change a transaction makes to the aggregates: stops added and
/// removed, counted in memory, written once before the commit.
#[derive(Default)]
pub struct Pending {
    codes: Codes,
    /// (day, grouping, group): the three groupings count each stop once.
    tallies: HashMap<(u32, u32, u32), Tally, rustc_hash::FxBuildHasher>,
    minutes: HashMap<(u32, i64, bool), i64, rustc_hash::FxBuildHasher>,
    digests: HashMap<u32, (i64, Sum), rustc_hash::FxBuildHasher>,
    /// The minutes band stop_minutes keeps (None: no place set, no D9).
    band: Option<(i64, i64)>,
    /// Whether a stop was removed (an edit), which can empty a group.
    removed: bool,
}

/// Counts batches of saved stops into a `Pending` on a thread of its own:
/// a bulk write's own thread is busy with SQLite, and hashing each stop
/// for its day digest there cost an import a fifth of its time.
pub struct Counter {
    sender: tokio::sync::mpsc::Sender<Vec<Stop>>,
    counting: tokio::task::JoinHandle<Pending>,
}

impl Counter {
    pub fn start(pending: Pending) -> Counter {
        Counter::returning(pending, None)
    }

    /// Counts, then sends each batch counted back to the thread that made
    /// it (`back`), which frees its stops and fills it again: memory freed
    /// on the thread that allocated it is freed at a fraction of the cost
    /// (a twentieth of a million-row import went to freeing it here).
    pub fn returning(mut pending: Pending, back: Option<std::sync::mpsc::Sender<Vec<Stop>>>) -> Counter {
        let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<Stop>>(2);
        let counting = tokio::task::spawn_blocking(move || {
            while let Some(batch) = batches.blocking_recv() {
                batch.iter().for_each(|s| pending.add(s));
                // The maker may have finished: the batch is then freed here.
                if let Some(back) = &back {
                    let _ = back.send(batch);
                }
            }
            pending
        });
        Counter { sender, counting }
    }

    /// Counts stops as saved (with their ids).
    pub async fn count(&self, saved: Vec<Stop>) -> Result<(), sqlx::Error> {
        let stopped = || sqlx::Error::Protocol("the aggregate counter stopped".into());
        self.sender.send(saved).await.map_err(|_| stopped())
    }

    /// Waits for every batch sent to be counted.
    pub async fn finish(self) -> Result<Pending, sqlx::Error> {
        drop(self.sender);
        self.counting.await.map_err(|e| sqlx::Error::Protocol(format!("the aggregate counter failed: {e}")))
    }
}

/// The aggregates as stored or as rebuilt, with names resolved.
#[derive(Debug, Default, PartialEq)]
pub struct Tables {
    pub tallies: BTreeMap<(String, String, String), [i64; 9]>,
    pub minutes: BTreeMap<(String, i64, bool), i64>,
    pub digests: BTreeMap<String, (i64, Vec<u8>)>,
}

impl Pending {
    /// Starts a change inside the caller's transaction (it reads the band
    /// of the transaction's agency).
    pub async fn load(tx: &mut Tx) -> Result<Pending, sqlx::Error> {
        let agency = tx.agency()?;
        Ok(Pending { band: band(tx, agency).await?, ..Pending::default() })
    }

    pub fn add(&mut self, stop: &Stop) {
        self.count(stop, 1);
    }

    pub fn remove(&mut self, stop: &Stop) {
        self.removed = true;
        self.count(stop, -1);
    }

    fn count(&mut self, s: &Stop, sign: i64) {
        let day = self.codes.day(&s.stop_date);
        let tally = Tally::of(s);
        let groups =
            [race_group(&s.perceived_race), gender_group(&s.perceived_gender), age_band(s.perceived_age)];
        for (grouping, group) in groups.into_iter().enumerate() {
            let key = (day, grouping as u32, self.codes.number(group));
            self.tallies.entry(key).or_default().add(&tally, sign);
        }
        if let (Some((minute, minority)), Some((from, to))) = (darkness_of(s), self.band) {
            if (from..=to).contains(&minute) {
                *self.minutes.entry((day, minute, minority)).or_default() += sign;
            }
        }
        let digest = self.digests.entry(day).or_default();
        digest.0 += sign;
        if sign > 0 { digest.1.add(&content_sum(s)) } else { digest.1.sub(&content_sum(s)) }
    }

    /// Resolves the counted change into named rows.
    fn tables(&self) -> Tables {
        let name = |n: u32| self.codes.name(n).to_string();
        Tables {
            tallies: self
                .tallies
                .iter()
                .map(|((d, g, x), t)| ((name(*d), name(*g), name(*x)), t.values()))
                .collect(),
            minutes: self.minutes.iter().map(|((d, m, x), n)| ((name(*d), *m, *x), *n)).collect(),
            digests: self.digests.iter().map(|(d, (n, s))| (name(*d), (*n, s.to_bytes()))).collect(),
        }
    }

    /// Adds the change to the stored aggregates of the transaction's
    /// agency, inside it, so records and aggregates commit together.
    pub async fn write(self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let agency = tx.agency()?;
        let conn: &mut crate::db::Conn = tx;
        // Rows in key order (neighbouring B-tree inserts), with names
        // borrowed from the codes: ten years of ten million stops make two
        // million minute rows, which as owned strings took the import's
        // peak from 190 to 430 MiB.
        let name = |n: u32| self.codes.name(n);
        let mut tallies: Vec<_> = self.tallies.iter().collect();
        tallies.sort_unstable_by_key(|((d, g, x), _)| (name(*d), name(*g), name(*x)));
        let mut minutes: Vec<_> = self.minutes.iter().collect();
        minutes.sort_unstable_by_key(|((d, m, x), _)| (name(*d), *m, *x));
        let mut days: Vec<(&str, &(i64, Sum))> = self.digests.iter().map(|(d, v)| (name(*d), v)).collect();
        days.sort_unstable_by_key(|(d, _)| *d);
        let (Some(first), Some(last)) = (days.first(), days.last()) else { return Ok(()) };
        let stored: Vec<(String, i64, Vec<u8>)> = db::query_as(
            "SELECT day, stops, sum FROM stop_digests WHERE agency_id = $1 AND day >= $2 AND day <= $3",
        )
        .bind(agency)
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&mut *conn)
        .await?;
        let stored: HashMap<String, (i64, Vec<u8>)> =
            stored.into_iter().map(|(d, n, s)| (d, (n, s))).collect();
        let digests: Vec<(&str, i64, Vec<u8>)> = days
            .iter()
            .map(|(day, (n, change))| {
                let (before, mut sum) =
                    stored.get(*day).map(|(n, s)| (*n, Sum::from_bytes(s))).unwrap_or_default();
                sum.add(change);
                (*day, before + n, sum.to_bytes())
            })
            .collect();
        if conn.is_postgres() {
            let many = tallies.len() + minutes.len() >= STAGED_FROM;
            let tallies = tallies.into_iter().map(|((d, g, x), tally)| {
                let mut row =
                    vec![Cell::Int(agency), Cell::Text(name(*d)), Cell::Text(name(*g)), Cell::Text(name(*x))];
                row.extend(tally.values().iter().map(|v| Cell::Int(*v)));
                row
            });
            upsert(conn, TALLY_UPSERT, many, tallies).await?;
            let minutes = minutes.into_iter().map(|((d, minute, minority), n)| {
                vec![
                    Cell::Int(agency),
                    Cell::Text(name(*d)),
                    Cell::Int(*minute),
                    Cell::Int(*minority as i64),
                    Cell::Int(*n),
                ]
            });
            upsert(conn, MINUTE_UPSERT, many, minutes).await?;
            let digests = digests.iter().map(|(day, n, sum)| {
                vec![Cell::Int(agency), Cell::Text(day), Cell::Int(*n), Cell::Bytes(sum)]
            });
            upsert(conn, DIGEST_UPSERT, many, digests).await?;
            if self.removed {
                for sql in EMPTIED {
                    for (day, _) in &days {
                        db::query(sql).bind(agency).bind(*day).execute(&mut *conn).await?;
                    }
                }
            }
            return Ok(());
        }
        let mut handle = conn.sqlite_only("writing the stop aggregates")?.lock_handle().await?;
        // The agency is bound once: a binding stays until replaced.
        let mut upsert = super::bulk::Statement::prepare(&mut handle, TALLY_UPSERT)?;
        upsert.int(1, agency)?;
        for ((d, g, x), tally) in tallies {
            for (i, text) in [name(*d), name(*g), name(*x)].into_iter().enumerate() {
                upsert.text(2 + i as i32, text)?;
            }
            for (i, v) in tally.values().iter().enumerate() {
                upsert.int(5 + i as i32, *v)?;
            }
            upsert.execute()?;
        }
        drop(upsert);
        let mut upsert = super::bulk::Statement::prepare(&mut handle, MINUTE_UPSERT)?;
        upsert.int(1, agency)?;
        for ((d, minute, minority), n) in minutes {
            upsert.text(2, name(*d))?;
            upsert.int(3, *minute)?;
            upsert.int(4, *minority as i64)?;
            upsert.int(5, *n)?;
            upsert.execute()?;
        }
        drop(upsert);
        let mut upsert = super::bulk::Statement::prepare(&mut handle, DIGEST_UPSERT)?;
        upsert.int(1, agency)?;
        for (day, n, sum) in &digests {
            upsert.text(2, day)?;
            upsert.int(3, *n)?;
            upsert.blob(4, sum)?;
            upsert.execute()?;
        }
        drop(upsert);
        // Groups an edit emptied go, so the aggregates hold what a rebuild
        // from the records would. Only a removal can empty one.
        if self.removed {
            for sql in EMPTIED {
                let mut delete = super::bulk::Statement::prepare(&mut handle, sql)?;
                delete.int(1, agency)?;
                for (day, _) in &days {
                    delete.text(2, day)?;
                    delete.execute()?;
                }
            }
        }
        Ok(())
    }
}

/// Rows from which PostgreSQL's upserts go through a staged COPY rather
/// than a statement a row (a form's edit touches a handful).
const STAGED_FROM: usize = 64;

/// One value of an aggregate row on PostgreSQL.
enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Bytes(&'a [u8]),
}

/// Runs `upsert` (`INSERT … VALUES ($1, …) ON CONFLICT …`) for each row on
/// PostgreSQL: a statement a row, or when `many`, every row COPYed into a
/// temporary table and upserted from it in one statement.
async fn upsert<'a>(
    conn: &mut crate::db::Conn,
    upsert: &str,
    many: bool,
    rows: impl Iterator<Item = Vec<Cell<'a>>>,
) -> Result<(), sqlx::Error> {
    let (insert, rest) = upsert.split_once(" VALUES (").expect("an INSERT … VALUES statement");
    let (_, conflict) = rest.split_once(") ON CONFLICT").expect("an upsert");
    let (table, columns) = insert.trim_start_matches("INSERT INTO ").split_once(" (").expect("named columns");
    let columns = columns.trim_end_matches(')');
    if !many {
        for row in rows {
            let mut q = db::query(upsert);
            for cell in row {
                q = match cell {
                    Cell::Text(v) => q.bind(v),
                    Cell::Int(v) => q.bind(v),
                    Cell::Bytes(v) => q.bind(v),
                };
            }
            q.execute(&mut *conn).await?;
        }
        return Ok(());
    }
    let staged = format!("staged_{table}");
    db::query(&format!("CREATE TEMPORARY TABLE {staged} (LIKE {table}) ON COMMIT DROP"))
        .execute(&mut *conn)
        .await?;
    let mut copy = db::CopyRows::default();
    for row in rows {
        for cell in row {
            match cell {
                Cell::Text(v) => copy.text(v),
                Cell::Int(v) => copy.int(v),
                Cell::Bytes(v) => copy.bytes(v),
            };
        }
        copy.end_row();
    }
    copy.send(conn, &format!("COPY {staged} ({columns}) FROM STDIN")).await?;
    let sql = format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM {staged} ON CONFLICT{conflict}");
    db::query(&sql).execute(&mut *conn).await?;
    db::query(&format!("DROP TABLE {staged}")).execute(&mut *conn).await.map(|_| ())
}

const DIGEST_UPSERT: &str = "INSERT INTO stop_digests (agency_id, day, stops, sum) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (agency_id, day) DO UPDATE SET stops = excluded.stops, sum = excluded.sum";

/// Groups an edit emptied (`Pending::write`), of one agency.
const EMPTIED: [&str; 3] = [
    "DELETE FROM stop_tallies WHERE agency_id = $1 AND day = $2 AND stops = 0",
    "DELETE FROM stop_minutes WHERE agency_id = $1 AND day = $2 AND stops = 0",
    "DELETE FROM stop_digests WHERE agency_id = $1 AND day = $2 AND stops = 0",
];

// Placeholders are `$N` in order, which SQLite's own API (`bulk`) numbers
// as PostgreSQL does.
// The stored column is named with its table: on PostgreSQL a bare name in
// DO UPDATE is ambiguous between the row and `excluded`.
const MINUTE_UPSERT: &str = "INSERT INTO stop_minutes (agency_id, day, minute, minority, stops) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (agency_id, day, minute, minority) DO UPDATE SET stops = stop_minutes.stops + excluded.stops";

const TALLY_UPSERT: &str = "INSERT INTO stop_tallies (agency_id, day, grouping, grp, stops, searches, hits, arrests, \
     force, no_action, inquiries, complete, timed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (agency_id, day, grouping, grp) DO UPDATE SET stops = stop_tallies.stops + excluded.stops, \
     searches = stop_tallies.searches + excluded.searches, hits = stop_tallies.hits + excluded.hits, \
     arrests = stop_tallies.arrests + excluded.arrests, force = stop_tallies.force + excluded.force, \
     no_action = stop_tallies.no_action + excluded.no_action, \
     inquiries = stop_tallies.inquiries + excluded.inquiries, complete = stop_tallies.complete + excluded.complete, \
     timed = stop_tallies.timed + excluded.timed";

/// The band of minutes stop_minutes keeps for `agency` (none while the
/// agency has no row of its own yet: then nothing is built either).
async fn band(conn: &mut crate::db::Conn, agency: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row: Option<(Option<i64>, Option<i64>)> =
        db::query_as("SELECT band_from, band_to FROM stop_aggregates WHERE agency_id = $1")
            .bind(agency)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(from, to)| from.zip(to)))
}

/// The minutes D9 can ever look at for a place: from the earliest to the
/// latest civil dusk (local clock) of any day from 1990 to 2060, an hour
/// more each side for changes of daylight-saving rules. A window of a
/// period outside those years that leaves the band is read from the
/// records instead (`measures::store`).
pub fn dusk_band(latitude: f64, longitude: f64, time_zone: &str) -> Option<(i64, i64)> {
    let first = time::Date::from_calendar_date(1990, time::Month::January, 1).ok()?;
    let days = (0..71 * 366).map(|n| first + time::Duration::days(n));
    let dusks: Vec<i64> = days
        .filter_map(|d| crate::measures::darkness::civil_dusk_local(d, latitude, longitude, time_zone))
        .collect();
    Some((dusks.iter().min()? - 60, dusks.iter().max()? + 60))
}

/// Every stop of the transaction's agency, in batches of id order.
async fn each_stop(tx: &mut Tx, mut each: impl FnMut(&Stop)) -> Result<(), sqlx::Error> {
    let mut after = 0i64;
    loop {
        let batch = super::store::batch_after(&mut *tx, after, 20_000).await?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = last.id;
        batch.iter().for_each(&mut each);
    }
}

/// The aggregates of `agency` as stored.
async fn stored(conn: &mut crate::db::Conn, agency: i64) -> Result<Tables, sqlx::Error> {
    type TallyRow = (String, String, String, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<TallyRow> = db::query_as(
        "SELECT day, grouping, grp, stops, searches, hits, arrests, force, no_action, inquiries, complete, timed \
         FROM stop_tallies WHERE agency_id = $1",
    )
    .bind(agency)
    .fetch_all(&mut *conn)
    .await?;
    let tallies = rows
        .into_iter()
        .map(|(d, g, x, s, se, h, ar, f, n, i, c, t)| ((d, g, x), [s, se, h, ar, f, n, i, c, t]))
        .collect();
    let minutes: Vec<(String, i64, bool, i64)> =
        db::query_as("SELECT day, minute, minority = 1, stops FROM stop_minutes WHERE agency_id = $1")
            .bind(agency)
            .fetch_all(&mut *conn)
            .await?;
    let digests: Vec<(String, i64, Vec<u8>)> =
        db::query_as("SELECT day, stops, sum FROM stop_digests WHERE agency_id = $1")
            .bind(agency)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Tables {
        tallies,
        minutes: minutes.into_iter().map(|(d, m, x, n)| ((d, m, x), n)).collect(),
        digests: digests.into_iter().map(|(d, n, s)| (d, (n, s))).collect(),
    })
}

/// What a check found: rows that differ, per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Differences {
    pub tallies: usize,
    pub minutes: usize,
    pub digests: usize,
    /// Whether the minutes band kept was not the one for the agency's
    /// place (its coordinates or time zone changed outside the product).
    pub band: bool,
}

impl Differences {
    pub fn any(&self) -> bool {
        self.tallies + self.minutes + self.digests > 0 || self.band
    }
}

fn differing<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> usize {
    let missing = a.keys().filter(|k| !b.contains_key(k)).count();
    missing + b.iter().filter(|(k, v)| a.get(k) != Some(v)).count()
}

/// Rebuilds the aggregates of the transaction's agency from its records
/// inside the transaction, with the band for the agency's place (`band`:
/// None when no place is set), and says where the stored ones differed.
pub async fn rebuild(tx: &mut Tx, band: Option<(i64, i64)>) -> Result<Differences, sqlx::Error> {
    let agency = tx.agency()?;
    let mut fresh = Pending { band, ..Pending::default() };
    each_stop(&mut *tx, |s| fresh.add(s)).await?;
    let (now, before) = (fresh.tables(), stored(tx, agency).await?);
    let found = Differences {
        tallies: differing(&now.tallies, &before.tallies),
        minutes: differing(&now.minutes, &before.minutes),
        digests: differing(&now.digests, &before.digests),
        band: self::band(tx, agency).await? != band,
    };
    for table in ["stop_tallies", "stop_minutes", "stop_digests"] {
        db::query(&format!("DELETE FROM {table} WHERE agency_id = $1"))
            .bind(agency)
            .execute(&mut **tx)
            .await?;
    }
    // The agency's row, made if it has none yet.
    db::query(
        "INSERT INTO stop_aggregates (agency_id, built, band_from, band_to) VALUES ($1, 1, $2, $3) \
         ON CONFLICT (agency_id) DO UPDATE SET built = 1, band_from = excluded.band_from, \
         band_to = excluded.band_to",
    )
    .bind(agency)
    .bind(band.map(|b| b.0))
    .bind(band.map(|b| b.1))
    .execute(&mut **tx)
    .await?;
    fresh.write(tx).await?;
    Ok(found)
}

/// The band for the transaction's agency's place as the transaction sees
/// it (a change of the place in the same transaction included).
pub async fn place_band(tx: &mut Tx) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let agency = tx.agency()?;
    let (lat, lon, zone): (Option<f64>, Option<f64>, String) =
        db::query_as("SELECT latitude, longitude, time_zone FROM agency WHERE id = $1")
            .bind(agency)
            .fetch_one(&mut **tx)
            .await?;
    Ok(lat.zip(lon).and_then(|(lat, lon)| dusk_band(lat, lon, &zone)))
}

/// After the agency's place or time zone changed (inside the transaction
/// that changed it): the minutes band moves, so stop_minutes is rebuilt
/// (with everything else) in the same transaction. Nothing to do when the
/// band is the same.
pub async fn place_changed(tx: &mut Tx) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let band_now = place_band(&mut *tx).await?;
    if band(tx, agency).await? != band_now {
        rebuild(tx, band_now).await?;
    }
    Ok(())
}

/// Whether every agency's aggregates have been built (migration 0017
/// leaves them to the first start).
pub async fn built(db: &Db) -> Result<bool, sqlx::Error> {
    Ok(unbuilt_agencies(db).await?.is_empty())
}

/// The agencies whose aggregates are not built: their row says so, or
/// they have none. Each is built in a transaction of its own
/// (`build_if_missing`).
pub async fn unbuilt_agencies(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    db::query_scalar(
        "SELECT a.id FROM agency AS a LEFT JOIN stop_aggregates AS s ON s.agency_id = a.id \
         WHERE s.built IS NULL OR s.built = 0 ORDER BY a.id",
    )
    .fetch_all(db)
    .await
}

/// At start-up: builds the aggregates of the transaction's agency when it
/// has none yet (the first start after migration 0017).
pub async fn build_if_missing(tx: &mut Tx) -> Result<(), sqlx::Error> {
    let agency = tx.agency()?;
    let built: Option<i64> = db::query_scalar("SELECT built FROM stop_aggregates WHERE agency_id = $1")
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await?;
    if built.unwrap_or(0) == 0 {
        let band = place_band(&mut *tx).await?;
        rebuild(tx, band).await?;
    }
    Ok(())
}

// ---- Reads: what the measures and the report take from the aggregates.

/// Per (grouping, group): the agency's tallies of the days in [from, to].
pub async fn groups_between(
    conn: &mut crate::db::Conn,
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, Tally)>, sqlx::Error> {
    type Row = (String, String, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = db::query_as(
        "SELECT grouping, grp, CAST(SUM(stops) AS BIGINT), CAST(SUM(searches) AS BIGINT), \
         CAST(SUM(hits) AS BIGINT), CAST(SUM(arrests) AS BIGINT), CAST(SUM(force) AS BIGINT), \
         CAST(SUM(no_action) AS BIGINT), CAST(SUM(inquiries) AS BIGINT), CAST(SUM(complete) AS BIGINT), \
         CAST(SUM(timed) AS BIGINT) FROM stop_tallies WHERE agency_id = $3 AND day >= $1 AND day <= $2 \
         GROUP BY grouping, grp",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(g, x, stops, searches, hits, arrests, force, no_action, inquiries, complete, timed)| {
            let counts = Counts { stops, searches, hits, arrests, force, no_action, inquiries };
            (g, x, Tally { counts, complete, timed })
        })
        .collect())
}

/// The agency's stops of the days in [from, to], from the day tallies (each
/// stop counts once in the grouping by race).
pub async fn stops_between(scope: &Scope, period: crate::measures::Period) -> Result<i64, sqlx::Error> {
    db::query_scalar(
        "SELECT CAST(COALESCE(SUM(stops), 0) AS BIGINT) FROM stop_tallies \
         WHERE agency_id = $1 AND grouping = 'race' AND day >= $2 AND day <= $3",
    )
    .bind(scope.id())
    .bind(period.from_text())
    .bind(period.to_text())
    .fetch_one(scope)
    .await
}

/// The days in [from, to] with a stop of the agency D9 can use (a clock
/// time and one known group).
pub async fn darkness_days(
    conn: &mut crate::db::Conn,
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<String>, sqlx::Error> {
    db::query_scalar(
        "SELECT day FROM stop_tallies WHERE agency_id = $3 AND day >= $1 AND day <= $2 AND timed > 0 \
         AND grouping = 'race' AND grp NOT IN ('multiple', 'unknown') GROUP BY day ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(conn)
    .await
}

/// D9's stops of the agency of [from, to] whose minute is in [first,
/// last], counted as (minority, dark, stops): dark when after `dusk`, the
/// day's civil dusk (days without one are left out). Counted by the database, which sends
/// four rows instead of a hundred thousand. None when the band kept does
/// not hold [first, last] (then only the records can answer).
pub async fn darkness_counts(
    conn: &mut crate::db::Conn,
    scope: &Scope,
    (from, to): (&str, &str),
    (first, last): (i64, i64),
    dusk: &BTreeMap<String, i64>,
) -> Result<Option<Vec<(bool, bool, i64)>>, sqlx::Error> {
    match band(&mut *conn, scope.id()).await? {
        Some((b0, b1)) if b0 <= first && last <= b1 => {}
        _ => return Ok(None),
    }
    let dusk = serde_json::to_string(dusk).unwrap_or_default();
    // The days' dusk travel as one JSON object, each backend's way.
    let days = match conn.sqlite() {
        Some(_) => "SELECT key, value FROM json_each($5)",
        None => "SELECT key, CAST(value AS BIGINT) FROM jsonb_each_text(CAST($5 AS JSONB))",
    };
    db::query_as(&format!(
        "WITH dusk (day, minute) AS ({days}) \
         SELECT m.minority = 1, m.minute > dusk.minute, CAST(SUM(m.stops) AS BIGINT) FROM dusk \
         JOIN stop_minutes AS m ON m.day = dusk.day AND m.minute >= $3 AND m.minute <= $4 \
         WHERE m.agency_id = $6 AND m.day >= $1 AND m.day <= $2 GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .bind(first)
    .bind(last)
    .bind(dusk)
    .bind(scope.id())
    .fetch_all(conn)
    .await
    .map(Some)
}

/// The report's stop digests of the agency: (day, stops, sum) for the
/// days in [from, to].
pub async fn digests_between(
    conn: &mut crate::db::Conn,
    scope: &Scope,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64, Sum)>, sqlx::Error> {
    let rows: Vec<(String, i64, Vec<u8>)> = db::query_as(
        "SELECT day, stops, sum FROM stop_digests WHERE agency_id = $3 AND day >= $1 AND day <= $2 ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .bind(scope.id())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(d, n, s)| (d, n, Sum::from_bytes(&s))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_measures_rules() {
        assert_eq!(race_group(""), "unknown");
        assert_eq!(race_group(",black,"), "black");
        assert_eq!(race_group(",black,white,"), "multiple");
        assert_eq!(age_band(Some(17)), "under_18");
        assert_eq!(age_band(Some(18)), "18_24");
        assert_eq!(age_band(Some(65)), "65_plus");
        assert_eq!(minute_of_day("18:45"), Some(18 * 60 + 45));
        assert_eq!(minute_of_day("late"), None);
    }

    #[test]
    fn a_sum_is_the_same_in_any_order_and_an_edit_undoes() {
        let a = Stop { id: 1, stop_date: "2025-01-02".into(), ..Stop::default() };
        let b = Stop { id: 2, location: "Main St".into(), ..a.clone() };
        let (mut ab, mut ba) = (Sum::default(), Sum::default());
        ab.add(&content_sum(&a));
        ab.add(&content_sum(&b));
        ba.add(&content_sum(&b));
        ba.add(&content_sum(&a));
        assert_eq!(ab, ba);
        assert_ne!(content_sum(&a), content_sum(&b));
        ab.sub(&content_sum(&b));
        assert_eq!(ab, content_sum(&a));
        assert_eq!(Sum::from_bytes(&ab.to_bytes()), ab);
    }
}
