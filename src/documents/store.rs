//! Queries on documents and their versions. An upload's row and its audit
//! entry commit together; downloads are audited too.

use serde_json::json;

use super::{Document, Version};
use crate::agency::Scope;
use crate::audit::{self, Actor, Entry, Event};
use crate::db::{self, Tx, now_unix};

const SELECT: &str = "SELECT d.id, d.title, d.kind, d.officer_id, d.training_record_id, d.created_at, \
     v.version, v.content_type FROM documents d JOIN document_versions v ON v.document_id = d.id \
     AND v.agency_id = d.agency_id AND v.version = (SELECT MAX(version) FROM document_versions \
     WHERE document_id = d.id AND agency_id = d.agency_id)";
const SELECT_VERSION: &str = "SELECT id, document_id, version, original_name, stored_name, content_type, size_bytes, \
     sha256, uploaded_by, uploaded_at, note FROM document_versions";

pub async fn list(scope: &Scope) -> Result<Vec<Document>, sqlx::Error> {
    db::query_as(&format!("{SELECT} WHERE d.agency_id = $1 ORDER BY d.kind, d.title, d.id"))
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

pub async fn for_officer(scope: &Scope, officer_id: i64) -> Result<Vec<Document>, sqlx::Error> {
    db::query_as(&format!(
        "{SELECT} WHERE d.officer_id = $1 AND d.agency_id = $2 ORDER BY d.created_at DESC, d.id DESC"
    ))
    .bind(officer_id)
    .bind(scope.id())
    .fetch_all(scope)
    .await
}

/// A document of the agency; another agency's is not found.
pub async fn get(scope: &Scope, id: i64) -> Result<Document, sqlx::Error> {
    db::query_as(&format!("{SELECT} WHERE d.id = $1 AND d.agency_id = $2"))
        .bind(id)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

pub async fn versions(scope: &Scope, id: i64) -> Result<Vec<Version>, sqlx::Error> {
    db::query_as(&format!("{SELECT_VERSION} WHERE document_id = $1 AND agency_id = $2 ORDER BY version DESC"))
        .bind(id)
        .bind(scope.id())
        .fetch_all(scope)
        .await
}

/// A version of a document of the agency; another agency's is not found.
pub async fn version(scope: &Scope, id: i64, version: i64) -> Result<Version, sqlx::Error> {
    db::query_as(&format!("{SELECT_VERSION} WHERE document_id = $1 AND version = $2 AND agency_id = $3"))
        .bind(id)
        .bind(version)
        .bind(scope.id())
        .fetch_one(scope)
        .await
}

/// What a new document is about.
pub struct NewDocument {
    pub title: String,
    pub kind: String,
    pub officer_id: Option<i64>,
    pub training_record_id: Option<i64>,
}

/// One uploaded file, already in the file store.
pub struct Upload {
    pub original_name: String,
    pub stored_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub note: String,
}

async fn insert_version(
    tx: &mut Tx,
    actor: &Actor,
    document_id: i64,
    upload: &Upload,
) -> Result<i64, sqlx::Error> {
    let agency = tx.agency()?;
    // Another agency's document is not found, as one that does not exist.
    let found: Option<i64> = db::query_scalar("SELECT id FROM documents WHERE id = $1 AND agency_id = $2")
        .bind(document_id)
        .bind(agency)
        .fetch_optional(&mut **tx)
        .await?;
    if found.is_none() {
        return Err(sqlx::Error::RowNotFound);
    }
    let (version,): (i64,) = db::query_as(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM document_versions WHERE document_id = $1 AND agency_id = $2",
    )
    .bind(document_id)
    .bind(agency)
    .fetch_one(&mut **tx)
    .await?;
    db::query(
        "INSERT INTO document_versions (document_id, version, original_name, stored_name, content_type, size_bytes, \
         sha256, uploaded_by, uploaded_at, note, agency_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(document_id)
    .bind(version)
    .bind(&upload.original_name)
    .bind(&upload.stored_name)
    .bind(&upload.content_type)
    .bind(upload.size_bytes)
    .bind(&upload.sha256)
    .bind(&actor.username)
    .bind(now_unix())
    .bind(&upload.note)
    .bind(agency)
    .execute(&mut **tx)
    .await?;
    let details = json!({
        "version": version, "file": upload.original_name, "content_type": upload.content_type,
        "bytes": upload.size_bytes, "sha256": upload.sha256, "note": upload.note,
    });
    audit::record(tx, actor, Event::new("document.upload", "document", document_id).details(details)).await?;
    Ok(version)
}

pub async fn create(
    scope: &Scope,
    actor: &Actor,
    doc: &NewDocument,
    upload: &Upload,
) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    // The officer and the training record named must be the agency's: any
    // other is not found, as one that does not exist.
    let (others,): (i64,) = db::query_as(
        "SELECT (SELECT COUNT(*) FROM officers WHERE id = $1 AND agency_id <> $3) \
         + (SELECT COUNT(*) FROM training_records WHERE id = $2 AND agency_id <> $3)",
    )
    .bind(doc.officer_id)
    .bind(doc.training_record_id)
    .bind(scope.id())
    .fetch_one(&mut *tx)
    .await?;
    if others > 0 {
        return Err(sqlx::Error::RowNotFound);
    }
    let (id,): (i64,) = db::query_as(
        "INSERT INTO documents (title, kind, officer_id, training_record_id, created_at, agency_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&doc.title)
    .bind(&doc.kind)
    .bind(doc.officer_id)
    .bind(doc.training_record_id)
    .bind(now_unix())
    .bind(scope.id())
    .fetch_one(&mut *tx)
    .await?;
    let details = json!({ "after": { "title": doc.title, "kind": doc.kind, "officer_id": doc.officer_id,
        "training_record_id": doc.training_record_id } });
    audit::record(&mut tx, actor, Event::new("document.create", "document", id).details(details)).await?;
    insert_version(&mut tx, actor, id, upload).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn add_version(
    scope: &Scope,
    actor: &Actor,
    document_id: i64,
    upload: &Upload,
) -> Result<i64, sqlx::Error> {
    let mut tx = scope.begin_write().await?;
    let version = insert_version(&mut tx, actor, document_id, upload).await?;
    tx.commit().await?;
    Ok(version)
}

/// Audits a download in the agency's chain.
pub async fn downloaded(scope: &Scope, actor: &Actor, version: &Version) -> Result<(), sqlx::Error> {
    let details = json!({ "version": version.version, "sha256": version.sha256 });
    let event = Event::new("document.download", "document", version.document_id).details(details);
    let mut tx = scope.begin_write().await?;
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await
}

pub async fn history(scope: &Scope, id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    crate::audit::store::history_of(scope, "document", id).await
}
