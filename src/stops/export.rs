//! Stop exports: the Open Policing standardized columns, or the product's
//! own columns (which `import` reads back to the same records). Streamed a
//! batch at a time; cells that a spreadsheet would run as formulas are
//! neutralised (and restored by the import).

use std::collections::HashMap;
use std::io::Write;

use super::import::{Format, NATIVE_COLUMNS, OPP_COLUMNS};
use super::{Stop, unpack};
use crate::agency::Scope;
use crate::db;
use crate::web::spreadsheet_safe;

fn tf(v: bool) -> String {
    if v { "TRUE".into() } else { "FALSE".into() }
}

fn opp_race(packed: &str) -> String {
    let codes = unpack(packed);
    match codes.as_slice() {
        [] => "unknown".into(),
        [one] => match one.as_str() {
            "white" | "black" | "hispanic" => one.clone(),
            "asian" | "pacific_islander" | "asian_pacific_islander" => "asian/pacific islander".into(),
            _ => "other".into(),
        },
        // Several perceived groups have no single Open Policing value.
        _ => "other".into(),
    }
}

fn opp_row(s: &Stop, badge: &str) -> Vec<String> {
    let has = |packed: &str, code: &str| unpack(packed).iter().any(|c| c == code);
    let arrest = has(&s.results, "arrest_with_warrant") || has(&s.results, "arrest_without_warrant");
    let citation = has(&s.results, "citation");
    let warning = has(&s.results, "warning");
    let outcome = if arrest {
        "arrest"
    } else if citation {
        "citation"
    } else if warning {
        "warning"
    } else {
        "NA"
    };
    let basis = unpack(&s.search_basis);
    let basis = match basis.first().map(String::as_str) {
        None => "NA",
        Some("canine") => "k9",
        Some("visible_contraband") => "plain view",
        Some("consent") => "consent",
        Some("probable_cause") => "probable cause",
        Some(_) => "other",
    };
    let contraband = if s.searched == 0 {
        "NA".into()
    } else {
        tf(!s.contraband.is_empty() && !has(&s.contraband, "none"))
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "NA".into());
    vec![
        s.stop_date.clone(),
        opt(s.stop_time.as_ref().map(|t| format!("{t}:00"))),
        s.location.clone(),
        opt(s.lat.map(|v| v.to_string())),
        opt(s.lng.map(|v| v.to_string())),
        s.district.clone(),
        opt(s.perceived_age.map(|v| v.to_string())),
        opp_race(&s.perceived_race),
        if s.perceived_gender.is_empty() { "NA".into() } else { s.perceived_gender.clone() },
        if badge.is_empty() { "NA".into() } else { badge.to_string() },
        match s.stop_type.as_str() {
            "vehicle" => "vehicular".into(),
            "pedestrian" => "pedestrian".into(),
            "bicycle" => "bicycle".into(),
            _ => "NA".into(),
        },
        s.reason_narrative.clone(),
        tf(arrest),
        tf(citation),
        tf(warning),
        outcome.into(),
        contraband,
        tf(has(&s.actions, "frisk")),
        tf(s.searched != 0),
        tf(has(&s.actions, "search_person")),
        tf(has(&s.actions, "search_property")),
        basis.into(),
        super::label(super::REASONS, &s.reason),
    ]
}

pub fn native_row(s: &Stop, badge: &str) -> Vec<String> {
    let list = |packed: &str| unpack(packed).join(";");
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        s.stop_date.clone(),
        opt(s.stop_time.clone()),
        opt(s.duration_minutes.map(|v| v.to_string())),
        s.location.clone(),
        s.district.clone(),
        opt(s.lat.map(|v| v.to_string())),
        opt(s.lng.map(|v| v.to_string())),
        s.stop_type.clone(),
        s.call_for_service.to_string(),
        badge.to_string(),
        s.assignment.clone(),
        opt(s.years_of_service.map(|v| v.to_string())),
        list(&s.perceived_race),
        s.perceived_gender.clone(),
        opt(s.perceived_age.map(|v| v.to_string())),
        s.limited_english.to_string(),
        s.perceived_disability.to_string(),
        s.reason.clone(),
        s.traffic_violation.clone(),
        s.reason_narrative.clone(),
        list(&s.actions),
        s.searched.to_string(),
        list(&s.search_basis),
        list(&s.contraband),
        list(&s.results),
        s.result_narrative.clone(),
        s.immigration_status_asked.to_string(),
        s.ice_contacted.to_string(),
        s.action_287g.to_string(),
        s.exception.clone(),
    ]
}

/// Writes every stop of the agency in `format`; returns the number of rows.
pub async fn export(scope: &Scope, format: Format, out: impl Write) -> anyhow::Result<u64> {
    let badges: HashMap<i64, String> =
        db::query_as::<(i64, String)>("SELECT id, badge FROM officers WHERE agency_id = $1")
            .bind(scope.id())
            .fetch_all(scope)
            .await?
            .into_iter()
            .collect();
    let mut writer = csv::Writer::from_writer(out);
    let header: &[&str] = match format {
        Format::Opp => &OPP_COLUMNS,
        Format::Native => &NATIVE_COLUMNS,
    };
    writer.write_record(header)?;
    let mut rows = 0u64;
    let mut failure = None;
    super::store::for_each(scope, |s| {
        let badge = s.officer_id.and_then(|id| badges.get(&id)).map(String::as_str).unwrap_or("");
        let row = match format {
            Format::Opp => opp_row(s, badge),
            Format::Native => native_row(s, badge),
        };
        if let Err(e) = writer.write_record(row.iter().map(|c| spreadsheet_safe(c))) {
            failure = Some(e);
            return false;
        }
        rows += 1;
        true
    })
    .await?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    writer.flush()?;
    Ok(rows)
}
