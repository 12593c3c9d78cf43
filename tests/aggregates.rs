//! The stop aggregates (issue 12) against the records, on a real SQLite
//! file: random sequences of creates, edits, imports, refused imports and
//! corrections that recompute exceptions; after each sequence every
//! measure of random periods, read from the aggregates, equals the same
//! measure counted from the raw rows, a rebuild from the records finds
//! nothing to change, and the report's day digests (stops and arrests)
//! equal the digests recomputed from the records.

mod common;

use common::spawn_app;
use oversight::audit::Actor;
use oversight::measures::Period;
use oversight::measures::store::{Source, compute_from};
use oversight::stops::Stop;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const RACES: [&str; 7] = [",white,", ",black,", ",hispanic,", ",asian,", ",black,white,", "", ",other,"];
const RESULTS: [&str; 6] = [
    ",no_action,",
    ",warning,",
    ",citation,",
    ",arrest_with_warrant,",
    ",arrest_without_warrant,citation,",
    ",warning,citation,",
];

fn day(rng: &mut StdRng) -> time::Date {
    time::macros::date!(2025 - 01 - 01) + time::Duration::days(rng.gen_range(0..540))
}

/// A stop every write path accepts (the entry form's and the import's
/// rules), with values spread over every group the measures count.
fn random_stop(rng: &mut StdRng, officer: Option<i64>) -> Stop {
    let searched = rng.gen_bool(0.3);
    let mut actions: Vec<&str> = Vec::new();
    if searched {
        actions.push(if rng.gen_bool(0.5) { "search_person" } else { "search_property" });
    }
    if rng.gen_bool(0.1) {
        actions.push("physical_force");
    }
    if rng.gen_bool(0.05) {
        actions.push("firearm_pointed");
    }
    let contraband = match (searched, rng.gen_range(0..4)) {
        (false, _) => "",
        (true, 0) => "",
        (true, 1) => ",none,",
        (true, 2) => ",drugs,",
        _ => ",firearm,money,",
    };
    let action_287g = rng.gen_bool(0.1);
    Stop {
        stop_date: oversight::web::format_date(day(rng)),
        stop_time: rng
            .gen_bool(0.85)
            .then(|| format!("{:02}:{:02}", rng.gen_range(0..24), rng.gen_range(0..60))),
        duration_minutes: rng.gen_bool(0.9).then(|| rng.gen_range(1..90)),
        location: if rng.gen_bool(0.9) { "US-41 at Pine Ridge Rd".into() } else { String::new() },
        district: ["", "D1", "D2"][rng.gen_range(0..3)].into(),
        stop_type: "vehicle".into(),
        officer_id: officer.filter(|_| rng.gen_bool(0.9)),
        perceived_race: RACES.choose(rng).unwrap().to_string(),
        perceived_gender: ["male", "female", "", "nonconforming"][rng.gen_range(0..4)].into(),
        perceived_age: rng.gen_bool(0.9).then(|| rng.gen_range(14..85)),
        reason: "traffic_violation".into(),
        actions: if actions.is_empty() { String::new() } else { format!(",{},", actions.join(",")) },
        searched: searched as i64,
        contraband: contraband.into(),
        results: RESULTS.choose(rng).unwrap().to_string(),
        immigration_status_asked: rng.gen_bool(0.2) as i64,
        ice_contacted: action_287g as i64,
        action_287g: action_287g as i64,
        ..Default::default()
    }
}

fn random_arrest(rng: &mut StdRng, officer: i64) -> oversight::arrests::Arrest {
    oversight::arrests::Arrest {
        arrest_date: oversight::web::format_date(day(rng)),
        arrest_time: "10:00".into(),
        officer_id: Some(officer),
        person_name: ["Dana Ortiz", "Minh Tran"][rng.gen_range(0..2)].into(),
        charges: "Trespass".into(),
        offense_class: "misdemeanor".into(),
        priority_level: "3".into(),
        arrest_type: "on_view".into(),
        detainer_lodged: rng.gen_bool(0.5) as i64,
        perceived_race: RACES.choose(rng).unwrap().to_string(),
        ..Default::default()
    }
}

fn csv_of(stops: &[Stop], badge: &str) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(oversight::stops::import::NATIVE_COLUMNS).unwrap();
    for s in stops {
        let officer = if s.officer_id.is_some() { badge } else { "" };
        w.write_record(oversight::stops::export::native_row(s, officer)).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap().replace('\n', "\r\n")
}

#[tokio::test]
async fn measures_from_the_aggregates_equal_measures_from_the_records() {
    let app = spawn_app().await;
    let actor = Actor::system("test");
    let officer = app.authorized_tfm_officer().await;
    // A place, so D9 is computed (and its minutes kept).
    oversight::db::query(
        "UPDATE agency SET latitude = 26.142, longitude = -81.795, time_zone = 'America/New_York'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let mut tx = app.scope.begin_write().await.unwrap();
    oversight::stops::aggregates::place_changed(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let designation =
        oversight::officers::store::designations_of(&app.scope, officer).await.unwrap().remove(0);
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut ids: Vec<i64> =
            oversight::db::query_scalar("SELECT id FROM stops").fetch_all(&app.db).await.unwrap();
        for step in 0..40 {
            match rng.gen_range(0..10) {
                0..=3 => {
                    let saved = oversight::stops::store::create(
                        &app.scope,
                        &actor,
                        &random_stop(&mut rng, Some(officer)),
                    )
                    .await
                    .unwrap();
                    ids.push(saved.id);
                }
                4..=6 if !ids.is_empty() => {
                    let id = *ids.choose(&mut rng).unwrap();
                    let edited = Stop { id, ..random_stop(&mut rng, Some(officer)) };
                    oversight::stops::store::update(&app.scope, &actor, &edited).await.unwrap();
                }
                7 | 8 => {
                    let rows: Vec<Stop> =
                        (0..rng.gen_range(1..60)).map(|_| random_stop(&mut rng, Some(officer))).collect();
                    let mut text = csv_of(&rows, "CC-7003");
                    let refused = rng.gen_bool(0.3);
                    if refused {
                        // A row that breaks a rule: nothing of the file lands.
                        let bad =
                            csv_of(&[Stop { searched: 1, actions: String::new(), ..rows[0].clone() }], "");
                        text.push_str(bad.split_once("\r\n").unwrap().1);
                    }
                    let path = app.dir.path().join(format!("import-{seed}-{step}.csv"));
                    std::fs::write(&path, text).unwrap();
                    let format = oversight::stops::import::Format::Native;
                    let report = oversight::stops::import::import(&app.scope, &actor, &path, format, false)
                        .await
                        .unwrap();
                    assert_eq!(report.problem_count > 0, refused, "{:?}", report.problems);
                    ids =
                        oversight::db::query_scalar("SELECT id FROM stops").fetch_all(&app.db).await.unwrap();
                }
                9 if rng.gen_bool(0.5) => {
                    // Arrests: their day digests are kept as stops' are.
                    let arrests: Vec<i64> = oversight::db::query_scalar("SELECT id FROM arrests")
                        .fetch_all(&app.db)
                        .await
                        .unwrap();
                    let arrest = random_arrest(&mut rng, officer);
                    match arrests.choose(&mut rng) {
                        Some(id) if rng.gen_bool(0.5) => {
                            let edited = oversight::arrests::Arrest { id: *id, ..arrest };
                            oversight::arrests::store::update(&app.scope, &actor, &edited).await.unwrap();
                        }
                        _ => {
                            oversight::arrests::store::create(&app.scope, &actor, &arrest).await.unwrap();
                        }
                    }
                }
                _ => {
                    // A correction of the officer's authorization recomputes
                    // the exceptions of their 287(g) stops.
                    let authorized = oversight::web::format_date(day(&mut rng));
                    let d = oversight::officers::Designation {
                        authorized_on: Some(authorized),
                        ..designation.clone()
                    };
                    oversight::officers::store::update_designation(&app.scope, &actor, officer, d.id, &d)
                        .await
                        .unwrap();
                }
            }
        }
        for _ in 0..6 {
            let (a, b) = (day(&mut rng), day(&mut rng));
            let period = Period::new(a.min(b), a.max(b)).unwrap();
            let kept = compute_from(&app.scope, period, Source::Aggregates).await.unwrap().json();
            let counted = compute_from(&app.scope, period, Source::Records).await.unwrap().json();
            assert_eq!(kept, counted, "seed {seed}, {}", period.label());
        }
        for period in [
            Period::new(time::macros::date!(2025 - 01 - 01), time::macros::date!(2025 - 12 - 31)).unwrap(),
            Period::new(time::macros::date!(2026 - 04 - 01), time::macros::date!(2026 - 06 - 30)).unwrap(),
        ] {
            let kept = compute_from(&app.scope, period, Source::Aggregates).await.unwrap();
            let counted = compute_from(&app.scope, period, Source::Records).await.unwrap();
            assert_eq!(kept.json(), counted.json(), "seed {seed}, {}", period.label());
            let kept = oversight::reports::store::data_fingerprint(
                &app.scope,
                period,
                "v3",
                Source::Aggregates,
                &[],
            );
            let counted =
                oversight::reports::store::data_fingerprint(&app.scope, period, "v3", Source::Records, &[]);
            assert_eq!(kept.await.unwrap(), counted.await.unwrap(), "seed {seed}");
        }
        let mut tx = app.scope.begin_write().await.unwrap();
        let band = oversight::stops::aggregates::place_band(&mut tx).await.unwrap();
        let found = oversight::stops::aggregates::rebuild(&mut tx, band).await.unwrap();
        assert!(!found.any(), "seed {seed}: {found:?}");
        let arrest_days = oversight::arrests::store::rebuild_digests(&mut tx).await.unwrap();
        assert_eq!(arrest_days, 0, "seed {seed}");
        tx.rollback().await.unwrap();
    }
    let stops = app.count("stops").await;
    assert!(stops > 300, "the sequences wrote {stops} stops");
    // Large imports rebuild the stop indexes and refused ones roll that
    // back: either way every index is there at the end.
    let indexes: Vec<String> = oversight::db::query_scalar(if app.is_postgres() {
        "SELECT indexname FROM pg_indexes WHERE tablename = 'stops' AND indexname <> 'stops_pkey' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'stops' AND sql IS NOT NULL ORDER BY name"
    })
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(indexes, ["stops_287g", "stops_list", "stops_searched"]);
}

/// `oversight maintenance check-aggregates` finds a tampered aggregate,
/// says so with exit 1, rebuilds it, and then finds nothing.
#[tokio::test]
async fn the_check_finds_and_repairs_a_difference() {
    let app = spawn_app().await;
    let actor = Actor::system("test");
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..20 {
        oversight::stops::store::create(&app.scope, &actor, &random_stop(&mut rng, None)).await.unwrap();
    }
    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(ok, "{out}");
    assert!(out.contains("agree with the records"), "{out}");

    oversight::db::query(
        "UPDATE stop_tallies SET searches = searches + 1 WHERE day = (SELECT MIN(day) FROM stop_tallies)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    oversight::db::query("DELETE FROM stop_digests WHERE day = (SELECT MAX(day) FROM stop_digests)")
        .execute(&app.db)
        .await
        .unwrap();
    let arrest =
        oversight::arrests::Arrest { arrest_date: "2025-05-05".into(), ..random_arrest(&mut rng, 0) };
    let arrest = oversight::arrests::Arrest { officer_id: None, ..arrest };
    oversight::arrests::store::create(&app.scope, &actor, &arrest).await.unwrap();
    oversight::db::query("UPDATE arrest_digests SET arrests = 2").execute(&app.db).await.unwrap();
    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(!ok, "a difference exits 1: {out}");
    assert!(out.contains("differed from the records"), "{out}");
    assert!(out.contains("1 stop day digests"), "{out}");
    assert!(out.contains("1 arrest day digests"), "{out}");
    assert!(app.audit_actions().await.contains(&"stop.aggregates_rebuilt".to_string()));

    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(ok, "rebuilt, they agree again: {out}");

    // A place set outside the product (a restored settings row): the
    // minutes D9 reads were kept for no place, which the check says.
    oversight::db::query("UPDATE agency SET latitude = 26.142, longitude = -81.795")
        .execute(&app.db)
        .await
        .unwrap();
    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(!ok, "{out}");
    assert!(out.contains("did not match the agency's place"), "{out}");
    let minutes: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM stop_minutes").fetch_one(&app.db).await.unwrap();
    assert!(minutes > 0, "the rebuilt minutes are those of the place");
    let (ok, out) = app.cli(&["maintenance", "check-aggregates"]);
    assert!(ok, "{out}");
}

/// A report verifies against the records; an arrest changed behind the
/// product's back (raw SQL, so its digest is not kept) makes the check say
/// RECORDS CHANGED, and so does a name: the arrest's committed form still
/// covers it. (Reports are issued in v4, from the records; v3's kept day
/// digests are checked against the records in `tests/fingerprints.rs` and
/// above.)
#[tokio::test]
async fn a_report_is_checked_against_the_records_a_changed_arrest_or_name_shows() {
    let app = spawn_app().await;
    let actor = Actor::system("test");
    let officer = app.authorized_tfm_officer().await;
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..30 {
        let s = Stop { stop_date: "2026-04-10".into(), ..random_stop(&mut rng, Some(officer)) };
        oversight::stops::store::create(&app.scope, &actor, &s).await.unwrap();
    }
    let arrest =
        oversight::arrests::Arrest { arrest_date: "2026-04-11".into(), ..random_arrest(&mut rng, officer) };
    let arrest = oversight::arrests::store::create(&app.scope, &actor, &arrest).await.unwrap();
    let files = oversight::documents::files::FileStore::new(app.dir.path().join("files"));
    let period =
        Period::new(time::macros::date!(2026 - 04 - 01), time::macros::date!(2026 - 04 - 30)).unwrap();
    let (report, pdf) =
        oversight::reports::store::generate(&app.scope, &files, &actor, "test", period, &app.signing_key())
            .await
            .unwrap();
    assert_eq!(report.data_form, "v4");
    assert!(
        oversight::reports::store::verify(&app.db, &pdf, &app.signing_key()).await.unwrap().is_verified()
    );

    for change in
        ["UPDATE arrests SET charges = 'Burglary'", "UPDATE arrests SET person_name = 'Someone Else'"]
    {
        let before: String = oversight::db::query_scalar("SELECT charges || person_name FROM arrests")
            .fetch_one(&app.db)
            .await
            .unwrap();
        oversight::db::query(&format!("{change} WHERE id = {}", arrest.id)).execute(&app.db).await.unwrap();
        let verdict = oversight::reports::store::verify(&app.db, &pdf, &app.signing_key()).await.unwrap();
        assert!(!verdict.is_verified(), "{change}: {}", verdict.message());
        assert!(verdict.message().contains("RECORDS CHANGED"), "{}", verdict.message());
        oversight::db::query("UPDATE arrests SET charges = $1, person_name = $2")
            .bind(&arrest.charges)
            .bind(&arrest.person_name)
            .execute(&app.db)
            .await
            .unwrap();
        let restored = oversight::reports::store::verify(&app.db, &pdf, &app.signing_key()).await.unwrap();
        assert!(restored.is_verified(), "restored after {change} ({before}): {}", restored.message());
    }
}
