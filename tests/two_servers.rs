//! Two `oversight serve` processes on one PostgreSQL database, as behind a
//! load balancer (issue 13): sign-ins, new and edited officers, imports
//! and sign-offs go through both at once, and afterwards the audit chain verifies with no
//! gap or fork and each server shows what was written through the other.
//!
//! Needs a PostgreSQL server: `OVERSIGHT_TEST_POSTGRES_URL`, which
//! `bash tests/run.sh` provides (`tests/postgres.sh`).

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use common::{Client, PASSWORD, TestApp, hidden, location};
use oversight::auth::Role;

/// A running `oversight serve`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary on a free port and waits for the line that
/// says where to sign in.
fn serve(url: &str, files: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["serve", "--addr", "127.0.0.1:0", "--files-dir"])
        .arg(files)
        .env("OVERSIGHT_DATABASE_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oversight serve");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve says where to sign in").unwrap();
        if let Some(address) = line.split("Sign in at ").nth(1) {
            break address.trim_end_matches("/login").to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, base }
}

async fn signed_in(server: &Server, username: &str) -> Client {
    let client = Client::new(&server.base);
    let response = client.sign_in(username, PASSWORD).await;
    assert_eq!(response.status(), 303, "{username} signs in at {}", server.base);
    client
}

async fn new_officer(clerk: &Client, badge: &str, last_name: &str) -> String {
    let response = clerk
        .post(
            "/officers/new",
            &[("badge", badge), ("last_name", last_name), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    assert_eq!(response.status(), 303, "officer {badge} saved");
    location(&response).trim_start_matches("/officers/").to_string()
}

/// An arrest with a detainer lodged (a 287(g) action to sign off).
async fn arrest(clerk: &Client, officer: &str, day: u32) -> i64 {
    let date = format!("2026-03-{day:02}");
    let response = clerk
        .post(
            "/arrests/new",
            &[
                ("arrest_date", &date),
                ("arrest_time", "22:10"),
                ("officer_id", officer),
                ("person_name", "Łucja Nguyễn"),
                ("charges", "Assault"),
                ("offense_class", "misdemeanor"),
                ("priority_level", "3"),
                ("arrest_type", "on_view"),
                ("detainer_lodged", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "arrest saved");
    location(&response).trim_start_matches("/arrests/").parse().unwrap()
}

async fn approve(supervisor: &Client, id: i64) {
    let path = format!("/supervision/review/arrest/{id}");
    let (_, page) = supervisor.get_text(&path).await;
    let (hash, latest) = (hidden(&page, "hash"), hidden(&page, "latest"));
    let response = supervisor
        .post(
            &path,
            &[
                ("decision", "approved"),
                ("comment", ""),
                ("password", PASSWORD),
                ("hash", &hash),
                ("latest", &latest),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "arrest {id} approved");
}

/// `count` stops in the Open Policing format, in no date order, CRLF.
fn stops_csv(seed: u64, count: usize) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut csv = String::from("date,time,district,subject_race,subject_sex,type,search_conducted\r\n");
    for _ in 0..count {
        let race = ["white", "black", "hispanic", "asian/pacific islander"][rng.gen_range(0..4)];
        csv.push_str(&format!(
            "2026-{:02}-{:02},{:02}:{:02}:00,D{},{race},male,vehicular,{}\r\n",
            rng.gen_range(1..=10),
            rng.gen_range(1..=28),
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(1..4),
            if rng.gen_bool(0.1) { "TRUE" } else { "FALSE" },
        ));
    }
    csv.into_bytes()
}

async fn import(clerk: &Client, csv: Vec<u8>) -> String {
    let token = clerk.token("/stops/import").await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token)
        .text("format", "opp")
        .part("file", reqwest::multipart::Part::bytes(csv).file_name("stops.csv"));
    let response =
        clerk.http.post(format!("{}/stops/import", clerk.base)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200, "import accepted");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_write_one_chain_and_show_each_others_changes() {
    let url = common::fresh_postgres("two_servers").await;
    let db = oversight::db::connect(&url).await.unwrap();
    oversight::db::query("UPDATE agency SET mfa_policy = 'optional', models = 'WSO'")
        .execute(&db)
        .await
        .unwrap();
    let scope = common::scope(&db).await;
    let app =
        TestApp { base: String::new(), db, scope, db_url: url.clone(), dir: tempfile::tempdir().unwrap() };
    let files = app.dir.path().join("files");
    for (name, role) in [
        ("clerk_a", Role::Clerk),
        ("clerk_b", Role::Clerk),
        ("sup_a", Role::Supervisor),
        ("sup_b", Role::Supervisor),
    ] {
        app.user(name, &[role]).await;
    }
    let (a, b) = (serve(&url, &files), serve(&url, &files));
    let (clerk_a, clerk_b) = (signed_in(&a, "clerk_a").await, signed_in(&b, "clerk_b").await);
    let (sup_a, sup_b) = (signed_in(&a, "sup_a").await, signed_in(&b, "sup_b").await);
    let officer = new_officer(&clerk_a, "W-1", "Okafor").await;
    let mut arrests = Vec::new();
    for day in 1..=8 {
        arrests.push(arrest(if day % 2 == 0 { &clerk_a } else { &clerk_b }, &officer, day).await);
    }
    let before = app.count("audit_log").await;

    // Everything at once, through both servers.
    let officers = |clerk: &'static str, client: Client| async move {
        for i in 0..12 {
            let badge = format!("{clerk}-{i}");
            let id = new_officer(&client, &badge, "Reyes").await;
            let edit = [
                ("badge", badge.as_str()),
                ("last_name", "Reyes Ortiz"),
                ("first_name", "Ana"),
                ("status", "active"),
            ];
            assert_eq!(
                client.post(&format!("/officers/{id}/edit"), &edit).await.status(),
                303,
                "{badge} edited"
            );
        }
    };
    let sign_ins = |server: String| async move {
        for _ in 0..4 {
            let client = Client::new(&server);
            assert_eq!(client.sign_in("clerk_a", PASSWORD).await.status(), 303);
        }
    };
    let sign_offs = |client: Client, ids: Vec<i64>| async move {
        for id in ids {
            approve(&client, id).await;
        }
    };
    let (odd, even): (Vec<i64>, Vec<i64>) = arrests.iter().partition(|id| *id % 2 == 1);
    let (imported_a, imported_b, ..) = tokio::join!(
        import(&clerk_a, stops_csv(1, 400)),
        import(&clerk_b, stops_csv(2, 400)),
        officers("A", clerk_a.clone()),
        officers("B", clerk_b.clone()),
        sign_ins(a.base.clone()),
        sign_ins(b.base.clone()),
        sign_offs(sup_a.clone(), odd),
        sign_offs(sup_b.clone(), even),
    );
    assert!(imported_a.contains("Imported 400 stops") && imported_b.contains("Imported 400 stops"));
    assert_eq!(app.count("stops").await, 800);
    assert_eq!(app.count("officers").await, 25);
    let edited: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM officers WHERE last_name = 'Reyes Ortiz'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(edited, 24, "every edit through either server landed");
    assert_eq!(app.count("sign_offs").await, 8);

    // One chain: every entry follows the one before it, none twice.
    let (ok, out) = app.cli(&["audit", "verify"]);
    assert!(ok && out.starts_with("OK "), "{out}");
    let (entries, last): (i64, i64) =
        oversight::db::query_as("SELECT COUNT(*), MAX(seq) FROM audit_log").fetch_one(&app.db).await.unwrap();
    assert_eq!(entries, last, "no gap in the sequence");
    assert!(entries >= before + 48 + 8 + 8 + 2, "every write left its entry ({before} → {entries})");
    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(ok, "the aggregates of both imports agree with the records: {out}");

    // The servers signed a checkpoint when they started (then each minute
    // after writes); the log of every write since extends it.
    let mut signed: Option<String> = None;
    for _ in 0..100 {
        signed = oversight::db::query_scalar("SELECT note FROM audit_checkpoints ORDER BY size LIMIT 1")
            .fetch_optional(&app.db)
            .await
            .unwrap();
        if signed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let old = app.dir.path().join("by-a-server.checkpoint");
    std::fs::write(&old, signed.expect("a server signed a checkpoint")).unwrap();
    let (ok, now) = app.cli(&["audit", "checkpoint"]);
    assert!(ok, "{now}");
    let new = app.dir.path().join("now.checkpoint");
    std::fs::write(&new, now).unwrap();
    let (ok, out) = app.cli(&["audit", "consistency", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(ok && out.contains("extends the log of"), "{out}");

    // What one server wrote shows on the other's next page, whatever that
    // server had computed and kept before.
    for (writer, reader, badge) in [(&clerk_a, &clerk_b, "X-FROM-A"), (&clerk_b, &clerk_a, "X-FROM-B")] {
        let (_, page) = reader.get_text("/stops").await;
        assert!(!page.contains(badge));
        new_officer(writer, badge, "Nakamura").await;
        let (_, stops) = reader.get_text("/stops").await;
        assert!(stops.contains(badge), "the stop list's officer filter on the other server has {badge}");
        let (_, roster) = reader.get_text("/officers").await;
        assert!(roster.contains(badge), "the other server's roster has {badge}");
    }
    let (_, queue) = sup_b.get_text("/supervision/queue").await;
    let fresh = arrest(&clerk_a, &officer, 20).await;
    let (_, after) = sup_b.get_text("/supervision/queue").await;
    assert!(
        !queue.contains(&format!("/supervision/review/arrest/{fresh}"))
            && after.contains(&format!("/supervision/review/arrest/{fresh}")),
        "the arrest entered through A waits in B's queue"
    );
}
