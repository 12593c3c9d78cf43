//! The dashboard's "records behind" each measure, over real HTTP: for a
//! second quarter of 2025 built by hand, every link of every measure is
//! followed and the records the list shows are counted; they must be the
//! records the measure counts (its denominator, or the count itself).

mod common;

use common::{Client, TestApp, spawn_app};
use oversight::audit::Actor;
use oversight::auth::Role;
use oversight::supervision::{Decision, RecordKind, store as supervision};

const Q2: &str = "from=2025-04-01&to=2025-06-30";

fn setup() -> Actor {
    Actor::system("test setup")
}

async fn officer(app: &TestApp, badge: &str, last: &str, status: &str, salary: Option<i64>) -> i64 {
    let o = oversight::officers::Officer {
        badge: badge.into(),
        last_name: last.into(),
        first_name: "Sam".into(),
        status: status.into(),
        annual_salary_cents: salary,
        ..Default::default()
    };
    oversight::officers::store::create(&app.scope, &setup(), &o).await.unwrap()
}

async fn designate(app: &TestApp, officer: i64, model: &str, nominated: &str, withdrawn: Option<&str>) {
    let d = oversight::officers::Designation {
        model: model.into(),
        nominated_on: Some(nominated.into()),
        withdrawn_on: withdrawn.map(Into::into),
        withdrawal_reason: if withdrawn.is_some() { "reassigned".into() } else { String::new() },
        ..Default::default()
    };
    oversight::officers::store::add_designation(&app.scope, &setup(), officer, &d).await.unwrap();
}

/// Course ids of the seeded catalogue: 1 JEM basic, 2 TFM basic, 4 JEM
/// refresher (24 months), 5 the agency's annual course.
async fn trained(app: &TestApp, officer: i64, course: i64, on: &str, hours: f64, scores: &str) {
    let r = oversight::training::TrainingRecord {
        id: 0,
        officer_id: officer,
        course_id: course,
        completed_on: on.into(),
        hours,
        scores: scores.into(),
        provider: "Academy".into(),
    };
    oversight::training::store::add_record(&app.scope, &setup(), officer, &r).await.unwrap();
}

async fn stop(app: &TestApp, date: &str, action_287g: bool, reason: &str, officer: Option<i64>) -> i64 {
    let s = oversight::stops::Stop {
        stop_date: date.into(),
        stop_time: Some("09:00".into()),
        location: "US-41".into(),
        stop_type: "vehicle".into(),
        officer_id: officer,
        perceived_race: ",white,".into(),
        perceived_gender: "male".into(),
        perceived_age: Some(40),
        reason: reason.into(),
        results: ",warning,".into(),
        action_287g: action_287g as i64,
        ..Default::default()
    };
    let _ = oversight::stops::store::create(&app.scope, &setup(), &s).await.unwrap();
    oversight::db::query_scalar("SELECT MAX(id) FROM stops").fetch_one(&app.db).await.unwrap()
}

/// An arrest; `kind` is "detainer", "warrant" or "" (no 287(g) action).
async fn arrest(
    app: &TestApp,
    at: &str,
    kind: &str,
    stop_id: Option<i64>,
    ended: Option<(&str, &str)>,
) -> i64 {
    let (date, time) = at.split_once(' ').unwrap();
    let mut a = oversight::arrests::Arrest {
        arrest_date: date.into(),
        arrest_time: time.into(),
        stop_id,
        charges: "Battery".into(),
        offense_class: "misdemeanor".into(),
        priority_level: "3".into(),
        arrest_type: "on_view".into(),
        detainer_lodged: (kind == "detainer") as i64,
        warrant_served: (kind == "warrant") as i64,
        ..Default::default()
    };
    match ended {
        Some(("transferred", t)) => a.transferred_at = Some(t.into()),
        Some((_, t)) => a.released_at = Some(t.into()),
        None => {}
    }
    let _ = oversight::arrests::store::create(&app.scope, &setup(), &a).await.unwrap();
    oversight::db::query_scalar("SELECT MAX(id) FROM arrests").fetch_one(&app.db).await.unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn complaint(
    app: &TestApp,
    received: &str,
    stop_id: Option<i64>,
    arrest_id: Option<i64>,
    forwarded: Option<&str>,
    closed: Option<(&str, &str)>,
) {
    let c = oversight::complaints::Complaint {
        received_on: received.into(),
        channel: "phone".into(),
        allegation: "discourtesy".into(),
        summary: "Rude at the stop".into(),
        stop_id,
        arrest_id,
        forwarded_to: if forwarded.is_some() { ",dhs_crcl,".into() } else { String::new() },
        forwarded_on: forwarded.map(Into::into),
        disposition: closed.map(|(_, d)| d).unwrap_or("pending").into(),
        closed_on: closed.map(|(on, _)| on.into()),
        ..Default::default()
    };
    oversight::complaints::store::create(&app.scope, &setup(), &c).await.unwrap();
}

async fn pay(app: &TestApp, officer: i64, start: &str, end: &str, overtime_dollars: i64) {
    let p = oversight::pay::PayPeriod {
        id: 0,
        officer_id: officer,
        period_start: start.into(),
        period_end: end.into(),
        base_pay_cents: 250_000,
        overtime_hours: 10.0,
        overtime_pay_cents: overtime_dollars * 100,
    };
    assert!(oversight::pay::store::save_pay(&app.scope, &setup(), officer, &p).await.is_ok());
}

async fn leads(app: &TestApp, officer: i64, quarter: &str, received: i64, located: i64) {
    let l = oversight::pay::Leads { id: 0, officer_id: officer, quarter: quarter.into(), received, located };
    assert!(oversight::pay::store::save_leads(&app.scope, &setup(), officer, &l).await.is_ok());
}

/// A decision signed at noon UTC of `day`.
async fn signed(app: &TestApp, reviewer: i64, kind: RecordKind, id: i64, decision: Decision, day: &str) {
    let record = supervision::load(&app.db, &app.scope, kind, id).await.unwrap();
    let reviewer = supervision::reviewer(&app.scope, reviewer).await.unwrap();
    let at =
        time::PrimitiveDateTime::new(oversight::web::parse_date(day).unwrap(), time::macros::time!(12:00))
            .assume_utc()
            .unix_timestamp();
    supervision::insert_past(
        &app.scope,
        &setup(),
        &record,
        &reviewer,
        decision,
        "checked",
        at,
        "America/New_York",
    )
    .await
    .unwrap();
}

/// Q2 2025 (1 April to 30 June), worked by hand.
///
/// Officers: Alvarez (JEM since 2023; basic training 2023-02-01, so the
/// 24-month refresher fell due 2025-02-01: overdue at period end; 4 h of
/// agency training without a score in May), Baker (TFM since January 2025;
/// TFM basic in April, 40 h, failed then passed: one exam), Chen (JEM since
/// 2024; JEM basic in May, 160 h, passed; the agency course in June, 4 h,
/// passed: two exams), Diaz (nominated in July: not designated in Q2, his
/// May exam not counted), Evans (withdrawn in March) and Ford (separated).
/// Designated: 3 (T1, T3); refresher overdue: 1 (T2); exams: 3 (T4); hours
/// 4 + 40 + 164 = 208 (T3: 208 h over 3 officers).
///
/// 287(g) stops in Q2: 2 (5 April, traffic; 6 May, other); a stop without
/// 287(g) action, one in March and one in July are not counted. 287(g)
/// arrests in Q2: 5 (a detainer after the April stop; ICE warrants of
/// 12 May transferred after 24 h, 2 June released after 72 h, 20 June
/// still open, 29 June 22:00 still open); one arrest without a 287(g)
/// action. T5, S1 and E3: 2 stops + 5 arrests = 7 actions. E5: the holds
/// ended or past 48 h by 1 July 00:00 are 12 May, 2 June and 20 June (3);
/// the 29 June hold, open for 26 h at period end, is left out.
///
/// Decisions signed in Q2: 4 (S2-S4); one signed in July is not.
///
/// Complaints involving 287(g) received in Q2: 4 (about the detainer
/// arrest; forwarded to CRCL; about the April 287(g) stop; about a 2024
/// detainer arrest, outside any period the measures load); one received in
/// Q2 involves none, one involving 287(g) was received in March. Closed in
/// Q2: 3 (C3, C4).
///
/// Pay: Alvarez ($73,000 a year; a quarter of 91/365 of it is $4,550)
/// claims $3,000 + $2,000 overtime in periods ending in Q2: over the cap;
/// Baker claims $1,000; a period ending in July and one ending in March
/// are outside. R1: 1 officer; R2: 3 pay periods. Leads of 2025-Q2: Alvarez
/// and Baker (2 counts, E6); Chen's are for Q1 and Q3.
async fn fixture(app: &TestApp) {
    let alvarez = officer(app, "A-1", "Alvarez", "active", Some(7_300_000)).await;
    let baker = officer(app, "B-2", "Baker", "active", Some(7_300_000)).await;
    let chen = officer(app, "C-3", "Chen", "active", None).await;
    let diaz = officer(app, "D-4", "Diaz", "active", None).await;
    let evans = officer(app, "E-5", "Evans", "active", None).await;
    let ford = officer(app, "F-6", "Ford", "separated", None).await;
    designate(app, alvarez, "JEM", "2023-01-10", None).await;
    designate(app, baker, "TFM", "2025-01-05", None).await;
    designate(app, chen, "JEM", "2024-06-01", None).await;
    designate(app, diaz, "JEM", "2025-07-15", None).await;
    designate(app, evans, "TFM", "2024-01-01", Some("2025-03-01")).await;
    designate(app, ford, "JEM", "2024-01-01", None).await;
    trained(app, alvarez, 1, "2023-02-01", 160.0, "85").await;
    trained(app, alvarez, 5, "2025-05-10", 4.0, "").await;
    trained(app, baker, 2, "2025-04-15", 40.0, "60,80").await;
    trained(app, chen, 1, "2025-05-20", 160.0, "90").await;
    trained(app, chen, 5, "2025-06-01", 4.0, "75").await;
    trained(app, diaz, 5, "2025-05-01", 4.0, "88").await;
    trained(app, ford, 5, "2025-05-02", 4.0, "91").await;

    let april = stop(app, "2025-04-05", true, "traffic_violation", Some(baker)).await;
    stop(app, "2025-05-06", true, "other", None).await;
    let plain = stop(app, "2025-06-07", false, "traffic_violation", None).await;
    let march = stop(app, "2025-03-20", true, "other", None).await;
    let july = stop(app, "2025-07-01", true, "other", None).await;
    let detainer = arrest(app, "2025-04-10 10:00", "detainer", Some(april), None).await;
    let transferred =
        arrest(app, "2025-05-12 09:00", "warrant", None, Some(("transferred", "2025-05-13 09:00"))).await;
    arrest(app, "2025-06-02 08:00", "warrant", None, Some(("released", "2025-06-05 08:00"))).await;
    arrest(app, "2025-06-20 12:00", "warrant", None, None).await;
    arrest(app, "2025-06-29 22:00", "warrant", None, None).await;
    arrest(app, "2025-06-10 10:00", "", None, None).await;
    let old = arrest(app, "2024-01-10 10:00", "detainer", None, None).await;

    app.user("sup", &[Role::Supervisor]).await;
    let sup: i64 = oversight::db::query_scalar("SELECT id FROM users WHERE username = 'sup'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    signed(app, sup, RecordKind::Stop, april, Decision::Approved, "2025-04-06").await;
    signed(app, sup, RecordKind::Arrest, detainer, Decision::Approved, "2025-04-11").await;
    signed(app, sup, RecordKind::Arrest, transferred, Decision::Returned, "2025-05-13").await;
    signed(app, sup, RecordKind::Stop, march, Decision::Approved, "2025-04-02").await;
    signed(app, sup, RecordKind::Stop, july, Decision::Approved, "2025-07-02").await;

    complaint(app, "2025-04-03", None, Some(detainer), None, Some(("2025-05-01", "sustained"))).await;
    complaint(app, "2025-04-20", Some(plain), None, Some("2025-04-21"), None).await;
    complaint(app, "2025-05-05", Some(april), None, None, Some(("2025-07-10", "not_sustained"))).await;
    complaint(app, "2025-05-15", None, Some(old), None, None).await;
    complaint(app, "2025-06-01", None, None, None, Some(("2025-06-15", "not_sustained"))).await;
    complaint(app, "2025-02-01", None, None, None, Some(("2025-04-30", "sustained"))).await;
    complaint(app, "2025-03-10", None, Some(detainer), None, None).await;

    pay(app, alvarez, "2025-04-01", "2025-04-14", 3_000).await;
    pay(app, alvarez, "2025-05-01", "2025-05-14", 2_000).await;
    pay(app, baker, "2025-06-01", "2025-06-14", 1_000).await;
    pay(app, chen, "2025-07-01", "2025-07-14", 9_000).await;
    pay(app, baker, "2025-03-18", "2025-03-31", 500).await;
    leads(app, alvarez, "2025-Q2", 10, 8).await;
    leads(app, baker, "2025-Q2", 5, 5).await;
    leads(app, chen, "2025-Q1", 4, 1).await;
    leads(app, chen, "2025-Q3", 4, 4).await;
}

/// The `<tr>` of a measure's row on the dashboard.
fn measure_row<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<th scope=\"row\">{id} ")).unwrap_or_else(|| panic!("no row for {id}"));
    let end = page[start..].find("</tr>").map(|i| start + i).unwrap();
    &page[start..end]
}

/// The (label, address) of each "records behind" link of a row.
fn links(row: &str) -> Vec<(String, String)> {
    let list =
        &row[row.find("<ul class=\"records\">").unwrap_or_else(|| panic!("no records list in {row}"))..];
    list.split("<a href=\"")
        .skip(1)
        .map(|part| {
            let (href, rest) = part.split_once('"').unwrap();
            let label = rest[1..rest.find('<').unwrap()].to_string();
            (href.replace("&amp;", "&").replace("&#38;", "&"), label)
        })
        .map(|(href, label)| (label, href))
        .collect()
}

/// The numerator/denominator text under a measure's value.
fn fraction(row: &str) -> String {
    let value = &row[row.find("<td><strong>").unwrap()..];
    let after = &value[value.find("<br><span class=\"muted\">").unwrap() + 24..];
    after[..after.find("</span>").unwrap()].to_string()
}

/// The rows of the first table body after `marker` (rows saying nothing
/// matches are not records).
fn body_rows(page: &str, marker: &str) -> usize {
    let from = page.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let body = &page[from..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.matches("<tr>").count() - body.matches("colspan=").count()
}

/// How many records a list page shows.
async fn listed(client: &Client, href: &str) -> usize {
    let (status, page) = client.get_text(href).await;
    assert_eq!(status, 200, "{href}");
    if href.starts_with("/officers") {
        if page.contains("<td class=\"counted\">") {
            return page
                .split("<td class=\"counted\">")
                .skip(1)
                .map(|c| c[..c.find('<').unwrap()].parse::<usize>().unwrap())
                .sum();
        }
        assert!(page.contains("id=\"counted\""), "{href} is filtered by its measure");
        return body_rows(&page, "<table>");
    }
    if href.starts_with("/supervision") {
        return if page.contains("class=\"sign-offs\"") {
            body_rows(&page, "class=\"sign-offs\"")
        } else {
            0
        };
    }
    assert!(!page.contains("rel=\"next\""), "{href} fits on one page");
    body_rows(&page, "<table")
}

#[tokio::test]
async fn every_measure_links_to_exactly_the_records_it_counts() {
    let app = spawn_app().await;
    fixture(&app).await;
    app.user("panel", &[Role::Reviewer, Role::Auditor]).await;
    let panel = app.signed_in("panel").await;
    let (status, page) = panel.get_text(&format!("/dashboard?{Q2}")).await;
    assert_eq!(status, 200);

    // (measure, the lists it links to, records on each, the measure's
    // numerator and denominator as the dashboard prints them).
    let expected: [(&str, &[&str], &[usize], &str); 17] = [
        ("T1", &["designated officers"], &[3], "2 of 3"),
        ("T2", &["officers with a refresher past due"], &[1], "1"),
        ("T3", &["designated officers"], &[3], "208 h over 3 officers"),
        ("T4", &["exams, by officer"], &[3], "2 of 3"),
        ("T5", &["stops", "arrests"], &[2, 5], "0 of 7"),
        ("S1", &["stops", "arrests"], &[2, 5], "2 of 7"),
        ("S2", &["decisions signed"], &[4], "3 of 4"),
        ("S3", &["decisions signed"], &[4], "23"),
        ("S4", &["decisions signed"], &[4], "1 of 4"),
        ("S5", &["refused self-reviews (audit log)"], &[0], "0"),
        ("E3", &["stops", "arrests"], &[2, 5], "2 of 7"),
        ("E5", &["ICE warrant holds"], &[3], "1 of 3"),
        ("E6", &["quarterly lead counts, by officer"], &[2], "13 of 15"),
        ("C2", &["complaints involving 287(g)"], &[4], "1 of 4"),
        ("C3", &["complaints closed"], &[3], "28"),
        ("C4", &["complaints closed"], &[3], "2 of 3"),
        ("R1", &["officers over the cap"], &[1], "1"),
    ];
    for (id, labels, counts, figure) in expected {
        let row = measure_row(&page, id);
        let found = links(row);
        let found_labels: Vec<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(found_labels, labels, "{id} links");
        assert_eq!(fraction(row), figure, "{id}");
        for ((label, href), count) in found.iter().zip(counts) {
            assert!(
                href.contains("from=2025-04-01") && href.contains("to=2025-06-30"),
                "{id} {label}: {href}"
            );
            assert_eq!(listed(&panel, href).await, *count, "{id} {label}: {href}");
        }
    }
    // C3: the median of 28, 14 and 88 days. S3: lags of 22, 23, 23 and
    // 311 hours (New York is UTC-4 in summer). R2: $2,500 base in each of
    // three pay periods and $6,000 overtime.
    assert!(measure_row(&page, "C3").contains("<strong>28.0 days</strong>"));
    assert!(measure_row(&page, "S3").contains("<strong>23.0 h</strong>"));
    let r2 = measure_row(&page, "R2");
    assert!(r2.contains("<strong>$13,500.00</strong>"), "{r2}");
    let r2 = links(r2);
    assert_eq!(r2.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["pay periods, by officer"]);
    assert_eq!(listed(&panel, &r2[0].1).await, 3, "R2 pay periods: {}", r2[0].1);
}

/// S5 counts refused self-reviews as the audit log records them, now.
#[tokio::test]
async fn the_self_review_link_lists_the_refused_attempts_of_the_period() {
    let app = spawn_app().await;
    let id = stop(&app, "2025-04-05", true, "other", None).await;
    supervision::refuse_self_review(&app.scope, &setup(), RecordKind::Stop, id, "own action").await.unwrap();
    supervision::refuse_self_review(&app.scope, &setup(), RecordKind::Stop, id, "own action").await.unwrap();
    app.user("panel", &[Role::Reviewer, Role::Auditor]).await;
    let panel = app.signed_in("panel").await;
    // A few days either side of today, so the agency's day and the audit
    // log's UTC day both hold the attempts.
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = (today - time::Duration::days(3), today + time::Duration::days(3));
    let (_, page) = panel.get_text(&format!("/dashboard?from={from}&to={to}")).await;
    let row = measure_row(&page, "S5");
    assert!(row.contains("<strong>2</strong>"), "{row}");
    let found = links(row);
    assert_eq!(listed(&panel, &found[0].1).await, 2, "{}", found[0].1);
    // A reviewer without the auditor's role sees what the list is, unlinked.
    app.user("reviewer", &[Role::Reviewer]).await;
    let reviewer = app.signed_in("reviewer").await;
    let (_, page) = reviewer.get_text(&format!("/dashboard?from={from}&to={to}")).await;
    let row = measure_row(&page, "S5");
    assert!(links(row).is_empty() && row.contains("not open to your role"), "{row}");
}

/// Every complaint is either involving 287(g) or not: the two filters of
/// the complaint list split the list between them (a complaint linked to
/// no stop or arrest is "not involving", not in neither).
#[tokio::test]
async fn the_287g_filter_splits_the_complaints_in_two() {
    let app = common::spawn_demo().await;
    let count = |involving: Option<bool>| {
        let filter = oversight::complaints::store::Filter { involving_287g: involving, ..Default::default() };
        let scope = app.scope.clone();
        async move { oversight::complaints::store::filtered(&scope, &filter).await.unwrap().len() }
    };
    let (all, yes, no) = (count(None).await, count(Some(true)).await, count(Some(false)).await);
    assert!(yes > 0 && no > 0, "the demo has complaints of both kinds: {yes} and {no}");
    assert_eq!(yes + no, all, "involving ({yes}) and not involving ({no}) make every complaint ({all})");
}
