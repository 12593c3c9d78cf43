//! Arrests, complaints, pay and leads in the product's own CSV: export then
//! import into an empty database reproduces the records; bad rows are
//! reported by line and column with nothing written; reviewers' downloads
//! carry no names.

mod common;

use std::process::Command;

use common::spawn_app;
use oversight::auth::Role;

fn run(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env("OVERSIGHT_DATABASE_URL", url)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

async fn rows(db: &oversight::db::Db, sql: &str) -> Vec<String> {
    oversight::db::query_scalar(sql).fetch_all(db).await.unwrap()
}

#[tokio::test]
async fn every_kind_round_trips_through_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::scratch_database(dir.path(), "demo").await;
    oversight::demo::create(&url, &dir.path().join("files")).await.unwrap();
    let source = oversight::db::connect(&url).await.unwrap();
    let empty_url = common::scratch_database(dir.path(), "empty").await;
    let empty = oversight::db::connect(&empty_url).await.unwrap();
    let mut officers =
        oversight::officers::store::list(&common::scope(&source).await, &Default::default()).await.unwrap();
    officers.sort_by_key(|o| o.id);
    for o in officers {
        let o = oversight::officers::Officer { supervisor_id: None, ..o };
        oversight::officers::store::create(
            &common::scope(&empty).await,
            &oversight::audit::Actor::system("t"),
            &o,
        )
        .await
        .unwrap();
    }
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (ok, out) = run(&url, &["export", "stops", "--format", "native", "--out", &file("stops.csv")]);
    assert!(ok, "{out}");
    let (ok, out) = run(&empty_url, &["import", "stops", "--format", "native", &file("stops.csv")]);
    assert!(ok, "{out}");
    for kind in ["arrests", "complaints", "pay", "leads"] {
        let (ok, out) = run(&url, &["export", kind, "--out", &file(&format!("{kind}.csv"))]);
        assert!(ok, "{kind}: {out}");
        let (ok, out) = run(&empty_url, &["import", kind, &file(&format!("{kind}.csv"))]);
        assert!(ok, "{kind}: {out}");
    }
    let compare = [
        "SELECT arrest_date || arrest_time || officer_id || stop_id || person_name || coalesce(person_dob,'') || charges || offense_class || priority_level || arrest_type || detainer_lodged || removal_paperwork || perceived_race || perceived_gender FROM arrests ORDER BY id",
        "SELECT received_on || channel || allegation || summary || officers || forwarded_to || coalesce(forwarded_on,'') || disposition || coalesce(closed_on,'') FROM complaints ORDER BY received_on, id",
        "SELECT officer_id || period_start || period_end || base_pay_cents || overtime_hours || overtime_pay_cents FROM pay_periods ORDER BY officer_id, period_start",
        "SELECT officer_id || quarter || received || located FROM leads ORDER BY officer_id, quarter",
    ];
    for sql in compare {
        let before = rows(&source, sql).await;
        assert!(!before.is_empty(), "{sql}");
        assert_eq!(before, rows(&empty, sql).await, "{sql}");
    }
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_is_written() {
    let app = spawn_app().await;
    let csv = "officer_badge,quarter,received,located\nNOPE,2026-Q1,10,9\nA-1,2026-Q9,10,11\n";
    let path = app.dir.path().join("leads.csv");
    std::fs::write(&path, csv).unwrap();
    let (ok, out) = run(&app.db_url, &["import", "leads", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        out.contains("line 2, column officer_badge, value \"NOPE\": No officer has this badge number."),
        "{out}"
    );
    assert!(out.contains("line 3, column quarter, value \"2026-Q9\""), "{out}");
    assert!(out.contains("Nothing was imported"));
    assert_eq!(app.count("leads").await, 0);
}

#[tokio::test]
async fn a_file_imported_twice_is_refused_unless_forced() {
    let app = spawn_app().await;
    let officer = common::active_officer("A-1", "Reyes");
    oversight::officers::store::create(&app.scope, &oversight::audit::Actor::system("t"), &officer)
        .await
        .unwrap();
    let path = app.dir.path().join("complaints.csv");
    std::fs::write(&path, "received_on,channel,allegation,summary,officer_badges,stop_id,arrest_id,forwarded_to,forwarded_on,disposition,closed_on\n2026-01-05,phone,discourtesy,Rude at a traffic stop,A-1,,,,,pending,\n").unwrap();
    let file = path.to_str().unwrap();
    assert!(run(&app.db_url, &["import", "complaints", file]).0);
    let (ok, out) = run(&app.db_url, &["import", "complaints", file]);
    assert!(!ok && out.contains("was imported before"), "{out}");
    assert_eq!(app.count("complaints").await, 1);
    assert!(run(&app.db_url, &["import", "complaints", "--force", file]).0);
    assert_eq!(app.count("complaints").await, 2);
}

#[tokio::test]
async fn reviewers_download_arrests_without_names() {
    let app = spawn_app().await;
    for role in [Role::Clerk, Role::Reviewer] {
        app.user(role.as_str(), &[role]).await;
    }
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "W-1"), ("last_name", "Ortiz"), ("first_name", "Luz"), ("status", "active")],
        )
        .await;
    let officer = common::location(&officer).trim_start_matches("/officers/").to_string();
    let created = clerk
        .post(
            "/arrests/new",
            &[
                ("arrest_date", "2025-06-01"),
                ("arrest_time", "22:10"),
                ("officer_id", &officer),
                ("person_name", "=HYPERLINK(\"x\") Roe"),
                ("person_dob", "1988-07-09"),
                ("charges", "Battery"),
                ("offense_class", "misdemeanor"),
                ("priority_level", "2"),
                ("arrest_type", "on_view"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let mine = clerk.post("/records/export", &[("kind", "arrests")]).await.text().await.unwrap();
    assert!(mine.starts_with("arrest_date,arrest_time,officer_badge,stop_id,person_name,person_dob,charges"));
    assert!(mine.contains("\"'=HYPERLINK(\"\"x\"\") Roe\""), "formula neutralised: {mine}");
    let reviewer = app.signed_in("reviewer").await;
    let theirs = reviewer.post("/records/export", &[("kind", "arrests")]).await.text().await.unwrap();
    assert!(
        !theirs.contains("person_name") && !theirs.contains("Roe") && !theirs.contains("1988-07-09"),
        "{theirs}"
    );
    assert!(theirs.contains("Battery"));
    assert_eq!(reviewer.get("/records/import").await.status(), 403);
}
