//! Error pages, and what the server log holds: a 500 shows a reference that
//! is in the log; sign-in traffic leaves no password, cookie or token there.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Client, PASSWORD, spawn_app};
use oversight::auth::Role;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn errors_have_pages_and_the_log_keeps_no_secrets() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        // Everything the server side logs, at every level; the test client's own
        // crates are left out (they log the cookies they store).
        .with_env_filter("trace,reqwest=off,cookie_store=off,hyper_util::client=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    let response = client.sign_in("clerk", PASSWORD).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let cookie_value = cookie.split('=').nth(1).unwrap().to_string();
    let token = client.token("/officers").await;
    Client::new(&app.base).sign_in("clerk", "a wrong password typed").await;

    let (status, body) = client.get_text("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found") && body.contains("<h1>"));

    // Break the database under the server: the next roster read fails.
    oversight::db::query("ALTER TABLE designations RENAME TO designations_gone")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = client.get_text("/officers").await;
    assert_eq!(status, 500);
    let marker = "Reference: <code>";
    let start = body.find(marker).expect("reference shown") + marker.len();
    let reference = &body[start..start + 12];
    assert!(reference.chars().all(|c| c.is_ascii_hexdigit()), "{reference}");
    assert!(!body.contains("designations"), "no internal detail on the page");

    let text = log.text();
    assert!(text.contains(reference), "the reference is in the server log");
    assert!(!text.contains(PASSWORD), "no password in the log");
    assert!(!text.contains("a wrong password typed"));
    if let Some(at) = text.find(&cookie_value) {
        panic!("session id in the log: {}", &text[at.saturating_sub(300)..at + 50]);
    }
    assert!(!text.contains(&token), "no CSRF token in the log");
}

/// The product's page (language, title, navigation, sign-out) with the
/// given status, not the framework's plain text or an empty body.
async fn product_page(client: &Client, path: &str, status: u16, heading: &str) -> reqwest::header::HeaderMap {
    let response = client.get(path).await;
    assert_eq!(response.status(), status, "{path}");
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>\n<html lang=\"en\">"), "{path}: {body}");
    assert!(body.contains(&format!("<title>{heading} · Oversight Ledger</title>")), "{path}: {body}");
    assert!(body.contains(&format!("<h1>{heading}</h1>")), "{path}");
    assert!(body.contains(r#"<nav class="site-nav" aria-label="Main">"#), "{path}: navigation");
    assert!(body.contains(">Sign out</button>"), "{path}: sign-out");
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
    headers
}

#[tokio::test]
async fn bad_addresses_and_methods_get_the_product_error_page() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let client = app.signed_in("clerk").await;

    for path in ["/officers/abc", "/arrests/99999999999999999999", "/complaints/1'", "/stops/1.5"] {
        product_page(&client, path, 400, "Request not accepted").await;
    }
    for path in ["/officers/424242", "/arrests/424242", "/complaints/424242", "/no/such/page"] {
        product_page(&client, path, 404, "Page not found").await;
    }
    let headers = product_page(&client, "/logout", 405, "Page not available this way").await;
    assert_eq!(headers["allow"], "POST", "the methods the address takes");
    // A clerk may not manage users: the 403 page keeps the way around.
    product_page(&client, "/users", 403, "Access denied").await;
}
