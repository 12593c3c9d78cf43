//! Agencies as tenants (docs/tenancy.md): a user of one agency asking for
//! another agency's record by its id gets 404 and nothing changes; the
//! agency's lists, exports, dashboard, reports and audit log hold none of
//! the other agency's records; each agency's audit chain verifies on its
//! own. The demo agency is the one full of records; a second agency is
//! added beside it, as `oversight agency add` does.

mod common;

use common::{Client, PASSWORD, TestApp, spawn_demo};
use oversight::agency::Scope;
use oversight::audit::Actor;
use oversight::auth::Role;

const OTHER_ORI: &str = "WY9999999";
const OTHER_NAME: &str = "Quillfeather County Sheriff's Office";
const OTHER_BADGE: &str = "QF-0001";
const OTHER_OFFICER: &str = "Quillfeather";

/// A valid profile of a Wyoming agency of the task force model.
fn wyoming_agency(ori: &str, name: &str) -> oversight::agency::Profile {
    let form = oversight::agency::ProfileForm {
        name: name.into(),
        ori: ori.into(),
        state: "WY".into(),
        models: vec!["TFM".into()],
        login_banner: oversight::agency::DEFAULT_BANNER.into(),
        time_zone: "America/Denver".into(),
        mfa_policy: "optional".into(),
        ..Default::default()
    };
    form.validate().expect("a valid profile")
}

/// The demo deployment with a second agency: (app, the other agency's
/// scope, a client signed in to it with every agency role, the other
/// agency's officer id).
async fn two_agencies() -> (TestApp, Scope, Client, i64) {
    let app = spawn_demo().await;
    let profile = wyoming_agency(OTHER_ORI, OTHER_NAME);
    let other = oversight::agency::store::add(&app.db, &Actor::system("test setup"), &profile).await.unwrap();
    let hash = oversight::auth::password::Hasher::default().hash(PASSWORD).await.unwrap();
    let user = oversight::users::NewUser {
        username: "quill-all".into(),
        display_name: "Quill Everyrole".into(),
        password: PASSWORD.into(),
        roles: Role::ALL.to_vec(),
        must_change_password: false,
    };
    oversight::users::store::create(&other, &Actor::system("test setup"), &user, &hash).await.unwrap();
    let officer = common::active_officer(OTHER_BADGE, OTHER_OFFICER);
    let officer_id =
        oversight::officers::store::create(&other, &Actor::system("test setup"), &officer).await.unwrap();
    let client = app.signed_in("quill-all").await;
    (app, other, client, officer_id)
}

async fn first_id(app: &TestApp, sql: &str) -> i64 {
    oversight::db::query_scalar(sql)
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the demo has no row for {sql}"))
}

/// What the demo agency's records are, as counts and the audit head: a
/// refused request must leave all of it as it was.
async fn demo_state(app: &TestApp) -> Vec<(String, i64)> {
    let mut state = Vec::new();
    for table in [
        "officers",
        "designations",
        "training_records",
        "documents",
        "document_versions",
        "stops",
        "arrests",
        "complaints",
        "pay_periods",
        "leads",
        "sign_offs",
        "reports",
        "report_comments",
        "logged_values",
        "users",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE agency_id = 1");
        state.push((table.to_string(), oversight::db::query_scalar(&sql).fetch_one(&app.db).await.unwrap()));
    }
    let head: i64 = oversight::db::query_scalar("SELECT MAX(seq) FROM audit_log WHERE agency_id = 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    state.push(("audit head".into(), head));
    let disabled: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM users WHERE agency_id = 1 AND disabled = 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    state.push(("disabled users".into(), disabled));
    let edits: i64 =
        oversight::db::query_scalar("SELECT COALESCE(MAX(updated_at), 0) FROM stops WHERE agency_id = 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    state.push(("stop edits".into(), edits));
    state
}

#[tokio::test]
async fn another_agencys_records_are_not_found_and_nothing_changes() {
    let (app, _other, client, _) = two_agencies().await;
    let officer = first_id(&app, "SELECT MIN(id) FROM officers WHERE agency_id = 1").await;
    let designation = first_id(&app, "SELECT MIN(id) FROM designations WHERE agency_id = 1").await;
    let training = first_id(&app, "SELECT MIN(id) FROM training_records WHERE agency_id = 1").await;
    let trained = first_id(&app, "SELECT MIN(officer_id) FROM training_records WHERE agency_id = 1").await;
    let stop = first_id(&app, "SELECT MIN(id) FROM stops WHERE agency_id = 1").await;
    let action = first_id(&app, "SELECT MIN(id) FROM stops WHERE agency_id = 1 AND action_287g = 1").await;
    let arrest = first_id(&app, "SELECT MIN(id) FROM arrests WHERE agency_id = 1").await;
    let complaint = first_id(&app, "SELECT MIN(id) FROM complaints WHERE agency_id = 1").await;
    let document = first_id(&app, "SELECT MIN(id) FROM documents WHERE agency_id = 1").await;
    let course = first_id(&app, "SELECT MIN(id) FROM courses WHERE agency_id = 1").await;
    let user = first_id(&app, "SELECT MIN(id) FROM users WHERE agency_id = 1").await;
    let pay = first_id(&app, "SELECT MIN(id) FROM pay_periods WHERE agency_id = 1").await;
    let paid = first_id(&app, "SELECT MIN(officer_id) FROM pay_periods WHERE agency_id = 1").await;
    let lead = first_id(&app, "SELECT MIN(id) FROM leads WHERE agency_id = 1").await;
    let led = first_id(&app, "SELECT MIN(officer_id) FROM leads WHERE agency_id = 1").await;
    let designated =
        first_id(&app, &format!("SELECT officer_id FROM designations WHERE id = {designation}")).await;
    let before = demo_state(&app).await;

    let gets = [
        format!("/officers/{officer}"),
        format!("/officers/{officer}/edit"),
        format!("/officers/{officer}/training/new"),
        format!("/officers/{trained}/training/{training}/edit"),
        format!("/officers/{designated}/designations/new"),
        format!("/officers/{designated}/designations/{designation}/edit"),
        format!("/officers/{paid}/pay/new"),
        format!("/officers/{paid}/pay/{pay}/edit"),
        format!("/officers/{led}/leads/new"),
        format!("/officers/{led}/leads/{lead}/edit"),
        format!("/stops/{stop}"),
        format!("/stops/{stop}/edit"),
        format!("/arrests/{arrest}"),
        format!("/arrests/{arrest}/edit"),
        format!("/complaints/{complaint}"),
        format!("/complaints/{complaint}/edit"),
        format!("/documents/{document}"),
        format!("/documents/{document}/versions/1/download"),
        format!("/courses/{course}"),
        format!("/users/{user}"),
        format!("/supervision/review/stop/{action}"),
        format!("/supervision/review/arrest/{arrest}"),
    ];
    for path in &gets {
        let (status, body) = client.get_text(path).await;
        assert_eq!(status, 404, "GET {path} of the demo agency's record from the other agency: {body:.300}");
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/officers/{officer}/edit"),
            vec![("badge", "X-1"), ("last_name", "Changed"), ("first_name", "A"), ("status", "active")],
        ),
        (format!("/stops/{stop}/edit"), vec![("location", "Changed")]),
        (format!("/arrests/{arrest}/edit"), vec![("charges", "Changed")]),
        (format!("/complaints/{complaint}/edit"), vec![("summary", "Changed")]),
        (
            format!("/officers/{officer}/training/new"),
            vec![("course_id", "1"), ("completed_on", "2026-01-01"), ("hours", "8")],
        ),
        (
            format!("/officers/{paid}/pay/{pay}/edit"),
            vec![("base_pay", "1"), ("overtime_hours", "1"), ("overtime_pay", "1")],
        ),
        (format!("/officers/{led}/leads/{lead}/edit"), vec![("received", "1"), ("located", "1")]),
        (format!("/users/{user}/disable"), vec![]),
        (format!("/users/{user}/end-sessions"), vec![]),
        (format!("/users/{user}/reset-password"), vec![("password", "a long new passphrase here")]),
        (format!("/courses/{course}"), vec![("name", "Changed")]),
        (format!("/supervision/review/stop/{action}"), vec![("decision", "approved")]),
    ];
    for (path, fields) in &posts {
        let response = client.post(path, fields).await;
        let status = response.status().as_u16();
        assert_eq!(status, 404, "POST {path} to the demo agency's record from the other agency");
    }
    assert_eq!(demo_state(&app).await, before, "the refused requests changed nothing of the demo agency's");
}

/// What the demo agency's records look like to a reader: every officer's
/// badge, every document's title, the agency's name.
async fn demo_markers(app: &TestApp) -> Vec<String> {
    let mut markers: Vec<String> =
        oversight::db::query_scalar("SELECT badge FROM officers WHERE agency_id = 1")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let titles: Vec<String> = oversight::db::query_scalar("SELECT title FROM documents WHERE agency_id = 1")
        .fetch_all(&app.db)
        .await
        .unwrap();
    markers.extend(titles);
    let name: String =
        oversight::db::query_scalar("SELECT name FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap();
    markers.push(name);
    markers.retain(|m| m.len() >= 4);
    assert!(markers.len() > 40, "the demo has officers and documents to look for");
    markers
}

fn assert_none_of(markers: &[String], what: &str, body: &str) {
    let found: Vec<&String> = markers.iter().filter(|m| body.contains(m.as_str())).collect();
    assert!(found.is_empty(), "{what} shows the demo agency's {found:?}");
}

#[tokio::test]
async fn an_agencys_pages_and_exports_hold_none_of_another_agencys_records() {
    let (app, _other, client, _) = two_agencies().await;
    let markers = demo_markers(&app).await;
    for path in [
        "/",
        "/officers",
        "/compliance",
        "/stops",
        "/arrests",
        "/complaints",
        "/documents",
        "/courses",
        "/users",
        "/agency",
        "/supervision/queue",
        "/supervision",
        "/dashboard",
        "/logged-measures",
        "/reports",
        "/audit",
    ] {
        let (status, body) = client.get_text(path).await;
        assert_eq!(status, 200, "GET {path}: {body:.300}");
        assert_none_of(&markers, path, &body);
    }
    let (_, officers) = client.get_text("/officers").await;
    assert!(officers.contains(OTHER_BADGE), "the agency's own officer is listed");
    for (path, fields) in [
        ("/stops/export", vec![("format", "native")]),
        ("/records/export", vec![("kind", "arrests")]),
        ("/records/export", vec![("kind", "complaints")]),
        ("/records/export", vec![("kind", "pay")]),
        ("/records/export", vec![("kind", "leads")]),
        ("/compliance/export", vec![]),
        ("/audit/export", vec![]),
    ] {
        let response = client.post(path, &fields).await;
        assert_eq!(response.status().as_u16(), 200, "POST {path} {fields:?}");
        let body = response.text().await.unwrap();
        assert_none_of(&markers, path, &body);
    }
    let demo_stops: i64 = oversight::db::query_scalar("SELECT COUNT(*) FROM stops WHERE agency_id = 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(demo_stops > 100, "the demo agency has stops the other agency must not count");
    let (_, dashboard) = client.get_text("/dashboard?from=2020-01-01&to=2026-12-31").await;
    assert!(!dashboard.contains(&demo_stops.to_string()), "the other agency's dashboard counts no demo stop");
}

#[tokio::test]
async fn the_demo_agency_cannot_reach_the_new_agencys_officer_and_each_chain_verifies() {
    let (app, other, _client, officer_id) = two_agencies().await;
    app.user("demo-all", &Role::ALL).await;
    let demo = app.signed_in("demo-all").await;
    let (status, _) = demo.get_text(&format!("/officers/{officer_id}")).await;
    assert_eq!(status, 404, "the demo agency's user asking for the other agency's officer");
    let (_, list) = demo.get_text("/officers").await;
    assert!(!list.contains(OTHER_BADGE) && !list.contains(OTHER_OFFICER));
    // Each agency's chain starts at entry 1 and verifies on its own.
    let verdict = oversight::audit::store::verify(&other).await.unwrap();
    assert!(verdict.is_ok(), "{}", verdict.message());
    let first: i64 = oversight::db::query_scalar("SELECT MIN(seq) FROM audit_log WHERE agency_id = $1")
        .bind(other.id())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(first, 1, "the new agency's chain is numbered from 1");
    assert!(oversight::audit::store::verify(&app.scope).await.unwrap().is_ok());
    // The command line names the agency; with two it must be told which.
    let (ok, out) = app.cli(&["audit", "verify"]);
    assert!(!ok && out.contains("--agency"), "{out}");
    let (ok, out) = app.cli(&["audit", "verify", "--agency", OTHER_ORI]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["agency", "list"]);
    assert!(ok && out.contains(OTHER_ORI) && out.contains(OTHER_NAME), "{out}");
    // The second agency's creation is the state's, in the state's chain.
    let (ok, out) = app.cli(&["audit", "verify", "--state"]);
    assert!(ok && out.starts_with("OK 1 entries"), "{out}");
    let state_export = app.dir.path().join("state-audit.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--state", "--out", state_export.to_str().unwrap()]);
    assert!(ok, "{out}");
    let exported = std::fs::read_to_string(&state_export).unwrap();
    assert!(exported.contains("agency.create") && exported.contains(OTHER_ORI), "{exported:.400}");
    assert!(!exported.contains("officer.create"), "no agency's entries in the state's chain");
}

#[tokio::test]
async fn agencies_are_added_from_the_list_of_agreements_and_commands_name_them() {
    let app = common::spawn_app().await;
    // A new deployment's blank agency becomes the first one added.
    let (ok, out) = app.cli(&["agency", "add", "TX0070000"]);
    assert!(ok, "{out}");
    assert!(out.contains("Atascosa County Sheriff") && out.contains("TFM"), "{out}");
    let (ok, out) = app.cli(&["agency", "add", "AL0200000", "--time-zone", "America/Chicago"]);
    assert!(ok, "{out}");
    assert!(out.contains("Colbert County Sheriff") && out.contains("WSO") && out.contains("JEM"), "{out}");
    let (ok, out) = app.cli(&["agency", "list"]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("County Sheriff")).collect();
    assert_eq!(lines.len(), 2, "two agencies, no blank one left beside them: {out}");
    let (ok, out) = app.cli(&["agency", "add", "AL0200000"]);
    assert!(!ok && out.contains("already"), "the same ORI twice: {out}");
    let (ok, out) = app.cli(&["agency", "add", "ZZ1234567"]);
    assert!(!ok && out.contains("--name"), "an ORI the list does not hold needs the profile: {out}");

    // With two agencies a command must name one.
    let (ok, out) = app.cli(&["metrics", "--from", "2026-01-01", "--to", "2026-03-31"]);
    assert!(!ok && out.contains("2 agencies") && out.contains("--agency"), "{out}");
    let (ok, out) =
        app.cli(&["metrics", "--agency", "AL0200000", "--from", "2026-01-01", "--to", "2026-03-31"]);
    assert!(ok, "{out}");
    let (ok, out) =
        app.cli(&["metrics", "--agency", "NV0000000", "--from", "2026-01-01", "--to", "2026-03-31"]);
    assert!(!ok && out.contains("no agency has the ORI NV0000000"), "{out}");

    let add_user = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(["user", "add", "boss", "--role", "administrator"])
            .args(args)
            .env("OVERSIGHT_DATABASE_URL", &app.db_url)
            .env("OVERSIGHT_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    };
    let (ok, out) = add_user(&[]);
    assert!(!ok && out.contains("--agency"), "{out}");
    let (ok, out) = add_user(&["--agency", "AL0200000"]);
    assert!(ok, "{out}");
    let agency: String = oversight::db::query_scalar(
        "SELECT a.ori FROM users u JOIN agency a ON a.id = u.agency_id WHERE u.username = 'boss'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(agency, "AL0200000");
    oversight::db::query("UPDATE agency SET mfa_policy = 'optional'").execute(&app.db).await.unwrap();
    let boss = app.signed_in("boss").await;
    let (status, profile) = boss.get_text("/agency").await;
    assert_eq!(status, 200);
    assert!(profile.contains("Colbert County Sheriff") && !profile.contains("Atascosa"), "{profile:.400}");
    let (_, sign_in) = Client::new(&app.base).get_text("/login").await;
    assert!(sign_in.contains("Statewide 287(g) oversight"), "the sign-in page of several agencies");
}

/// Row-level security on PostgreSQL (docs/tenancy.md, "Row-level
/// security"): a raw query with agency A's setting, written without any
/// agency condition, reaches none of agency B's rows and can write none;
/// without a setting it reaches nothing; the product's own statements
/// through A's scope see A's rows only even when they forget the
/// condition; and the product refuses a role that would skip the wall.
/// Always on the test PostgreSQL server, whichever backend the run uses.
#[tokio::test]
async fn row_level_security_walls_a_raw_query_off_from_another_agency() {
    use sqlx::{Connection, Row};
    let url = common::fresh_postgres("walls").await;
    let db = oversight::db::connect(&url).await.expect("the product connects as the application's role");
    let setup = Actor::system("test setup");
    // The first names the new deployment's one agency; the second is another.
    let a = oversight::agency::store::add(&db, &setup, &wyoming_agency("WY8888888", "Alder County"))
        .await
        .unwrap();
    let b = oversight::agency::store::add(&db, &setup, &wyoming_agency(OTHER_ORI, OTHER_NAME)).await.unwrap();
    assert_ne!(a.id(), b.id());
    oversight::officers::store::create(&a, &setup, &common::active_officer("A-1", "Alderman")).await.unwrap();
    oversight::officers::store::create(&b, &setup, &common::active_officer("B-1", OTHER_OFFICER))
        .await
        .unwrap();
    oversight::officers::store::create(&b, &setup, &common::active_officer("B-2", OTHER_OFFICER))
        .await
        .unwrap();

    let mut raw = sqlx::PgConnection::connect(&url).await.unwrap();
    let names =
        |rows: Vec<sqlx::postgres::PgRow>| rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>();
    let count = |table: &'static str| format!("SELECT COUNT(*) FROM {table}");
    for table in ["officers", "audit_log", "users", "courses"] {
        let n: i64 = sqlx::query_scalar(&count(table)).fetch_one(&mut raw).await.unwrap();
        assert_eq!(n, 0, "{table} without a setting: the policies fail closed");
    }
    let set = |agency: String| format!("SELECT set_config('oversight.agency', '{agency}', false)");
    sqlx::query(&set(a.id().to_string())).execute(&mut raw).await.unwrap();
    let seen = names(sqlx::query("SELECT last_name FROM officers").fetch_all(&mut raw).await.unwrap());
    assert_eq!(seen, ["Alderman"], "agency A's setting, a query with no agency condition");
    let chains: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT agency_id FROM audit_log").fetch_all(&mut raw).await.unwrap();
    assert_eq!(chains, [a.id()]);
    let changed = sqlx::query("UPDATE officers SET last_name = 'Changed' WHERE agency_id = $1")
        .bind(b.id())
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 0, "B's officers cannot be changed with A's setting");
    let deleted = sqlx::query("DELETE FROM stop_districts WHERE agency_id <> $1")
        .bind(a.id())
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    let refused = sqlx::query("INSERT INTO stop_districts (agency_id, name) VALUES ($1, 'Planted')")
        .bind(b.id())
        .execute(&mut raw)
        .await
        .expect_err("a row for B written with A's setting");
    assert!(refused.to_string().contains("row-level security"), "{refused}");
    sqlx::query(&set(b.id().to_string())).execute(&mut raw).await.unwrap();
    let seen = names(sqlx::query("SELECT last_name FROM officers").fetch_all(&mut raw).await.unwrap());
    assert_eq!(seen, [OTHER_OFFICER, OTHER_OFFICER], "B's setting reaches B's, unchanged");
    sqlx::query(&set("all".into())).execute(&mut raw).await.unwrap();
    let all: i64 = sqlx::query_scalar(&count("officers")).fetch_one(&mut raw).await.unwrap();
    assert_eq!(all, 3, "the deployment's own reach");

    // The product's statement through A's scope that forgets its condition.
    let through_a: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM officers").fetch_one(&a).await.unwrap();
    assert_eq!(through_a, 1);
    let mut tx = a.begin().await.unwrap();
    let in_tx: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM officers").fetch_one(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(in_tx, 1, "A's transactions too");
    db.close().await;

    // As the server's superuser, which skips every policy, it does not run.
    let superuser_url = format!(
        "{}/{}",
        std::env::var("OVERSIGHT_TEST_POSTGRES_URL").unwrap().rsplit_once('/').unwrap().0,
        url.rsplit_once('/').unwrap().1
    );
    let refused = oversight::db::connect(&superuser_url).await.expect_err("a superuser is refused");
    assert!(refused.to_string().contains("bypasses row-level security"), "{refused}");
}
