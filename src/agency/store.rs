//! The agencies of the deployment: one row each (docs/tenancy.md). An
//! agency's own profile is read and changed through its `Scope`; the list
//! and the creation of agencies are the deployment's.

use crate::audit::{self, Actor, Event};
use crate::db::{self, Db, begin_write};

use super::{Profile, Scope};

const SELECT: &str = "SELECT name, ori, state, models, agreement_signed, agreement_renewed, login_banner, time_zone, mfa_policy, paper_size, retention_days FROM agency";

pub async fn get(scope: &Scope) -> Result<Profile, sqlx::Error> {
    db::query_as(&format!("{SELECT} WHERE id = $1")).bind(scope.id()).fetch_one(scope).await
}

/// The agency's secret key that blinds the leaves of its reports' record
/// trees (`reports::records`, docs/fingerprints.md), made the first time
/// it is asked for. Never shown, printed or exported.
pub async fn record_key(scope: &Scope) -> Result<Vec<u8>, sqlx::Error> {
    let read = "SELECT record_key FROM agency WHERE id = $1";
    let key: Vec<u8> = db::query_scalar(read).bind(scope.id()).fetch_one(scope).await?;
    if !key.is_empty() {
        return Ok(key);
    }
    // Made under the write lock: two first reports at once keep one key.
    let mut tx = scope.begin_write().await?;
    let made: [u8; 32] = rand::random();
    db::query("UPDATE agency SET record_key = $1 WHERE id = $2 AND length(record_key) = 0")
        .bind(&made[..])
        .bind(scope.id())
        .execute(&mut *tx)
        .await?;
    let key: Vec<u8> = db::query_scalar(read).bind(scope.id()).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(key)
}

/// The agencies' ids, in the order they were added.
pub async fn ids(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    db::query_scalar("SELECT id FROM agency ORDER BY id").fetch_all(db).await
}

/// The agency with this ORI.
pub async fn id_of(db: &Db, ori: &str) -> Result<Option<i64>, sqlx::Error> {
    db::query_scalar("SELECT id FROM agency WHERE ori = $1")
        .bind(ori.trim().to_uppercase())
        .fetch_optional(db)
        .await
}

/// An agency's id, ORI and name.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Named {
    pub id: i64,
    pub ori: String,
    pub name: String,
}

/// Every agency's id, ORI and name, in the order they were added: what the
/// state's dashboard and reports need of each, without `list`'s counts
/// (which read every agency's stops).
pub async fn named(db: &Db) -> Result<Vec<Named>, sqlx::Error> {
    db::query_as("SELECT id, ori, name FROM agency ORDER BY id").fetch_all(db).await
}

/// One line of `oversight agency list`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub ori: String,
    pub name: String,
    pub state: String,
    pub models: String,
    pub users: i64,
    pub officers: i64,
    pub stops: i64,
}

pub async fn list(db: &Db) -> Result<Vec<Listed>, sqlx::Error> {
    db::query_as(
        "SELECT a.id, a.ori, a.name, a.state, a.models, \
         (SELECT COUNT(*) FROM users u WHERE u.agency_id = a.id) AS users, \
         (SELECT COUNT(*) FROM officers o WHERE o.agency_id = a.id) AS officers, \
         (SELECT COUNT(*) FROM stops s WHERE s.agency_id = a.id) AS stops \
         FROM agency a ORDER BY a.id",
    )
    .fetch_all(db)
    .await
}

/// What the sign-in page shows before anyone is known: with one agency,
/// its name and banner, as always; with several, the deployment's (the
/// state's name when every agency is of one state) and the first agency's
/// banner.
pub async fn sign_in_face(db: &Db) -> Result<(String, String), sqlx::Error> {
    let rows: Vec<(String, String, String)> =
        db::query_as("SELECT name, state, login_banner FROM agency ORDER BY id").fetch_all(db).await?;
    Ok(match rows.as_slice() {
        [] => ("Oversight Ledger".to_string(), super::DEFAULT_BANNER.to_string()),
        [(name, _, banner)] => (name.clone(), banner.clone()),
        [(_, state, banner), rest @ ..] => {
            let one_state = rest.iter().all(|(_, s, _)| s == state) && !state.is_empty();
            let name = if one_state {
                format!("{state} statewide 287(g) oversight")
            } else {
                "Statewide 287(g) oversight".to_string()
            };
            (name, banner.clone())
        }
    })
}

/// Creates an agency from a validated profile, with its (empty, built)
/// aggregates, in one transaction with its audit entry in the state's
/// chain. A second agency with the same ORI is refused by the database.
pub async fn add(db: &Db, actor: &Actor, profile: &Profile) -> Result<Scope, sqlx::Error> {
    let mut tx = begin_write(db).await?;
    // A new deployment starts with one blank agency (migration 0001): the
    // first agency added is that one, not a second beside an empty one.
    let blank: Option<i64> = db::query_scalar(
        "SELECT id FROM agency a WHERE ori = '' AND (SELECT COUNT(*) FROM agency) = 1 \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.agency_id = a.id) \
         AND NOT EXISTS (SELECT 1 FROM officers o WHERE o.agency_id = a.id)",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let id = match blank {
        Some(id) => id,
        None => {
            let id: i64 =
                db::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM agency").fetch_one(&mut *tx).await?;
            db::query("INSERT INTO agency (id, login_banner) VALUES ($1, $2)")
                .bind(id)
                .bind(&profile.login_banner)
                .execute(&mut *tx)
                .await?;
            db::query("INSERT INTO stop_aggregates (agency_id, built) VALUES ($1, 1)")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            db::query(STANDARD_COURSES).bind(id).execute(&mut *tx).await?;
            id
        }
    };
    write_profile(&mut tx, id, profile).await?;
    let event = Event::new("agency.create", "agency", id).details(serde_json::json!({ "after": profile }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(Scope::of_agency(db, id))
}

/// The courses every agency starts with: ICE's basic training for each
/// model, the JEM refresher and the agency's annual training, as migration
/// 0003 gave the first agency (docs/authorization.md).
const STANDARD_COURSES: &str = "INSERT INTO courses (name, kind, models, required_hours, max_hours, validity_months, \
     pass_mark, remediation_attempts, agency_id) VALUES \
     ('287(g) Jail Enforcement Model basic training', 'initial', 'JEM', 160, 200, NULL, 70, 1, $1), \
     ('287(g) Task Force Model basic training', 'initial', 'TFM', 40, 60, NULL, 70, 1, $1), \
     ('287(g) Warrant Service Officer training (online)', 'initial', 'WSO', 8, 16, NULL, 70, 1, $1), \
     ('287(g) Jail Enforcement Model refresher', 'refresher', 'JEM', 40, 60, 24, 70, 1, $1), \
     ('Agency annual 287(g) policy and civil rights training', 'agency', '', 4, 16, 12, 70, 1, $1)";

/// The profile's fields of agency `id`, as the form and `agency add` give them.
async fn write_profile(tx: &mut crate::db::Tx, id: i64, profile: &Profile) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE agency SET name = $1, ori = $2, state = $3, models = $4, agreement_signed = $5, \
         agreement_renewed = $6, login_banner = $7, time_zone = $8, mfa_policy = $9, paper_size = $10, retention_days = $11 WHERE id = $12",
    )
    .bind(&profile.name)
    .bind(&profile.ori)
    .bind(&profile.state)
    .bind(&profile.models)
    .bind(&profile.agreement_signed)
    .bind(&profile.agreement_renewed)
    .bind(&profile.login_banner)
    .bind(&profile.time_zone)
    .bind(&profile.mfa_policy)
    .bind(&profile.paper_size)
    .bind(profile.retention_days)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Who must use two-step sign-in in an agency; read on every request.
pub async fn mfa_policy(db: &Db, agency: i64) -> Result<String, sqlx::Error> {
    db::query_scalar("SELECT mfa_policy FROM agency WHERE id = $1").bind(agency).fetch_one(db).await
}

/// Who of the state's users must use two-step sign-in (migration 0019).
pub async fn state_mfa_policy(db: &Db) -> Result<String, sqlx::Error> {
    db::query_scalar("SELECT mfa_policy FROM deployment WHERE id = 1").fetch_one(db).await
}

pub async fn set_state_mfa_policy(db: &Db, actor: &Actor, policy: &str) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let before: String =
        db::query_scalar("SELECT mfa_policy FROM deployment WHERE id = 1").fetch_one(&mut *tx).await?;
    db::query("UPDATE deployment SET mfa_policy = $1 WHERE id = 1").bind(policy).execute(&mut *tx).await?;
    let event = Event::new("state.mfa_policy", "deployment", 1)
        .details(serde_json::json!({ "before": before, "after": policy }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}

pub async fn update(scope: &Scope, actor: &Actor, profile: &Profile) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before: Profile =
        db::query_as(&format!("{SELECT} WHERE id = $1")).bind(scope.id()).fetch_one(&mut *tx).await?;
    write_profile(&mut tx, scope.id(), profile).await?;
    if before.time_zone != profile.time_zone {
        // Dusk on the local clock moves with the zone: D9's minutes too.
        crate::stops::aggregates::place_changed(&mut tx).await?;
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("settings.update", "agency", scope.id()).changes(&before, profile),
    )
    .await?;
    tx.commit().await
}

/// Days a 287(g) action may wait for its sign-off before it is overdue.
pub async fn sign_off_days(scope: &Scope) -> Result<i64, sqlx::Error> {
    db::query_scalar("SELECT sign_off_days FROM agency WHERE id = $1").bind(scope.id()).fetch_one(scope).await
}

pub async fn set_sign_off_days(scope: &Scope, actor: &Actor, days: i64) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let before: i64 = db::query_scalar("SELECT sign_off_days FROM agency WHERE id = $1")
        .bind(scope.id())
        .fetch_one(&mut *tx)
        .await?;
    db::query("UPDATE agency SET sign_off_days = $1 WHERE id = $2")
        .bind(days)
        .bind(scope.id())
        .execute(&mut *tx)
        .await?;
    let event = Event::new("agency.sign_off_days", "agency", scope.id())
        .details(serde_json::json!({ "before": before, "after": days }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}

/// Where the agency is, for the equity measures: the population shares of
/// its area and its place (latitude, longitude) and time zone.
pub async fn place(scope: &Scope) -> Result<Place, sqlx::Error> {
    db::query_as("SELECT population_shares, latitude, longitude, time_zone FROM agency WHERE id = $1")
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Place {
    pub population_shares: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub time_zone: String,
}

/// The agency's settings its measures depend on, as a submission package
/// carries them (docs/packages.md).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct MeasureSettings {
    pub time_zone: String,
    pub sign_off_days: i64,
    pub population_shares: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl MeasureSettings {
    /// Why these settings cannot be taken, if so: the rules of the forms
    /// that set them.
    pub fn problem(&self) -> Option<&'static str> {
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Some("time_zone is not a time zone of the IANA database");
        }
        if !(1..=30).contains(&self.sign_off_days) {
            return Some("sign_off_days must be 1 to 30");
        }
        if crate::measures::darkness::parse_shares(&self.population_shares).is_none() {
            return Some("population_shares are not group=percent pairs");
        }
        if self.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v))
            || self.longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v))
        {
            return Some("latitude or longitude is out of range");
        }
        None
    }
}

const SETTINGS: &str =
    "SELECT time_zone, sign_off_days, population_shares, latitude, longitude FROM agency WHERE id = $1";

pub async fn measure_settings_in(tx: &mut crate::db::Tx) -> Result<MeasureSettings, sqlx::Error> {
    let agency = tx.agency()?;
    db::query_as(SETTINGS).bind(agency).fetch_one(&mut **tx).await
}

/// Sets them inside the caller's transaction of the agency; returns them
/// as they were. The caller records the audit entry.
pub async fn set_measure_settings_in(
    tx: &mut crate::db::Tx,
    settings: &MeasureSettings,
) -> Result<MeasureSettings, sqlx::Error> {
    let before = measure_settings_in(tx).await?;
    let agency = tx.agency()?;
    db::query(
        "UPDATE agency SET time_zone = $1, sign_off_days = $2, population_shares = $3, latitude = $4, longitude = $5 \
         WHERE id = $6",
    )
    .bind(&settings.time_zone)
    .bind(settings.sign_off_days)
    .bind(&settings.population_shares)
    .bind(settings.latitude)
    .bind(settings.longitude)
    .bind(agency)
    .execute(&mut **tx)
    .await?;
    Ok(before)
}
