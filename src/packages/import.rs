//! `oversight import package FILE --agency ORI` (docs/packages.md): the
//! state takes an agency's package into that agency's space. Every step
//! refuses with a message and changes nothing: a file that is not a package,
//! a package that does not verify, another agency's, one received before,
//! a period the agency already holds, a row its form would refuse, records
//! that do not write back to the same members.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde_json::json;

use super::{MEMBERS, Manifest, Member, Workspace};
use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::db::Tx;
use crate::exchange::{Kind, Known, Parsed};
use crate::officers::store::badge_key;
use crate::supervision::{RecordKind, SignOff};

/// The largest stops member accepted (a year of a million stops is about
/// 400 MB of CSV, read a batch at a time), the largest of the others (read
/// whole: a roster of thousands of officers is a few megabytes), and the
/// largest manifest. An archive that unpacks to more is refused before it
/// fills the disk or the memory.
const MAX_STOPS: u64 = 4 * 1024 * 1024 * 1024;
const MAX_MEMBER: u64 = 512 * 1024 * 1024;
const MAX_MANIFEST: u64 = 1024 * 1024;

/// What an import says, one line each, and whether it committed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<String>,
    pub imported: bool,
    pub manifest: Option<Manifest>,
}

impl Outcome {
    fn refused(line: impl Into<String>) -> Outcome {
        Outcome { lines: vec![line.into(), "Nothing was imported.".into()], ..Outcome::default() }
    }
}

/// Problems found in the members, listed by member and line.
#[derive(Default)]
struct Problems {
    lines: Vec<String>,
    count: u64,
}

impl Problems {
    fn add(&mut self, member: &str, line: u64, what: impl std::fmt::Display) {
        self.count += 1;
        if self.lines.len() < crate::exchange::MAX_LISTED {
            self.lines.push(format!("{member}, line {line}: {what}"));
        }
    }

    fn fields(&mut self, member: &str, line: u64, errors: &crate::web::FieldErrors) {
        for (field, message) in errors.iter() {
            self.add(member, line, format!("{field}: {message}"));
        }
    }
}

/// Unpacks, verifies and imports the package at `file` into the scope's
/// agency.
pub async fn import(scope: &Scope, actor: &Actor, file: &Path) -> anyhow::Result<Outcome> {
    let work = Workspace::new()?;
    let manifest = match unpack(file, &work.0) {
        Ok(m) => m,
        Err(why) => {
            return Ok(Outcome::refused(format!("This is not a package this product can read: {why}.")));
        }
    };
    if let Err(why) = verify(&manifest, &work.0) {
        return Ok(Outcome::refused(format!("The package does not verify: {why}.")));
    }
    let profile = crate::agency::store::get(scope).await?;
    if manifest.agency.ori != profile.ori {
        return Ok(Outcome::refused(format!(
            "This package is agency {}'s ({}), not {}'s.",
            manifest.agency.ori, manifest.agency.name, profile.ori
        )));
    }
    let (from, to) = match (parse_date(&manifest.period_from), parse_date(&manifest.period_to)) {
        (Some(f), Some(t)) if f <= t => (f, t),
        _ => return Ok(Outcome::refused("The package's period is not two dates in order.")),
    };
    if let Some(held) = super::store::held(scope, &manifest.period_from, &manifest.period_to).await? {
        return Ok(Outcome::refused(if held.fingerprint == manifest.fingerprint {
            format!("This package was imported before (receipt {}, {}).", held.id, held.received_text())
        } else {
            format!(
                "The agency already holds a package for {} to {} (receipt {}), which overlaps this one's period.",
                held.period_from, held.period_to, held.id
            )
        }));
    }
    let mut tx = scope.begin_write().await?;
    if super::store::holds_records_between(&mut tx, &manifest.period_from, &manifest.period_to).await? {
        tx.rollback().await?;
        return Ok(Outcome::refused(format!(
            "The agency already holds stops, arrests or complaints dated {} to {}: a package adds a period's records, it does not merge with them.",
            manifest.period_from, manifest.period_to
        )));
    }
    if let Some(why) = manifest.settings.problem() {
        tx.rollback().await?;
        return Ok(Outcome::refused(format!("The package's agency settings cannot be taken: {why}.")));
    }
    let settings_before = crate::agency::store::set_measure_settings_in(&mut tx, &manifest.settings).await?;
    let mut problems = Problems::default();
    let today = crate::agency::today_in(&manifest.settings.time_zone);
    let changed = roster(&mut tx, &work.0, &profile, today, &mut problems).await?
        || settings_before != manifest.settings;
    if problems.count == 0 {
        if changed {
            // The roster decides whether earlier periods' actions were
            // authorized: their exceptions follow it.
            crate::compliance::exceptions::refresh(&mut tx, actor, None).await?;
        }
        records(&mut tx, scope, &work.0, &manifest, (from, to), today, &mut problems).await?;
    }
    if problems.count > 0 {
        tx.rollback().await?;
        let mut lines = problems.lines;
        if problems.count > lines.len() as u64 {
            lines.push(format!("… and {} more.", problems.count - lines.len() as u64));
        }
        lines.push(format!(
            "Nothing was imported: {}.",
            crate::web::counted(problems.count, "problem", "problems")
        ));
        return Ok(Outcome { lines, imported: false, manifest: Some(manifest) });
    }
    // What was written, written out again as the source wrote it: the
    // import commits only if every member comes out byte for byte.
    let again = Workspace::new()?;
    let written = super::write_members(&mut tx, from, to, &again.0).await?;
    if let Some((sent, here)) = manifest.members.iter().zip(&written).find(|(a, b)| a != b) {
        tx.rollback().await?;
        return Ok(Outcome::refused(format!(
            "The records as written here do not reproduce the package's {} ({} rows, SHA-256 {}; the package has {} rows, SHA-256 {}).",
            sent.name, here.rows, here.sha256, sent.rows, sent.sha256
        )));
    }
    let receipt = super::store::insert_receipt(&mut tx, &manifest, &actor.username).await?;
    let event = Event::new("package.import", "package", receipt).details(json!({
        "from": manifest.period_from, "to": manifest.period_to, "fingerprint": manifest.fingerprint,
        "source_audit_seq": manifest.audit_seq, "source_audit_head": manifest.audit_head,
        "exported_at": manifest.exported_at, "records": manifest.records(),
        "settings": { "before": settings_before, "after": manifest.settings },
    }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    let mut lines = vec![format!(
        "Imported the package of {} ({}) for {} to {}: receipt {receipt}, fingerprint {}.",
        manifest.agency.name,
        manifest.agency.ori,
        manifest.period_from,
        manifest.period_to,
        manifest.fingerprint
    )];
    for m in &manifest.members {
        lines.push(format!("  {}: {}", m.name, crate::web::counted(m.rows, "row", "rows")));
    }
    lines.push(format!(
        "The source's audit chain stood at entry {} (head {}).",
        manifest.audit_seq, manifest.audit_head
    ));
    Ok(Outcome { lines, imported: true, manifest: Some(manifest) })
}

fn parse_date(text: &str) -> Option<time::Date> {
    time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Extracts the manifest and the members, each by its exact name and
/// nothing else (no paths, links or other entries), within size limits.
fn unpack(file: &Path, dir: &Path) -> Result<Manifest, String> {
    let opened = std::fs::File::open(file).map_err(|e| format!("it cannot be opened ({e})"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(opened)));
    let mut manifest = None;
    let mut seen: Vec<String> = Vec::new();
    let entries = archive.entries().map_err(|e| format!("it is not a .tar.gz ({e})"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("it is not a .tar.gz ({e})"))?;
        let name = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(format!("it holds {name}, which is not a plain file"));
        }
        if seen.contains(&name) {
            return Err(format!("it holds {name} twice"));
        }
        let size = entry.header().size().map_err(|e| e.to_string())?;
        if name == "manifest.json" {
            if size > MAX_MANIFEST {
                return Err("its manifest is too large".into());
            }
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(|e| e.to_string())?;
            let parsed: Manifest =
                serde_json::from_slice(&text).map_err(|e| format!("its manifest cannot be read ({e})"))?;
            if parsed.format != super::FORMAT {
                return Err(format!(
                    "its format is {:?}, this product reads {}",
                    parsed.format,
                    super::FORMAT
                ));
            }
            manifest = Some(parsed);
        } else if MEMBERS.contains(&name.as_str()) {
            let limit = if name == MEMBERS[4] { MAX_STOPS } else { MAX_MEMBER };
            if size > limit {
                return Err(format!("its {name} is larger than {} MiB", limit >> 20));
            }
            let mut out = std::fs::File::create(dir.join(&name)).map_err(|e| e.to_string())?;
            std::io::copy(&mut entry.take(limit), &mut out)
                .map_err(|e| format!("{name} cannot be read ({e})"))?;
        } else {
            return Err(format!("it holds {name}, which is not a member of a package"));
        }
        seen.push(name);
    }
    let manifest = manifest.ok_or("it has no manifest.json")?;
    for name in MEMBERS {
        if !seen.iter().any(|s| s == name) {
            return Err(format!("it has no {name}"));
        }
    }
    Ok(manifest)
}

/// The manifest names the members in order, each member's bytes hash to
/// what it says, and the fingerprint covers the manifest.
fn verify(manifest: &Manifest, dir: &Path) -> Result<(), String> {
    let names: Vec<&str> = manifest.members.iter().map(|m| m.name.as_str()).collect();
    if names != MEMBERS {
        return Err("its manifest does not list the members in order".into());
    }
    for member in &manifest.members {
        let mut file = std::fs::File::open(dir.join(&member.name)).map_err(|e| e.to_string())?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
        let sha256 = hex::encode(sha2::Digest::finalize(hasher));
        if sha256 != member.sha256 {
            return Err(format!(
                "{}'s SHA-256 is {sha256}, the manifest says {}: the file was changed or damaged",
                member.name, member.sha256
            ));
        }
    }
    let fingerprint = manifest.fingerprint_of();
    if fingerprint != manifest.fingerprint {
        return Err(format!(
            "the manifest's fingerprint is {}, its contents give {fingerprint}: the manifest was changed",
            manifest.fingerprint
        ));
    }
    Ok(())
}

/// The lines of a JSON Lines member, each parsed as `T`, numbered from 1
/// as an editor shows them; a line that is not `T` is a problem.
fn json_lines<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    problems: &mut Problems,
) -> anyhow::Result<Vec<(u64, T)>> {
    let text = std::fs::read_to_string(dir.join(name))?;
    let mut out = Vec::new();
    for (line, number) in text.lines().zip(1u64..) {
        match serde_json::from_str::<T>(line) {
            Ok(value) => out.push((number, value)),
            Err(e) => problems.add(name, number, format!("not a record of this member ({e})")),
        }
    }
    Ok(out)
}

/// Makes the agency's roster the package's: officers by badge, courses by
/// name, each officer's designations and training records in order, each
/// through its form's rules; returns whether anything changed.
async fn roster(
    tx: &mut Tx,
    dir: &Path,
    profile: &crate::agency::Profile,
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<bool> {
    let (officers_changed, ids) = officers(tx, dir, today, problems).await?;
    let courses_changed = courses(tx, dir, problems).await?;
    let designations_changed = designations(tx, dir, &ids, &profile.model_list(), today, problems).await?;
    let training_changed = training(tx, dir, &ids, today, problems).await?;
    Ok(officers_changed || courses_changed || designations_changed || training_changed)
}

/// Officers by badge, created or brought up to the package's, then each
/// one's supervisor; returns whether any changed and every officer's id
/// by badge.
async fn officers(
    tx: &mut Tx,
    dir: &Path,
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<(bool, HashMap<String, i64>)> {
    let mut changed = false;
    let officer_lines: Vec<(u64, super::OfficerLine)> = json_lines(dir, MEMBERS[0], problems)?;
    let mut held: HashMap<String, crate::officers::Officer> =
        crate::officers::store::all_in(tx).await?.into_iter().map(|o| (badge_key(&o.badge), o)).collect();
    // Officers first without their supervisors (who may come later in the
    // file), then each one's supervisor by badge.
    let mut ids: HashMap<String, i64> = held.iter().map(|(k, o)| (k.clone(), o.id)).collect();
    let mut supervisors = Vec::new();
    for (line, o) in &officer_lines {
        let key = badge_key(&o.form.badge);
        let existing = held.get(&key);
        let officer = match o.form.validate(existing.map(|e| e.id), today) {
            Ok(officer) => officer,
            Err(errors) => {
                problems.fields(MEMBERS[0], *line, &errors);
                continue;
            }
        };
        let officer =
            crate::officers::Officer { supervisor_id: existing.and_then(|e| e.supervisor_id), ..officer };
        match existing {
            Some(e) if *e == officer => {}
            Some(_) => {
                crate::officers::store::update_in(tx, &officer).await?;
                changed = true;
            }
            None => {
                let id = crate::officers::store::insert_in(tx, &officer).await?;
                ids.insert(key.clone(), id);
                held.insert(key.clone(), crate::officers::Officer { id, ..officer });
                changed = true;
            }
        }
        supervisors.push((*line, key, o.supervisor_badge.clone()));
    }
    for (line, key, supervisor) in supervisors {
        let wanted = match supervisor.trim() {
            "" => None,
            badge => match ids.get(&badge_key(badge)) {
                Some(id) => Some(*id),
                None => {
                    problems.add(
                        MEMBERS[0],
                        line,
                        format!("supervisor_badge: no officer of the package has badge {badge}"),
                    );
                    continue;
                }
            },
        };
        let Some(officer) = held.get(&key) else { continue };
        if officer.supervisor_id != wanted {
            let officer = crate::officers::Officer { supervisor_id: wanted, ..officer.clone() };
            crate::officers::store::update_in(tx, &officer).await?;
            held.insert(key, officer);
            changed = true;
        }
    }
    Ok((changed, ids))
}

/// Courses by name, created or brought up to the package's.
async fn courses(tx: &mut Tx, dir: &Path, problems: &mut Problems) -> anyhow::Result<bool> {
    let mut changed = false;
    let agency = tx.agency()?;
    let course_lines: Vec<(u64, crate::training::CourseForm)> = json_lines(dir, MEMBERS[1], problems)?;
    let courses = crate::training::store::courses_of_agency(&mut **tx, agency).await?;
    for (line, form) in &course_lines {
        let existing = courses.iter().find(|c| c.name == form.name.trim()).cloned();
        let course = match form.validate(existing.as_ref().map(|c| c.id).unwrap_or(0)) {
            Ok(course) => course,
            Err(errors) => {
                problems.fields(MEMBERS[1], *line, &errors);
                continue;
            }
        };
        if existing.as_ref() != Some(&course) {
            match crate::training::store::save_course_in(tx, &course).await {
                Ok(_) => changed = true,
                Err(e) => problems.add(MEMBERS[1], *line, e),
            }
        }
    }
    Ok(changed)
}

/// Each officer's n-th designation here made the package's n-th.
async fn designations(
    tx: &mut Tx,
    dir: &Path,
    ids: &HashMap<String, i64>,
    models: &[&str],
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<bool> {
    let mut changed = false;
    let designation_lines: Vec<(u64, super::DesignationLine)> = json_lines(dir, MEMBERS[2], problems)?;
    let held_designations = crate::officers::store::designations_in(tx).await?;
    let mut paired: HashMap<i64, usize> = HashMap::new();
    for (line, d) in &designation_lines {
        let Some(officer) = ids.get(&badge_key(&d.badge)).copied() else {
            problems.add(
                MEMBERS[2],
                *line,
                format!("badge: no officer of the package has badge {}", d.badge),
            );
            continue;
        };
        let designation = match d.form.validate(models, today) {
            Ok(designation) => designation,
            Err(errors) => {
                problems.fields(MEMBERS[2], *line, &errors);
                continue;
            }
        };
        // The officer's n-th designation here is the package's n-th.
        let n = paired.entry(officer).or_insert(0);
        let mine: Vec<&crate::officers::Designation> =
            held_designations.iter().filter(|h| h.officer_id == officer).collect();
        match mine.get(*n) {
            Some(h) => {
                let wanted = crate::officers::Designation { id: h.id, officer_id: officer, ..designation };
                if **h != wanted {
                    crate::officers::store::update_designation_in(tx, officer, h.id, &wanted).await?;
                    changed = true;
                }
            }
            None => {
                crate::officers::store::insert_designation_in(tx, officer, &designation).await?;
                changed = true;
            }
        }
        *n += 1;
    }
    Ok(changed)
}

/// Each officer's n-th training record here made the package's n-th.
async fn training(
    tx: &mut Tx,
    dir: &Path,
    ids: &HashMap<String, i64>,
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<bool> {
    let mut changed = false;
    let agency = tx.agency()?;
    let courses = crate::training::store::courses_of_agency(&mut **tx, agency).await?;
    let training_lines: Vec<(u64, super::TrainingLine)> = json_lines(dir, MEMBERS[3], problems)?;
    let held_training = crate::training::store::records_of_agency(&mut **tx, agency).await?;
    let mut paired: HashMap<i64, usize> = HashMap::new();
    for (line, t) in &training_lines {
        let Some(officer) = ids.get(&badge_key(&t.badge)).copied() else {
            problems.add(
                MEMBERS[3],
                *line,
                format!("badge: no officer of the package has badge {}", t.badge),
            );
            continue;
        };
        let course =
            courses.iter().find(|c| c.name == t.course).map(|c| c.id.to_string()).unwrap_or_default();
        let form = crate::training::TrainingForm { course_id: course, ..t.form.clone() };
        let record = match form.validate(&courses, today) {
            Ok(record) => record,
            Err(errors) => {
                problems.fields(MEMBERS[3], *line, &errors);
                continue;
            }
        };
        let n = paired.entry(officer).or_insert(0);
        let mine: Vec<&crate::training::TrainingRecord> =
            held_training.iter().filter(|h| h.officer_id == officer).collect();
        // Records here in the package's order: by id, as `write_members`
        // lists them.
        let mut mine = mine;
        mine.sort_by_key(|h| h.id);
        match mine.get(*n) {
            Some(h) => {
                let wanted = crate::training::TrainingRecord { id: h.id, officer_id: officer, ..record };
                if **h != wanted {
                    crate::training::store::update_record_in(tx, officer, h.id, &wanted).await?;
                    changed = true;
                }
            }
            None => {
                crate::training::store::insert_record(tx, officer, &record).await?;
                changed = true;
            }
        }
        *n += 1;
    }
    Ok(changed)
}

/// Writes the period's records (stops, arrests, complaints, pay, leads and
/// sign-offs), each checked by the rules of its own import.
async fn records(
    tx: &mut Tx,
    scope: &Scope,
    dir: &Path,
    manifest: &Manifest,
    (from, to): (time::Date, time::Date),
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<()> {
    // A member of no rows is a period without such records, not a file to
    // refuse: it is only its header (and the final check holds it to that).
    let empty = |name: &str| member(manifest, name).is_some_and(|m| m.rows == 0);
    let badges: HashMap<String, i64> =
        crate::officers::store::all_in(tx).await?.into_iter().map(|o| (badge_key(&o.badge), o.id)).collect();
    let authority = crate::compliance::exceptions::Authority::load(tx).await?;
    if !empty(MEMBERS[4]) {
        stops_in(tx, &authority, dir, badges.clone(), today, problems).await?;
    }
    if problems.count > 0 {
        return Ok(());
    }
    // The package's stops, in its order: the agency held none in the
    // period, and they were written in (date, place) order.
    let (from_text, to_text) = (crate::web::format_date(from), crate::web::format_date(to));
    // Their ids only: a year of a large agency is a million stops.
    let stops = crate::stops::store::ids_dated_in(tx, &from_text, &to_text).await?;
    let places = |n: usize| (1..=n as i64).collect::<std::collections::HashSet<i64>>();
    let mut known =
        Known { badges, stops: places(stops.len()), arrests: Default::default(), today, personal: false };
    let stop_id = |place: Option<i64>| place.map(|p| stops[p as usize - 1]);

    let arrests = checked(Kind::Arrests, dir, MEMBERS[5], empty(MEMBERS[5]), &known, problems)?;
    let arrests: Vec<Parsed> = arrests
        .into_iter()
        .map(|row| match row {
            Parsed::Arrest(a) => {
                Parsed::Arrest(Box::new(crate::arrests::Arrest { stop_id: stop_id(a.stop_id), ..*a }))
            }
            other => other,
        })
        .collect();
    let arrest_ids = crate::exchange::write_rows(tx, &authority, &arrests).await?;
    known.arrests = places(arrest_ids.len());

    let complaints = checked(Kind::Complaints, dir, MEMBERS[6], empty(MEMBERS[6]), &known, problems)?;
    let complaints: Vec<Parsed> = complaints
        .into_iter()
        .map(|row| match row {
            Parsed::Complaint(c) => Parsed::Complaint(crate::complaints::Complaint {
                stop_id: stop_id(c.stop_id),
                arrest_id: c.arrest_id.map(|p| arrest_ids[p as usize - 1]),
                ..c
            }),
            other => other,
        })
        .collect();
    crate::exchange::write_rows(tx, &authority, &complaints).await?;
    for (kind, name) in [(Kind::Pay, MEMBERS[7]), (Kind::Leads, MEMBERS[8])] {
        let rows = checked(kind, dir, name, empty(name), &known, problems)?;
        if let Err(e) = crate::exchange::write_rows(tx, &authority, &rows).await {
            problems.add(name, 0, format!("a row could not be written ({e}); it may already be recorded"));
        }
    }
    logged(tx, dir, problems).await?;
    let lines: Vec<(u64, super::SignOffLine)> = json_lines(dir, MEMBERS[11], problems)?;
    sign_offs(tx, scope, &lines, &stops, &arrest_ids, problems).await
}

/// Writes the package's stops through the stop import's own reading and
/// rules, with their aggregates.
async fn stops_in(
    tx: &mut Tx,
    authority: &crate::compliance::exceptions::Authority,
    dir: &Path,
    badges: HashMap<String, i64>,
    today: time::Date,
    problems: &mut Problems,
) -> anyhow::Result<()> {
    let format = crate::stops::import::Format::Native;
    let path = dir.join(MEMBERS[4]);
    let bulk = crate::stops::import::Bulk::begin(tx, &path).await?;
    let (report, aggregates) =
        crate::stops::import::read_into(tx, authority, &path, format, badges, today).await?;
    for p in &report.problems {
        problems.add(MEMBERS[4], p.line, format!("{}: {} (\"{}\")", p.column, p.reason, p.value));
    }
    problems.count += report.problem_count - report.problems.len() as u64;
    if problems.count == 0 {
        bulk.finish(tx, aggregates).await?;
    } else {
        bulk.abandon(tx).await?;
    }
    Ok(())
}

/// The logged measures' definitions (by code, created or brought up to
/// the package's) and the values of the period, each through its form's
/// rules, with who logged and who confirmed them on the agency's install.
async fn logged(tx: &mut Tx, dir: &Path, problems: &mut Problems) -> anyhow::Result<()> {
    use crate::measures::logged::{self, DefineForm, LoggedMeasure, LoggedValue};
    let definitions: Vec<(u64, DefineForm)> = json_lines(dir, MEMBERS[9], problems)?;
    let (held, _) = logged::logged_in(tx, "", "").await?;
    for (line, form) in &definitions {
        let measure = match form.validate() {
            Ok(m) => m,
            Err(errors) => {
                problems.fields(MEMBERS[9], *line, &errors);
                continue;
            }
        };
        match held.iter().find(|h| h.code == measure.code) {
            Some(h) if LoggedMeasure { id: h.id, ..measure.clone() } == *h => {}
            Some(h) => logged::update_measure_in(tx, &LoggedMeasure { id: h.id, ..measure }).await?,
            None => {
                logged::insert_measure_in(tx, &measure).await?;
            }
        }
    }
    let (held, _) = logged::logged_in(tx, "", "").await?;
    let values: Vec<(u64, super::LoggedValueLine)> = json_lines(dir, MEMBERS[10], problems)?;
    for (line, v) in &values {
        let Some(measure) = held.iter().find(|h| h.code == v.code) else {
            problems.add(MEMBERS[10], *line, format!("code: no logged measure of the package is {}", v.code));
            continue;
        };
        match v.form.validate(measure.id) {
            Ok(value) => {
                let value = LoggedValue {
                    logged_by_name: v.logged_by_name.clone(),
                    logged_at: v.logged_at,
                    confirmed_by_name: v.confirmed_by_name.clone(),
                    confirmed_at: v.confirmed_at,
                    ..value
                };
                logged::insert_value_in(tx, &value).await?;
            }
            Err(errors) => problems.fields(MEMBERS[10], *line, &errors),
        }
    }
    Ok(())
}

/// A CSV member's rows, checked; its problems are the package's.
fn checked(
    kind: Kind,
    dir: &Path,
    name: &str,
    empty: bool,
    known: &Known,
    problems: &mut Problems,
) -> anyhow::Result<Vec<Parsed>> {
    if empty {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(dir.join(name))?;
    let checked = crate::exchange::check(kind, &bytes, known);
    for p in &checked.problems {
        problems.add(name, p.line, format!("{}: {} (\"{}\")", p.column, p.reason, p.value));
    }
    problems.count += checked.problem_count - checked.problems.len() as u64;
    Ok(if checked.problem_count == 0 { checked.rows } else { Vec::new() })
}

/// Writes the decisions carried for the package's 287(g) actions, each
/// after the one before it on its record.
async fn sign_offs(
    tx: &mut Tx,
    scope: &Scope,
    lines: &[(u64, super::SignOffLine)],
    stop_ids: &[i64],
    arrest_ids: &[i64],
    problems: &mut Problems,
) -> anyhow::Result<()> {
    let mut latest: HashMap<(String, i64), i64> = HashMap::new();
    for (line, s) in lines {
        let (kind, id) = match (s.kind.as_str(), s.record as usize) {
            ("stop", n) if n >= 1 && n <= stop_ids.len() => (RecordKind::Stop, stop_ids[n - 1]),
            ("arrest", n) if n >= 1 && n <= arrest_ids.len() => (RecordKind::Arrest, arrest_ids[n - 1]),
            _ => {
                problems.add(
                    MEMBERS[11],
                    *line,
                    format!("record: no {} {} in the package", s.kind, s.record),
                );
                continue;
            }
        };
        if crate::supervision::Decision::parse(&s.decision).is_none()
            || !crate::supervision::REVIEWER_KINDS.iter().any(|(k, _)| *k == s.reviewer_kind)
        {
            problems.add(MEMBERS[11], *line, "decision or reviewer_kind: not one this product records");
            continue;
        }
        let record = match kind {
            RecordKind::Stop => {
                crate::supervision::store::Record::Stop(crate::stops::store::get(&mut *tx, scope, id).await?)
            }
            RecordKind::Arrest => crate::supervision::store::Record::Arrest(
                crate::arrests::store::get(&mut *tx, scope, id).await?,
            ),
        };
        if !record.is_action() {
            problems.add(
                MEMBERS[11],
                *line,
                format!("record: {} {} is not a 287(g) action", s.kind, s.record),
            );
            continue;
        }
        // Current at the source: fingerprinted here as it is here. Changed
        // since: a fingerprint no record has, so it reads "changed since".
        let record_hash = match (s.current, record.fingerprint_in(&s.form)) {
            (true, Some(hash)) => hash,
            (true, None) => {
                problems.add(
                    MEMBERS[11],
                    *line,
                    format!("form: {} is not a fingerprint form of a {}", s.form, s.kind),
                );
                continue;
            }
            (false, _) => "changed on the agency's install after this decision".to_string(),
        };
        let key = (s.kind.clone(), id);
        let decision = SignOff {
            id: 0,
            record_kind: s.kind.clone(),
            record_id: id,
            supersedes: latest.get(&key).copied().unwrap_or(0),
            decision: s.decision.clone(),
            comment: s.comment.clone(),
            reviewer_id: None,
            reviewer_name: s.reviewer_name.clone(),
            reviewer_kind: s.reviewer_kind.clone(),
            signed_at: s.signed_at,
            action_at: s.action_at,
            record_hash,
            form: s.form.clone(),
        };
        let new_id = crate::supervision::store::insert_carried(tx, &decision).await?;
        latest.insert(key, new_id);
    }
    Ok(())
}

/// The member a manifest lists under `name`.
pub fn member<'a>(manifest: &'a Manifest, name: &str) -> Option<&'a Member> {
    manifest.members.iter().find(|m| m.name == name)
}
