//! Whether an officer may act under 287(g) on a date, and if not, why.
//!
//! Until the training issue adds course records, "authorized" uses the
//! designation dates alone: nominated, certified by ICE, authorization
//! letter in force (the expiry day itself still counts), not withdrawn on
//! or before the date. Each designation period is judged on its own, so a
//! withdrawal followed by a new designation authorizes again from the new
//! letter.

use time::Date;

use super::{Designation, Officer};
use crate::web::format_date;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Authorized,
    /// The first missing requirement, in words for the officer page.
    NotAuthorized(String),
}

impl Standing {
    pub fn is_authorized(&self) -> bool {
        matches!(self, Standing::Authorized)
    }
    pub fn reason(&self) -> &str {
        match self {
            Standing::Authorized => "",
            Standing::NotAuthorized(why) => why,
        }
    }
}

/// One period's standing on `date`.
fn period_standing(d: &Designation, date: Date) -> Standing {
    let on = |v: &Option<String>| Designation::date(v);
    let not = |why: String| Standing::NotAuthorized(why);
    match on(&d.nominated_on) {
        Some(n) if n <= date => {}
        _ => return not("not nominated on this date".into()),
    }
    match on(&d.certified_on) {
        Some(c) if c <= date => {}
        _ => return not("not yet certified by ICE".into()),
    }
    match on(&d.authorized_on) {
        Some(a) if a <= date => {}
        _ => return not("no authorization letter in force yet".into()),
    }
    if let Some(w) = on(&d.withdrawn_on).filter(|w| *w <= date) {
        return not(format!("authorization withdrawn on {}: {}", format_date(w), d.withdrawal_reason));
    }
    if let Some(e) = on(&d.authorization_expires_on).filter(|e| *e < date) {
        return not(format!("authorization expired on {}", format_date(e)));
    }
    Standing::Authorized
}

/// The officer's standing for `model` on `date`, over all their periods.
pub fn standing_on(designations: &[Designation], model: &str, date: Date) -> Standing {
    let periods: Vec<&Designation> = designations.iter().filter(|d| d.model == model).collect();
    if periods.is_empty() {
        return Standing::NotAuthorized(format!("no {model} designation"));
    }
    if periods.iter().any(|d| period_standing(d, date).is_authorized()) {
        return Standing::Authorized;
    }
    // The reason worth showing is the one of the latest period begun by
    // that date (or, failing that, the earliest one yet to begin).
    let latest = periods
        .iter()
        .filter(|d| Designation::date(&d.nominated_on).is_some_and(|n| n <= date))
        .max_by_key(|d| (Designation::date(&d.nominated_on), d.id))
        .or_else(|| periods.iter().min_by_key(|d| (Designation::date(&d.nominated_on), d.id)));
    latest.map(|d| period_standing(d, date)).unwrap_or(Standing::NotAuthorized("no designation".into()))
}

/// The standing of a whole officer record: a separated officer holds no
/// authority whatever the designation says.
pub fn officer_standing(
    officer: &Officer,
    designations: &[Designation],
    model: &str,
    date: Date,
) -> Standing {
    if officer.status == "separated" {
        return Standing::NotAuthorized("separated from the agency".into());
    }
    standing_on(designations, model, date)
}

/// True when the officer is authorized for any model on `date`.
pub fn authorized_for_any(officer: &Officer, designations: &[Designation], date: Date) -> bool {
    crate::agency::MODELS
        .iter()
        .any(|(m, _)| officer_standing(officer, designations, m, date).is_authorized())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn jem(id: i64) -> Designation {
        Designation {
            id,
            officer_id: 1,
            model: "JEM".into(),
            nominated_on: Some("2024-01-10".into()),
            certified_on: Some("2024-03-01".into()),
            authorized_on: Some("2024-03-15".into()),
            authorization_expires_on: Some("2026-03-15".into()),
            ..Default::default()
        }
    }

    #[test]
    fn authorized_from_the_letter_through_the_expiry_day() {
        let d = [jem(1)];
        assert_eq!(
            standing_on(&d, "JEM", date!(2024 - 03 - 14)),
            Standing::NotAuthorized("no authorization letter in force yet".into())
        );
        assert!(standing_on(&d, "JEM", date!(2024 - 03 - 15)).is_authorized());
        assert!(standing_on(&d, "JEM", date!(2026 - 03 - 15)).is_authorized());
        assert_eq!(
            standing_on(&d, "JEM", date!(2026 - 03 - 16)),
            Standing::NotAuthorized("authorization expired on 2026-03-15".into())
        );
    }

    #[test]
    fn certification_comes_before_authority() {
        let mut d = jem(1);
        d.certified_on = None;
        assert_eq!(standing_on(&[d], "JEM", date!(2025 - 01 - 01)).reason(), "not yet certified by ICE");
    }

    #[test]
    fn withdrawal_ends_authority_on_its_day_and_a_new_period_restores_it() {
        let mut first = jem(1);
        first.withdrawn_on = Some("2025-01-20".into());
        first.withdrawal_reason = "ICE written notice".into();
        assert!(standing_on(&[first.clone()], "JEM", date!(2025 - 01 - 19)).is_authorized());
        assert_eq!(
            standing_on(&[first.clone()], "JEM", date!(2025 - 01 - 20)).reason(),
            "authorization withdrawn on 2025-01-20: ICE written notice"
        );
        let second = Designation {
            id: 2,
            nominated_on: Some("2025-06-01".into()),
            certified_on: Some("2025-07-01".into()),
            authorized_on: Some("2025-07-10".into()),
            authorization_expires_on: None,
            ..jem(2)
        };
        let both = [first, second];
        assert_eq!(standing_on(&both, "JEM", date!(2025 - 06 - 15)).reason(), "not yet certified by ICE");
        assert!(standing_on(&both, "JEM", date!(2025 - 07 - 10)).is_authorized());
    }

    fn officer(status: &str) -> Officer {
        Officer {
            id: 1,
            badge: "B1".into(),
            last_name: "Reyes".into(),
            first_name: "Ana".into(),
            rank: String::new(),
            unit: String::new(),
            hire_date: None,
            status: status.into(),
            supervisor_id: None,
            annual_salary_cents: None,
        }
    }

    #[test]
    fn models_are_judged_separately() {
        let d = [jem(1)];
        assert_eq!(standing_on(&d, "WSO", date!(2025 - 01 - 01)).reason(), "no WSO designation");
        assert!(authorized_for_any(&officer("active"), &d, date!(2025 - 01 - 01)));
        assert!(!authorized_for_any(&officer("active"), &d, date!(2023 - 01 - 01)));
    }

    #[test]
    fn a_separated_officer_holds_no_authority() {
        let d = [jem(1)];
        assert_eq!(
            officer_standing(&officer("separated"), &d, "JEM", date!(2025 - 01 - 01)).reason(),
            "separated from the agency"
        );
        assert!(authorized_for_any(&officer("on_leave"), &d, date!(2025 - 01 - 01)));
    }
}
