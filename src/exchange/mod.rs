//! CSV exchange of the smaller record kinds (arrests, complaints, pay
//! periods, leads) in the product's own columns: every row is checked by
//! the same validation as the entry form, every problem is reported with
//! its line and column, and nothing is written unless every row is right.
//! Stops, which come by the million, have their own streaming path
//! (`stops::import`); every import, stops and training included, reads its
//! CSV through `lines`, which numbers rows as a text editor does.

pub mod lines;
pub mod routes;

use crate::agency::Scope;
use crate::db;
use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::web::record_form::RecordForm;
use crate::web::{FieldErrors, counted};

pub use crate::stops::import::{MAX_LISTED, Problem};

/// A record kind's columns and how its form fields are named in them.
pub struct Layout {
    pub kind: &'static str,
    pub columns: &'static [&'static str],
    /// Columns whose values are lists separated by ';'.
    pub lists: &'static [&'static str],
}

#[derive(Debug, Default)]
pub struct Checked<T> {
    pub rows: Vec<T>,
    pub problems: Vec<Problem>,
    pub problem_count: u64,
    pub sha256: String,
}

impl<T> Checked<T> {
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

/// Reads `bytes` as CSV with `layout`'s header, turns each row into a
/// form and checks it with `check`; `field_column` names the column of a
/// form field for the report.
pub fn read<T>(
    bytes: &[u8],
    layout: &Layout,
    field_column: impl Fn(&str) -> String,
    mut check: impl FnMut(&RecordForm) -> Result<T, FieldErrors>,
) -> Checked<T> {
    let mut out = Checked {
        rows: Vec::new(),
        problems: Vec::new(),
        problem_count: 0,
        sha256: hex::encode(Sha256::digest(bytes)),
    };
    let mut reader = lines::Reader::new(csv::ReaderBuilder::new().flexible(true), bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect(),
        Err(e) => {
            out.problem(1, "", "", format!("the header row cannot be read: {e}"));
            return out;
        }
    };
    if headers.iter().all(|h| h.is_empty()) {
        out.problem(1, "", "", "the file is empty: a header row naming the columns is required");
        return out;
    }
    for column in layout.columns {
        if !headers.iter().any(|h| h == column) {
            out.problem(1, column, "", "this required column is missing from the header row");
        }
    }
    if out.problem_count > 0 {
        return out;
    }
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    let mut record = csv::StringRecord::new();
    loop {
        let line = match reader.read_record(&mut record) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err((line, e)) => {
                out.problem(line, "", "", format!("the row cannot be read: {e}"));
                continue;
            }
        };
        let value = |c: &str| {
            index
                .get(c)
                .and_then(|i| record.get(*i))
                .map(|v| restore(v.trim()).to_string())
                .unwrap_or_default()
        };
        let mut pairs = Vec::new();
        for column in layout.columns {
            let v = value(column);
            if layout.lists.contains(column) {
                pairs.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| (column.to_string(), c.to_string())),
                );
            } else {
                pairs.push((column.to_string(), v));
            }
        }
        let form = RecordForm::from_pairs(pairs, layout.lists);
        match check(&form) {
            Ok(row) => out.rows.push(row),
            Err(errors) => {
                for (field, message) in errors.iter() {
                    let column = field_column(field);
                    out.problem(line, &column, &value(&column), message.clone());
                }
            }
        }
    }
    if out.rows.is_empty() && out.problem_count == 0 {
        out.problem(2, "", "", "the file has a header row but no records");
    }
    out
}

/// Undoes the export's formula neutralisation ("'=x" back to "=x").
fn restore(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// Writes a header and rows, neutralising formula-like cells.
pub fn write(columns: &[&str], rows: impl Iterator<Item = Vec<String>>) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(columns)?;
    for row in rows {
        writer.write_record(row.iter().map(|c| crate::web::spreadsheet_safe(c)))?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The lines a report prints (CLI and web).
pub fn summary<T>(kind: &str, checked: &Checked<T>, imported: usize) -> Vec<String> {
    let mut lines: Vec<String> = checked.problems.iter().map(|p| p.to_string()).collect();
    if checked.problem_count > checked.problems.len() as u64 {
        lines.push(format!(
            "… and {} not listed.",
            counted(checked.problem_count - checked.problems.len() as u64, "more problem", "more problems")
        ));
    }
    if checked.problem_count > 0 {
        lines.push(format!(
            "Nothing was imported: {}.",
            counted(checked.problem_count, "problem", "problems")
        ));
    } else {
        // "arrests" → "arrest", "pay periods" → "pay period".
        let one = kind.strip_suffix('s').unwrap_or(kind);
        lines.push(format!("Imported {} (SHA-256 {}).", counted(imported, one, kind), checked.sha256));
    }
    lines
}

/// How to import a file again on purpose, on the command line.
pub const AGAIN_CLI: &str = "To import it again on purpose, add --force.";
/// The same on the import form, whose checkbox is the command line's --force.
pub const AGAIN_WEB: &str = "To import it again on purpose, tick \"Import even if this same file was imported before\" and send it again.";

/// The record kinds exchanged here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Arrests,
    Complaints,
    Pay,
    Leads,
}

impl Kind {
    pub fn parse(value: &str) -> Option<Kind> {
        match value {
            "arrests" => Some(Kind::Arrests),
            "complaints" => Some(Kind::Complaints),
            "pay" => Some(Kind::Pay),
            "leads" => Some(Kind::Leads),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Arrests => "arrests",
            Kind::Complaints => "complaints",
            Kind::Pay => "pay",
            Kind::Leads => "leads",
        }
    }
    pub fn layout(self) -> Layout {
        match self {
            Kind::Arrests => Layout { kind: "arrests", columns: &ARREST_COLUMNS, lists: &["perceived_race"] },
            Kind::Complaints => Layout {
                kind: "complaints",
                columns: &COMPLAINT_COLUMNS,
                lists: &["officer_badges", "forwarded_to"],
            },
            Kind::Pay => Layout { kind: "pay periods", columns: &PAY_COLUMNS, lists: &[] },
            Kind::Leads => Layout { kind: "quarterly leads", columns: &LEADS_COLUMNS, lists: &[] },
        }
    }
}

pub const ARREST_COLUMNS: [&str; 21] = [
    "arrest_date",
    "arrest_time",
    "officer_badge",
    "stop_id",
    "person_name",
    "person_dob",
    "charges",
    "offense_code",
    "offense_class",
    "priority_level",
    "arrest_type",
    "detainer_lodged",
    "removal_paperwork",
    "warrant_served",
    "transferred_date",
    "transferred_time",
    "released_date",
    "released_time",
    "perceived_race",
    "perceived_gender",
    "perceived_age",
];
/// Personal data: left out of exports for roles that may not see it.
pub const PERSONAL_COLUMNS: [&str; 2] = ["person_name", "person_dob"];
pub const COMPLAINT_COLUMNS: [&str; 11] = [
    "received_on",
    "channel",
    "allegation",
    "summary",
    "officer_badges",
    "stop_id",
    "arrest_id",
    "forwarded_to",
    "forwarded_on",
    "disposition",
    "closed_on",
];
pub const PAY_COLUMNS: [&str; 6] =
    ["officer_badge", "period_start", "period_end", "base_pay", "overtime_hours", "overtime_pay"];
pub const LEADS_COLUMNS: [&str; 4] = ["officer_badge", "quarter", "received", "located"];

fn split_moment(value: &Option<String>) -> (String, String) {
    value
        .as_deref()
        .and_then(|v| v.split_once(' '))
        .map(|(d, t)| (d.to_string(), t.to_string()))
        .unwrap_or_default()
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An arrest as a CSV row in `ARREST_COLUMNS`; `badge` names an officer
/// and `stop` a stop (its id in an export, its place in a package).
pub fn arrest_row(a: &crate::arrests::Arrest, badge: &str, stop: String) -> Vec<String> {
    let (td, tt) = split_moment(&a.transferred_at);
    let (rd, rt) = split_moment(&a.released_at);
    vec![
        a.arrest_date.clone(),
        a.arrest_time.clone(),
        badge.to_string(),
        stop,
        a.person_name.clone(),
        a.person_dob.clone().unwrap_or_default(),
        a.charges.clone(),
        a.offense_code.clone(),
        a.offense_class.clone(),
        a.priority_level.clone(),
        a.arrest_type.clone(),
        a.detainer_lodged.to_string(),
        a.removal_paperwork.to_string(),
        a.warrant_served.to_string(),
        td,
        tt,
        rd,
        rt,
        crate::stops::unpack(&a.perceived_race).join(";"),
        a.perceived_gender.clone(),
        opt(a.perceived_age),
    ]
}

/// A complaint as a CSV row in `COMPLAINT_COLUMNS`; `badges` are its
/// officers', `stop` and `arrest` name the records it concerns.
pub fn complaint_row(
    c: &crate::complaints::Complaint,
    badges: &[String],
    stop: String,
    arrest: String,
) -> Vec<String> {
    vec![
        c.received_on.clone(),
        c.channel.clone(),
        c.allegation.clone(),
        c.summary.clone(),
        badges.join(";"),
        stop,
        arrest,
        crate::stops::unpack(&c.forwarded_to).join(";"),
        c.forwarded_on.clone().unwrap_or_default(),
        c.disposition.clone(),
        c.closed_on.clone().unwrap_or_default(),
    ]
}

/// A pay period as a CSV row in `PAY_COLUMNS`.
pub fn pay_row(p: &crate::pay::PayPeriod, badge: &str) -> Vec<String> {
    vec![
        badge.to_string(),
        p.period_start.clone(),
        p.period_end.clone(),
        money(p.base_pay_cents),
        crate::training::format_hours(p.overtime_hours),
        money(p.overtime_pay_cents),
    ]
}

/// A quarter's leads as a CSV row in `LEADS_COLUMNS`.
pub fn leads_row(l: &crate::pay::Leads, badge: &str) -> Vec<String> {
    vec![badge.to_string(), l.quarter.clone(), l.received.to_string(), l.located.to_string()]
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The rows of a kind as CSV; `personal` keeps names and dates of birth.
pub async fn export(scope: &Scope, kind: Kind, personal: bool) -> anyhow::Result<(Vec<u8>, usize)> {
    let badges: HashMap<i64, String> =
        db::query_as::<(i64, String)>("SELECT id, badge FROM officers WHERE agency_id = $1")
            .bind(scope.id())
            .fetch_all(scope)
            .await?
            .into_iter()
            .collect();
    let badge = |id: Option<i64>| id.and_then(|i| badges.get(&i).cloned()).unwrap_or_default();
    let (columns, rows): (Vec<&str>, Vec<Vec<String>>) = match kind {
        Kind::Arrests => {
            let all = crate::arrests::store::all(scope).await?;
            let rows = all.iter().map(|a| arrest_row(a, &badge(a.officer_id), opt(a.stop_id))).collect();
            (ARREST_COLUMNS.to_vec(), rows)
        }
        Kind::Complaints => {
            let all = crate::complaints::store::all(scope).await?;
            let rows = all
                .iter()
                .map(|c| {
                    let officers: Vec<String> =
                        c.officer_ids().into_iter().map(|id| badge(Some(id))).collect();
                    complaint_row(c, &officers, opt(c.stop_id), opt(c.arrest_id))
                })
                .collect();
            (COMPLAINT_COLUMNS.to_vec(), rows)
        }
        Kind::Pay => {
            let all = crate::pay::store::all_pay(scope).await?;
            (PAY_COLUMNS.to_vec(), all.iter().map(|p| pay_row(p, &badge(Some(p.officer_id)))).collect())
        }
        Kind::Leads => {
            let all = crate::pay::store::all_leads(scope).await?;
            (LEADS_COLUMNS.to_vec(), all.iter().map(|l| leads_row(l, &badge(Some(l.officer_id)))).collect())
        }
    };
    let keep: Vec<usize> =
        (0..columns.len()).filter(|i| personal || !PERSONAL_COLUMNS.contains(&columns[*i])).collect();
    let header: Vec<&str> = keep.iter().map(|i| columns[*i]).collect();
    let count = rows.len();
    let body = write(&header, rows.into_iter().map(|r| keep.iter().map(|i| r[*i].clone()).collect()))?;
    Ok((body, count))
}

/// A checked row of any kind, ready to insert.
pub enum Parsed {
    Arrest(Box<crate::arrests::Arrest>),
    Complaint(crate::complaints::Complaint),
    Pay(crate::pay::PayPeriod),
    Leads(crate::pay::Leads),
}

fn flags_to_ticks(form: &mut RecordForm, flags: &[&str]) {
    for f in flags {
        let v = form.value(f).to_ascii_lowercase();
        if v.is_empty() || v == "0" || v == "false" {
            form.fields.remove(*f);
        }
    }
}

/// What a file's rows may refer to, in the agency that takes them.
pub struct Known {
    /// Officer ids by `officers::store::badge_key`.
    pub badges: HashMap<String, i64>,
    pub stops: std::collections::HashSet<i64>,
    pub arrests: std::collections::HashSet<i64>,
    pub today: time::Date,
    /// The file carries names and dates of birth; without them (a
    /// package, docs/packages.md) each arrest holds `WITHHELD` instead.
    pub personal: bool,
}

/// The name an arrest holds when its source sent none (docs/packages.md).
pub const WITHHELD: &str = "(withheld by the agency)";

impl Known {
    /// What the agency holds now.
    pub async fn of(scope: &Scope) -> anyhow::Result<Known> {
        let ids = |table: &str| format!("SELECT id FROM {table} WHERE agency_id = $1");
        Ok(Known {
            badges: crate::officers::store::ids_by_badge(scope).await?,
            stops: db::query_scalar(&ids("stops"))
                .bind(scope.id())
                .fetch_all(scope)
                .await?
                .into_iter()
                .collect(),
            arrests: db::query_scalar(&ids("arrests"))
                .bind(scope.id())
                .fetch_all(scope)
                .await?
                .into_iter()
                .collect(),
            today: crate::agency::store::get(scope).await?.today(),
            personal: true,
        })
    }

    fn officer(&self, badge: &str) -> Option<i64> {
        self.badges.get(&crate::officers::store::badge_key(badge)).copied()
    }

    fn officer_field(&self, badge: &str) -> String {
        self.officer(badge).map(|id| id.to_string()).unwrap_or_else(|| "0".into())
    }
}

/// A kind's layout as a file without personal columns has it.
fn layout_for(kind: Kind, personal: bool) -> Layout {
    let layout = kind.layout();
    if personal || kind != Kind::Arrests {
        return layout;
    }
    Layout { columns: &ARREST_COLUMNS_WITHOUT_PERSONAL, ..layout }
}

/// The arrest columns without the personal ones (a package's).
static ARREST_COLUMNS_WITHOUT_PERSONAL: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| {
        ARREST_COLUMNS.iter().copied().filter(|c| !PERSONAL_COLUMNS.contains(c)).collect()
    });

/// The columns a file of `kind` has (without the personal ones unless
/// `personal`).
pub fn columns(kind: Kind, personal: bool) -> &'static [&'static str] {
    layout_for(kind, personal).columns
}

/// Reads and checks every row of a file of `kind` through the same rules as
/// the entry form; writes nothing.
pub fn check(kind: Kind, bytes: &[u8], known: &Known) -> Checked<Parsed> {
    let layout = layout_for(kind, known.personal);
    let officer_ids: std::collections::HashSet<i64> = known.badges.values().copied().collect();
    let today = known.today;
    match kind {
        Kind::Arrests => read(
            bytes,
            &layout,
            |f| if f == "officer_id" { "officer_badge".into() } else { f.to_string() },
            |form| {
                let mut form = form.clone();
                form.set("officer_id", known.officer_field(form.value("officer_badge")));
                if !known.personal {
                    form.set("person_name", WITHHELD);
                }
                flags_to_ticks(&mut form, &["detainer_lodged", "removal_paperwork", "warrant_served"]);
                crate::arrests::validate(
                    &form,
                    |id| officer_ids.contains(&id),
                    |id| known.stops.contains(&id),
                    today,
                )
                .map(|a| Parsed::Arrest(Box::new(a)))
            },
        ),
        Kind::Complaints => read(
            bytes,
            &layout,
            |f| if f == "officers" { "officer_badges".into() } else { f.to_string() },
            |form| {
                let mut form = form.clone();
                let ids: Vec<String> = form
                    .lists
                    .get("officer_badges")
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|b| known.officer_field(b))
                    .collect();
                form.set_list("officers", ids);
                crate::complaints::validate(
                    &form,
                    |id| officer_ids.contains(&id),
                    |id| known.stops.contains(&id),
                    |id| known.arrests.contains(&id),
                    today,
                )
                .map(Parsed::Complaint)
            },
        ),
        Kind::Pay => read(
            bytes,
            &layout,
            |f| f.to_string(),
            |form| {
                let officer = known.officer(form.value("officer_badge"));
                with_officer(crate::pay::validate_pay(form, today), officer)
                    .map(|(p, officer_id)| Parsed::Pay(crate::pay::PayPeriod { officer_id, ..p }))
            },
        ),
        Kind::Leads => read(
            bytes,
            &layout,
            |f| f.to_string(),
            |form| {
                let officer = known.officer(form.value("officer_badge"));
                with_officer(crate::pay::validate_leads(form, today), officer)
                    .map(|(l, officer_id)| Parsed::Leads(crate::pay::Leads { officer_id, ..l }))
            },
        ),
    }
}

/// A row checked by its form, refused as well when its badge is nobody's.
fn with_officer<T>(result: Result<T, FieldErrors>, officer: Option<i64>) -> Result<(T, i64), FieldErrors> {
    match (result, officer) {
        (Ok(row), Some(id)) => Ok((row, id)),
        (Err(errors), Some(_)) => Err(errors),
        (result, None) => {
            let mut errors = result.err().unwrap_or_default();
            errors.add("officer_badge", "No officer has this badge number.");
            Err(errors)
        }
    }
}

/// Writes checked rows inside the caller's transaction; each arrest's
/// exception comes from `authority`. Returns the ids given, in order.
pub async fn write_rows(
    tx: &mut db::Tx,
    authority: &crate::compliance::exceptions::Authority,
    rows: &[Parsed],
) -> anyhow::Result<Vec<i64>> {
    // A file's arrests go in together: their day digests are written once
    // a day (`arrests::store::insert_many`).
    let arrests: Vec<crate::arrests::Arrest> = rows
        .iter()
        .filter_map(|r| match r {
            Parsed::Arrest(a) => Some((**a).clone()),
            _ => None,
        })
        .collect();
    if arrests.len() == rows.len() {
        return Ok(crate::arrests::store::insert_many(tx, authority, &arrests).await?);
    }
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(match row {
            Parsed::Arrest(a) => crate::arrests::store::insert(tx, authority, a).await?.id,
            Parsed::Complaint(c) => crate::complaints::store::insert(tx, c).await?,
            Parsed::Pay(p) => crate::pay::store::insert_pay(tx, p).await?,
            Parsed::Leads(l) => crate::pay::store::insert_leads(tx, l).await?,
        });
    }
    Ok(ids)
}

/// Checks and, when every row is right, imports a file of `kind` in one
/// transaction with one audit entry. A file imported before is refused
/// unless `force`; `again` says how to ask for that where the user is
/// (`AGAIN_CLI`, `AGAIN_WEB`). Returns the report lines and whether it
/// imported.
pub async fn import(
    scope: &Scope,
    actor: &crate::audit::Actor,
    kind: Kind,
    bytes: &[u8],
    force: bool,
    again: &str,
) -> anyhow::Result<(Vec<String>, bool)> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let seen: i64 = db::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND details LIKE $2 AND agency_id = $3",
    )
    .bind(format!("{}.import", kind.name()))
    .bind(format!("%\"sha256\":\"{sha256}\"%"))
    .bind(scope.id())
    .fetch_one(scope)
    .await?;
    if seen > 0 && !force {
        let line =
            format!("This file was imported before (SHA-256 {sha256}), so nothing was imported. {again}");
        return Ok((vec![line], false));
    }
    let layout = kind.layout();
    let checked = check(kind, bytes, &Known::of(scope).await?);
    if checked.problem_count > 0 {
        return Ok((summary(layout.kind, &checked, 0), false));
    }
    let mut tx = scope.begin_write().await?;
    let authority = crate::compliance::exceptions::Authority::load(&mut tx).await?;
    if let Err(e) = write_rows(&mut tx, &authority, &checked.rows).await {
        tx.rollback().await?;
        return Ok((
            vec![format!(
                "Nothing was imported: a row could not be written ({e}); it may already be recorded."
            )],
            false,
        ));
    }
    let details =
        serde_json::json!({ "kind": kind.name(), "sha256": checked.sha256, "rows": checked.rows.len() });
    crate::audit::record(
        &mut tx,
        actor,
        crate::audit::Event::new(&format!("{}.import", kind.name()), kind.name(), "").details(details),
    )
    .await?;
    tx.commit().await?;
    Ok((summary(layout.kind, &checked, checked.rows.len()), true))
}
