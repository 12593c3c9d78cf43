//! Stored publications: only this store touches `publications`, which is
//! append-only (a correction is a new row). Making one computes its
//! figures, suppresses small cells, writes its files, and stores it with
//! its audit entry and signed checkpoint in one transaction.

use serde_json::json;

use super::open_data::{self, CSV_FILE, DICTIONARY_FILE, JSON_FILE, PACKAGE_FILE, PDF_FILE};
use super::{Body, STATE};
use crate::agency::Scope;
use crate::audit::checkpoint::SigningKey;
use crate::audit::{self, Actor, Event};
use crate::db::{self, Db};
use crate::documents::files::FileStore;
use crate::measures::Period;

const COLUMNS: &str = "id, agency_id, period_from, period_to, version, published_at, correction, data_sha256, \
     audit_seq, body, measures_csv, measures_json, dictionary_csv, datapackage, pdf_file, pdf_sha256, note";

/// One publication as stored (never changed).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Publication {
    pub id: i64,
    /// The agency's id, or 0 (`db::STATE_CHAIN`) for the state's.
    pub agency_id: i64,
    pub period_from: String,
    pub period_to: String,
    pub version: i64,
    pub published_at: i64,
    pub correction: String,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub body: String,
    pub measures_csv: String,
    pub measures_json: String,
    pub dictionary_csv: String,
    pub datapackage: String,
    pub pdf_file: String,
    pub pdf_sha256: String,
    pub note: String,
}

impl Publication {
    pub fn body(&self) -> Body {
        serde_json::from_str(&self.body).unwrap_or_else(|_| Body {
            ori: String::new(),
            name: String::new(),
            models: vec![],
            agreement_signed: None,
            period_from: self.period_from.clone(),
            period_to: self.period_to.clone(),
            agencies: vec![],
            measures: vec![],
            cells: vec![],
        })
    }
    pub fn published_text(&self) -> String {
        crate::web::format_instant(self.published_at)
    }
    /// Each file's name and SHA-256, as the signed checkpoint lists them.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        vec![
            (CSV_FILE, open_data::sha256(self.measures_csv.as_bytes())),
            (JSON_FILE, open_data::sha256(self.measures_json.as_bytes())),
            (DICTIONARY_FILE, open_data::sha256(self.dictionary_csv.as_bytes())),
            (PACKAGE_FILE, open_data::sha256(self.datapackage.as_bytes())),
            (PDF_FILE, self.pdf_sha256.clone()),
        ]
    }
}

/// A publication's versions in a list: (version, published at, correction).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    pub agency_id: i64,
    pub period_from: String,
    pub period_to: String,
    pub version: i64,
    pub published_at: i64,
    pub correction: String,
}

impl Listed {
    pub fn published_text(&self) -> String {
        crate::web::format_instant(self.published_at)
    }
    pub fn period(&self) -> Option<Period> {
        Period::new(crate::web::parse_date(&self.period_from)?, crate::web::parse_date(&self.period_to)?)
    }
    pub fn label(&self) -> String {
        self.period().map(super::label).unwrap_or_default()
    }
    pub fn slug(&self) -> String {
        self.period().map(super::slug).unwrap_or_default()
    }
}

/// Every version of every publication of the deployment, newest period
/// first (the public index).
pub async fn list(db: &Db) -> Result<Vec<Listed>, sqlx::Error> {
    db::query_as(
        "SELECT agency_id, period_from, period_to, version, published_at, correction FROM publications \
         ORDER BY agency_id, period_from DESC, period_to DESC, version DESC",
    )
    .fetch_all(db)
    .await
}

/// Version `version` of a period's publication, or its newest.
pub async fn get(
    db: &Db,
    agency_id: i64,
    period: Period,
    version: Option<i64>,
) -> Result<Option<Publication>, sqlx::Error> {
    let q = format!(
        "SELECT {COLUMNS} FROM publications WHERE agency_id = $1 AND period_from = $2 AND period_to = $3 \
         AND ($4 = 0 OR version = $4) ORDER BY version DESC LIMIT 1"
    );
    db::query_as(&q)
        .bind(agency_id)
        .bind(period.from_text())
        .bind(period.to_text())
        .bind(version.unwrap_or(0))
        .fetch_optional(db)
        .await
}

/// The versions of a period's publication, newest first.
pub async fn versions(db: &Db, agency_id: i64, period: Period) -> Result<Vec<Listed>, sqlx::Error> {
    db::query_as(
        "SELECT agency_id, period_from, period_to, version, published_at, correction FROM publications \
         WHERE agency_id = $1 AND period_from = $2 AND period_to = $3 ORDER BY version DESC",
    )
    .bind(agency_id)
    .bind(period.from_text())
    .bind(period.to_text())
    .fetch_all(db)
    .await
}

/// Why a publication was not made, in words for the form and the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "a publication is of a whole calendar month, quarter or year (for example 2026-01-01 to 2026-03-31)"
    )]
    NotCalendar,
    #[error("the period has not ended yet: publish it after {0}")]
    NotEnded(String),
    #[error(
        "this period is already published (version {0}): say what changed and why to publish a correction"
    )]
    NeedsCorrection(i64),
    #[error(
        "{0} are published here already: publications keep to one of months, quarters or years, since a year's \
         figure less three of its quarters would give the fourth's small counts"
    )]
    OtherCadence(&'static str),
    #[error(
        "{0} already published figures for part of this period: a statewide figure less every agency's own would \
         give one agency's small counts, so a period is published by the state or by its agencies, not both"
    )]
    OtherPublisher(&'static str),
    #[error("the correction note is longer than 2,000 characters")]
    NoteTooLong,
    #[error("the records kept changing while the publication was computed; try again")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Failed(e.into())
    }
}

/// What a publication would show, computed now (the preview shows it;
/// `publish` stores it), with the fingerprint of the records behind it.
pub struct Draft {
    pub body: Body,
    pub data_sha256: String,
    pub audit_seq: i64,
}

/// Checks what the rules ask of a new publication before anything is
/// computed.
pub async fn check(
    db: &Db,
    chain: i64,
    period: Period,
    today: time::Date,
    correction: &str,
) -> Result<i64, Refused> {
    if !super::is_publishable(period) {
        return Err(Refused::NotCalendar);
    }
    if period.to >= today {
        return Err(Refused::NotEnded(period.to_text()));
    }
    if correction.chars().count() > 2000 {
        return Err(Refused::NoteTooLong);
    }
    let cadence = |months: Option<u8>| match months {
        Some(1) => "months",
        Some(3) => "quarters",
        _ => "years",
    };
    let published = list(db).await?;
    if let Some(other) = published
        .iter()
        .filter(|l| l.agency_id == chain)
        .filter_map(|l| l.period())
        .find(|p| p.calendar_months() != period.calendar_months())
    {
        return Err(Refused::OtherCadence(cadence(other.calendar_months())));
    }
    let state = crate::db::STATE_CHAIN;
    let overlapping = |l: &&Listed| l.period().is_some_and(|p| p.from <= period.to && period.from <= p.to);
    let across = |l: &&Listed| (chain == state) != (l.agency_id == state);
    if published.iter().filter(overlapping).any(|l| across(&l)) {
        return Err(Refused::OtherPublisher(if chain == state { "An agency" } else { "The state" }));
    }
    let latest = versions(db, chain, period).await?.first().map(|l| l.version).unwrap_or(0);
    if latest > 0 && correction.trim().is_empty() {
        return Err(Refused::NeedsCorrection(latest));
    }
    Ok(latest + 1)
}

/// An agency's draft: its measures, suppressed.
pub async fn agency_draft(scope: &Scope, period: Period) -> Result<Draft, Refused> {
    let profile = crate::agency::store::get(scope).await?;
    let record_key = crate::agency::store::record_key(scope).await?;
    let audit_seq = audit::store::head(scope).await?.map(|(seq, _)| seq).unwrap_or(0);
    let data_sha256 = crate::reports::store::data_fingerprint(
        scope,
        period,
        crate::reports::forms::CURRENT,
        crate::measures::store::Source::Aggregates,
        &record_key,
    )
    .await?;
    let sheet = crate::measures::store::compute(scope, period).await?;
    let (measures, mut cells) = super::agency_cells(&sheet);
    super::suppress::suppress(&mut cells);
    let models = profile.model_list().iter().map(|m| crate::agency::model_name(m).to_string()).collect();
    let body = Body {
        ori: profile.ori.clone(),
        name: profile.name.clone(),
        models,
        agreement_signed: profile.agreement_signed.clone(),
        period_from: period.from_text(),
        period_to: period.to_text(),
        agencies: vec![],
        measures,
        cells,
    };
    Ok(Draft { body, data_sha256, audit_seq })
}

/// The state's draft: every agency's measures and the pooled figures;
/// its fingerprint is over each agency's (as the statewide report's).
pub async fn state_draft(db: &Db, period: Period) -> Result<Draft, Refused> {
    let chain = crate::state::store::state_chain(db);
    let audit_seq = audit::store::head(&chain).await?.map(|(seq, _)| seq).unwrap_or(0);
    let sheets = crate::measures::store::SheetCache::default();
    let mut parts = Vec::new();
    let mut stops = Vec::new();
    let mut lines = String::new();
    for agency in crate::agency::store::named(db).await? {
        let scope = Scope::of_agency(db, agency.id);
        let form = crate::reports::forms::STATEWIDE;
        let sha = crate::reports::store::data_fingerprint(
            &scope,
            period,
            form,
            crate::measures::store::Source::Aggregates,
            &[],
        )
        .await?;
        lines.push_str(&format!("{}\t{form}\t{sha}\n", agency.ori));
        parts.push((agency.ori.clone(), agency.name.clone(), sheets.get(&scope, period).await?));
        let source = crate::measures::store::Source::Aggregates;
        stops.push(crate::measures::store::StopGroups::load(&scope, period, source).await?);
    }
    let (measures, mut cells) = super::state_cells(&parts, &super::pooled_equity(&stops));
    super::suppress::suppress(&mut cells);
    let body = Body {
        ori: STATE.into(),
        name: "Statewide".into(),
        models: vec![],
        agreement_signed: None,
        period_from: period.from_text(),
        period_to: period.to_text(),
        agencies: parts.iter().map(|(ori, name, _)| (ori.clone(), name.clone())).collect(),
        measures,
        cells,
    };
    Ok(Draft { body, data_sha256: open_data::sha256(lines.as_bytes()), audit_seq })
}

/// Publishes the draft as the next version in `chain` (an agency's scope,
/// or the state chain's): its files, the audit entry that lists them and
/// the checkpoint signed over that entry, with the files' SHA-256 on its
/// extension lines, in one transaction. Fails with `Busy` when the chain
/// moved since the draft was computed (its figures might be stale).
pub async fn publish(
    chain: &Scope,
    draft: &Draft,
    correction: &str,
    actor: &Actor,
    files: &FileStore,
    key: &SigningKey,
) -> Result<Publication, Refused> {
    let period = draft.body.period().ok_or(Refused::NotCalendar)?;
    let origin = audit::store::origin(chain).await?;
    audit::store::prepare_tree(chain).await?;
    let published_at = db::now_unix();
    let mut tx = chain.begin_write().await?;
    if audit::store::head_in(&mut tx).await?.map(|(seq, _)| seq).unwrap_or(0) != draft.audit_seq {
        tx.rollback().await?;
        return Err(Refused::Busy);
    }
    let latest: Option<i64> = db::query_scalar(
        "SELECT MAX(version) FROM publications WHERE agency_id = $1 AND period_from = $2 AND period_to = $3",
    )
    .bind(chain.id())
    .bind(period.from_text())
    .bind(period.to_text())
    .fetch_one(&mut *tx)
    .await?;
    let version = latest.unwrap_or(0) + 1;
    if version > 1 && correction.trim().is_empty() {
        tx.rollback().await?;
        return Err(Refused::NeedsCorrection(version - 1));
    }
    let body = &draft.body;
    let unsafe_cells = super::suppress::violations(&body.cells);
    if !unsafe_cells.is_empty() {
        tx.rollback().await?;
        return Err(Refused::Failed(anyhow::anyhow!(
            "small cells would be revealed: {}",
            unsafe_cells.join("; ")
        )));
    }
    let measures_csv = open_data::csv(body).map_err(anyhow::Error::from)?;
    let measures_json = open_data::json(body);
    let dictionary_csv = open_data::dictionary(body).map_err(anyhow::Error::from)?;
    let pdf = super::document::render(body, published_at, version, &draft.data_sha256)?;
    let name = format!("{}-{}-v{version}", body.ori.to_lowercase(), super::slug(period).to_lowercase());
    let datapackage = open_data::datapackage(
        body,
        &name,
        &[
            (CSV_FILE, measures_csv.as_bytes()),
            (JSON_FILE, measures_json.as_bytes()),
            (DICTIONARY_FILE, dictionary_csv.as_bytes()),
            (PDF_FILE, &pdf),
        ],
    );
    let stored = files.write(&pdf).map_err(anyhow::Error::from)?;
    let hashes = [
        (CSV_FILE, open_data::sha256(measures_csv.as_bytes())),
        (JSON_FILE, open_data::sha256(measures_json.as_bytes())),
        (DICTIONARY_FILE, open_data::sha256(dictionary_csv.as_bytes())),
        (PACKAGE_FILE, open_data::sha256(datapackage.as_bytes())),
        (PDF_FILE, stored.sha256.clone()),
    ];
    let event =
        Event::new("publication.publish", "publication", format!("{}/{}", body.ori, super::slug(period)))
            .details(json!({
                "from": body.period_from, "to": body.period_to, "version": version, "correction": correction,
                "data_sha256": draft.data_sha256, "suppressed": body.suppressed(),
                "files": hashes.iter().map(|(f, h)| json!({ "file": f, "sha256": h })).collect::<Vec<_>>(),
            }));
    audit::record(&mut tx, actor, event).await?;
    let mut extensions =
        vec![format!("publication {} {} {} version {version}", body.ori, body.period_from, body.period_to)];
    extensions.push(format!("data-fingerprint {}", draft.data_sha256));
    extensions.extend(hashes.iter().map(|(file, sha)| format!("sha256 {sha} {file}")));
    let signed = audit::store::sign_extended_in(&mut tx, &origin, chain.id(), key, &extensions).await?;
    let publication: Publication = db::query_as(&format!(
        "INSERT INTO publications (agency_id, period_from, period_to, version, published_at, correction, \
         data_sha256, audit_seq, body, measures_csv, measures_json, dictionary_csv, datapackage, pdf_file, \
         pdf_sha256, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING {COLUMNS}"
    ))
    .bind(chain.id())
    .bind(&body.period_from)
    .bind(&body.period_to)
    .bind(version)
    .bind(published_at)
    .bind(correction.trim())
    .bind(&draft.data_sha256)
    .bind(signed.size as i64)
    .bind(serde_json::to_string(body).map_err(anyhow::Error::from)?)
    .bind(&measures_csv)
    .bind(&measures_json)
    .bind(&dictionary_csv)
    .bind(&datapackage)
    .bind(&stored.name)
    .bind(&stored.sha256)
    .bind(&signed.note)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(publication)
}

/// Checks a publication's signed checkpoint with `verifier` and each file
/// given against the SHA-256 it lists: what a journalist runs later to
/// prove what was published. Returns a line per file.
pub fn check_files(
    note: &str,
    verifier: &crate::audit::checkpoint::VerifierKey,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<String>, String> {
    let (checkpoint, extensions) = verifier.open_extended(note).map_err(|e| e.to_string())?;
    let listed: Vec<(&str, &str)> = extensions
        .iter()
        .filter_map(|l| l.strip_prefix("sha256 "))
        .filter_map(|l| l.split_once(' '))
        .map(|(sha, file)| (file, sha))
        .collect();
    if listed.is_empty() {
        return Err("the checkpoint lists no files: it is not a publication's".into());
    }
    let mut out = vec![format!(
        "The checkpoint is signed by {} ({} entries of its audit log).",
        checkpoint.origin, checkpoint.size
    )];
    let mut bad = 0;
    for (name, bytes) in files {
        let sha = open_data::sha256(bytes);
        let base = std::path::Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name);
        match listed.iter().find(|(file, _)| *file == base) {
            Some((_, want)) if *want == sha => {
                out.push(format!("{base}: the file published (SHA-256 {sha})."))
            }
            Some((_, want)) => {
                bad += 1;
                out.push(format!(
                    "{base}: NOT the file published: its SHA-256 is {sha}, the publication's {want}."
                ))
            }
            None => {
                bad += 1;
                out.push(format!("{base}: the publication lists no file of this name."))
            }
        }
    }
    if bad > 0 { Err(out.join("\n")) } else { Ok(out) }
}
