//! A 287(g) action by an officer not authorized that day is a compliance
//! exception, whichever way it was written (the form, the native and Open
//! Policing stop imports, the arrest import), no file can set one, and a
//! corrected designation moves the exceptions of the officer's actions in
//! the same transaction (docs/authorization.md).

mod common;

use common::{TestApp, location, spawn_app};
use oversight::auth::Role;

/// Ferreira (CC-7003) is authorized from 2026-03-10: an action on 03-01 is
/// an exception, one on 04-01 is not.
async fn setup() -> (TestApp, i64) {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    app.user("clerk", &[Role::Clerk]).await;
    let officer = app.authorized_tfm_officer().await;
    (app, officer)
}

async fn stop_exceptions(app: &TestApp) -> Vec<(String, String)> {
    oversight::db::query_as("SELECT stop_date, exception FROM stops WHERE action_287g = 1 ORDER BY stop_date")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn arrest_exceptions(app: &TestApp) -> Vec<(String, String)> {
    oversight::db::query_as("SELECT arrest_date, exception FROM arrests ORDER BY arrest_date")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

fn marked(rows: &[(String, String)]) -> Vec<(&str, bool)> {
    rows.iter().map(|(d, e)| (d.as_str(), !e.is_empty())).collect()
}

#[tokio::test]
async fn the_forms_mark_an_action_before_authorization() {
    let (app, officer) = setup().await;
    let clerk = app.signed_in("clerk").await;
    let officer = officer.to_string();
    for date in ["2026-03-01", "2026-04-01"] {
        let stop = [
            ("stop_date", date),
            ("stop_time", "21:45"),
            ("duration_minutes", "18"),
            ("location", "US-41 at Pine Ridge Rd"),
            ("district", "D2"),
            ("stop_type", "vehicle"),
            ("officer_id", officer.as_str()),
            ("perceived_race", "hispanic"),
            ("perceived_gender", "male"),
            ("perceived_age", "34"),
            ("reason", "traffic_violation"),
            ("traffic_violation", "moving"),
            ("reason_narrative", "54 in a 35 zone"),
            ("results", "contacted_ice"),
            ("ice_contacted", "1"),
            ("action_287g", "1"),
            // A crafted form cannot set it either.
            ("exception", "none, trust me"),
        ];
        let saved = clerk.post("/stops/new", &stop).await;
        let status = saved.status();
        assert_eq!(status, 303, "stop of {date}: {}", saved.text().await.unwrap_or_default());
        let arrest = [
            ("arrest_date", date),
            ("arrest_time", "22:10"),
            ("officer_id", officer.as_str()),
            ("person_name", "Jane Roe"),
            ("charges", "Battery"),
            ("offense_class", "misdemeanor"),
            ("priority_level", "3"),
            ("arrest_type", "on_view"),
            ("detainer_lodged", "1"),
        ];
        let saved = clerk.post("/arrests/new", &arrest).await;
        assert_eq!(saved.status(), 303, "arrest of {date}");
        let (_, page) = clerk.get_text(&location(&saved)).await;
        assert_eq!(page.contains("Compliance exception"), date == "2026-03-01", "arrest page of {date}");
    }
    assert_eq!(marked(&stop_exceptions(&app).await), [("2026-03-01", true), ("2026-04-01", false)]);
    assert_eq!(marked(&arrest_exceptions(&app).await), [("2026-03-01", true), ("2026-04-01", false)]);
}

#[tokio::test]
async fn imports_decide_exceptions_by_the_same_rule_and_ignore_the_file() {
    let (app, _) = setup().await;
    let dir = app.dir.path();
    // The native file claims the opposite of the truth in its own column.
    let header = oversight::stops::import::NATIVE_COLUMNS.join(",");
    let row = |date: &str, claim: &str| {
        let mut values: Vec<String> = oversight::stops::import::NATIVE_COLUMNS
            .iter()
            .map(|c| {
                match *c {
                    "stop_date" => date,
                    "stop_time" => "21:45",
                    "location" => "US-41 at Pine Ridge Rd",
                    "stop_type" => "vehicle",
                    "officer_badge" => "cc-7003",
                    "reason" => "traffic_violation",
                    "traffic_violation" => "moving",
                    "results" => "contacted_ice",
                    "ice_contacted"
                    | "action_287g"
                    | "call_for_service"
                    | "limited_english"
                    | "perceived_disability"
                    | "searched"
                    | "immigration_status_asked" => "0",
                    "exception" => claim,
                    _ => "",
                }
                .to_string()
            })
            .collect();
        for (i, c) in oversight::stops::import::NATIVE_COLUMNS.iter().enumerate() {
            if *c == "ice_contacted" || *c == "action_287g" {
                values[i] = "1".into();
            }
        }
        values.join(",")
    };
    let native = dir.join("stops.csv");
    std::fs::write(
        &native,
        format!("{header}\r\n{}\r\n{}\r\n", row("2026-03-01", ""), row("2026-04-01", "forged")),
    )
    .unwrap();
    let (ok, out) = app.cli(&["import", "stops", "--format", "native", native.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(marked(&stop_exceptions(&app).await), [("2026-03-01", true), ("2026-04-01", false)]);
    let officer: Option<i64> =
        oversight::db::query_scalar("SELECT officer_id FROM stops LIMIT 1").fetch_one(&app.db).await.unwrap();
    assert!(officer.is_some(), "the lower-case badge matched the officer");

    // Open Policing files carry no 287(g) action: nothing to mark.
    let opp = dir.join("opp.csv");
    std::fs::write(&opp, "date,time,officer_id_hash,type\n2026-03-02,10:00,CC-7003,vehicular\n").unwrap();
    let (ok, out) = app.cli(&["import", "stops", "--format", "opp", opp.to_str().unwrap()]);
    assert!(ok, "{out}");
    let opp_exceptions: Vec<String> =
        oversight::db::query_scalar("SELECT exception FROM stops WHERE stop_date = '2026-03-02'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(opp_exceptions, [""]);

    let header = oversight::exchange::ARREST_COLUMNS.join(",");
    let arrest = |date: &str| {
        oversight::exchange::ARREST_COLUMNS
            .iter()
            .map(|c| match *c {
                "arrest_date" => date,
                "arrest_time" => "22:10",
                "officer_badge" => "CC-7003",
                "person_name" => "Jane Roe",
                "charges" => "Battery",
                "offense_class" => "misdemeanor",
                "priority_level" => "3",
                "arrest_type" => "on_view",
                "detainer_lodged" => "1",
                _ => "",
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let arrests = dir.join("arrests.csv");
    std::fs::write(&arrests, format!("{header}\n{}\n{}\n", arrest("2026-03-01"), arrest("2026-04-01")))
        .unwrap();
    let (ok, out) = app.cli(&["import", "arrests", arrests.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(marked(&arrest_exceptions(&app).await), [("2026-03-01", true), ("2026-04-01", false)]);
}

#[tokio::test]
async fn a_corrected_designation_moves_the_exceptions_with_it() {
    let (app, officer) = setup().await;
    let setup = oversight::audit::Actor::system("test setup");
    for date in ["2026-03-01", "2026-04-01"] {
        let stop = oversight::stops::Stop {
            stop_date: date.into(),
            stop_time: Some("21:45".into()),
            stop_type: "vehicle".into(),
            officer_id: Some(officer),
            results: ",contacted_ice,".into(),
            ice_contacted: 1,
            action_287g: 1,
            ..Default::default()
        };
        oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
    }
    assert_eq!(marked(&stop_exceptions(&app).await), [("2026-03-01", true), ("2026-04-01", false)]);
    // The letter was in fact dated 20 February.
    let designation =
        oversight::officers::store::designations_of(&app.scope, officer).await.unwrap().remove(0);
    let corrected =
        oversight::officers::Designation { authorized_on: Some("2026-02-20".into()), ..designation.clone() };
    oversight::officers::store::update_designation(&app.scope, &setup, officer, designation.id, &corrected)
        .await
        .unwrap();
    assert_eq!(marked(&stop_exceptions(&app).await), [("2026-03-01", false), ("2026-04-01", false)]);
    // ...and withdrawn from 25 March: the April stop is now outside it.
    let withdrawn = oversight::officers::Designation {
        withdrawn_on: Some("2026-03-25".into()),
        withdrawal_reason: "ICE notice".into(),
        ..corrected
    };
    oversight::officers::store::update_designation(&app.scope, &setup, officer, designation.id, &withdrawn)
        .await
        .unwrap();
    assert_eq!(marked(&stop_exceptions(&app).await), [("2026-03-01", false), ("2026-04-01", true)]);
    let entries: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'compliance.exceptions'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(entries, 2, "each recomputation is audited with the correction");
}
