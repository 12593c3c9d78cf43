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
