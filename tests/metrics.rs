//! `oversight metrics` on a real SQLite file: the grouped queries behind
//! the equity measures against stops counted by hand, the JSON and CSV
//! shapes, and bad arguments refused.

mod common;

use common::spawn_app;
use oversight::audit::Actor;
use oversight::stops::Stop;

fn stop(
    date: &str,
    race: &str,
    gender: &str,
    age: i64,
    searched: bool,
    contraband: &str,
    results: &str,
) -> Stop {
    Stop {
        stop_date: date.into(),
        stop_time: Some("12:00".into()),
        location: "US-41".into(),
        stop_type: "vehicle".into(),
        perceived_race: race.into(),
        perceived_gender: gender.into(),
        perceived_age: Some(age),
        reason: "traffic_violation".into(),
        searched: searched as i64,
        contraband: contraband.into(),
        results: results.into(),
        ..Default::default()
    }
}

/// March 2025, counted by hand:
/// - White: 4 stops, 2 searched (1 found a firearm), 1 arrest;
/// - Hispanic: 3 stops, 3 searched (1 found drugs), 0 arrests;
/// - one stop perceived as both Black and White ("multiple");
/// - one stop in April, outside the period.
#[tokio::test]
async fn equity_counts_and_the_cli_match_a_hand_counted_fixture() {
    let app = spawn_app().await;
    let actor = Actor::system("test setup");
    let fixture = [
        stop("2025-03-01", ",white,", "male", 30, true, ",firearm,", ",arrest_without_warrant,"),
        stop("2025-03-02", ",white,", "female", 40, true, ",none,", ",citation,"),
        stop("2025-03-03", ",white,", "male", 22, false, "", ",warning,"),
        stop("2025-03-04", ",white,", "male", 70, false, "", ",no_action,"),
        stop("2025-03-05", ",hispanic,", "male", 30, true, ",drugs,", ",citation,"),
        stop("2025-03-06", ",hispanic,", "female", 31, true, ",none,", ",warning,"),
        stop("2025-03-07", ",hispanic,", "male", 17, true, ",none,", ",warning,"),
        stop("2025-03-08", ",black,white,", "male", 50, false, "", ",warning,"),
        stop("2025-04-01", ",hispanic,", "male", 30, true, ",drugs,", ",arrest_with_warrant,"),
    ];
    for s in &fixture {
        oversight::stops::store::create(&app.scope, &actor, s).await.unwrap();
    }
    let (ok, out) = app.cli(&["metrics", "--from", "2025-03-01", "--to", "2025-03-31"]);
    assert!(ok, "{out}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&out).expect("JSON");
    let find = |id: &str, grouping: &str| {
        all.iter()
            .find(|m| m["id"] == id && (grouping.is_empty() || m["grouping"] == grouping))
            .unwrap_or_else(|| panic!("{id} {grouping} missing"))
    };
    let row = |m: &serde_json::Value, group: &str| {
        m["groups"].as_array().unwrap().iter().find(|g| g["group"] == group).cloned()
    };
    let d1 = find("D1", "race");
    assert_eq!(d1["period"]["from"], "2025-03-01");
    // March is a calendar month: its baseline is February, not the 31
    // days before it (29 January to 28 February).
    let t1 = find("T1", "");
    assert_eq!(
        t1["previous_period"],
        serde_json::json!({ "from": "2025-02-01", "to": "2025-02-28" }),
        "{t1}"
    );
    // No designated officer: 0 of 0, not "-0".
    assert_eq!((t1["numerator"].to_string(), t1["display"].as_str()), ("0.0".into(), Some("no data")));
    let white = row(d1, "white").unwrap();
    assert_eq!((white["numerator"].as_i64(), white["denominator"].as_i64()), (Some(4), Some(8)));
    assert_eq!(row(d1, "multiple").unwrap()["numerator"], 1);
    assert!(row(d1, "black").is_none(), "a two-group stop is not counted twice");
    let d3 = find("D3", "race");
    let hispanic = row(d3, "hispanic").unwrap();
    // Hispanic 3/3 = 100% against White 2/4 = 50%: ratio 2.
    assert_eq!(hispanic["value"].as_f64(), Some(100.0));
    assert_eq!(hispanic["ratio"].as_f64(), Some(2.0));
    assert_eq!(hispanic["small_sample"], true);
    let d4 = find("D4", "race");
    // Hits: White 1/2 = 50%, Hispanic 1/3: ratio (1/3)/(1/2) = 0.667.
    let ratio = row(d4, "hispanic").unwrap()["ratio"].as_f64().unwrap();
    assert!((ratio - 2.0 / 3.0).abs() < 1e-9, "{ratio}");
    let d5 = find("D5", "race");
    assert_eq!(row(d5, "white").unwrap()["numerator"], 1);
    let d7 = find("D7", "race");
    assert_eq!(row(d7, "white").unwrap()["numerator"], 1);
    // Gender and age bands group the same stops.
    assert_eq!(row(find("D1", "gender"), "female").unwrap()["numerator"], 2);
    let ages = find("D1", "age");
    assert_eq!(row(ages, "25_34").unwrap()["numerator"], 3);
    assert_eq!(row(ages, "under_18").unwrap()["numerator"], 1);
    assert_eq!(row(ages, "65_plus").unwrap()["numerator"], 1);
    // Every measure family is there, each with its definition.
    for id in [
        "T1", "T2", "T3", "T4", "T5", "S1", "S2", "S3", "S4", "S5", "E1", "E2", "E3", "E4", "E5", "E6", "C1",
        "C2", "C3", "C4", "R1", "R2", "Q1",
    ] {
        assert!(!find(id, "")["definition"].as_str().unwrap().is_empty(), "{id}");
    }
    // No fixture stop records its duration or officer: none is complete.
    let q1 = &find("Q1", "")["groups"][0];
    assert_eq!((q1["numerator"].as_i64(), q1["denominator"].as_i64()), (Some(0), Some(8)));

    let (ok, csv) = app.cli(&["metrics", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "csv"]);
    assert!(ok);
    assert!(csv.starts_with("id,name,from,to,grouping,group,numerator,denominator,value,ratio_to_reference"));
    assert!(
        csv.lines()
            .any(|l| l
                .starts_with("D3,search rate,2025-03-01,2025-03-31,race,hispanic,3,3,100.0000,2.0000,yes")),
        "{csv}"
    );

    let (ok, err) = app.cli(&["metrics", "--from", "2025-03-31", "--to", "2025-03-01"]);
    assert!(!ok && err.contains("is after"));
    let (ok, err) = app.cli(&["metrics", "--from", "March", "--to", "2025-03-01"]);
    assert!(!ok && err.contains("YYYY-MM-DD"));
}

/// T5 against the one authorization rule: a TFM officer authorized from
/// 10 March 2026 acts on 5 March (not yet) and 12 October (authorized):
/// 1 of 2 actions under valid authority.
#[tokio::test]
async fn t5_counts_actions_by_officers_authorized_that_day() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    let actor = Actor::system("test setup");
    let id = app.authorized_tfm_officer().await;
    for date in ["2026-03-05", "2026-10-12"] {
        let arrest = oversight::arrests::Arrest {
            arrest_date: date.into(),
            arrest_time: "10:00".into(),
            officer_id: Some(id),
            charges: "Battery".into(),
            offense_class: "misdemeanor".into(),
            priority_level: "3".into(),
            arrest_type: "on_view".into(),
            detainer_lodged: 1,
            ..Default::default()
        };
        oversight::arrests::store::create(&app.scope, &actor, &arrest).await.unwrap();
    }
    let (ok, out) = app.cli(&["metrics", "--from", "2026-03-01", "--to", "2026-10-31"]);
    assert!(ok, "{out}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let t5 = all.iter().find(|m| m["id"] == "T5").unwrap();
    assert_eq!((t5["numerator"].as_f64(), t5["denominator"].as_f64()), (Some(1.0), Some(2.0)), "{t5}");
    assert_eq!(t5["display"], "50.0%");
}
