//! A new agency-mandated course is owed from the day it takes effect, not
//! from each officer's nomination: adding one does not make the whole
//! roster overdue at once.

mod common;

use common::spawn_app;
use oversight::audit::Actor;
use oversight::auth::Role;

#[tokio::test]
async fn a_new_agency_course_is_due_from_its_effective_date_on_the_roster() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    app.user("chief", &[Role::Administrator]).await;
    app.user("clerk", &[Role::Clerk]).await;
    // Nominated 2026-01-05, trained, authorized; the agency's annual course
    // taken ten days ago.
    let officer = app.authorized_tfm_officer().await;
    let today = oversight::agency::store::get(&app.scope).await.unwrap().today();
    let annual = oversight::training::TrainingRecord {
        id: 0,
        officer_id: officer,
        course_id: 5,
        completed_on: oversight::web::format_date(today - time::Duration::days(10)),
        hours: 4.0,
        scores: String::new(),
        provider: "Agency".into(),
    };
    oversight::training::store::add_record(&app.scope, &Actor::system("test setup"), officer, &annual)
        .await
        .unwrap();
    let clerk = app.signed_in("clerk").await;
    let (_, roster) = clerk.get_text("/compliance").await;
    assert!(roster.contains(">Current</span>"), "current before the new course");

    let chief = app.signed_in("chief").await;
    let course = |effective: &str| {
        [
            ("name", "Use of force policy 2027"),
            ("kind", "agency"),
            ("required_hours", "2"),
            ("max_hours", "8"),
            ("validity_months", "12"),
            ("effective_on", effective),
            ("pass_mark", "70"),
            ("remediation_attempts", "1"),
            ("active", "1"),
        ]
        .map(|(k, v)| (k, v.to_string()))
    };
    let post = |fields: [(&'static str, String); 9]| async {
        let fields = fields;
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        chief.post("/courses/new", &pairs).await
    };
    let refused = post(course("")).await;
    assert_eq!(refused.status(), 422, "a new agency course needs its date");
    assert!(refused.text().await.unwrap().contains("Enter the date the course takes effect"));

    let effective = oversight::web::format_date(today + time::Duration::days(60));
    let saved = post(course(&effective)).await;
    assert_eq!(saved.status(), 303);
    let stored: Option<String> = oversight::db::query_scalar(
        "SELECT effective_on FROM courses WHERE name = 'Use of force policy 2027'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored.as_deref(), Some(effective.as_str()));

    let (_, roster) = clerk.get_text("/compliance").await;
    assert!(!roster.contains(">Overdue</span>"), "not overdue from the nomination in January");
    assert!(roster.contains(">Current</span>"), "still current, with 60 days to go");
    assert!(
        roster.contains(&format!("{effective} (Use of force policy 2027)")),
        "due the day it takes effect"
    );
}
