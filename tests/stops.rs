//! Stop records through the real form: validation with every message and
//! the input kept, the 287(g) sign-off flag and compliance exception, edits
//! kept in the history, and the filtered, key-paged list.

mod common;

use common::{Client, TestApp, location, spawn_app};
use oversight::audit::Actor;
use oversight::auth::Role;

fn stop_form<'a>(officer: &'a str, date: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("stop_date", date),
        ("stop_time", "21:45"),
        ("duration_minutes", "18"),
        ("location", "US-41 at Pine Ridge Rd"),
        ("district", "D2"),
        ("stop_type", "vehicle"),
        ("officer_id", officer),
        ("perceived_race", "hispanic"),
        ("perceived_gender", "male"),
        ("perceived_age", "34"),
        ("reason", "traffic_violation"),
        ("traffic_violation", "moving"),
        ("reason_narrative", "54 in a 35 zone"),
        ("results", "citation"),
    ];
    for (k, v) in extra {
        fields.retain(|(f, _)| f != k);
        fields.push((k, v));
    }
    fields
}

async fn setup() -> (TestApp, Client, String, String) {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let officer = |badge: &'static str| {
        let clerk = &clerk;
        async move {
            let r = clerk
                .post(
                    "/officers/new",
                    &[("badge", badge), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
                )
                .await;
            location(&r).trim_start_matches("/officers/").to_string()
        }
    };
    let authorized = officer("T-1").await;
    let unauthorized = officer("T-2").await;
    let setup = Actor::system("test setup");
    let d = oversight::officers::Designation {
        model: "TFM".into(),
        nominated_on: Some("2025-01-02".into()),
        certified_on: Some("2025-02-01".into()),
        authorized_on: Some("2025-02-05".into()),
        ..Default::default()
    };
    let id: i64 = authorized.parse().unwrap();
    oversight::officers::store::add_designation(&app.scope, &setup, id, &d).await.unwrap();
    let t = oversight::training::TrainingRecord {
        id: 0,
        officer_id: id,
        course_id: 2,
        completed_on: "2025-01-20".into(),
        hours: 40.0,
        scores: "88".into(),
        provider: String::new(),
    };
    oversight::training::store::add_record(&app.scope, &setup, id, &t).await.unwrap();
    (app, clerk, authorized, unauthorized)
}

#[tokio::test]
async fn a_wrong_stop_comes_back_with_every_message_and_nothing_saved() {
    let (app, clerk, officer, _) = setup().await;
    let fields = stop_form(
        &officer,
        "2099-01-01",
        &[
            ("stop_time", "9pm"),
            ("perceived_age", "0"),
            ("actions", "frisk"),
            ("search_basis", "consent"),
            ("location", ""),
        ],
    );
    let response = clerk.post("/stops/new", &fields).await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    for message in [
        "The date cannot be in the future.",
        "Enter the time on the 24-hour clock",
        "Enter the perceived age in years",
        "A search basis only goes with a search of person or property",
        "Enter the block or intersection",
    ] {
        assert!(body.contains(message), "missing: {message}");
    }
    assert!(body.contains("value=\"9pm\""), "typed value kept");
    assert!(
        body.contains("id=\"actions-frisk\" name=\"actions\" value=\"frisk\" checked"),
        "ticked box kept"
    );
    assert_eq!(app.count("stops").await, 0);
}

#[tokio::test]
async fn a_287g_action_is_flagged_and_an_unauthorized_officer_is_an_exception() {
    let (app, clerk, authorized, unauthorized) = setup().await;
    let extra = [
        ("action_287g", "1"),
        ("ice_contacted", "1"),
        ("results", "contacted_ice"),
        ("immigration_status_asked", "1"),
    ];
    let ok = clerk.post("/stops/new", &stop_form(&authorized, "2025-06-01", &extra)).await;
    assert_eq!(ok.status(), 303);
    let (_, page) = clerk.get_text(&location(&ok)).await;
    assert!(
        page.contains("this stop needs a supervisor&#39;s sign-off")
            || page.contains("this stop needs a supervisor's sign-off")
    );
    assert!(!page.contains("Compliance exception"));

    let flagged = clerk.post("/stops/new", &stop_form(&unauthorized, "2025-06-01", &extra)).await;
    assert_eq!(flagged.status(), 303, "accepted, not refused");
    let (_, page) = clerk.get_text(&location(&flagged)).await;
    assert!(page.contains("Compliance exception"));
    assert!(page.contains("TFM: no TFM designation"), "the reason is named");

    // Before the authorized officer's letter, the same action is an exception too.
    let early = clerk.post("/stops/new", &stop_form(&authorized, "2025-01-15", &extra)).await;
    let (_, page) = clerk.get_text(&location(&early)).await;
    assert!(page.contains("Compliance exception") && page.contains("not authorized on 2025-01-15"));
    let exceptions: i64 = oversight::db::query_scalar("SELECT COUNT(*) FROM stops WHERE exception <> ''")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(exceptions, 2);
}

#[tokio::test]
async fn an_edit_keeps_the_earlier_version_in_the_history() {
    let (app, clerk, officer, _) = setup().await;
    let created = clerk.post("/stops/new", &stop_form(&officer, "2025-06-01", &[])).await;
    let path = location(&created);
    let id = path.trim_start_matches("/stops/");
    let (_, form) = clerk.get_text(&format!("/stops/{id}/edit")).await;
    assert!(form.contains("value=\"US-41 at Pine Ridge Rd\""));
    let edited = clerk
        .post(
            &format!("/stops/{id}/edit"),
            &stop_form(&officer, "2025-06-01", &[("duration_minutes", "25"), ("results", "warning")]),
        )
        .await;
    assert_eq!(edited.status(), 303);
    let (_, page) = clerk.get_text(&path).await;
    assert!(page.contains("duration_minutes: 18 → 25"), "earlier value kept");
    // The history reads as labels, never as stored codes.
    assert!(page.contains("results: Citation → Warning"), "labels in the history");
    assert!(!page.contains(",citation,"), "no stored codes in the history");
    let details: String =
        oversight::db::query_scalar("SELECT details FROM audit_log WHERE action = 'stop.update'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(details.contains("\"before\":{\"duration_minutes\":18"), "{details}");
}

#[tokio::test]
async fn the_list_filters_and_pages_by_key() {
    let (app, clerk, a, b) = setup().await;
    for day in 1..=28 {
        let date = format!("2025-02-{day:02}");
        let race = if day % 2 == 0 { "black" } else { "white" };
        let search: &[(&str, &str)] = if day % 7 == 0 {
            &[("actions", "search_person"), ("search_basis", "consent"), ("contraband", "drugs")]
        } else {
            &[]
        };
        let mut extra = vec![("perceived_race", race), ("district", if day <= 10 { "D1" } else { "D2" })];
        extra.extend_from_slice(search);
        let officer = if day % 4 == 0 { &b } else { &a };
        let r = clerk.post("/stops/new", &stop_form(officer, &date, &extra)).await;
        assert_eq!(r.status(), 303);
        if day <= 28 {
            let r = clerk
                .post(
                    "/stops/new",
                    &stop_form(&a, &date, &[("stop_type", "pedestrian"), ("results", "warning")]),
                )
                .await;
            assert_eq!(r.status(), 303);
        }
    }
    assert_eq!(app.count("stops").await, 56);
    let rows = |page: &str| page.matches("<tr>\n      <td><a href=\"/stops/").count();
    let (_, first) = clerk.get_text("/stops").await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains("2025-02-28 21:45"), "newest first");
    let next = first
        .split("href=\"")
        .find(|s| s.contains("rel=\"next\""))
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap();
    let (_, second) = clerk.get_text(&next).await;
    assert_eq!(rows(&second), 6);
    assert!(second.contains("2025-02-01 21:45") && !second.contains("rel=\"next\""));

    let count = |q: &'static str| {
        let clerk = &clerk;
        async move { rows(&clerk.get_text(&format!("/stops?{q}")).await.1) }
    };
    assert_eq!(count("from=2025-02-10&to=2025-02-12").await, 6);
    assert_eq!(count(Box::leak(format!("officer={b}").into_boxed_str())).await, 7);
    assert_eq!(count("district=D1&stop_type=vehicle").await, 10);
    assert_eq!(count("stop_type=pedestrian").await, 28);
    assert_eq!(count("race=black&stop_type=vehicle").await, 14);
    assert_eq!(count("searched=yes").await, 4);
    assert_eq!(count("searched=no&stop_type=vehicle").await, 24);
    assert_eq!(count("race=black&searched=yes").await, 2);
    let menu: Vec<&str> = first.split("<option value=\"D").skip(1).map(|s| &s[..1]).collect();
    assert_eq!(menu, ["1", "2"], "the district menu offers the districts in use");
    assert_eq!(count("result=warning").await, 28);
    assert_eq!(count("action_287g=yes").await, 0);
    let (_, oldest) = clerk.get_text("/stops?order=oldest&stop_type=vehicle").await;
    let first_row = oldest.find("2025-02-01 21:45").unwrap();
    assert!(first_row < oldest.find("2025-02-02 21:45").unwrap());
    let (status, bad) = clerk.get_text("/stops?from=yesterday").await;
    assert_eq!(status, 200);
    assert!(bad.contains("Write the date as YYYY-MM-DD."));
}

#[tokio::test]
async fn reviewers_read_stops_but_cannot_write_them() {
    let (app, clerk, officer, _) = setup().await;
    let created = clerk.post("/stops/new", &stop_form(&officer, "2025-06-01", &[])).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    app.user("admin", &[Role::Administrator]).await;
    let reviewer = app.signed_in("reviewer").await;
    assert_eq!(reviewer.get(&location(&created)).await.status(), 200);
    assert_eq!(reviewer.get("/stops").await.status(), 200);
    assert_eq!(reviewer.post("/stops/new", &stop_form(&officer, "2025-06-02", &[])).await.status(), 403);
    let admin = app.signed_in("admin").await;
    assert_eq!(admin.get("/stops").await.status(), 403);
    assert_eq!(app.count("stops").await, 1);
}

/// The list's officer and district menus are kept between pages, so they
/// must follow every change at once: a new officer or a stop in a new
/// district shows on the very next page.
#[tokio::test]
async fn the_list_menus_follow_new_officers_and_districts_at_once() {
    let (_app, clerk, officer, _) = setup().await;
    let (_, before) = clerk.get_text("/stops").await;
    assert!(!before.contains("Okafor") && !before.contains("<option value=\"North\""));
    let r = clerk
        .post(
            "/officers/new",
            &[("badge", "T-9"), ("last_name", "Okafor"), ("first_name", "Ben"), ("status", "active")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, after) = clerk.get_text("/stops").await;
    assert!(after.contains("Okafor, Ben (T-9)"), "new officer listed");
    let r = clerk.post("/stops/new", &stop_form(&officer, "2025-03-01", &[("district", "North")])).await;
    assert_eq!(r.status(), 303);
    let (_, after) = clerk.get_text("/stops").await;
    assert!(after.contains("<option value=\"North\""), "new district offered");
}
