//! Training and compliance: the measures T1-T4 and the roster against
//! expectations computed by hand on small fixtures, the CSV export, and the
//! CSV import of past training through the real command line.

mod common;

use std::process::Command;

use common::{TestApp, spawn_app};
use oversight::audit::Actor;
use oversight::auth::Role;
use oversight::measures::Period;
use oversight::officers::Designation;
use oversight::training::TrainingRecord;
use time::{Duration, macros::date};

fn actor() -> Actor {
    Actor::system("test setup")
}

async fn officer(app: &TestApp, badge: &str, last: &str) -> i64 {
    let o = common::active_officer(badge, last);
    oversight::officers::store::create(&app.scope, &actor(), &o).await.unwrap()
}

async fn designate(
    app: &TestApp,
    officer: i64,
    model: &str,
    nominated: &str,
    letter: Option<&str>,
    withdrawn: Option<&str>,
) {
    let d = Designation {
        model: model.into(),
        nominated_on: Some(nominated.into()),
        certified_on: letter.map(String::from),
        authorized_on: letter.map(String::from),
        withdrawn_on: withdrawn.map(String::from),
        withdrawal_reason: if withdrawn.is_some() { "notice".into() } else { String::new() },
        ..Default::default()
    };
    oversight::officers::store::add_designation(&app.scope, &actor(), officer, &d).await.unwrap();
}

/// Seeded catalog: 1 JEM initial 160 h, 2 TFM initial 40 h, 4 JEM
/// refresher every 24 months, 5 agency course every 12 months.
async fn trained(app: &TestApp, officer: i64, course: i64, on: &str, hours: f64, scores: &str) {
    let r = TrainingRecord {
        id: 0,
        officer_id: officer,
        course_id: course,
        completed_on: on.into(),
        hours,
        scores: scores.into(),
        provider: String::new(),
    };
    oversight::training::store::add_record(&app.scope, &actor(), officer, &r).await.unwrap();
}

#[tokio::test]
async fn measures_t1_to_t4_match_hand_computed_values() {
    let app = spawn_app().await;
    app.set_agency_models("JEM,TFM").await;
    let a = officer(&app, "A", "Adams").await;
    let b = officer(&app, "B", "Baker").await;
    let c = officer(&app, "C", "Cruz").await;
    let d = officer(&app, "D", "Diaz").await;
    let e = officer(&app, "E", "Evans").await;
    let f = officer(&app, "F", "Ford").await;
    for o in [a, b, c] {
        designate(&app, o, "JEM", "2024-01-01", None, None).await;
    }
    designate(&app, d, "TFM", "2024-05-01", None, None).await;
    designate(&app, e, "JEM", "2025-04-15", None, None).await; // after the period
    designate(&app, f, "JEM", "2023-01-01", None, Some("2024-12-01")).await; // withdrawn before it
    trained(&app, a, 1, "2023-03-10", 160.0, "90").await; // refresher due 2025-03-10: overdue at period end
    trained(&app, b, 1, "2024-06-01", 160.0, "60,75").await; // passed on remediation
    trained(&app, b, 5, "2025-01-20", 4.0, "").await; // no exam
    trained(&app, c, 1, "2025-02-10", 160.0, "55,65").await; // disqualified
    trained(&app, d, 2, "2025-03-05", 40.0, "85").await; // first pass

    let officers = oversight::officers::store::list(&app.scope, &Default::default()).await.unwrap();
    let evidence = oversight::officers::store::evidence(&app.scope).await.unwrap();
    let period = Period::new(date!(2025 - 01 - 01), date!(2025 - 03 - 31)).unwrap();
    let m = oversight::compliance::measures::training_measures(&officers, &evidence, period);
    let by_id = |id: &str| m.iter().find(|x| x.id == id).unwrap().clone();

    // Designated in the period: A, B, C, D (E starts later, F was withdrawn).
    let t1 = by_id("T1");
    assert_eq!((t1.current.numerator, t1.current.denominator), (2.0, Some(4.0)), "B and D are current");
    assert_eq!(t1.value_text(), "50.0%");
    assert_eq!(t1.status(), "not met");
    assert_eq!(by_id("T2").value_text(), "1", "A's refresher is past due");
    let t3 = by_id("T3");
    assert_eq!((t3.current.numerator, t3.current.denominator), (204.0, Some(4.0)));
    assert_eq!(t3.value_text(), "51.0 h");
    let t4 = by_id("T4");
    assert_eq!(
        (t4.current.numerator, t4.current.denominator),
        (1.0, Some(2.0)),
        "C failed, D passed first time"
    );
    assert!(t4.completeness.starts_with("1 of 3 training records"));

    // Previous period: the calendar quarter before, 2024-10-01..2024-12-31
    // (docs/measures.md); A, B, C, D and F designated; A and B current.
    assert_eq!(period.previous().from, date!(2024 - 10 - 01));
    assert_eq!((t1.previous.numerator, t1.previous.denominator), (2.0, Some(5.0)));
    assert_eq!(t1.previous_text(), "40.0%");
    assert_eq!(by_id("T2").previous_text(), "0");
    assert_eq!(t3.previous_text(), "0.0 h");
    assert_eq!(t4.previous_text(), "no data", "no exams: no data, never 0%");

    app.user("reviewer", &[Role::Reviewer]).await;
    let reviewer = app.signed_in("reviewer").await;
    let (status, page) = reviewer.get_text("/compliance?from=2025-01-01&to=2025-03-31").await;
    assert_eq!(status, 200);
    for text in [
        "T1 Training currency",
        "<strong>50.0%</strong>",
        "2 of 4",
        "40.0%",
        "51.0 h",
        "no data",
        "2024-10-01 to 2024-12-31",
    ] {
        assert!(page.contains(text), "page lacks {text}");
    }
}

#[tokio::test]
async fn the_roster_shows_every_status_and_exports_safe_csv() {
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    let today = time::OffsetDateTime::now_utc().date();
    let ago = |days: i64| oversight::web::format_date(today - Duration::days(days));
    let letter = ago(900);
    let cases = [
        ("C-1", "Current", 100, "90", 100, true),
        ("D-1", "Duesoon", 100, "90", 350, true),
        ("O-1", "Overdue", 800, "90", 100, true),
        ("Q-1", "Disqualified", 100, "50,60", 100, true),
        ("N-1", "=HYPERLINK(\"x\")", 100, "90", 100, false),
    ];
    let mut ids = std::collections::HashMap::new();
    for (badge, last, initial_days, scores, agency_days, has_letter) in cases {
        let id = officer(&app, badge, last).await;
        ids.insert(badge, id);
        designate(&app, id, "JEM", &ago(1000), has_letter.then_some(letter.as_str()), None).await;
        trained(&app, id, 1, &ago(initial_days), 160.0, scores).await;
        trained(&app, id, 5, &ago(agency_days), 4.0, "").await;
    }
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let (_, page) = clerk.get_text("/compliance").await;
    for (label, n) in [
        ("Current", 1),
        ("Due within 30 days", 1),
        ("Overdue", 1),
        ("Disqualified", 1),
        ("Not authorized", 1),
    ] {
        assert!(page.contains(&format!("{label}: {n}</a>")), "count of {label}");
    }
    let row = |page: &str, badge: &str| {
        let at = page.find(&format!("<td>{badge}</td>")).unwrap();
        page[at..].chars().take(700).collect::<String>()
    };
    assert!(row(&page, "C-1").contains(">Current<"));
    assert!(row(&page, "D-1").contains("Agency annual 287(g) policy and civil rights training due"));
    assert!(row(&page, "O-1").contains("287(g) Jail Enforcement Model refresher was due"));
    assert!(
        row(&page, "Q-1")
            .contains("disqualified: failed the 287(g) Jail Enforcement Model basic training exam")
    );
    assert!(row(&page, "N-1").contains("not yet certified by ICE"));
    let (_, overdue) = clerk.get_text("/compliance?status=overdue").await;
    assert!(overdue.contains("O-1") && !overdue.contains("<td>C-1</td>"));
    // The evidence behind the roster is kept between pages, so a new
    // training record must show on the very next one: O-1 takes the
    // refresher (course 4) and is current again, and the home page's
    // count of authorized officers follows.
    let authorized = |home: &str| -> u32 {
        let at = home.find("Authorized today").unwrap();
        let dd = &home[at..][home[at..].find("<dd>").unwrap() + 4..];
        dd[..dd.find("</dd>").unwrap()].parse().unwrap()
    };
    let before = authorized(&clerk.get_text("/").await.1);
    trained(&app, ids["O-1"], 4, &ago(10), 40.0, "").await;
    let (_, page) = clerk.get_text("/compliance").await;
    assert!(row(&page, "O-1").contains(">Current<"), "{}", row(&page, "O-1"));
    assert!(page.contains("Overdue: 0</a>"));
    assert_eq!(authorized(&clerk.get_text("/").await.1), before + 1, "the home page's count follows");

    let csv = clerk.post("/compliance/export", &[("model", "JEM"), ("status", "")]).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("badge,last_name,first_name,model,status,reason,next_due,as_of"));
    assert_eq!(text.lines().count(), 6);
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "formula neutralised: {text}");
    assert!(app.audit_actions().await.contains(&"roster.export".to_string()));
}

fn import(app: &TestApp, csv: &str, extra: &[&str]) -> (i32, String) {
    let path = app.dir.path().join(format!("training-{}.csv", csv.len()));
    std::fs::write(&path, csv).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["import", "training", path.to_str().unwrap()])
        .args(extra)
        .env("OVERSIGHT_DATABASE_URL", &app.db_url)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn the_csv_import_reports_every_bad_row_and_imports_all_or_nothing() {
    let app = spawn_app().await;
    officer(&app, "A-1", "Adams").await;
    officer(&app, "B-2", "Baker").await;
    let bad = "badge,course,completed_on,hours,scores,provider\n\
               A-1,287(g) Task Force Model basic training,2024-03-01,40,85,ICE Academy\n\
               Z-9,287(g) Task Force Model basic training,2024-03-01,40,85,ICE Academy\n\
               B-2,No such course,2024-03-01,40,,\n\
               B-2,287(g) Task Force Model basic training,2099-01-01,400,55;60;70,\n";
    let (code, out) = import(&app, bad, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3, column badge, value \"Z-9\": no officer has this badge number"), "{out}");
    assert!(
        out.contains(
            "line 4, column course, value \"No such course\": no course in the catalog has this name"
        ),
        "{out}"
    );
    assert!(out.contains("line 5, column completed_on, value \"2099-01-01\""), "{out}");
    assert!(out.contains("line 5, column hours, value \"400\""), "{out}");
    assert!(out.contains("line 5, column scores"), "{out}");
    assert!(out.contains("Nothing was imported: 5 problems in"), "{out}");
    assert_eq!(app.count("training_records").await, 0, "the good row was not imported either");

    let header = "badge,provider,course,completed_on,hours\nA-1,Academy,287(g) Task Force Model basic training,2024-03-01,40\n";
    let (code, out) = import(
        &app,
        &format!("{header}B-2,,287(g) Jail Enforcement Model basic training,2024-04-01,160\n"),
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Imported 2 training records"));
    assert_eq!(app.count("training_records").await, 2);
    let imports = app.audit_actions().await.iter().filter(|a| *a == "training.import").count();
    assert_eq!(imports, 1, "one audit entry for the whole file");

    let again = format!("{header}B-2,,287(g) Jail Enforcement Model basic training,2024-04-01,160\n");
    let (code, out) = import(&app, &again, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("was imported before"));
    let (code, _) = import(&app, &again, &["--force"]);
    assert_eq!(code, 0);
    assert_eq!(app.count("training_records").await, 4);

    let (code, out) = import(&app, "badge,course,when\nA-1,x,y\n", &[]);
    assert_eq!(code, 1);
    assert!(out.contains("line 1, column completed_on") && out.contains("line 1, column when"), "{out}");
}
