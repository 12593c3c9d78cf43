//! Every import names the line a text editor shows for a bad row, whatever
//! the file's line ends (LF, CRLF, a byte-order mark, quoted fields holding
//! line breaks), through the real command line; and every import refuses
//! a future date, as each entry form does, with nothing imported.

mod common;

use common::{TestApp, spawn_app};

fn write(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let path = app.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

async fn officer(app: &TestApp, badge: &str) {
    let o = oversight::officers::Officer {
        badge: badge.into(),
        last_name: "Reyes".into(),
        first_name: "Ana".into(),
        status: "active".into(),
        ..Default::default()
    };
    oversight::officers::store::create(&app.scope, &oversight::audit::Actor::system("t"), &o).await.unwrap();
}

/// One import: its command, table, header, a good row, the same good row
/// with a quoted field that holds a line break (`{EOL}` marks it), and a
/// bad row whose problem is reported as column `column`, value `value`.
struct Kind {
    args: &'static [&'static str],
    table: &'static str,
    header: &'static str,
    good: &'static str,
    quoted: &'static str,
    bad: &'static str,
    column: &'static str,
    value: &'static str,
}

const NATIVE_HEADER: &str = "stop_date,stop_time,duration_minutes,location,district,lat,lng,stop_type,call_for_service,officer_badge,assignment,years_of_service,perceived_race,perceived_gender,perceived_age,limited_english,perceived_disability,reason,traffic_violation,reason_narrative,actions,searched,search_basis,contraband,results,result_narrative,immigration_status_asked,ice_contacted,action_287g,exception";
const NATIVE_GOOD: &str = "2025-02-01,10:00,15,Main St,D1,,,vehicle,0,A-1,,,white,male,30,0,0,traffic_violation,moving,Speeding,,0,,,citation,,0,0,0,";

const KINDS: [Kind; 7] = [
    Kind {
        args: &["import", "stops", "--format", "opp"],
        table: "stops",
        header: "date,time,location",
        good: "2025-02-01,10:00:00,Main St",
        quoted: "2025-02-01,10:00:00,\"Main St{EOL}at 1st Ave\"",
        bad: "2025-02-30,10:00:00,Main St",
        column: "date",
        value: "2025-02-30",
    },
    Kind {
        args: &["import", "stops", "--format", "native"],
        table: "stops",
        header: NATIVE_HEADER,
        good: NATIVE_GOOD,
        quoted: "2025-02-01,10:00,15,\"Main St{EOL}at 1st Ave\",D1,,,vehicle,0,A-1,,,white,male,30,0,0,traffic_violation,moving,Speeding,,0,,,citation,,0,0,0,",
        bad: "2025-02-30,10:00,15,Main St,D1,,,vehicle,0,A-1,,,white,male,30,0,0,traffic_violation,moving,Speeding,,0,,,citation,,0,0,0,",
        column: "stop_date",
        value: "2025-02-30",
    },
    Kind {
        args: &["import", "arrests"],
        table: "arrests",
        header: "arrest_date,arrest_time,officer_badge,stop_id,person_name,person_dob,charges,offense_code,offense_class,priority_level,arrest_type,detainer_lodged,removal_paperwork,warrant_served,transferred_date,transferred_time,released_date,released_time,perceived_race,perceived_gender,perceived_age",
        good: "2025-02-01,22:10,A-1,,Jane Roe,1990-05-02,Battery,,misdemeanor,3,on_view,0,0,0,,,,,,,",
        quoted: "2025-02-01,22:10,A-1,,Jane Roe,1990-05-02,\"Battery;{EOL}resisting\",,misdemeanor,3,on_view,0,0,0,,,,,,,",
        bad: "2025-02-30,22:10,A-1,,Jane Roe,1990-05-02,Battery,,misdemeanor,3,on_view,0,0,0,,,,,,,",
        column: "arrest_date",
        value: "2025-02-30",
    },
    Kind {
        args: &["import", "complaints"],
        table: "complaints",
        header: "received_on,channel,allegation,summary,officer_badges,stop_id,arrest_id,forwarded_to,forwarded_on,disposition,closed_on",
        good: "2025-02-01,phone,discourtesy,Rude at a traffic stop,A-1,,,,,pending,",
        quoted: "2025-02-01,phone,discourtesy,\"Rude at a traffic stop;{EOL}called back twice\",A-1,,,,,pending,",
        bad: "2025-02-30,phone,discourtesy,Rude at a traffic stop,A-1,,,,,pending,",
        column: "received_on",
        value: "2025-02-30",
    },
    Kind {
        args: &["import", "pay"],
        table: "pay_periods",
        header: "officer_badge,period_start,period_end,base_pay,overtime_hours,overtime_pay",
        good: "A-1,2025-01-01,2025-01-14,2000.00,0,0.00",
        quoted: "A-1,2025-01-01,2025-01-14,\"2000.00{EOL}\",0,0.00",
        bad: "A-1,2025-02-30,2025-03-14,2000.00,0,0.00",
        column: "period_start",
        value: "2025-02-30",
    },
    Kind {
        args: &["import", "leads"],
        table: "leads",
        header: "officer_badge,quarter,received,located",
        good: "A-1,2025-Q1,10,9",
        quoted: "A-1,2025-Q1,\"10{EOL}\",9",
        bad: "A-1,2025-Q5,10,9",
        column: "quarter",
        value: "2025-Q5",
    },
    Kind {
        args: &["import", "training"],
        table: "training_records",
        header: "badge,course,completed_on,hours,scores,provider",
        good: "A-1,Agency annual 287(g) policy and civil rights training,2025-02-01,4,,Training unit",
        quoted: "A-1,Agency annual 287(g) policy and civil rights training,2025-02-01,4,,\"Training unit{EOL}room 2\"",
        bad: "A-1,Agency annual 287(g) policy and civil rights training,2025-02-30,4,,Training unit",
        column: "completed_on",
        value: "2025-02-30",
    },
];

/// A file: the header, then `rows`, each line ended by `eol`.
fn file(bom: bool, eol: &str, header: &str, rows: &[&str]) -> Vec<u8> {
    let mut text = String::from(if bom { "\u{feff}" } else { "" });
    for line in std::iter::once(header).chain(rows.iter().copied()) {
        text.push_str(&line.replace("{EOL}", eol));
        text.push_str(eol);
    }
    text.into_bytes()
}

#[tokio::test]
async fn every_import_reports_the_line_an_editor_shows_for_every_line_end() {
    let app = spawn_app().await;
    officer(&app, "A-1").await;
    for kind in &KINDS {
        // (what, the file, the bad row's line in an editor)
        let variants: [(&str, Vec<u8>, u64); 6] = [
            ("LF", file(false, "\n", kind.header, &[kind.good, kind.good, kind.bad]), 4),
            ("CRLF", file(false, "\r\n", kind.header, &[kind.good, kind.good, kind.bad]), 4),
            ("BOM and CRLF", file(true, "\r\n", kind.header, &[kind.good, kind.good, kind.bad]), 4),
            (
                "a quoted line break, LF",
                file(false, "\n", kind.header, &[kind.good, kind.quoted, kind.bad]),
                5,
            ),
            (
                "a quoted line break, CRLF",
                file(false, "\r\n", kind.header, &[kind.good, kind.quoted, kind.bad]),
                5,
            ),
            (
                "a blank line, BOM and CRLF",
                file(true, "\r\n", kind.header, &[kind.good, "", kind.quoted, kind.bad]),
                6,
            ),
        ];
        for (what, bytes, line) in variants {
            let path = write(&app, "file.csv", &bytes);
            let mut args = kind.args.to_vec();
            args.push(&path);
            let (ok, out) = app.cli(&args);
            let expected = format!("line {line}, column {}, value \"{}\"", kind.column, kind.value);
            assert!(
                !ok && out.contains(&expected),
                "{:?} with {what}: expected {expected}:\n{out}",
                kind.args
            );
            assert!(out.contains("Nothing was imported"), "{:?} with {what}: {out}", kind.args);
            assert_eq!(app.count(kind.table).await, 0, "{:?} with {what}", kind.args);
        }
        // The good rows alone import, whatever the line ends.
        let good = file(true, "\r\n", kind.header, &[kind.quoted]);
        let path = write(&app, &format!("good-{}.csv", kind.table), &good);
        let mut args = kind.args.to_vec();
        args.push(&path);
        let (ok, out) = app.cli(&args);
        assert!(ok, "{:?}: {out}", kind.args);
        oversight::db::query(&format!("DELETE FROM {}", kind.table)).execute(&app.db).await.unwrap();
    }
}

#[tokio::test]
async fn the_web_import_reports_the_same_lines() {
    let app = spawn_app().await;
    app.user("clerk", &[oversight::auth::Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;
    let token = clerk.token("/stops/import").await;
    let bytes = file(true, "\r\n", KINDS[0].header, &[KINDS[0].good, KINDS[0].quoted, KINDS[0].bad]);
    let form = reqwest::multipart::Form::new()
        .text("format", "opp")
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("stops.csv"));
    let response = clerk
        .http
        .post(format!("{}/stops/import", clerk.base))
        .header("x-csrf-token", &token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("line 5, column date, value ") && body.contains("2025-02-30"), "{body}");
    assert_eq!(app.count("stops").await, 0);
}

/// A day after the agency's today wherever it is.
fn future() -> time::Date {
    time::OffsetDateTime::now_utc().date() + time::Duration::days(400)
}

#[tokio::test]
async fn every_import_refuses_a_future_date_as_its_form_does() {
    let app = spawn_app().await;
    officer(&app, "A-1").await;
    let day = oversight::web::format_date(future());
    let quarter = format!("{}-Q{}", future().year(), (future().month() as u8 - 1) / 3 + 1);
    for kind in &KINDS {
        let value = if kind.column == "quarter" { quarter.clone() } else { day.clone() };
        let bad = kind.bad.replacen(kind.value, &value, 1);
        // The pay period's end is in the future too; only its start is asserted.
        let bad =
            if kind.table == "pay_periods" { format!("A-1,{value},{value},2000.00,0,0.00") } else { bad };
        let path = write(&app, "future.csv", &file(false, "\n", kind.header, &[kind.good, &bad]));
        let mut args = kind.args.to_vec();
        args.push(&path);
        let (ok, out) = app.cli(&args);
        let expected = format!("line 3, column {}, value \"{value}\": ", kind.column);
        assert!(!ok && out.contains(&expected), "{:?}: expected {expected}:\n{out}", kind.args);
        let reason = out.lines().find(|l| l.contains(&expected)).unwrap_or_default().to_lowercase();
        assert!(reason.contains("future"), "{:?}: the reason says why: {reason}", kind.args);
        assert!(out.contains("Nothing was imported"), "{:?}: {out}", kind.args);
        assert_eq!(app.count(kind.table).await, 0, "{:?}", kind.args);
    }
}

/// A rule broken on purpose: the column and value reported, what the row
/// changes from the good one, and a few words of the reason.
type Broken = (&'static str, &'static str, Vec<(&'static str, &'static str)>, &'static str);

/// Stop rows that break one rule of the entry form each, native and Open
/// Policing: each refused on its line, column and value, with the reason.
#[tokio::test]
async fn the_stop_import_applies_the_stop_forms_rules() {
    let app = spawn_app().await;
    officer(&app, "A-1").await;
    let columns: Vec<&str> = NATIVE_HEADER.split(',').collect();
    let good: Vec<&str> = NATIVE_GOOD.split(',').collect();
    let row = |changes: &[(&str, &str)]| -> String {
        let mut values = good.clone();
        for (column, value) in changes {
            let i = columns.iter().position(|c| c == column).unwrap();
            values[i] = value;
        }
        values.join(",")
    };
    let native: [Broken; 14] = [
        ("lng", "", vec![("lat", "26.1")], "both latitude and longitude"),
        ("duration_minutes", "0", vec![("duration_minutes", "0")], "from 1 to 1440"),
        ("duration_minutes", "12.5", vec![("duration_minutes", "12.5")], "whole number"),
        ("perceived_age", "0", vec![("perceived_age", "0")], "from 1 to 120"),
        ("years_of_service", "2.5", vec![("years_of_service", "2.5")], "whole number"),
        ("traffic_violation", "moving", vec![("reason", "known_warrant")], "only goes with the reason"),
        ("searched", "1", vec![("searched", "1")], "exactly when the actions"),
        ("searched", "0", vec![("actions", "search_person"), ("search_basis", "consent")], "exactly when"),
        ("search_basis", "consent", vec![("search_basis", "consent")], "only goes with"),
        ("contraband", "drugs", vec![("contraband", "drugs")], "only goes with"),
        (
            "contraband",
            "none;drugs",
            vec![("actions", "search_person"), ("searched", "1"), ("contraband", "none;drugs")],
            "none cannot go with",
        ),
        ("results", "", vec![("results", "")], "how the stop ended"),
        ("results", "no_action;citation", vec![("results", "no_action;citation")], "cannot go with other"),
        ("ice_contacted", "0", vec![("action_287g", "1")], "ICE was contacted"),
    ];
    for (column, value, changes, reason) in native {
        let bad = row(&changes);
        let path = write(&app, "rule.csv", &file(false, "\r\n", NATIVE_HEADER, &[NATIVE_GOOD, &bad]));
        let (ok, out) = app.cli(&["import", "stops", "--format", "native", &path]);
        let expected = format!("line 3, column {column}, value \"{value}\": ");
        let line = out.lines().find(|l| l.contains(&expected)).unwrap_or_default();
        assert!(!ok && line.contains(reason), "{changes:?}: expected {expected}… {reason}:\n{out}");
        assert!(out.contains("Nothing was imported"), "{changes:?}: {out}");
    }
    let opp: [(&str, &str, &str); 3] = [
        ("lat,lng\n", "26.1,NA\n", "line 2, column lng, value \"NA\": give both latitude and longitude"),
        ("subject_age\n", "0\n", "line 2, column subject_age, value \"0\": not a number from 1 to 120"),
        (
            "contraband_found,search_conducted\n",
            "TRUE,FALSE\n",
            "line 2, column contraband_found, value \"TRUE\": contraband found only goes with a search",
        ),
    ];
    for (header, row, expected) in opp {
        let text = format!("date,{header}2025-02-01,{row}");
        let path = write(&app, "rule.csv", text.as_bytes());
        let (ok, out) = app.cli(&["import", "stops", "--format", "opp", &path]);
        assert!(!ok && out.contains(expected), "{text}: expected {expected}:\n{out}");
    }
    assert_eq!(app.count("stops").await, 0, "nothing imported by any of them");
    // The good row itself passes every rule.
    let path = write(&app, "good.csv", &file(false, "\n", NATIVE_HEADER, &[NATIVE_GOOD]));
    let (ok, out) = app.cli(&["import", "stops", "--format", "native", &path]);
    assert!(ok, "{out}");
}
