//! The browser journey of issue 2 in Debian's headless Chromium (driven by
//! playwright-core from tests/browser, with axe-core on every page).
//! Needs `npm ci` in tests/browser and /usr/bin/chromium: the README's test
//! command installs both.

mod common;

use std::process::Command;

use common::spawn_app;
use oversight::auth::Role;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");

/// Runs one journey script with node and returns its output, failing the
/// test with everything it printed when it fails.
async fn journey(script: &'static str, args: Vec<String>, env: Vec<(&'static str, String)>) -> String {
    assert!(
        std::path::Path::new(DIR).join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser first (the README's test command does)"
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).args(args).current_dir(DIR).envs(env).output().expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout
}

#[tokio::test]
async fn administrator_clerk_and_auditor_journey_in_chromium() {
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    app.user("chief", &[Role::Administrator]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let env = vec![
        ("ADMIN_PASSWORD", common::PASSWORD.to_string()),
        ("AUDITOR_PASSWORD", common::PASSWORD.to_string()),
    ];
    journey("journey.mjs", vec![app.base.clone()], env).await;
    // What the browser did is in the database.
    let clerk: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM users WHERE username = 'rjimenez' AND must_change_password = 0",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(clerk, 1);
    let officer: String =
        oversight::db::query_scalar("SELECT last_name FROM officers WHERE badge = 'CC-7001'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(officer, "Nguyễn");
}

#[tokio::test]
async fn a_clerk_records_a_failed_exam_a_remediation_pass_and_a_certificate() {
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    app.user("clerk", &[Role::Clerk]).await;
    let setup = oversight::audit::Actor::system("test setup");
    let officer = oversight::officers::Officer {
        id: 0,
        badge: "CC-7002".into(),
        last_name: "Łukasiewicz".into(),
        first_name: "Marta".into(),
        rank: "Deputy".into(),
        unit: "Detention Bureau".into(),
        hire_date: None,
        status: "active".into(),
        supervisor_id: None,
        annual_salary_cents: None,
    };
    let id = oversight::officers::store::create(&app.scope, &setup, &officer).await.unwrap();
    let designation = oversight::officers::Designation {
        model: "JEM".into(),
        nominated_on: Some("2026-08-01".into()),
        certified_on: Some("2026-10-01".into()),
        authorized_on: Some("2026-10-05".into()),
        ..Default::default()
    };
    oversight::officers::store::add_designation(&app.scope, &setup, id, &designation).await.unwrap();
    // The agency's annual course is current, so the JEM training decides.
    let agency_course = oversight::training::TrainingRecord {
        id: 0,
        officer_id: id,
        course_id: 5,
        completed_on: "2026-08-15".into(),
        hours: 4.0,
        scores: String::new(),
        provider: "Agency".into(),
    };
    oversight::training::store::add_record(&app.scope, &setup, id, &agency_course).await.unwrap();
    let env = vec![("CLERK_PASSWORD", common::PASSWORD.to_string())];
    journey("training.mjs", vec![app.base.clone(), id.to_string()], env).await;
    let scores: String =
        oversight::db::query_scalar("SELECT scores FROM training_records WHERE course_id = 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(scores, "62,84");
    let certificates: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM documents WHERE kind = 'certificate' AND training_record_id IS NOT NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(certificates, 1);
}

#[tokio::test]
async fn a_clerk_enters_a_stop_with_a_search_and_a_287g_action_and_finds_it() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    app.user("clerk", &[Role::Clerk]).await;
    let setup = oversight::audit::Actor::system("test setup");
    app.authorized_tfm_officer().await;
    // A few other stops, so the filters have something to leave out.
    for (date, race) in [("2026-10-03", ",hispanic,"), ("2026-09-20", ",white,"), ("2026-10-15", ",black,")] {
        let stop = oversight::stops::Stop {
            stop_date: date.into(),
            stop_time: Some("10:00".into()),
            location: "Main St".into(),
            stop_type: "vehicle".into(),
            perceived_race: race.into(),
            reason: "traffic_violation".into(),
            results: ",warning,".into(),
            ..Default::default()
        };
        oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    }
    let env = vec![("CLERK_PASSWORD", common::PASSWORD.to_string())];
    journey("stops.mjs", vec![app.base.clone(), "Ferreira, João (CC-7003)".into()], env).await;
    let flagged: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM stops WHERE action_287g = 1 AND searched = 1 AND contraband = ',none,'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(flagged, 1);
}

#[tokio::test]
async fn supervisor_returns_then_approves_an_arrest_in_chromium() {
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("sup", &[Role::Supervisor]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let setup = oversight::audit::Actor::system("test setup");
    let officer = oversight::officers::Officer {
        id: 0,
        badge: "CC-8120".into(),
        last_name: "Wiśniewska".into(),
        first_name: "Zofia".into(),
        rank: "Deputy".into(),
        unit: "Jail".into(),
        hire_date: None,
        status: "active".into(),
        supervisor_id: None,
        annual_salary_cents: None,
    };
    oversight::officers::store::create(&app.scope, &setup, &officer).await.unwrap();
    let env = vec![("PASSWORD", common::PASSWORD.to_string())];
    let output =
        journey("supervision.mjs", vec![app.base.clone(), "Wiśniewska, Zofia (CC-8120)".into()], env).await;
    // The fingerprints the auditor saw are the ones stored, and the last
    // one is the record as it now stands.
    let stored: Vec<String> = oversight::db::query_scalar("SELECT record_hash FROM sign_offs ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let line = output.lines().find(|l| l.starts_with("HASHES ")).expect("hashes printed");
    assert_eq!(line.trim_start_matches("HASHES ").split(' ').collect::<Vec<_>>(), stored);
    let id: i64 = oversight::db::query_scalar("SELECT id FROM arrests").fetch_one(&app.db).await.unwrap();
    let arrest = oversight::arrests::store::get(&app.db, &app.scope, id).await.unwrap();
    assert_eq!(stored[1], oversight::supervision::arrest_fingerprint(&arrest, "v2").unwrap());
}

#[tokio::test]
async fn reviewer_generates_and_comments_a_report_and_the_auditor_verifies_it_in_chromium() {
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    app.user("reviewer", &[Role::Reviewer]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let setup = oversight::audit::Actor::system("test setup");
    // The last whole quarter, as the reports page offers it.
    let today = oversight::agency::store::get(&app.scope).await.unwrap().today();
    let this_quarter = oversight::measures::Period::quarter_to_date(today).from;
    let last = oversight::measures::Period::quarter_to_date(this_quarter - time::Duration::days(1));
    let (from, to) = (last.from, this_quarter - time::Duration::days(1));
    let label = format!("{} Q{}", from.year(), (from.month() as u8 - 1) / 3 + 1);
    for (i, race) in [",white,", ",hispanic,", ",black,", ",hispanic,"].iter().enumerate() {
        let stop = oversight::stops::Stop {
            stop_date: oversight::web::format_date(from + time::Duration::days(3 + i as i64)),
            stop_time: Some("10:00".into()),
            location: "Main St".into(),
            stop_type: "vehicle".into(),
            perceived_race: race.to_string(),
            reason: "traffic_violation".into(),
            searched: (i % 2) as i64,
            contraband: if i % 2 == 1 { ",none,".into() } else { String::new() },
            results: ",warning,".into(),
            ..Default::default()
        };
        oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    }
    let env = vec![("PASSWORD", common::PASSWORD.to_string())];
    let dir = app.dir.path().to_str().unwrap().to_string();
    let stop: i64 =
        oversight::db::query_scalar("SELECT MAX(id) FROM stops").fetch_one(&app.db).await.unwrap();
    let args = vec![
        app.base.clone(),
        label,
        oversight::web::format_date(from),
        oversight::web::format_date(to),
        dir,
        stop.to_string(),
    ];
    let output = journey("reports.mjs", args, env).await;
    // The file the browser downloaded is the one stored when it was issued.
    let line = output.lines().find(|l| l.starts_with("FILE ")).expect("file printed");
    let bytes = std::fs::read(line.trim_start_matches("FILE ")).unwrap();
    let stored: String =
        oversight::db::query_scalar("SELECT file_sha256 FROM reports").fetch_one(&app.db).await.unwrap();
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), stored);
    // The record proof the auditor downloaded holds.
    let line = output.lines().find(|l| l.starts_with("PROOF ")).expect("proof printed");
    let (ok, out) = app.cli(&["report", "check-record", line.trim_start_matches("PROOF ")]);
    assert!(ok && out.contains(&format!("stop {stop} is record")), "{out}");
    let comments: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM report_comments").fetch_one(&app.db).await.unwrap();
    assert_eq!(comments, 1);
}

#[tokio::test]
async fn long_words_wrap_and_the_stop_list_scrolls_in_its_own_region_at_390_pixels() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    app.user("sup", &[Role::Supervisor]).await;
    let setup = oversight::audit::Actor::system("test setup");
    let officer = app.authorized_tfm_officer().await;
    // 250 characters without a space, as a clerk once pasted a plate list.
    let narrative = "ABC1234".repeat(36);
    let stop = oversight::stops::Stop {
        stop_date: "2026-10-12".into(),
        stop_time: Some("23:05".into()),
        location: "Immokalee Rd at Livingston Rd".into(),
        stop_type: "vehicle".into(),
        officer_id: Some(officer),
        perceived_race: ",hispanic,".into(),
        reason: "traffic_violation".into(),
        reason_narrative: narrative[..250].to_string(),
        results: ",warning,".into(),
        result_narrative: narrative[..250].to_string(),
        action_287g: 1,
        ..Default::default()
    };
    oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    let id: i64 = oversight::db::query_scalar("SELECT MAX(id) FROM stops").fetch_one(&app.db).await.unwrap();
    let env = vec![("PASSWORD", common::PASSWORD.to_string())];
    journey("narrow.mjs", vec![app.base.clone(), id.to_string()], env).await;
}

#[tokio::test]
async fn a_state_reviewer_spots_the_late_agency_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::scratch_database(dir.path(), "state").await;
    let files = dir.path().join("files");
    oversight::demo::create_state(&url, &files).await.unwrap();
    let app = common::serve_existing(dir, url).await;
    let password = |role: Role| {
        oversight::demo::state::STATE_SIGN_INS.iter().find(|(_, _, r)| *r == role).unwrap().1.to_string()
    };
    let env = vec![
        ("REVIEWER_PASSWORD", password(Role::StateReviewer)),
        ("AUDITOR_PASSWORD", password(Role::StateAuditor)),
        ("ADMIN_PASSWORD", password(Role::StateAdministrator)),
    ];
    let downloads = tempfile::tempdir().unwrap();
    let dir = downloads.path().to_str().unwrap().to_string();
    journey("state.mjs", vec![app.base.clone(), dir], env).await;
    let seen: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM audit_log l JOIN agency a ON a.id = l.agency_id \
         WHERE a.ori = 'FL0360000' AND l.action = 'state.dashboard_view' AND l.username = 'state.reviewer'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(seen, 1, "the agency's audit log shows the state reviewer looked");
    let state_log: Vec<String> =
        oversight::db::query_scalar("SELECT action FROM audit_log WHERE agency_id = 0 ORDER BY seq")
            .fetch_all(&app.db)
            .await
            .unwrap();
    for action in ["state_report.generate", "state_report.download", "state_report.verify"] {
        assert!(state_log.contains(&action.to_string()), "{action} in the state's log");
    }
}

#[tokio::test]
async fn a_visitor_finds_a_published_year_reads_its_chart_and_downloads_the_csv_in_chromium() {
    let app = common::spawn_demo().await;
    app.user("publisher", &[Role::Administrator]).await;
    let agency = oversight::agency::store::get(&app.scope).await.unwrap().name;
    let downloads = tempfile::tempdir().unwrap();
    let dir = downloads.path().to_str().unwrap().to_string();
    let env = vec![("PASSWORD", common::PASSWORD.to_string())];
    let output = journey("public.mjs", vec![app.base.clone(), agency, "2025".into(), dir], env).await;
    let file = output.lines().find_map(|l| l.strip_prefix("CSV ")).expect("the CSV's path");
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.starts_with("measure_id,grouping,group,numerator,denominator,value,ci_low,ci_high,suppressed")
    );
    assert_eq!(app.count("publications").await, 1);
}
