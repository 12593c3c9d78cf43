//! The clerk's roster work through the forms: validation, list filters,
//! designations and the officer's authorization and history.

mod common;

use common::{TestApp, location, spawn_app};
use oversight::auth::Role;

async fn clerk_app() -> (TestApp, common::Client) {
    let app = spawn_app().await;
    app.set_agency_models("JEM,TFM").await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    (app, clerk)
}

async fn add_officer(clerk: &common::Client, badge: &str, last: &str, first: &str, status: &str) -> i64 {
    let response = clerk
        .post(
            "/officers/new",
            &[("badge", badge), ("last_name", last), ("first_name", first), ("status", status)],
        )
        .await;
    assert_eq!(response.status(), 303, "officer {badge} saved");
    location(&response).trim_start_matches("/officers/").parse().unwrap()
}

/// Seeded catalog: 1 JEM initial (160 h), 2 TFM initial (40 h), 3 WSO
/// initial, 4 JEM refresher (24 months), 5 agency annual course.
async fn add_training(
    clerk: &common::Client,
    officer: i64,
    course: &str,
    on: &str,
    hours: &str,
    scores: &str,
) {
    let response = clerk
        .post(
            &format!("/officers/{officer}/training/new"),
            &[("course_id", course), ("completed_on", on), ("hours", hours), ("scores", scores)],
        )
        .await;
    assert_eq!(response.status(), 303, "training saved");
}

#[tokio::test]
async fn a_wrong_form_comes_back_with_the_input_kept_and_a_message_per_field() {
    let (app, clerk) = clerk_app().await;
    let response = clerk
        .post(
            "/officers/new",
            &[
                ("badge", ""),
                ("last_name", "Nguyễn"),
                ("first_name", ""),
                ("hire_date", "2031-02-30"),
                ("status", "active"),
                ("annual_salary", "lots"),
                ("rank", "Sergeant <b>"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("There are 4 problems: nothing was saved"), "error summary");
    for message in [
        "Enter the badge number",
        "Enter the first name",
        "The hire date must be a date written YYYY-MM-DD.",
        "Enter the annual salary in dollars",
    ] {
        assert!(body.contains(message), "missing message: {message}");
    }
    assert!(body.contains("value=\"Nguyễn\""), "typed name kept");
    assert!(
        body.contains("value=\"Sergeant &#60;b&#62;\"") || body.contains("value=\"Sergeant &lt;b&gt;\""),
        "kept and escaped"
    );
    assert!(body.contains("id=\"badge-error\"") && body.contains("aria-invalid=\"true\""));
    assert_eq!(app.count("officers").await, 0);
}

#[tokio::test]
async fn badges_are_unique_and_dates_must_be_in_order() {
    let (app, clerk) = clerk_app().await;
    let first = add_officer(&clerk, "A-100", "Reyes", "Ana", "active").await;
    let duplicate = clerk
        .post(
            "/officers/new",
            &[("badge", "A-100"), ("last_name", "Lopez"), ("first_name", "Luis"), ("status", "active")],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    assert!(duplicate.text().await.unwrap().contains("Another officer already has this badge number"));
    // Without regard to case, and shown with the other problems at once.
    let other_case = clerk
        .post(
            "/officers/new",
            &[("badge", "a-100"), ("last_name", "Lopez"), ("first_name", ""), ("status", "active")],
        )
        .await;
    assert_eq!(other_case.status(), 422);
    let body = other_case.text().await.unwrap();
    assert!(body.contains("Another officer already has this badge number"), "a-100 is A-100");
    assert!(body.contains("Enter the first name"), "with the other field's problem");
    let second = add_officer(&clerk, "B-200", "Lopez", "Luis", "active").await;
    let renamed = clerk
        .post(
            &format!("/officers/{second}/edit"),
            &[("badge", "A-100 "), ("last_name", "Lopez"), ("first_name", "Luis"), ("status", "active")],
        )
        .await;
    assert_eq!(renamed.status(), 422, "an edit cannot take another officer's badge in another case either");
    assert_eq!(app.count("officers").await, 2);

    let out_of_order = clerk
        .post(
            &format!("/officers/{first}/designations/new"),
            &[
                ("model", "JEM"),
                ("nominated_on", "2025-05-01"),
                ("certified_on", "2025-04-01"),
                ("authorized_on", "2025-06-01"),
            ],
        )
        .await;
    assert_eq!(out_of_order.status(), 422);
    let body = out_of_order.text().await.unwrap();
    assert!(body.contains("ICE certification cannot be before Nomination (2025-05-01)."), "{body}");
    assert!(body.contains("value=\"2025-04-01\""));
    let not_held = clerk
        .post(
            &format!("/officers/{first}/designations/new"),
            &[("model", "WSO"), ("nominated_on", "2025-05-01")],
        )
        .await;
    assert_eq!(not_held.status(), 422);
    assert_eq!(app.count("designations").await, 0);
}

#[tokio::test]
async fn the_officer_page_says_whether_the_officer_is_authorized_today_and_why_not() {
    let (app, clerk) = clerk_app().await;
    let id = add_officer(&clerk, "A-1", "Reyes", "Ana", "active").await;
    let response = clerk
        .post(
            &format!("/officers/{id}/designations/new"),
            &[
                ("model", "JEM"),
                ("nominated_on", "2024-01-10"),
                ("training_passed_on", "2024-02-20"),
                ("certified_on", "2024-03-01"),
                ("authorized_on", "2024-03-15"),
                ("authorization_expires_on", "2099-03-15"),
                ("credential_number", "70-006-123"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let withdrawn = clerk
        .post(
            &format!("/officers/{id}/designations/new"),
            &[
                ("model", "TFM"),
                ("nominated_on", "2024-01-10"),
                ("certified_on", "2024-03-01"),
                ("authorized_on", "2024-03-15"),
                ("withdrawn_on", "2025-01-20"),
                ("withdrawal_reason", "ICE written notice"),
            ],
        )
        .await;
    assert_eq!(withdrawn.status(), 303);
    let (_, page) = clerk.get_text(&format!("/officers/{id}")).await;
    let jem = &page[page.find("Jail Enforcement Model (JEM)</th>").unwrap()..];
    assert!(
        jem[..300].contains("287(g) Jail Enforcement Model basic training not completed"),
        "{}",
        &jem[..300]
    );
    add_training(&clerk, id, "1", "2024-02-20", "160", "64, 88").await;
    add_training(&clerk, id, "4", "2026-01-15", "40", "91").await;
    add_training(&clerk, id, "2", "2024-02-22", "40", "75").await;
    let (_, page) = clerk.get_text(&format!("/officers/{id}")).await;
    let jem = &page[page.find("Jail Enforcement Model (JEM)</th>").unwrap()..];
    assert!(jem[..200].contains("Authorized"), "{}", &jem[..200]);
    assert!(jem[..600].contains("2028-01-15"), "next refresher due 24 months after the refresher");
    assert!(page.contains("Passed on remediation"));
    assert!(
        page.contains("<td>2024</td><td>200</td>") && page.contains("<td>2026</td><td>40</td>"),
        "hours per year"
    );
    let tfm = &page[page.find("Task Force Model (TFM)</th>").unwrap()..];
    assert!(
        tfm[..300].contains("authorization withdrawn on 2025-01-20: ICE written notice"),
        "{}",
        &tfm[..300]
    );
    assert!(page.contains("70-006-123"));
    assert!(page.contains("designation.create"), "history lists the designation");

    // Separation ends all authority.
    let response = clerk
        .post(
            &format!("/officers/{id}/edit"),
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "separated")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = clerk.get_text(&format!("/officers/{id}")).await;
    assert!(page.contains("separated from the agency"));
    assert!(page.contains("officer.update"));
    assert_eq!(app.count("designations").await, 2);
}

#[tokio::test]
async fn the_list_searches_filters_sorts_and_pages() {
    let (app, clerk) = clerk_app().await;
    let authorized = add_officer(&clerk, "Z-1", "Zamora", "Zoe", "active").await;
    clerk
        .post(
            &format!("/officers/{authorized}/designations/new"),
            &[
                ("model", "TFM"),
                ("nominated_on", "2024-01-01"),
                ("certified_on", "2024-02-01"),
                ("authorized_on", "2024-02-02"),
            ],
        )
        .await;
    add_training(&clerk, authorized, "2", "2024-01-20", "40", "80").await;
    add_officer(&clerk, "Y-2", "Young", "Yara", "on_leave").await;
    for i in 0..30 {
        add_officer(&clerk, &format!("P-{i:02}"), &format!("Page{i:02}"), "Test", "active").await;
    }
    let (_, body) = clerk.get_text("/officers?q=zamo").await;
    assert!(body.contains("Zamora, Zoe") && !body.contains("Young, Yara"));
    assert!(body.contains("1 officer ·"));
    let (_, body) = clerk.get_text("/officers?q=z-1").await;
    assert!(body.contains("Zamora, Zoe"), "search by badge");
    let (_, body) = clerk.get_text("/officers?status=on_leave").await;
    assert!(body.contains("Young, Yara") && !body.contains("Zamora"));
    let (_, body) = clerk.get_text("/officers?model=TFM").await;
    assert!(body.contains("Zamora") && !body.contains("Young"));
    let (_, body) = clerk.get_text("/officers?authorized=yes").await;
    assert!(body.contains("Zamora") && !body.contains("Young"));
    let (_, body) = clerk.get_text("/officers?authorized=no&sort=name&dir=desc").await;
    assert!(!body.contains("Zamora") && body.contains("Young"), "Z would lead a descending list");
    assert!(body.contains("31 officers"));
    let (_, body) = clerk.get_text("/officers").await;
    assert!(body.contains("32 officers · page 1 of 2"));
    assert!(body.contains("Page00") && !body.contains("Zamora"), "sorted by name, first page");
    let (_, body) = clerk.get_text("/officers?page=2").await;
    assert!(body.contains("Zamora") && !body.contains("Page00"));
    let (_, body) = clerk.get_text("/officers?sort=badge&dir=desc").await;
    let z = body.find("Zamora").unwrap();
    let y = body.find("Young").unwrap();
    assert!(z < y, "Z-1 before Y-2 when badges sort descending");
    assert_eq!(app.count("officers").await, 32);
}
