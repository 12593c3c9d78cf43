//! What a report's data fingerprint covers, by form (docs/fingerprints.md).
//!
//! `report/v1`: the records of the period and of the equal-length period
//! before it, each kind in the field lists below, arrests with their names
//! and dates of birth as they are. `report/v2` (reports issued from now
//! on): the period and its baseline period (the previous calendar month,
//! quarter or year, `Period::previous`), arrests committed
//! (`Arrest::committed`) so that a printed fingerprint tests no guess of a
//! person's name or date of birth. Each record is hashed as its kind, a
//! tab, its form's JSON and a newline; the field lists are fixed forever.
//!
//! `report/v3`: as v2, but the stops enter as one line per day, "stop-day",
//! the day, the number of stops and the sum modulo 2^2048 of each stop's
//! content hash (`stops::aggregates::Sum`), so issuing a report reads a
//! row per day instead of every stop; a check recomputes those sums from
//! the stops themselves.
//!
//! `report/v4` (reports issued from now on): the same records, each a leaf
//! of a Merkle tree whose root is the fingerprint (`records`): stops and
//! arrests by their content hashes, the other kinds by their v3 line's
//! SHA-256, so that one record can be proved part of a report. Issuing
//! reads every record of the period and its baseline period.

use time::{Date, Duration};

use crate::arrests::Arrest;
use crate::canonical::form;
use crate::complaints::Complaint;
use crate::measures::Period;
use crate::measures::logged::{LoggedMeasure, LoggedValue};
use crate::officers::{Designation, Officer};
use crate::pay::{Leads, PayPeriod};
use crate::stops::Stop;
use crate::supervision::SignOff;
use crate::training::TrainingRecord;

/// The form new reports are issued in.
pub const CURRENT: &str = "v4";

/// The form the statewide report fingerprints each agency in: no record
/// proofs there, and the day sums keep a hundred agencies' reading short.
pub const STATEWIDE: &str = "v3";

/// Whether `form` is one this version can recompute.
pub fn is_known(form: &str) -> bool {
    matches!(form, "v1" | "v2" | "v3" | "v4")
}

/// The first day of the records a report in `form` covers.
pub fn covered_from(period: Period, form: &str) -> Date {
    match form {
        "v1" => period.from - Duration::days(period.days()),
        _ => period.previous().from,
    }
}

/// An arrest as `form` hashes it.
pub fn arrest(arrest: &Arrest, form: &str) -> Arrest {
    if form == "v1" { arrest.clone() } else { arrest.committed() }
}

form!(StopForm for Stop {
    id, stop_date, stop_time, duration_minutes, location, district, lat, lng, stop_type, call_for_service,
    officer_id, assignment, years_of_service, perceived_race, perceived_gender, perceived_age, limited_english,
    perceived_disability, reason, traffic_violation, reason_narrative, actions, searched, search_basis,
    contraband, results, result_narrative, immigration_status_asked, ice_contacted, action_287g, exception,
});

form!(ArrestForm for Arrest {
    id, arrest_date, arrest_time, officer_id, stop_id, person_name, person_dob, charges, offense_code,
    offense_class, priority_level, arrest_type, detainer_lodged, removal_paperwork, warrant_served,
    transferred_at, released_at, perceived_race, perceived_gender, perceived_age, exception,
});

form!(ComplaintForm for Complaint {
    id, received_on, channel, allegation, summary, officers, stop_id, arrest_id, forwarded_to, forwarded_on,
    disposition, closed_on,
});

form!(PayForm for PayPeriod {
    id, officer_id, period_start, period_end, base_pay_cents, overtime_hours, overtime_pay_cents,
});

form!(LeadsForm for Leads { id, officer_id, quarter, received, located });

form!(SignOffForm for SignOff {
    id, record_kind, record_id, supersedes, decision, comment, reviewer_id, reviewer_name, reviewer_kind,
    signed_at, action_at, record_hash,
});

form!(LoggedMeasureForm for LoggedMeasure { id, code, name, definition, unit, target, better, source });

form!(LoggedValueForm for LoggedValue {
    id, measure_id, period_from, period_to, value, source_document, logged_by, logged_by_name, logged_at,
    confirmed_by_name, confirmed_at,
});

form!(OfficerForm for Officer {
    id, badge, last_name, first_name, rank, unit, hire_date, status, supervisor_id, annual_salary_cents,
});

form!(DesignationForm for Designation {
    id, officer_id, model, nominated_on, citizenship_verified_on, agency_background_on, ice_background_on,
    training_passed_on, certified_on, authorized_on, authorization_expires_on, credential_number,
    credential_received_on, withdrawn_on, withdrawal_reason,
});

form!(TrainingForm for TrainingRecord { id, officer_id, course_id, completed_on, hours, scores, provider });
