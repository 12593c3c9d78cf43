//! Bulk import of stops from CSV, streaming: the file is read row by row
//! and written in batches inside one transaction, so memory stays flat
//! whatever its size, and the transaction is rolled back unless every row
//! is right. Two formats:
//!
//! - `opp`: the Stanford Open Policing Project's standardized columns, any
//!   subset that includes `date`; the mapping to the product's categories
//!   is on the data dictionary page (`transfer.rs`) and below.
//! - `native`: the product's own columns (see `NATIVE_COLUMNS`), which
//!   `export` writes, so export then import reproduces the same records.
//!
//! The import is one audit entry with the file's SHA-256 and row count, in
//! the agency's chain; every stop it writes is the agency's.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{GENDERS, NARRATIVE_MAX, RACE_GROUPS, REASONS, RESULTS, STOP_TYPES, Stop, TRAFFIC_KINDS, pack};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db;
use crate::web::{counted, format_date, parse_date};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Opp,
    Native,
}

impl Format {
    pub fn parse(value: &str) -> Option<Format> {
        match value {
            "opp" => Some(Format::Opp),
            "native" => Some(Format::Native),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Format::Opp => "opp",
            Format::Native => "native",
        }
    }
}

/// The most problems listed; the count covers all of them.
pub const MAX_LISTED: usize = 1000;
/// Longest line accepted: a longer one is refused before it is read whole.
pub const MAX_LINE: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value: String = self.value.chars().take(60).collect();
        write!(f, "line {}, column {}, value \"{}\": {}", self.line, self.column, value, self.reason)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: u64,
    pub rows: u64,
    pub problems: Vec<Problem>,
    pub problem_count: u64,
    pub sha256: String,
    pub already_imported: bool,
    pub unknown_columns: Vec<String>,
    /// Officer identifiers in the file that match no badge, with counts.
    pub unknown_officers: BTreeMap<String, u64>,
    pub truncated_narratives: u64,
}

impl Report {
    fn problem(&mut self, line: u64, column: &str, value: &str, reason: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem {
                line,
                column: column.into(),
                value: value.into(),
                reason: reason.into(),
            });
        }
    }
}

/// The product's own columns, in export order. Lists are codes separated
/// by ';', flags are 0 or 1, the officer is named by badge.
pub const NATIVE_COLUMNS: [&str; 30] = [
    "stop_date",
    "stop_time",
    "duration_minutes",
    "location",
    "district",
    "lat",
    "lng",
    "stop_type",
    "call_for_service",
    "officer_badge",
    "assignment",
    "years_of_service",
    "perceived_race",
    "perceived_gender",
    "perceived_age",
    "limited_english",
    "perceived_disability",
    "reason",
    "traffic_violation",
    "reason_narrative",
    "actions",
    "searched",
    "search_basis",
    "contraband",
    "results",
    "result_narrative",
    "immigration_status_asked",
    "ice_contacted",
    "action_287g",
    "exception",
];

/// The Open Policing columns the product reads.
pub const OPP_COLUMNS: [&str; 23] = [
    "date",
    "time",
    "location",
    "lat",
    "lng",
    "district",
    "subject_age",
    "subject_race",
    "subject_sex",
    "officer_id_hash",
    "type",
    "violation",
    "arrest_made",
    "citation_issued",
    "warning_issued",
    "outcome",
    "contraband_found",
    "frisk_performed",
    "search_conducted",
    "search_person",
    "search_vehicle",
    "search_basis",
    "reason_for_stop",
];

/// Codes the product accepts from imports beyond its entry form's lists:
/// Open Policing's combined group and "other", and unknown values.
const SEARCH_BASIS_CODES: [&str; 12] = [
    "consent",
    "officer_safety",
    "warrant",
    "parole_probation",
    "visible_contraband",
    "odor",
    "canine",
    "incident_to_arrest",
    "exigent",
    "inventory",
    "probable_cause",
    "other",
];

/// Wraps a reader and refuses a line longer than `MAX_LINE`, so one huge
/// line cannot take the memory the import promises to keep flat.
struct LineLimit<R> {
    inner: R,
    run: usize,
    /// The file's SHA-256, computed as it is read (no second pass).
    hasher: Sha256,
}

impl<R> LineLimit<R> {
    fn check(&self, run: usize) -> std::io::Result<()> {
        if run > MAX_LINE {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "a line is longer than 1 MiB"));
        }
        Ok(())
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.hasher.update(chunk);
        // The longest run without a line end, counting the one carried in
        // from earlier chunks; memchr finds line ends many bytes at a time.
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            self.check(self.run + end - start)?;
            self.run = 0;
            start = end + 1;
        }
        self.run += n - start;
        self.check(self.run)?;
        Ok(n)
    }
}

/// A column either format reads, with its number among all of them
/// (`slot`): a row finds the column's value by that number, as a header
/// named it, instead of hashing the name twenty times a row (a tenth of
/// the reading time of a million-row import).
#[derive(Clone, Copy)]
struct Column {
    name: &'static str,
    slot: usize,
}

/// The number of a column of either format: its place among the Open
/// Policing columns, or after them among the native ones (the names both
/// share, such as `location`, have one number).
const fn slot(name: &str) -> Option<usize> {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut i = 0;
    while i < OPP_COLUMNS.len() {
        if same(OPP_COLUMNS[i], name) {
            return Some(i);
        }
        i += 1;
    }
    let mut i = 0;
    while i < NATIVE_COLUMNS.len() {
        if same(NATIVE_COLUMNS[i], name) {
            return Some(OPP_COLUMNS.len() + i);
        }
        i += 1;
    }
    None
}

/// Every column number `slot` gives is below this.
const SLOTS: usize = OPP_COLUMNS.len() + NATIVE_COLUMNS.len();

/// A column by name, its number found when the code is compiled (a name
/// of neither format does not compile).
macro_rules! col {
    ($name:literal) => {
        Column {
            name: $name,
            slot: const {
                match slot($name) {
                    Some(n) => n,
                    None => panic!("not a column of either import format"),
                }
            },
        }
    };
}

/// One CSV row with its header positions.
struct Row<'a> {
    line: u64,
    record: &'a csv::ByteRecord,
    /// The record position of each column number the header names.
    positions: &'a [Option<usize>; SLOTS],
    /// The agency's date: as on the entry form, no stop is dated after it.
    today: time::Date,
}

/// Header positions by column name, for the header's own checks.
type Columns = HashMap<String, usize, rustc_hash::FxBuildHasher>;

impl<'a> Row<'a> {
    /// The value of a column, borrowed from the record (None when absent);
    /// bad UTF-8 is a problem.
    fn get(&self, column: Column, report: &mut Report) -> Option<&'a str> {
        let i = self.positions[column.slot]?;
        let bytes = self.record.get(i).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(s) => Some(restore(s.trim())),
            Err(_) => {
                report.problem(
                    self.line,
                    column.name,
                    &String::from_utf8_lossy(bytes),
                    "not valid UTF-8 text",
                );
                None
            }
        }
    }
}

/// Undoes the export's formula neutralisation ("'=x" back to "=x").
fn restore(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

fn is_missing(v: &str) -> bool {
    v.is_empty() || v.eq_ignore_ascii_case("na") || v.eq_ignore_ascii_case("null")
}

fn flag(row: &Row, column: Column, report: &mut Report) -> Option<bool> {
    let v = row.get(column, report)?;
    let is = |words: [&str; 4]| words.iter().any(|w| v.eq_ignore_ascii_case(w));
    match v {
        _ if is(["true", "t", "1", "yes"]) => Some(true),
        _ if is(["false", "f", "0", "no"]) => Some(false),
        s if is_missing(s) => None,
        _ => {
            report.problem(row.line, column.name, v, "expected TRUE, FALSE or NA");
            None
        }
    }
}

fn date(row: &Row, column: Column, report: &mut Report, required: bool) -> Option<String> {
    let v = row.get(column, report).unwrap_or_default();
    if is_missing(v) {
        if required {
            report.problem(row.line, column.name, v, "the date is required (YYYY-MM-DD)");
        }
        return None;
    }
    match parse_date(v) {
        Some(d) if d > row.today => {
            let today = format_date(row.today);
            report.problem(
                row.line,
                column.name,
                v,
                format!("the date is in the future (the agency's today is {today})"),
            );
            None
        }
        // Ten characters are already the canonical form: no need to write
        // the date out again (a million times on a large import).
        Some(d) => Some(if v.len() == 10 { v.to_string() } else { format_date(d) }),
        None => {
            report.problem(row.line, column.name, v, "not a date written YYYY-MM-DD");
            None
        }
    }
}

/// A whole number in `range` (the entry form takes no fractions).
fn whole(
    row: &Row,
    column: Column,
    report: &mut Report,
    range: std::ops::RangeInclusive<f64>,
) -> Option<i64> {
    let n = number(row, column, report, range)?;
    if n.fract() != 0.0 {
        let value = row.get(column, report).unwrap_or_default();
        report.problem(row.line, column.name, value, "not a whole number");
        return None;
    }
    Some(n as i64)
}

/// Latitude and longitude, both or neither, as the entry form requires.
fn coordinates(row: &Row, report: &mut Report) -> (Option<f64>, Option<f64>) {
    let before = report.problem_count;
    let lat = number(row, col!("lat"), report, -90.0..=90.0);
    let lng = number(row, col!("lng"), report, -180.0..=180.0);
    if report.problem_count == before && lat.is_some() != lng.is_some() {
        let missing = if lat.is_none() { col!("lat") } else { col!("lng") };
        let value = row.get(missing, report).unwrap_or_default();
        report.problem(row.line, missing.name, value, "give both latitude and longitude, or neither");
    }
    (lat, lng)
}

fn clock(row: &Row, column: Column, report: &mut Report) -> Option<String> {
    let v = row.get(column, report)?;
    if is_missing(v) {
        return None;
    }
    let hm = if v.len() == 8 && v.as_bytes()[5] == b':' { &v[..5] } else { v };
    if crate::web::record_form::is_clock_time(hm) {
        Some(hm.to_string())
    } else {
        report.problem(row.line, column.name, v, "not a time written HH:MM or HH:MM:SS");
        None
    }
}

fn number(
    row: &Row,
    column: Column,
    report: &mut Report,
    range: std::ops::RangeInclusive<f64>,
) -> Option<f64> {
    let v = row.get(column, report)?;
    if is_missing(v) {
        return None;
    }
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && range.contains(&n) => Some(n),
        _ => {
            report.problem(
                row.line,
                column.name,
                v,
                format!("not a number from {} to {}", range.start(), range.end()),
            );
            None
        }
    }
}

fn text(row: &Row, column: Column, report: &mut Report, max: usize) -> String {
    let v = row.get(column, report).unwrap_or_default();
    if is_missing(v) {
        return String::new();
    }
    // Byte length bounds the character count: most values skip the count.
    if v.len() > max && v.chars().count() > max {
        report.truncated_narratives += 1;
        return v.chars().take(max).collect();
    }
    v.to_string()
}

/// Open Policing's `subject_race` as the product's code: one group each,
/// `asian/pacific islander` kept as one combined group, never split; None
/// for a value that is not one of Open Policing's.
pub fn opp_race(value: &str) -> Option<String> {
    let is = |word: &str| value.eq_ignore_ascii_case(word);
    Some(match value {
        _ if is("white") => "white".into(),
        _ if is("black") => "black".into(),
        _ if is("hispanic") => "hispanic".into(),
        _ if is("asian/pacific islander") => "asian_pacific_islander".into(),
        _ if is("other") => "other".into(),
        v if is("unknown") || is_missing(v) => String::new(),
        _ => return None,
    })
}

fn opp_reason(value: &str) -> &'static str {
    let v = value.to_ascii_lowercase();
    if v.contains("traffic")
        || v.contains("moving")
        || v.contains("speed")
        || v.contains("equipment")
        || v.contains("registration")
    {
        "traffic_violation"
    } else if v.contains("suspic") {
        "reasonable_suspicion"
    } else if v.contains("warrant") {
        "known_warrant"
    } else if v.contains("parole") || v.contains("probation") {
        "parole_probation"
    } else {
        "other"
    }
}

fn opp_search_basis(value: &str) -> Option<&'static str> {
    match value.to_ascii_lowercase().as_str() {
        "k9" => Some("canine"),
        "plain view" => Some("visible_contraband"),
        "consent" => Some("consent"),
        "probable cause" => Some("probable_cause"),
        "other" => Some("other"),
        v if is_missing(v) => None,
        _ => Some("other"),
    }
}

fn opp_stop(row: &Row, report: &mut Report, officers: &HashMap<String, i64>) -> Option<Stop> {
    let before = report.problem_count;
    let stop_date = date(row, col!("date"), report, true);
    let race = row.get(col!("subject_race"), report).unwrap_or_default();
    let race = match opp_race(race) {
        Some(code) => code,
        None => {
            report.problem(
                row.line,
                "subject_race",
                race,
                "expected white, black, hispanic, asian/pacific islander, other, unknown or NA",
            );
            String::new()
        }
    };
    let sex = row.get(col!("subject_sex"), report).unwrap_or_default();
    let is = |v: &str, word: &str| v.eq_ignore_ascii_case(word);
    let gender = match sex {
        v if is(v, "male") => "male",
        v if is(v, "female") => "female",
        v if is(v, "unknown") || is_missing(v) => "",
        _ => {
            report.problem(row.line, "subject_sex", sex, "expected male, female or NA");
            ""
        }
    };
    let kind = row.get(col!("type"), report).unwrap_or_default();
    let stop_type = match kind {
        v if is(v, "vehicular") || is(v, "vehicle") => "vehicle",
        v if is(v, "pedestrian") => "pedestrian",
        v if is(v, "bicycle") => "bicycle",
        v if is_missing(v) => "unknown",
        _ => {
            report.problem(row.line, "type", kind, "expected vehicular, pedestrian or NA");
            "unknown"
        }
    };
    let officer = row.get(col!("officer_id_hash"), report).unwrap_or_default();
    let officer_id = if is_missing(officer) {
        None
    } else {
        let found = officers.get(&crate::officers::store::badge_key(officer)).copied();
        if found.is_none() {
            *report.unknown_officers.entry(officer.to_string()).or_default() += 1;
        }
        found
    };
    let arrest = flag(row, col!("arrest_made"), report) == Some(true);
    let citation = flag(row, col!("citation_issued"), report) == Some(true);
    let warning = flag(row, col!("warning_issued"), report) == Some(true);
    let outcome = row.get(col!("outcome"), report).unwrap_or_default();
    let mut results = Vec::new();
    if arrest || is(outcome, "arrest") {
        results.push("arrest_without_warrant");
    }
    if citation || is(outcome, "citation") || is(outcome, "summons") {
        results.push("citation");
    }
    if warning || is(outcome, "warning") {
        results.push("warning");
    }
    if results.is_empty() {
        results.push("no_action");
    }
    let frisk = flag(row, col!("frisk_performed"), report) == Some(true);
    let search = flag(row, col!("search_conducted"), report) == Some(true);
    let person = flag(row, col!("search_person"), report) == Some(true);
    let vehicle = flag(row, col!("search_vehicle"), report) == Some(true);
    let mut actions = Vec::new();
    if frisk {
        actions.push("frisk");
    }
    if person {
        actions.push("search_person");
    }
    if vehicle || (search && !person) {
        actions.push("search_property");
    }
    let searched = search || person || vehicle;
    let contraband = match flag(row, col!("contraband_found"), report) {
        Some(true) if !searched => {
            let value = row.get(col!("contraband_found"), report).unwrap_or_default();
            report.problem(
                row.line,
                "contraband_found",
                value,
                "contraband found only goes with a search (search_conducted, search_person or search_vehicle TRUE)",
            );
            String::new()
        }
        Some(true) => ",other,".to_string(),
        Some(false) if searched => ",none,".to_string(),
        _ => String::new(),
    };
    let basis = row.get(col!("search_basis"), report).unwrap_or_default();
    let search_basis =
        opp_search_basis(basis).filter(|_| searched).map(|b| format!(",{b},")).unwrap_or_default();
    let reason_text = row.get(col!("reason_for_stop"), report).unwrap_or_default();
    let reason = if is_missing(reason_text) { "other" } else { opp_reason(reason_text) };
    let violation = text(row, col!("violation"), report, NARRATIVE_MAX);
    let narrative = if violation.is_empty() && !is_missing(reason_text) {
        reason_text.chars().take(NARRATIVE_MAX).collect()
    } else {
        violation
    };
    let (lat, lng) = coordinates(row, report);
    let stop = Stop {
        stop_date: stop_date.unwrap_or_default(),
        stop_time: clock(row, col!("time"), report),
        location: text(row, col!("location"), report, 200),
        district: text(row, col!("district"), report, 40),
        lat,
        lng,
        stop_type: stop_type.into(),
        officer_id,
        perceived_race: if race.is_empty() { String::new() } else { format!(",{race},") },
        perceived_gender: gender.into(),
        perceived_age: number(row, col!("subject_age"), report, 1.0..=120.0).map(|a| a.round() as i64),
        reason: reason.into(),
        reason_narrative: narrative,
        actions: pack(&actions),
        searched: searched as i64,
        search_basis,
        contraband,
        results: pack(&results),
        ..Default::default()
    };
    (report.problem_count == before).then_some(stop)
}

fn codes(row: &Row, column: Column, report: &mut Report, allowed: &[&str]) -> String {
    let v = row.get(column, report).unwrap_or_default();
    let list: Vec<String> =
        v.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect();
    if let Some(bad) = list.iter().find(|c| !allowed.contains(&c.as_str())) {
        report.problem(row.line, column.name, bad, format!("not one of: {}", allowed.join(", ")));
    }
    pack(&list)
}

fn one(row: &Row, column: Column, report: &mut Report, allowed: &[&str]) -> String {
    let v = row.get(column, report).unwrap_or_default();
    if !allowed.contains(&v) {
        report.problem(row.line, column.name, v, format!("not one of: {}", allowed.join(", ")));
    }
    v.to_string()
}

fn native_stop(row: &Row, report: &mut Report, officers: &HashMap<String, i64>) -> Option<Stop> {
    let before = report.problem_count;
    let with_unknown = |list: &[(&'static str, &'static str)], extra: &[&'static str]| -> Vec<&'static str> {
        list.iter().map(|(c, _)| *c).chain(extra.iter().copied()).collect()
    };
    let bit = |row: &Row, c: Column, report: &mut Report| flag(row, c, report).unwrap_or(false) as i64;
    let badge = row.get(col!("officer_badge"), report).unwrap_or_default();
    let officer_id = if badge.is_empty() {
        None
    } else {
        let found = officers.get(&crate::officers::store::badge_key(badge)).copied();
        if found.is_none() {
            report.problem(row.line, "officer_badge", badge, "no officer has this badge number");
        }
        found
    };
    let races: Vec<&str> = with_unknown(RACE_GROUPS, &[]);
    let (lat, lng) = coordinates(row, report);
    let stop = Stop {
        stop_date: date(row, col!("stop_date"), report, true).unwrap_or_default(),
        stop_time: clock(row, col!("stop_time"), report),
        duration_minutes: whole(row, col!("duration_minutes"), report, 1.0..=1440.0),
        location: text(row, col!("location"), report, 200),
        district: text(row, col!("district"), report, 40),
        lat,
        lng,
        stop_type: one(row, col!("stop_type"), report, &with_unknown(STOP_TYPES, &["unknown"])),
        call_for_service: bit(row, col!("call_for_service"), report),
        officer_id,
        assignment: text(row, col!("assignment"), report, 60),
        years_of_service: whole(row, col!("years_of_service"), report, 0.0..=60.0),
        perceived_race: codes(row, col!("perceived_race"), report, &races),
        perceived_gender: one(row, col!("perceived_gender"), report, &with_unknown(GENDERS, &[""])),
        perceived_age: whole(row, col!("perceived_age"), report, 1.0..=120.0),
        limited_english: bit(row, col!("limited_english"), report),
        perceived_disability: bit(row, col!("perceived_disability"), report),
        reason: one(row, col!("reason"), report, &with_unknown(REASONS, &[])),
        traffic_violation: one(row, col!("traffic_violation"), report, &with_unknown(TRAFFIC_KINDS, &[""])),
        reason_narrative: text(row, col!("reason_narrative"), report, NARRATIVE_MAX),
        actions: codes(row, col!("actions"), report, &with_unknown(super::ACTIONS, &[])),
        searched: bit(row, col!("searched"), report),
        search_basis: codes(row, col!("search_basis"), report, &SEARCH_BASIS_CODES),
        contraband: codes(row, col!("contraband"), report, &with_unknown(super::CONTRABAND, &[])),
        results: codes(row, col!("results"), report, &with_unknown(RESULTS, &[])),
        result_narrative: text(row, col!("result_narrative"), report, NARRATIVE_MAX),
        immigration_status_asked: bit(row, col!("immigration_status_asked"), report),
        ice_contacted: bit(row, col!("ice_contacted"), report),
        action_287g: bit(row, col!("action_287g"), report),
        // Read so an export imports back, but never taken: the store
        // decides every exception (`compliance::exceptions`).
        exception: String::new(),
        ..Default::default()
    };
    native_rules(row, &stop, report);
    (report.problem_count == before).then_some(stop)
}

/// The entry form's rules between elements (`stops::validate`), checked on
/// a native row. What the form requires but an import may leave unknown
/// (Open Policing has no such column, and its stops export natively too)
/// stays optional: the time, the location, the narrative, the search basis
/// and contraband of a search, the kind of a traffic violation.
fn native_rules(row: &Row, stop: &Stop, report: &mut Report) {
    let mut problem = |column: Column, reason: &str| {
        let value = row.get(column, report).unwrap_or_default();
        report.problem(row.line, column.name, value, reason);
    };
    if !stop.traffic_violation.is_empty() && stop.reason != "traffic_violation" {
        problem(
            col!("traffic_violation"),
            "a kind of traffic violation only goes with the reason traffic_violation",
        );
    }
    let actions = super::unpack(&stop.actions);
    let search = actions.iter().any(|a| a == "search_person" || a == "search_property");
    if (stop.searched != 0) != search {
        problem(
            col!("searched"),
            "searched is 1 exactly when the actions include search_person or search_property",
        );
    }
    if !search && !stop.search_basis.is_empty() {
        problem(
            col!("search_basis"),
            "a search basis only goes with search_person or search_property among the actions",
        );
    }
    let contraband = super::unpack(&stop.contraband);
    if !search && !contraband.is_empty() {
        problem(
            col!("contraband"),
            "contraband only goes with search_person or search_property among the actions",
        );
    }
    if contraband.len() > 1 && contraband.iter().any(|c| c == "none") {
        problem(col!("contraband"), "none cannot go with items found");
    }
    let results = super::unpack(&stop.results);
    if results.is_empty() {
        problem(col!("results"), "say how the stop ended: one or more results");
    }
    if results.len() > 1 && results.iter().any(|r| r == "no_action") {
        problem(col!("results"), "no_action cannot go with other results");
    }
    if stop.action_287g != 0 && stop.ice_contacted == 0 && !results.iter().any(|r| r == "contacted_ice") {
        problem(col!("ice_contacted"), "a 287(g) action means ICE was contacted: ice_contacted must be 1");
    }
}

/// Imports `path` into the agency's stops; `force` imports a file the
/// agency imported before.
pub async fn import(
    scope: &Scope,
    actor: &Actor,
    path: &std::path::Path,
    format: Format,
    force: bool,
) -> anyhow::Result<Report> {
    let officers = crate::officers::store::ids_by_badge(scope).await?;
    let today = crate::agency::store::get(scope).await?.today();
    let mut tx = scope.begin_write().await?;
    // Exceptions are decided by the one rule every write path uses; a
    // file's own `exception` column is never taken.
    let authority = crate::compliance::exceptions::Authority::load(&mut tx).await?;
    let bulk = Bulk::begin(&mut tx, path).await?;
    let (mut report, aggregates) = read_into(&mut tx, &authority, path, format, officers, today).await?;
    // The file's fingerprint is known once it has been read; a file the
    // agency imported before (its own chain says so) is refused then,
    // before anything is committed. Another agency's import of the same
    // file is theirs, and no reason to refuse it here.
    let seen: i64 = db::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE agency_id = $1 AND action = 'stop.import' AND details LIKE $2",
    )
    .bind(scope.id())
    .bind(format!("%\"sha256\":\"{}\"%", report.sha256))
    .fetch_one(&mut *tx)
    .await?;
    report.already_imported = seen > 0 && !force;
    if report.problem_count > 0 || report.already_imported {
        bulk.abandon(&mut tx).await?;
        tx.rollback().await?;
        return Ok(report);
    }
    bulk.finish(&mut tx, aggregates).await?;
    let details = json!({
        "format": format.name(), "sha256": report.sha256, "rows": report.rows, "forced": force && seen > 0,
        "unknown_columns": report.unknown_columns, "unknown_officers": report.unknown_officers.len(),
    });
    audit::record(&mut tx, actor, Event::new("stop.import", "stop", "").details(details)).await?;
    tx.commit().await?;
    report.imported = report.rows;
    Ok(report)
}

/// A large write of stops inside a transaction (an import, a package):
/// what it sets up before the rows go in and undoes after.
pub struct Bulk {
    /// The indexes dropped, to build again.
    dropped: Vec<String>,
}

impl Bulk {
    /// A bigger page cache for this connection while it writes: the stop
    /// indexes take random inserts, and the default 2 MiB cache turns them
    /// into disk reads (the setting is the connection's, not the
    /// transaction's, so `finish` and `abandon` put it back). A file as
    /// large as half the table: the indexes are built afresh after the
    /// rows go in (`store::drop_indexes`). Rows are estimated from the size
    /// (an Open Policing row is about 160 bytes, a native one more), so a
    /// file is rather under- than over-counted.
    pub async fn begin(tx: &mut crate::db::Tx, path: &std::path::Path) -> Result<Bulk, sqlx::Error> {
        cache_size(tx, -65536).await?;
        let estimated_rows = std::fs::metadata(path).map(|m| m.len() / 250).unwrap_or(0);
        let dropped = if super::store::rebuild_pays(tx, estimated_rows).await? {
            // Rows are then appended in id order and need no large cache;
            // building an index sorts in memory up to the cache size, which
            // at 64 MiB took the import's peak from 190 to 270 MiB.
            cache_size(tx, -16384).await?;
            super::store::drop_indexes(tx).await?
        } else {
            Vec::new()
        };
        Ok(Bulk { dropped })
    }

    /// After rows that all went in: the indexes, the table's size and the
    /// aggregates counted (`read_into`), in the transaction.
    pub async fn finish(
        self,
        tx: &mut crate::db::Tx,
        aggregates: super::aggregates::Counter,
    ) -> Result<(), sqlx::Error> {
        // Before the cache shrinks: a fresh index is built through it.
        // Before the count is awaited: the counter may still be hashing the
        // last batches on the other core while SQLite sorts.
        super::store::restore_indexes(tx, &self.dropped).await?;
        super::store::note_sizes(tx).await?;
        aggregates.finish().await?.write(tx).await?;
        cache_size(tx, -2000).await
    }

    /// Before a rollback (which brings the dropped indexes back).
    pub async fn abandon(self, tx: &mut crate::db::Tx) -> Result<(), sqlx::Error> {
        cache_size(tx, -2000).await
    }
}

/// Reads and checks every row of `path` and writes the good ones into
/// `tx` (the import's, a package's), with exceptions from `authority`;
/// returns the report and the aggregates counted, which the caller writes
/// (`Counter::finish`) if it commits. Reading and checking run on a
/// blocking thread while this task writes the batches it sends: the two
/// halves of the work overlap on two cores.
pub async fn read_into(
    tx: &mut crate::db::Tx,
    authority: &crate::compliance::exceptions::Authority,
    path: &std::path::Path,
    format: Format,
    officers: HashMap<String, i64>,
    today: time::Date,
) -> anyhow::Result<(Report, super::aggregates::Counter)> {
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<Stop>>(2);
    // Batches come back to the reader once counted (`Counter::returning`).
    let (back, returned) = std::sync::mpsc::channel::<Vec<Stop>>();
    let file = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        read_rows(&file, format, &officers, today, Report::default(), Batches { sender, returned })
    });
    let aggregates =
        super::aggregates::Counter::returning(super::aggregates::Pending::load(tx).await?, Some(back));
    let mut written = Ok(());
    while let Some(batch) = batches.recv().await {
        if written.is_ok() {
            written = super::store::insert_many(tx, authority, batch, &aggregates).await;
        }
    }
    let report = reader.await??;
    written?;
    Ok((report, aggregates))
}

/// Sets the page cache of the importing connection, in KiB when negative
/// (SQLite's setting; PostgreSQL's cache is the server's, nothing to set).
async fn cache_size(tx: &mut crate::db::Tx, size: i64) -> Result<(), sqlx::Error> {
    if tx.sqlite().is_some() {
        db::query(&format!("PRAGMA cache_size = {size}")).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A batch in date order: the date index then takes a run of neighbouring
/// entries per day, instead of one scattered insertion per row of a file in
/// no date order (a third faster on a shuffled million). An index is sorted,
/// then each stop moved once: sorting the stops themselves moved each
/// 700-byte record a dozen times. The batch is left empty with its room,
/// to be filled again: a fresh batch is megabytes the system has to zero.
fn by_date(batch: &mut Vec<Stop>, mut sorted: Vec<Stop>) -> Vec<Stop> {
    let mut order: Vec<u32> = (0..batch.len() as u32).collect();
    order.sort_by(|a, b| batch[*a as usize].stop_date.cmp(&batch[*b as usize].stop_date));
    sorted.extend(order.into_iter().map(|i| std::mem::take(&mut batch[i as usize])));
    batch.clear();
    sorted
}

/// Where the reader sends full batches, and gets counted ones back.
struct Batches {
    sender: tokio::sync::mpsc::Sender<Vec<Stop>>,
    returned: std::sync::mpsc::Receiver<Vec<Stop>>,
}

impl Batches {
    /// Sends the batch in date order, in a counted batch's room when one
    /// has come back (its stops are freed here, where they were made).
    /// False when the writer stopped.
    fn send(&self, batch: &mut Vec<Stop>) -> bool {
        let room = match self.returned.try_recv() {
            Ok(mut counted) => {
                counted.clear();
                counted
            }
            Err(_) => Vec::with_capacity(batch.len()),
        };
        self.sender.blocking_send(by_date(batch, room)).is_ok()
    }
}

/// Reads and checks every row, sending full batches of good rows to the
/// writer until the first problem; after that rows are only checked, so
/// the report lists every problem.
fn read_rows(
    path: &std::path::Path,
    format: Format,
    officers: &HashMap<String, i64>,
    today: time::Date,
    mut report: Report,
    batches: Batches,
) -> anyhow::Result<Report> {
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut reader = crate::exchange::lines::Reader::new(
        csv::ReaderBuilder::new().flexible(true),
        LineLimit { inner: file, run: 0, hasher: Sha256::new() },
    );
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report.problem(1, "", "", format!("the header row cannot be read: {e}"));
            return Ok(report);
        }
    };
    if headers.is_empty() || (headers.len() == 1 && headers.get(0).is_some_and(|h| h.is_empty())) {
        report.problem(1, "", "", "the file is empty: a header row naming the columns is required");
        return Ok(report);
    }
    let mut index = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_lowercase();
        index.insert(name, i);
    }
    let (known, required): (&[&str], &[&str]) = match format {
        Format::Opp => (&OPP_COLUMNS, &["date"]),
        Format::Native => (&NATIVE_COLUMNS, &NATIVE_COLUMNS),
    };
    for column in required {
        if !index.contains_key(*column) {
            report.problem(1, column, "", "this required column is missing from the header row");
        }
    }
    report.unknown_columns = index.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
    // Only the format's own columns: a native column in an Open Policing
    // file is ignored (and listed), not read.
    let mut positions = [None; SLOTS];
    for (name, i) in index.iter().filter(|(k, _)| known.contains(&k.as_str())) {
        if let Some(n) = slot(name) {
            positions[n] = Some(*i);
        }
    }
    report.unknown_columns.sort();
    if report.problem_count > 0 {
        return Ok(report);
    }
    let mut batch: Vec<Stop> = Vec::with_capacity(super::store::BULK_ROWS);
    let mut record = csv::ByteRecord::new();
    loop {
        let line = match reader.read_byte_record(&mut record) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, e)) => {
                report.problem(line, "", "", format!("the file cannot be read past this line: {e}"));
                break;
            }
        };
        report.rows += 1;
        let row = Row { line, record: &record, positions: &positions, today };
        let stop = match format {
            Format::Opp => opp_stop(&row, &mut report, officers),
            Format::Native => native_stop(&row, &mut report, officers),
        };
        if let (Some(stop), 0) = (stop, report.problem_count) {
            batch.push(stop);
            if batch.len() == super::store::BULK_ROWS {
                // The writer stopped (a database error): stop reading too.
                if !batches.send(&mut batch) {
                    break;
                }
            }
        }
    }
    if report.rows == 0 && report.problem_count == 0 {
        report.problem(2, "", "", "the file has a header row but no records");
    }
    if report.problem_count == 0 && !batch.is_empty() {
        let _ = batches.send(&mut batch);
    }
    report.sha256 = fingerprint(reader);
    Ok(report)
}

/// Reads what is left of the file (after an early stop) into the hash and
/// returns the file's SHA-256.
fn fingerprint<R: Read>(reader: crate::exchange::lines::Reader<LineLimit<R>>) -> String {
    let mut rest = reader.into_inner();
    let _ = std::io::copy(&mut rest, &mut std::io::sink());
    hex::encode(rest.hasher.finalize())
}

/// What the report says in words, one line each (CLI and web).
pub fn summary(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if report.already_imported {
        lines.push(format!("This file was imported before (SHA-256 {}). Nothing was imported; import it again only on purpose (--force).", report.sha256));
        return lines;
    }
    if report.problem_count > 0 {
        lines.extend(report.problems.iter().map(|p| p.to_string()));
        if report.problem_count > report.problems.len() as u64 {
            lines.push(format!(
                "… and {} not listed.",
                counted(report.problem_count - report.problems.len() as u64, "more problem", "more problems")
            ));
        }
        lines.push(format!(
            "Nothing was imported: {} in {}.",
            counted(report.problem_count, "problem", "problems"),
            counted(report.rows, "row", "rows")
        ));
    } else {
        lines.push(format!(
            "Imported {} (SHA-256 {}).",
            counted(report.imported, "stop", "stops"),
            report.sha256
        ));
    }
    if !report.unknown_columns.is_empty() {
        lines.push(format!(
            "Columns ignored (not part of the format): {}.",
            report.unknown_columns.join(", ")
        ));
    }
    if !report.unknown_officers.is_empty() {
        let sample: Vec<String> =
            report.unknown_officers.iter().take(10).map(|(k, n)| format!("{k} ({n})")).collect();
        let unknown = report.unknown_officers.len();
        let (noun, verb) = if unknown == 1 { ("identifier", "matches") } else { ("identifiers", "match") };
        lines.push(format!(
            "{unknown} officer {noun} {verb} no badge; their stops have no officer: {}.",
            sample.join(", ")
        ));
    }
    if report.truncated_narratives > 0 {
        let (texts, were) =
            if report.truncated_narratives == 1 { ("text was", "was") } else { ("texts were", "were") };
        lines.push(format!(
            "{} {texts} longer than the element allows and {were} shortened.",
            report.truncated_narratives
        ));
    }
    lines
}
