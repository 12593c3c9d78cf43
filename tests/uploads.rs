//! Upload forms keep the CSRF token out of the address (where the address
//! bar, the history and logs would keep it): it is the first part of the
//! multipart body, and an upload without it there is refused.

mod common;

use common::{Client, PDF, location, spawn_app, upload};
use oversight::auth::Role;

/// The opening tag of the page's upload form and what follows it.
async fn upload_form(client: &Client, path: &str) -> (String, String) {
    let (status, body) = client.get_text(path).await;
    assert_eq!(status, 200, "{path}");
    let at =
        body.find(r#"enctype="multipart/form-data""#).unwrap_or_else(|| panic!("{path} has an upload form"));
    let start = body[..at].rfind("<form").unwrap();
    let end = at + body[at..].find('>').unwrap() + 1;
    (body[start..end].to_string(), body[end..].trim_start().to_string())
}

fn multipart(token: Option<&str>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    if let Some(token) = token {
        form = form.text("_csrf", token.to_string());
    }
    form.text("title", "Memorandum of agreement")
        .text("kind", "agreement")
        .text("officer_id", "")
        .part("file", reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("moa.pdf"))
}

#[tokio::test]
async fn upload_forms_carry_the_token_in_the_body_not_the_address() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let clerk = app.signed_in("clerk").await;
    let auditor = app.signed_in("auditor").await;
    let document = upload(&clerk, "Agreement", "agreement", "", "moa.pdf", PDF).await;
    let token = clerk.token("/documents/new").await;

    let pages = [
        (&clerk, "/stops/import".to_string()),
        (&clerk, "/records/import".to_string()),
        (&clerk, "/documents/new".to_string()),
        (&clerk, format!("/documents/{document}")),
        (&auditor, "/reports/verify".to_string()),
    ];
    for (client, path) in pages {
        let (tag, after) = upload_form(client, &path).await;
        assert!(!tag.contains("_csrf"), "{path}: the token is not in the form's address: {tag}");
        assert!(
            after.starts_with(r#"<input type="hidden" name="_csrf" value=""#),
            "{path}: the token is the form's first field: {}",
            &after[..after.len().min(200)]
        );
    }

    let send = |url: String, form| clerk.http.post(url).multipart(form).send();
    let documents = app.count("documents").await;
    let refused = send(format!("{}/documents/new", app.base), multipart(None)).await.unwrap();
    assert_eq!(refused.status(), 403, "no token: refused");
    let in_address =
        send(format!("{}/documents/new?_csrf={token}", app.base), multipart(None)).await.unwrap();
    assert_eq!(in_address.status(), 403, "a token in the address is not accepted");
    assert_eq!(app.count("documents").await, documents, "nothing stored");

    let accepted = send(format!("{}/documents/new", app.base), multipart(Some(&token))).await.unwrap();
    assert_eq!(accepted.status(), 303, "the token in the body");
    assert!(location(&accepted).starts_with("/documents/"));
    assert_eq!(app.count("documents").await, documents + 1);
}
