//! Retention of personal values (docs/retention.md): after the agency's
//! retention period, counted from the arrest, an administrator may purge
//! the name and date of birth of old arrests. Each record keeps the salted
//! commitments that fingerprints and audit entries hold, so every chain,
//! tree, checkpoint, sign-off and report still verifies.

use time::{Date, Duration};

use super::Scope;
use crate::audit::Actor;
use crate::web::format_date;

/// Where an agency's retention stands today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The setting, none while personal values are kept.
    pub days: Option<i64>,
    /// Arrests dated before this day may be purged.
    pub cutoff: Option<Date>,
    /// How many such arrests still hold a name and date of birth.
    pub purgeable: i64,
}

/// The first day whose arrests are kept: `days` before `today`.
pub fn cutoff(today: Date, days: i64) -> Date {
    today - Duration::days(days)
}

pub async fn status(scope: &Scope) -> Result<Status, sqlx::Error> {
    let profile = super::store::get(scope).await?;
    let Some(days) = profile.retention_days else {
        return Ok(Status { days: None, cutoff: None, purgeable: 0 });
    };
    let cutoff = cutoff(profile.today(), days);
    let purgeable = crate::arrests::store::count_purgeable(scope, &format_date(cutoff)).await?;
    Ok(Status { days: Some(days), cutoff: Some(cutoff), purgeable })
}

/// What a purge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purged {
    pub cutoff: Date,
    /// The arrests whose name and date of birth were purged.
    pub arrests: Vec<i64>,
    /// Old arrests left as they are: signed off in the legacy form
    /// `arrest/v1`, whose fingerprint covers the values themselves.
    pub kept: usize,
}

/// Purges what the setting allows today; an error while no retention is
/// set (nothing is purged by default).
pub async fn purge(scope: &Scope, actor: &Actor) -> anyhow::Result<Purged> {
    let profile = super::store::get(scope).await?;
    let Some(days) = profile.retention_days else {
        anyhow::bail!(
            "this agency keeps personal values: set a retention period on the agency profile \
             (at least {} days) before purging",
            super::RETENTION_MINIMUM_DAYS
        );
    };
    let today = profile.today();
    let cutoff = cutoff(today, days);
    let legacy = crate::supervision::store::arrests_signed_in_v1(scope).await?;
    let before = crate::arrests::store::count_purgeable(scope, &format_date(cutoff)).await?;
    let arrests = crate::arrests::store::purge_personal_before(
        scope,
        actor,
        &format_date(cutoff),
        &format_date(today),
        &legacy,
    )
    .await?;
    let kept = (before as usize).saturating_sub(arrests.len());
    Ok(Purged { cutoff, arrests, kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_of_retention_keeps_the_arrests_of_the_last_365_days() {
        let today = Date::from_calendar_date(2026, time::Month::December, 3).unwrap();
        let cutoff = cutoff(today, 365);
        assert_eq!(format_date(cutoff), "2025-12-03");
    }
}
