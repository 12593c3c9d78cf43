//! Issue 16 as users meet it, on the demo agency: its records plant one
//! officer (`demo::DEMO_PLANTED_OFFICER`) who stops Hispanic/Latino
//! drivers far more than peers in the same circumstances. Supervisors see
//! that officer flagged on the early-warning page, on the officer's page
//! and in the PDF report; clerks do not see the list; the adjusted veil of
//! darkness (D9a) carries its interval in the JSON, the CSV and the PDF.

mod common;

use common::spawn_demo;
use oversight::auth::Role;
use oversight::demo::DEMO_PLANTED_OFFICER;

/// The demo's last 364 days up to yesterday (its stops' year).
async fn year(app: &common::TestApp) -> (String, String) {
    let today = oversight::agency::store::get(&app.scope).await.unwrap().today();
    let day = |d: time::Date| oversight::web::format_date(d);
    (day(today - time::Duration::days(364)), day(today - time::Duration::days(1)))
}

/// The flagged table of the early-warning page (before the full list).
fn flagged_part(page: &str) -> &str {
    let from = page.find("Flagged for review").expect("the flagged section");
    let to = page[from..].find("Every comparison").map_or(page.len(), |i| from + i);
    &page[from..to]
}

#[tokio::test]
async fn the_planted_officer_is_flagged_for_supervisors_in_the_page_the_officer_page_and_the_report() {
    let app = spawn_demo().await;
    let (from, to) = year(&app).await;
    app.user("sup", &[Role::Supervisor]).await;
    app.user("clerk2", &[Role::Clerk]).await;
    let supervisor = app.signed_in("sup").await;

    let (status, page) = supervisor.get_text(&format!("/early-warning?from={from}&to={to}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("A prompt for supervisory review, not a finding"), "the wording says what it is");
    let flagged = flagged_part(&page);
    let row = flagged
        .lines()
        .find(|l| l.contains(DEMO_PLANTED_OFFICER) && l.contains("Hispanic/Latino share of stops"))
        .unwrap_or_else(|| {
            panic!("{DEMO_PLANTED_OFFICER} flagged for the Hispanic/Latino share:\n{flagged}")
        });
    assert!(row.contains("higher than peers: review"), "{row}");

    // A bad minimum is refused with a message, and what was typed stays.
    let (status, page) =
        supervisor.get_text(&format!("/early-warning?from={from}&to={to}&minimum=lots")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("The minimum is a whole number of stops") && page.contains("value=\"lots\""),
        "{page}"
    );

    // The officer's page carries the officer's part of the list.
    let scope = app.scope.clone();
    let officers = oversight::officers::store::list(&scope, &Default::default()).await.unwrap();
    let planted = officers.iter().find(|o| o.badge == DEMO_PLANTED_OFFICER).unwrap();
    let (status, page) = supervisor.get_text(&format!("/officers/{}", planted.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Early-warning list,") && page.contains("not a finding"), "{page}");

    // Clerks keep the officer page but neither the list nor its part.
    let clerk = app.signed_in("clerk2").await;
    assert_eq!(clerk.get(&format!("/early-warning?from={from}&to={to}")).await.status(), 403);
    let (status, page) = clerk.get_text(&format!("/officers/{}", planted.id)).await;
    assert_eq!(status, 200);
    assert!(!page.contains("Early-warning list"), "a clerk does not see the list");

    // The PDF report of the year has the section, the flagged row and D9a.
    let pdf = app.dir.path().join("year.pdf");
    let (ok, out) = app.cli(&["report", "--from", &from, "--to", &to, "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, text) = {
        let o = std::process::Command::new("pdftotext").args([pdf.to_str().unwrap(), "-"]).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    assert!(ok);
    let section = text.split("Officer early-warning list").nth(1).expect("the section");
    let section = &section[..section.find("Reported measures").unwrap_or(section.len())];
    // Table cells wrap: read the words in order.
    let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        section.contains(DEMO_PLANTED_OFFICER) && section.contains("higher than peers: review"),
        "{section}"
    );
    assert!(text.contains("D9a veil of darkness") && text.contains("95% interval"), "D9a with its interval");
    assert!(
        text.contains("Ridgeway and MacDonald 2009") && text.contains("Pierson et al. 2020"),
        "methods cite"
    );
}

#[tokio::test]
async fn the_adjusted_veil_of_darkness_carries_its_interval_in_json_and_csv() {
    let app = spawn_demo().await;
    let (from, to) = year(&app).await;
    let (ok, out) = app.cli(&["metrics", "--from", &from, "--to", &to, "--format", "json"]);
    assert!(ok, "{out}");
    let measures: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d9a = measures.as_array().unwrap().iter().find(|m| m["id"] == "D9a").expect("D9a on the demo");
    let (low, value, high) =
        (d9a["ci_low"].as_f64().unwrap(), d9a["value"].as_f64().unwrap(), d9a["ci_high"].as_f64().unwrap());
    assert!(0.0 < low && low < value && value < high, "{d9a}");
    // The Wald interval is symmetric on the log scale.
    assert!(((value / low).ln() - (high / value).ln()).abs() < 1e-9, "{d9a}");
    assert!(d9a["completeness"].as_str().unwrap().contains("stops in the window"), "{d9a}");
    // D9 (unadjusted) stays beside it, without an interval.
    let d9 = measures.as_array().unwrap().iter().find(|m| m["id"] == "D9").unwrap();
    assert!(d9["ci_low"].is_null() && d9["value"].is_f64());

    let (ok, csv) = app.cli(&["metrics", "--from", &from, "--to", &to, "--format", "csv"]);
    assert!(ok, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = reader.records().map(Result::unwrap).find(|r| &r[0] == "D9a").expect("D9a in the CSV");
    let low_csv: f64 = row[column("ci_low")].parse().unwrap();
    assert!((low_csv - low).abs() < 1e-4, "{row:?}");
}
