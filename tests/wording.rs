//! Counts take the noun of their number ("1 day", "1 account"), the web
//! import of a file seen before points to the form's checkbox (the command
//! line keeps `--force`), and an empty upload is named as such.

mod common;

use common::{Client, spawn_app};
use oversight::auth::Role;

const CSV: &str = "\
date,time,location,subject_race,subject_sex,type,outcome,reason_for_stop
2019-03-01,08:15:00,US-41 at Pine Ridge Rd,hispanic,male,vehicular,citation,Moving violation
";

async fn import(client: &Client, name: &str, bytes: &[u8]) -> (u16, String) {
    let token = client.token("/stops/import").await;
    let mut form = reqwest::multipart::Form::new().text("_csrf", token).text("format", "opp");
    form = form.part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    let response =
        client.http.post(format!("{}/stops/import", client.base)).multipart(form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap().replace("&#34;", "\""))
}

#[tokio::test]
async fn the_web_import_points_to_its_checkbox_and_names_an_empty_file() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let (status, _) = import(&clerk, "stops.csv", CSV.as_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(app.count("stops").await, 1);

    let (status, page) = import(&clerk, "stops.csv", CSV.as_bytes()).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("tick \"Import even if this same file was imported before\""),
        "points to the checkbox: {page}"
    );
    assert!(!page.contains("--force"), "no command-line option on the web page");
    assert_eq!(app.count("stops").await, 1);

    let (status, page) = import(&clerk, "stops.csv", b"").await;
    assert_eq!(status, 422);
    assert!(page.contains("The file is empty"), "{page}");
    let (status, page) = import(&clerk, "", b"").await;
    assert_eq!(status, 422);
    assert!(page.contains("Choose the CSV file to import."), "no file chosen");
}

#[tokio::test]
async fn one_of_a_thing_is_counted_in_the_singular() {
    let app = spawn_app().await;
    app.user("chief", &[Role::Administrator]).await;
    oversight::db::query("UPDATE agency SET sign_off_days = 1").execute(&app.db).await.unwrap();
    let (_, users) = app.signed_in("chief").await.get_text("/users").await;
    assert!(users.contains("<caption>1 account</caption>"), "{users}");

    app.user("clerk", &[Role::Clerk]).await;
    let setup = oversight::audit::Actor::system("test setup");
    let stop = oversight::stops::Stop {
        stop_date: "2026-10-12".into(),
        stop_time: Some("10:00".into()),
        duration_minutes: Some(1),
        years_of_service: Some(1),
        location: "Main St".into(),
        stop_type: "vehicle".into(),
        reason: "traffic_violation".into(),
        results: ",warning,".into(),
        ..Default::default()
    };
    oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    let id: i64 = oversight::db::query_scalar("SELECT MAX(id) FROM stops").fetch_one(&app.db).await.unwrap();
    let clerk = app.signed_in("clerk").await;
    let (_, page) = clerk.get_text(&format!("/stops/{id}")).await;
    assert!(page.contains("<dd>1 minute</dd>"), "{page}");
    assert!(page.contains(", 1 year of service"));

    app.user("sup", &[Role::Supervisor]).await;
    let (_, queue) = app.signed_in("sup").await.get_text("/supervision/queue").await;
    assert!(queue.contains("overdue 1 day after it was taken"), "{queue}");
}

/// The records import (arrests, complaints, pay, leads) counts in the
/// singular too, points to its checkbox, and names an empty file.
#[tokio::test]
async fn the_records_import_counts_one_and_points_to_its_checkbox() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "CC-1"), ("last_name", "Ruiz"), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    assert_eq!(officer.status(), 303);
    let csv = "officer_badge,quarter,received,located\ncc-1,2026-Q1,10,9\n";
    let send = |bytes: &'static [u8]| {
        let clerk = &clerk;
        async move {
            let response =
                common::upload_to(clerk, "/records/import", &[("kind", "leads")], "leads.csv", bytes).await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap().replace("&#34;", "\""))
        }
    };
    let (status, page) = send(csv.as_bytes()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Imported 1 quarterly lead (SHA-256"), "singular: {page}");
    let (status, page) = send(csv.as_bytes()).await;
    assert_eq!(status, 422);
    assert!(page.contains("tick \"Import even if this same file was imported before\""), "{page}");
    assert!(!page.contains("--force"));
    let (status, page) = send(b"").await;
    assert_eq!(status, 422);
    assert!(page.contains("The file is empty"), "{page}");
    assert_eq!(app.count("leads").await, 1);
}
