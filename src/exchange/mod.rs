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
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let flag = |v: i64| v.to_string();
    let (columns, rows): (Vec<&str>, Vec<Vec<String>>) = match kind {
        Kind::Arrests => {
            let all = crate::arrests::store::all(scope).await?;
            let rows = all
                .iter()
                .map(|a| {
                    let (td, tt) = split_moment(&a.transferred_at);
                    let (rd, rt) = split_moment(&a.released_at);
                    vec![
                        a.arrest_date.clone(),
                        a.arrest_time.clone(),
                        badge(a.officer_id),
                        opt(a.stop_id),
                        a.person_name.clone(),
                        a.person_dob.clone().unwrap_or_default(),
                        a.charges.clone(),
                        a.offense_code.clone(),
                        a.offense_class.clone(),
                        a.priority_level.clone(),
                        a.arrest_type.clone(),
                        flag(a.detainer_lodged),
                        flag(a.removal_paperwork),
                        flag(a.warrant_served),
                        td,
                        tt,
                        rd,
                        rt,
                        crate::stops::unpack(&a.perceived_race).join(";"),
                        a.perceived_gender.clone(),
                        opt(a.perceived_age),
                    ]
                })
                .collect();
            (ARREST_COLUMNS.to_vec(), rows)
        }
        Kind::Complaints => {
            let all = crate::complaints::store::all(scope).await?;
            let rows = all
                .iter()
                .map(|c| {
                    let officers: Vec<String> =
                        c.officer_ids().into_iter().map(|id| badge(Some(id))).collect();
                    vec![
                        c.received_on.clone(),
                        c.channel.clone(),
                        c.allegation.clone(),
                        c.summary.clone(),
                        officers.join(";"),
                        opt(c.stop_id),
                        opt(c.arrest_id),
                        crate::stops::unpack(&c.forwarded_to).join(";"),
                        c.forwarded_on.clone().unwrap_or_default(),
                        c.disposition.clone(),
                        c.closed_on.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            (COMPLAINT_COLUMNS.to_vec(), rows)
        }
        Kind::Pay => {
            let all = crate::pay::store::all_pay(scope).await?;
            let rows = all
                .iter()
                .map(|p| {
                    vec![
                        badge(Some(p.officer_id)),
                        p.period_start.clone(),
                        p.period_end.clone(),
                        money(p.base_pay_cents),
                        crate::training::format_hours(p.overtime_hours),
                        money(p.overtime_pay_cents),
                    ]
                })
                .collect();
            (PAY_COLUMNS.to_vec(), rows)
        }
        Kind::Leads => {
            let all = crate::pay::store::all_leads(scope).await?;
            let rows = all
                .iter()
                .map(|l| {
                    vec![
                        badge(Some(l.officer_id)),
                        l.quarter.clone(),
                        l.received.to_string(),
                        l.located.to_string(),
                    ]
                })
                .collect();
            (LEADS_COLUMNS.to_vec(), rows)
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
    let today = crate::agency::store::get(scope).await?.today();
    // Badges match without regard to case, as they are unique in the agency.
    let badges = crate::officers::store::ids_by_badge(scope).await?;
    let stops: std::collections::HashSet<i64> = db::query_scalar("SELECT id FROM stops WHERE agency_id = $1")
        .bind(scope.id())
        .fetch_all(scope)
        .await?
        .into_iter()
        .collect();
    let arrests: std::collections::HashSet<i64> =
        db::query_scalar("SELECT id FROM arrests WHERE agency_id = $1")
            .bind(scope.id())
            .fetch_all(scope)
            .await?
            .into_iter()
            .collect();
    let officer_ids: std::collections::HashSet<i64> = badges.values().copied().collect();
    let layout = kind.layout();
    let officer_of = |form: &RecordForm, column: &str| {
        badges
            .get(&crate::officers::store::badge_key(form.value(column)))
            .map(|id| id.to_string())
            .unwrap_or_else(|| "0".into())
    };
    let checked = match kind {
        Kind::Arrests => read(
            bytes,
            &layout,
            |f| if f == "officer_id" { "officer_badge".into() } else { f.to_string() },
            |form| {
                let mut form = form.clone();
                form.set("officer_id", officer_of(&form, "officer_badge"));
                flags_to_ticks(&mut form, &["detainer_lodged", "removal_paperwork", "warrant_served"]);
                crate::arrests::validate(
                    &form,
                    |id| officer_ids.contains(&id),
                    |id| stops.contains(&id),
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
                    .map(|b| {
                        badges
                            .get(&crate::officers::store::badge_key(b))
                            .map(|i| i.to_string())
                            .unwrap_or_else(|| "0".into())
                    })
                    .collect();
                form.set_list("officers", ids);
                crate::complaints::validate(
                    &form,
                    |id| officer_ids.contains(&id),
                    |id| stops.contains(&id),
                    |id| arrests.contains(&id),
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
                let officer =
                    badges.get(&crate::officers::store::badge_key(form.value("officer_badge"))).copied();
                let mut result = crate::pay::validate_pay(form, today);
                if officer.is_none() {
                    let mut errors = result.as_ref().err().cloned().unwrap_or_default();
                    errors.add("officer_badge", "No officer has this badge number.");
                    result = Err(errors);
                }
                result.map(|p| Parsed::Pay(crate::pay::PayPeriod { officer_id: officer.unwrap_or(0), ..p }))
            },
        ),
        Kind::Leads => read(
            bytes,
            &layout,
            |f| f.to_string(),
            |form| {
                let officer =
                    badges.get(&crate::officers::store::badge_key(form.value("officer_badge"))).copied();
                let mut result = crate::pay::validate_leads(form, today);
                if officer.is_none() {
                    let mut errors = result.as_ref().err().cloned().unwrap_or_default();
                    errors.add("officer_badge", "No officer has this badge number.");
                    result = Err(errors);
                }
                result.map(|l| Parsed::Leads(crate::pay::Leads { officer_id: officer.unwrap_or(0), ..l }))
            },
        ),
    };
    if checked.problem_count > 0 {
        return Ok((summary(layout.kind, &checked, 0), false));
    }
    let mut tx = scope.begin_write().await?;
    let authority = crate::compliance::exceptions::Authority::load(&mut tx).await?;
    for row in &checked.rows {
        let written = match row {
            Parsed::Arrest(a) => crate::arrests::store::insert(&mut tx, &authority, a)
                .await
                .map(|a| a.id)
                .map_err(anyhow::Error::from),
            Parsed::Complaint(c) => {
                crate::complaints::store::insert(&mut tx, c).await.map_err(anyhow::Error::from)
            }
            Parsed::Pay(p) => crate::pay::store::insert_pay(&mut tx, p).await.map_err(anyhow::Error::from),
            Parsed::Leads(l) => {
                crate::pay::store::insert_leads(&mut tx, l).await.map_err(anyhow::Error::from)
            }
        };
        if let Err(e) = written {
            tx.rollback().await?;
            return Ok((
                vec![format!(
                    "Nothing was imported: a row could not be written ({e}); it may already be recorded."
                )],
                false,
            ));
        }
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
