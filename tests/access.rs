//! Every route against every role: who may use it is stated here from
//! security.md, independently of the code's own declarations. Also CSRF
//! and the security headers.

mod common;

use common::{Client, TestApp, location, spawn_app};
use oversight::auth::Role;

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Get,
    Post,
}

/// (method, path, roles allowed). `{o}` is an officer, `{d}` its
/// designation, `{u}` a user account.
const ROUTES: &[(Method, &str, &[Role])] = {
    use Method::*;
    use Role::*;
    const ALL: &[Role] = &[Administrator, Clerk, Supervisor, Reviewer, Auditor];
    &[
        (Get, "/", ALL),
        (Get, "/account/password", ALL),
        (Get, "/account/mfa", ALL),
        (Post, "/account/mfa", ALL),
        (Get, "/officers", ALL),
        (Get, "/officers/{o}", ALL),
        (Get, "/officers/new", &[Clerk]),
        (Post, "/officers/new", &[Clerk]),
        (Get, "/officers/{o}/edit", &[Clerk]),
        (Post, "/officers/{o}/edit", &[Clerk]),
        (Get, "/officers/{o}/designations/new", &[Clerk]),
        (Post, "/officers/{o}/designations/new", &[Clerk]),
        (Get, "/officers/{o}/designations/{d}/edit", &[Clerk]),
        (Post, "/officers/{o}/designations/{d}/edit", &[Clerk]),
        (Get, "/users", &[Administrator]),
        (Get, "/users/new", &[Administrator]),
        (Post, "/users/new", &[Administrator]),
        (Get, "/users/{u}", &[Administrator]),
        (Post, "/users/{u}", &[Administrator]),
        (Post, "/users/{u}/disable", &[Administrator]),
        (Post, "/users/{u}/enable", &[Administrator]),
        (Post, "/users/{u}/unlock", &[Administrator]),
        (Post, "/users/{u}/end-sessions", &[Administrator]),
        (Post, "/users/{u}/reset-password", &[Administrator]),
        (Post, "/users/{u}/reset-mfa", &[Administrator]),
        (Get, "/agency", &[Administrator]),
        (Post, "/agency", &[Administrator]),
        (Get, "/compliance", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Post, "/compliance/export", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/courses", &[Administrator]),
        (Get, "/courses/new", &[Administrator]),
        (Post, "/courses/new", &[Administrator]),
        (Get, "/courses/{c}", &[Administrator]),
        (Post, "/courses/{c}", &[Administrator]),
        (Get, "/officers/{o}/training/new", &[Clerk]),
        (Post, "/officers/{o}/training/new", &[Clerk]),
        (Get, "/officers/{o}/training/{t}/edit", &[Clerk]),
        (Post, "/officers/{o}/training/{t}/edit", &[Clerk]),
        (Get, "/documents", ALL),
        (Get, "/documents/new", &[Clerk]),
        (Get, "/documents/{p}", ALL),
        (Get, "/documents/{p}/versions/1/download", ALL),
        (Get, "/documents/{x}", &[Clerk, Supervisor, Auditor]),
        (Get, "/documents/{x}/versions/1/download", &[Clerk, Supervisor, Auditor]),
        (Get, "/stops", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/stops/new", &[Clerk]),
        (Post, "/stops/new", &[Clerk]),
        (Get, "/stops/{s}", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/stops/{s}/edit", &[Clerk]),
        (Post, "/stops/{s}/edit", &[Clerk]),
        (Get, "/arrests", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/arrests/new", &[Clerk]),
        (Post, "/arrests/new", &[Clerk]),
        (Get, "/complaints", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/complaints/new", &[Clerk]),
        (Post, "/complaints/new", &[Clerk]),
        (Get, "/officers/{o}/pay/new", &[Clerk]),
        (Post, "/officers/{o}/pay/new", &[Clerk]),
        (Get, "/officers/{o}/leads/new", &[Clerk]),
        (Post, "/officers/{o}/leads/new", &[Clerk]),
        (Get, "/stops/import", &[Clerk]),
        (Post, "/stops/export", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/data-dictionary", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Post, "/records/export", &[Clerk, Supervisor, Reviewer, Auditor]),
        (Get, "/records/import", &[Clerk]),
        (Get, "/supervision/queue", &[Clerk, Supervisor]),
        (Get, "/supervision/review/stop/{s}", &[Supervisor]),
        (Post, "/supervision/review/stop/{s}", &[Supervisor]),
        (Post, "/supervision/bulk", &[Supervisor]),
        (Get, "/supervision", &[Administrator, Supervisor, Reviewer, Auditor]),
        (Post, "/supervision/settings", &[Administrator]),
        (Post, "/users/{u}/supervision", &[Administrator]),
        (Get, "/dashboard", &[Administrator, Reviewer, Auditor]),
        (Post, "/dashboard/settings", &[Administrator]),
        (Get, "/logged-measures", ALL),
        (Post, "/logged-measures", &[Administrator]),
        (Post, "/logged-measures/{l}/values", &[Clerk]),
        (Post, "/logged-values/{v}/confirm", &[Administrator, Supervisor]),
        (Get, "/reports", &[Administrator, Reviewer, Auditor]),
        (Post, "/reports", &[Reviewer, Auditor]),
        (Post, "/reports/{r}/comments", &[Reviewer]),
        (Get, "/reports/{r}/download", &[Administrator, Reviewer, Auditor]),
        (Get, "/reports/{r}/prove-record", &[Auditor]),
        (Post, "/reports/{r}/prove-record", &[Auditor]),
        (Get, "/reports/verify", &[Auditor]),
        (Post, "/reports/verify", &[Auditor]),
        (Get, "/audit", &[Auditor]),
        (Post, "/audit/verify", &[Auditor]),
        (Post, "/audit/export", &[Auditor]),
        (Post, "/audit/check-export", &[Auditor]),
    ]
};

struct Fixture {
    officer: i64,
    designation: i64,
    target_user: i64,
    training: i64,
    /// A program document (the agreement) and an officer's certificate.
    public_doc: i64,
    private_doc: i64,
    stop: i64,
    report: i64,
    logged: i64,
    logged_value: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    app.set_agency_models("JEM").await;
    for role in Role::ALL {
        app.user(role.as_str(), &[role]).await;
    }
    let target_user = app.user("target", &[Role::Reviewer]).await;
    let clerk = app.signed_in("clerk").await;
    let response = clerk
        .post(
            "/officers/new",
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    let officer: i64 = location(&response).trim_start_matches("/officers/").parse().unwrap();
    clerk
        .post(
            &format!("/officers/{officer}/designations/new"),
            &[("model", "JEM"), ("nominated_on", "2024-01-01")],
        )
        .await;
    let designation =
        oversight::db::query_scalar("SELECT id FROM designations").fetch_one(&app.db).await.unwrap();
    clerk
        .post(
            &format!("/officers/{officer}/training/new"),
            &[("course_id", "1"), ("completed_on", "2024-02-01"), ("hours", "160")],
        )
        .await;
    let training =
        oversight::db::query_scalar("SELECT id FROM training_records").fetch_one(&app.db).await.unwrap();
    let public_doc =
        common::upload(&clerk, "Memorandum of agreement", "agreement", "", "moa.pdf", common::PDF).await;
    let private_doc =
        common::upload(&clerk, "Certificate", "certificate", &officer.to_string(), "cert.pdf", common::PDF)
            .await;
    let stop = clerk
        .post(
            "/stops/new",
            &[
                ("stop_date", "2025-06-01"),
                ("stop_time", "10:00"),
                ("duration_minutes", "10"),
                ("location", "Main St at 1st Ave"),
                ("stop_type", "pedestrian"),
                ("officer_id", &officer.to_string()),
                ("perceived_race", "white"),
                ("perceived_gender", "female"),
                ("perceived_age", "40"),
                ("reason", "other"),
                ("reason_narrative", "welfare check"),
                ("results", "no_action"),
                ("action_287g", "1"),
                ("ice_contacted", "1"),
            ],
        )
        .await;
    let stop = location(&stop).trim_start_matches("/stops/").parse().unwrap();
    let files = oversight::documents::files::FileStore::new(oversight::config::files_dir_for(&app.db_url));
    let period = oversight::measures::Period::new(
        oversight::web::parse_date("2025-04-01").unwrap(),
        oversight::web::parse_date("2025-06-30").unwrap(),
    )
    .unwrap();
    let actor = oversight::audit::Actor::system("test setup");
    let (report, _) =
        oversight::reports::store::generate(&app.scope, &files, &actor, "setup", period, &app.signing_key())
            .await
            .unwrap();
    let logged: i64 = oversight::db::query_scalar(
        "INSERT INTO logged_measures (code, name, definition, unit, better, source, agency_id) \
         VALUES ('L1', 'Removals', 'removals ICE attributes', 'count', 'higher', 'ICE ERO', 1) RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let logged_value: i64 = oversight::db::query_scalar(
        "INSERT INTO logged_values (measure_id, period_from, period_to, value, source_document, logged_by, logged_by_name, logged_at, agency_id) \
         VALUES ($1, '2025-04-01', '2025-06-30', 12, 'ERO memo 7', $2, 'Target', 0, 1) RETURNING id",
    )
    .bind(logged)
    .bind(target_user)
    .fetch_one(&app.db)
    .await
    .unwrap();
    Fixture {
        officer,
        designation,
        target_user,
        training,
        public_doc,
        private_doc,
        stop,
        report: report.id,
        logged,
        logged_value,
    }
}

fn fill(path: &str, f: &Fixture) -> String {
    path.replace("{o}", &f.officer.to_string())
        .replace("{d}", &f.designation.to_string())
        .replace("{u}", &f.target_user.to_string())
        .replace("{t}", &f.training.to_string())
        .replace("{c}", "1")
        .replace("{p}", &f.public_doc.to_string())
        .replace("{x}", &f.private_doc.to_string())
        .replace("{s}", &f.stop.to_string())
        .replace("{r}", &f.report.to_string())
        .replace("{l}", &f.logged.to_string())
        .replace("{v}", &f.logged_value.to_string())
}

/// Everything a denied request must leave untouched: each table's columns
/// as text, rows in a fixed order (SQL both backends read alike).
async fn records_digest(app: &TestApp) -> String {
    let mut digest = String::new();
    for (table, columns) in [
        ("officers", "badge, last_name, status"),
        ("designations", "model, nominated_on, withdrawn_on"),
        ("users", "username, disabled, locked, session_epoch, password_hash, officer_id, supervisor_kind"),
        ("user_roles", "user_id, role"),
        ("agency", "name, ori, models, login_banner, sign_off_days, population_shares, latitude"),
        ("sign_offs", "id, decision, record_hash"),
        ("reports", "id, number, file_sha256"),
        ("report_comments", "id, body"),
        ("logged_measures", "code, name"),
        ("logged_values", "id, value, confirmed_at"),
        ("training_records", "course_id, completed_on, hours, scores"),
        ("courses", "name, required_hours, active"),
        ("document_versions", "document_id, version, sha256"),
        ("stops", "id, stop_date, location, results"),
    ] {
        let row = columns
            .split(", ")
            .map(|c| format!("coalesce(CAST({c} AS TEXT), '-')"))
            .collect::<Vec<_>>()
            .join(" || '/' || ");
        let query =
            format!("SELECT string_agg(v, ',' ORDER BY v) FROM (SELECT {row} AS v FROM {table}) AS t");
        let value: Option<String> = oversight::db::query_scalar(&query).fetch_one(&app.db).await.unwrap();
        digest.push_str(&value.unwrap_or_default());
        digest.push('|');
    }
    digest
}

async fn request(client: &Client, method: Method, path: &str) -> reqwest::Response {
    match method {
        Method::Get => client.get(path).await,
        // An empty form: an allowed POST fails validation or acts on the
        // fixture's target user; a denied one must change nothing.
        Method::Post => client.post(path, &[]).await,
    }
}

#[tokio::test]
async fn every_route_answers_only_the_roles_allowed() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for role in Role::ALL {
        let client = app.signed_in(role.as_str()).await;
        for (method, path, allowed) in ROUTES {
            let path = fill(path, &f);
            let before = records_digest(&app).await;
            let denials_before = app.audit_actions().await.iter().filter(|a| *a == "access.denied").count();
            let response = request(&client, *method, &path).await;
            let status = response.status().as_u16();
            if allowed.contains(&role) {
                assert!(
                    status != 403 && status != 404 && !location(&response).starts_with("/login"),
                    "{role:?} should be allowed {path}, got {status}"
                );
            } else {
                assert_eq!(status, 403, "{role:?} must be refused {path}");
                let body = response.text().await.unwrap();
                assert!(body.contains("Access denied"), "the 403 page is shown");
                assert_eq!(records_digest(&app).await, before, "{role:?} {path} changed records");
                let denials = app.audit_actions().await.iter().filter(|a| *a == "access.denied").count();
                assert_eq!(denials, denials_before + 1, "the denial of {path} is audited");
            }
        }
        // Allowed account actions may have disabled or locked the target.
        oversight::db::query("UPDATE users SET disabled = 0, locked = 0 WHERE id = $1")
            .bind(f.target_user)
            .execute(&app.db)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn anonymous_requests_go_to_sign_in_and_change_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let client = Client::new(&app.base);
    for (method, path, _) in ROUTES {
        let path = fill(path, &f);
        let before = records_digest(&app).await;
        let response = match method {
            Method::Get => client.get(&path).await,
            Method::Post => {
                let token = client.token("/login").await;
                client.post_raw(&path, &[("_csrf", &token)]).await
            }
        };
        assert_eq!(response.status(), 303, "{path}");
        assert!(location(&response).starts_with("/login?next="), "{path} -> {}", location(&response));
        assert_eq!(records_digest(&app).await, before);
    }
}

#[tokio::test]
async fn object_ids_outside_their_parent_are_not_found() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let clerk = app.signed_in("clerk").await;
    let other = clerk
        .post(
            "/officers/new",
            &[("badge", "B-2"), ("last_name", "Novak"), ("first_name", "Eva"), ("status", "active")],
        )
        .await;
    let other: i64 = location(&other).trim_start_matches("/officers/").parse().unwrap();
    // The designation belongs to the first officer, not this one.
    let path = format!("/officers/{other}/designations/{}/edit", f.designation);
    assert_eq!(clerk.get(&path).await.status(), 404);
    let before = records_digest(&app).await;
    let response = clerk.post(&path, &[("model", "JEM"), ("nominated_on", "2024-02-02")]).await;
    assert_eq!(response.status(), 404);
    assert_eq!(records_digest(&app).await, before);
    assert_eq!(clerk.get("/officers/999999").await.status(), 404);
}

#[tokio::test]
async fn state_changes_without_the_token_or_from_another_site_are_refused() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let fields = [("badge", "C-3"), ("last_name", "Patel"), ("first_name", "Priya"), ("status", "active")];

    let missing = clerk.post_raw("/officers/new", &fields).await;
    assert_eq!(missing.status(), 403);
    let wrong = clerk.post_raw("/officers/new", &[&[("_csrf", "0000")][..], &fields[..]].concat()).await;
    assert_eq!(wrong.status(), 403);

    let token = clerk.token("/officers").await;
    let mut with_token = vec![("_csrf", token.as_str())];
    with_token.extend_from_slice(&fields);
    let foreign = clerk
        .http
        .post(format!("{}/officers/new", app.base))
        .header("Origin", "http://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let cross_site = clerk
        .http
        .post(format!("{}/officers/new", app.base))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(app.count("officers").await, 0, "nothing was created");
    let rejections = app.audit_actions().await.iter().filter(|a| *a == "request.csrf_rejected").count();
    assert_eq!(rejections, 4);

    let same_origin = clerk
        .http
        .post(format!("{}/officers/new", app.base))
        .header("Origin", &app.base)
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 303);
    assert_eq!(app.count("officers").await, 1);
}

#[tokio::test]
async fn sign_in_itself_needs_the_token() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    client.get("/login").await;
    let response = client.post_raw("/login", &[("username", "clerk"), ("password", common::PASSWORD)]).await;
    assert_eq!(response.status(), 403);
}

fn assert_security_headers(path: &str, response: &reqwest::Response) {
    let h = response.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let csp = get("content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{path}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(get("referrer-policy"), "same-origin", "{path}");
    assert_eq!(get("x-frame-options"), "DENY", "{path}");
    if path != "/static/style.css" {
        assert_eq!(get("cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let anonymous = Client::new(&app.base);
    for path in ["/login", "/static/style.css", "/no-such-page", "/officers"] {
        let response = anonymous.get(path).await;
        assert_security_headers(path, &response);
    }
    for role in Role::ALL {
        let client = app.signed_in(role.as_str()).await;
        for (method, path, _) in ROUTES.iter().filter(|(m, _, _)| *m == Method::Get) {
            let _ = method;
            let path = fill(path, &f);
            let response = client.get(&path).await;
            assert_security_headers(&path, &response);
        }
        let response = client.post("/audit/verify", &[]).await;
        assert_security_headers("/audit/verify", &response);
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let response = clerk.post("/officers/new", &[("last_name", &huge)]).await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.count("officers").await, 0);
}
