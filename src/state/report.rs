//! The statewide report (docs/tenancy.md, "The statewide report"): every
//! agency's measures for a period side by side with the statewide figure,
//! in a PDF whose cover prints each agency's data fingerprint and audit
//! head. Each agency is read as its own report reads it (head, fingerprint,
//! measures, head again: an unchanged head means no write landed in
//! between), so the printed fingerprint of an agency belongs to its printed
//! numbers. Verifying recomputes every agency's fingerprint from its
//! records and names the agencies whose records changed since.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::AgencyLine;
use super::store::{self, Covered, Issue, StateReport};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::{Db, is_unique_violation, now_unix};
use crate::documents::files::FileStore;
use crate::measures::Period;
use crate::measures::equity::GroupRow;
use crate::measures::store::{Sheet, Source};
use crate::reports::forms;
use crate::reports::pdf::{Column, Paper, Writer};
use crate::reports::store::data_fingerprint;
use crate::web::format_instant;

/// One agency as the report read it.
pub struct Part {
    pub agency_id: i64,
    pub ori: String,
    pub name: String,
    pub stops: i64,
    pub arrests: i64,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub audit_head: String,
    pub sheet: Sheet,
    /// The submission package its records of the period came in, if so.
    pub package: Option<crate::packages::store::Receipt>,
}

impl Part {
    fn line(&self, id: &str) -> AgencyLine {
        AgencyLine {
            ori: self.ori.clone(),
            name: self.name.clone(),
            stops: self.stops,
            arrests: self.arrests,
            measure: self.sheet.measures.iter().find(|m| m.id == id).cloned(),
            package: self.package.as_ref().map(|r| r.id),
        }
    }
    fn covered(&self) -> Covered {
        Covered {
            agency_id: self.agency_id,
            ori: self.ori.clone(),
            data_form: forms::STATEWIDE.to_string(),
            data_sha256: self.data_sha256.clone(),
            audit_seq: self.audit_seq,
            audit_head: self.audit_head.clone(),
        }
    }
}

/// Reads one agency: its head, fingerprint and measures, then its head
/// again, until no write landed in between.
async fn read_agency(scope: Scope, ori: String, name: String, period: Period) -> anyhow::Result<Part> {
    for _ in 0..5 {
        let (audit_seq, audit_head) = audit::store::head(&scope).await?.unwrap_or((0, String::new()));
        let data_sha256 = data_fingerprint(&scope, period, forms::STATEWIDE, Source::Aggregates, &[]).await?;
        let sheet = crate::measures::store::compute(&scope, period).await?;
        let stops = crate::stops::aggregates::stops_between(&scope, period).await?;
        let arrests = crate::arrests::store::count_between(&scope, period).await?;
        if audit::store::head(&scope).await?.map(|(seq, _)| seq).unwrap_or(0) == audit_seq {
            let agency_id = scope.id();
            let package =
                crate::packages::store::held(&scope, &period.from_text(), &period.to_text()).await?;
            return Ok(Part {
                agency_id,
                ori,
                name,
                stops,
                arrests,
                data_sha256,
                audit_seq,
                audit_head,
                sheet,
                package,
            });
        }
    }
    anyhow::bail!("the records of {ori} kept changing while the report was computed; try again")
}

/// Every agency of the deployment, read a few at a time, in ORI order.
pub async fn read_agencies(db: &Db, period: Period) -> anyhow::Result<Vec<Part>> {
    let mut agencies = crate::agency::store::named(db).await?;
    agencies.sort_by(|a, b| a.ori.cmp(&b.ori));
    let at_once = super::at_once(Some(db));
    let db = db.clone();
    stream::iter(agencies)
        .map(move |a| read_agency(Scope::of_agency(&db, a.id), a.ori, a.name, period))
        .buffered(at_once)
        .try_collect()
        .await
}

/// The statewide fingerprint: SHA-256 over one line per agency, in ORI
/// order, "ORI, tab, the fingerprint's form, tab, the fingerprint".
pub fn statewide_fingerprint(agencies: &[Covered]) -> String {
    let mut hash = Sha256::new();
    for a in agencies {
        hash.update(format!("{}\t{}\t{}\n", a.ori, a.data_form, a.data_sha256).as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Computes, renders, stores and records a statewide report: in the state's
/// chain, and in each agency's chain as a reading of its records by the
/// state (docs/tenancy.md).
pub async fn generate(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    generated_by: &str,
    period: Period,
    key: &crate::audit::checkpoint::SigningKey,
) -> anyhow::Result<(StateReport, Vec<u8>)> {
    let parts = read_agencies(db, period).await?;
    let covered: Vec<Covered> = parts.iter().map(Part::covered).collect();
    let data_sha256 = statewide_fingerprint(&covered);
    let state = store::state_chain(db);
    for _ in 0..5 {
        let (audit_seq, audit_head) = audit::store::head(&state).await?.unwrap_or((0, String::new()));
        // The checkpoint the cover prints is of the state's chain at that
        // head; a write in between signs a larger one: read again.
        let checkpoint = audit::store::checkpoint(&state, key).await?.map(|c| c.note).unwrap_or_default();
        let signed_size = checkpoint.lines().nth(1).and_then(|l| l.parse::<i64>().ok()).unwrap_or(0);
        if signed_size != audit_seq {
            continue;
        }
        let generated_at = now_unix();
        let year = time::OffsetDateTime::from_unix_timestamp(generated_at).map(|t| t.year()).unwrap_or(0);
        let number = store::next_number(db, year).await?;
        let issue = Issue {
            number: &number,
            period_from: period.from_text(),
            period_to: period.to_text(),
            generated_at,
            generated_by,
            data_sha256: &data_sha256,
            audit_seq,
            audit_head: &audit_head,
            checkpoint: &checkpoint,
            agencies: &covered,
        };
        let bytes = render(&parts, &issue, period)?;
        let stored = files.write(&bytes)?;
        match store::record(db, actor, &issue, &stored).await {
            Ok(report) => {
                record_readings(db, actor, &report, &parts).await?;
                return Ok((report, bytes));
            }
            // Another report took the number meanwhile: render again.
            Err(e) if is_unique_violation(&e) => files.remove(&stored.name),
            Err(e) => {
                files.remove(&stored.name);
                return Err(e.into());
            }
        }
    }
    anyhow::bail!("another statewide report kept taking the number; try again")
}

/// Each agency's log records that the state read its records for the
/// report, so the agency's auditors see who looked.
async fn record_readings(db: &Db, actor: &Actor, report: &StateReport, parts: &[Part]) -> anyhow::Result<()> {
    for part in parts {
        let event = Event::new("state_report.read", "state_report", report.id).details(serde_json::json!({
            "number": report.number, "from": report.period_from, "to": report.period_to,
            "data_sha256": part.data_sha256,
        }));
        audit::record_in(&Scope::of_agency(db, part.agency_id), actor, event).await?;
    }
    Ok(())
}

/// What verifying a statewide report found.
#[derive(Clone, Debug)]
pub struct Checked {
    pub report: StateReport,
    pub agencies: usize,
    /// The agencies whose records no longer hash to the printed
    /// fingerprint.
    pub changed: Vec<String>,
    /// Whether the state's chain today extends the checkpoint the report
    /// prints (as `reports::store::Verdict::Issued`'s `log`).
    pub log: Option<Result<u64, String>>,
}

/// The statewide report whose file has this SHA-256, with every agency's
/// fingerprint recomputed from its records.
pub async fn verify(
    db: &Db,
    sha256: &str,
    key: &crate::audit::checkpoint::SigningKey,
) -> Result<Option<Checked>, sqlx::Error> {
    let Some((report, covered)) = store::find_by_file(db, sha256).await? else { return Ok(None) };
    let period = crate::web::parse_date(&report.period_from)
        .zip(crate::web::parse_date(&report.period_to))
        .and_then(|(f, t)| Period::new(f, t));
    let Some(period) = period else { return Ok(None) };
    let mut changed = Vec::new();
    for a in &covered {
        let scope = Scope::of_agency(db, a.agency_id);
        let known = forms::is_known(&a.data_form);
        if !known
            || data_fingerprint(&scope, period, &a.data_form, Source::Records, &[]).await? != a.data_sha256
        {
            changed.push(a.ori.clone());
        }
    }
    let log = match report.checkpoint.as_str() {
        "" => None,
        note => audit::store::extends(&store::state_chain(db), key, note).await?,
    };
    Ok(Some(Checked { report, agencies: covered.len(), changed, log }))
}

/// The report's PDF: cover, the agencies and their records, the statewide
/// summary, each measure per agency, methods.
pub fn render(parts: &[Part], issue: &Issue<'_>, period: Period) -> anyhow::Result<Vec<u8>> {
    let title = format!("Statewide oversight report {}: {}", issue.number, period.label());
    let mut w = Writer::new(&title, Paper::Letter)?;
    cover(&mut w, parts, issue, period);
    w.new_page();
    agencies_section(&mut w, parts, period);
    summary_section(&mut w, parts);
    for (section, ids) in crate::reports::SECTIONS {
        w.section(&format!("Per agency: {}", section.to_lowercase()));
        for id in ids.iter().filter(|id| parts.iter().any(|p| p.sheet.measures.iter().any(|m| m.id == **id)))
        {
            measure_table(&mut w, parts, id);
        }
        for id in ids.iter().filter(|id| parts.iter().any(|p| p.sheet.grouped.iter().any(|g| g.id == **id))) {
            race_table(&mut w, parts, id);
        }
    }
    methods(&mut w);
    let footer = format!("Statewide · {} · {}", issue.number, period.label());
    w.finish(&title, issue.generated_by, &footer, issue.generated_at)
}

/// The states of the agencies, for the cover: "FL", or "FL, GA".
fn states(parts: &[Part]) -> String {
    let mut states: Vec<&str> = parts.iter().map(|p| &p.ori[..p.ori.len().min(2)]).collect();
    states.dedup();
    states.join(", ")
}

fn cover(w: &mut Writer, parts: &[Part], issue: &Issue<'_>, period: Period) {
    w.title("Statewide oversight report");
    w.paragraph(&format!("{} agencies with 287(g) agreements ({})", parts.len(), states(parts)), 14.0, false);
    w.paragraph(&format!("287(g) program measures for {}", period.label()), 12.0, false);
    w.paragraph(&format!("Report number {}", issue.number), 11.0, true);
    w.paragraph(
        &format!("Generated {} by {}", format_instant(issue.generated_at), issue.generated_by),
        10.0,
        false,
    );
    w.paragraph(
        "Statewide data fingerprint (SHA-256 over each agency's ORI, fingerprint form and data fingerprint):",
        10.0,
        true,
    );
    w.paragraph(issue.data_sha256, 9.0, false);
    w.paragraph(&format!("State audit log head at generation (entry {}):", issue.audit_seq), 10.0, true);
    w.paragraph(if issue.audit_head.is_empty() { "none yet" } else { issue.audit_head }, 9.0, false);
    w.checkpoint(
        "Signed checkpoint of the state audit log at generation (origin, entries, Merkle root, signature):",
        issue.checkpoint,
    );
    w.paragraph(
        "Each agency's own fingerprint and audit head follow, in \"Agencies and their records\". To check this \
         report: oversight report verify FILE.pdf, or the state's verification page. It says whether the file is \
         the one this system issued, unaltered, which agencies' records no longer hash to their fingerprints, and \
         whether the state's audit log today still extends the checkpoint above.",
        9.0,
        false,
    );
}

fn agencies_section(w: &mut Writer, parts: &[Part], period: Period) {
    w.section("Agencies and their records");
    let silent = parts.iter().filter(|p| p.stops + p.arrests == 0).count();
    w.paragraph(
        &format!(
            "{silent} of {} agencies recorded no stop and no arrest in {}: they are listed first. Each agency's data \
             fingerprint is of form {} (docs/fingerprints.md: its records with the stops and arrests by day); its \
             audit head is the last entry of its own log when its records were read.",
            parts.len(),
            period.label(),
            forms::STATEWIDE
        ),
        9.0,
        false,
    );
    let mut ordered: Vec<&Part> = parts.iter().collect();
    ordered.sort_by_key(|p| (p.stops + p.arrests > 0, p.ori.clone()));
    let rows: Vec<Vec<String>> = ordered
        .iter()
        .map(|p| {
            let reported = if p.stops + p.arrests > 0 { "" } else { ": NO RECORDS" };
            // A package-fed agency's records name the package they came in.
            let package = p
                .package
                .as_ref()
                .map(|r| {
                    format!(
                        "\nby package, receipt {} ({} to {}), its install's audit head at entry {}; package fingerprint:\n{}",
                        r.id, r.period_from, r.period_to, r.source_seq, r.fingerprint
                    )
                })
                .unwrap_or_default();
            vec![
                format!("{} ({}){reported}", p.name, p.ori),
                format!("{} stops, {} arrests", p.stops, p.arrests),
                format!("{}\naudit head at entry {}:\n{}{package}", p.data_sha256, p.audit_seq, p.audit_head),
            ]
        })
        .collect();
    // The fingerprints' column holds 64 hexadecimal digits on one line.
    let columns = [
        Column { header: "Agency (ORI)", width: 125.0 },
        Column { header: "Recorded in the period", width: 70.0 },
        Column { header: "Data fingerprint; audit head", width: 300.0 },
    ];
    w.table(&columns, &rows);
}

fn summary_section(w: &mut Writer, parts: &[Part]) {
    w.section("Statewide summary");
    w.paragraph(
        "Each measure pooled over every agency (every agency's numerators over every agency's denominators, not an \
         average of rates), with how many agencies met the target. A median or other single value of an agency does \
         not add up and has no statewide figure.",
        9.0,
        false,
    );
    if parts.is_empty() {
        w.paragraph("The deployment holds no agency.", 9.0, false);
        return;
    }
    let rows: Vec<Vec<String>> = pooled(parts)
        .iter()
        .map(|s| {
            vec![
                format!("{} {}", s.measure.id, s.measure.name),
                s.pooled.as_ref().map(|p| p.value_with_fraction()).unwrap_or_else(|| "not pooled".into()),
                s.measure.target_text(),
                format!("{} met, {} not met, {} no data", s.met, s.not_met, s.no_data),
            ]
        })
        .collect();
    let columns = [
        Column { header: "Measure", width: 170.0 },
        Column { header: "Statewide", width: 130.0 },
        Column { header: "Target", width: 60.0 },
        Column { header: "Agencies", width: 135.0 },
    ];
    w.table(&columns, &rows);
}

/// One measure: a row per agency (those that reported nothing first),
/// then the statewide row.
fn measure_table(w: &mut Writer, parts: &[Part], id: &str) {
    let mut lines: Vec<AgencyLine> = parts.iter().map(|p| p.line(id)).collect();
    super::sort(&mut lines, super::Order::Agency);
    let Some(m) = lines.iter().find_map(|l| l.measure.clone()) else { return };
    w.heading(&format!("{} {}", m.id, m.name));
    w.paragraph(&format!("{}. Target: {}.", m.definition, m.target_text()), 8.0, false);
    let mut rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                format!("{} ({}){}", l.name, l.ori, if l.reported() { "" } else { ", no records" }),
                l.value_text(),
                l.fraction_text(),
                l.status().to_string(),
                if l.small_sample() { "small sample".into() } else { String::new() },
                l.completeness(),
            ]
        })
        .collect();
    let pooled = super::statewide(&lines);
    rows.push(vec![
        format!("Statewide ({} agencies)", lines.len()),
        super::measure_text(&pooled),
        pooled.as_ref().map(|p| p.fraction_text()).unwrap_or_default(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    let columns = [
        Column { header: "Agency (ORI)", width: 130.0 },
        Column { header: "Value", width: 60.0 },
        Column { header: "Counts", width: 80.0 },
        Column { header: "Status", width: 45.0 },
        Column { header: "Sample", width: 50.0 },
        Column { header: "Completeness", width: 130.0 },
    ];
    w.table(&columns, &rows);
}

/// A measure by race or ethnicity: each agency's groups, then the groups
/// pooled statewide (counts added, the ratio of pooled rates).
fn race_table(w: &mut Writer, parts: &[Part], id: &str) {
    let of = |p: &Part| p.sheet.grouped.iter().find(|g| g.id == id && g.grouping == "race").cloned();
    let Some(first) = parts.iter().find_map(of) else { return };
    w.heading(&format!("{} {} by race or ethnicity, per agency", first.id, first.name));
    let reference = if first.reference.is_empty() {
        String::new()
    } else {
        format!(" Reference group {}.", first.reference)
    };
    w.paragraph(&format!("{}.{reference}", first.definition), 8.0, false);
    // D1 and D7 have a reference group but no ratio by definition.
    let with_ratio = first.rows.iter().any(|r| r.ratio.is_some());
    let mut rows = Vec::new();
    let mut pooled: Vec<(String, String, i64, i64)> = Vec::new();
    for part in parts {
        for r in of(part).map(|g| g.rows).unwrap_or_default() {
            rows.push(vec![
                format!("{} ({})", part.name, part.ori),
                r.label.clone(),
                r.value_text(),
                r.interval_text(),
                format!("{} of {}", r.numerator, r.denominator),
                if with_ratio { r.ratio_text() } else { String::new() },
                if with_ratio { r.ratio_interval_text() } else { String::new() },
                r.notes(),
            ]);
            match pooled.iter_mut().find(|(group, ..)| *group == r.group) {
                Some(p) => (p.2, p.3) = (p.2 + r.numerator, p.3 + r.denominator),
                None => pooled.push((r.group.clone(), r.label.clone(), r.numerator, r.denominator)),
            }
        }
    }
    // The pooled groups are compared as an agency's are (equity.rs): the
    // same intervals, ratio and flags, over the added counts.
    let reference = pooled.iter().find(|(g, ..)| *g == first.reference).cloned();
    for (group, label, n, d) in &pooled {
        // As the agency's tables do: D1 counts the group's stops, the
        // others their denominator.
        let row = GroupRow::rate(group, label, *n, *d, if id == "D1" { *n } else { *d });
        let row = match reference.as_ref().filter(|_| with_ratio) {
            Some((code, l, n0, d0)) => {
                let row = row.compared((l, *n0, *d0), code == group);
                if id == "D4" && code != group { row.differenced((l, *n0, *d0)) } else { row }
            }
            None => row,
        };
        rows.push(vec![
            "Statewide".into(),
            row.label.clone(),
            row.value_text(),
            row.interval_text(),
            format!("{n} of {d}"),
            if with_ratio { row.ratio_text() } else { String::new() },
            if with_ratio { row.ratio_interval_text() } else { String::new() },
            row.notes(),
        ]);
    }
    let columns = [
        Column { header: "Agency (ORI)", width: 95.0 },
        Column { header: "Group", width: 68.0 },
        Column { header: "Rate", width: 35.0 },
        Column { header: "95% interval", width: 55.0 },
        Column { header: "Counts", width: 60.0 },
        Column { header: "Ratio", width: 30.0 },
        Column { header: "Ratio's 95% interval", width: 60.0 },
        Column { header: "Notes", width: 92.0 },
    ];
    w.table(&columns, &rows);
}

fn methods(w: &mut Writer) {
    w.section("Methods");
    w.paragraph(
        "Each agency's measures are computed from its own records exactly as its own oversight report computes them \
         (docs/measures.md); the tables by race or ethnicity are here, those by gender and age in each agency's report. The statewide figure of \
         a rate pools the counts of every agency; of a count, it is their sum. A rate over fewer than 30 events is \
         marked small sample. An agency that recorded no stop and no arrest in the period has not reported.",
        9.0,
        false,
    );
    w.paragraph(
        "Statewide data fingerprint: SHA-256 over one line per agency in ORI order: the ORI, a tab, the form of the \
         agency's fingerprint, a tab, the fingerprint, a newline. Each agency's fingerprint is the one its own report \
         for the period prints. Recomputing them from the same records gives the same values.",
        9.0,
        false,
    );
}

/// The statewide line of each measure: the pooled figure and how many
/// agencies met its target.
struct Pooled {
    measure: crate::measures::Measure,
    pooled: Option<crate::measures::Measure>,
    met: usize,
    not_met: usize,
    no_data: usize,
}

fn pooled(parts: &[Part]) -> Vec<Pooled> {
    let Some(first) = parts.first() else { return Vec::new() };
    first
        .sheet
        .measures
        .iter()
        .map(|m| {
            let lines: Vec<AgencyLine> = parts.iter().map(|p| p.line(m.id)).collect();
            let count = |status: &str| lines.iter().filter(|l| l.status() == status).count();
            Pooled {
                measure: m.clone(),
                pooled: super::statewide(&lines),
                met: count("met"),
                not_met: count("not met"),
                no_data: count("no data"),
            }
        })
        .collect()
}

/// `oversight metrics --state --format json`: every agency's measures
/// (as `metrics --agency` prints them) and the statewide figures.
pub fn metrics_json(parts: &[Part], period: Period) -> serde_json::Value {
    let agencies: Vec<serde_json::Value> = parts
        .iter()
        .map(|p| {
            serde_json::json!({
                "ori": p.ori, "name": p.name, "stops": p.stops, "arrests": p.arrests,
                "reported": p.stops + p.arrests > 0, "data_sha256": p.data_sha256,
                "audit_seq": p.audit_seq, "audit_head": p.audit_head, "measures": p.sheet.json(),
            })
        })
        .collect();
    let statewide: Vec<serde_json::Value> = pooled(parts)
        .iter()
        .map(|s| {
            let m = &s.measure;
            let figure = s.pooled.as_ref();
            serde_json::json!({
                "id": m.id, "name": m.name, "pooled": figure.is_some(),
                "numerator": figure.map(|f| f.current.numerator),
                "denominator": figure.and_then(|f| f.current.denominator),
                "value": figure.and_then(|f| f.value()), "display": super::measure_text(&s.pooled),
                "target": m.target, "agencies_met": s.met, "agencies_not_met": s.not_met,
                "agencies_no_data": s.no_data,
            })
        })
        .collect();
    serde_json::json!({
        "period": { "from": period.from_text(), "to": period.to_text() },
        "agencies": agencies,
        "statewide": statewide,
    })
}

/// `oversight metrics --state --format csv`: each agency's rows of
/// `metrics --format csv` after its ORI, then the statewide rows
/// ("statewide" in the first column, the pooled counts).
pub fn metrics_csv(parts: &[Part], period: Period) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["agency"];
    header.extend(crate::measures::store::CSV_HEADER);
    w.write_record(&header)?;
    for p in parts {
        for record in p.sheet.csv_records() {
            w.write_record(std::iter::once(p.ori.clone()).chain(record))?;
        }
    }
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for s in pooled(parts) {
        let Some(f) = &s.pooled else { continue };
        w.write_record([
            "statewide".to_string(),
            f.id.to_string(),
            f.name.to_string(),
            period.from_text(),
            period.to_text(),
            String::new(),
            String::new(),
            f.current.numerator.to_string(),
            f.current.denominator.map(|d| d.to_string()).unwrap_or_default(),
            opt(f.value()),
            String::new(),
            String::new(),
            opt(f.target),
            f.status().to_string(),
            opt(f.previous.value(f.unit)),
        ])?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}
