//! Oversight reports as an auditor meets them: the PDF read back with
//! pdftotext holds the expected numbers in the expected sections, qpdf
//! finds it sound, names print in full, and verification accepts the
//! issued file and rejects an altered one or one whose records changed.

mod common;

use std::process::Command;

use common::{TestApp, location, spawn_app};
use oversight::audit::Actor;
use oversight::auth::Role;
use oversight::stops::Stop;

fn tool(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn stop(date: &str, race: &str, searched: bool) -> Stop {
    Stop {
        stop_date: date.into(),
        stop_time: Some("09:30".into()),
        location: "Łódź Ave".into(),
        stop_type: "vehicle".into(),
        perceived_race: race.into(),
        perceived_gender: "male".into(),
        perceived_age: Some(33),
        reason: "traffic_violation".into(),
        searched: searched as i64,
        contraband: if searched { ",none,".into() } else { String::new() },
        results: ",warning,".into(),
        ..Default::default()
    }
}

/// Adds the officer with a JEM designation nominated on 5 January 2025.
async fn designated(app: &TestApp, officer: &oversight::officers::Officer) {
    let actor = Actor::system("test setup");
    let id = oversight::officers::store::create(&app.scope, &actor, officer).await.unwrap();
    let designation = oversight::officers::Designation {
        model: "JEM".into(),
        nominated_on: Some("2025-01-05".into()),
        ..Default::default()
    };
    oversight::officers::store::add_designation(&app.scope, &actor, id, &designation).await.unwrap();
}

/// Q2 2025: White 4 stops (2 searched), Hispanic 3 stops (3 searched);
/// an officer named Nguyễn from Łódź with a JEM designation.
async fn fixture(app: &TestApp) {
    app.set_agency_models("JEM").await;
    let actor = Actor::system("test setup");
    let officer = oversight::officers::Officer {
        badge: "CC-4410".into(),
        last_name: "Nguyễn".into(),
        first_name: "Łucja".into(),
        unit: "Łódź liaison".into(),
        status: "active".into(),
        ..Default::default()
    };
    designated(app, &officer).await;
    let stops = [
        stop("2025-04-02", ",white,", true),
        stop("2025-04-03", ",white,", true),
        stop("2025-05-04", ",white,", false),
        stop("2025-06-05", ",white,", false),
        stop("2025-04-06", ",hispanic,", true),
        stop("2025-05-07", ",hispanic,", true),
        stop("2025-06-08", ",hispanic,", true),
    ];
    for s in &stops {
        oversight::stops::store::create(&app.scope, &actor, s).await.unwrap();
    }
}

fn text_of(pdf: &std::path::Path) -> String {
    let (ok, text) = tool("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    assert!(ok, "pdftotext reads the report");
    text
}

/// The part of the text between two headings.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}"));
    let to = text[from..].find(end).map(|i| from + i).unwrap_or(text.len());
    &text[from..to]
}

#[tokio::test]
async fn the_report_reads_back_with_its_numbers_and_verifies() {
    let app = spawn_app().await;
    fixture(&app).await;
    let pdf = app.dir.path().join("q2.pdf");
    let (ok, out) =
        app.cli(&["report", "--from", "2025-04-01", "--to", "2025-06-30", "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let fingerprint = out.rsplit("data fingerprint ").next().unwrap().trim().to_string();
    assert_eq!(fingerprint.len(), 64);

    let (ok, check) = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(ok && check.contains("No syntax or stream encoding errors"), "{check}");
    let (_, info) = tool("pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(info.contains("Title:           Oversight report R-"), "{info}");
    // US Letter unless the agency chose A4.
    assert!(info.contains("Page size:       612 x 792 pts (letter)"), "{info}");
    assert!(info.contains("Author:          command line"));
    let (_, outline) = tool("qpdf", &["--json", "--json-key=outlines", pdf.to_str().unwrap()]);
    for section in
        ["Executive summary", "Training and authorization", "Supervision", "Stops and equity", "Methods"]
    {
        assert!(outline.contains(&format!("\"title\": \"{section}\"")), "bookmark {section}");
    }

    let text = text_of(&pdf);
    assert!(text.contains("Collier") || text.contains("Test County Sheriff"), "agency on the cover");
    assert!(text.contains("TX1010000") && text.contains("2025-04-01 to 2025-06-30"));
    assert!(text.contains(&fingerprint), "the cover prints the data fingerprint");
    let pages: usize = text.matches("Page 1 of ").count();
    assert_eq!(pages, 1);
    let total = text.split("Page 1 of ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert!(text.contains(&format!("Page {total} of {total}")));
    // D3 by race in its section: Hispanic 3 of 3 = 100.0%, White 2 of 4 =
    // 50.0%, ratio 2.00. Intervals (statsmodels, proportion_confint
    // "wilson" and confint_proportions_2indep "log" ratio): 3 of 3 43.9% to
    // 100%; 2 of 4 15.0% to 85.0%; the ratio 0.75 to 5.33 (Katz se
    // √(1/3 − 1/3 + 1/2 − 1/4) = 0.5), so not beyond chance.
    let equity = between(&text, "Stops and equity", "Accountability");
    let d3 = between(equity, "D3 search rate by race\n", "D4 ");
    let hispanic = d3.lines().find(|l| l.trim_start().starts_with("Hispanic/Latino")).expect("hispanic row");
    let cells: Vec<&str> = hispanic.split_whitespace().collect();
    assert!(
        cells.ends_with(&["3", "of", "3", "100.0%", "43.9–100.0%", "2.00", "0.75–5.33", "small", "sample"]),
        "{hispanic}"
    );
    let white = d3.lines().find(|l| l.trim_start().starts_with("White")).expect("white row");
    assert!(
        white.split_whitespace().collect::<Vec<_>>().ends_with(&[
            "2",
            "of",
            "4",
            "50.0%",
            "15.0–85.0%",
            "1.00",
            "reference",
            "small",
            "sample"
        ]),
        "{white}"
    );
    // The appendix prints names in full (the font is embedded).
    let appendix = between(&text, "Appendix", "Methods");
    assert!(appendix.contains("Nguyễn, Łucja (CC-4410)"), "{appendix}");
    assert!(between(&text, "Methods", "\u{0}").contains("Rate ratio to the reference group"));
    // Q2 is compared with Q1 (1 January to 31 March), not with the 91 days
    // before it (31 December to 31 March).
    assert!(text.contains("Previous period: 2025-01-01 to 2025-03-31."), "calendar baseline");
    assert!(!text.contains("2024-12-31 to 2025-03-31"));

    // Verification: the issued file, one byte changed, records edited.
    let (ok, verdict) = app.cli(&["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok && verdict.starts_with("VERIFIED"), "{verdict}");
    let mut bytes = std::fs::read(&pdf).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let altered = app.dir.path().join("altered.pdf");
    std::fs::write(&altered, &bytes).unwrap();
    let (ok, verdict) = app.cli(&["report", "verify", altered.to_str().unwrap()]);
    assert!(!ok && verdict.starts_with("NOT VERIFIED"), "{verdict}");
    oversight::db::query("UPDATE stops SET searched = 0, contraband = '' WHERE stop_date = '2025-06-08'")
        .execute(&app.db)
        .await
        .unwrap();
    let (ok, verdict) = app.cli(&["report", "verify", pdf.to_str().unwrap()]);
    assert!(!ok && verdict.starts_with("RECORDS CHANGED") && verdict.contains(&fingerprint), "{verdict}");
    let audited: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'report.verify'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn the_same_period_twice_gives_the_same_numbers_and_fingerprint() {
    let app = spawn_app().await;
    fixture(&app).await;
    let mut summaries = Vec::new();
    let mut fingerprints = Vec::new();
    for name in ["a.pdf", "b.pdf"] {
        let pdf = app.dir.path().join(name);
        let (ok, out) = app.cli(&[
            "report",
            "--from",
            "2025-04-01",
            "--to",
            "2025-06-30",
            "--out",
            pdf.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        fingerprints.push(out.rsplit("data fingerprint ").next().unwrap().trim().to_string());
        let text = text_of(&pdf);
        // Everything from the summary on, without the per-page footer that
        // names the report number.
        let body: String = text[text.find("Executive summary").unwrap()..]
            .lines()
            .filter(|l| !l.contains("Page ") && !l.contains("R-20"))
            .collect::<Vec<_>>()
            .join("\n");
        summaries.push(body);
    }
    assert_eq!(fingerprints[0], fingerprints[1]);
    assert_eq!(summaries[0], summaries[1]);
    let numbers: Vec<String> = oversight::db::query_scalar("SELECT number FROM reports ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(numbers.len(), 2);
    assert_ne!(numbers[0], numbers[1], "each issued report has its own number");
    for sql in ["UPDATE reports SET data_sha256 = 'x'", "DELETE FROM reports"] {
        assert!(oversight::db::query(sql).execute(&app.db).await.is_err(), "{sql} is refused");
    }
}

#[tokio::test]
async fn reviewers_generate_download_and_comment_and_auditors_verify_uploads() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let reviewer = app.signed_in("reviewer").await;
    let bad = reviewer.post("/reports", &[("from", "2025-06-30"), ("to", "2025-04-01")]).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("must not be before"));
    let made = reviewer.post("/reports", &[("from", "2025-04-01"), ("to", "2025-06-30")]).await;
    assert_eq!(location(&made), "/reports");
    let id: i64 = oversight::db::query_scalar("SELECT id FROM reports").fetch_one(&app.db).await.unwrap();
    let download = reviewer.get(&format!("/reports/{id}/download")).await;
    assert_eq!(download.headers()["content-type"], "application/pdf");
    let bytes = download.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF"));
    let comment = reviewer
        .post(
            &format!("/reports/{id}/comments"),
            &[("body", "Search disparity for Hispanic drivers: ask for the SOP.")],
        )
        .await;
    assert_eq!(comment.status(), 303);

    let auditor = app.signed_in("auditor").await;
    let (_, page) = auditor.get_text("/reports").await;
    assert!(
        page.contains("Search disparity for Hispanic drivers") && page.contains("Test reviewer"),
        "{page}"
    );
    let verified = common::upload_to(&auditor, "/reports/verify", &[], "report.pdf", &bytes).await;
    let text = verified.text().await.unwrap();
    assert!(text.contains("VERIFIED: this is report R-"), "{text}");
    let mut altered = bytes.clone();
    let last = altered.len() - 10;
    altered[last] ^= 0x20;
    let refused = common::upload_to(&auditor, "/reports/verify", &[], "report.pdf", &altered).await;
    assert!(refused.text().await.unwrap().contains("NOT VERIFIED"));
    let actions = app.audit_actions().await;
    for action in ["report.generate", "report.download", "report.comment", "report.verify"] {
        assert!(actions.contains(&action.to_string()), "{action} audited");
    }
}

#[tokio::test]
async fn the_dashboard_shows_each_measure_with_status_words_trend_and_records() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    let reviewer = app.signed_in("reviewer").await;
    let (status, page) = reviewer.get_text("/dashboard?from=2025-04-01&to=2025-06-30").await;
    assert_eq!(status, 200);
    // D3 by race: Hispanic 3 of 3, ratio 2.00 to White, with the drill-down
    // to those stops.
    let d3 = &page[page.find("D3 search rate by race").unwrap()..];
    let d3 = &d3[..d3.find("</table>").unwrap()];
    assert!(d3.contains("3 of 3") && d3.contains("2.00"), "{d3}");
    assert!(d3.contains("race=hispanic") && d3.contains("searched=yes"), "drill-down: {d3}");
    // Every scalar measure has a status in words and a chart with its
    // values as text.
    for id in ["T1", "S1", "E3", "C2", "R1"] {
        assert!(page.contains(&format!("aria-labelledby=\"trend-{id}\"")), "{id} chart");
        assert!(page.contains(&format!("Records behind {id}")), "{id} drill-down");
    }
    // A calendar quarter's baseline is the quarter before; eight quarters
    // back from Q2 2025 is Q3 2023.
    assert!(page.contains("compared with the previous period (2025-01-01 to 2025-03-31)"), "baseline");
    assert!(
        page.contains("over the last 8 periods, oldest first: 2023-07-01 to 2023-09-30: ")
            && page.contains("; 2023-10-01 to 2023-12-31: "),
        "eight quarters back"
    );
    // A year against the year before, though 2024 had 366 days; a month
    // against the month before.
    let (_, year) = reviewer.get_text("/dashboard?from=2025-01-01&to=2025-12-31").await;
    assert!(year.contains("compared with the previous period (2024-01-01 to 2024-12-31)"), "year baseline");
    let (_, march) = reviewer.get_text("/dashboard?from=2026-03-01&to=2026-03-31").await;
    assert!(march.contains("compared with the previous period (2026-02-01 to 2026-02-28)"), "month baseline");
    // A custom range against the range of equal length before it.
    let (_, custom) = reviewer.get_text("/dashboard?from=2026-03-05&to=2026-03-14").await;
    assert!(
        custom.contains("compared with the previous period (2026-02-23 to 2026-03-04)"),
        "custom baseline"
    );
    assert!(page.contains("tag--no\">not met") || page.contains("tag--ok\">met"));
    let clerk_id = app.user("clerk", &[Role::Clerk]).await;
    assert!(clerk_id > 0);
    let clerk = app.signed_in("clerk").await;
    assert_eq!(clerk.get("/dashboard").await.status(), 403);
}

#[tokio::test]
async fn logged_measures_are_defined_logged_confirmed_and_reported() {
    let app = spawn_app().await;
    fixture(&app).await;
    for (name, role) in [
        ("admin", Role::Administrator),
        ("clerk", Role::Clerk),
        ("sup", Role::Supervisor),
        ("reviewer", Role::Reviewer),
    ] {
        app.user(name, &[role]).await;
    }
    let admin = app.signed_in("admin").await;
    let bad = admin
        .post("/logged-measures", &[("code", "L 1"), ("name", ""), ("unit", "count"), ("better", "higher")])
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains("letters and digits")
            && page.contains("Enter a name")
            && page.contains("Enter the source")
    );
    let defined = admin
        .post(
            "/logged-measures",
            &[
                ("code", "l1"),
                ("name", "Removals attributed to the agreement"),
                ("definition", "removals ICE attributes to the agency's 287(g) encounters in the period"),
                ("unit", "count"),
                ("target", ""),
                ("better", "higher"),
                ("source", "ICE ERO quarterly statistics"),
            ],
        )
        .await;
    assert_eq!(defined.status(), 303);
    let id: i64 = oversight::db::query_scalar("SELECT id FROM logged_measures WHERE code = 'L1'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let clerk = app.signed_in("clerk").await;
    let path = format!("/logged-measures/{id}/values");
    let bad = clerk
        .post(
            &path,
            &[("from", "2025-04-01"), ("to", "2025-06-30"), ("value", "twelve"), ("source_document", "")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains("Write the value as a number") && page.contains("value=\"twelve\""),
        "the form keeps what was typed"
    );
    assert_eq!(app.count("logged_values").await, 0);
    let logged = clerk
        .post(
            &path,
            &[
                ("from", "2025-04-01"),
                ("to", "2025-06-30"),
                ("value", "17"),
                ("source_document", "ERO memo 2025-07-14"),
            ],
        )
        .await;
    assert_eq!(logged.status(), 303);
    let value_id: i64 =
        oversight::db::query_scalar("SELECT id FROM logged_values").fetch_one(&app.db).await.unwrap();
    let sup = app.signed_in("sup").await;
    assert_eq!(sup.post(&format!("/logged-values/{value_id}/confirm"), &[]).await.status(), 303);

    let reviewer = app.signed_in("reviewer").await;
    let (_, dashboard) = reviewer.get_text("/dashboard?from=2025-04-01&to=2025-06-30").await;
    let reported = &dashboard[dashboard.find("Reported measures").unwrap()..];
    assert!(
        reported.contains("L1 Removals attributed to the agreement") && reported.contains(">17<"),
        "{reported}"
    );
    assert!(reported.contains("logged by Test clerk") && reported.contains("confirmed by Test sup"));

    let pdf = app.dir.path().join("logged.pdf");
    let (ok, out) =
        app.cli(&["report", "--from", "2025-04-01", "--to", "2025-06-30", "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let text = text_of(&pdf);
    let section = between(&text, "Reported measures\n", "Appendix");
    assert!(
        section.contains("L1 Removals")
            && section.contains("17 (no")
            && section.contains("confirmed by Test sup"),
        "{section}"
    );
}

#[tokio::test]
async fn population_shares_and_coordinates_add_d2_and_d9() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("admin", &[Role::Administrator]).await;
    let admin = app.signed_in("admin").await;
    let bad = admin
        .post(
            "/dashboard/settings",
            &[("population_shares", "white=sixty"), ("latitude", "95"), ("longitude", "")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains("group=percent pairs")
            && page.contains("from -90 to 90")
            && page.contains("value=\"white=sixty\"")
    );
    let saved = admin
        .post(
            "/dashboard/settings",
            &[
                ("population_shares", "white=70; hispanic=20"),
                ("latitude", "26.142"),
                ("longitude", "-81.795"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let (_, page) = admin.get_text("/dashboard?from=2025-04-01&to=2025-06-30").await;
    // D2: Hispanic 3 of 7 stops = 42.9% against 20/90 of the population:
    // 42.857 / 22.222 = 1.93.
    let d2 = &page[page.find("D2 benchmark ratio").unwrap()..];
    let d2 = &d2[..d2.find("</table>").unwrap()];
    assert!(d2.contains("3 of 7") && d2.contains("1.93"), "{d2}");
    // D9 is listed; every fixture stop is at 09:30, outside the window.
    let d9 = &page[page.find("D9 veil of darkness").unwrap()..];
    assert!(d9.contains("0 stops in the window"), "{}", &d9[..400.min(d9.len())]);
}

/// A refused review comment comes back with the text as typed, the error
/// next to its box, the box marked invalid, an error summary and 422.
#[tokio::test]
async fn a_refused_comment_keeps_its_text_and_says_why_next_to_the_box() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    let reviewer = app.signed_in("reviewer").await;
    for (from, to) in [("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-06-30")] {
        let made = reviewer.post("/reports", &[("from", from), ("to", to)]).await;
        assert_eq!(made.status(), 303);
    }
    let ids: Vec<i64> =
        oversight::db::query_scalar("SELECT id FROM reports ORDER BY id").fetch_all(&app.db).await.unwrap();
    let too_long = format!("Ask for the SOP. {}", "x".repeat(2000));
    let refused = reviewer.post(&format!("/reports/{}/comments", ids[1]), &[("body", &too_long)]).await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert_eq!(page.matches("id=\"error-summary\"").count(), 1, "one error summary");
    assert!(
        page.contains("<a href=\"#comment\">A comment is at most 2,000 characters; this one has 2017."),
        "summary"
    );
    assert!(page.contains("<p class=\"error-message\" id=\"comment-error\">"), "message next to the box");
    let textarea = &page[page.find("<textarea id=\"comment\"").expect("the refused box")..];
    let textarea = &textarea[..textarea.find("</textarea>").unwrap()];
    assert!(
        textarea.contains("aria-invalid=\"true\"")
            && textarea.contains("aria-describedby=\" comment-error\""),
        "{textarea}"
    );
    assert!(textarea.ends_with(&format!(">{too_long}")), "the typed text is kept");
    // The refused box belongs to the report it was written on; the other
    // report's box is empty and unmarked.
    let article = &page[page.find(&format!("id=\"report-{}\"", ids[1])).unwrap()..];
    assert!(article[..article.find("</article>").unwrap()].contains("<textarea id=\"comment\""));
    assert!(page.contains(&format!(
        "<textarea id=\"comment-{}\" name=\"body\" rows=\"2\" maxlength=\"2000\"></textarea>",
        ids[0]
    )));

    let empty = reviewer.post(&format!("/reports/{}/comments", ids[0]), &[("body", "   ")]).await;
    assert_eq!(empty.status(), 422);
    let page = empty.text().await.unwrap();
    assert!(page.contains("Write the comment before adding it."));
    let article = &page[page.find(&format!("id=\"report-{}\"", ids[0])).unwrap()..];
    assert!(article[..article.find("</article>").unwrap()].contains("aria-invalid=\"true\""));
    assert_eq!(app.count("report_comments").await, 0, "nothing was saved");
}

/// Administrators see the equity settings once: one heading, one set of
/// ids, one error summary when the settings are refused.
#[tokio::test]
async fn the_equity_settings_are_shown_once() {
    let app = spawn_app().await;
    app.user("admin", &[Role::Administrator]).await;
    let admin = app.signed_in("admin").await;
    let (status, page) = admin.get_text("/dashboard?from=2025-04-01&to=2025-06-30").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<h2 id=\"settings-title\">Equity settings</h2>").count(), 1);
    for id in ["id=\"population_shares\"", "id=\"latitude\"", "id=\"longitude\""] {
        assert_eq!(page.matches(id).count(), 1, "{id}");
    }
    let bad =
        admin.post("/dashboard/settings", &[("population_shares", "white=sixty"), ("latitude", "95")]).await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert_eq!(page.matches("id=\"error-summary\"").count(), 1, "one error summary");
    assert_eq!(page.matches("id=\"latitude-error\"").count(), 1);
}

/// Reports print on US Letter by default and on A4 once the agency chooses
/// it in its profile (an audited settings change); the tables still read
/// back in order on the narrower sheet.
#[tokio::test]
async fn the_agency_chooses_letter_or_a4_for_its_reports() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("admin", &[Role::Administrator]).await;
    let admin = app.signed_in("admin").await;
    let (_, form) = admin.get_text("/agency").await;
    assert!(
        form.contains("id=\"paper-letter\" name=\"paper_size\" value=\"letter\" checked"),
        "Letter by default"
    );
    let profile = |size: &'static str| {
        vec![
            ("name", "Test County Sheriff"),
            ("ori", "TX1010000"),
            ("state", "TX"),
            ("models", "JEM"),
            ("login_banner", "Restricted system. Use is monitored and audited."),
            ("time_zone", "America/Chicago"),
            ("mfa_policy", "optional"),
            ("paper_size", size),
        ]
    };
    let refused = admin.post("/agency", &profile("legal")).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Choose US Letter or A4."));
    let saved = admin.post("/agency", &profile("a4")).await;
    assert_eq!(saved.status(), 303);
    let (_, form) = admin.get_text("/agency").await;
    assert!(form.contains("id=\"paper-a4\" name=\"paper_size\" value=\"a4\" checked"));
    let details: String = oversight::db::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'settings.update' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["before"]["paper_size"], "letter", "{details}");
    assert_eq!(details["after"]["paper_size"], "a4", "{details}");

    let pdf = app.dir.path().join("a4.pdf");
    let (ok, out) =
        app.cli(&["report", "--from", "2025-04-01", "--to", "2025-06-30", "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (_, info) = tool("pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(info.contains("Page size:       595.276 x 841.89 pts (A4)"), "{info}");
    let (ok, check) = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(ok && check.contains("No syntax or stream encoding errors"), "{check}");
    let text = text_of(&pdf);
    let d3 = between(between(&text, "Stops and equity", "Accountability"), "D3 search rate by race\n", "D4 ");
    let hispanic = d3.lines().find(|l| l.trim_start().starts_with("Hispanic/Latino")).expect("hispanic row");
    assert!(
        hispanic.split_whitespace().collect::<Vec<_>>().ends_with(&[
            "3",
            "of",
            "3",
            "100.0%",
            "43.9–100.0%",
            "2.00",
            "0.75–5.33",
            "small",
            "sample"
        ]),
        "{hispanic}"
    );
}

/// The (type, text) of each heading in `pdfinfo -struct-text`'s reading
/// order: a line "H2 (block)" followed by its quoted text.
fn headings(structure: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = structure.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let kind = pair[0].trim().strip_suffix(" (block)")?;
            ["H1", "H2", "H3"]
                .contains(&kind)
                .then(|| (kind.to_string(), pair[1].trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// The texts of the cells of `kind` ("TH" or "TD") of the first table after
/// the line holding `after`, in reading order. Tables are children of the
/// Document, two spaces in; their rows and cells are deeper.
fn cells_of_table_after(structure: &str, after: &str, kind: &str) -> Vec<String> {
    let start = structure.find(after).unwrap_or_else(|| panic!("no {after} in the tree"));
    let lines: Vec<&str> = structure[start..]
        .lines()
        .skip_while(|l| *l != "  Table (block)")
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    let mut cells = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim().trim_end_matches(':') == kind {
            // A TH has its attributes on the next line, then its text.
            let text = lines[n + 1..].iter().find(|l| l.trim().starts_with('"')).unwrap();
            cells.push(text.trim().trim_matches('"').to_string());
        }
    }
    cells
}

/// Issue 15: the report a screen reader meets. Headings, tables with
/// header cells, lists and charts with their values in words are tagged in
/// reading order; a table over several pages keeps one header row; page
/// numbers are artifacts; the file claims PDF/UA-1 and PDF/A-2 and still
/// verifies.
#[tokio::test]
async fn the_report_is_tagged_in_reading_order_and_claims_pdf_ua_and_pdf_a() {
    let app = spawn_app().await;
    fixture(&app).await;
    // Sixty more designated officers: the appendix table runs over pages.
    for n in 0..60 {
        designated(&app, &common::active_officer(&format!("CC-{n:04}"), &format!("Officer{n:02}"))).await;
    }
    let pdf = app.dir.path().join("q2.pdf");
    let (ok, out) =
        app.cli(&["report", "--from", "2025-04-01", "--to", "2025-06-30", "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (tree, structure) = common::assert_tagged_pdf(&pdf);

    let headings = headings(&structure);
    assert_eq!(headings[0], ("H1".to_string(), "Oversight report".to_string()), "{headings:?}");
    assert_eq!(headings.iter().filter(|(kind, _)| kind == "H1").count(), 1);
    let sections: Vec<&str> = headings.iter().filter(|(k, _)| k == "H2").map(|(_, t)| t.as_str()).collect();
    let expected =
        ["Executive summary", "Training and authorization", "Supervision", "Stops and equity", "Methods"];
    let mut at = 0;
    for section in expected {
        at += sections[at..]
            .iter()
            .position(|s| *s == section)
            .unwrap_or_else(|| panic!("{section} in {sections:?}"));
    }
    let equity = headings.iter().position(|h| h.1 == "Stops and equity").unwrap();
    let d3 = headings.iter().position(|h| h == &("H3".to_string(), "D3 search rate by race".to_string()));
    assert!(d3.is_some_and(|d3| d3 > equity), "D3 by race is a measure heading of its section: {headings:?}");

    // Each measure table's header cells, then its rows as data cells.
    let d3 = cells_of_table_after(&structure, "\"D3 search rate by race\"", "TH");
    assert_eq!(d3, ["Group", "Count", "Rate", "95% interval", "Ratio", "Ratio's 95% interval", "Notes"]);
    let d3_rows = cells_of_table_after(&structure, "\"D3 search rate by race\"", "TD");
    let hispanic = d3_rows.iter().position(|c| c == "Hispanic/Latino").expect("a Hispanic row");
    assert_eq!(d3_rows[hispanic + 1..hispanic + 4], ["3 of 3", "100.0%", "43.9–100.0%"]);
    let training = cells_of_table_after(&structure, "\"Training and authorization\"", "TH");
    assert_eq!(
        training,
        ["Measure", "Definition", "Target", "Value", "Status", "Previous period", "Completeness"]
    );

    // The appendix runs over pages and prints its header on each, but its
    // table has one header row: the copies are artifacts.
    let text = text_of(&pdf);
    let printed = text
        .split('\u{c}')
        .filter(|page| page.contains("Officer59, Ana (CC-0059)") || page.contains("Officer00, Ana (CC-0000)"))
        .count();
    assert!(printed >= 2, "the appendix runs over pages");
    let headers = between(&text, "Appendix", "Methods")
        .lines()
        .filter(|l| l.trim_start().starts_with("Officer ") && l.contains("Model"))
        .count();
    assert!(headers >= 2, "its header is printed on every page of the table");
    let header = cells_of_table_after(&structure, "\"Appendix: officers' authorization and training\"", "TH");
    assert_eq!(header, ["Officer", "Model", "Status", "Reason", "Next due"]);
    let rows = cells_of_table_after(&structure, "\"Appendix: officers' authorization and training\"", "TD");
    assert_eq!(rows.len(), 61 * 5, "61 officers, five cells each");
    assert!(rows.contains(&"Nguyễn, Łucja (CC-4410)".to_string()), "names read back in full");

    // Charts carry their values in words; definitions are a list; page
    // numbers are not read out.
    let alt = tree
        .lines()
        .find(|l| l.starts_with("Figure: Bar chart of D3 search rate by race"))
        .expect("D3 chart");
    assert!(alt.contains("Hispanic/Latino: 100.0%") && alt.contains("White: 50.0%"), "{alt}");
    assert!(
        structure.contains("L (block)\n    LI (block)\n      LBody (block)\n        \"T1 "),
        "definitions list"
    );
    assert!(!structure.contains("Page 1 of"), "page numbers are artifacts");
    let text = between(&text, "Oversight report", "\u{0}");
    assert!(text.contains("Page 1 of"), "and still printed");

    let (ok, verdict) = app.cli(&["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok && verdict.starts_with("VERIFIED"), "{verdict}");
}
