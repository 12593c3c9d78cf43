//! The single agency row.

use crate::audit::{self, Actor, Event};
use crate::db::{self, Db, begin_write};

use super::Profile;

const SELECT: &str = "SELECT name, ori, state, models, agreement_signed, agreement_renewed, login_banner, time_zone, mfa_policy, paper_size FROM agency WHERE id = 1";

pub async fn get(db: &Db) -> Result<Profile, sqlx::Error> {
    db::query_as(SELECT).fetch_one(db).await
}

/// Who must use two-step sign-in; read on every request, so one column.
pub async fn mfa_policy(db: &Db) -> Result<String, sqlx::Error> {
    db::query_scalar("SELECT mfa_policy FROM agency WHERE id = 1").fetch_one(db).await
}

pub async fn update(db: &Db, actor: &Actor, profile: &Profile) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let before: Profile = db::query_as(SELECT).fetch_one(&mut *tx).await?;
    db::query(
        "UPDATE agency SET name = $1, ori = $2, state = $3, models = $4, agreement_signed = $5, \
         agreement_renewed = $6, login_banner = $7, time_zone = $8, mfa_policy = $9, paper_size = $10 WHERE id = 1",
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
    .execute(&mut *tx)
    .await?;
    if before.time_zone != profile.time_zone {
        // Dusk on the local clock moves with the zone: D9's minutes too.
        crate::stops::aggregates::place_changed(&mut tx).await?;
    }
    audit::record(&mut tx, actor, Event::new("settings.update", "agency", 1).changes(&before, profile))
        .await?;
    tx.commit().await
}

/// Days a 287(g) action may wait for its sign-off before it is overdue.
pub async fn set_sign_off_days(db: &Db, actor: &Actor, days: i64) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let before: i64 =
        db::query_scalar("SELECT sign_off_days FROM agency WHERE id = 1").fetch_one(&mut *tx).await?;
    db::query("UPDATE agency SET sign_off_days = $1 WHERE id = 1").bind(days).execute(&mut *tx).await?;
    let event = Event::new("agency.sign_off_days", "agency", 1)
        .details(serde_json::json!({ "before": before, "after": days }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}
