//! Complaints, pay periods and leads through their forms, and what the
//! officer page derives from them: overtime against the 25% cap and the
//! quarterly award tier.

mod common;

use common::{location, spawn_app};
use oversight::auth::Role;

#[tokio::test]
async fn complaints_are_recorded_forwarded_and_closed() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[("badge", "A-1"), ("last_name", "Reyes"), ("first_name", "Ana"), ("status", "active")],
        )
        .await;
    let officer = location(&officer).trim_start_matches("/officers/").to_string();
    let bad = clerk
        .post(
            "/complaints/new",
            &[
                ("received_on", "2026-02-01"),
                ("channel", "phone"),
                ("disposition", "sustained"),
                ("summary", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("Choose the allegation.")
            && body.contains("Enter the closing date with the disposition.")
    );
    assert_eq!(app.count("complaints").await, 0);

    let created = clerk
        .post(
            "/complaints/new",
            &[
                ("received_on", "2026-02-01"),
                ("channel", "phone"),
                ("allegation", "profiling"),
                ("summary", "Stopped twice in a week"),
                ("officers", &officer),
                ("disposition", "pending"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let path = location(&created);
    let id = path.trim_start_matches("/complaints/");
    let closed = clerk
        .post(
            &format!("/complaints/{id}/edit"),
            &[
                ("received_on", "2026-02-01"),
                ("channel", "phone"),
                ("allegation", "profiling"),
                ("summary", "Stopped twice in a week"),
                ("officers", &officer),
                ("forwarded_to", "ice_opr"),
                ("forwarded_on", "2026-02-04"),
                ("disposition", "not_sustained"),
                ("closed_on", "2026-03-03"),
            ],
        )
        .await;
    assert_eq!(closed.status(), 303);
    let reviewer = app.signed_in("reviewer").await;
    let (_, page) = reviewer.get_text(&path).await;
    assert!(page.contains("ICE Office of Professional Responsibility on 2026-02-04 (3 days after receipt)"));
    assert!(page.contains("Not sustained, closed 2026-03-03 (30 days)"));
    assert!(page.contains("disposition: pending → not_sustained"), "history keeps the earlier version");
    let (_, list) = reviewer.get_text("/complaints?disposition=not_sustained").await;
    assert!(list.contains("<caption>1 complaint, newest first"));
}

#[tokio::test]
async fn overtime_cap_and_award_tiers_on_the_officer_page() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let officer = clerk
        .post(
            "/officers/new",
            &[
                ("badge", "T-1"),
                ("last_name", "Kim"),
                ("first_name", "Min"),
                ("status", "active"),
                ("annual_salary", "64000"),
            ],
        )
        .await;
    let id = location(&officer).trim_start_matches("/officers/").to_string();
    for (start, end, pay) in [
        ("2025-10-01", "2025-10-14", "9000"),
        ("2026-03-01", "2026-03-14", "8000"),
        ("2025-09-15", "2025-09-28", "5000"),
    ] {
        let r = clerk
            .post(
                &format!("/officers/{id}/pay/new"),
                &[
                    ("period_start", start),
                    ("period_end", end),
                    ("base_pay", "2,461.54"),
                    ("overtime_hours", "60"),
                    ("overtime_pay", pay),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{start}");
    }
    let duplicate = clerk
        .post(
            &format!("/officers/{id}/pay/new"),
            &[
                ("period_start", "2025-10-01"),
                ("period_end", "2025-10-14"),
                ("base_pay", "1"),
                ("overtime_hours", "0"),
                ("overtime_pay", "0"),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    assert!(duplicate.text().await.unwrap().contains("already recorded"));
    let bad = clerk
        .post(
            &format!("/officers/{id}/pay/new"),
            &[
                ("period_start", "2026-01-10"),
                ("period_end", "2026-01-01"),
                ("base_pay", "lots"),
                ("overtime_hours", "0"),
                ("overtime_pay", "100"),
            ],
        )
        .await;
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("cannot end before it starts")
            && body.contains("Enter the base pay in dollars")
            && body.contains("Overtime pay needs its hours")
    );

    for (q, r, l) in [("2026-Q1", "20", "19"), ("2026-Q2", "10", "8"), ("2026-Q3", "0", "0")] {
        let resp = clerk
            .post(&format!("/officers/{id}/leads/new"), &[("quarter", q), ("received", r), ("located", l)])
            .await;
        assert_eq!(resp.status(), 303);
    }
    let (_, page) = clerk.get_text(&format!("/officers/{id}")).await;
    // FY2026: $9,000 + $8,000 = $17,000 against 25% of $64,000 = $16,000.
    assert!(page.contains("<td>FY2026</td><td>$17,000.00</td><td>$16,000.00</td>"), "FY2026 row");
    assert!(page.contains("Over the cap</span> 106.2% of the cap"));
    assert!(page.contains("<td>FY2025</td><td>$5,000.00</td>"));
    assert!(page.contains("<td>2026-Q1</td><td>20</td><td>19</td><td>95.0%</td><td>$1,000.00</td>"));
    assert!(page.contains("<td>2026-Q2</td><td>10</td><td>8</td><td>80.0%</td><td>$750.00</td>"));
    assert!(page.contains("<td>2026-Q3</td><td>0</td><td>0</td><td>no data</td><td>no data</td>"));
}
