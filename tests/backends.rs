//! The same records give the same measures on both backends: the demo's
//! year of records (48 officers, 21,000 stops, arrests, sign-offs, pay) is
//! seeded into a SQLite file and into a PostgreSQL database, and the
//! product's own commands then read them back as a user would.
//!
//! Needs a PostgreSQL server: `OVERSIGHT_TEST_POSTGRES_URL`, which
//! `bash tests/run.sh` provides (`tests/postgres.sh`).

mod common;

use std::process::Command;

fn oversight(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env("OVERSIGHT_DATABASE_URL", url)
        .output()
        .expect("run oversight");
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// The metrics JSON without the minute at which each logged measure was
/// written, which differs by when each database was seeded.
fn measures(url: &str, from: &str, to: &str) -> serde_json::Value {
    let (ok, out) = oversight(url, &["metrics", "--from", from, "--to", to, "--format", "json"]);
    assert!(ok, "metrics failed on {url}: {out}");
    let mut json: serde_json::Value = serde_json::from_str(&out).expect("metrics print JSON");
    strip_instants(&mut json);
    json
}

fn strip_instants(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|key, _| key != "logged" && key != "confirmation");
            map.values_mut().for_each(strip_instants);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_instants),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_year_measures_the_same_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/oversight.db", dir.path().display());
    let postgres = common::fresh_postgres("backends").await;
    for (url, files) in [(&sqlite, "files-sqlite"), (&postgres, "files-postgres")] {
        let db = oversight::db::connect(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
        let files = oversight::documents::files::FileStore::new(dir.path().join(files));
        oversight::demo::seed(&db, &files).await.unwrap_or_else(|e| panic!("seed {url}: {e}"));
        db.close().await;
    }
    let today = oversight::agency::today_in("America/New_York");
    let from = oversight::web::format_date(today - time::Duration::days(364));
    let to = oversight::web::format_date(today);
    let (on_sqlite, on_postgres) = (measures(&sqlite, &from, &to), measures(&postgres, &from, &to));
    assert!(on_sqlite.to_string().len() > 10_000, "the demo year has measures: {on_sqlite}");
    assert_eq!(on_sqlite, on_postgres, "every measure of {from} to {to} is the same on both backends");
    for url in [&sqlite, &postgres] {
        let (ok, out) = oversight(url, &["audit", "verify"]);
        assert!(ok && out.starts_with("OK "), "the audit chain verifies on {url}: {out}");
        let (ok, out) = oversight(url, &["maintenance", "check-aggregates"]);
        assert!(ok, "the aggregates agree with the records on {url}: {out}");
    }
}

/// `oversight copy` moves an agency's SQLite history to PostgreSQL and
/// back: every row, the documents' files, reports that still verify, the
/// same measures and an audit chain that verifies up to the source's head.
#[tokio::test(flavor = "multi_thread")]
async fn copy_moves_the_whole_history_between_backends() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/agency.db", dir.path().display());
    let files = dir.path().join("files");
    {
        let db = oversight::db::connect(&sqlite).await.unwrap();
        oversight::demo::seed(&db, &oversight::documents::files::FileStore::new(&files)).await.unwrap();
        db.close().await;
    }
    let today = oversight::agency::today_in("America/New_York");
    let from = oversight::web::format_date(today - time::Duration::days(90));
    let to = oversight::web::format_date(today);
    let pdf = dir.path().join("issued.pdf");
    let (ok, out) =
        oversight(&sqlite, &["report", "--from", &from, "--to", &to, "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (_, head) = oversight(&sqlite, &["audit", "verify"]);
    let head = head.split("head ").nth(1).unwrap().split(':').next().unwrap().to_string();

    let postgres = common::fresh_postgres("copy").await;
    let pg_files = dir.path().join("pg-files");
    let copy = |from: &str, to: &str, from_files: &std::path::Path, to_files: &std::path::Path| {
        oversight(
            from,
            &[
                "copy",
                "--from",
                from,
                "--to",
                to,
                "--from-files-dir",
                from_files.to_str().unwrap(),
                "--to-files-dir",
                to_files.to_str().unwrap(),
            ],
        )
    };
    let (ok, out) = copy(&sqlite, &postgres, &files, &pg_files);
    assert!(ok, "{out}");
    assert!(out.contains("the audit log verifies up to the source's head"), "{out}");
    // A second copy into the same database is refused and changes nothing.
    let (again, out) = copy(&sqlite, &postgres, &files, &pg_files);
    assert!(!again && out.contains("already holds records"), "{out}");

    let stored = |path: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    assert_eq!(stored(&files), stored(&pg_files), "every document file is on the target");
    let (ok, out) = oversight(&postgres, &["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok, "the report issued on SQLite verifies on PostgreSQL: {out}");
    assert!(
        out.contains("signed by another install's key"),
        "the message says why the log went unchecked: {out}"
    );
    let (ok, out) = oversight(&postgres, &["audit", "verify", "--expect-head", &head]);
    assert!(ok && out.contains("reaches the head you hold"), "{out}");
    let (ok, out) = oversight(&postgres, &["maintenance", "check-aggregates"]);
    assert!(ok, "{out}");
    // And back to a new SQLite file: the same again.
    let back = format!("sqlite://{}/back.db", dir.path().display());
    let (ok, out) = copy(&postgres, &back, &pg_files, &dir.path().join("back-files"));
    assert!(ok, "{out}");
    let (ok, out) = oversight(&back, &["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    // Reading the measures writes the automatic logged values (on each
    // database alike), so they are compared after the reports.
    let on_sqlite = measures(&sqlite, &from, &to);
    assert_eq!(on_sqlite, measures(&postgres, &from, &to));
    assert_eq!(on_sqlite, measures(&back, &from, &to));
    // New records get new ids after the copied ones (a new officer
    // changes the records behind the report: last).
    let db = oversight::db::connect(&postgres).await.unwrap();
    let most: i64 = oversight::db::query_scalar("SELECT MAX(id) FROM officers").fetch_one(&db).await.unwrap();
    let officer = common::active_officer("NEW-1", "Reyes");
    let id = oversight::officers::store::create(
        &common::scope(&db).await,
        &oversight::audit::Actor::system("t"),
        &officer,
    )
    .await
    .unwrap();
    assert_eq!(id, most + 1);
    db.close().await;
}
