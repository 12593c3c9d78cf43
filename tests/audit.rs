//! The audit log: an entry for each kind of change, with before and after
//! values; the auditor's page; export and offline verification; tamper
//! detection in the SQLite file; the online backup.

mod common;

use std::process::Command;

use common::{location, spawn_app};
use oversight::auth::Role;

#[tokio::test]
async fn every_kind_of_change_lands_in_the_log_with_before_and_after() {
    let app = spawn_app().await;
    app.user("admin", &[Role::Administrator]).await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let admin = app.signed_in("admin").await;
    let clerk = app.signed_in("clerk").await;
    let auditor = app.signed_in("auditor").await;

    admin
        .post(
            "/agency",
            &[
                ("name", "Collier County Sheriff's Office"),
                ("ori", "FL0110000"),
                ("state", "FL"),
                ("models", "JEM"),
                ("models", "TFM"),
                ("agreement_signed", "2025-01-15"),
                ("login_banner", "Restricted system. Use is monitored and audited; use means consent."),
                ("time_zone", "America/New_York"),
                ("mfa_policy", "optional"),
            ],
        )
        .await;
    let created = admin
        .post(
            "/users/new",
            &[
                ("username", "panel1"),
                ("display_name", "Panel Member"),
                ("password", "harbor quiet lanterns"),
                ("roles", "reviewer"),
            ],
        )
        .await;
    let panel: i64 = location(&created).trim_start_matches("/users/").parse().unwrap();
    admin
        .post(
            &format!("/users/{panel}"),
            &[("display_name", "Panel Member"), ("roles", "reviewer"), ("roles", "auditor")],
        )
        .await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    let officer: i64 = location(&officer).trim_start_matches("/officers/").parse().unwrap();
    clerk
        .post(
            &format!("/officers/{officer}/edit"),
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "on_leave")],
        )
        .await;
    clerk
        .post(
            &format!("/officers/{officer}/designations/new"),
            &[("model", "JEM"), ("nominated_on", "2025-02-01")],
        )
        .await;
    let designation: i64 =
        oversight::db::query_scalar("SELECT id FROM designations").fetch_one(&app.db).await.unwrap();
    clerk
        .post(
            &format!("/officers/{officer}/designations/{designation}/edit"),
            &[("model", "JEM"), ("nominated_on", "2025-02-01"), ("training_passed_on", "2025-03-01")],
        )
        .await;
    clerk.get("/users").await;
    auditor.post("/audit/export", &[]).await;
    auditor.post("/audit/verify", &[]).await;

    let actions = app.audit_actions().await;
    for expected in [
        "login.success",
        "settings.update",
        "user.create",
        "user.roles_change",
        "officer.create",
        "officer.update",
        "designation.create",
        "designation.update",
        "access.denied",
        "audit.export",
        "audit.verify",
    ] {
        assert!(actions.contains(&expected.to_string()), "no {expected} entry in {actions:?}");
    }
    let (details, username, roles, source): (String, String, String, String) = oversight::db::query_as(
        "SELECT details, username, roles, source FROM audit_log WHERE action = 'officer.update'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["before"]["status"], "active");
    assert_eq!(details["after"]["status"], "on_leave");
    assert!(details["before"].get("badge").is_none(), "only changed fields");
    assert_eq!((username.as_str(), roles.as_str(), source.as_str()), ("clerk", "clerk", "127.0.0.1"));
    let roles_change: String =
        oversight::db::query_scalar("SELECT details FROM audit_log WHERE action = 'user.roles_change'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(roles_change.contains("\"auditor\""), "{roles_change}");
    let everything: Vec<String> =
        oversight::db::query_scalar("SELECT details FROM audit_log").fetch_all(&app.db).await.unwrap();
    assert!(
        everything.iter().all(|d| !d.contains("harbor quiet lanterns") && !d.contains("$argon2")),
        "no secrets"
    );
}

#[tokio::test]
async fn the_auditor_page_filters_pages_and_verifies() {
    let app = spawn_app().await;
    app.user("auditor", &[Role::Auditor]).await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    for i in 0..60 {
        clerk
            .post(
                "/officers/new",
                &[
                    ("badge", &format!("B-{i}")),
                    ("last_name", "Doe"),
                    ("first_name", "Jo"),
                    ("status", "active"),
                ],
            )
            .await;
    }
    let auditor = app.signed_in("auditor").await;
    let (_, page) = auditor.get_text("/audit").await;
    let (seq, head): (i64, String) =
        oversight::db::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(page.contains(&head), "head hash shown");
    assert!(page.contains(&format!("entry {seq}")));
    assert!(page.contains("page 1 of 2"));
    let (_, filtered) = auditor.get_text("/audit?user=clerk&action=officer.create").await;
    assert!(filtered.contains("60 entries"), "filter by user and action");
    let (_, none) = auditor.get_text("/audit?from=2000-01-01&to=2000-01-02").await;
    assert!(none.contains("0 entries"));
    let (_, bad) = auditor.get_text("/audit?from=yesterday").await;
    assert!(bad.contains("Write the date as YYYY-MM-DD."));
    let verify = auditor.post("/audit/verify", &[]).await;
    let body = verify.text().await.unwrap();
    assert!(body.contains("Verification result:</strong> OK"), "verification shown");
    assert!(body.contains("compare") && body.contains("expect_head"), "the page offers the held-head check");
    // The head an auditor holds: reached, or, for one from elsewhere, not.
    let (_, held): (i64, String) = oversight::audit::store::head(&app.scope).await.unwrap().unwrap();
    let body = auditor.post("/audit/verify", &[("expect_head", &held)]).await.text().await.unwrap();
    assert!(body.contains("reaches the head you hold"), "held head reached");
    let elsewhere = "ab".repeat(32);
    let body = auditor.post("/audit/verify", &[("expect_head", &elsewhere)]).await.text().await.unwrap();
    assert!(body.contains("NOT REACHED") && body.contains("alert--error"), "a head the log never had");
    let export = auditor.post("/audit/export", &[]).await;
    assert_eq!(
        export.headers()["content-disposition"].to_str().unwrap().split(';').next(),
        Some("attachment")
    );
    let text = export.text().await.unwrap();
    let verdict = oversight::audit::verify_jsonl(text.as_bytes());
    assert!(matches!(verdict, oversight::audit::Verdict::Intact { .. }), "{verdict:?}");
}

#[tokio::test]
async fn the_product_cannot_alter_entries_and_a_tampered_row_is_named() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    for i in 0..4 {
        clerk
            .post(
                "/officers/new",
                &[
                    ("badge", &format!("B-{i}")),
                    ("last_name", "Doe"),
                    ("first_name", "Jo"),
                    ("status", "active"),
                ],
            )
            .await;
    }
    let dir = app.dir.path();
    let clean = dir.join("clean.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--out", clean.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["audit", "verify", clean.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (head,): (String,) = oversight::db::query_as("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let entries: i64 = app.count("audit_log").await;
    assert!(
        out.trim()
            .starts_with(&format!("OK {entries} entries, head {head}: compare {head} with a head you hold")),
        "{out}"
    );

    // A file with its last five lines removed still verifies on its own,
    // but not against the head the auditor holds.
    let text = std::fs::read_to_string(&clean).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, lines[..lines.len() - 5].join("\n") + "\n").unwrap();
    let (ok, out) = app.cli(&["audit", "verify", cut.to_str().unwrap()]);
    assert!(ok && out.starts_with("OK "), "{out}");
    let (ok, out) = app.cli(&["audit", "verify", cut.to_str().unwrap(), "--expect-head", &head]);
    assert!(!ok, "exit 1 when the file does not reach the held head: {out}");
    assert!(out.contains("NOT REACHED") && out.contains(&head), "{out}");
    let (ok, out) = app.cli(&["audit", "verify", clean.to_str().unwrap(), "--expect-head", &head]);
    assert!(ok && out.contains("reaches the head you hold"), "{out}");
    let (ok, out) = app.cli(&["audit", "verify", "--expect-head", &head]);
    assert!(ok, "the database reaches it too: {out}");

    // The database itself refuses edits...
    let refused =
        oversight::db::query("UPDATE audit_log SET username = 'x' WHERE seq = 3").execute(&app.db).await;
    assert!(refused.is_err(), "the append-only trigger refuses updates");
    assert!(oversight::db::query("DELETE FROM audit_log WHERE seq = 3").execute(&app.db).await.is_err());
    // ...so a tamperer removes the trigger and edits the row in the file.
    let untrigger = if app.is_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    oversight::db::query(untrigger).execute(&app.db).await.unwrap();
    oversight::db::query("UPDATE audit_log SET details = '{\"after\":{\"badge\":\"FAKE\"}}' WHERE seq = 5")
        .execute(&app.db)
        .await
        .unwrap();

    let tampered = dir.join("tampered.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--out", tampered.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["audit", "verify", tampered.to_str().unwrap()]);
    assert!(!ok, "verification must fail");
    assert!(out.contains("FAILED at entry seq 5"), "{out}");
    let (ok, out) = app.cli(&["audit", "verify"]);
    assert!(!ok && out.contains("seq 5"), "{out}");

    // An edit to the exported file is caught too.
    let text = std::fs::read_to_string(&clean).unwrap().replacen("\"clerk\"", "\"admin\"", 1);
    let edited = dir.join("edited.jsonl");
    std::fs::write(&edited, text).unwrap();
    let (ok, out) = app.cli(&["audit", "verify", edited.to_str().unwrap()]);
    assert!(!ok && out.contains("FAILED"), "{out}");
}

#[tokio::test]
async fn backup_copies_the_live_database_while_it_serves() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    clerk
        .post(
            "/officers/new",
            &[("badge", "B-1"), ("last_name", "Doe"), ("first_name", "Jo"), ("status", "active")],
        )
        .await;
    let out = app.dir.path().join("backup.db");
    let (ok, text) = app.cli(&["backup", "--out", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("audit log in the copy: OK "), "{text}");
    let copy = if app.is_postgres() {
        // pg_dump's archive, restored as the README says into a new database.
        assert!(text.contains("one snapshot; all ") && text.contains("are in the archive"), "{text}");
        let target = common::empty_postgres("restored").await;
        let restored = Command::new(oversight::backup::postgres_tool("pg_restore").unwrap())
            .args(["--no-owner", "--dbname", &target])
            .arg(&out)
            .output()
            .unwrap();
        assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
        oversight::db::connect(&target).await.unwrap()
    } else {
        assert!(text.contains("integrity ok"), "{text}");
        oversight::db::connect(&format!("sqlite://{}", out.display())).await.unwrap()
    };
    let officers: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM officers").fetch_one(&copy).await.unwrap();
    assert_eq!(officers, 1);
    let (again, text) = app.cli(&["backup", "--out", out.to_str().unwrap()]);
    assert!(!again && text.contains("already exists"), "never overwrites");
    assert!(app.audit_actions().await.contains(&"backup.create".to_string()));
}

#[tokio::test]
async fn the_command_line_creates_users_without_a_password_argument() {
    let app = spawn_app().await;
    let run = |args: &[&str], password: &str| {
        Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(args)
            .env("OVERSIGHT_DATABASE_URL", &app.db_url)
            .env("OVERSIGHT_PASSWORD", password)
            .output()
            .unwrap()
    };
    let weak = run(&["user", "add", "chief", "--role", "administrator"], "short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
    let bad_role = run(&["user", "add", "chief", "--role", "sheriff"], "long enough phrase here");
    assert!(!bad_role.status.success());
    let ok = run(
        &["user", "add", "chief", "--role", "administrator", "--role", "auditor"],
        "long enough phrase here",
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let client = common::Client::new(&app.base);
    assert_eq!(location(&client.sign_in("chief", "long enough phrase here").await), "/");
    assert_eq!(client.get("/users").await.status(), 200);
    assert_eq!(client.get("/audit").await.status(), 200);
    let duplicate = run(&["user", "add", "chief", "--role", "clerk"], "long enough phrase here");
    assert!(!duplicate.status.success());
}
