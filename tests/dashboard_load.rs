//! After a write, sixteen reviewers opening the dashboard at once compute
//! each of its sheets once, not once each. Alone in its binary: the count
//! of computed sheets is process-wide.

mod common;

use std::sync::atomic::Ordering;

use common::spawn_app;
use futures_util::future::join_all;
use oversight::auth::Role;
use oversight::measures::store::SHEETS_COMPUTED;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_views_after_a_write_compute_each_sheet_once() {
    let app = spawn_app().await;
    app.user("panel", &[Role::Reviewer]).await;
    let reviewers: Vec<_> = {
        let mut clients = Vec::new();
        for _ in 0..16 {
            clients.push(app.signed_in("panel").await);
        }
        clients
    };
    assert_eq!(reviewers[0].get("/dashboard").await.status(), 200);
    let per_view = SHEETS_COMPUTED.load(Ordering::SeqCst);
    assert!(per_view >= 2, "a view computes its periods' sheets: {per_view}");
    assert_eq!(reviewers[0].get("/dashboard").await.status(), 200);
    assert_eq!(SHEETS_COMPUTED.load(Ordering::SeqCst), per_view, "nothing changed: nothing computed");

    // A clerk's write moves the audit head: every sheet is stale.
    let setup = oversight::audit::Actor::system("clerk");
    let stop = oversight::stops::Stop {
        stop_date: oversight::web::format_date(time::OffsetDateTime::now_utc().date()),
        stop_type: "vehicle".into(),
        ..Default::default()
    };
    oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    let statuses =
        join_all(reviewers.iter().map(|c| async move { c.get("/dashboard").await.status() })).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        SHEETS_COMPUTED.load(Ordering::SeqCst),
        2 * per_view,
        "sixteen simultaneous views computed the sheets once, as one view does"
    );
}
