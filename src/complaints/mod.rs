//! Complaints from the public: when and how received, the allegation, the
//! officers and records involved, forwarding to ICE's Office of
//! Professional Responsibility or DHS's civil rights office, the
//! disposition and the closing date.

pub mod routes;
pub mod store;

use serde::Serialize;
use time::Date;

use crate::stops::{label, pack, unpack};
use crate::web::record_form::{Choices, RecordForm};
use crate::web::{FieldErrors, format_date, parse_date};

pub const CHANNELS: Choices = &[
    ("in_person", "In person"),
    ("phone", "Telephone"),
    ("mail", "Mail"),
    ("email", "Email"),
    ("online", "Online form"),
    ("referral", "Referral from another agency"),
];
pub const ALLEGATIONS: Choices = &[
    ("excessive_force", "Excessive force"),
    ("profiling", "Profiling or discrimination"),
    ("unlawful_stop_search_arrest", "Unlawful stop, search or arrest"),
    ("discourtesy", "Discourtesy"),
    ("other", "Other"),
];
pub const FORWARDED: Choices = &[
    ("ice_opr", "ICE Office of Professional Responsibility"),
    ("dhs_crcl", "DHS Office for Civil Rights and Civil Liberties"),
];
pub const DISPOSITIONS: Choices = &[
    ("pending", "Pending"),
    ("sustained", "Sustained"),
    ("not_sustained", "Not sustained"),
    ("exonerated", "Exonerated"),
    ("unfounded", "Unfounded"),
];
pub const LIST_FIELDS: [&str; 2] = ["officers", "forwarded_to"];

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq, Default)]
pub struct Complaint {
    pub id: i64,
    pub received_on: String,
    pub channel: String,
    pub allegation: String,
    pub summary: String,
    pub officers: String,
    pub stop_id: Option<i64>,
    pub arrest_id: Option<i64>,
    pub forwarded_to: String,
    pub forwarded_on: Option<String>,
    pub disposition: String,
    pub closed_on: Option<String>,
}

impl Complaint {
    pub fn channel_text(&self) -> String {
        label(CHANNELS, &self.channel)
    }
    pub fn allegation_text(&self) -> String {
        label(ALLEGATIONS, &self.allegation)
    }
    pub fn disposition_text(&self) -> String {
        label(DISPOSITIONS, &self.disposition)
    }
    pub fn forwarded_text(&self) -> String {
        let to = unpack(&self.forwarded_to);
        if to.is_empty() {
            return "not forwarded".into();
        }
        let names = to.iter().map(|c| label(FORWARDED, c)).collect::<Vec<_>>().join(" and ");
        match &self.forwarded_on {
            Some(d) => format!("{names} on {d}"),
            None => names,
        }
    }
    pub fn officer_ids(&self) -> Vec<i64> {
        unpack(&self.officers).iter().filter_map(|c| c.parse().ok()).collect()
    }
    /// Days from receipt to forwarding and to closing, where known.
    pub fn days_to(&self, to: &Option<String>) -> Option<i64> {
        let from = parse_date(&self.received_on)?;
        let to = parse_date(to.as_deref()?)?;
        Some((to - from).whole_days())
    }
}

pub fn form_of(c: &Complaint) -> RecordForm {
    let mut form = RecordForm::default();
    form.set("received_on", &c.received_on);
    form.set("channel", &c.channel);
    form.set("allegation", &c.allegation);
    form.set("summary", &c.summary);
    form.set("stop_id", c.stop_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("arrest_id", c.arrest_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("forwarded_on", c.forwarded_on.clone().unwrap_or_default());
    form.set("disposition", &c.disposition);
    form.set("closed_on", c.closed_on.clone().unwrap_or_default());
    form.set_list("officers", unpack(&c.officers));
    form.set_list("forwarded_to", unpack(&c.forwarded_to));
    form
}

/// Checks every field; the closures say whether linked ids are on record.
pub fn validate(
    form: &RecordForm,
    officer_exists: impl Fn(i64) -> bool,
    stop_exists: impl Fn(i64) -> bool,
    arrest_exists: impl Fn(i64) -> bool,
    today: Date,
) -> Result<Complaint, FieldErrors> {
    let mut e = FieldErrors::default();
    let received = form.date(&mut e, "received_on", "The date received", true, today);
    let channel = form.one_of(&mut e, "channel", CHANNELS, "Choose how the complaint was received.");
    let allegation = form.one_of(&mut e, "allegation", ALLEGATIONS, "Choose the allegation.");
    let summary =
        form.text(&mut e, "summary", 1000, true, "Summarise the complaint (up to 1,000 characters).");
    let officers: Vec<String> = form.lists.get("officers").cloned().unwrap_or_default();
    if officers.iter().any(|o| !o.parse::<i64>().is_ok_and(&officer_exists)) {
        e.add("officers", "Choose officers from the roster.");
    }
    let mut link =
        |field: &'static str, exists: &dyn Fn(i64) -> bool, what: &str| match form.value(field).trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) if exists(id) => Some(id),
                _ => {
                    e.add(field, format!("No {what} has this number."));
                    None
                }
            },
        };
    let stop_id = link("stop_id", &stop_exists, "stop");
    let arrest_id = link("arrest_id", &arrest_exists, "arrest");
    let forwarded_to = form.codes(&mut e, "forwarded_to", FORWARDED);
    let forwarded_on = form.date(&mut e, "forwarded_on", "The forwarding date", false, today);
    if forwarded_to.is_empty() != forwarded_on.is_none() && !e.has("forwarded_on") {
        e.add("forwarded_on", "Give both where the complaint was forwarded and the date, or neither.");
    }
    let disposition =
        form.one_of(&mut e, "disposition", DISPOSITIONS, "Choose the disposition (pending while open).");
    let closed_on = form.date(&mut e, "closed_on", "The closing date", false, today);
    if closed_on.is_some() && disposition == "pending" {
        e.add("disposition", "A closed complaint needs its disposition.");
    }
    if closed_on.is_none() && !disposition.is_empty() && disposition != "pending" && !e.has("closed_on") {
        e.add("closed_on", "Enter the closing date with the disposition.");
    }
    for (date, field) in [(forwarded_on, "forwarded_on"), (closed_on, "closed_on")] {
        if let (Some(d), Some(r)) = (date, received) {
            if d < r {
                e.add(field, "This cannot be before the complaint was received.");
            }
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    let mut officers = officers;
    officers.sort();
    officers.dedup();
    Ok(Complaint {
        id: 0,
        received_on: received.map(format_date).unwrap_or_default(),
        channel,
        allegation,
        summary,
        officers: pack(&officers),
        stop_id,
        arrest_id,
        forwarded_to: pack(&forwarded_to),
        forwarded_on: forwarded_on.map(format_date),
        disposition,
        closed_on: closed_on.map(format_date),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn check(pairs: &[(&str, &str)]) -> Result<Complaint, FieldErrors> {
        let pairs = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        validate(
            &RecordForm::from_pairs(pairs, &LIST_FIELDS),
            |id| id == 3,
            |id| id == 1,
            |_| false,
            date!(2026 - 11 - 28),
        )
    }

    const GOOD: [(&str, &str); 6] = [
        ("received_on", "2026-02-01"),
        ("channel", "phone"),
        ("allegation", "profiling"),
        ("summary", "Stopped twice in a week without reason"),
        ("officers", "3"),
        ("disposition", "pending"),
    ];

    #[test]
    fn open_and_closed_complaints() {
        let open = check(&GOOD).unwrap();
        assert_eq!((open.officers.as_str(), open.disposition.as_str()), (",3,", "pending"));
        let mut closed = GOOD.to_vec();
        closed.retain(|(k, _)| *k != "disposition");
        closed.extend([
            ("disposition", "sustained"),
            ("closed_on", "2026-04-01"),
            ("forwarded_to", "ice_opr"),
            ("forwarded_on", "2026-02-03"),
        ]);
        let c = check(&closed).unwrap();
        assert_eq!(c.days_to(&c.forwarded_on), Some(2));
        assert_eq!(c.days_to(&c.closed_on), Some(59));
    }

    #[test]
    fn dates_and_links_are_checked() {
        let mut bad = GOOD.to_vec();
        bad.extend([
            ("closed_on", "2026-01-01"),
            ("forwarded_to", "ice_opr"),
            ("officers", "9"),
            ("arrest_id", "5"),
        ]);
        let e = check(&bad).unwrap_err();
        for field in ["closed_on", "disposition", "forwarded_on", "officers", "arrest_id"] {
            assert!(e.has(field), "{field}");
        }
    }
}
