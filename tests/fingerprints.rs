//! Fingerprints survive a schema change (docs/fingerprints.md): after a
//! migration adds a column to every table a fingerprint covers (as the
//! statewide work will add the agency), existing sign-offs stay current and
//! an issued report still verifies; a report issued in form `report/v1`
//! is checked in v1.

mod common;

use common::spawn_app;
use oversight::audit::Actor;
use oversight::supervision::RecordKind;
use oversight::supervision::store::{Record, for_record, load};

#[tokio::test]
async fn a_new_column_changes_no_sign_off_and_no_issued_report() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    let officer = app.authorized_tfm_officer().await;
    let setup = Actor::system("test setup");
    let stop = oversight::stops::Stop {
        stop_date: "2026-04-01".into(),
        stop_time: Some("21:45".into()),
        stop_type: "vehicle".into(),
        officer_id: Some(officer),
        results: ",contacted_ice,".into(),
        ice_contacted: 1,
        action_287g: 1,
        ..Default::default()
    };
    let stop = oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    let arrest = oversight::arrests::Arrest {
        arrest_date: "2026-04-02".into(),
        arrest_time: "22:10".into(),
        officer_id: Some(officer),
        person_name: "Jane Roe".into(),
        person_dob: Some("1990-05-02".into()),
        charges: "Battery".into(),
        offense_class: "misdemeanor".into(),
        priority_level: "3".into(),
        arrest_type: "on_view".into(),
        detainer_lodged: 1,
        ..Default::default()
    };
    let arrest = oversight::arrests::store::create(&app.scope, &setup, &arrest).await.unwrap();
    let reviewer = app.user("sgt", &[oversight::auth::Role::Supervisor]).await;
    let reviewer = oversight::supervision::store::reviewer(&app.scope, reviewer).await.unwrap();
    for record in [Record::Stop(stop.clone()), Record::Arrest(arrest.clone())] {
        oversight::supervision::store::insert_past(
            &app.scope,
            &setup,
            &record,
            &reviewer,
            oversight::supervision::Decision::Approved,
            "",
            1_780_000_000,
            "America/New_York",
        )
        .await
        .unwrap();
    }
    let files = oversight::documents::files::FileStore::new(app.dir.path().join("files"));
    let period = oversight::measures::Period::new(
        time::macros::date!(2026 - 04 - 01),
        time::macros::date!(2026 - 04 - 30),
    )
    .unwrap();
    let (report, pdf) =
        oversight::reports::store::generate(&app.scope, &files, &setup, "test", period, &app.signing_key())
            .await
            .unwrap();
    assert_eq!(report.data_form, oversight::reports::forms::CURRENT);

    // A later migration adds a column to every table fingerprints cover.
    for table in
        ["stops", "arrests", "sign_offs", "officers", "designations", "training_records", "complaints"]
    {
        oversight::db::query(&format!(
            "ALTER TABLE {table} ADD COLUMN later_flag INTEGER NOT NULL DEFAULT 1"
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    let db = oversight::db::connect(&app.db_url).await.unwrap();
    for (kind, id) in [(RecordKind::Stop, stop.id), (RecordKind::Arrest, arrest.id)] {
        let scope = common::scope(&db).await;
        let record = load(&db, &scope, kind, id).await.unwrap();
        let signed = for_record(&scope, kind, id).await.unwrap();
        assert!(record.matches(&signed[0]), "the {kind:?} sign-off stays current");
    }
    let verdict = oversight::reports::store::verify(&db, &pdf, &app.signing_key()).await.unwrap();
    assert!(verdict.is_verified(), "{}", verdict.message());

    // A report issued in v1 is checked in v1: its fingerprint covers the
    // equal-length previous period and the arrests as they are.
    use oversight::measures::store::Source;
    let keyed = |form: &'static str, source, key: &'static [u8]| {
        let db = db.clone();
        async move {
            oversight::reports::store::data_fingerprint(&common::scope(&db).await, period, form, source, key)
                .await
                .unwrap()
        }
    };
    let fingerprint = |form: &'static str, source| keyed(form, source, b"");
    let v1 = fingerprint("v1", Source::Records).await;
    let v2 = fingerprint("v2", Source::Records).await;
    assert_ne!(v1, v2, "the forms differ where they say they do (the arrest's personal fields)");
    // v3 reads stops by day: from the day digests kept as they were
    // written, or recomputed from the stops; both give the same bytes, and
    // differ from v2's line per stop.
    let v3 = fingerprint("v3", Source::Aggregates).await;
    assert_eq!(v3, fingerprint("v3", Source::Records).await);
    assert_ne!(v3, v2);
    // v4 is a tree over the records, its leaves blinded by the report's
    // key: another key gives another root, the same key the same one.
    let v4 = keyed("v4", Source::Records, b"one report").await;
    assert_eq!(v4, keyed("v4", Source::Aggregates, b"one report").await);
    assert_ne!(v4, keyed("v4", Source::Records, b"another report").await);
    assert_ne!(v4, v3);
}

/// A v4 report reads its stops' content digests in place on SQLite
/// (`stops::store::for_each_content_digest`): every field, set or empty
/// (NULL), hashes exactly as the stop read through the query builder does.
#[tokio::test]
async fn stops_read_in_place_hash_as_stops_read_through_the_query_builder() {
    use oversight::stops::Stop;
    let app = common::spawn_app().await;
    let actor = oversight::audit::Actor::system("test");
    let officer = app.authorized_tfm_officer().await;
    let full = Stop {
        stop_date: "2026-04-02".into(),
        stop_time: Some("23:59".into()),
        duration_minutes: Some(17),
        location: "Calle Ñandú 7, «Vía» 🚓".into(),
        district: "D2".into(),
        lat: Some(26.142_000_000_1),
        lng: Some(-81.795),
        stop_type: "vehicle".into(),
        call_for_service: 1,
        officer_id: Some(officer),
        assignment: "Patrol".into(),
        years_of_service: Some(12),
        perceived_race: ",hispanic,".into(),
        perceived_gender: "female".into(),
        perceived_age: Some(34),
        limited_english: 1,
        perceived_disability: 1,
        reason: "traffic_violation".into(),
        traffic_violation: "moving".into(),
        reason_narrative: "Line one\nline two, \"quoted\"".into(),
        actions: ",search_person,".into(),
        searched: 1,
        search_basis: "consent".into(),
        contraband: ",drugs,".into(),
        results: ",citation,".into(),
        result_narrative: "Tab\there".into(),
        immigration_status_asked: 1,
        ice_contacted: 1,
        action_287g: 1,
        ..Default::default()
    };
    let bare = Stop { stop_date: "2026-04-03".into(), stop_type: "pedestrian".into(), ..Default::default() };
    let outside = Stop { stop_date: "2026-05-01".into(), ..full.clone() };
    for s in [&full, &bare, &outside] {
        oversight::stops::store::create(&app.scope, &actor, s).await.unwrap();
    }
    let (from, to) = ("2026-04-01", "2026-04-30");
    let mut in_place = Vec::new();
    oversight::stops::store::for_each_content_digest(&app.scope, from, to, |id, d| in_place.push((id, d)))
        .await
        .unwrap();
    in_place.sort();
    let mut decoded = Vec::new();
    oversight::stops::store::for_each_between(&app.scope, from, to, |s| {
        decoded.push((s.id, oversight::stops::aggregates::content_digest(s)))
    })
    .await
    .unwrap();
    decoded.sort();
    assert_eq!(in_place.len(), 2, "the period's two stops");
    assert_eq!(in_place, decoded);
}
