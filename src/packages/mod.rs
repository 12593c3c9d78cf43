//! Submission packages (docs/packages.md): an agency that runs its own
//! install sends the state deployment its records of a period as one file,
//! `oversight export package`; the state takes it into the agency's space
//! with `oversight import package`, all or nothing, audited.
//!
//! A package is a `.tar.gz` of the product's own files: `manifest.json`
//! (the agency, the period, the source's audit head, each member's rows and
//! SHA-256, and the package fingerprint over all of it), then the members
//! in `MEMBERS` order. Records carry no ids, which mean nothing in another
//! deployment: officers are named by badge, courses by name, and a stop or
//! an arrest that another record refers to by its place (1, 2, ...) in the
//! package's stops or arrests. The same function (`write_members`) writes
//! the members from the source's records and, on the state side, from the
//! records the import has just written, inside its transaction: the import
//! commits only when the two agree byte for byte.

pub mod import;
pub mod store;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::Tx;
use crate::officers::{DesignationForm, OfficerForm};
use crate::supervision::{RecordKind, SignOff, arrest_fingerprint, stop_fingerprint};
use crate::training::{CourseForm, TrainingForm};

/// The package format this product writes and reads.
pub const FORMAT: &str = "oversight-ledger/package/v1";

/// The members, in the order they are written, checked and imported
/// (officers before what names them, stops before what refers to them).
pub const MEMBERS: [&str; 12] = [
    "officers.jsonl",
    "courses.jsonl",
    "designations.jsonl",
    "training.jsonl",
    "stops.csv",
    "arrests.csv",
    "complaints.csv",
    "pay.csv",
    "leads.csv",
    "logged_measures.jsonl",
    "logged_values.jsonl",
    "sign_offs.jsonl",
];

/// What `manifest.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub agency: Source,
    pub period_from: String,
    pub period_to: String,
    /// When the source wrote the package (UTC, RFC 3339).
    pub exported_at: String,
    /// The source agency's audit chain as the package's records were read.
    pub audit_seq: i64,
    pub audit_head: String,
    /// The agency's settings its measures depend on (time zone, sign-off
    /// deadline, population shares, place).
    pub settings: crate::agency::store::MeasureSettings,
    pub members: Vec<Member>,
    /// `fingerprint_of` the rest of the manifest.
    pub fingerprint: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub ori: String,
    pub name: String,
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub rows: u64,
    pub sha256: String,
}

impl Manifest {
    /// SHA-256 over the manifest's JSON with an empty fingerprint: the
    /// agency, the period, the audit head and every member's hash, so no
    /// part of a package can change without changing it.
    pub fn fingerprint_of(&self) -> String {
        let bare = Manifest { fingerprint: String::new(), ..self.clone() };
        let json = serde_json::to_vec(&bare).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// The rows each member holds, as the receipt keeps them.
    pub fn records(&self) -> serde_json::Value {
        serde_json::Value::Object(self.members.iter().map(|m| (m.name.clone(), m.rows.into())).collect())
    }
}

/// An officer as a package line: the form's fields, the supervisor by badge.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OfficerLine {
    #[serde(flatten)]
    pub form: OfficerForm,
    #[serde(default)]
    pub supervisor_badge: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DesignationLine {
    #[serde(default)]
    pub badge: String,
    #[serde(flatten)]
    pub form: DesignationForm,
}

/// A training record: the officer by badge, the course by name.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TrainingLine {
    #[serde(default)]
    pub badge: String,
    #[serde(default)]
    pub course: String,
    #[serde(flatten)]
    pub form: TrainingForm,
}

/// A value of a logged measure (docs/measures.md, "Logged measures"): the
/// form's fields, the measure by its code, who logged and who confirmed it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LoggedValueLine {
    #[serde(default)]
    pub code: String,
    #[serde(flatten)]
    pub form: crate::measures::logged::ValueForm,
    #[serde(default)]
    pub logged_by_name: String,
    #[serde(default)]
    pub logged_at: i64,
    #[serde(default)]
    pub confirmed_by_name: Option<String>,
    #[serde(default)]
    pub confirmed_at: Option<i64>,
}

/// A supervisor's decision on a 287(g) action of the package.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SignOffLine {
    /// "stop" or "arrest".
    pub kind: String,
    /// The record's place among the package's stops or arrests (from 1).
    pub record: u64,
    pub decision: String,
    pub comment: String,
    pub reviewer_name: String,
    pub reviewer_kind: String,
    pub signed_at: i64,
    pub action_at: i64,
    /// The fingerprint form of the decision (`supervision::RecordKind::form`).
    pub form: String,
    /// Whether the record was unchanged since this decision when the
    /// package was written: the fingerprint itself names ids that mean
    /// nothing elsewhere, so the state keeps the verdict, not the hash.
    pub current: bool,
}

/// A member being written: its bytes go to a file and into its hash.
struct Writing {
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    rows: u64,
    name: &'static str,
}

impl Writing {
    fn create(dir: &Path, name: &'static str) -> std::io::Result<Writing> {
        let file = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
        Ok(Writing { file, hasher: Sha256::new(), rows: 0, name })
    }

    fn line<T: Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec(value)?;
        bytes.push(b'\n');
        self.rows += 1;
        Ok(self.write_all(&bytes)?)
    }

    fn finish(mut self) -> std::io::Result<Member> {
        self.file.flush()?;
        Ok(Member { name: self.name.into(), rows: self.rows, sha256: hex::encode(self.hasher.finalize()) })
    }
}

impl Write for Writing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A CSV member: its header, then rows counted as written; cells a
/// spreadsheet would run as formulas are neutralised, as in every export.
fn csv_member(
    dir: &Path,
    name: &'static str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> anyhow::Result<Member> {
    let mut out = Writing::create(dir, name)?;
    let mut count = 0;
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(row.iter().map(|c| crate::web::spreadsheet_safe(c)))?;
            count += 1;
        }
        writer.flush()?;
    }
    out.rows = count;
    Ok(out.finish()?)
}

/// The quarters ("2026-Q1") whose first day falls in [from, to].
pub fn quarters_in(from: time::Date, to: time::Date) -> Vec<String> {
    let mut out = Vec::new();
    for year in from.year()..=to.year() {
        for q in 1..=4u8 {
            let month = time::Month::try_from(q * 3 - 2).unwrap_or(time::Month::January);
            if let Ok(first) = time::Date::from_calendar_date(year, month, 1) {
                if first >= from && first <= to {
                    out.push(format!("{year}-Q{q}"));
                }
            }
        }
    }
    out
}

/// Writes every member of the period [from, to] from the records `tx`
/// sees (the source's snapshot, or the state's import before it commits)
/// into `dir`; returns them in `MEMBERS` order.
pub async fn write_members(
    tx: &mut Tx,
    from: time::Date,
    to: time::Date,
    dir: &Path,
) -> anyhow::Result<Vec<Member>> {
    let (from_text, to_text) = (crate::web::format_date(from), crate::web::format_date(to));
    let mut members = Vec::with_capacity(MEMBERS.len());
    // The roster, whole: authorization and training currency look back
    // years before the period.
    let mut officers = crate::officers::store::all_in(tx).await?;
    officers.sort_by_key(|o| crate::officers::store::badge_key(&o.badge));
    let badges: HashMap<i64, String> = officers.iter().map(|o| (o.id, o.badge.clone())).collect();
    let badge = |id: Option<i64>| id.and_then(|i| badges.get(&i).cloned()).unwrap_or_default();
    let mut out = Writing::create(dir, MEMBERS[0])?;
    for o in &officers {
        let form = OfficerForm { supervisor_id: String::new(), ..OfficerForm::from_officer(o) };
        out.line(&OfficerLine { form, supervisor_badge: badge(o.supervisor_id) })?;
    }
    members.push(out.finish()?);

    let agency = tx.agency()?;
    let mut courses = crate::training::store::courses_of_agency(&mut **tx, agency).await?;
    courses.sort_by(|a, b| a.name.cmp(&b.name));
    let course_names: HashMap<i64, String> = courses.iter().map(|c| (c.id, c.name.clone())).collect();
    let mut out = Writing::create(dir, MEMBERS[1])?;
    for c in &courses {
        out.line(&CourseForm::from_course(c))?;
    }
    members.push(out.finish()?);

    let mut designations = crate::officers::store::designations_in(tx).await?;
    designations
        .sort_by_cached_key(|d| (crate::officers::store::badge_key(&badge(Some(d.officer_id))), d.id));
    let mut out = Writing::create(dir, MEMBERS[2])?;
    for d in &designations {
        out.line(&DesignationLine {
            badge: badge(Some(d.officer_id)),
            form: DesignationForm::from_designation(d),
        })?;
    }
    members.push(out.finish()?);

    let mut training = crate::training::store::records_of_agency(&mut **tx, agency).await?;
    training.sort_by_cached_key(|r| (crate::officers::store::badge_key(&badge(Some(r.officer_id))), r.id));
    let mut out = Writing::create(dir, MEMBERS[3])?;
    for r in &training {
        let form = TrainingForm { course_id: String::new(), ..TrainingForm::from_record(r) };
        let course = course_names.get(&r.course_id).cloned().unwrap_or_default();
        out.line(&TrainingLine { badge: badge(Some(r.officer_id)), course, form })?;
    }
    members.push(out.finish()?);

    // Stops in (date, id) order, a batch at a time; each one's place is
    // what the other members name it by.
    let mut stop_place: HashMap<i64, u64> = HashMap::new();
    let mut actions: Vec<crate::stops::Stop> = Vec::new();
    let mut out = Writing::create(dir, MEMBERS[4])?;
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(crate::stops::import::NATIVE_COLUMNS)?;
        crate::stops::store::for_each_dated_in(tx, &from_text, &to_text, |s| {
            let row = crate::stops::export::native_row(&s, &badge(s.officer_id));
            writer.write_record(row.iter().map(|c| crate::web::spreadsheet_safe(c)))?;
            stop_place.insert(s.id, stop_place.len() as u64 + 1);
            if s.action_287g != 0 {
                actions.push(s);
            }
            Ok(())
        })
        .await?;
        writer.flush()?;
    }
    out.rows = stop_place.len() as u64;
    members.push(out.finish()?);

    let place = |map: &HashMap<i64, u64>, id: Option<i64>| {
        id.and_then(|i| map.get(&i)).map(|p| p.to_string()).unwrap_or_default()
    };
    let arrests = crate::arrests::store::between_in(tx, &from_text, &to_text).await?;
    let arrest_place: HashMap<i64, u64> = arrests.iter().zip(1u64..).map(|(a, p)| (a.id, p)).collect();
    let columns = crate::exchange::ARREST_COLUMNS;
    let keep: Vec<usize> =
        (0..columns.len()).filter(|i| !crate::exchange::PERSONAL_COLUMNS.contains(&columns[*i])).collect();
    let header: Vec<&str> = keep.iter().map(|i| columns[*i]).collect();
    let rows = arrests.iter().map(|a| {
        let row = crate::exchange::arrest_row(a, &badge(a.officer_id), place(&stop_place, a.stop_id));
        keep.iter().map(|i| row[*i].clone()).collect()
    });
    members.push(csv_member(dir, MEMBERS[5], &header, rows)?);

    let complaints = crate::complaints::store::received_between_in(tx, &from_text, &to_text).await?;
    let rows = complaints.iter().map(|c| {
        let officers: Vec<String> = c.officer_ids().into_iter().map(|id| badge(Some(id))).collect();
        crate::exchange::complaint_row(
            c,
            &officers,
            place(&stop_place, c.stop_id),
            place(&arrest_place, c.arrest_id),
        )
    });
    members.push(csv_member(dir, MEMBERS[6], &crate::exchange::COMPLAINT_COLUMNS, rows)?);

    let mut pay = crate::pay::store::pay_between_in(tx, &from_text, &to_text).await?;
    pay.sort_by_cached_key(|p| {
        (
            p.period_end.clone(),
            p.period_start.clone(),
            crate::officers::store::badge_key(&badge(Some(p.officer_id))),
        )
    });
    let rows = pay.iter().map(|p| crate::exchange::pay_row(p, &badge(Some(p.officer_id))));
    members.push(csv_member(dir, MEMBERS[7], &crate::exchange::PAY_COLUMNS, rows)?);

    let mut leads = crate::pay::store::leads_of_quarters_in(tx, &quarters_in(from, to)).await?;
    leads.sort_by_cached_key(|l| {
        (l.quarter.clone(), crate::officers::store::badge_key(&badge(Some(l.officer_id))))
    });
    let rows = leads.iter().map(|l| crate::exchange::leads_row(l, &badge(Some(l.officer_id))));
    members.push(csv_member(dir, MEMBERS[8], &crate::exchange::LEADS_COLUMNS, rows)?);

    // Logged measures: every definition, the values of periods within this one.
    let (logged, values) = crate::measures::logged::logged_in(tx, &from_text, &to_text).await?;
    let mut out = Writing::create(dir, MEMBERS[9])?;
    for m in &logged {
        out.line(&crate::measures::logged::DefineForm::from_measure(m))?;
    }
    members.push(out.finish()?);
    let codes: HashMap<i64, &str> = logged.iter().map(|m| (m.id, m.code.as_str())).collect();
    let mut lines: Vec<LoggedValueLine> = values
        .iter()
        .map(|v| LoggedValueLine {
            code: codes.get(&v.measure_id).map(|c| c.to_string()).unwrap_or_default(),
            form: crate::measures::logged::ValueForm::from_value(v),
            logged_by_name: v.logged_by_name.clone(),
            logged_at: v.logged_at,
            confirmed_by_name: v.confirmed_by_name.clone(),
            confirmed_at: v.confirmed_at,
        })
        .collect();
    lines.sort_by(|a, b| (&a.code, &a.form.from, &a.form.to).cmp(&(&b.code, &b.form.from, &b.form.to)));
    let mut out = Writing::create(dir, MEMBERS[10])?;
    for line in &lines {
        out.line(line)?;
    }
    members.push(out.finish()?);

    // Decisions by their record's place in the package, oldest first: the
    // same order on both sides, whatever ids the records have.
    let mut decisions: Vec<(u64, i64, SignOffLine)> = Vec::new();
    let stops_by_id: HashMap<i64, &crate::stops::Stop> = actions.iter().map(|s| (s.id, s)).collect();
    let action_ids: Vec<i64> = actions.iter().map(|s| s.id).collect();
    for decision in crate::supervision::store::for_records_in(tx, RecordKind::Stop, &action_ids).await? {
        let current = stops_by_id
            .get(&decision.record_id)
            .and_then(|s| stop_fingerprint(s, &decision.form))
            .is_some_and(|hash| hash == decision.record_hash);
        let place = stop_place[&decision.record_id];
        decisions.push((place, decision.id, sign_off_line(&decision, place, current)));
    }
    let arrests_by_id: HashMap<i64, &crate::arrests::Arrest> = arrests.iter().map(|a| (a.id, a)).collect();
    let arrest_ids: Vec<i64> = arrests.iter().filter(|a| a.action_287g()).map(|a| a.id).collect();
    // Arrests after every stop.
    let after_stops = stop_place.len() as u64;
    for decision in crate::supervision::store::for_records_in(tx, RecordKind::Arrest, &arrest_ids).await? {
        let current = arrests_by_id
            .get(&decision.record_id)
            .and_then(|a| arrest_fingerprint(a, &decision.form))
            .is_some_and(|hash| hash == decision.record_hash);
        let place = arrest_place[&decision.record_id];
        decisions.push((after_stops + place, decision.id, sign_off_line(&decision, place, current)));
    }
    decisions.sort_by_key(|(place, id, _)| (*place, *id));
    let mut out = Writing::create(dir, MEMBERS[11])?;
    for (_, _, line) in &decisions {
        out.line(line)?;
    }
    members.push(out.finish()?);
    Ok(members)
}

fn sign_off_line(s: &SignOff, record: u64, current: bool) -> SignOffLine {
    SignOffLine {
        kind: s.record_kind.clone(),
        record,
        decision: s.decision.clone(),
        comment: s.comment.clone(),
        reviewer_name: s.reviewer_name.clone(),
        reviewer_kind: s.reviewer_kind.clone(),
        signed_at: s.signed_at,
        action_at: s.action_at,
        form: s.form.clone(),
        current,
    }
}

/// A folder of its own for a package's members, in the system's folder
/// for temporary files (`TMPDIR`), removed when dropped.
pub struct Workspace(pub std::path::PathBuf);

impl Workspace {
    pub fn new() -> std::io::Result<Workspace> {
        let dir = std::env::temp_dir().join(format!(
            "oversight-package-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Workspace(dir))
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the package of the agency's records of [from, to] to `out`, read
/// in one snapshot with the audit head it shows, and records the export in
/// the agency's chain. Returns the manifest.
pub async fn export(
    scope: &Scope,
    actor: &Actor,
    from: time::Date,
    to: time::Date,
    out: &Path,
) -> anyhow::Result<Manifest> {
    let profile = crate::agency::store::get(scope).await?;
    let work = Workspace::new()?;
    let mut tx = scope.begin().await?;
    let members = write_members(&mut tx, from, to, &work.0).await?;
    let (audit_seq, audit_head) =
        crate::audit::store::head_in(&mut tx).await?.unwrap_or((0, crate::audit::GENESIS.to_string()));
    let settings = crate::agency::store::measure_settings_in(&mut tx).await?;
    tx.rollback().await?;
    let mut manifest = Manifest {
        format: FORMAT.into(),
        agency: Source { ori: profile.ori.clone(), name: profile.name.clone(), state: profile.state.clone() },
        period_from: crate::web::format_date(from),
        period_to: crate::web::format_date(to),
        exported_at: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
            .format(&time::format_description::well_known::Rfc3339)?,
        audit_seq,
        audit_head,
        settings,
        members,
        fingerprint: String::new(),
    };
    manifest.fingerprint = manifest.fingerprint_of();
    let partial = out.with_extension("partial");
    write_archive(&partial, &manifest, &work.0)?;
    std::fs::rename(&partial, out)?;
    let event = Event::new("package.export", "package", &manifest.fingerprint).details(serde_json::json!({
        "from": manifest.period_from, "to": manifest.period_to, "fingerprint": manifest.fingerprint,
        "audit_seq": manifest.audit_seq, "audit_head": manifest.audit_head, "records": manifest.records(),
    }));
    audit::record_in(scope, actor, event).await?;
    Ok(manifest)
}

/// The `.tar.gz`: the manifest first, then the members in order. Fast
/// compression: a year of a million stops is 29 MB instead of 21 MB, and
/// gzip's level 6 took 3.0 s of it against 1.4 s.
fn write_archive(path: &Path, manifest: &Manifest, dir: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    let mut archive = tar::Builder::new(gz);
    let json = serde_json::to_vec_pretty(manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    archive.append_data(&mut header, "manifest.json", json.as_slice())?;
    for member in &manifest.members {
        let mut file = std::fs::File::open(dir.join(&member.name))?;
        archive.append_file(&member.name, &mut file)?;
    }
    let gz = archive.into_inner()?;
    gz.finish()?.flush()?;
    Ok(())
}
