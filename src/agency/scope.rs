//! The agency scope: which agency's records a request or a command reads
//! and writes. Every store function over an agency's records takes a
//! `Scope` (docs/tenancy.md), so a query cannot be written without one; the
//! only ways to get one are the signed-in user's agency (`FromRequestParts`)
//! and, on the command line, `--agency ORI` (`Scope::for_command`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db::{self, Db, Tx};
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct Scope {
    db: Db,
    agency: i64,
}

impl Scope {
    /// The database, for reads of this agency's records: a query over it
    /// binds `self.id()` in its `agency_id = …` condition.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The agency's id, to bind in a query; never taken from a request.
    pub fn id(&self) -> i64 {
        self.agency
    }

    /// A write transaction for this agency's records: its audit chain's
    /// lock held, and the agency recorded so that inserts and the audit
    /// entry land in it.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        let reach = db::Reach::Agency(self.agency);
        Ok(db::begin_write_chain(&self.db, self.agency, reach).await?.for_agency(self.agency))
    }

    /// A read transaction (one snapshot) of this agency's records.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(self.db.begin_reaching(db::Reach::Agency(self.agency)).await?.for_agency(self.agency))
    }

    /// One connection of the pool for several statements of this agency's
    /// (each commits on its own).
    pub async fn acquire(&self) -> Result<db::Conn, sqlx::Error> {
        self.db.acquire_reaching(db::Reach::Agency(self.agency)).await
    }

    /// The scope of a signed-in agency user.
    pub fn of_user(db: &Db, user: &CurrentUser) -> Option<Scope> {
        user.agency.map(|agency| Scope { db: db.clone(), agency })
    }

    /// The scope a command names with `--agency ORI`; without it, the
    /// deployment's one agency (an error when it holds several).
    pub async fn for_command(db: &Db, ori: Option<&str>) -> anyhow::Result<Scope> {
        let agency = match ori {
            Some(ori) => super::store::id_of(db, ori).await?.ok_or_else(|| {
                anyhow::anyhow!("no agency has the ORI {ori}: `oversight agency list` shows the agencies")
            })?,
            None => match super::store::ids(db).await?.as_slice() {
                [one] => *one,
                [] => anyhow::bail!(
                    "the deployment holds no agency yet: `oversight agency add ORI` creates one"
                ),
                many => anyhow::bail!(
                    "the deployment holds {} agencies: name one with --agency ORI (`oversight agency list`)",
                    many.len()
                ),
            },
        };
        Ok(Scope { db: db.clone(), agency })
    }

    /// The scope of an agency just created or found by id inside the
    /// product (the demo, `agency add`, a state user's chosen agency once
    /// their reading is audited).
    pub(crate) fn of_agency(db: &Db, agency: i64) -> Scope {
        Scope { db: db.clone(), agency }
    }
}

/// A statement of this agency's runs on the pool (`.fetch_all(scope)`),
/// on PostgreSQL with the agency set for row-level security (docs/tenancy.md,
/// "Row-level security"): it reaches this agency's rows and no other's.
impl<'c> From<&'c Scope> for db::On<'c> {
    fn from(scope: &'c Scope) -> Self {
        match &scope.db {
            Db::Sqlite(_) => db::On::from(&scope.db),
            Db::Postgres(pool) => db::On::PostgresPool(pool, db::Reach::Agency(scope.agency)),
        }
    }
}

/// A route that reads or writes an agency's records takes a `Scope`: the
/// signed-in user's agency. A user of no agency (a state user) gets 404
/// here, as for a record that is not theirs.
impl FromRequestParts<AppState> for Scope {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<CurrentUser>().ok_or(AppError::NotFound)?;
        Scope::of_user(&state.db, user).ok_or(AppError::NotFound)
    }
}
