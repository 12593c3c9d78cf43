//! The demo database has what the README promises: one account per role,
//! at least 40 officers in every compliance status, training histories,
//! certificates, and an intact audit chain.

mod common;

use oversight::compliance::{Status, assess};

#[tokio::test]
async fn the_demo_covers_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::scratch_database(dir.path(), "demo").await;
    let files = dir.path().join("files");
    let sign_ins = oversight::demo::create(&url, &files).await.unwrap();
    assert_eq!(sign_ins.len(), 5);
    // Recreating a demo database is allowed; any other database is refused.
    oversight::demo::create(&url, &files).await.unwrap();
    let other = common::scratch_database(dir.path(), "real").await;
    let real = oversight::db::connect(&other).await.unwrap();
    let actor = oversight::audit::Actor::system("test");
    oversight::audit::record_alone(
        &real,
        &actor,
        oversight::audit::Event::new("officer.create", "officer", 1),
    )
    .await
    .unwrap();
    real.close().await;
    let other_files = dir.path().join("other-files");
    assert!(oversight::demo::create(&other, &other_files).await.is_err());
    let real = oversight::db::connect(&other).await.unwrap();
    let entries: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&real).await.unwrap();
    assert_eq!(entries, 1, "the other database is left as it was");

    let db = oversight::db::connect(&url).await.unwrap();
    let officers =
        oversight::officers::store::list(&common::scope(&db).await, &Default::default()).await.unwrap();
    assert!(officers.len() >= 40);
    let evidence = oversight::officers::store::evidence(&common::scope(&db).await).await.unwrap();
    let today = oversight::agency::store::get(&common::scope(&db).await).await.unwrap().today();
    let mut seen = std::collections::BTreeSet::new();
    for officer in &officers {
        let ev = evidence.of(officer.id);
        for d in ev.designations {
            seen.insert(assess(officer, &ev, &d.model, today).status.code());
        }
    }
    for status in
        [Status::Current, Status::DueSoon, Status::Overdue, Status::Disqualified, Status::NotAuthorized]
    {
        assert!(seen.contains(status.code()), "no demo officer is {}", status.label());
    }
    let certificates: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM documents WHERE kind = 'certificate'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(certificates >= 3);
    let files = std::fs::read_dir(&files).unwrap().count() as i64;
    let versions: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM document_versions").fetch_one(&db).await.unwrap();
    assert_eq!(files, versions, "one stored file per version, none left from the first demo");
    for (table, at_least) in
        [("stops", 20_000), ("arrests", 100), ("complaints", 20), ("pay_periods", 100), ("leads", 10)]
    {
        let n: i64 = oversight::db::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&db)
            .await
            .unwrap();
        assert!(n >= at_least, "{table}: {n}");
    }
    // Groups differ: the search rate of one perceived group is not another's.
    let rate = |race: &'static str| {
        let db = db.clone();
        async move {
            let (searched, all): (i64, i64) = oversight::db::query_as(
                "SELECT CAST(SUM(searched) AS BIGINT), COUNT(*) FROM stops WHERE perceived_race = $1",
            )
            .bind(format!(",{race},"))
            .fetch_one(&db)
            .await
            .unwrap();
            searched as f64 / all as f64
        }
    };
    assert!(rate("black").await > 1.5 * rate("white").await, "plausible differences between groups");
    let sign_offs: i64 = oversight::db::query_scalar("SELECT COUNT(*) FROM stops WHERE action_287g = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(sign_offs > 10, "some stops led to 287(g) actions");
    let verdict = oversight::audit::store::verify(&common::scope(&db).await).await.unwrap();
    assert!(matches!(verdict, oversight::audit::Verdict::Intact { .. }), "{verdict:?}");
}
