//! Stop import and export through the real command line: an Open Policing
//! fixture with counts computed by hand, malformed files each refused with
//! a clear message and nothing written, duplicate files, and the round trip
//! export → import into an empty database.

mod common;

use std::process::Command;

use common::{TestApp, spawn_app};

fn run(app: &TestApp, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env("OVERSIGHT_DATABASE_URL", &app.db_url)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn write(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let path = app.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

async fn officer(app: &TestApp, badge: &str) {
    let o = common::active_officer(badge, "Reyes");
    oversight::officers::store::create(&app.scope, &oversight::audit::Actor::system("t"), &o).await.unwrap();
}

const OPP: &str = "\
raw_row_number,date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,officer_id_hash,type,violation,arrest_made,citation_issued,warning_issued,outcome,contraband_found,frisk_performed,search_conducted,search_person,search_vehicle,search_basis,reason_for_stop
1,2019-03-01,08:15:00,US-41 at Pine Ridge Rd,26.21,-81.80,D1,34,hispanic,male,B-100,vehicular,SPEEDING 54/35,FALSE,TRUE,FALSE,citation,NA,FALSE,FALSE,FALSE,FALSE,NA,Moving violation
2,2019-03-01,NA,Main St,NA,NA,D2,NA,asian/pacific islander,female,B-100,pedestrian,NA,FALSE,FALSE,TRUE,warning,NA,FALSE,FALSE,FALSE,FALSE,NA,NA
3,2019-03-02,23:40:00,\"SR-29, near the bridge\",NA,NA,D2,51.0,black,male,ZZ9,vehicular,EQUIPMENT,TRUE,FALSE,FALSE,arrest,TRUE,TRUE,TRUE,FALSE,TRUE,probable cause,Equipment violation
4,2019-03-03,12:00:00,Davis Blvd,NA,NA,D3,22,unknown,NA,NA,NA,NA,FALSE,FALSE,FALSE,NA,FALSE,FALSE,TRUE,TRUE,FALSE,consent,Reasonable suspicion
";

#[tokio::test]
async fn an_open_policing_fixture_imports_with_hand_computed_counts() {
    let app = spawn_app().await;
    officer(&app, "B-100").await;
    let file = write(&app, "opp.csv", OPP.as_bytes());
    let (code, out) = run(&app, &["import", "stops", "--format", "opp", &file]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Imported 4 stops"));
    assert!(out.contains("Columns ignored (not part of the format): raw_row_number."));
    assert!(out.contains("1 officer identifier matches no badge") && out.contains("ZZ9 (1)"));
    let q = |sql: &'static str| {
        let db = app.db.clone();
        async move { oversight::db::query_scalar::<i64>(sql).fetch_one(&db).await.unwrap() }
    };
    assert_eq!(q("SELECT COUNT(*) FROM stops").await, 4);
    assert_eq!(
        q("SELECT COUNT(*) FROM stops WHERE perceived_race = ',asian_pacific_islander,'").await,
        1,
        "one group, not split"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM stops WHERE perceived_race LIKE '%asian%'").await,
        1,
        "not counted twice"
    );
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE perceived_race = ''").await, 1, "unknown is unknown");
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE searched = 1").await, 2);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE contraband = ',other,'").await, 1);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE contraband = ',none,'").await, 1);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE results LIKE '%,arrest_without_warrant,%'").await, 1);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE officer_id IS NOT NULL").await, 2);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE stop_time IS NULL").await, 1);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE reason = 'traffic_violation'").await, 2);
    assert_eq!(q("SELECT COUNT(*) FROM stops WHERE search_basis = ',probable_cause,'").await, 1);
    let location: String = oversight::db::query_scalar(
        "SELECT location FROM stops WHERE district = 'D2' AND stop_type = 'vehicle'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(location, "SR-29, near the bridge");
    let districts: Vec<String> = oversight::db::query_scalar("SELECT name FROM stop_districts ORDER BY name")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(districts, ["D1", "D2", "D3"], "the list's district menu learns the file's districts");

    // Open Policing's own groups are counted in the equity measures and
    // can be listed, each under its name; no group means "unknown".
    let (code, out) =
        run(&app, &["metrics", "--from", "2019-03-01", "--to", "2019-03-31", "--format", "csv"]);
    assert_eq!(code, 0, "{out}");
    let d1: Vec<&str> = out.lines().filter(|l| l.starts_with("D1,") && l.contains(",race,")).collect();
    let group = |g: &str| d1.iter().find(|l| l.contains(&format!(",{g},1,4,"))).copied();
    assert!(group("asian_pacific_islander").is_some(), "{d1:?}");
    assert!(group("unknown").is_some(), "{d1:?}");
    app.user("clerk", &[oversight::auth::Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let (_, page) = clerk.get_text("/stops?race=asian_pacific_islander").await;
    assert_eq!(page.matches("<td><a href=\"/stops/").count(), 1);
    assert!(page.contains("Asian/Pacific Islander, Female"), "{page}");
    assert!(page.contains("<option value=\"asian_pacific_islander\" selected>"));
    let (_, page) = clerk.get_text("/stops?district=D3").await;
    assert!(page.contains("<td>unknown, unknown, 22</td>"), "{page}");
    let imports: Vec<String> =
        oversight::db::query_scalar("SELECT details FROM audit_log WHERE action = 'stop.import'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(imports.len(), 1, "one audit entry for the file");
    assert!(imports[0].contains("\"rows\":4") && imports[0].contains("\"sha256\""));

    let (code, out) = run(&app, &["import", "stops", "--format", "opp", &file]);
    assert_eq!(code, 3, "the same file twice is refused: {out}");
    assert_eq!(q("SELECT COUNT(*) FROM stops").await, 4);
    let (code, _) = run(&app, &["import", "stops", "--format", "opp", "--force", &file]);
    assert_eq!(code, 0);
    assert_eq!(q("SELECT COUNT(*) FROM stops").await, 8);
}

#[tokio::test]
async fn malformed_files_are_refused_with_a_clear_message_and_nothing_written() {
    let app = spawn_app().await;
    let header = "date,time,subject_race,location\n";
    let mut bad_utf8 = header.as_bytes().to_vec();
    bad_utf8.extend_from_slice(b"2019-01-01,10:00:00,white,Caf\xe9 corner\n");
    let mut huge = header.as_bytes().to_vec();
    huge.extend_from_slice(b"2019-01-01,10:00:00,white,");
    huge.extend(std::iter::repeat_n(b'x', 100 * 1024 * 1024));
    huge.push(b'\n');
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "bad-utf8.csv",
            bad_utf8,
            "line 2, column location, value \"Caf\u{fffd} corner\": not valid UTF-8 text",
        ),
        ("empty.csv", Vec::new(), "the file is empty"),
        (
            "no-date.csv",
            b"time,location\n10:00,Main St\n".to_vec(),
            "line 1, column date, value \"\": this required column is missing",
        ),
        (
            "wrong-date.csv",
            format!("{header}2019-02-30,10:00:00,white,Main St\n03/01/2019,10:00:00,white,Main St\n")
                .into_bytes(),
            "line 3, column date, value \"03/01/2019\": not a date",
        ),
        (
            "wrong-race.csv",
            format!("{header}2019-02-01,10:00:00,martian,Main St\n").into_bytes(),
            "line 2, column subject_race, value \"martian\"",
        ),
        ("header-only.csv", header.as_bytes().to_vec(), "no records"),
        ("huge-line.csv", huge, "a line is longer than 1 MiB"),
    ];
    for (name, bytes, expected) in cases {
        let file = write(&app, name, &bytes);
        let (code, out) = run(&app, &["import", "stops", "--format", "opp", &file]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains(expected), "{name}: {out}");
        if !bytes.is_empty() && name != "no-date.csv" && name != "header-only.csv" {
            assert!(out.contains("Nothing was imported"), "{name}: {out}");
        }
        std::fs::remove_file(&file).unwrap();
    }
    assert_eq!(app.count("stops").await, 0, "nothing written by any of them");
    assert_eq!(app.count("stop_districts").await, 0, "nor any district");
    assert!(!app.audit_actions().await.contains(&"stop.import".to_string()));

    // Byte-order mark, CRLF line ends and a quoted newline are all fine.
    let good = "\u{feff}date,time,location\r\n2019-01-01,10:00:00,\"Main St\r\nat 1st Ave\"\r\n2019-01-02,11:00:00,Oak St\r\n";
    let file = write(&app, "good.csv", good.as_bytes());
    let (code, out) = run(&app, &["import", "stops", "--format", "opp", &file]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(app.count("stops").await, 2);
}

#[tokio::test]
async fn export_then_import_into_an_empty_database_reproduces_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::scratch_database(dir.path(), "demo").await;
    oversight::demo::create(&url, &dir.path().join("files")).await.unwrap();
    let source = oversight::db::connect(&url).await.unwrap();
    let native = dir.path().join("stops.csv");
    let bin = env!("CARGO_BIN_EXE_oversight");
    let out = Command::new(bin)
        .args(["export", "stops", "--format", "native", "--out", native.to_str().unwrap()])
        .env("OVERSIGHT_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // An empty database with the same officers, then the import.
    let empty_url = common::scratch_database(dir.path(), "empty").await;
    let empty = oversight::db::connect(&empty_url).await.unwrap();
    let mut officers =
        oversight::officers::store::list(&common::scope(&source).await, &Default::default()).await.unwrap();
    officers.sort_by_key(|o| o.id); // the same ids, so officer_id compares equal
    for officer in officers {
        let officer = oversight::officers::Officer { supervisor_id: None, ..officer };
        oversight::officers::store::create(
            &common::scope(&empty).await,
            &oversight::audit::Actor::system("t"),
            &officer,
        )
        .await
        .unwrap();
    }
    // Their designations and training too: the import decides each 287(g)
    // stop's compliance exception from them, as every write path does.
    let setup = oversight::audit::Actor::system("t");
    for d in
        oversight::officers::store::all_designations(&source, &common::scope(&source).await).await.unwrap()
    {
        oversight::officers::store::add_designation(&common::scope(&empty).await, &setup, d.officer_id, &d)
            .await
            .unwrap();
    }
    for r in oversight::training::store::all_records(&source, &common::scope(&source).await).await.unwrap() {
        oversight::training::store::add_record(&common::scope(&empty).await, &setup, r.officer_id, &r)
            .await
            .unwrap();
    }
    let out = Command::new(bin)
        .args(["import", "stops", "--format", "native", native.to_str().unwrap()])
        .env("OVERSIGHT_DATABASE_URL", &empty_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let all = |db: oversight::db::Db| async move {
        let mut rows = Vec::new();
        oversight::stops::store::for_each(&common::scope(&db).await, |s| {
            rows.push(oversight::stops::Stop { id: 0, ..s.clone() });
            true
        })
        .await
        .unwrap();
        rows
    };
    let before = all(source.clone()).await;
    let after = all(empty.clone()).await;
    assert!(before.len() >= 20_000);
    assert_eq!(before.len(), after.len());
    assert!(before == after, "every field of every stop is the same");

    // The Open Policing export reads back too.
    let opp = dir.path().join("opp.csv");
    let out = Command::new(bin)
        .args(["export", "stops", "--format", "opp", "--out", opp.to_str().unwrap()])
        .env("OVERSIGHT_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&opp).unwrap();
    assert!(text.starts_with(
        "date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,officer_id_hash,type"
    ));
    assert!(text.contains(",asian/pacific islander,") || text.contains(",hispanic,"));
}

#[tokio::test]
async fn clerks_import_through_the_browser_form_and_readers_download() {
    let app = spawn_app().await;
    officer(&app, "B-100").await;
    app.user("clerk", &[oversight::auth::Role::Clerk]).await;
    app.user("reviewer", &[oversight::auth::Role::Reviewer]).await;
    let clerk = app.signed_in("clerk").await;
    let send = |bytes: &'static [u8]| {
        let clerk = &clerk;
        async move {
            let token = clerk.token("/stops/import").await;
            let form = reqwest::multipart::Form::new()
                .text("_csrf", token)
                .text("format", "opp")
                .part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("stops.csv"));
            clerk.http.post(format!("{}/stops/import", clerk.base)).multipart(form).send().await.unwrap()
        }
    };
    let bad = send(b"date,subject_race\n2019-13-01,white\n2019-01-02,purple\n").await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("line 2, column date")
            && body.contains("line 3, column subject_race")
            && body.contains("Nothing was imported")
    );
    assert_eq!(app.count("stops").await, 0);
    let good = send(OPP.as_bytes().to_vec().leak()).await;
    assert_eq!(good.status(), 200);
    assert!(good.text().await.unwrap().contains("Imported 4 stops"));
    assert_eq!(app.count("stops").await, 4);
    let leftovers = std::fs::read_dir(app.dir.path().join("files/imports")).unwrap().count();
    assert_eq!(leftovers, 0, "the uploaded file is not kept");

    let reviewer = app.signed_in("reviewer").await;
    let csv = reviewer.post("/stops/export", &[("format", "opp")]).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 5);
    let spooled = std::fs::read_dir(app.dir.path().join("files/exports")).unwrap().count();
    assert_eq!(spooled, 0, "the export's temporary file is gone");
    assert!(text.contains("asian/pacific islander"));
    let (status, dictionary) = reviewer.get_text("/data-dictionary").await;
    assert_eq!(status, 200);
    assert!(
        dictionary.contains("<code>officer_badge</code>") && dictionary.contains("asian/pacific islander")
    );
    assert!(app.audit_actions().await.contains(&"stop.export".to_string()));
    assert_eq!(reviewer.get("/stops/import").await.status(), 403);
}
