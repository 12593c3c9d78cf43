//! Stop records: one row per person stopped, with what the officer
//! perceived, why, what was done, what was found, how it ended, and whether
//! immigration status came into it (docs/formats.md, after California's RIPA
//! elements). A stop that led to a 287(g) action needs a supervisor's
//! sign-off; one by an officer not authorized that day is a compliance
//! exception, recorded with the reason.

pub mod aggregates;
pub mod bulk;
pub mod export;
pub mod import;
pub mod routes;
pub mod store;
pub mod transfer;

use serde::Serialize;
use time::Date;

use crate::web::{FieldErrors, format_date};

pub use crate::web::record_form::{Choices, RecordForm};

pub const STOP_TYPES: Choices =
    &[("vehicle", "Vehicle"), ("bicycle", "Bicycle"), ("pedestrian", "Pedestrian")];
/// Every group a record may carry: the entry form's seven, then the two
/// that only records imported from Open Policing carry (its combined
/// Asian/Pacific Islander group, never split, and its "other").
pub const RACE_GROUPS: Choices = &[
    ("asian", "Asian"),
    ("black", "Black/African American"),
    ("hispanic", "Hispanic/Latino"),
    ("middle_eastern_south_asian", "Middle Eastern or South Asian"),
    ("native_american", "Native American"),
    ("pacific_islander", "Pacific Islander"),
    ("white", "White"),
    ("asian_pacific_islander", "Asian/Pacific Islander"),
    ("other", "Other"),
];
/// The groups an officer records on the entry form.
pub const RACES: Choices = RACE_GROUPS.split_at(7).0;

/// "Hispanic/Latino, White" from ",hispanic,white,"; "unknown" when none.
pub fn race_text(packed: &str) -> String {
    let codes = unpack(packed);
    if codes.is_empty() {
        "unknown".into()
    } else {
        codes.iter().map(|c| label(RACE_GROUPS, c)).collect::<Vec<_>>().join(", ")
    }
}
pub const GENDERS: Choices = &[
    ("male", "Male"),
    ("female", "Female"),
    ("transgender_man", "Transgender man/boy"),
    ("transgender_woman", "Transgender woman/girl"),
    ("nonconforming", "Gender nonconforming"),
];
pub const REASONS: Choices = &[
    ("traffic_violation", "Traffic violation"),
    ("reasonable_suspicion", "Reasonable suspicion"),
    ("known_warrant", "Known warrant"),
    ("parole_probation", "Known parole/probation"),
    ("consensual_search", "Consensual encounter resulting in a search"),
    ("other", "Other"),
];
pub const TRAFFIC_KINDS: Choices =
    &[("moving", "Moving"), ("equipment", "Equipment"), ("non_moving", "Non-moving")];
pub const ACTIONS: Choices = &[
    ("removed_from_vehicle", "Removed from vehicle"),
    ("handcuffed", "Handcuffed"),
    ("detained_in_car", "Detained in patrol car"),
    ("frisk", "Frisk (pat-down)"),
    ("search_person", "Search of person"),
    ("search_property", "Search of property"),
    ("firearm_pointed", "Firearm pointed at person"),
    ("physical_force", "Physical force"),
    ("property_seized", "Property seized"),
    ("vehicle_impounded", "Vehicle impounded"),
];
pub const SEARCH_BASES: Choices = &[
    ("consent", "Consent"),
    ("officer_safety", "Officer safety"),
    ("warrant", "Search warrant"),
    ("parole_probation", "Parole/probation condition"),
    ("visible_contraband", "Visible contraband"),
    ("odor", "Odor of contraband"),
    ("canine", "Canine detection"),
    ("incident_to_arrest", "Incident to arrest"),
    ("exigent", "Exigent circumstances"),
    ("inventory", "Vehicle inventory"),
];
pub const CONTRABAND: Choices = &[
    ("none", "None found"),
    ("firearm", "Firearm"),
    ("ammunition", "Ammunition"),
    ("other_weapon", "Other weapon"),
    ("drugs", "Drugs"),
    ("alcohol", "Alcohol"),
    ("money", "Money"),
    ("stolen_property", "Stolen property"),
    ("other", "Other contraband or evidence"),
];
pub const RESULTS: Choices = &[
    ("no_action", "No action"),
    ("warning", "Warning"),
    ("citation", "Citation"),
    ("field_interview", "Field interview card"),
    ("arrest_with_warrant", "Custodial arrest with warrant"),
    ("arrest_without_warrant", "Custodial arrest without warrant"),
    ("psychiatric_hold", "Psychiatric hold"),
    ("contacted_ice", "Contacted DHS/ICE"),
];

/// The codes a stop field's values come from, for showing them by label.
pub fn choices_of(field: &str) -> Option<Choices> {
    Some(match field {
        "stop_type" => STOP_TYPES,
        "perceived_race" => RACE_GROUPS,
        "perceived_gender" => GENDERS,
        "reason" => REASONS,
        "traffic_violation" => TRAFFIC_KINDS,
        "actions" => ACTIONS,
        "search_basis" => SEARCH_BASES,
        "contraband" => CONTRABAND,
        "results" => RESULTS,
        _ => return None,
    })
}

/// The label of a code in a list, or the code itself ("unknown" from an
/// import that had no value).
pub fn label(choices: Choices, code: &str) -> String {
    choices
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| code.replace('_', " "))
}

/// ",a,b," from codes; "" from none.
pub fn pack<S: AsRef<str>>(codes: &[S]) -> String {
    let mut packed = String::new();
    for code in codes {
        packed.push(',');
        packed.push_str(code.as_ref());
    }
    if !packed.is_empty() {
        packed.push(',');
    }
    packed
}

pub fn unpack(packed: &str) -> Vec<String> {
    packed.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect()
}

pub const NARRATIVE_MAX: usize = 250;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct Stop {
    pub id: i64,
    pub stop_date: String,
    pub stop_time: Option<String>,
    pub duration_minutes: Option<i64>,
    pub location: String,
    pub district: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub stop_type: String,
    pub call_for_service: i64,
    pub officer_id: Option<i64>,
    pub assignment: String,
    pub years_of_service: Option<i64>,
    pub perceived_race: String,
    pub perceived_gender: String,
    pub perceived_age: Option<i64>,
    pub limited_english: i64,
    pub perceived_disability: i64,
    pub reason: String,
    pub traffic_violation: String,
    pub reason_narrative: String,
    pub actions: String,
    pub searched: i64,
    pub search_basis: String,
    pub contraband: String,
    pub results: String,
    pub result_narrative: String,
    pub immigration_status_asked: i64,
    pub ice_contacted: i64,
    pub action_287g: i64,
    pub exception: String,
}

impl Stop {
    pub fn labels(&self, choices: Choices, packed: &str) -> String {
        let codes = unpack(packed);
        if codes.is_empty() {
            "none".into()
        } else {
            codes.iter().map(|c| label(choices, c)).collect::<Vec<_>>().join(", ")
        }
    }
    pub fn race_text(&self) -> String {
        race_text(&self.perceived_race)
    }
    pub fn actions_text(&self) -> String {
        self.labels(ACTIONS, &self.actions)
    }
    pub fn basis_text(&self) -> String {
        self.labels(SEARCH_BASES, &self.search_basis)
    }
    pub fn contraband_text(&self) -> String {
        self.labels(CONTRABAND, &self.contraband)
    }
    pub fn results_text(&self) -> String {
        self.labels(RESULTS, &self.results)
    }
    pub fn type_text(&self) -> String {
        label(STOP_TYPES, &self.stop_type)
    }
    pub fn reason_text(&self) -> String {
        let reason = label(REASONS, &self.reason);
        if self.traffic_violation.is_empty() {
            reason
        } else {
            format!("{reason} ({})", label(TRAFFIC_KINDS, &self.traffic_violation))
        }
    }
    pub fn gender_text(&self) -> String {
        if self.perceived_gender.is_empty() {
            "unknown".into()
        } else {
            label(GENDERS, &self.perceived_gender)
        }
    }
    pub fn when(&self) -> String {
        match &self.stop_time {
            Some(t) => format!("{} {t}", self.stop_date),
            None => self.stop_date.clone(),
        }
    }
    pub fn needs_sign_off(&self) -> bool {
        self.action_287g != 0
    }
}

/// Form fields that carry several values.
pub const LIST_FIELDS: [&str; 5] = ["perceived_race", "actions", "search_basis", "contraband", "results"];

/// The form filled from a saved stop, for editing.
pub fn form_of(s: &Stop) -> RecordForm {
    let mut form = RecordForm::default();
    let mut set = |k: &str, v: String| {
        form.fields.insert(k.to_string(), v);
    };
    set("stop_date", s.stop_date.clone());
    set("stop_time", s.stop_time.clone().unwrap_or_default());
    set("duration_minutes", s.duration_minutes.map(|v| v.to_string()).unwrap_or_default());
    set("location", s.location.clone());
    set("district", s.district.clone());
    set("lat", s.lat.map(|v| v.to_string()).unwrap_or_default());
    set("lng", s.lng.map(|v| v.to_string()).unwrap_or_default());
    set("stop_type", s.stop_type.clone());
    set("officer_id", s.officer_id.map(|v| v.to_string()).unwrap_or_default());
    set("assignment", s.assignment.clone());
    set("years_of_service", s.years_of_service.map(|v| v.to_string()).unwrap_or_default());
    set("perceived_gender", s.perceived_gender.clone());
    set("perceived_age", s.perceived_age.map(|v| v.to_string()).unwrap_or_default());
    set("reason", s.reason.clone());
    set("traffic_violation", s.traffic_violation.clone());
    set("reason_narrative", s.reason_narrative.clone());
    set("result_narrative", s.result_narrative.clone());
    for (flag, value) in [
        ("call_for_service", s.call_for_service),
        ("limited_english", s.limited_english),
        ("perceived_disability", s.perceived_disability),
        ("immigration_status_asked", s.immigration_status_asked),
        ("ice_contacted", s.ice_contacted),
        ("action_287g", s.action_287g),
    ] {
        if value != 0 {
            set(flag, "1".into());
        }
    }
    for (list, packed) in [
        ("perceived_race", &s.perceived_race),
        ("actions", &s.actions),
        ("search_basis", &s.search_basis),
        ("contraband", &s.contraband),
        ("results", &s.results),
    ] {
        form.lists.insert(list.into(), unpack(packed));
    }
    form
}

/// Checks every element; `officer_exists` says whether an officer id is on
/// the roster and `today` is the agency's date.
pub fn validate(
    form: &RecordForm,
    officer_exists: impl Fn(i64) -> bool,
    today: Date,
) -> Result<Stop, FieldErrors> {
    let mut e = FieldErrors::default();
    let date = form.date(&mut e, "stop_date", "The date", true, today);
    let time = form.time(&mut e, "stop_time", true).unwrap_or_default();
    let duration = form.number(
        &mut e,
        "duration_minutes",
        1..=1440,
        true,
        "Enter the duration in whole minutes (1 to 1440).",
    );
    let location = form.text(
        &mut e,
        "location",
        200,
        true,
        "Enter the block or intersection (not a residence address), up to 200 characters.",
    );
    let district = form.text(&mut e, "district", 40, false, "Use at most 40 characters.");
    let coordinate = |field: &'static str, e: &mut FieldErrors, limit: f64| -> Option<f64> {
        let v = form.value(field).trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x.abs() <= limit => Some(x),
            _ => {
                e.add(field, format!("Enter decimal degrees between -{limit} and {limit}."));
                None
            }
        }
    };
    let lat = coordinate("lat", &mut e, 90.0);
    let lng = coordinate("lng", &mut e, 180.0);
    if lat.is_some() != lng.is_some() && !e.has("lat") && !e.has("lng") {
        e.add("lat", "Give both latitude and longitude, or neither.");
    }
    let stop_type = form.one_of(&mut e, "stop_type", STOP_TYPES, "Choose the type of stop.");
    let officer_id = match form.value("officer_id").trim().parse::<i64>() {
        Ok(id) if officer_exists(id) => Some(id),
        _ => {
            e.add("officer_id", "Choose the officer who made the stop.");
            None
        }
    };
    let assignment = form.text(&mut e, "assignment", 60, false, "Use at most 60 characters.");
    let years = form.number(&mut e, "years_of_service", 0..=60, false, "Enter whole years from 0 to 60.");
    let races = form.codes(&mut e, "perceived_race", RACES);
    if races.is_empty() && !e.has("perceived_race") {
        e.add("perceived_race", "Choose the race or ethnicity the officer perceived (one or more).");
    }
    let gender = form.one_of(&mut e, "perceived_gender", GENDERS, "Choose the gender the officer perceived.");
    let age =
        form.number(&mut e, "perceived_age", 1..=120, true, "Enter the perceived age in years (1 to 120).");
    let reason = form.one_of(&mut e, "reason", REASONS, "Choose the primary reason for the stop.");
    let traffic = form.value("traffic_violation").trim().to_string();
    let traffic_violation = if reason == "traffic_violation" {
        form.one_of(&mut e, "traffic_violation", TRAFFIC_KINDS, "Choose the kind of traffic violation.")
    } else {
        if !traffic.is_empty() {
            e.add(
                "traffic_violation",
                "A kind of traffic violation only goes with the reason \"Traffic violation\".",
            );
        }
        String::new()
    };
    let reason_narrative = form.text(
        &mut e,
        "reason_narrative",
        NARRATIVE_MAX,
        true,
        "Describe the reason for the stop in at most 250 characters.",
    );
    let actions = form.codes(&mut e, "actions", ACTIONS);
    let searched = actions.iter().any(|a| a == "search_person" || a == "search_property");
    let basis = form.codes(&mut e, "search_basis", SEARCH_BASES);
    let contraband = form.codes(&mut e, "contraband", CONTRABAND);
    if searched {
        if basis.is_empty() && !e.has("search_basis") {
            e.add("search_basis", "A search was conducted: give its basis.");
        }
        if contraband.is_empty() && !e.has("contraband") {
            e.add("contraband", "A search was conducted: say what was found (or \"None found\").");
        }
        if contraband.len() > 1 && contraband.iter().any(|c| c == "none") {
            e.add("contraband", "\"None found\" cannot go with items found.");
        }
    } else {
        if !basis.is_empty() {
            e.add(
                "search_basis",
                "A search basis only goes with a search of person or property among the actions.",
            );
        }
        if !contraband.is_empty() {
            e.add(
                "contraband",
                "Contraband found only goes with a search of person or property among the actions.",
            );
        }
    }
    let results = form.codes(&mut e, "results", RESULTS);
    if results.is_empty() && !e.has("results") {
        e.add("results", "Choose how the stop ended (one or more).");
    }
    if results.len() > 1 && results.iter().any(|r| r == "no_action") {
        e.add("results", "\"No action\" cannot go with other results.");
    }
    let result_narrative =
        form.text(&mut e, "result_narrative", NARRATIVE_MAX, false, "Use at most 250 characters.");
    let action_287g = form.checked("action_287g");
    if action_287g && !form.checked("ice_contacted") && !results.iter().any(|r| r == "contacted_ice") {
        e.add("ice_contacted", "A 287(g) action means ICE was contacted: tick \"ICE was contacted\".");
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(Stop {
        id: 0,
        stop_date: date.map(format_date).unwrap_or_default(),
        stop_time: Some(time),
        duration_minutes: duration,
        location,
        district,
        lat,
        lng,
        stop_type,
        call_for_service: form.checked("call_for_service") as i64,
        officer_id,
        assignment,
        years_of_service: years,
        perceived_race: pack(&races),
        perceived_gender: gender,
        perceived_age: age,
        limited_english: form.checked("limited_english") as i64,
        perceived_disability: form.checked("perceived_disability") as i64,
        reason,
        traffic_violation,
        reason_narrative,
        actions: pack(&actions),
        searched: searched as i64,
        search_basis: pack(&basis),
        contraband: pack(&contraband),
        results: pack(&results),
        result_narrative,
        immigration_status_asked: form.checked("immigration_status_asked") as i64,
        ice_contacted: form.checked("ice_contacted") as i64,
        action_287g: action_287g as i64,
        exception: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub fn good() -> Vec<(String, String)> {
        [
            ("stop_date", "2026-03-14"),
            ("stop_time", "21:45"),
            ("duration_minutes", "18"),
            ("location", "US-41 at Pine Ridge Rd"),
            ("district", "D2"),
            ("stop_type", "vehicle"),
            ("officer_id", "7"),
            ("perceived_race", "hispanic"),
            ("perceived_gender", "male"),
            ("perceived_age", "34"),
            ("reason", "traffic_violation"),
            ("traffic_violation", "moving"),
            ("reason_narrative", "54 in a 35 zone"),
            ("actions", "search_property"),
            ("search_basis", "consent"),
            ("contraband", "none"),
            ("results", "citation"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn check(pairs: Vec<(String, String)>) -> Result<Stop, FieldErrors> {
        validate(&RecordForm::from_pairs(pairs, &LIST_FIELDS), |id| id == 7, date!(2026 - 11 - 28))
    }

    fn with(mut pairs: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != key);
        if !value.is_empty() {
            pairs.push((key.into(), value.into()));
        }
        pairs
    }

    #[test]
    fn a_complete_stop_passes_and_packs_lists() {
        let stop = check(good()).unwrap();
        assert_eq!(stop.perceived_race, ",hispanic,");
        assert_eq!(stop.searched, 1);
        assert_eq!(stop.contraband, ",none,");
    }

    #[test]
    fn each_field_refuses_a_bad_value() {
        let cases = [
            ("stop_date", "2026-02-30"),
            ("stop_date", "2027-01-01"),
            ("stop_time", "25:00"),
            ("stop_time", "9pm"),
            ("duration_minutes", "0"),
            ("duration_minutes", "abc"),
            ("location", ""),
            ("lat", "95"),
            ("stop_type", "horse"),
            ("officer_id", "99"),
            ("years_of_service", "61"),
            ("perceived_race", "martian"),
            ("perceived_gender", ""),
            ("perceived_age", "0"),
            ("reason", "hunch"),
            ("traffic_violation", "parking"),
            ("reason_narrative", ""),
            ("results", ""),
        ];
        for (field, value) in cases {
            let errors = check(with(good(), field, value)).unwrap_err();
            assert!(errors.has(field), "{field}={value:?} should be refused");
        }
        let long = "x".repeat(251);
        assert!(check(with(good(), "reason_narrative", &long)).unwrap_err().has("reason_narrative"));
        assert!(check(with(good(), "lng", "")).is_ok(), "no coordinates at all is fine");
        assert!(
            check(with(with(good(), "lat", "26.1"), "lng", "")).unwrap_err().has("lat"),
            "half a coordinate"
        );
    }

    #[test]
    fn search_parts_only_with_a_search() {
        let no_search = with(good(), "actions", "handcuffed");
        let e = check(no_search.clone()).unwrap_err();
        assert!(e.has("search_basis") && e.has("contraband"));
        let clean = with(with(no_search, "search_basis", ""), "contraband", "");
        assert_eq!(check(clean).unwrap().searched, 0);
        let e = check(with(good(), "search_basis", "")).unwrap_err();
        assert!(e.has("search_basis"));
        let mut both = good();
        both.push(("contraband".into(), "drugs".into()));
        assert!(check(both).unwrap_err().has("contraband"), "none with items");
    }

    #[test]
    fn a_287g_action_means_ice_was_contacted() {
        let pairs = with(good(), "action_287g", "1");
        assert!(check(pairs.clone()).unwrap_err().has("ice_contacted"));
        assert!(check(with(pairs, "ice_contacted", "1")).unwrap().needs_sign_off());
    }
}
