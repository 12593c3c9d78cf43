//! The agency's profile: who it is (name, ORI, state), which 287(g)
//! models its agreement covers, the agreement dates, the sign-in banner and
//! the time zone its dates are kept in.

pub mod agreements;
pub mod retention;
pub mod routes;
pub mod scope;
pub mod store;

pub use scope::Scope;

use serde::{Deserialize, Serialize};

use crate::web::{FieldErrors, format_date, optional_date};

/// The three models of agreement (docs/authorization.md).
pub const MODELS: [(&str, &str); 3] =
    [("JEM", "Jail Enforcement Model"), ("TFM", "Task Force Model"), ("WSO", "Warrant Service Officer")];

pub fn model_name(code: &str) -> &'static str {
    MODELS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n).unwrap_or("Unknown model")
}

pub const DEFAULT_BANNER: &str = "This is a restricted criminal justice information system. Use is monitored, recorded and audited. Unauthorized use is prohibited and may be subject to criminal and civil penalties. By signing in you consent to this monitoring.";

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct Profile {
    pub name: String,
    pub ori: String,
    pub state: String,
    pub models: String,
    pub agreement_signed: Option<String>,
    pub agreement_renewed: Option<String>,
    pub login_banner: String,
    pub time_zone: String,
    pub mfa_policy: String,
    /// "letter" or "a4": the page size of oversight reports.
    pub paper_size: String,
    /// Days after which the personal values of an arrest may be purged
    /// (`RETENTION_MINIMUM_DAYS` or more), or none to keep them
    /// (docs/retention.md).
    pub retention_days: Option<i64>,
}

/// The shortest retention the product accepts: one year, the CJIS
/// Security Policy's minimum for the records an agency keeps.
pub const RETENTION_MINIMUM_DAYS: i64 = 365;

/// Paper sizes for reports: US Letter by default (US agencies print and
/// file on it), A4 by choice.
pub const PAPER_SIZES: [(&str, &str); 2] =
    [("letter", "US Letter (8.5 × 11 in, 215.9 × 279.4 mm)"), ("a4", "A4 (210 × 297 mm)")];

impl Profile {
    pub fn model_list(&self) -> Vec<&str> {
        self.models.split(',').filter(|m| !m.is_empty()).collect()
    }
    pub fn holds(&self, model: &str) -> bool {
        self.model_list().contains(&model)
    }

    /// Today's date where the agency is: "authorized today" means the
    /// agency's today, not the server's.
    pub fn today(&self) -> time::Date {
        today_in(&self.time_zone)
    }
}

/// Today's date in a time zone (UTC when the name is unknown).
pub fn today_in(time_zone: &str) -> time::Date {
    let zoned = jiff::tz::TimeZone::get(time_zone)
        .map(|tz| jiff::Timestamp::now().to_zoned(tz))
        .unwrap_or_else(|_| jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC));
    let d = zoned.date();
    time::Date::from_calendar_date(
        d.year() as i32,
        time::Month::try_from(d.month() as u8).unwrap_or(time::Month::January),
        d.day() as u8,
    )
    .unwrap_or(time::OffsetDateTime::now_utc().date())
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ori: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub agreement_signed: String,
    #[serde(default)]
    pub agreement_renewed: String,
    #[serde(default)]
    pub login_banner: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub mfa_policy: String,
    #[serde(default)]
    pub paper_size: String,
    #[serde(default)]
    pub retention_days: String,
}

pub const STATES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "PR", "GU", "VI", "AS", "MP",
];

impl ProfileForm {
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            name: p.name.clone(),
            ori: p.ori.clone(),
            state: p.state.clone(),
            models: p.model_list().iter().map(|m| m.to_string()).collect(),
            agreement_signed: p.agreement_signed.clone().unwrap_or_default(),
            agreement_renewed: p.agreement_renewed.clone().unwrap_or_default(),
            login_banner: p.login_banner.clone(),
            time_zone: p.time_zone.clone(),
            mfa_policy: p.mfa_policy.clone(),
            paper_size: p.paper_size.clone(),
            retention_days: p.retention_days.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    pub fn has_model(&self, code: &&str) -> bool {
        self.models.iter().any(|m| m == code)
    }

    pub fn validate(&self) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            errors.add("name", "Enter the agency's name (up to 200 characters).");
        }
        let ori = self.ori.trim().to_uppercase();
        let ori_ok = ori.len() == 9
            && ori[..2].chars().all(|c| c.is_ascii_uppercase())
            && ori.chars().all(|c| c.is_ascii_alphanumeric());
        if !ori_ok {
            errors.add("ori", "An ORI is 9 characters: the state's two letters and 7 letters or digits, for example TX1010000.");
        }
        let state = self.state.trim().to_uppercase();
        if !STATES.contains(&state.as_str()) {
            errors.add("state", "Choose the state.");
        } else if ori_ok && !ori.starts_with(&state) {
            errors.add("ori", "The ORI must begin with the state's two letters.");
        }
        let mut models: Vec<&str> =
            MODELS.iter().map(|(c, _)| *c).filter(|c| self.models.iter().any(|m| m == c)).collect();
        models.dedup();
        if models.is_empty() || models.len() != self.models.len() {
            errors.add("models", "Choose the model or models the agreement covers.");
        }
        let today = today_in(self.time_zone.trim());
        let signed =
            optional_date(&mut errors, "agreement_signed", "The signing date", &self.agreement_signed);
        let renewed =
            optional_date(&mut errors, "agreement_renewed", "The renewal date", &self.agreement_renewed);
        if signed.is_some_and(|d| d > today) {
            errors.add("agreement_signed", "The signing date cannot be in the future.");
        }
        if renewed.is_some_and(|d| d > today) {
            errors.add("agreement_renewed", "The renewal date cannot be in the future.");
        }
        if let (Some(s), Some(r)) = (signed, renewed) {
            if r < s {
                errors.add("agreement_renewed", "The renewal date cannot be before the signing date.");
            }
        }
        if renewed.is_some() && signed.is_none() && !errors.has("agreement_renewed") {
            errors.add("agreement_signed", "Enter the signing date as well as the renewal date.");
        }
        let login_banner = self.login_banner.trim().to_string();
        if login_banner.len() < 20 || login_banner.chars().count() > 2000 {
            errors.add(
                "login_banner",
                "The banner must say the system is restricted and monitored (20 to 2,000 characters).",
            );
        }
        let time_zone = self.time_zone.trim().to_string();
        if jiff::tz::TimeZone::get(&time_zone).is_err() {
            errors.add("time_zone", "Enter a time zone name such as America/Chicago.");
        }
        if !crate::auth::mfa::POLICIES.iter().any(|(c, _)| *c == self.mfa_policy) {
            errors.add("mfa_policy", "Choose who must use two-step sign-in.");
        }
        // A form without the field (an older page, a script) keeps Letter.
        let paper_size = match self.paper_size.trim() {
            "" => "letter",
            size => size,
        };
        if !PAPER_SIZES.iter().any(|(c, _)| *c == paper_size) {
            errors.add("paper_size", "Choose US Letter or A4.");
        }
        let retention_days = match self.retention_days.trim() {
            "" => None,
            days => match days.parse::<i64>() {
                Ok(d) if (RETENTION_MINIMUM_DAYS..=36_500).contains(&d) => Some(d),
                _ => {
                    errors.add(
                        "retention_days",
                        "Enter a whole number of days from 365 (one year, the CJIS minimum) to 36,500, \
                         or leave it empty to keep personal values.",
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Profile {
            name,
            ori,
            state,
            models: models.join(","),
            agreement_signed: signed.map(format_date),
            agreement_renewed: renewed.map(format_date),
            login_banner,
            time_zone,
            mfa_policy: self.mfa_policy.clone(),
            paper_size: paper_size.to_string(),
            retention_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProfileForm {
        ProfileForm {
            name: "Example County Sheriff's Office".into(),
            ori: "TX1010000".into(),
            state: "TX".into(),
            models: vec!["JEM".into(), "WSO".into()],
            agreement_signed: "2025-02-01".into(),
            agreement_renewed: "".into(),
            login_banner: DEFAULT_BANNER.into(),
            time_zone: "America/Chicago".into(),
            mfa_policy: "administrators".into(),
            paper_size: String::new(),
            retention_days: String::new(),
        }
    }

    #[test]
    fn retention_is_a_year_or_more_or_none() {
        assert_eq!(form().validate().unwrap().retention_days, None);
        let three = ProfileForm { retention_days: " 1095 ".into(), ..form() }.validate().unwrap();
        assert_eq!(three.retention_days, Some(1095));
        for wrong in ["364", "0", "-400", "two years", "1.5", "36501"] {
            let errors = ProfileForm { retention_days: wrong.into(), ..form() }.validate().unwrap_err();
            assert!(errors.has("retention_days"), "{wrong}");
        }
    }

    #[test]
    fn valid_profile_passes() {
        let p = form().validate().unwrap();
        assert_eq!(p.models, "JEM,WSO");
        assert_eq!(p.paper_size, "letter", "Letter unless A4 is chosen");
        let a4 = ProfileForm { paper_size: "a4".into(), ..form() }.validate().unwrap();
        assert_eq!(a4.paper_size, "a4");
        let legal = ProfileForm { paper_size: "legal".into(), ..form() }.validate().unwrap_err();
        assert!(legal.has("paper_size"));
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let mut f = form();
        f.ori = "XX".into();
        f.models = vec!["ABC".into()];
        f.agreement_renewed = "2024-01-01".into();
        f.time_zone = "Mars/Olympus".into();
        let errors = f.validate().unwrap_err();
        for field in ["ori", "models", "agreement_renewed", "time_zone"] {
            assert!(errors.has(field), "{field}");
        }
    }
}
