//! Arrests: names and dates of birth reach only clerks and supervisors (not
//! reviewers, not auditors, not even through the audit log), 287(g)
//! actions are checked against the officer's authority, and the WSO
//! 48-hour rule is shown.

mod common;

use common::{location, spawn_app};
use oversight::auth::Role;

#[tokio::test]
async fn personal_data_reaches_only_the_roles_that_need_it() {
    let app = spawn_app().await;
    app.set_agency_models("WSO").await;
    for role in Role::ALL {
        app.user(role.as_str(), &[role]).await;
    }
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "W-1"), ("last_name", "Ortiz"), ("first_name", "Luz"), ("status", "active")],
        )
        .await;
    let officer = location(&officer).trim_start_matches("/officers/").to_string();
    let fields = [
        ("arrest_date", "2025-06-01"),
        ("arrest_time", "22:10"),
        ("officer_id", officer.as_str()),
        ("person_name", "Zbigniew Przybylski-Nguyễn"),
        ("person_dob", "1988-07-09"),
        ("charges", "Driving with a suspended license"),
        ("offense_class", "misdemeanor"),
        ("priority_level", "3"),
        ("arrest_type", "on_view"),
        ("warrant_served", "1"),
        ("released_date", "2025-06-04"),
        ("released_time", "08:00"),
        ("perceived_race", "hispanic"),
    ];
    let created = clerk.post("/arrests/new", &fields).await;
    assert_eq!(created.status(), 303);
    let path = location(&created);
    let (_, page) = clerk.get_text(&path).await;
    assert!(page.contains("Zbigniew Przybylski-Nguyễn") && page.contains("1988-07-09"));
    assert!(page.contains("Compliance exception"), "no WSO authority: {page}");
    assert!(page.contains("exceeded: held 57 hours"), "48-hour rule");

    let supervisor = app.signed_in("supervisor").await;
    assert!(supervisor.get_text(&path).await.1.contains("Przybylski"));
    for role in ["reviewer", "auditor"] {
        let client = app.signed_in(role).await;
        let (status, page) = client.get_text(&path).await;
        assert_eq!(status, 200, "{role} reads the record");
        assert!(
            !page.contains("Przybylski") && !page.contains("1988-07-09"),
            "{role} sees no name or birth date"
        );
        assert!(page.contains("withheld for your role"));
        let (_, list) = client.get_text("/arrests").await;
        assert!(!list.contains("Przybylski") && list.contains("names withheld"));
    }
    let auditor = app.signed_in("auditor").await;
    let (_, log) = auditor.get_text("/audit?action=arrest.create").await;
    assert!(log.contains("arrest.create") && !log.contains("Przybylski") && !log.contains("1988-07-09"));
    assert!(log.contains("person_dob: withheld") && !log.contains("sha256"), "the log shows no digest");
    // The entry commits to the value: whoever holds the record's salt (a
    // role that sees the name) can show which value it was.
    let (details, salt): (String, String) = oversight::db::query_as(
        "SELECT details, (SELECT person_salt FROM arrests) FROM audit_log WHERE action = 'arrest.create'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(salt.len(), 32, "a 128-bit salt");
    assert_eq!(
        details["after"]["person_dob"]["withheld"],
        oversight::canonical::personal_commitment(&salt, "person_dob", "1988-07-09")
    );
    let export = auditor.post("/audit/export", &[]).await.text().await.unwrap();
    assert!(export.contains("arrest.create") && !export.contains("Przybylski"), "nor in the export");
    let everything: Vec<String> =
        oversight::db::query_scalar("SELECT details FROM audit_log").fetch_all(&app.db).await.unwrap();
    assert!(everything.iter().all(|d| !d.contains("Przybylski")), "no name anywhere in the log");
    let admin = app.signed_in("administrator").await;
    assert_eq!(admin.get(&path).await.status(), 403);
}

#[tokio::test]
async fn arrest_validation_keeps_the_input() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let response = clerk
        .post(
            "/arrests/new",
            &[
                ("arrest_date", "2025-06-01"),
                ("arrest_time", "7pm"),
                ("person_name", "Ana Diaz"),
                ("stop_id", "999"),
                ("priority_level", "5"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    for message in [
        "Enter the time on the 24-hour clock",
        "Choose the arresting officer.",
        "No stop has this number",
        "Choose the priority level.",
        "Enter the charges",
    ] {
        assert!(body.contains(message), "missing {message}");
    }
    assert!(body.contains("value=\"Ana Diaz\""));
    assert_eq!(app.count("arrests").await, 0);
}
