//! Uploads are streamed to a temporary file beside the store, hashed and
//! type-checked on the way: a file over the limit, or a form over the body
//! limit, gets 413 with the product's page and leaves nothing behind; a
//! file within it is moved into place with its SHA-256.

mod common;

use common::{Client, PDF, TestApp, location, spawn_with, upload, upload_to};
use oversight::auth::Role;
use sha2::{Digest, Sha256};

const LIMIT: usize = 64 * 1024;

async fn app() -> TestApp {
    let app = spawn_with(|c| c.upload_limit = LIMIT).await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("auditor", &[Role::Auditor]).await;
    app
}

/// Every entry of the file store's folder, temporary files included.
fn store_entries(app: &TestApp) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(app.dir.path().join("files")) else { return Vec::new() };
    let mut names: Vec<String> = dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A 413 shown as the product's page, with navigation and sign-out.
async fn too_large_page(response: reqwest::Response, says: &str) {
    assert_eq!(response.status(), 413);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>\n<html lang=\"en\">"), "{body}");
    assert!(body.contains("<h1>Too large to accept</h1>"), "{body}");
    assert!(body.contains(r#"<nav class="site-nav" aria-label="Main">"#), "navigation: {body}");
    assert!(body.contains(">Sign out</button>"), "sign-out");
    assert!(body.contains(says), "{body}");
}

fn pdf_of(size: usize) -> Vec<u8> {
    let mut bytes = PDF.to_vec();
    bytes.resize(size, b' ');
    bytes
}

#[tokio::test]
async fn a_file_over_the_limit_gets_413_and_nothing_is_kept() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let fields = [("title", "Memorandum of agreement"), ("kind", "agreement"), ("officer_id", "")];

    let over = upload_to(&clerk, "/documents/new", &fields, "moa.pdf", &pdf_of(LIMIT + 1)).await;
    too_large_page(over, "The file is larger than the limit of 64 KiB").await;
    assert_eq!(app.count("documents").await, 0);
    assert_eq!(app.count("document_versions").await, 0);
    assert_eq!(store_entries(&app), Vec::<String>::new(), "no file and no temporary file");

    // Exactly at the limit is accepted; a new version over it is not.
    let id = upload(&clerk, "Memorandum of agreement", "agreement", "", "moa.pdf", &pdf_of(LIMIT)).await;
    let kept = store_entries(&app);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let path = format!("/documents/{id}/versions");
    let over = upload_to(&clerk, &path, &[("note", "Amended")], "moa.pdf", &pdf_of(LIMIT + 1)).await;
    too_large_page(over, "The file is larger than the limit of 64 KiB").await;
    assert_eq!(app.count("document_versions").await, 1);
    assert_eq!(store_entries(&app), kept, "nothing added to the store");
    let uploads: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'document.upload'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(uploads, 1, "only the accepted upload is in the audit log");

    // The report check reads only the digest, with the same limit.
    let auditor = app.signed_in("auditor").await;
    let over = upload_to(&auditor, "/reports/verify", &[], "report.pdf", &pdf_of(LIMIT + 1)).await;
    too_large_page(over, "The file is larger than the limit of 64 KiB").await;
    assert_eq!(store_entries(&app), kept);
}

/// Posts a multipart upload the way a browser sends one: the whole body is
/// written before the response is read (reqwest would read an early
/// response and hide a connection the server closed while it was sending).
async fn send_whole(
    app: &TestApp,
    username: &str,
    path: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = Client { http, base: app.base.clone() };
    assert_eq!(client.sign_in(username, common::PASSWORD).await.status(), 303);
    let token = client.token("/account/password").await;
    let url: reqwest::Url = app.base.parse().unwrap();
    let cookie = reqwest::cookie::CookieStore::cookies(&*jar, &url).unwrap();
    let boundary = "----upload-limits-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in [("_csrf", token.as_str())].iter().chain(fields) {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        host = app.base.trim_start_matches("http://"),
        cookie = cookie.to_str().unwrap(),
        length = body.len(),
    );
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.expect("the server reads the whole body before it answers");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_file_far_over_the_limit_still_gets_the_page() {
    // The browser is still sending when the limit is passed: the server
    // reads the rest and drops it, so the 413 page arrives instead of a
    // reset connection.
    let app = spawn_with(|c| c.upload_limit = 1024 * 1024).await;
    app.user("clerk", &[Role::Clerk]).await;
    let fields = [("title", "Scan"), ("kind", "sop"), ("officer_id", "")];
    let response = send_whole(&app, "clerk", "/documents/new", &fields, &pdf_of(4 * 1024 * 1024)).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{}", &response[..response.len().min(300)]);
    assert!(response.contains("The file is larger than the limit of 1 MiB"), "{response}");
    assert!(response.contains(r#"<nav class="site-nav" aria-label="Main">"#), "navigation");
    assert_eq!(store_entries(&app), Vec::<String>::new());
}

#[tokio::test]
async fn text_fields_of_an_upload_form_are_bounded() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let title = "x".repeat(1024 * 1024);
    let fields = [("title", title.as_str()), ("kind", "sop"), ("officer_id", "")];
    let over = upload_to(&clerk, "/documents/new", &fields, "moa.pdf", PDF).await;
    too_large_page(over, "The form is too large").await;
    assert_eq!(app.count("documents").await, 0);
    assert_eq!(store_entries(&app), Vec::<String>::new());
}

#[tokio::test]
async fn a_record_file_over_the_import_limit_gets_413() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let mut csv = b"officer_badge,period_start\n".to_vec();
    csv.resize(3 * 1024 * 1024, b'x');
    let over = upload_to(&clerk, "/records/import", &[("kind", "pay")], "pay.csv", &csv).await;
    too_large_page(over, "The file is larger than the limit of 2 MiB").await;
}

#[tokio::test]
async fn a_form_over_two_mib_gets_413_with_the_page() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let big = "x".repeat(3 * 1024 * 1024);
    let response = clerk.post("/officers/new", &[("last_name", &big)]).await;
    too_large_page(response, "The form is too large").await;
    assert_eq!(app.count("officers").await, 0);
}

#[tokio::test]
async fn a_file_within_the_limit_is_stored_whole_with_its_sha256() {
    let app = spawn_with(|_| {}).await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk: Client = app.signed_in("clerk").await;
    // Several megabytes arrive in many chunks; the text check spans them.
    let pdf: Vec<u8> = PDF.iter().copied().chain((0..3_000_000u32).map(|i| (i % 251) as u8)).collect();
    let text = "Nguyễn, Łódź, 日本 — página 1\n".repeat(150_000).into_bytes();
    for (name, bytes, content_type) in
        [("scan.pdf", &pdf, "application/pdf"), ("notes.txt", &text, "text/plain; charset=utf-8")]
    {
        let id = upload(&clerk, name, "sop", "", name, bytes).await;
        let (stored, sha256, size, kind): (String, String, i64, String) = oversight::db::query_as(
            "SELECT stored_name, sha256, size_bytes, content_type FROM document_versions WHERE document_id = $1",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(sha256, hex::encode(Sha256::digest(bytes)), "{name}");
        assert_eq!(size as usize, bytes.len());
        assert_eq!(kind, content_type);
        let on_disk = std::fs::read(app.dir.path().join("files").join(&stored)).unwrap();
        assert!(on_disk == *bytes, "{name}: the stored file is the upload");
        let download = clerk.get(&format!("/documents/{id}/versions/1/download")).await;
        assert_eq!(download.status(), 200);
        assert!(download.bytes().await.unwrap() == *bytes);
    }
    let entries = store_entries(&app);
    assert_eq!(entries.len(), 2, "two files, no temporary file left: {entries:?}");
    assert!(entries.iter().all(|e| e.chars().all(|c| c.is_ascii_hexdigit())), "{entries:?}");

    // Binary content past the first bytes still makes a .txt file binary.
    let mut fake = text.clone();
    fake.extend_from_slice(b"\xff\xfe");
    let refused =
        upload_to(&clerk, "/documents/new", &[("title", "Notes"), ("kind", "sop")], "n.txt", &fake).await;
    assert_eq!(refused.status(), 422, "{}", location(&refused));
    assert_eq!(store_entries(&app), entries, "the refused file was removed");
}
