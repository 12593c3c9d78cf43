//! The database connection: SQLite by default, with the durability settings
//! the agency relies on (WAL, synchronous=FULL, foreign keys), and the
//! migrations run at every start.
//!
//! SQL in this crate stays portable to PostgreSQL: `$N` placeholders,
//! INTEGER/TEXT columns, `RETURNING id` for new rows. Every statement goes
//! through `query`, `query_as`, `query_scalar` or `Builder` (`query.rs`),
//! which run on either backend; `Db`, `Tx` and `Conn` are one type over
//! both, and what differs by backend matches on them in the store that
//! needs it (docs/storage.md). A `postgres://` URL opens PostgreSQL.

mod copy;
mod query;
pub mod transfer;

pub use copy::Rows as CopyRows;

pub use query::{
    Builder, Done, On, Query, QueryAs, QueryScalar, Reach, Record, Scalar, Value, query, query_as,
    query_scalar,
};

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite, SqlitePool, Transaction};

/// The records' database: the agency's SQLite file (the default) or a
/// PostgreSQL server, chosen at run time by the URL. Queries go through
/// `query` and friends, which run on either; code that differs by backend
/// matches on this.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    /// The SQLite pool, for what only SQLite has (its file, PRAGMAs).
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres(_) => None,
        }
    }

    /// A transaction that reads one snapshot (and may write, without the
    /// write lock `begin_write` takes) of the deployment's records.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.begin_reaching(Reach::Deployment).await
    }

    /// A read-only transaction of one snapshot of every row (a copy's or a
    /// backup's source, while a server keeps writing): on PostgreSQL
    /// REPEATABLE READ, which must be asked for before any statement.
    pub async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        let Db::Postgres(pool) = self else { return self.begin().await };
        let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        Reach::Deployment.enter(&mut tx, true).await?;
        Ok(Tx { conn: Conn::Postgres(tx), agency: None })
    }

    /// A transaction whose statements reach the rows `reach` allows.
    pub(crate) async fn begin_reaching(&self, reach: Reach) -> Result<Tx, sqlx::Error> {
        let conn = match self {
            Db::Sqlite(pool) => Conn::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                reach.enter(&mut tx, true).await?;
                Conn::Postgres(tx)
            }
        };
        Ok(Tx { conn, agency: None })
    }

    /// One connection from the pool, for several statements outside a
    /// transaction (each commits on its own), of the deployment's records.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        self.acquire_reaching(Reach::Deployment).await
    }

    /// One connection whose statements reach the rows `reach` allows (set
    /// for the connection's session; whoever takes it next sets their own).
    pub(crate) async fn acquire_reaching(&self, reach: Reach) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Conn::SqlitePooled(pool.acquire().await?),
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                reach.enter(&mut conn, false).await?;
                Conn::PostgresPooled(conn)
            }
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A transaction on either backend. It lends its connection as sqlx's
/// transactions do (`&mut *tx` is where a query runs, and a function that
/// takes a `&mut Conn` takes `&mut tx`), so a store's code reads the same
/// whichever backend holds the records.
pub struct Tx {
    conn: Conn,
    /// The agency whose records the transaction writes (`Scope::begin_write`),
    /// or none for the deployment's own records (users, agencies).
    agency: Option<i64>,
}

/// A connection held: a transaction's, or one taken from the pool.
pub enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, sqlx::Postgres>),
    SqlitePooled(sqlx::pool::PoolConnection<Sqlite>),
    PostgresPooled(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Conn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_) | Conn::PostgresPooled(_))
    }

    /// The PostgreSQL connection, for what only PostgreSQL has (COPY).
    pub fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        match self {
            Conn::Postgres(tx) => Some(tx),
            Conn::PostgresPooled(conn) => Some(conn),
            Conn::Sqlite(_) | Conn::SqlitePooled(_) => None,
        }
    }

    /// The SQLite connection, for what only SQLite has (its C API, PRAGMAs).
    pub fn sqlite(&mut self) -> Option<&mut sqlx::SqliteConnection> {
        match self {
            Conn::Sqlite(tx) => Some(tx),
            Conn::SqlitePooled(conn) => Some(conn),
            Conn::Postgres(_) | Conn::PostgresPooled(_) => None,
        }
    }

    /// The SQLite connection for SQLite's own paths (its C API), reached
    /// only after the caller took PostgreSQL's way; on PostgreSQL an error
    /// that names the work.
    pub fn sqlite_only(&mut self, what: &str) -> Result<&mut sqlx::SqliteConnection, sqlx::Error> {
        self.sqlite()
            .ok_or_else(|| sqlx::Error::Protocol(format!("{what} is not yet available on PostgreSQL")))
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// A `Tx` is only ever made holding a transaction (`Db::begin`,
/// `begin_write`); the pooled arms below cannot occur.
impl Tx {
    /// The agency this transaction writes for; an error (and so no write)
    /// when it was begun without one: a record cannot land in no agency.
    pub fn agency(&self) -> Result<i64, sqlx::Error> {
        self.agency.ok_or_else(|| sqlx::Error::Protocol("a record written outside any agency's scope".into()))
    }

    /// The agency, if the transaction has one (the audit log picks the chain).
    pub fn agency_if_any(&self) -> Option<i64> {
        self.agency
    }

    pub(crate) fn for_agency(mut self, agency: i64) -> Self {
        self.agency = Some(agency);
        self
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await,
            Conn::Postgres(tx) => tx.commit().await,
            Conn::SqlitePooled(_) | Conn::PostgresPooled(_) => Ok(()),
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.conn {
            Conn::Sqlite(tx) => tx.rollback().await,
            Conn::Postgres(tx) => tx.rollback().await,
            Conn::SqlitePooled(_) | Conn::PostgresPooled(_) => Ok(()),
        }
    }
}

impl<'c> From<&'c Db> for On<'c> {
    fn from(db: &'c Db) -> Self {
        match db {
            Db::Sqlite(pool) => On::SqlitePool(pool),
            Db::Postgres(pool) => On::PostgresPool(pool, Reach::Deployment),
        }
    }
}

impl<'c> From<&'c mut Conn> for On<'c> {
    fn from(conn: &'c mut Conn) -> Self {
        match conn {
            Conn::Sqlite(tx) => On::Sqlite(tx),
            Conn::Postgres(tx) => On::Postgres(tx),
            Conn::SqlitePooled(conn) => On::Sqlite(conn),
            Conn::PostgresPooled(conn) => On::Postgres(conn),
        }
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        On::from(&mut tx.conn)
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating file and folder if missing) and migrates the database,
/// for a command that runs once (import, export, report, ...).
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    open(url, false).await
}

/// Opens the database for the web server: reads go through a memory map,
/// since a list page touches thousands of pages scattered across the file
/// and a read() call each cost more than the query. Batch commands do not
/// map the file, so their memory is their own.
pub async fn connect_server(url: &str) -> anyhow::Result<Db> {
    open(url, true).await
}

async fn open(url: &str, mapped: bool) -> anyhow::Result<Db> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url).await;
    }
    if !url.starts_with("sqlite:") {
        anyhow::bail!(
            "the database URL must start with sqlite:// (a file) or postgres:// (a server), got another scheme"
        );
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // 16 KiB pages for a new file (an existing one keeps its own): a
        // million-stop import writes a quarter fewer pages and 12% faster,
        // and a list page's index scan touches fewer pages.
        .page_size(16384)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("mmap_size", if mapped { "1073741824" } else { "0" })
        // A checkpoint leaves the WAL at its largest size; after a
        // million-row import that is 2 GB, which every process that opens
        // the file next reads through to rebuild its index (a 0.5 s report
        // took 1.9 s). Cut back to 64 MiB after each checkpoint instead.
        .pragma("journal_size_limit", "67108864")
        // Rows cross from the connection's thread one message at a time;
        // with room for a whole list page (the default holds 50) the
        // thread hands them all over without waiting for the page's task
        // to drain the channel: 7% more list pages a second.
        .row_buffer_size(256)
        // A statement slower than a second (say, one that waited for
        // another process's lock) is worth a debug line, not a warning on
        // every command's console: `OVERSIGHT_LOG=sqlx=debug` shows them.
        .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
    if let Some(parent) = options.get_filename().parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let file = options.get_filename().to_path_buf();
    turn_off_memory_statistics();
    // A connection to a local file does not drop the way a network one
    // does; the default ping before each checkout is a round trip to the
    // connection's worker thread that doubled the thread switches per query.
    migrate_sqlite(&options).await?;
    let pool =
        SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
    let db = Db::Sqlite(pool);
    upgrade(&db).await?;
    restrict_to_owner(&file);
    Ok(db)
}

/// Connects to a PostgreSQL server (the URL takes libpq's parameters:
/// `sslmode`, `host=/socket/folder`, `application_name`, …) and migrates.
/// The server's database must use the C collation, so text sorts as on
/// SQLite (docs/storage.md).
async fn open_postgres(url: &str) -> anyhow::Result<Db> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?
        .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(16).connect_with(options).await?;
    let collation: String =
        sqlx::query_scalar("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            .fetch_one(&pool)
            .await?;
    // C.UTF-8 sorts by code point, as C does for UTF-8 text.
    if collation != "C" && collation != "POSIX" && !collation.starts_with("C.") {
        anyhow::bail!(
            "the PostgreSQL database sorts text by the collation {collation}; create it with LC_COLLATE 'C' \
             (CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C') so lists sort as the product expects"
        );
    }
    refuse_unwalled_role(&pool).await?;
    // On a connection that reaches every row: a migration that moves
    // data must see all of it, whatever the walls of migration 0022.
    let mut conn = pool.acquire().await?;
    Reach::Deployment.enter(&mut conn, false).await?;
    POSTGRES_MIGRATOR.run(&mut *conn).await?;
    sqlx::query("RESET oversight.agency").execute(&mut *conn).await?;
    drop(conn);
    let db = Db::Postgres(pool);
    upgrade(&db).await?;
    Ok(db)
}

/// A superuser or a role with BYPASSRLS skips row-level security, the
/// second wall between agencies (docs/tenancy.md): the product does not
/// run as one.
async fn refuse_unwalled_role(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let (role, unwalled): (String, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if unwalled {
        anyhow::bail!(
            "the PostgreSQL role {role} is a superuser or bypasses row-level security, which walls each agency's \
             records off from the others': connect as a role of its own that owns the database, for example \
             CREATE ROLE oversight LOGIN PASSWORD '…'; CREATE DATABASE oversight OWNER oversight TEMPLATE template0 \
             LC_COLLATE 'C' LC_CTYPE 'C' (README, \"On PostgreSQL\")"
        );
    }
    Ok(())
}

/// Runs the SQLite migrations on a connection of their own with foreign
/// keys off: a migration that rebuilds a table (copies it, drops the
/// original, renames the copy) needs that, as SQLite's procedure for schema
/// changes says, and the setting cannot change inside the migration's
/// transaction. Every reference is checked afterwards; a broken one stops
/// the start with the table named.
async fn migrate_sqlite(options: &SqliteConnectOptions) -> anyhow::Result<()> {
    use sqlx::{Connection, Row};
    let mut conn = options.clone().foreign_keys(false).connect().await?;
    MIGRATOR.run(&mut conn).await?;
    let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await?;
    if let Some(row) = broken.first() {
        let table: String = row.try_get(0)?;
        anyhow::bail!(
            "after the migrations, rows of {table} refer to rows that do not exist ({} in all)",
            broken.len()
        );
    }
    conn.close().await?;
    Ok(())
}

static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// What a migration cannot do in SQL: audit entries that earlier versions
/// wrote with plain digests of personal data are rewritten and chained
/// again (docs/security.md); the stop aggregates of migration 0017 are
/// built from the records. Nothing happens once done.
async fn upgrade(pool: &Db) -> anyhow::Result<()> {
    // Read first: a command that only reads must not wait for the write
    // lock a long import holds.
    for agency in crate::stops::aggregates::unbuilt_agencies(pool).await? {
        let mut tx = crate::agency::Scope::of_agency(pool, agency).begin_write().await?;
        crate::stops::aggregates::build_if_missing(&mut tx).await?;
        tx.commit().await?;
    }
    let legacy = crate::supervision::store::v1_arrest_sign_offs(pool).await?;
    let changed = crate::audit::store::remove_personal_digests(pool, &legacy).await?;
    if changed > 0 {
        tracing::warn!(
            changed,
            "removed plain digests of personal data from audit entries and chained the log again"
        );
    }
    Ok(())
}

/// SQLite keeps memory statistics behind one process-wide mutex taken on
/// every allocation; with several connections serving pages at once that
/// mutex, not the queries, set the pace. Nothing here reads the statistics.
/// The setting only takes before SQLite first initialises; later calls
/// (a second database in the same process) are refused harmlessly.
fn turn_off_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called with its documented argument
        // types (an int option and an int value) before any connection opens.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
        }
    });
}

/// The database holds criminal justice information: only the account that
/// runs the product may read the file (and its WAL and shared-memory files).
fn restrict_to_owner(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Starts a write transaction that holds SQLite's write lock from its first
/// statement. A deferred transaction that reads (say, the audit head) before
/// writing fails with a busy-snapshot error when another writer commits in
/// between; taking the lock up front makes read-then-write safe.
///
/// This one writes the deployment's own records (users, agencies) and
/// appends to the state's audit chain; an agency's records are written in
/// `agency::Scope::begin_write`, which names the agency.
pub async fn begin_write(db: &Db) -> Result<Tx, sqlx::Error> {
    begin_write_chain(db, STATE_CHAIN, Reach::Deployment).await
}

/// The audit chain of what no one agency owns (agencies, state users).
pub const STATE_CHAIN: i64 = 0;

/// A write transaction holding the write lock of one audit chain: SQLite's
/// one write lock, or on PostgreSQL the chain's advisory lock, so that
/// writers of different agencies proceed in parallel while each chain (and
/// what else is read before it is written: the next report number) sees
/// one writer at a time.
pub(crate) async fn begin_write_chain(db: &Db, chain: i64, reach: Reach) -> Result<Tx, sqlx::Error> {
    let conn = match db {
        Db::Sqlite(pool) => Conn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            reach.enter(&mut tx, true).await?;
            lock_chain(&mut tx, chain).await?;
            Conn::Postgres(tx)
        }
    };
    Ok(Tx { conn, agency: None })
}

/// PostgreSQL: takes the advisory lock of `chain` until the transaction
/// ends (again is harmless: the lock is re-entrant). SQLite's write lock
/// already covers every chain.
pub(crate) async fn lock_chain(conn: &mut sqlx::PgConnection, chain: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(WRITE_LOCK_CLASS)
        .bind(chain as i32)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Lifts the append-only rule `trigger` (refusing UPDATE on `table`) for
/// the rest of `tx`, for the one upgrade that must rewrite rows (audit
/// entries chained again); `restore_no_update` puts it back before commit.
/// SQLite drops the trigger (DDL is transactional there); PostgreSQL
/// disables it, which other sessions see only once `tx` commits, with the
/// trigger enabled again by then.
pub async fn lift_no_update(tx: &mut Tx, table: &str, trigger: &str) -> Result<(), sqlx::Error> {
    let sql = if tx.is_postgres() {
        format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    } else {
        format!("DROP TRIGGER {trigger}")
    };
    query(&sql).execute(&mut **tx).await.map(|_| ())
}

/// Puts back the rule `lift_no_update` lifted; `message` is the refusal's
/// text, as the migrations word it.
pub async fn restore_no_update(
    tx: &mut Tx,
    table: &str,
    trigger: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    let sql = if tx.is_postgres() {
        format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    } else {
        format!(
            "CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    };
    query(&sql).execute(&mut **tx).await.map(|_| ())
}

/// The advisory locks' class ("ovsg" in ASCII); the second key is the chain.
const WRITE_LOCK_CLASS: i32 = 0x6f_76_73_67;

/// Seconds since the Unix epoch, the unit of every stored instant.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Continues a list of `table` ordered by (`date`, `time`, id) after the
/// row `key`, which names the row by its date and id: for newest first,
/// `date <= d AND (date < d OR (time, id) < (time of row i, i))`. The
/// bound on the date alone lets the database seek to the key through the
/// date index; written only as the comparison of the whole key it read
/// every row before the key, and a deep page of a million stops took 80 ms
/// instead of 0.2 ms. The key row's time is read by its id, so a page's
/// link stays `date_id`; `time` is the expression the list orders by.
pub fn push_after(
    q: &mut Builder<'_>,
    scope: &crate::agency::Scope,
    table: &str,
    (date_column, time): (&str, &str),
    newest_first: bool,
    key: &(String, i64),
) {
    let cmp = if newest_first { "<" } else { ">" };
    let (date, id) = key;
    q.push(format!(" AND {date_column} {cmp}= ")).push_bind(date.clone());
    q.push(format!(" AND ({date_column} {cmp} ")).push_bind(date.clone());
    q.push(format!(" OR ({time}, id) {cmp} ((SELECT {time} FROM {table} WHERE id = ")).push_bind(*id);
    // Only a row of the agency's can be the key: another agency's id must
    // not tell, by where the page splits, when that agency's record was.
    q.push(" AND agency_id = ").push_bind(scope.id());
    q.push("), ").push_bind(*id).push("))");
}

/// True when the error is a UNIQUE constraint violation.
/// Record ids written into a statement's `IN (…)`: integers the product
/// read from its own tables, never text from a request, so nothing to
/// bind (binding a thousand values on SQLite costs more than the query).
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_file_is_private_and_durable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folder/o.db");
        let db = super::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let journal: String = super::query_scalar("PRAGMA journal_mode").fetch_one(&db).await.unwrap();
        let synchronous: i64 = super::query_scalar("PRAGMA synchronous").fetch_one(&db).await.unwrap();
        let foreign_keys: i64 = super::query_scalar("PRAGMA foreign_keys").fetch_one(&db).await.unwrap();
        assert_eq!((journal.as_str(), synchronous, foreign_keys), ("wal", 2, 1), "WAL, FULL, foreign keys");
        let page_size: i64 = super::query_scalar("PRAGMA page_size").fetch_one(&db).await.unwrap();
        assert_eq!(page_size, 16384, "a new file gets the larger pages");
    }
}
