//! Supervision sign-off (docs/authorization.md "Supervision sign-off", docs/fingerprints.md): every
//! 287(g) action, a stop that led to one or an arrest with a detainer,
//! removal paperwork or warrant service, is reviewed by a named supervisor
//! who approves it, returns it for correction or refers it. A sign-off
//! records who, as ICE or agency supervisor, when, and the SHA-256 of the
//! record exactly as it stood; when the record changes, the fingerprint no
//! longer matches and the action is back in the queue.

pub mod measures;
pub mod routes;
pub mod store;

use serde::Serialize;

use crate::arrests::Arrest;
use crate::canonical;
use crate::stops::Stop;

use crate::web::format_instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Stop,
    Arrest,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Stop => "stop",
            RecordKind::Arrest => "arrest",
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "stop" => Some(RecordKind::Stop),
            "arrest" => Some(RecordKind::Arrest),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Stop => "Stop",
            RecordKind::Arrest => "Arrest",
        }
    }
    /// The canonical form new sign-offs of this kind are made in.
    pub fn form(self) -> &'static str {
        match self {
            RecordKind::Stop => "v1",
            RecordKind::Arrest => "v2",
        }
    }
    /// Where the record itself is shown (and corrected).
    pub fn path(self, id: i64) -> String {
        match self {
            RecordKind::Stop => format!("/stops/{id}"),
            RecordKind::Arrest => format!("/arrests/{id}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Returned,
    Referred,
}

pub const DECISIONS: [(Decision, &str, &str); 3] = [
    (Decision::Approved, "approved", "Approve"),
    (Decision::Returned, "returned", "Return for correction"),
    (Decision::Referred, "referred", "Refer"),
];

impl Decision {
    pub fn as_str(self) -> &'static str {
        DECISIONS.iter().find(|(d, _, _)| *d == self).map(|(_, code, _)| *code).unwrap_or("approved")
    }
    pub fn parse(value: &str) -> Option<Self> {
        DECISIONS.iter().find(|(_, code, _)| *code == value).map(|(d, _, _)| *d)
    }
    /// Returning and referring must say why, so the clerk or the next
    /// reviewer knows what to do.
    pub fn needs_comment(self) -> bool {
        self != Decision::Approved
    }
}

/// One decision, as stored; never changed once written.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignOff {
    pub id: i64,
    pub record_kind: String,
    pub record_id: i64,
    pub supersedes: i64,
    pub decision: String,
    pub comment: String,
    /// None for a decision made on the agency's own install and carried
    /// by a submission package (docs/packages.md): the reviewer has no
    /// account here; their name and kind are kept.
    pub reviewer_id: Option<i64>,
    pub reviewer_name: String,
    pub reviewer_kind: String,
    pub signed_at: i64,
    pub action_at: i64,
    pub record_hash: String,
    /// The canonical form `record_hash` was made in.
    pub form: String,
}

impl SignOff {
    /// The fingerprint as pages show it: an arrest fingerprint in form
    /// `arrest/v1` covers the name and date of birth as they are, so a
    /// guess of both could be tested against it; it is withheld.
    pub fn shown_hash(&self) -> &str {
        if self.record_kind == "arrest" && self.form == "v1" {
            "withheld (an earlier form that covers personal data)"
        } else {
            &self.record_hash
        }
    }
    pub fn decision(&self) -> Decision {
        Decision::parse(&self.decision).unwrap_or(Decision::Referred)
    }
    pub fn decision_text(&self) -> &'static str {
        match self.decision() {
            Decision::Approved => "Approved",
            Decision::Returned => "Returned for correction",
            Decision::Referred => "Referred",
        }
    }
    pub fn reviewer_kind_text(&self) -> &'static str {
        reviewer_kind_label(&self.reviewer_kind)
    }
    pub fn signed_text(&self) -> String {
        format_instant(self.signed_at)
    }
    /// Hours from the action to this decision.
    pub fn lag_hours(&self) -> f64 {
        (self.signed_at - self.action_at) as f64 / 3600.0
    }
    pub fn lag_text(&self) -> String {
        format!("{:.1} h", self.lag_hours())
    }
    pub fn within(&self, deadline_days: i64) -> bool {
        self.signed_at - self.action_at <= deadline_days * 86_400
    }
}

pub const REVIEWER_KINDS: [(&str, &str); 2] = [("agency", "Agency supervisor"), ("ice", "ICE supervisor")];

pub fn reviewer_kind_label(code: &str) -> &'static str {
    REVIEWER_KINDS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or("Agency supervisor")
}

/// Where a 287(g) action stands with its supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No decision yet.
    Waiting,
    /// Decided, then the record changed: the decision no longer applies.
    Changed,
    /// Returned and not yet corrected: the clerk's turn.
    Returned,
    /// Referred: waits for a further review.
    Referred,
    /// A current approval: done.
    Approved,
}

impl State {
    /// The state from the latest decision and whether the record still
    /// hashes to what that decision signed.
    pub fn of(latest: Option<&SignOff>, unchanged: bool) -> Self {
        match latest {
            None => State::Waiting,
            Some(_) if !unchanged => State::Changed,
            Some(s) => match s.decision() {
                Decision::Approved => State::Approved,
                Decision::Returned => State::Returned,
                Decision::Referred => State::Referred,
            },
        }
    }
    pub fn text(self) -> &'static str {
        match self {
            State::Waiting => "waiting for review",
            State::Changed => "changed since the last decision: review again",
            State::Returned => "returned for correction",
            State::Referred => "referred: waiting for a further review",
            State::Approved => "approved (sign-off current)",
        }
    }
    pub fn is_returned(self) -> bool {
        self == State::Returned
    }
    /// A supervisor has something to decide.
    pub fn awaits_supervisor(self) -> bool {
        matches!(self, State::Waiting | State::Changed | State::Referred)
    }
}

/// One 287(g) action and where it stands.
#[derive(Clone, Debug)]
pub struct Item {
    pub kind: RecordKind,
    pub id: i64,
    pub action_date: String,
    pub action_time: String,
    /// The action's instant in the agency's time zone, unix seconds.
    pub action_at: i64,
    pub officer_id: Option<i64>,
    pub officer: String,
    pub what: String,
    pub exception: String,
    pub latest: Option<SignOff>,
    pub state: State,
}

impl Item {
    pub fn age_text(&self, now: i64) -> String {
        let hours = (now - self.action_at).max(0) / 3600;
        if hours < 48 { format!("{hours} h") } else { format!("{} days", hours / 24) }
    }
    pub fn overdue(&self, now: i64, deadline_days: i64) -> bool {
        self.state.awaits_supervisor() && now - self.action_at > deadline_days * 86_400
    }
    pub fn key(&self) -> String {
        format!("{}-{}", self.kind.as_str(), self.id)
    }
    pub fn path(&self) -> String {
        self.kind.path(self.id)
    }
}

/// The sign-off part of a stop's or arrest's page.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub sign_offs: Vec<SignOff>,
    pub hash: String,
    /// The record's fingerprint in every form, to tell which sign-offs
    /// match it as it now stands.
    pub hashes: Vec<String>,
    pub state: State,
    pub can_review: bool,
    pub review_path: String,
}

canonical::form!(
    /// `oversight-ledger/stop/v1`: every field a stop had when sign-offs
    /// began, in alphabetical order (docs/fingerprints.md).
    StopForm for Stop {
        action_287g, actions, assignment, call_for_service, contraband, district, duration_minutes, exception,
        ice_contacted, id, immigration_status_asked, lat, limited_english, lng, location, officer_id,
        perceived_age, perceived_disability, perceived_gender, perceived_race, reason, reason_narrative,
        result_narrative, results, search_basis, searched, stop_date, stop_time, stop_type, traffic_violation,
        years_of_service,
    }
);

canonical::form!(
    /// `oversight-ledger/arrest/v1` over the record, and `v2` over
    /// `Arrest::committed`: the same fields, in alphabetical order.
    ArrestForm for Arrest {
        arrest_date, arrest_time, arrest_type, charges, detainer_lodged, exception, id, offense_class,
        offense_code, officer_id, perceived_age, perceived_gender, perceived_race, person_dob, person_name,
        priority_level, released_at, removal_paperwork, stop_id, transferred_at, warrant_served,
    }
);

/// A stop's fingerprint in a sign-off form (docs/fingerprints.md): SHA-256
/// of the form's label line and the form's fields as JSON. None for a
/// form that never existed.
pub fn stop_fingerprint(stop: &Stop, form: &str) -> Option<String> {
    match form {
        "v1" => Some(canonical::digest("oversight-ledger/stop/v1", &StopForm(stop))),
        _ => None,
    }
}

/// An arrest's fingerprint in a sign-off form: `v1` over the record as it
/// is (sign-offs made before personal commitments), `v2` over the record
/// with its name and date of birth committed, so that a fingerprint an
/// auditor sees tests no guess of them.
pub fn arrest_fingerprint(arrest: &Arrest, form: &str) -> Option<String> {
    match form {
        "v1" => Some(canonical::digest("oversight-ledger/arrest/v1", &ArrestForm(arrest))),
        "v2" => Some(canonical::digest("oversight-ledger/arrest/v2", &ArrestForm(&arrest.committed()))),
        _ => None,
    }
}

/// Why a reviewer may not decide on an action, if so: separation of duties
/// (docs/authorization.md): never one's own action, never a record one wrote.
pub fn self_review(
    reviewer_officer: Option<i64>,
    reviewer_id: i64,
    record_officer: Option<i64>,
    authors: &[i64],
) -> Option<&'static str> {
    if reviewer_officer.is_some() && reviewer_officer == record_officer {
        return Some(
            "You are recorded as the officer who took this action; another supervisor must review it.",
        );
    }
    if authors.contains(&reviewer_id) {
        return Some("You entered or edited this record; another supervisor must review it.");
    }
    None
}

/// The action's instant: its local date and time in the agency's zone
/// (midnight when the time was not recorded).
pub fn action_instant(date: &str, time: Option<&str>, time_zone: &str) -> i64 {
    let parsed = jiff::civil::Date::strptime("%Y-%m-%d", date).ok().map(|d| {
        let t = time.and_then(|t| jiff::civil::Time::strptime("%H:%M", t).ok()).unwrap_or_default();
        d.to_datetime(t)
    });
    let Some(civil) = parsed else { return 0 };
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    civil.to_zoned(zone).map(|z| z.timestamp().as_second()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_off(decision: &str, hash: &str) -> SignOff {
        SignOff {
            id: 1,
            record_kind: "arrest".into(),
            record_id: 7,
            supersedes: 0,
            decision: decision.into(),
            comment: String::new(),
            reviewer_id: Some(3),
            reviewer_name: "Sgt. Diaz".into(),
            reviewer_kind: "agency".into(),
            signed_at: 1_000_000 + 30 * 3600,
            action_at: 1_000_000,
            record_hash: hash.into(),
            form: "v2".into(),
        }
    }

    #[test]
    fn the_state_follows_the_latest_decision_while_the_record_is_unchanged() {
        assert_eq!(State::of(None, true), State::Waiting);
        assert_eq!(State::of(Some(&sign_off("approved", "h")), true), State::Approved);
        assert_eq!(State::of(Some(&sign_off("approved", "h")), false), State::Changed);
        assert_eq!(State::of(Some(&sign_off("returned", "h")), true), State::Returned);
        assert_eq!(State::of(Some(&sign_off("referred", "h")), true), State::Referred);
        assert!(State::Changed.awaits_supervisor() && !State::Returned.awaits_supervisor());
    }

    #[test]
    fn a_fingerprint_changes_with_any_field_and_names_its_form() {
        let a = crate::arrests::Arrest { id: 7, charges: "Battery".into(), ..Default::default() };
        let b = crate::arrests::Arrest { charges: "Battery ".into(), ..a.clone() };
        let first = arrest_fingerprint(&a, "v2").unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(Some(&first), arrest_fingerprint(&a.clone(), "v2").as_ref());
        assert_ne!(Some(&first), arrest_fingerprint(&b, "v2").as_ref());
        assert_ne!(arrest_fingerprint(&a, "v1"), arrest_fingerprint(&a, "v2"));
        assert_eq!(arrest_fingerprint(&a, "v3"), None);
    }

    fn stop() -> crate::stops::Stop {
        crate::stops::Stop {
            id: 3,
            stop_date: "2026-03-14".into(),
            stop_time: Some("22:10".into()),
            lat: Some(38.8976763),
            district: "D3".into(),
            actions: ",frisk,".into(),
            action_287g: 1,
            ..Default::default()
        }
    }

    /// The v1 forms are pinned by their documented field lists, built here
    /// independently of the record types: a field added to `Stop` or
    /// `Arrest` cannot change a fingerprint already signed.
    #[test]
    fn the_v1_forms_are_their_documented_fields_forever() {
        use sha2::{Digest, Sha256};
        let s = stop();
        let expected = serde_json::json!({
            "action_287g": 1, "actions": ",frisk,", "assignment": "", "call_for_service": 0, "contraband": "",
            "district": "D3", "duration_minutes": null, "exception": "", "ice_contacted": 0, "id": 3,
            "immigration_status_asked": 0, "lat": 38.8976763, "limited_english": 0, "lng": null, "location": "",
            "officer_id": null, "perceived_age": null, "perceived_disability": 0, "perceived_gender": "",
            "perceived_race": "", "reason": "", "reason_narrative": "", "result_narrative": "", "results": "",
            "search_basis": "", "searched": 0, "stop_date": "2026-03-14", "stop_time": "22:10", "stop_type": "",
            "traffic_violation": "", "years_of_service": null,
        });
        let by_hand = |label: &str, v: &serde_json::Value| {
            hex::encode(Sha256::digest(format!("{label}\n{v}").as_bytes()))
        };
        assert_eq!(stop_fingerprint(&s, "v1").unwrap(), by_hand("oversight-ledger/stop/v1", &expected));
        let a = crate::arrests::Arrest {
            id: 7,
            arrest_date: "2026-03-14".into(),
            person_name: "Jane Roe".into(),
            person_dob: Some("1990-05-02".into()),
            detainer_lodged: 1,
            person_salt: "00112233445566778899aabbccddeeff".into(),
            ..Default::default()
        };
        let mut expected = serde_json::json!({
            "arrest_date": "2026-03-14", "arrest_time": "", "arrest_type": "", "charges": "", "detainer_lodged": 1,
            "exception": "", "id": 7, "offense_class": "", "offense_code": "", "officer_id": null,
            "perceived_age": null, "perceived_gender": "", "perceived_race": "", "person_dob": "1990-05-02",
            "person_name": "Jane Roe", "priority_level": "", "released_at": null, "removal_paperwork": 0,
            "stop_id": null, "transferred_at": null, "warrant_served": 0,
        });
        assert_eq!(arrest_fingerprint(&a, "v1").unwrap(), by_hand("oversight-ledger/arrest/v1", &expected));
        // v2: the same fields, the personal two as their salted commitments.
        let commit = |field: &str, value: &str| {
            let text = format!("oversight-ledger/personal/v1\n{}\n{field}\n{value}\n", a.person_salt);
            hex::encode(Sha256::digest(text.as_bytes()))
        };
        expected["person_name"] = commit("person_name", "Jane Roe").into();
        expected["person_dob"] = commit("person_dob", "1990-05-02").into();
        assert_eq!(arrest_fingerprint(&a, "v2").unwrap(), by_hand("oversight-ledger/arrest/v2", &expected));
    }

    #[test]
    fn nobody_reviews_their_own_action_or_a_record_they_wrote() {
        assert!(self_review(Some(4), 9, Some(4), &[]).is_some());
        assert!(self_review(None, 9, Some(4), &[2, 9]).is_some());
        assert!(self_review(None, 9, None, &[2]).is_none());
        assert!(self_review(Some(5), 9, Some(4), &[2]).is_none());
    }

    #[test]
    fn lags_and_deadlines_count_from_the_action() {
        let s = sign_off("approved", "h");
        assert_eq!(s.lag_hours(), 30.0);
        assert!(s.within(2) && !s.within(1));
        // 2025-03-01 08:00 in New York is 13:00 UTC.
        assert_eq!(action_instant("2025-03-01", Some("08:00"), "America/New_York"), 1_740_834_000);
        assert_eq!(action_instant("2025-03-01", None, "UTC"), 1_740_787_200);
    }
}
