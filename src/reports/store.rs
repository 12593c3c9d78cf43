//! Generating, storing and verifying reports. The audit head, the data
//! fingerprint and the measures are read, then the audit head again: every
//! change to the records writes an audit entry in its own transaction, so
//! an unchanged head means no write landed in between; otherwise the
//! report is computed again. The printed fingerprint always belongs to the
//! printed numbers.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::records::RecordTree;
use super::{Cover, OfficerRow, Report, forms};
use crate::agency::Scope;
use crate::audit::checkpoint::SigningKey;
use crate::audit::{self, Actor, Event};
use crate::canonical::HashWriter;
use crate::canonical::Sum;
use crate::db::{self, Db, is_unique_violation, now_unix};
use crate::documents::files::FileStore;
use crate::measures::Period;
use crate::measures::store::Source;
use crate::web::format_date;

const COLUMNS: &str = "id, number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
     audit_head, file_sha256, file_name, size, data_form, checkpoint, record_key";

/// Hashes records one line each (v1–v3), or collects them as the leaves
/// of the record tree (v4, `records`).
enum Fingerprint {
    Lines(Sha256),
    Tree(RecordTree),
}

impl Fingerprint {
    /// One record: the kind, a tab, the form's JSON and a newline.
    fn add<T: Serialize>(&mut self, kind: &'static str, id: i64, form: T) {
        match self {
            // Straight from the form: its fields serialize in their listed
            // order, so equal records give equal bytes, without the cost of
            // building a sorted map for each of a million stops.
            Fingerprint::Lines(sha) => write_line(sha, kind, form),
            Fingerprint::Tree(tree) => {
                let mut sha = Sha256::new();
                write_line(&mut sha, kind, form);
                tree.push(kind, id, sha.finalize().into());
            }
        }
    }

    /// One day of stops or arrests (report/v3): the kind, the day, the
    /// number of records and the sum of their content hashes.
    fn day(&mut self, kind: &str, day: &str, records: i64, sum: &Sum) {
        if let Fingerprint::Lines(sha) = self {
            sha.update(format!("{kind}\t{day}\t{records}\t{}\n", sum.hex()).as_bytes());
        }
    }

    fn finish(self) -> String {
        match self {
            Fingerprint::Lines(sha) => hex::encode(sha.finalize()),
            Fingerprint::Tree(mut tree) => tree.root_hex(),
        }
    }
}

fn write_line<T: Serialize>(sha: &mut Sha256, kind: &str, form: T) {
    sha.update(kind.as_bytes());
    sha.update(b"\t");
    let _ = serde_json::to_writer(&mut HashWriter(sha), &form);
    sha.update(b"\n");
}

/// The data fingerprint of the records a report for `period` reads, in the
/// data form `form` (`forms`): those of the period and its baseline period
/// (for the previous values), and the officers' designations and training
/// (for authorization). `record_key` is the key the report keeps (its
/// agency's record key, `agency::store::record_key`), which blinds
/// the leaves of a v4 tree (unused by the earlier forms).
///
/// In v3 the stops enter by day: from the stored day digests when a report
/// is issued (`Source::Aggregates`), recomputed from the stops when one is
/// checked (`Source::Records`); equal records give equal bytes either way.
/// A v4 tree has a leaf per record, so it is always read from the records.
pub async fn data_fingerprint(
    scope: &Scope,
    period: Period,
    form: &str,
    source: Source,
    record_key: &[u8],
) -> Result<String, sqlx::Error> {
    let mut f = match form {
        "v4" => Fingerprint::Tree(RecordTree::new(record_key)),
        _ => Fingerprint::Lines(Sha256::new()),
    };
    collect(scope, period, form, source, &mut f).await?;
    Ok(f.finish())
}

/// The v4 tree of the records behind a report for `period` with the key
/// `record_key`, to prove one record with (`RecordTree::prove`).
pub async fn record_tree(
    scope: &Scope,
    period: Period,
    record_key: &[u8],
) -> Result<RecordTree, sqlx::Error> {
    let mut f = Fingerprint::Tree(RecordTree::new(record_key));
    collect(scope, period, "v4", Source::Records, &mut f).await?;
    match f {
        Fingerprint::Tree(tree) => Ok(tree),
        Fingerprint::Lines(_) => unreachable!("made as a tree above"),
    }
}

async fn collect(
    scope: &Scope,
    period: Period,
    form: &str,
    source: Source,
    f: &mut Fingerprint,
) -> Result<(), sqlx::Error> {
    let (from, to) = (forms::covered_from(period, form), period.to);
    let (from_text, to_text) = (format_date(from), format_date(to));
    let inside = |date: &str| crate::web::parse_date(date).is_some_and(|d| from <= d && d <= to);
    match (form, source) {
        ("v1" | "v2", _) => {
            crate::stops::store::for_each_between(scope, &from_text, &to_text, |s| {
                f.add("stop", s.id, forms::StopForm(s))
            })
            .await?
        }
        // A leaf per stop: its content hash, as its day's sum adds it.
        ("v4", _) => {
            let Fingerprint::Tree(tree) = &mut *f else { unreachable!("v4 is a tree") };
            // The kept day counts, as a hint of how many leaves come.
            let mut conn = scope.acquire().await?;
            let days =
                crate::stops::aggregates::digests_between(&mut conn, scope, &from_text, &to_text).await?;
            drop(conn);
            let total: usize = days.iter().map(|(_, n, _)| *n as usize).sum();
            tree.reserve(total);
            // Read in two halves at once, on both cores: reading and hashing
            // a year of a million stops is seconds of one core's work.
            let reads: Vec<_> = halves(&days, total, from, to)
                .into_iter()
                .map(|(a, b)| {
                    let scope = scope.clone();
                    tokio::spawn(async move {
                        let mut read = Vec::new();
                        crate::stops::store::for_each_content_digest(&scope, &a, &b, |id, d| {
                            read.push((id, d))
                        })
                        .await
                        .map(|_| read)
                    })
                })
                .collect();
            for read in reads {
                let read = read.await.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
                read.into_iter().for_each(|(id, digest)| tree.push("stop", id, digest));
            }
        }
        (_, Source::Aggregates) => {
            let mut conn = scope.acquire().await?;
            for (day, stops, sum) in
                crate::stops::aggregates::digests_between(&mut conn, scope, &from_text, &to_text).await?
            {
                f.day("stop-day", &day, stops, &sum);
            }
        }
        (_, Source::Records) => {
            let mut days: std::collections::BTreeMap<String, (i64, Sum)> = Default::default();
            crate::stops::store::for_each_between(scope, &from_text, &to_text, |s| {
                let day = days.entry(s.stop_date.clone()).or_default();
                day.0 += 1;
                day.1.add(&crate::stops::aggregates::content_sum(s));
            })
            .await?;
            for (day, (stops, sum)) in &days {
                f.day("stop-day", day, *stops, sum);
            }
        }
    }
    match form {
        "v1" | "v2" => {
            for a in crate::arrests::store::between(scope, &from_text, &to_text).await? {
                f.add("arrest", a.id, forms::ArrestForm(&forms::arrest(&a, form)));
            }
        }
        // The arrest's content hash covers its committed form, which a
        // purge of its name and date of birth leaves as it was.
        "v4" => {
            let Fingerprint::Tree(tree) = &mut *f else { unreachable!("v4 is a tree") };
            for a in crate::arrests::store::between(scope, &from_text, &to_text).await? {
                tree.push("arrest", a.id, a.content_digest());
            }
        }
        _ => {
            let from_records = source == Source::Records;
            for (day, arrests, sum) in
                crate::arrests::store::digests_between(scope, &from_text, &to_text, from_records).await?
            {
                f.day("arrest-day", &day, arrests, &sum);
            }
        }
    }
    // v1 hashed the complaints of the newest 500 that fell in the range;
    // v2 hashes every one in it (the measures read every one).
    let complaints = match form {
        "v1" => crate::complaints::store::list(scope, "", "").await?,
        _ => crate::complaints::store::received_or_closed_between(scope, &from_text, &to_text).await?,
    };
    for c in
        complaints.iter().filter(|c| inside(&c.received_on) || c.closed_on.as_deref().is_some_and(inside))
    {
        f.add("complaint", c.id, forms::ComplaintForm(c));
    }
    for p in crate::pay::store::all_pay(scope).await?.iter().filter(|p| inside(&p.period_end)) {
        f.add("pay", p.id, forms::PayForm(p));
    }
    let leads = crate::pay::store::all_leads(scope).await?;
    let in_period =
        |q: &str| crate::measures::program::quarter_start(q).is_some_and(|d| from <= d && d <= to);
    for l in leads.iter().filter(|l| in_period(&l.quarter)) {
        f.add("leads", l.id, forms::LeadsForm(l));
    }
    for s in &crate::supervision::store::all(scope).await? {
        f.add("sign_off", s.id, forms::SignOffForm(s));
    }
    for m in &crate::measures::logged::measures(scope).await? {
        f.add("logged_measure", m.id, forms::LoggedMeasureForm(m));
    }
    let logged = crate::measures::logged::values(scope).await?;
    for v in logged.iter().filter(|v| inside(&v.period_from) || inside(&v.period_to)) {
        f.add("logged_value", v.id, forms::LoggedValueForm(v));
    }
    for o in &crate::officers::store::list(scope, &Default::default()).await? {
        f.add("officer", o.id, forms::OfficerForm(o));
    }
    for d in &crate::officers::store::all_designations(scope, scope).await? {
        f.add("designation", d.id, forms::DesignationForm(d));
    }
    for t in &crate::training::store::all_records(scope, scope).await? {
        f.add("training", t.id, forms::TrainingForm(t));
    }
    Ok(())
}

/// [from, to] cut in two at the day where the kept day counts reach half
/// the stops: the second half starts the next calendar day, so a stop the
/// counts missed (when verifying, the records are what counts) is still
/// read by one of them. One range when there is nothing to cut.
fn halves(
    days: &[(String, i64, Sum)],
    total: usize,
    from: time::Date,
    to: time::Date,
) -> Vec<(String, String)> {
    let mut seen = 0;
    for (day, n, _) in days {
        seen += *n as usize;
        if seen * 2 >= total {
            let cut = crate::web::parse_date(day).filter(|d| *d < to);
            if let Some(cut) = cut {
                return vec![
                    (format_date(from), format_date(cut)),
                    (format_date(cut.next_day().unwrap_or(to)), format_date(to)),
                ];
            }
            break;
        }
    }
    vec![(format_date(from), format_date(to))]
}

/// The appendix: each officer's status for each model they hold.
async fn officer_rows(scope: &Scope, on: time::Date) -> Result<Vec<OfficerRow>, sqlx::Error> {
    let officers = crate::officers::store::list(scope, &Default::default()).await?;
    let evidence = crate::officers::store::evidence(scope).await?;
    let mut rows = Vec::new();
    for officer in &officers {
        let ev = evidence.of(officer.id);
        for (model, _) in
            crate::agency::MODELS.iter().filter(|(m, _)| ev.designations.iter().any(|d| d.model == *m))
        {
            let c = crate::compliance::assess(officer, &ev, model, on);
            rows.push([
                format!("{} ({})", officer.full_name(), officer.badge),
                model.to_string(),
                c.status.label().to_string(),
                c.reason.clone(),
                c.next_due_text(),
            ]);
        }
    }
    Ok(rows)
}

/// The report's early-warning section for the period.
async fn early_warning_part(scope: &Scope, period: Period) -> anyhow::Result<super::EarlyWarningPart> {
    use crate::measures::warning::{MINIMUM_STOPS, rows};
    let list = crate::measures::store::early_warning(scope, period, MINIMUM_STOPS).await?;
    let names = officer_names(scope).await?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("officer {id}"));
    let flagged = list.flagged().count();
    let summary = format!(
        "{} officers with at least {} stops in the period were compared ({} with fewer were not); {} flagged for review.",
        list.reviews.len(),
        list.minimum,
        list.below_minimum,
        match flagged {
            0 => "none".to_string(),
            n => n.to_string(),
        }
    );
    Ok(super::EarlyWarningPart { summary, flagged: rows(&list, name, false) })
}

/// "Badge Last, First" of every officer of the agency, by id.
pub async fn officer_names(scope: &Scope) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let officers = crate::officers::store::list(scope, &Default::default()).await?;
    Ok(officers
        .into_iter()
        .map(|o| (o.id, format!("{} {}, {}", o.badge, o.last_name, o.first_name)))
        .collect())
}

/// Computes, renders, stores and records one report.
pub async fn generate(
    scope: &Scope,
    files: &FileStore,
    actor: &Actor,
    generated_by: &str,
    period: Period,
    key: &crate::audit::checkpoint::SigningKey,
) -> anyhow::Result<(Report, Vec<u8>)> {
    let profile = crate::agency::store::get(scope).await?;
    let record_key = crate::agency::store::record_key(scope).await?;
    for _ in 0..5 {
        let (audit_seq, audit_head) = audit::store::head(scope).await?.unwrap_or((0, String::new()));
        // The early-warning list reads every stop of the period while the
        // measures read the aggregates: on a task of its own, they run on
        // both cores (a year of a million stops: about a second each).
        let warning = tokio::spawn({
            let scope = scope.clone();
            async move { early_warning_part(&scope, period).await }
        });
        // So is the fingerprint, which reads every record of the period.
        let fingerprint = tokio::spawn({
            let (scope, key) = (scope.clone(), record_key.clone());
            async move { data_fingerprint(&scope, period, forms::CURRENT, Source::Aggregates, &key).await }
        });
        let sheet = crate::measures::store::compute(scope, period).await?;
        let officers = officer_rows(scope, period.to).await?;
        let before = fingerprint.await??;
        let warning = warning.await??;
        // The checkpoint the cover prints is of the log at that head.
        let checkpoint = audit::store::checkpoint(scope, key).await?.map(|c| c.note).unwrap_or_default();
        let signed_size = checkpoint.lines().nth(1).and_then(|l| l.parse::<i64>().ok()).unwrap_or(0);
        if audit::store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0) != audit_seq
            || signed_size != audit_seq
        {
            continue;
        }
        let generated_at = now_unix();
        let year = time::OffsetDateTime::from_unix_timestamp(generated_at).map(|t| t.year()).unwrap_or(0);
        let cover = Cover {
            agency: profile.name.clone(),
            ori: profile.ori.clone(),
            number: next_number(scope, year).await?,
            generated_at,
            generated_by: generated_by.to_string(),
            data_sha256: before,
            audit_seq,
            audit_head,
            checkpoint,
        };
        let paper = super::pdf::Paper::from_setting(&profile.paper_size);
        let bytes = super::render(&sheet, &cover, &officers, &warning, paper)?;
        let stored = files.write(&bytes)?;
        match record(scope, actor, &cover, period, &stored, &record_key).await {
            Ok(report) => return Ok((report, bytes)),
            // Another report took the number meanwhile: render again.
            Err(e) if is_unique_violation(&e) => files.remove(&stored.name),
            Err(e) => {
                files.remove(&stored.name);
                return Err(e.into());
            }
        }
    }
    anyhow::bail!("the records kept changing while the report was computed; try again")
}

/// The agency's next report number in `year`: R-YEAR-NNNN, NNNN one more
/// than the reports the agency has issued (the next free one, should that
/// number be taken).
async fn next_number(scope: &Scope, year: i32) -> Result<String, sqlx::Error> {
    let mut next: i64 = db::query_scalar("SELECT COUNT(*) + 1 FROM reports WHERE agency_id = $1")
        .bind(scope.id())
        .fetch_one(scope)
        .await?;
    loop {
        let number = format!("R-{year}-{next:04}");
        let taken: i64 =
            db::query_scalar("SELECT COUNT(*) FROM reports WHERE agency_id = $1 AND number = $2")
                .bind(scope.id())
                .bind(&number)
                .fetch_one(scope)
                .await?;
        if taken == 0 {
            return Ok(number);
        }
        next += 1;
    }
}

async fn record(
    scope: &Scope,
    actor: &Actor,
    cover: &Cover,
    period: Period,
    stored: &crate::documents::files::Stored,
    record_key: &[u8],
) -> Result<Report, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let report: Report = db::query_as(&format!(
        "INSERT INTO reports (number, period_from, period_to, generated_at, generated_by, data_sha256, audit_seq, \
         audit_head, file_sha256, file_name, size, data_form, agency_id, checkpoint, record_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLUMNS}"
    ))
    .bind(&cover.number)
    .bind(period.from_text())
    .bind(period.to_text())
    .bind(cover.generated_at)
    .bind(&cover.generated_by)
    .bind(&cover.data_sha256)
    .bind(cover.audit_seq)
    .bind(&cover.audit_head)
    .bind(&stored.sha256)
    .bind(&stored.name)
    .bind(stored.size as i64)
    .bind(forms::CURRENT)
    .bind(tx.agency()?)
    .bind(&cover.checkpoint)
    .bind(record_key)
    .fetch_one(&mut *tx)
    .await?;
    let event = Event::new("report.generate", "report", report.id).details(json!({
        "number": report.number, "from": report.period_from, "to": report.period_to,
        "data_sha256": report.data_sha256, "file_sha256": report.file_sha256,
    }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(report)
}

pub async fn list(scope: &Scope) -> Result<Vec<Report>, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM reports WHERE agency_id = $1 ORDER BY id DESC"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

/// One of the agency's reports; another agency's is not found.
pub async fn get(scope: &Scope, id: i64) -> Result<Report, sqlx::Error> {
    db::query_as(&format!("SELECT {COLUMNS} FROM reports WHERE id = $1 AND agency_id = $2"))
        .bind(id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

/// What verification found.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The file is an issued report of `agency`, byte for byte;
    /// `records_unchanged` says whether the agency's records still hash to
    /// its fingerprint.
    /// `log` says whether the audit log today extends the checkpoint the
    /// report prints (Ok with its size); None for a report without one, or
    /// one whose checkpoint another install's key signed (copied here).
    Issued {
        report: Box<Report>,
        agency: i64,
        records_unchanged: bool,
        current: String,
        log: Option<Result<u64, String>>,
    },
    /// The file is an issued statewide report, byte for byte; `changed`
    /// names the agencies whose records no longer hash to its fingerprints.
    Statewide(Box<crate::state::report::Checked>),
    /// Not a file this system issued, or an issued file altered.
    Unknown { sha256: String },
}

impl Verdict {
    pub fn message(&self) -> String {
        let log = match self {
            Verdict::Issued { log, .. } => log,
            Verdict::Statewide(checked) => &checked.log,
            Verdict::Unknown { .. } => &None,
        };
        let log = match log {
            Some(Ok(size)) => format!(
                " The audit log today extends the signed checkpoint the report prints ({size} entries): nothing in it \
                 up to the report was changed or removed."
            ),
            Some(Err(why)) => {
                format!(
                    " LOG REWRITTEN: the audit log today does not extend the checkpoint the report prints: {why}."
                )
            }
            // A checkpoint this install's key did not sign: the records
            // were copied here from another install (docs/audit.md).
            None if self.checkpoint_elsewhere() => " The checkpoint the report prints was signed by another install's \
                key (its records were copied here): check the log against it with that install's verifier key, \
                oversight audit verify FILE --checkpoint C --key VKEY."
                .to_string(),
            None => String::new(),
        };
        self.records_message() + &log
    }

    /// An issued report printing a checkpoint that was left unchecked.
    fn checkpoint_elsewhere(&self) -> bool {
        match self {
            Verdict::Issued { report, log: None, .. } => !report.checkpoint.is_empty(),
            Verdict::Statewide(checked) => checked.log.is_none() && !checked.report.checkpoint.is_empty(),
            _ => false,
        }
    }

    fn records_message(&self) -> String {
        match self {
            Verdict::Issued { report, records_unchanged: true, .. } => format!(
                "VERIFIED: this is report {} ({}), issued {} by {}, unaltered; the records behind it still hash to {}.",
                report.number,
                report.period_text(),
                report.generated_text(),
                report.generated_by,
                report.data_sha256
            ),
            Verdict::Issued { report, records_unchanged: false, current, .. } => format!(
                "RECORDS CHANGED: the file is report {} ({}) as issued, unaltered, but the records behind it were changed \
                 afterwards: they hashed to {} then and hash to {current} now.",
                report.number,
                report.period_text(),
                report.data_sha256
            ),
            Verdict::Statewide(checked) if checked.changed.is_empty() => format!(
                "VERIFIED: this is statewide report {} ({}), issued {} by {}, unaltered; the records of all {} agencies \
                 behind it still hash to the fingerprints it prints.",
                checked.report.number,
                checked.report.period_text(),
                checked.report.generated_text(),
                checked.report.generated_by,
                checked.agencies
            ),
            Verdict::Statewide(checked) => format!(
                "RECORDS CHANGED: the file is statewide report {} ({}) as issued, unaltered, but the records of {} of its \
                 {} agencies were changed afterwards and no longer hash to the fingerprints it prints: {}.",
                checked.report.number,
                checked.report.period_text(),
                checked.changed.len(),
                checked.agencies,
                checked.changed.join(", ")
            ),
            Verdict::Unknown { sha256 } => format!(
                "NOT VERIFIED: no report issued by this system has this content (SHA-256 {sha256}). The file was altered \
                 or was not issued here."
            ),
        }
    }
    pub fn is_verified(&self) -> bool {
        match self {
            Verdict::Issued { records_unchanged, log, .. } => {
                *records_unchanged && !matches!(log, Some(Err(_)))
            }
            Verdict::Statewide(checked) => checked.changed.is_empty() && !matches!(checked.log, Some(Err(_))),
            Verdict::Unknown { .. } => false,
        }
    }
}

/// Verifies a file against every report of the deployment (`oversight
/// report verify`): a file's SHA-256 names at most one report, and its
/// records are then read in that report's agency only.
pub async fn verify(db: &Db, bytes: &[u8], key: &SigningKey) -> Result<Verdict, sqlx::Error> {
    verify_deployment_sha256(db, hex::encode(Sha256::digest(bytes)), key).await
}

/// Verifies a file's SHA-256 against every agency's reports and the
/// statewide ones (the state auditor's verification page).
pub async fn verify_deployment_sha256(
    db: &Db,
    sha256: String,
    key: &SigningKey,
) -> Result<Verdict, sqlx::Error> {
    let verdict = verify_in(db, None, sha256, key).await?;
    let Verdict::Unknown { sha256 } = verdict else { return Ok(verdict) };
    Ok(match crate::state::report::verify(db, &sha256, key).await? {
        Some(checked) => Verdict::Statewide(Box::new(checked)),
        None => Verdict::Unknown { sha256 },
    })
}

/// Verifies a file whose SHA-256 (hex) was computed as it arrived against
/// the agency's reports: another agency's report is "not issued here".
pub async fn verify_sha256(scope: &Scope, sha256: String, key: &SigningKey) -> Result<Verdict, sqlx::Error> {
    verify_in(scope.db(), Some(scope.id()), sha256, key).await
}

/// Finds the report with the file hash `sha256`, in `agency` if given,
/// and checks its fingerprint against its agency's records.
async fn verify_in(
    db: &Db,
    agency: Option<i64>,
    sha256: String,
    key: &SigningKey,
) -> Result<Verdict, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[sqlx(flatten)]
        report: Report,
        agency_id: i64,
    }
    let found: Option<Found> = db::query_as(&format!(
        "SELECT {COLUMNS}, agency_id FROM reports WHERE file_sha256 = $1 AND ($2 IS NULL OR agency_id = $2)"
    ))
    .bind(&sha256)
    .bind(agency)
    .fetch_optional(db)
    .await?;
    let Some(Found { report, agency_id }) = found else { return Ok(Verdict::Unknown { sha256 }) };
    let scope = Scope::of_agency(db, agency_id);
    let period = crate::web::parse_date(&report.period_from)
        .zip(crate::web::parse_date(&report.period_to))
        .and_then(|(f, t)| Period::new(f, t));
    let Some(period) = period.filter(|_| forms::is_known(&report.data_form)) else {
        return Ok(Verdict::Unknown { sha256 });
    };
    let current =
        data_fingerprint(&scope, period, &report.data_form, Source::Records, &report.record_key).await?;
    let log = match report.checkpoint.as_str() {
        "" => None,
        note => audit::store::extends(&scope, key, note).await?,
    };
    Ok(Verdict::Issued {
        log,
        agency: agency_id,
        records_unchanged: current == report.data_sha256,
        current,
        report: Box::new(report),
    })
}

/// The kinds of record a v4 tree has leaves for (`collect`).
pub const RECORD_KINDS: [&str; 11] = [
    "arrest",
    "complaint",
    "designation",
    "leads",
    "logged_measure",
    "logged_value",
    "officer",
    "pay",
    "sign_off",
    "stop",
    "training",
];

/// Why one record could not be proved part of a report.
#[derive(Debug, thiserror::Error)]
pub enum NoRecordProof {
    #[error("the file is not a report this agency issued (or it was altered)")]
    NotIssued,
    #[error(
        "report {0} was issued in data form {1}, before reports carried a tree of their records (form v4)"
    )]
    EarlierForm(String, String),
    #[error(
        "the records behind report {0} have changed since it was issued (`oversight report verify` says which \
         agency's data no longer hashes to its fingerprint): a proof would not lead to the printed fingerprint"
    )]
    RecordsChanged(String),
    #[error("{0} {1} was not part of the data behind report {2}")]
    NotInReport(String, i64, String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A record proved part of a report.
pub struct ProvedRecord {
    pub report: Report,
    pub proof: super::records::RecordProof,
    /// A stop's or an arrest's fields as its leaf hashes them (the arrest
    /// committed: no name, no date of birth), for the reader to see.
    pub fields: Option<serde_json::Value>,
}

impl ProvedRecord {
    /// The proof file (docs/fingerprints.md, "Proving one record").
    pub fn text(&self) -> String {
        let (report, proof) = (&self.report, &self.proof);
        let mut lines = vec![
            super::records::PROOF_LABEL.to_string(),
            format!("report {} {} file-sha256 {}", report.number, report.period_text(), report.file_sha256),
        ];
        lines.extend(proof.lines());
        if let Some(fields) = &self.fields {
            lines.push(format!("fields {fields}"));
        }
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Proves that record `kind` `id`, as it stands, was part of the data
/// behind the agency's report whose file has the SHA-256 `sha256`; the
/// proof is recorded in the agency's audit log, as it discloses that one
/// record's hash.
pub async fn prove_record(
    scope: &Scope,
    actor: &Actor,
    sha256: &str,
    kind: &str,
    id: i64,
) -> Result<ProvedRecord, NoRecordProof> {
    let report: Report =
        db::query_as(&format!("SELECT {COLUMNS} FROM reports WHERE file_sha256 = $1 AND agency_id = $2"))
            .bind(sha256)
            .bind(scope.id())
            .fetch_optional(scope)
            .await?
            .ok_or(NoRecordProof::NotIssued)?;
    if report.data_form != "v4" {
        return Err(NoRecordProof::EarlierForm(report.number.clone(), report.data_form.clone()));
    }
    let period = crate::web::parse_date(&report.period_from)
        .zip(crate::web::parse_date(&report.period_to))
        .and_then(|(f, t)| Period::new(f, t))
        .ok_or(NoRecordProof::NotIssued)?;
    let mut tree = record_tree(scope, period, &report.record_key).await?;
    let proof = tree.prove(kind, id);
    let root = match &proof {
        Some(p) => hex::encode(p.root),
        None => tree.root_hex(),
    };
    if root != report.data_sha256 {
        return Err(NoRecordProof::RecordsChanged(report.number.clone()));
    }
    let proof =
        proof.ok_or_else(|| NoRecordProof::NotInReport(kind.to_string(), id, report.number.clone()))?;
    let mut tx = scope.begin_write().await?;
    let event = Event::new("report.prove_record", "report", report.id)
        .details(json!({ "record_kind": kind, "record_id": id, "leaf": proof.index, "leaves": proof.size }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    let fields = match kind {
        "stop" => {
            Some(serde_json::to_value(forms::StopForm(&crate::stops::store::get(scope, scope, id).await?)))
        }
        "arrest" => {
            let arrest = crate::arrests::store::get(scope, scope, id).await?;
            Some(serde_json::to_value(forms::ArrestForm(&arrest.committed())))
        }
        _ => None,
    };
    Ok(ProvedRecord { report, proof, fields: fields.transpose().ok().flatten() })
}

/// Records a verification in the audit log: in the chain of the report's
/// agency when the file is an issued report, else where the actor's events
/// go (`audit::record_alone`).
pub async fn record_verification(db: &Db, actor: &Actor, verdict: &Verdict) -> Result<(), sqlx::Error> {
    match verdict {
        Verdict::Issued { report, agency, records_unchanged, log, .. } => {
            let outcome = match (records_unchanged, log) {
                (_, Some(Err(_))) => "log rewritten",
                (true, _) => "verified",
                (false, _) => "records changed",
            };
            let event =
                Event::new("report.verify", "report", report.id).details(json!({ "result": outcome }));
            let mut tx = Scope::of_agency(db, *agency).begin_write().await?;
            audit::record(&mut tx, actor, event).await?;
            tx.commit().await
        }
        Verdict::Statewide(checked) => {
            let outcome = match (checked.changed.is_empty(), &checked.log) {
                (_, Some(Err(_))) => "log rewritten",
                (true, _) => "verified",
                (false, _) => "records changed",
            };
            let event = Event::new("state_report.verify", "state_report", checked.report.id)
                .details(json!({ "result": outcome, "changed": checked.changed }));
            audit::record_in(&crate::state::store::state_chain(db), actor, event).await.map(|_| ())
        }
        Verdict::Unknown { .. } => {
            let event =
                Event::new("report.verify", "report", "").details(json!({ "result": "not verified" }));
            audit::record_alone(db, actor, event).await.map(|_| ())
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub report_id: i64,
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

impl Comment {
    pub fn created_text(&self) -> String {
        crate::web::format_instant(self.created_at)
    }
}

pub async fn comments(scope: &Scope) -> Result<Vec<Comment>, sqlx::Error> {
    db::query_as(
        "SELECT id, report_id, author, body, created_at FROM report_comments WHERE agency_id = $1 ORDER BY id",
    )
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// Adds a comment to one of the agency's reports (the caller found it
/// with `get`).
pub async fn add_comment(
    scope: &Scope,
    actor: &Actor,
    report_id: i64,
    user_id: i64,
    author: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let (id,): (i64,) = db::query_as(
        "INSERT INTO report_comments (report_id, user_id, author, body, created_at, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(report_id)
    .bind(user_id)
    .bind(author)
    .bind(body)
    .bind(now_unix())
    .bind(tx.agency()?)
    .fetch_one(&mut *tx)
    .await?;
    let event =
        Event::new("report.comment", "report", report_id).details(json!({ "comment": id, "body": body }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_halves_cover_the_range_without_a_gap_or_an_overlap() {
        let day = |d: &str, n: i64| (d.to_string(), n, Sum::default());
        let (from, to) = (date!(2023 - 01 - 01), date!(2024 - 12 - 31));
        // Skewed: most stops late; the cut falls where half are counted.
        let days =
            vec![day("2023-03-01", 10), day("2024-06-30", 40), day("2024-07-01", 30), day("2024-12-31", 20)];
        let halves = halves(&days, 100, from, to);
        assert_eq!(
            halves,
            vec![
                ("2023-01-01".to_string(), "2024-06-30".to_string()),
                ("2024-07-01".to_string(), "2024-12-31".to_string())
            ]
        );
        // Half reached on the last day, one day, or nothing: one range.
        let whole = vec![("2023-01-01".to_string(), "2024-12-31".to_string())];
        assert_eq!(super::halves(&[day("2024-12-31", 5)], 5, from, to), whole);
        assert_eq!(super::halves(&[], 0, from, to), whole);
    }
}
