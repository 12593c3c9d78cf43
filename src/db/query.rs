//! The one way the code sends SQL, whichever backend holds the records.
//!
//! `query`, `query_as` and `query_scalar` read like sqlx's functions of the
//! same names, but their values are bound as `Value`s and run on an `On`:
//! a SQLite or PostgreSQL pool, connection or transaction, chosen at run
//! time by the database URL. Rows decode through `#[derive(FromRow)]`,
//! which is generic over the backend, so a store's query is written once.
//! What cannot be written once (bulk loads, locks, PRAGMAs) matches on the
//! backend in the store that needs it, never here.

use std::borrow::Cow;
use std::marker::PhantomData;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

/// A value bound to a placeholder. NULLs keep their kind: PostgreSQL
/// checks a parameter's type against the column it meets.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'q> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<Cow<'q, str>>),
    Blob(Option<Cow<'q, [u8]>>),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl<'q> From<$t> for Value<'q> {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

value_from! {
    i64 => |v| Value::Int(Some(v)),
    &'q i64 => |v| Value::Int(Some(*v)),
    Option<i64> => |v| Value::Int(v),
    i32 => |v| Value::Int(Some(v.into())),
    u32 => |v| Value::Int(Some(v.into())),
    // Flags are stored as 0 or 1 on both backends (no BOOLEAN columns).
    bool => |v| Value::Int(Some(v.into())),
    f64 => |v| Value::Real(Some(v)),
    Option<f64> => |v| Value::Real(v),
    &'q str => |v| Value::Text(Some(Cow::Borrowed(v))),
    &'q String => |v| Value::Text(Some(Cow::Borrowed(v.as_str()))),
    String => |v| Value::Text(Some(Cow::Owned(v))),
    Option<&'q str> => |v| Value::Text(v.map(Cow::Borrowed)),
    Option<String> => |v| Value::Text(v.map(Cow::Owned)),
    &'q Option<String> => |v| Value::Text(v.as_deref().map(Cow::Borrowed)),
    &'q [u8] => |v| Value::Blob(Some(Cow::Borrowed(v))),
    &'q Vec<u8> => |v| Value::Blob(Some(Cow::Borrowed(v.as_slice()))),
    Vec<u8> => |v| Value::Blob(Some(Cow::Owned(v))),
    Option<Vec<u8>> => |v| Value::Blob(v.map(Cow::Owned)),
}

impl<'q, const N: usize> From<&'q [u8; N]> for Value<'q> {
    fn from(v: &'q [u8; N]) -> Self {
        Value::Blob(Some(Cow::Borrowed(v.as_slice())))
    }
}

/// Where a statement runs: a pool (any free connection) or one connection
/// (a transaction's, or one taken from the pool), of either backend. A
/// statement on PostgreSQL's pool says whose rows it may reach.
pub enum On<'c> {
    SqlitePool(&'c SqlitePool),
    Sqlite(&'c mut SqliteConnection),
    PostgresPool(&'c PgPool, Reach),
    Postgres(&'c mut PgConnection),
}

/// Whose rows a statement on PostgreSQL may reach: the setting
/// `oversight.agency` that the row-level security policies read
/// (migrations/postgres/0022). Every transaction and pooled statement the
/// product makes sets it first, so a connection's earlier setting never
/// carries over; a connection nobody set reaches no walled row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// One agency's rows (the agency scope's statements).
    Agency(i64),
    /// Every row: the deployment's own work (signing in, agencies,
    /// backups, copies), which no agency's scope names.
    Deployment,
}

impl Reach {
    fn setting(self) -> String {
        match self {
            Reach::Agency(id) => id.to_string(),
            Reach::Deployment => "all".to_string(),
        }
    }

    /// Sets the reach on `conn`: for the transaction it is in (`local`),
    /// or for the connection's session.
    pub(crate) async fn enter(self, conn: &mut PgConnection, local: bool) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT set_config('oversight.agency', $1, $2)")
            .bind(self.setting())
            .bind(local)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

impl On<'_> {
    /// Whether the statement goes to PostgreSQL, for the few whose
    /// spelling differs (JSON functions).
    pub fn is_postgres(&self) -> bool {
        matches!(self, On::PostgresPool(..) | On::Postgres(_))
    }
}

// `On` is made from the product's own `&Db`, `&mut Tx` and `&mut Conn`
// (`db.rs`): no store holds a bare sqlx pool or connection.

/// A row type both backends can decode (what `#[derive(FromRow)]` gives).
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A single column's type both backends can decode.
pub trait Scalar: Send + Unpin
where
    (Self,): Record,
{
}
impl<T: Send + Unpin> Scalar for T where (T,): Record {}

/// Binds every value to an sqlx query of either backend: the same code,
/// expanded once per backend's query type.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for value in $args {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Real(v) => query.bind(v),
                Value::Text(Some(Cow::Borrowed(v))) => query.bind(v),
                Value::Text(Some(Cow::Owned(v))) => query.bind(v),
                Value::Text(None) => query.bind(None::<String>),
                Value::Blob(Some(Cow::Borrowed(v))) => query.bind(v),
                Value::Blob(Some(Cow::Owned(v))) => query.bind(v),
                Value::Blob(None) => query.bind(None::<Vec<u8>>),
            };
        }
        query
    }};
}

/// Runs `$method` of the bound sqlx query on whichever target `$on` is.
macro_rules! run_on {
    ($on:expr, $make:ident, $sql:expr, $args:expr, $method:ident) => {
        match $on {
            On::SqlitePool(pool) => bind_all!(sqlx::$make::<Sqlite, _>($sql), $args).$method(pool).await,
            On::Sqlite(conn) => bind_all!(sqlx::$make::<Sqlite, _>($sql), $args).$method(conn).await,
            On::PostgresPool(pool, reach) => {
                let mut conn = pool.acquire().await?;
                reach.enter(&mut conn, false).await?;
                bind_all!(sqlx::$make::<Postgres, _>($sql), $args).$method(&mut *conn).await
            }
            On::Postgres(conn) => bind_all!(sqlx::$make::<Postgres, _>($sql), $args).$method(conn).await,
        }
    };
}

/// A statement that returns no rows (or whose rows are not read).
pub struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Value<'q>>,
}

/// The outcome of `Query::execute`.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

pub fn query(sql: &str) -> Query<'_> {
    Query { sql: Cow::Borrowed(sql), args: Vec::new() }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<Done, sqlx::Error> {
        let sql = self.sql.as_ref();
        let rows_affected = match on.into() {
            On::SqlitePool(pool) => {
                bind_all!(sqlx::query::<Sqlite>(sql), self.args).execute(pool).await?.rows_affected()
            }
            On::Sqlite(conn) => {
                bind_all!(sqlx::query::<Sqlite>(sql), self.args).execute(conn).await?.rows_affected()
            }
            On::PostgresPool(pool, reach) => {
                let mut conn = pool.acquire().await?;
                reach.enter(&mut conn, false).await?;
                bind_all!(sqlx::query::<Postgres>(sql), self.args).execute(&mut *conn).await?.rows_affected()
            }
            On::Postgres(conn) => {
                bind_all!(sqlx::query::<Postgres>(sql), self.args).execute(conn).await?.rows_affected()
            }
        };
        Ok(Done { rows_affected })
    }
}

/// A statement whose rows decode into `T`.
pub struct QueryAs<'q, T> {
    sql: Cow<'q, str>,
    args: Vec<Value<'q>>,
    row: PhantomData<fn() -> T>,
}

pub fn query_as<T: Record>(sql: &str) -> QueryAs<'_, T> {
    QueryAs { sql: Cow::Borrowed(sql), args: Vec::new(), row: PhantomData }
}

impl<'q, T: Record> QueryAs<'q, T> {
    pub fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<T>, sqlx::Error> {
        run_on!(on.into(), query_as, self.sql.as_ref(), self.args, fetch_all)
    }

    pub async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error> {
        run_on!(on.into(), query_as, self.sql.as_ref(), self.args, fetch_one)
    }

    pub async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<T>, sqlx::Error> {
        run_on!(on.into(), query_as, self.sql.as_ref(), self.args, fetch_optional)
    }

    /// Hands each row to `each` as it arrives, holding none: for reads of
    /// a year's million rows that are folded as they come.
    pub async fn for_each<'c>(
        self,
        on: impl Into<On<'c>>,
        mut each: impl FnMut(T),
    ) -> Result<(), sqlx::Error> {
        use futures_util::TryStreamExt;
        macro_rules! each_row {
            ($query:expr, $on:expr) => {{
                let mut rows = $query.fetch($on);
                while let Some(row) = rows.try_next().await? {
                    each(row);
                }
            }};
        }
        let sql = self.sql.as_ref();
        match on.into() {
            On::SqlitePool(pool) => each_row!(bind_all!(sqlx::query_as::<Sqlite, T>(sql), self.args), pool),
            On::Sqlite(conn) => each_row!(bind_all!(sqlx::query_as::<Sqlite, T>(sql), self.args), conn),
            On::PostgresPool(pool, reach) => {
                let mut conn = pool.acquire().await?;
                reach.enter(&mut conn, false).await?;
                each_row!(bind_all!(sqlx::query_as::<Postgres, T>(sql), self.args), &mut *conn)
            }
            On::Postgres(conn) => each_row!(bind_all!(sqlx::query_as::<Postgres, T>(sql), self.args), conn),
        }
        Ok(())
    }
}

/// A statement whose rows are one column of type `T`.
pub struct QueryScalar<'q, T> {
    sql: Cow<'q, str>,
    args: Vec<Value<'q>>,
    column: PhantomData<fn() -> T>,
}

pub fn query_scalar<T: Scalar>(sql: &str) -> QueryScalar<'_, T>
where
    (T,): Record,
{
    QueryScalar { sql: Cow::Borrowed(sql), args: Vec::new(), column: PhantomData }
}

impl<'q, T: Scalar> QueryScalar<'q, T>
where
    (T,): Record,
{
    pub fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<T>, sqlx::Error> {
        run_on!(on.into(), query_scalar, self.sql.as_ref(), self.args, fetch_all)
    }

    pub async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error> {
        run_on!(on.into(), query_scalar, self.sql.as_ref(), self.args, fetch_one)
    }

    pub async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<T>, sqlx::Error> {
        run_on!(on.into(), query_scalar, self.sql.as_ref(), self.args, fetch_optional)
    }
}

/// Builds a statement from pieces (a list's optional filters), numbering
/// each bound value's placeholder `$1, $2, …`, which both backends read.
#[derive(Default)]
pub struct Builder<'q> {
    sql: String,
    args: Vec<Value<'q>>,
}

impl<'q> Builder<'q> {
    pub fn new(sql: impl Into<String>) -> Self {
        Builder { sql: sql.into(), args: Vec::new() }
    }

    pub fn push(&mut self, sql: impl AsRef<str>) -> &mut Self {
        self.sql.push_str(sql.as_ref());
        self
    }

    pub fn push_bind(&mut self, value: impl Into<Value<'q>>) -> &mut Self {
        self.args.push(value.into());
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    pub fn build(self) -> Query<'q> {
        Query { sql: Cow::Owned(self.sql), args: self.args }
    }

    pub fn build_query_as<T: Record>(self) -> QueryAs<'q, T> {
        QueryAs { sql: Cow::Owned(self.sql), args: self.args, row: PhantomData }
    }

    pub fn build_query_scalar<T: Scalar>(self) -> QueryScalar<'q, T>
    where
        (T,): Record,
    {
        QueryScalar { sql: Cow::Owned(self.sql), args: self.args, column: PhantomData }
    }
}
