//! Officers and their 287(g) designations: the roster the clerk keeps, the
//! designation steps of docs/authorization.md, and whether an officer is authorized
//! on a date (`authorization`).

pub mod authorization;
pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::web::{FieldErrors, format_date, optional_date, parse_date};

pub const STATUSES: [(&str, &str); 3] =
    [("active", "Active"), ("on_leave", "On leave"), ("separated", "Separated")];

pub fn status_label(code: &str) -> &'static str {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or("Unknown")
}

#[derive(Clone, Debug, Default, Serialize, sqlx::FromRow, PartialEq)]
pub struct Officer {
    pub id: i64,
    pub badge: String,
    pub last_name: String,
    pub first_name: String,
    pub rank: String,
    pub unit: String,
    pub hire_date: Option<String>,
    pub status: String,
    pub supervisor_id: Option<i64>,
    pub annual_salary_cents: Option<i64>,
}

impl Officer {
    pub fn full_name(&self) -> String {
        format!("{}, {}", self.last_name, self.first_name)
    }
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
    pub fn salary_text(&self) -> String {
        self.annual_salary_cents.map(format_money).unwrap_or_default()
    }
}

/// "Reyes, Ana (B-1)" for an officer id among `officers`; empty if absent.
pub fn label_of(officers: &[Officer], id: Option<i64>) -> String {
    id.and_then(|id| officers.iter().find(|o| o.id == id))
        .map(|o| format!("{} ({})", o.full_name(), o.badge))
        .unwrap_or_default()
}

/// Cents as "$85,000.00".
pub fn format_money(cents: i64) -> String {
    let dollars = cents / 100;
    let digits = dollars.abs().to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", (cents % 100).abs())
}

/// "85000", "85,000.50", "$85,000" as cents.
pub fn parse_money(value: &str) -> Option<i64> {
    let cleaned: String = value.trim().trim_start_matches('$').chars().filter(|c| *c != ',').collect();
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// The officer form as typed, kept when it is shown again.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OfficerForm {
    #[serde(default)]
    pub badge: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub rank: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub hire_date: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub supervisor_id: String,
    #[serde(default)]
    pub annual_salary: String,
}

impl OfficerForm {
    pub fn from_officer(o: &Officer) -> Self {
        Self {
            badge: o.badge.clone(),
            last_name: o.last_name.clone(),
            first_name: o.first_name.clone(),
            rank: o.rank.clone(),
            unit: o.unit.clone(),
            hire_date: o.hire_date.clone().unwrap_or_default(),
            status: o.status.clone(),
            supervisor_id: o.supervisor_id.map(|i| i.to_string()).unwrap_or_default(),
            annual_salary: o
                .annual_salary_cents
                .map(|c| format!("{}.{:02}", c / 100, c % 100))
                .unwrap_or_default(),
        }
    }

    /// Checks every field; `id` is the officer being edited (None when new)
    /// and `today` the agency's date.
    pub fn validate(&self, id: Option<i64>, today: Date) -> Result<Officer, FieldErrors> {
        let mut errors = FieldErrors::default();
        let badge = self.badge.trim().to_string();
        if badge.is_empty()
            || badge.len() > 20
            || !badge.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            errors.add("badge", "Enter the badge number: up to 20 letters, digits or dashes.");
        }
        let last_name = self.last_name.trim().to_string();
        if last_name.is_empty() || last_name.chars().count() > 100 {
            errors.add("last_name", "Enter the last name (up to 100 characters).");
        }
        let first_name = self.first_name.trim().to_string();
        if first_name.is_empty() || first_name.chars().count() > 100 {
            errors.add("first_name", "Enter the first name (up to 100 characters).");
        }
        let rank = self.rank.trim().to_string();
        let unit = self.unit.trim().to_string();
        if rank.chars().count() > 60 {
            errors.add("rank", "Use at most 60 characters.");
        }
        if unit.chars().count() > 100 {
            errors.add("unit", "Use at most 100 characters.");
        }
        let hire_date = optional_date(&mut errors, "hire_date", "The hire date", &self.hire_date);
        if hire_date.is_some_and(|d| d > today) {
            errors.add("hire_date", "The hire date cannot be in the future.");
        }
        if !STATUSES.iter().any(|(c, _)| *c == self.status) {
            errors.add("status", "Choose the officer's status.");
        }
        let supervisor_id = match self.supervisor_id.trim() {
            "" => None,
            value => match value.parse::<i64>() {
                Ok(sid) if Some(sid) == id => {
                    errors.add("supervisor_id", "An officer cannot be their own supervisor.");
                    None
                }
                Ok(sid) => Some(sid),
                Err(_) => {
                    errors.add("supervisor_id", "Choose a supervisor from the list.");
                    None
                }
            },
        };
        let annual_salary_cents = match self.annual_salary.trim() {
            "" => None,
            value => match parse_money(value) {
                Some(cents) if cents <= 100_000_000 => Some(cents),
                _ => {
                    errors.add(
                        "annual_salary",
                        "Enter the annual salary in dollars, for example 68500 or 68,500.00.",
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Officer {
            id: id.unwrap_or(0),
            badge,
            last_name,
            first_name,
            rank,
            unit,
            hire_date: hire_date.map(format_date),
            status: self.status.clone(),
            supervisor_id,
            annual_salary_cents,
        })
    }
}

/// One designation period of an officer under one model.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct Designation {
    pub id: i64,
    pub officer_id: i64,
    pub model: String,
    pub nominated_on: Option<String>,
    pub citizenship_verified_on: Option<String>,
    pub agency_background_on: Option<String>,
    pub ice_background_on: Option<String>,
    pub training_passed_on: Option<String>,
    pub certified_on: Option<String>,
    pub authorized_on: Option<String>,
    pub authorization_expires_on: Option<String>,
    pub credential_number: String,
    pub credential_received_on: Option<String>,
    pub withdrawn_on: Option<String>,
    pub withdrawal_reason: String,
}

/// A step of the designation timeline (docs/authorization.md, "What an officer
/// needs before acting under 287(g)").
pub struct Step {
    pub label: &'static str,
    pub date: Option<String>,
}

impl Designation {
    pub fn model_name(&self) -> &'static str {
        crate::agency::model_name(&self.model)
    }

    pub fn date(value: &Option<String>) -> Option<Date> {
        value.as_deref().and_then(parse_date)
    }

    pub fn timeline(&self) -> Vec<Step> {
        let step = |label, date: &Option<String>| Step { label, date: date.clone() };
        vec![
            step("Nominated by the agency", &self.nominated_on),
            step("U.S. citizenship verified", &self.citizenship_verified_on),
            step("Agency background check (5 years)", &self.agency_background_on),
            step("ICE background check", &self.ice_background_on),
            step("Training passed", &self.training_passed_on),
            step("Certified by ICE", &self.certified_on),
            step("Authorization letter", &self.authorized_on),
            step("Credential (Form 70-006) received", &self.credential_received_on),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DesignationForm {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub nominated_on: String,
    #[serde(default)]
    pub citizenship_verified_on: String,
    #[serde(default)]
    pub agency_background_on: String,
    #[serde(default)]
    pub ice_background_on: String,
    #[serde(default)]
    pub training_passed_on: String,
    #[serde(default)]
    pub certified_on: String,
    #[serde(default)]
    pub authorized_on: String,
    #[serde(default)]
    pub authorization_expires_on: String,
    #[serde(default)]
    pub credential_number: String,
    #[serde(default)]
    pub credential_received_on: String,
    #[serde(default)]
    pub withdrawn_on: String,
    #[serde(default)]
    pub withdrawal_reason: String,
}

/// The steps that must come in order: each date not before the previous
/// one given.
const ORDERED_STEPS: [(&str, &str); 5] = [
    ("nominated_on", "Nomination"),
    ("training_passed_on", "Training passed"),
    ("certified_on", "ICE certification"),
    ("authorized_on", "Authorization letter"),
    ("authorization_expires_on", "Authorization expiry"),
];

impl DesignationForm {
    pub fn from_designation(d: &Designation) -> Self {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            model: d.model.clone(),
            nominated_on: s(&d.nominated_on),
            citizenship_verified_on: s(&d.citizenship_verified_on),
            agency_background_on: s(&d.agency_background_on),
            ice_background_on: s(&d.ice_background_on),
            training_passed_on: s(&d.training_passed_on),
            certified_on: s(&d.certified_on),
            authorized_on: s(&d.authorized_on),
            authorization_expires_on: s(&d.authorization_expires_on),
            credential_number: d.credential_number.clone(),
            credential_received_on: s(&d.credential_received_on),
            withdrawn_on: s(&d.withdrawn_on),
            withdrawal_reason: d.withdrawal_reason.clone(),
        }
    }

    fn value(&self, field: &str) -> &str {
        match field {
            "nominated_on" => &self.nominated_on,
            "citizenship_verified_on" => &self.citizenship_verified_on,
            "agency_background_on" => &self.agency_background_on,
            "ice_background_on" => &self.ice_background_on,
            "training_passed_on" => &self.training_passed_on,
            "certified_on" => &self.certified_on,
            "authorized_on" => &self.authorized_on,
            "authorization_expires_on" => &self.authorization_expires_on,
            "credential_received_on" => &self.credential_received_on,
            "withdrawn_on" => &self.withdrawn_on,
            _ => "",
        }
    }

    /// `held_models` are the agency's models; `today` the agency's date.
    pub fn validate(&self, held_models: &[&str], today: Date) -> Result<Designation, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !crate::agency::MODELS.iter().any(|(c, _)| *c == self.model) {
            errors.add("model", "Choose the model of the designation.");
        } else if !held_models.is_empty() && !held_models.contains(&self.model.as_str()) {
            errors.add("model", "The agency's agreement does not cover this model (see the agency profile).");
        }
        const DATE_FIELDS: [(&str, &str); 10] = [
            ("nominated_on", "The nomination date"),
            ("citizenship_verified_on", "The citizenship date"),
            ("agency_background_on", "The agency background check date"),
            ("ice_background_on", "The ICE background check date"),
            ("training_passed_on", "The training date"),
            ("certified_on", "The certification date"),
            ("authorized_on", "The authorization letter date"),
            ("authorization_expires_on", "The expiry date"),
            ("credential_received_on", "The credential receipt date"),
            ("withdrawn_on", "The withdrawal date"),
        ];
        let mut dates = std::collections::HashMap::new();
        for (field, label) in DATE_FIELDS {
            if let Some(date) = optional_date(&mut errors, field, label, self.value(field)) {
                if field != "authorization_expires_on" && date > today {
                    errors.add(field, format!("{label} cannot be in the future."));
                }
                dates.insert(field, date);
            }
        }
        if !dates.contains_key("nominated_on") && !errors.has("nominated_on") {
            errors.add("nominated_on", "Enter the nomination date: every designation starts with it.");
        }
        let mut previous: Option<(&str, Date)> = None;
        for (field, label) in ORDERED_STEPS {
            if let Some(&date) = dates.get(field) {
                if let Some((prev_label, prev)) = previous {
                    if date < prev {
                        errors.add(
                            field,
                            format!("{label} cannot be before {prev_label} ({}).", format_date(prev)),
                        );
                    }
                }
                previous = Some((label, date));
            }
        }
        for check in ["citizenship_verified_on", "agency_background_on", "ice_background_on"] {
            if let (Some(&d), Some(&n)) = (dates.get(check), dates.get("nominated_on")) {
                if d < n {
                    errors.add(check, "Background steps cannot be before the nomination.");
                }
            }
        }
        if dates.contains_key("authorized_on")
            && !dates.contains_key("certified_on")
            && !errors.has("certified_on")
        {
            errors.add("certified_on", "An authorization letter needs the ICE certification date first.");
        }
        if dates.contains_key("authorization_expires_on")
            && !dates.contains_key("authorized_on")
            && !errors.has("authorized_on")
        {
            errors.add("authorized_on", "Enter the authorization letter date with its expiry.");
        }
        let withdrawn = dates.get("withdrawn_on").copied();
        let reason = self.withdrawal_reason.trim().to_string();
        if withdrawn.is_some() && reason.is_empty() {
            errors.add("withdrawal_reason", "Give the reason stated in ICE's written notice of withdrawal.");
        }
        if withdrawn.is_none() && !reason.is_empty() && !errors.has("withdrawn_on") {
            errors.add("withdrawn_on", "Enter the withdrawal date with its reason.");
        }
        if let (Some(w), Some(&n)) = (withdrawn, dates.get("nominated_on")) {
            if w < n {
                errors.add("withdrawn_on", "The withdrawal cannot be before the nomination.");
            }
        }
        if reason.chars().count() > 500 {
            errors.add("withdrawal_reason", "Use at most 500 characters.");
        }
        let credential_number = self.credential_number.trim().to_string();
        if credential_number.chars().count() > 40 {
            errors.add("credential_number", "Use at most 40 characters.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let d = |field: &str| dates.get(field).copied().map(format_date);
        Ok(Designation {
            id: 0,
            officer_id: 0,
            model: self.model.clone(),
            nominated_on: d("nominated_on"),
            citizenship_verified_on: d("citizenship_verified_on"),
            agency_background_on: d("agency_background_on"),
            ice_background_on: d("ice_background_on"),
            training_passed_on: d("training_passed_on"),
            certified_on: d("certified_on"),
            authorized_on: d("authorized_on"),
            authorization_expires_on: d("authorization_expires_on"),
            credential_number,
            credential_received_on: d("credential_received_on"),
            withdrawn_on: d("withdrawn_on"),
            withdrawal_reason: reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn money_round_trips() {
        assert_eq!(parse_money("68,500.5"), Some(6_850_050));
        assert_eq!(parse_money("$70000"), Some(7_000_000));
        assert_eq!(parse_money("12.345"), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(format_money(6_850_050), "$68,500.50");
    }

    fn officer_form() -> OfficerForm {
        OfficerForm {
            badge: "B-1024".into(),
            last_name: "Nguyễn".into(),
            first_name: "Anh".into(),
            status: "active".into(),
            hire_date: "2015-06-01".into(),
            ..Default::default()
        }
    }

    #[test]
    fn officer_form_reports_every_wrong_field() {
        let mut f = officer_form();
        f.badge = "".into();
        f.last_name = " ".into();
        f.hire_date = "2031-01-01".into();
        f.status = "retired".into();
        f.annual_salary = "lots".into();
        let e = f.validate(None, date!(2026 - 11 - 28)).unwrap_err();
        for field in ["badge", "last_name", "hire_date", "status", "annual_salary"] {
            assert!(e.has(field), "{field}");
        }
        assert!(officer_form().validate(None, date!(2026 - 11 - 28)).is_ok());
    }

    #[test]
    fn designation_dates_must_be_in_order() {
        let f = DesignationForm {
            model: "JEM".into(),
            nominated_on: "2025-03-01".into(),
            certified_on: "2025-02-01".into(),
            authorized_on: "2025-04-01".into(),
            ..Default::default()
        };
        let e = f.validate(&["JEM"], date!(2026 - 11 - 28)).unwrap_err();
        assert!(e.has("certified_on"));
        assert!(!e.has("authorized_on"));
    }

    #[test]
    fn withdrawal_needs_a_reason_and_model_must_be_held() {
        let f = DesignationForm {
            model: "TFM".into(),
            nominated_on: "2025-03-01".into(),
            withdrawn_on: "2025-05-01".into(),
            ..Default::default()
        };
        let e = f.validate(&["JEM"], date!(2026 - 11 - 28)).unwrap_err();
        assert!(e.has("withdrawal_reason"));
        assert!(e.has("model"));
    }
}
