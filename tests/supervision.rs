//! Supervision sign-off over real HTTP: return, correct, approve; the
//! fingerprint of each signed version; stale sign-offs after an edit;
//! self-review refused and audited; two simultaneous approvals of which
//! exactly one lands; bulk approval; sign-offs that cannot be altered.

mod common;

use common::{Client, PASSWORD, TestApp, hidden, location, spawn_app};
use oversight::auth::Role;

struct Setup {
    app: TestApp,
    clerk: Client,
    officer: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    app.set_agency_models("WSO").await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("sup1", &[Role::Supervisor]).await;
    app.user("sup2", &[Role::Supervisor]).await;
    app.user("auditor", &[Role::Auditor]).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    app.user("admin", &[Role::Administrator]).await;
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "W-7"), ("last_name", "Okafor"), ("first_name", "Ada"), ("status", "active")],
        )
        .await;
    let officer = location(&officer).trim_start_matches("/officers/").to_string();
    Setup { app, clerk, officer }
}

/// The arrest form with a detainer lodged.
fn arrest_form<'a>(officer: &'a str, charges: &'a str) -> [(&'static str, &'a str); 9] {
    [
        ("arrest_date", "2025-06-01"),
        ("arrest_time", "22:10"),
        ("officer_id", officer),
        ("person_name", "Łucja Nguyễn"),
        ("charges", charges),
        ("offense_class", "misdemeanor"),
        ("priority_level", "3"),
        ("arrest_type", "on_view"),
        ("detainer_lodged", "1"),
    ]
}

/// An arrest with a detainer, entered by `client`; returns its id.
async fn arrest(client: &Client, officer: &str, charges: &str) -> i64 {
    let response = client.post("/arrests/new", &arrest_form(officer, charges)).await;
    assert_eq!(response.status(), 303, "arrest saved");
    location(&response).trim_start_matches("/arrests/").parse().unwrap()
}

/// Opens the review page and signs with what it showed.
async fn decide(
    client: &Client,
    id: i64,
    decision: &str,
    comment: &str,
    password: &str,
) -> reqwest::Response {
    let path = format!("/supervision/review/arrest/{id}");
    let (_, page) = client.get_text(&path).await;
    let (hash, latest) = (hidden(&page, "hash"), hidden(&page, "latest"));
    client
        .post(
            &path,
            &[
                ("decision", decision),
                ("comment", comment),
                ("password", password),
                ("hash", &hash),
                ("latest", &latest),
            ],
        )
        .await
}

async fn current_hash(app: &TestApp, id: i64) -> String {
    let record = oversight::arrests::store::get(&app.db, &app.scope, id).await.unwrap();
    oversight::supervision::arrest_fingerprint(&record, "v2").unwrap()
}

async fn edit_charges(clerk: &Client, officer: &str, id: i64, charges: &str) {
    let response = clerk.post(&format!("/arrests/{id}/edit"), &arrest_form(officer, charges)).await;
    assert_eq!(response.status(), 303, "edit saved");
}

#[tokio::test]
async fn a_returned_arrest_is_corrected_then_approved_and_both_versions_stay() {
    let Setup { app, clerk, officer } = setup().await;
    let id = arrest(&clerk, &officer, "Petty theft").await;
    let sup = app.signed_in("sup1").await;
    let (_, queue) = sup.get_text("/supervision/queue").await;
    assert!(queue.contains(&format!("Arrest {id}")) && queue.contains("(1 waiting, 1 overdue)"), "{queue}");

    // Refusals change nothing: no comment on a return, then a wrong password.
    let response = decide(&sup, id, "returned", "", PASSWORD).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Say what must be corrected"));
    let response = decide(&sup, id, "returned", "Charge text is incomplete", "not my password").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("The password is not right") && page.contains("Charge text is incomplete"));
    assert_eq!(app.count("sign_offs").await, 0);

    let first_hash = current_hash(&app, id).await;
    let response = decide(&sup, id, "returned", "Charge text is incomplete: add the statute", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let (_, page) = clerk.get_text(&format!("/arrests/{id}")).await;
    assert!(page.contains("Returned for correction by Test sup1") && page.contains("add the statute"));
    let (_, returned) = clerk.get_text("/supervision/queue").await;
    assert!(returned.contains("add the statute") && returned.contains("(1 returned)"), "{returned}");

    edit_charges(&clerk, &officer, id, "Petty theft, F.S. 812.014(3)(a)").await;
    let (_, queue) = sup.get_text("/supervision/queue").await;
    assert!(queue.contains("changed since the last decision"), "the corrected record is back: {queue}");
    let response = decide(&sup, id, "approved", "", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let second_hash = current_hash(&app, id).await;
    assert_ne!(first_hash, second_hash);

    // The auditor sees both decisions with the fingerprint each one signed.
    let auditor = app.signed_in("auditor").await;
    let (_, page) = auditor.get_text(&format!("/arrests/{id}")).await;
    assert!(page.contains(&first_hash) && page.contains(&second_hash), "{page}");
    assert!(page.contains("approved (sign-off current)") && page.contains("matches the current version"));
    assert!(!page.contains("Łucja"), "auditors see no names");
    let stored: Vec<(String, String, String)> =
        oversight::db::query_as("SELECT decision, record_hash, reviewer_name FROM sign_offs ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        vec![
            ("returned".into(), first_hash.clone(), "Test sup1".into()),
            ("approved".into(), second_hash.clone(), "Test sup1".into())
        ]
    );

    // Editing a signed record makes its sign-off stale: back in the queue.
    edit_charges(&clerk, &officer, id, "Petty theft, F.S. 812.014(3)(a), second count").await;
    let (_, page) = auditor.get_text(&format!("/arrests/{id}")).await;
    assert!(
        page.contains("changed since the last decision") && !page.contains("matches the current version")
    );
    let (_, queue) = sup.get_text("/supervision/queue").await;
    assert!(queue.contains(&format!("Arrest {id}")));
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"sign_off.returned".to_string())
            && actions.contains(&"sign_off.approved".to_string())
    );
}

#[tokio::test]
async fn nobody_reviews_their_own_action_and_every_attempt_is_audited() {
    let Setup { app, clerk, officer } = setup().await;
    // A supervisor who is also a clerk enters an arrest: they may not sign it.
    app.user("both", &[Role::Clerk, Role::Supervisor]).await;
    let both = app.signed_in("both").await;
    let own = arrest(&both, &officer, "Trespass").await;
    let (_, queue) = both.get_text("/supervision/queue").await;
    assert!(
        queue.contains(">yours</span>") && !queue.contains(&format!("value=\"arrest:{own}:")),
        "no box to tick: {queue}"
    );
    let (_, page) = both.get_text(&format!("/supervision/review/arrest/{own}")).await;
    assert!(page.contains("You entered or edited this record") && !page.contains("Sign decision"));
    let response = both
        .post(
            &format!("/supervision/review/arrest/{own}"),
            &[
                ("decision", "approved"),
                ("password", PASSWORD),
                ("hash", &current_hash(&app, own).await),
                ("latest", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);

    // A supervisor recorded as the arresting officer may not sign either.
    let sup2: i64 = oversight::db::query_scalar("SELECT id FROM users WHERE username = 'sup2'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let admin = app.signed_in("admin").await;
    let response = admin
        .post(&format!("/users/{sup2}/supervision"), &[("officer_id", &officer), ("supervisor_kind", "ice")])
        .await;
    assert_eq!(response.status(), 303);
    let theirs = arrest(&clerk, &officer, "Battery").await;
    let sup = app.signed_in("sup2").await;
    let response = decide_blind(&sup, &app, theirs).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("You are recorded as the officer"));

    assert_eq!(app.count("sign_offs").await, 0);
    let denied: Vec<(String, String)> = oversight::db::query_as(
        "SELECT action, outcome FROM audit_log WHERE action = 'sign_off.self_review'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|(_, outcome)| outcome == "denied"));

    // S5 counts both on the supervision page.
    let reviewer = app.signed_in("reviewer").await;
    let (status, page) = reviewer.get_text("/supervision").await;
    assert_eq!(status, 200);
    let s5 = &page[page.find("S5 self-review attempts blocked").unwrap()..];
    assert!(s5.contains("<strong>2</strong>"), "{s5}");
}

/// Posts a decision on an item without opening its page (a forged form
/// with the right fingerprint).
async fn decide_blind(client: &Client, app: &TestApp, id: i64) -> reqwest::Response {
    client
        .post(
            &format!("/supervision/review/arrest/{id}"),
            &[
                ("decision", "approved"),
                ("password", PASSWORD),
                ("hash", &current_hash(app, id).await),
                ("latest", "0"),
            ],
        )
        .await
}

#[tokio::test]
async fn two_supervisors_approving_at_the_same_moment_produce_one_sign_off() {
    let Setup { app, clerk, officer } = setup().await;
    let id = arrest(&clerk, &officer, "Petty theft").await;
    let (one, two) = (app.signed_in("sup1").await, app.signed_in("sup2").await);
    let (a, b) =
        tokio::join!(decide(&one, id, "approved", "", PASSWORD), decide(&two, id, "approved", "", PASSWORD));
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![303, 409], "exactly one wins");
    assert_eq!(app.count("sign_offs").await, 1);
}

#[tokio::test]
async fn bulk_approval_signs_each_item_or_none() {
    let Setup { app, clerk, officer } = setup().await;
    let first = arrest(&clerk, &officer, "Petty theft").await;
    let second = arrest(&clerk, &officer, "Trespass").await;
    let sup = app.signed_in("sup1").await;
    let (_, queue) = sup.get_text("/supervision/queue").await;
    let values: Vec<String> = queue
        .match_indices("name=\"item\" value=\"")
        .map(|(i, m)| queue[i + m.len()..].split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(values.len(), 2, "{queue}");

    // One item changed after the queue was shown: nothing is signed.
    edit_charges(&clerk, &officer, second, "Trespass after warning").await;
    let pairs: Vec<(&str, &str)> =
        values.iter().map(|v| ("item", v.as_str())).chain([("password", PASSWORD)]).collect();
    let response = sup.post("/supervision/bulk", &pairs).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("changed after you opened it"));
    assert_eq!(app.count("sign_offs").await, 0);

    let (_, queue) = sup.get_text("/supervision/queue").await;
    let values: Vec<String> = queue
        .match_indices("name=\"item\" value=\"")
        .map(|(i, m)| queue[i + m.len()..].split('"').next().unwrap().to_string())
        .collect();
    let pairs: Vec<(&str, &str)> =
        values.iter().map(|v| ("item", v.as_str())).chain([("password", PASSWORD)]).collect();
    assert_eq!(sup.post("/supervision/bulk", &pairs).await.status(), 303);
    let stored: Vec<(i64, String)> =
        oversight::db::query_as("SELECT record_id, record_hash FROM sign_offs ORDER BY record_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        vec![(first, current_hash(&app, first).await), (second, current_hash(&app, second).await)]
    );
    assert!(!sup.get_text("/supervision/queue").await.1.contains("name=\"item\""), "the queue is empty");
}

#[tokio::test]
async fn sign_offs_cannot_be_changed_or_deleted_and_roles_are_enforced() {
    let Setup { app, clerk, officer } = setup().await;
    let id = arrest(&clerk, &officer, "Petty theft").await;
    let sup = app.signed_in("sup1").await;
    assert_eq!(decide(&sup, id, "referred", "To ICE ERO for the detainer", PASSWORD).await.status(), 303);
    for sql in ["UPDATE sign_offs SET decision = 'approved'", "DELETE FROM sign_offs"] {
        let err = oversight::db::query(sql).execute(&app.db).await.expect_err("refused");
        assert!(err.to_string().contains("only superseded"), "{err}");
    }
    // A referred action still waits for a supervisor.
    assert!(sup.get_text("/supervision/queue").await.1.contains("referred: waiting"));
    // Administrators never sign; reviewers cannot see the queue.
    let admin = app.signed_in("admin").await;
    assert_eq!(decide_blind(&admin, &app, id).await.status(), 403);
    let reviewer = app.signed_in("reviewer").await;
    assert_eq!(reviewer.get("/supervision/queue").await.status(), 403);
    assert_eq!(app.count("sign_offs").await, 1);
}

/// The sheet reads only the 287(g) actions of the period and the one
/// before it (`items_dated`); its sign-off measures, current and previous,
/// are those computed from every action of the agency, on the demo, whose
/// actions reach before and after that window.
#[tokio::test]
async fn sign_off_measures_read_the_window_and_equal_those_of_every_action() {
    use oversight::supervision::{measures, store};
    let app = common::spawn_demo().await;
    let scope = &app.scope;
    let time_zone = oversight::agency::store::get(scope).await.unwrap().time_zone;
    let every = store::items(scope, &[], &time_zone).await.unwrap();
    let date = |d: &str| oversight::web::parse_date(d).unwrap();
    let period = oversight::measures::Period::new(date("2026-04-01"), date("2026-06-30")).unwrap();
    let window = oversight::measures::Period::new(period.previous().from, period.to).unwrap();
    let inside = |i: &&oversight::supervision::Item| window.contains(date(&i.action_date));
    let in_window = every.iter().filter(inside).count();
    let in_previous = every.iter().filter(|i| period.previous().contains(date(&i.action_date))).count();
    assert!(
        in_previous > 0 && every.len() > in_window,
        "the demo has actions before, in and outside the window"
    );

    let (before, _) = measures::bounds(period.previous(), &time_zone);
    let (_, end) = measures::bounds(period, &time_zone);
    let sign_offs = store::signed_between(scope, before, end).await.unwrap();
    let blocked = store::blocked_between(scope, before, end).await.unwrap();
    let inputs = measures::Inputs {
        actions: &every,
        sign_offs: &sign_offs,
        blocked: &blocked,
        deadline_days: store::deadline_days(scope).await.unwrap(),
        time_zone: &time_zone,
    };
    let expected = measures::supervision_measures(&inputs, period);
    let sheet = oversight::measures::store::compute(scope, period).await.unwrap();
    for want in &expected {
        let got = sheet.measures.iter().find(|m| m.id == want.id).expect("the measure on the sheet");
        assert_eq!(got, want, "{}", want.id);
    }
}
