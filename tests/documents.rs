//! Documents through the real multipart form: type checked by content,
//! size limit, nothing stored on refusal, versions with SHA-256, downloads
//! as attachments for the roles allowed, uploads and downloads audited.

mod common;

use common::{PDF, PNG, TestApp, location, spawn_with, upload, upload_response};
use oversight::auth::Role;
use sha2::{Digest, Sha256};

async fn app() -> TestApp {
    let app = spawn_with(|c| c.upload_limit = 4 * 1024).await;
    for role in Role::ALL {
        app.user(role.as_str(), &[role]).await;
    }
    app
}

fn stored_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.dir.path().join("files")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn refused_uploads_leave_nothing_behind() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let fields = [("title", "Authorization letter"), ("kind", "authorization_letter")];

    let renamed = upload_response(&clerk, &fields, "letter.pdf", PNG).await;
    assert_eq!(renamed.status(), 422);
    let body = renamed.text().await.unwrap();
    assert!(body.contains("named as a PDF document but its content is a PNG image"), "{body}");
    assert!(body.contains("value=\"Authorization letter\""), "the title is kept");

    let mut big = PDF.to_vec();
    big.resize(4 * 1024 + 1, b' ');
    let oversized = upload_response(&clerk, &fields, "letter.pdf", &big).await;
    assert_eq!(oversized.status(), 413, "tests/upload_limits.rs checks the page");
    assert!(oversized.text().await.unwrap().contains("larger than the limit of 4 KiB"));

    let exe = upload_response(&clerk, &fields, "tool.exe", b"MZ\x90\x00").await;
    assert_eq!(exe.status(), 422);
    let missing = upload_response(&clerk, &[("title", ""), ("kind", "nonsense")], "a.pdf", PDF).await;
    let body = missing.text().await.unwrap();
    assert!(body.contains("Enter a title") && body.contains("Choose the kind of document"));

    assert_eq!(app.count("documents").await, 0);
    assert_eq!(app.count("document_versions").await, 0);
    assert_eq!(stored_files(&app), 0, "no file stored on refusal");
    assert!(!app.audit_actions().await.contains(&"document.upload".to_string()));
}

#[tokio::test]
async fn versions_downloads_and_roles() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let moa = upload(&clerk, "Memorandum of agreement", "agreement", "", "MOA signed.pdf", PDF).await;
    let (_, page) = clerk.get_text(&format!("/documents/{moa}")).await;
    let digest = hex::encode(Sha256::digest(PDF));
    assert!(page.contains(&digest), "SHA-256 shown");

    // A second version through the document page's form.
    let token = clerk.token(&format!("/documents/{moa}")).await;
    let form =
        reqwest::multipart::Form::new().text("_csrf", token).text("note", "Amended signature page").part(
            "file",
            reqwest::multipart::Part::bytes(b"Agreement notes, Nguyen\n".to_vec()).file_name("notes.txt"),
        );
    let response = clerk
        .http
        .post(format!("{}/documents/{moa}/versions", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), format!("/documents/{moa}"));
    assert_eq!(app.count("document_versions").await, 2);
    assert_eq!(stored_files(&app), 2);

    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    let officer = location(&officer).trim_start_matches("/officers/").to_string();
    let cert = upload(&clerk, "Certificate", "certificate", &officer, "cert.png", PNG).await;

    let reviewer = app.signed_in("reviewer").await;
    let download = reviewer.get(&format!("/documents/{moa}/versions/1/download")).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(download.headers()["content-disposition"], "attachment; filename=\"MOA_signed.pdf\"");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);
    let v2 = reviewer.get(&format!("/documents/{moa}/versions/2/download")).await;
    assert_eq!(v2.headers()["content-type"], "text/plain; charset=utf-8");

    let (_, list) = reviewer.get_text("/documents").await;
    assert!(list.contains("Memorandum of agreement") && !list.contains(">Certificate<"));
    assert!(list.contains("1 more that your role does not show"));
    assert_eq!(reviewer.get(&format!("/documents/{cert}")).await.status(), 403);
    assert_eq!(reviewer.get(&format!("/documents/{cert}/versions/1/download")).await.status(), 403);
    let admin = app.signed_in("administrator").await;
    assert_eq!(admin.get(&format!("/documents/{cert}/versions/1/download")).await.status(), 403);
    for role in ["auditor", "supervisor", "clerk"] {
        let client = app.signed_in(role).await;
        let response = client.get(&format!("/documents/{cert}/versions/1/download")).await;
        assert_eq!(response.status(), 200, "{role}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    }
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "document.upload").count(), 3);
    assert_eq!(actions.iter().filter(|a| *a == "document.download").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "access.denied").count(), 3);

    // The certificate shows on the officer's page.
    let (_, page) = clerk.get_text(&format!("/officers/{officer}")).await;
    assert!(page.contains(&format!("<a href=\"/documents/{cert}\">Certificate</a>")));
}

#[tokio::test]
async fn a_certificate_attaches_to_a_training_record_of_its_officer() {
    let app = app().await;
    let clerk = app.signed_in("clerk").await;
    let mut ids = Vec::new();
    for badge in ["A-1", "B-2"] {
        let response = clerk
            .post(
                "/officers/new",
                &[("badge", badge), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
            )
            .await;
        ids.push(location(&response).trim_start_matches("/officers/").to_string());
    }
    clerk
        .post(
            &format!("/officers/{}/training/new", ids[0]),
            &[("course_id", "2"), ("completed_on", "2025-03-01"), ("hours", "40"), ("scores", "88")],
        )
        .await;
    let record: i64 =
        oversight::db::query_scalar("SELECT id FROM training_records").fetch_one(&app.db).await.unwrap();
    let record = record.to_string();
    let wrong = upload_response(
        &clerk,
        &[
            ("title", "Certificate"),
            ("kind", "certificate"),
            ("officer_id", &ids[1]),
            ("training_record_id", &record),
        ],
        "c.pdf",
        PDF,
    )
    .await;
    assert_eq!(wrong.status(), 422, "the record belongs to another officer");
    let right = upload_response(
        &clerk,
        &[
            ("title", "TFM certificate"),
            ("kind", "certificate"),
            ("officer_id", &ids[0]),
            ("training_record_id", &record),
        ],
        "c.pdf",
        PDF,
    )
    .await;
    assert_eq!(right.status(), 303);
    let (_, page) = clerk.get_text(&format!("/officers/{}", ids[0])).await;
    let training = &page[page.find("<h2>Training</h2>").unwrap()..page.find("<h2>Documents</h2>").unwrap()];
    assert!(training.contains("TFM certificate"), "listed with its training record");
}
