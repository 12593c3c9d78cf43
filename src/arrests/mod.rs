//! Arrest records: charges, offense class, priority level, type, the
//! 287(g) actions that followed (detainer, removal paperwork, ICE warrant
//! served), the transfer to ICE custody or release (the WSO 48-hour rule),
//! and the linked stop. Names and dates of birth are personal data: only
//! records clerks and supervisors see them.

pub mod routes;
pub mod store;

use serde::Serialize;
use time::{Date, PrimitiveDateTime};

use crate::auth::Role;
use crate::stops::{GENDERS, RACES, label, pack, unpack};
use crate::web::record_form::{Choices, RecordForm};
use crate::web::{FieldErrors, format_date, parse_date};

pub const CLASSES: Choices =
    &[("felony", "Felony"), ("misdemeanor", "Misdemeanor"), ("infraction", "Traffic/infraction")];
pub const PRIORITIES: Choices = &[
    ("1", "Level 1: major drug offenses or violent crimes"),
    ("2", "Level 2: minor drug or property offenses"),
    ("3", "Level 3: other offenses"),
    ("none", "No priority level"),
];
pub const TYPES: Choices = &[("on_view", "On-view"), ("warrant", "Warrant"), ("summons", "Summons")];
pub const LIST_FIELDS: [&str; 1] = ["perceived_race"];

/// The codes an arrest field's values come from, for showing them by label.
pub fn choices_of(field: &str) -> Option<Choices> {
    Some(match field {
        "offense_class" => CLASSES,
        "priority_level" => PRIORITIES,
        "arrest_type" => TYPES,
        "perceived_race" => crate::stops::RACE_GROUPS,
        "perceived_gender" => GENDERS,
        _ => return None,
    })
}

/// ICE takes custody within 48 hours, or the person is released (WSO).
pub const WSO_HOURS: i64 = 48;

/// Roles that may see the names and dates of birth of people arrested.
pub fn sees_personal_data(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Clerk | Role::Supervisor | Role::Administrator))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct Arrest {
    pub id: i64,
    pub arrest_date: String,
    pub arrest_time: String,
    pub officer_id: Option<i64>,
    pub stop_id: Option<i64>,
    pub person_name: String,
    pub person_dob: Option<String>,
    pub charges: String,
    pub offense_code: String,
    pub offense_class: String,
    pub priority_level: String,
    pub arrest_type: String,
    pub detainer_lodged: i64,
    pub removal_paperwork: i64,
    pub warrant_served: i64,
    pub transferred_at: Option<String>,
    pub released_at: Option<String>,
    pub perceived_race: String,
    pub perceived_gender: String,
    pub perceived_age: Option<i64>,
    pub exception: String,
    /// The random salt of this record's commitments to the name and date
    /// of birth (docs/security.md): personal data itself, so it is never
    /// serialised, and reaches only the roles that see the name.
    #[serde(skip)]
    #[sqlx(default)]
    pub person_salt: String,
    /// Once the name and date of birth were purged under the agency's
    /// retention setting (docs/retention.md): the commitments they had,
    /// kept so that every fingerprint and audit entry that holds them
    /// still verifies, and the day of the purge.
    #[serde(skip)]
    #[sqlx(default)]
    pub name_commitment: Option<String>,
    #[serde(skip)]
    #[sqlx(default)]
    pub dob_commitment: Option<String>,
    #[serde(skip)]
    #[sqlx(default)]
    pub purged_on: Option<String>,
}

/// The fields that commit to a person: shown to nobody without
/// personal-data access, in any form that a guess could be tested against.
pub const PERSONAL_FIELDS: [&str; 2] = ["person_name", "person_dob"];

fn instant(value: &str) -> Option<PrimitiveDateTime> {
    let (date, time) = value.split_once(' ')?;
    let date = parse_date(date)?;
    let t = time::Time::from_hms(time[..2].parse().ok()?, time[3..5].parse().ok()?, 0).ok()?;
    Some(PrimitiveDateTime::new(date, t))
}

/// Where the 48-hour rule stands for an arrest with a warrant served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustodyCheck {
    NotApplicable,
    Met {
        hours: i64,
    },
    Exceeded {
        hours: i64,
    },
    /// Neither transfer nor release recorded yet; `overdue` once 48 hours
    /// have passed since the arrest.
    Open {
        overdue: bool,
    },
}

impl CustodyCheck {
    pub fn text(&self) -> String {
        match self {
            CustodyCheck::NotApplicable => "not applicable (no ICE warrant served)".into(),
            CustodyCheck::Met { hours } => format!("met: custody ended after {hours} hours"),
            CustodyCheck::Exceeded { hours } => {
                format!("exceeded: held {hours} hours, more than {WSO_HOURS}")
            }
            CustodyCheck::Open { overdue: true } => {
                format!("overdue: more than {WSO_HOURS} hours and no transfer or release recorded")
            }
            CustodyCheck::Open { overdue: false } => "open: no transfer or release recorded yet".into(),
        }
    }
    pub fn is_problem(&self) -> bool {
        matches!(self, CustodyCheck::Exceeded { .. } | CustodyCheck::Open { overdue: true })
    }
}

impl Arrest {
    pub fn action_287g(&self) -> bool {
        self.detainer_lodged != 0 || self.removal_paperwork != 0 || self.warrant_served != 0
    }
    pub fn actions_text(&self) -> String {
        let mut a = Vec::new();
        if self.detainer_lodged != 0 {
            a.push("detainer (I-247A) lodged");
        }
        if self.removal_paperwork != 0 {
            a.push("removal paperwork (I-213)");
        }
        if self.warrant_served != 0 {
            a.push("ICE warrant served");
        }
        if a.is_empty() { "none".into() } else { a.join(", ") }
    }
    pub fn class_text(&self) -> String {
        label(CLASSES, &self.offense_class)
    }
    pub fn priority_text(&self) -> String {
        label(PRIORITIES, &self.priority_level)
    }
    pub fn type_text(&self) -> String {
        label(TYPES, &self.arrest_type)
    }
    pub fn race_text(&self) -> String {
        crate::stops::race_text(&self.perceived_race)
    }
    pub fn gender_text(&self) -> String {
        if self.perceived_gender.is_empty() {
            "unknown".into()
        } else {
            label(GENDERS, &self.perceived_gender)
        }
    }

    /// The WSO 48-hour check as of `now`.
    pub fn custody_check(&self, now: PrimitiveDateTime) -> CustodyCheck {
        if self.warrant_served == 0 {
            return CustodyCheck::NotApplicable;
        }
        let Some(arrested) = instant(&format!("{} {}", self.arrest_date, self.arrest_time)) else {
            return CustodyCheck::NotApplicable;
        };
        let ended =
            [&self.transferred_at, &self.released_at].into_iter().flatten().filter_map(|t| instant(t)).min();
        match ended {
            Some(end) => {
                let hours = (end - arrested).whole_hours();
                if (end - arrested) <= time::Duration::hours(WSO_HOURS) {
                    CustodyCheck::Met { hours }
                } else {
                    CustodyCheck::Exceeded { hours }
                }
            }
            None => CustodyCheck::Open { overdue: now - arrested > time::Duration::hours(WSO_HOURS) },
        }
    }

    /// The salted commitment to one personal field's current value.
    /// After a purge, the commitment the record kept.
    pub fn commitment(&self, field: &str) -> String {
        let (value, kept) = match field {
            "person_name" => (self.person_name.as_str(), &self.name_commitment),
            _ => (self.person_dob.as_deref().unwrap_or(""), &self.dob_commitment),
        };
        if let Some(kept) = kept {
            return kept.clone();
        }
        crate::canonical::personal_commitment(&self.person_salt, field, value)
    }

    /// The record with its name and date of birth replaced by their
    /// commitments: what fingerprints (sign-off `arrest/v2`, `report/v2`)
    /// hash, so a fingerprint shown to an auditor tests no guess.
    /// SHA-256 of the committed record in the form
    /// `oversight-ledger/arrest-content/v1` (docs/fingerprints.md): the
    /// report's arrest fields in order, in the binary canonical form.
    pub fn content_digest(&self) -> [u8; 32] {
        let a = self.committed();
        let mut b = crate::canonical::Binary::new("oversight-ledger/arrest-content/v1");
        b.int(Some(a.id));
        b.text(Some(&a.arrest_date));
        b.text(Some(&a.arrest_time));
        b.int(a.officer_id);
        b.int(a.stop_id);
        b.text(Some(&a.person_name));
        b.text(a.person_dob.as_deref());
        b.text(Some(&a.charges));
        b.text(Some(&a.offense_code));
        b.text(Some(&a.offense_class));
        b.text(Some(&a.priority_level));
        b.text(Some(&a.arrest_type));
        b.int(Some(a.detainer_lodged));
        b.int(Some(a.removal_paperwork));
        b.int(Some(a.warrant_served));
        b.text(a.transferred_at.as_deref());
        b.text(a.released_at.as_deref());
        b.text(Some(&a.perceived_race));
        b.text(Some(&a.perceived_gender));
        b.int(a.perceived_age);
        b.text(Some(&a.exception));
        b.digest()
    }

    pub fn committed(&self) -> Arrest {
        Arrest {
            person_name: self.commitment("person_name"),
            person_dob: Some(self.commitment("person_dob")),
            ..self.clone()
        }
    }

    /// What the audit log keeps of the record: every field, the name and
    /// date of birth only as `{"withheld": commitment}`. A change is
    /// provable by whoever holds the salt and the values; nobody else can
    /// test a guess against the log.
    pub fn audit_view(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            for field in PERSONAL_FIELDS {
                map.insert(field.into(), serde_json::json!({ "withheld": self.commitment(field) }));
            }
        }
        value
    }

    /// The record with its name and date of birth purged on `day`: blank,
    /// their salt gone, their commitments kept (so its committed form, and
    /// every digest of it, stay the same).
    pub fn purged(&self, day: &str) -> Arrest {
        Arrest {
            name_commitment: Some(self.commitment("person_name")),
            dob_commitment: Some(self.commitment("person_dob")),
            purged_on: Some(day.to_string()),
            person_name: String::new(),
            person_dob: None,
            person_salt: String::new(),
            ..self.clone()
        }
    }

    /// A copy without the personal data, for roles that may not see it.
    pub fn without_personal_data(mut self) -> Self {
        self.person_name = String::new();
        self.person_dob = None;
        self.person_salt = String::new();
        self
    }
}

pub fn form_of(a: &Arrest) -> RecordForm {
    let mut form = RecordForm::default();
    form.set("arrest_date", &a.arrest_date);
    form.set("arrest_time", &a.arrest_time);
    form.set("officer_id", a.officer_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("stop_id", a.stop_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("person_name", &a.person_name);
    form.set("person_dob", a.person_dob.clone().unwrap_or_default());
    form.set("charges", &a.charges);
    form.set("offense_code", &a.offense_code);
    form.set("offense_class", &a.offense_class);
    form.set("priority_level", &a.priority_level);
    form.set("arrest_type", &a.arrest_type);
    for (flag, v) in [
        ("detainer_lodged", a.detainer_lodged),
        ("removal_paperwork", a.removal_paperwork),
        ("warrant_served", a.warrant_served),
    ] {
        if v != 0 {
            form.set(flag, "1");
        }
    }
    let split = |v: &Option<String>| {
        v.as_deref()
            .and_then(|t| t.split_once(' '))
            .map(|(d, t)| (d.to_string(), t.to_string()))
            .unwrap_or_default()
    };
    let (td, tt) = split(&a.transferred_at);
    let (rd, rt) = split(&a.released_at);
    form.set("transferred_date", td);
    form.set("transferred_time", tt);
    form.set("released_date", rd);
    form.set("released_time", rt);
    form.set("perceived_gender", &a.perceived_gender);
    form.set("perceived_age", a.perceived_age.map(|v| v.to_string()).unwrap_or_default());
    form.set_list("perceived_race", unpack(&a.perceived_race));
    form
}

/// An optional date and time pair as 'YYYY-MM-DD HH:MM', both or neither.
fn moment(
    form: &RecordForm,
    e: &mut FieldErrors,
    date_field: &'static str,
    time_field: &'static str,
    label: &str,
    today: Date,
) -> Option<String> {
    let date = form.date(e, date_field, label, false, today);
    let time = form.time(e, time_field, false);
    match (date, time) {
        (Some(d), Some(t)) => Some(format!("{} {t}", format_date(d))),
        (None, None) => None,
        _ => {
            if !e.has(date_field) && !e.has(time_field) {
                e.add(
                    date_field,
                    format!("Give both the date and the time of the {}.", label.to_lowercase()),
                );
            }
            None
        }
    }
}

/// Checks every field. `stop_exists` and `officer_exists` say whether ids
/// are on record; `today` is the agency's date.
pub fn validate(
    form: &RecordForm,
    officer_exists: impl Fn(i64) -> bool,
    stop_exists: impl Fn(i64) -> bool,
    today: Date,
) -> Result<Arrest, FieldErrors> {
    let mut e = FieldErrors::default();
    let date = form.date(&mut e, "arrest_date", "The arrest date", true, today);
    let time = form.time(&mut e, "arrest_time", true).unwrap_or_default();
    let officer_id = match form.value("officer_id").trim().parse::<i64>() {
        Ok(id) if officer_exists(id) => Some(id),
        _ => {
            e.add("officer_id", "Choose the arresting officer.");
            None
        }
    };
    let stop_id = match form.value("stop_id").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(id) if stop_exists(id) => Some(id),
            _ => {
                e.add(
                    "stop_id",
                    "No stop has this number; leave it empty if the arrest did not follow a stop.",
                );
                None
            }
        },
    };
    let person_name = form.text(
        &mut e,
        "person_name",
        150,
        true,
        "Enter the arrested person's name (up to 150 characters).",
    );
    let dob = form.date(&mut e, "person_dob", "The date of birth", false, today);
    if let (Some(b), Some(a)) = (dob, date) {
        if b >= a {
            e.add("person_dob", "The date of birth must be before the arrest.");
        }
    }
    let charges = form.text(&mut e, "charges", 500, true, "Enter the charges (up to 500 characters).");
    let offense_code = form.text(&mut e, "offense_code", 40, false, "Use at most 40 characters.");
    let offense_class = form.one_of(&mut e, "offense_class", CLASSES, "Choose the offense class.");
    let priority_level = form.one_of(&mut e, "priority_level", PRIORITIES, "Choose the priority level.");
    let arrest_type = form.one_of(&mut e, "arrest_type", TYPES, "Choose the type of arrest.");
    let transferred_at =
        moment(form, &mut e, "transferred_date", "transferred_time", "Transfer to ICE custody", today);
    let released_at = moment(form, &mut e, "released_date", "released_time", "Release", today);
    let arrested = date.map(|d| format!("{} {time}", format_date(d)));
    for (value, field) in [(&transferred_at, "transferred_date"), (&released_at, "released_date")] {
        if let (Some(v), Some(a)) = (value, &arrested) {
            if v < a {
                e.add(field, "This cannot be before the arrest.");
            }
        }
    }
    if transferred_at.is_some() && released_at.is_some() {
        e.add("released_date", "Record either the transfer to ICE custody or the release, not both.");
    }
    let races = form.codes(&mut e, "perceived_race", RACES);
    let gender = match form.value("perceived_gender").trim() {
        "" => String::new(),
        _ => form.one_of(&mut e, "perceived_gender", GENDERS, "Choose the gender the officer perceived."),
    };
    let age =
        form.number(&mut e, "perceived_age", 1..=120, false, "Enter the perceived age in years (1 to 120).");
    if !e.is_empty() {
        return Err(e);
    }
    Ok(Arrest {
        id: 0,
        arrest_date: date.map(format_date).unwrap_or_default(),
        arrest_time: time,
        officer_id,
        stop_id,
        person_name,
        person_dob: dob.map(format_date),
        charges,
        offense_code,
        offense_class,
        priority_level,
        arrest_type,
        detainer_lodged: form.flag("detainer_lodged"),
        removal_paperwork: form.flag("removal_paperwork"),
        warrant_served: form.flag("warrant_served"),
        transferred_at,
        released_at,
        perceived_race: pack(&races),
        perceived_gender: gender,
        perceived_age: age,
        exception: String::new(),
        person_salt: String::new(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn good() -> Vec<(String, String)> {
        [
            ("arrest_date", "2026-03-14"),
            ("arrest_time", "22:10"),
            ("officer_id", "7"),
            ("person_name", "Jane Roe"),
            ("person_dob", "1990-05-02"),
            ("charges", "Driving with a suspended license"),
            ("offense_class", "misdemeanor"),
            ("priority_level", "3"),
            ("arrest_type", "on_view"),
            ("warrant_served", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn check(pairs: Vec<(String, String)>) -> Result<Arrest, FieldErrors> {
        validate(
            &RecordForm::from_pairs(pairs, &LIST_FIELDS),
            |id| id == 7,
            |id| id == 1,
            date!(2026 - 11 - 28),
        )
    }

    fn with(mut pairs: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.into(), value.into()));
        pairs
    }

    #[test]
    fn fields_are_checked() {
        assert!(check(good()).is_ok());
        for (field, value) in [
            ("arrest_time", "24:00"),
            ("officer_id", "8"),
            ("stop_id", "2"),
            ("person_name", ""),
            ("person_dob", "2026-03-15"),
            ("charges", ""),
            ("offense_class", "petty"),
            ("priority_level", "4"),
            ("arrest_type", "citizen"),
            ("perceived_age", "200"),
        ] {
            assert!(check(with(good(), field, value)).unwrap_err().has(field), "{field}={value}");
        }
        let half = with(good(), "transferred_date", "2026-03-15");
        assert!(check(half).unwrap_err().has("transferred_date"), "date without time");
        let before = with(with(good(), "released_date", "2026-03-14"), "released_time", "21:00");
        assert!(check(before).unwrap_err().has("released_date"), "release before arrest");
    }

    #[test]
    fn the_wso_48_hour_rule() {
        let a = check(good()).unwrap();
        let now = datetime!(2026 - 03 - 15 12:00);
        assert_eq!(a.custody_check(now), CustodyCheck::Open { overdue: false });
        assert_eq!(a.custody_check(datetime!(2026 - 03 - 16 22:11)), CustodyCheck::Open { overdue: true });
        let moved = Arrest { transferred_at: Some("2026-03-16 22:10".into()), ..a.clone() };
        assert_eq!(
            moved.custody_check(now),
            CustodyCheck::Met { hours: 48 },
            "exactly 48 hours is within the rule"
        );
        let late = Arrest { released_at: Some("2026-03-17 08:00".into()), ..a.clone() };
        assert_eq!(late.custody_check(now), CustodyCheck::Exceeded { hours: 57 });
        let plain = Arrest { warrant_served: 0, ..a };
        assert_eq!(plain.custody_check(now), CustodyCheck::NotApplicable);
    }

    #[test]
    fn personal_data_is_for_clerks_supervisors_and_administrators() {
        assert!(sees_personal_data(&[Role::Clerk]));
        assert!(sees_personal_data(&[Role::Supervisor]));
        assert!(!sees_personal_data(&[Role::Reviewer, Role::Auditor]));
        let a = check(good()).unwrap().without_personal_data();
        assert!(a.person_name.is_empty() && a.person_dob.is_none());
    }
}
