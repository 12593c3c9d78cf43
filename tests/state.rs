//! The state's views (docs/tenancy.md): state users belong to no agency;
//! a state reviewer sees every agency's measures side by side, the agencies
//! that reported nothing first, and opens one agency's dashboard, which is
//! recorded in that agency's audit log; no state role opens an agency's
//! records; the state administrator adds an agency with its first
//! administrator.

mod common;

use common::{Client, PASSWORD, TestApp, spawn_demo};
use oversight::audit::Actor;
use oversight::auth::Role;

const QUIET_ORI: &str = "FL0020000";

async fn state_user(app: &TestApp, username: &str, role: Role) {
    let hash = oversight::auth::password::Hasher::default().hash(PASSWORD).await.unwrap();
    let user = oversight::users::NewUser {
        username: username.into(),
        display_name: format!("State {username}"),
        password: PASSWORD.into(),
        roles: vec![role],
        must_change_password: false,
    };
    oversight::users::store::create_state_user(&app.db, &Actor::system("test setup"), &user, &hash)
        .await
        .unwrap();
}

/// The demo agency, a second agency of Florida that recorded nothing, and
/// one state user of each role (two-step sign-in has its own tests).
async fn state_deployment() -> (TestApp, String) {
    let app = spawn_demo().await;
    let found = oversight::agency::agreements::lookup(QUIET_ORI).expect("an ORI of the list");
    let form = oversight::agency::ProfileForm {
        name: found.name.clone(),
        ori: QUIET_ORI.into(),
        state: found.state.into(),
        models: found.models.iter().map(|m| m.to_string()).collect(),
        login_banner: oversight::agency::DEFAULT_BANNER.into(),
        time_zone: "America/New_York".into(),
        mfa_policy: "optional".into(),
        ..Default::default()
    };
    oversight::agency::store::add(&app.db, &Actor::system("test setup"), &form.validate().unwrap())
        .await
        .unwrap();
    oversight::db::query("UPDATE deployment SET mfa_policy = 'optional'").execute(&app.db).await.unwrap();
    state_user(&app, "st-reviewer", Role::StateReviewer).await;
    state_user(&app, "st-auditor", Role::StateAuditor).await;
    state_user(&app, "st-admin", Role::StateAdministrator).await;
    (app, found.name)
}

async fn demo_period(app: &TestApp) -> (String, String) {
    oversight::db::query_as("SELECT MIN(stop_date), MAX(stop_date) FROM stops")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_state_reviewer_compares_the_agencies_and_sees_who_did_not_report() {
    let (app, quiet_name) = state_deployment().await;
    let (from, to) = demo_period(&app).await;
    let reviewer = app.signed_in("st-reviewer").await;
    let home = reviewer.get("/").await;
    assert_eq!(common::location(&home), "/state", "a state user's home is the state's dashboard");
    let (status, page) = reviewer.get_text(&format!("/state?from={from}&to={to}&measure=S1")).await;
    assert_eq!(status, 200, "{page:.400}");
    let demo_name: String =
        oversight::db::query_scalar("SELECT name FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap();
    // Up to an apostrophe, which the page escapes.
    let plain = |name: &str| name.split('\'').next().unwrap_or_default().to_string();
    let (quiet, demo) = (page.find(&plain(&quiet_name)), page.find(&plain(&demo_name)));
    assert!(quiet.is_some() && demo.is_some(), "both agencies are listed");
    assert!(quiet < demo, "the agency that reported nothing comes first");
    assert!(page.contains("1 of 2 agencies recorded no stop and no arrest"), "{page}");
    assert!(page.contains("Statewide (2 agencies)"));
    // The statewide figure pools the counts: with one agency reporting it is
    // that agency's own figure, as the agency's dashboard shows it.
    let sheet = oversight::measures::store::compute(
        &app.scope,
        oversight::measures::Period::new(
            oversight::web::parse_date(&from).unwrap(),
            oversight::web::parse_date(&to).unwrap(),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let e1 = sheet.measures.iter().find(|m| m.id == "S1").expect("S1 on the sheet");
    let statewide = page.split("Statewide (2 agencies)").nth(1).unwrap();
    assert!(
        statewide.contains(&e1.value_text()) && statewide.contains(&e1.fraction_text()),
        "{statewide:.300}"
    );

    // A median does not add up across agencies: no pooled figure is shown.
    let (_, medians) = reviewer.get_text(&format!("/state?from={from}&to={to}&measure=S3")).await;
    let statewide = medians.split("Statewide (2 agencies)").nth(1).unwrap();
    assert!(statewide.contains("not pooled"), "{statewide:.300}");

    // Opening one agency's dashboard is recorded in that agency's log.
    let (status, dashboard) =
        reviewer.get_text(&format!("/state/agencies/FL0110000?from={from}&to={to}")).await;
    assert_eq!(status, 200);
    assert!(dashboard.contains("Performance measures") && dashboard.contains(&e1.value_text()));
    let seen: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE agency_id = 1 AND action = 'state.dashboard_view' AND username = 'st-reviewer'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(seen, 1, "the agency's auditors see who looked");
    let (status, _) = reviewer.get_text("/state/agencies/ZZ0000000").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn no_state_role_opens_an_agencys_records() {
    let (app, _) = state_deployment().await;
    let stop: i64 =
        oversight::db::query_scalar("SELECT MIN(id) FROM stops").fetch_one(&app.db).await.unwrap();
    for user in ["st-reviewer", "st-auditor", "st-admin"] {
        let client = app.signed_in(user).await;
        for path in [
            "/officers".to_string(),
            "/stops".into(),
            format!("/stops/{stop}"),
            "/arrests".into(),
            "/audit".into(),
            "/documents".into(),
            "/dashboard".into(),
            "/users".into(),
        ] {
            let status = client.get(&path).await.status().as_u16();
            assert!(status == 403 || status == 404, "{user} GET {path}: {status}");
        }
    }
    // The state administrator creates agencies but never reads measures.
    let admin = app.signed_in("st-admin").await;
    assert_eq!(admin.get("/state").await.status().as_u16(), 403);
    assert_eq!(admin.get("/state/agencies/FL0110000").await.status().as_u16(), 403);
}

#[tokio::test]
async fn the_state_administrator_adds_an_agency_and_its_first_administrator() {
    let (app, _) = state_deployment().await;
    let admin = app.signed_in("st-admin").await;
    let (status, page) = admin.get_text("/state/agencies").await;
    assert_eq!(status, 200);
    assert!(page.contains(QUIET_ORI));
    let refused = admin
        .post(
            "/state/agencies",
            &[("ori", "ZZ1234567"), ("username", "x"), ("display_name", ""), ("password", "short")],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("not in the 287(g) agreements list") && body.contains("value=\"ZZ1234567\""),
        "{body:.600}"
    );
    let before: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM agency").fetch_one(&app.db).await.unwrap();
    assert_eq!(before, 2, "a refused form adds nothing");
    let added = admin
        .post(
            "/state/agencies",
            &[
                ("ori", "FL0030000"),
                ("username", "lee-admin"),
                ("display_name", "Lee Admin"),
                ("password", "a temporary passphrase 7"),
            ],
        )
        .await;
    assert_eq!(added.status().as_u16(), 303);
    let (_, page) = admin.get_text("/state/agencies").await;
    assert!(page.contains("FL0030000"), "{page:.400}");
    let agency: String = oversight::db::query_scalar(
        "SELECT a.ori FROM users u JOIN agency a ON a.id = u.agency_id WHERE u.username = 'lee-admin'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(agency, "FL0030000");
    let created: i64 = oversight::db::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'agency.create' AND username = 'st-admin'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(created, 1);
    oversight::db::query("UPDATE agency SET mfa_policy = 'optional'").execute(&app.db).await.unwrap();
    let lee = Client::new(&app.base);
    let signed = lee.sign_in("lee-admin", "a temporary passphrase 7").await;
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(
        common::location(&lee.get("/").await),
        "/account/password",
        "the temporary password must be changed"
    );
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext runs");
    assert!(output.status.success(), "pdftotext reads the report");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The actions of one agency's chain (or the state's, 0), oldest first.
async fn chain_actions(app: &TestApp, chain: i64) -> Vec<String> {
    oversight::db::query_scalar("SELECT action FROM audit_log WHERE agency_id = $1 ORDER BY seq")
        .bind(chain)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn agency_id(app: &TestApp, ori: &str) -> i64 {
    oversight::agency::store::id_of(&app.db, ori).await.unwrap().expect("an agency")
}

#[tokio::test]
async fn a_state_reviewer_downloads_the_statewide_report_and_a_state_auditor_verifies_it() {
    let (app, _) = state_deployment().await;
    let (from, to) = demo_period(&app).await;
    let demo_ori: String =
        oversight::db::query_scalar("SELECT ori FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap();
    let reviewer = app.signed_in("st-reviewer").await;
    let generated = reviewer.post("/state/reports", &[("from", from.as_str()), ("to", to.as_str())]).await;
    assert_eq!(generated.status(), 303);
    let (_, page) = reviewer.get_text("/state/reports").await;
    let id: i64 =
        oversight::db::query_scalar("SELECT MAX(id) FROM state_reports").fetch_one(&app.db).await.unwrap();
    assert!(page.contains(&format!("/state/reports/{id}/download")), "{page:.2000}");
    let download = reviewer.get(&format!("/state/reports/{id}/download")).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    let bytes = download.bytes().await.unwrap().to_vec();
    let text = pdf_text(&bytes);
    assert!(text.contains("Statewide oversight report"), "{text:.600}");
    // Tagged like an agency's report (issue 15): its title the one H1,
    // its sections H2, each per-agency table with its header cells.
    let path = app.dir.path().join("tagged.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let (_, structure) = common::assert_tagged_pdf(&path);
    assert!(
        structure.starts_with("Document\n  H1 (block)\n    \"Statewide oversight report\""),
        "{structure:.300}"
    );
    for section in ["Agencies and their records", "Statewide summary", "Methods"] {
        assert!(structure.contains(&format!("  H2 (block)\n    \"{section}\"")), "{section}");
    }
    assert_eq!(structure.matches("H1 (block)").count(), 1);
    assert!(structure.contains("TH:\n         /Scope /Column"), "header cells with their scope");

    // Each agency's fingerprint is that of its records in form v3 (the
    // stops and arrests by day), recomputed here from the records
    // themselves; its own report (form v4, a tree over its records)
    // prints another.
    for ori in [demo_ori.as_str(), QUIET_ORI] {
        let scope = oversight::agency::Scope::for_command(&app.db, Some(ori)).await.unwrap();
        let period = oversight::measures::Period::new(
            oversight::web::parse_date(&from).unwrap(),
            oversight::web::parse_date(&to).unwrap(),
        )
        .unwrap();
        let v3 = oversight::reports::store::data_fingerprint(
            &scope,
            period,
            "v3",
            oversight::measures::store::Source::Records,
            &[],
        )
        .await
        .unwrap();
        assert!(text.contains(&v3), "the statewide report prints {ori}'s v3 fingerprint {v3}");
        let out = app.dir.path().join(format!("{ori}.pdf"));
        let (ok, said) = app.cli(&[
            "--agency",
            ori,
            "report",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{said}");
        let own = said.rsplit("data fingerprint ").next().unwrap().trim();
        // (An agency with no records has the empty fingerprint in both.)
        assert!(own.len() == 64 && (ori == QUIET_ORI) == text.contains(own), "its own report is v4: {said}");
    }
    assert!(text.contains(&format!("({QUIET_ORI}): NO RECORDS")), "the quiet agency is marked");

    // The statewide S1 pools the agencies' counts.
    let (mut numerator, mut denominator) = (0.0, 0.0);
    for ori in [demo_ori.as_str(), QUIET_ORI] {
        let scope = oversight::agency::Scope::for_command(&app.db, Some(ori)).await.unwrap();
        let period = oversight::measures::Period::new(
            oversight::web::parse_date(&from).unwrap(),
            oversight::web::parse_date(&to).unwrap(),
        )
        .unwrap();
        let sheet = oversight::measures::store::compute(&scope, period).await.unwrap();
        let s1 = sheet.measures.iter().find(|m| m.id == "S1").unwrap();
        numerator += s1.current.numerator;
        denominator += s1.current.denominator.unwrap_or(0.0);
    }
    assert!(denominator > 0.0);
    let summary = text.split("Statewide summary").nth(1).unwrap();
    let s1_line = summary.lines().find(|l| l.contains("S1 sign-off coverage")).unwrap();
    assert!(s1_line.contains(&format!("({numerator} of {denominator})")), "{s1_line}");

    // Who looked: the state's chain holds the generation and download, each
    // agency's chain the state's reading of its records.
    let state = chain_actions(&app, 0).await;
    assert!(
        state.contains(&"state_report.generate".into()) && state.contains(&"state_report.download".into())
    );
    for ori in [demo_ori.as_str(), QUIET_ORI] {
        let actions = chain_actions(&app, agency_id(&app, ori).await).await;
        assert!(actions.contains(&"state_report.read".into()), "{ori}: {actions:?}");
    }

    // Only the state auditor verifies.
    assert_eq!(reviewer.get("/state/reports/verify").await.status(), 403);
    let auditor = app.signed_in("st-auditor").await;
    let verify = |bytes: Vec<u8>| {
        let auditor = &auditor;
        async move {
            let response = common::upload_to(auditor, "/state/reports/verify", &[], "r.pdf", &bytes).await;
            response.text().await.unwrap()
        }
    };
    let page = verify(bytes.clone()).await;
    assert!(page.contains("VERIFIED: this is statewide report S-"), "{page:.3000}");
    assert!(page.contains("all 2 agencies"), "{page:.3000}");
    // The cover prints the state chain's signed checkpoint, and the log
    // today extends it.
    assert!(
        text.contains("Signed checkpoint of the state audit log") && text.contains("oversight-ledger/state")
    );
    assert!(
        page.contains("The audit log today extends the signed checkpoint the report prints"),
        "{page:.3000}"
    );
    let mut altered = bytes.clone();
    altered.extend_from_slice(b"\n%");
    assert!(verify(altered).await.contains("NOT VERIFIED"));

    // One agency's records changed behind the product's back: the report
    // names that agency, not the other.
    oversight::db::query("UPDATE stops SET location = 'elsewhere' WHERE id = (SELECT MIN(id) FROM stops)")
        .execute(&app.db)
        .await
        .unwrap();
    let page = verify(bytes.clone()).await;
    assert!(page.contains("RECORDS CHANGED") && page.contains("1 of its 2 agencies"), "{page:.3000}");
    let verdict = page.split("RECORDS CHANGED").nth(1).unwrap().split("</strong>").next().unwrap();
    assert!(verdict.contains(&demo_ori) && !verdict.contains(QUIET_ORI), "{verdict}");
    let path = app.dir.path().join("statewide.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let (ok, said) = app.cli(&["report", "verify", path.to_str().unwrap()]);
    assert!(!ok && said.contains("RECORDS CHANGED") && said.contains(&demo_ori), "{said}");
}

#[tokio::test]
async fn the_state_auditor_reads_an_agencys_audit_log_and_reports_and_the_agency_sees_it() {
    let (app, _) = state_deployment().await;
    let demo_ori: String =
        oversight::db::query_scalar("SELECT ori FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap();
    let out = app.dir.path().join("own.pdf");
    let (ok, said) = app.cli(&[
        "--agency",
        &demo_ori,
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{said}");
    let report_id: i64 =
        oversight::db::query_scalar("SELECT MAX(id) FROM reports").fetch_one(&app.db).await.unwrap();

    let reviewer = app.signed_in("st-reviewer").await;
    assert_eq!(reviewer.get(&format!("/state/agencies/{demo_ori}/audit")).await.status(), 403);
    let (status, list) = reviewer.get_text(&format!("/state/agencies/{demo_ori}/reports")).await;
    assert_eq!(status, 200);
    let link = format!("/state/agencies/{demo_ori}/reports/{report_id}/download");
    assert!(list.contains(&link), "{list:.2000}");
    let download = reviewer.get(&link).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), std::fs::read(&out).unwrap(), "the issued file");
    // Another agency's report under this agency's address is not found.
    assert_eq!(
        reviewer.get(&format!("/state/agencies/{QUIET_ORI}/reports/{report_id}/download")).await.status(),
        404
    );
    assert_eq!(reviewer.get("/state/agencies/ZZ0000000/reports").await.status(), 404);

    let auditor = app.signed_in("st-auditor").await;
    let (status, log) = auditor.get_text(&format!("/state/agencies/{demo_ori}/audit")).await;
    assert_eq!(status, 200);
    assert!(log.contains("report.generate") && log.contains("state.audit_view"), "{log:.3000}");
    let verified =
        auditor.post(&format!("/state/agencies/{demo_ori}/audit/verify"), &[("expect_head", "")]).await;
    let body = verified.text().await.unwrap();
    assert!(body.contains("Verification result:</strong> OK"), "{body:.3000}");
    let export = auditor.post(&format!("/state/agencies/{demo_ori}/audit/export"), &[]).await;
    assert_eq!(export.status(), 200);
    let jsonl = export.text().await.unwrap();
    assert!(
        jsonl.lines().count() > 10 && !jsonl.contains("state_report.generate"),
        "the agency's chain only"
    );

    // The agency's own auditor sees the state's readings, and no agency
    // user reaches the state's pages.
    let actions = chain_actions(&app, 1).await;
    for action in ["state.audit_view", "audit.verify", "audit.export", "report.download"] {
        assert!(actions.contains(&action.to_string()), "{action} in the agency's log: {actions:?}");
    }
    app.user("agency-auditor", &[Role::Auditor]).await;
    let agency_auditor = app.signed_in("agency-auditor").await;
    for path in ["/state/reports", "/state/reports/verify", &format!("/state/agencies/{demo_ori}/audit")] {
        let status = agency_auditor.get(path).await.status().as_u16();
        assert!(status == 403 || status == 404, "an agency user GET {path}: {status}");
    }
}

/// Runs the real binary on the database at `url` with its files folder.
#[tokio::test]
async fn backup_of_one_agency_holds_that_agency_alone_and_still_verifies() {
    let (app, _) = state_deployment().await;
    let demo_ori: String =
        oversight::db::query_scalar("SELECT ori FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap();
    let quiet = oversight::agency::Scope::for_command(&app.db, Some(QUIET_ORI)).await.unwrap();
    let marker = common::active_officer("QM-1", "Quietmarkerson");
    oversight::officers::store::create(&quiet, &Actor::system("test setup"), &marker).await.unwrap();
    app.user("demo-clerk", &[Role::Clerk]).await;
    let pdf = app.dir.path().join("own.pdf");
    let period = ["--from", "2026-01-01", "--to", "2026-03-31", "--out", pdf.to_str().unwrap()];
    let (ok, said) = app.cli(&[&["--agency", demo_ori.as_str(), "report"], &period[..]].concat());
    assert!(ok, "{said}");
    let (_, head) = app.cli(&["--agency", &demo_ori, "audit", "verify"]);
    let head = head.split("head ").nth(1).and_then(|h| h.get(..64)).expect("a head").to_string();

    let copy_dir = tempfile::tempdir().unwrap();
    let out = copy_dir.path().join("demo-agency.db");
    let (ok, said) = app.cli(&["--agency", &demo_ori, "backup", "--out", out.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains(&format!("verifies up to the head {head}")), "{said}");
    let bytes = std::fs::read(&out).unwrap();
    let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(holds(&demo_ori) && holds("demo-clerk"), "the agency's own rows are in the copy");
    for other in [QUIET_ORI, "Quietmarkerson", "st-reviewer", "st-admin"] {
        assert!(!holds(other), "{other} is not the agency's and must not be in its copy");
    }
    let (again, said) = app.cli(&["--agency", &demo_ori, "backup", "--out", out.to_str().unwrap()]);
    assert!(!again && said.contains("already exists"), "{said}");
    assert!(chain_actions(&app, 1).await.contains(&"backup.create".to_string()));
    assert!(
        !chain_actions(&app, agency_id(&app, QUIET_ORI).await).await.contains(&"backup.create".to_string())
    );

    // The copy is a deployment of that agency alone: its chain reaches the
    // head the source had, the report issued there verifies against it, and
    // its users sign in to their records and documents.
    let url = format!("sqlite://{}", out.display());
    let files = copy_dir.path().join("files");
    let (ok, said) = common::cli_on(&url, &files, &["agency", "list"]);
    assert!(ok && said.contains(&demo_ori) && !said.contains(QUIET_ORI), "{said}");
    let (ok, said) = common::cli_on(&url, &files, &["audit", "verify", "--expect-head", &head]);
    assert!(ok, "{said}");
    let (ok, said) = common::cli_on(&url, &files, &["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok && said.contains("VERIFIED"), "{said}");
    assert!(said.contains("signed by another install's key"), "{said}");
    let copy = common::serve_existing(copy_dir, url).await;
    let clerk = copy.signed_in("demo-clerk").await;
    let (status, officers) = clerk.get_text("/officers").await;
    assert_eq!(status, 200);
    assert!(!officers.contains("Quietmarkerson"), "{officers:.2000}");
    let document: i64 =
        oversight::db::query_scalar("SELECT MIN(id) FROM documents").fetch_one(&copy.db).await.unwrap();
    let download = clerk.get(&format!("/documents/{document}/versions/1/download")).await;
    assert_eq!(download.status(), 200, "the document's file came with the copy");
    assert!(!download.bytes().await.unwrap().is_empty());
}
