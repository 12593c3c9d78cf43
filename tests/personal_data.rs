//! Nothing derived from a person's name or date of birth that can be
//! tested by guessing reaches a role without personal-data access: every
//! date from 1900 to today, and the names themselves, are hashed and
//! looked for in every hex string of the reviewer's and auditor's pages and
//! of the auditor's audit-log export (docs/security.md, "Personal data in
//! hashes"). The export still verifies offline.

mod common;

use std::collections::HashSet;

use common::{location, spawn_app};
use oversight::auth::Role;
use sha2::{Digest, Sha256};

const NAMES: [&str; 2] = ["Zbigniew Przybylski-Nguyễn", "Ana Lucía Pérez"];
const DOBS: [&str; 2] = ["1988-07-09", "1961-02-28"];

/// Every maximal run of 8 or more hex digits in `text`.
fn hex_runs(text: &str) -> HashSet<String> {
    let mut runs = HashSet::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            current.push(c.to_ascii_lowercase());
        } else {
            if current.len() >= 8 {
                runs.insert(current.clone());
            }
            current.clear();
        }
    }
    runs
}

/// SHA-256 (hex) of every date 1900-01-01..today and of each name, in the
/// plain, lower-case and field-prefixed forms a careless design would use.
fn guesses() -> Vec<(String, String)> {
    let mut values: Vec<String> = NAMES.iter().flat_map(|n| [n.to_string(), n.to_lowercase()]).collect();
    let mut day = time::macros::date!(1900 - 01 - 01);
    let today = time::OffsetDateTime::now_utc().date();
    while day <= today {
        values.push(oversight::web::format_date(day));
        day = day.next_day().unwrap();
    }
    let mut out = Vec::new();
    for v in values {
        for form in [v.clone(), format!("person_dob{v}"), format!("person_name{v}"), format!("\"{v}\"")] {
            out.push((v.clone(), hex::encode(Sha256::digest(form.as_bytes()))));
        }
    }
    out
}

/// The value whose digest contains one of the hex runs of `text`, if any.
fn recovered(text: &str, guesses: &[(String, String)]) -> Option<String> {
    let runs = hex_runs(text);
    guesses
        .iter()
        .find(|(_, digest)| {
            runs.iter().any(|run| digest.contains(run.as_str()) || run.contains(digest.as_str()))
        })
        .map(|(value, _)| value.clone())
}

#[tokio::test]
async fn no_page_or_export_a_reviewer_or_auditor_reaches_can_be_tested_against_a_guess() {
    let app = spawn_app().await;
    app.set_agency_models("TFM").await;
    for role in Role::ALL {
        app.user(role.as_str(), &[role]).await;
    }
    let officer = app.authorized_tfm_officer().await.to_string();
    let clerk = app.signed_in("clerk").await;
    let mut paths = Vec::new();
    for (name, dob) in NAMES.iter().zip(DOBS) {
        let fields = [
            ("arrest_date", "2026-06-01"),
            ("arrest_time", "22:10"),
            ("officer_id", officer.as_str()),
            ("person_name", name),
            ("person_dob", dob),
            ("charges", "Driving with a suspended license"),
            ("offense_class", "misdemeanor"),
            ("priority_level", "3"),
            ("arrest_type", "on_view"),
            ("detainer_lodged", "1"),
            ("perceived_race", "hispanic"),
        ];
        let created = clerk.post("/arrests/new", &fields).await;
        assert_eq!(created.status(), 303, "arrest of {name}");
        paths.push(location(&created));
    }
    // An edit of the date of birth alone: its entry names only that field.
    let id = paths[0].trim_start_matches("/arrests/").to_string();
    let edit = [
        ("arrest_date", "2026-06-01"),
        ("arrest_time", "22:10"),
        ("officer_id", officer.as_str()),
        ("person_name", NAMES[0]),
        ("person_dob", "1988-07-10"),
        ("charges", "Driving with a suspended license"),
        ("offense_class", "misdemeanor"),
        ("priority_level", "3"),
        ("arrest_type", "on_view"),
        ("detainer_lodged", "1"),
        ("perceived_race", "hispanic"),
    ];
    assert_eq!(clerk.post(&format!("/arrests/{id}/edit"), &edit).await.status(), 303);
    // A supervisor signs one off, so sign-off fingerprints are on the pages.
    let supervisor = app.signed_in("supervisor").await;
    let (_, review) = supervisor.get_text(&format!("/supervision/review/arrest/{id}")).await;
    let field = |name: &str| {
        review
            .split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("review form carries {name}"))
            .to_string()
    };
    let (hash, latest) = (field("hash"), field("latest"));
    let signed = supervisor
        .post(
            &format!("/supervision/review/arrest/{id}"),
            &[
                ("decision", "approved"),
                ("comment", ""),
                ("password", common::PASSWORD),
                ("hash", &hash),
                ("latest", &latest),
            ],
        )
        .await;
    assert_eq!(signed.status(), 303, "sign-off");

    let guesses = guesses();
    let mut seen = String::new();
    for role in ["reviewer", "auditor"] {
        let client = app.signed_in(role).await;
        let mut pages: Vec<String> = paths.clone();
        pages.extend(["/arrests".into(), format!("/supervision/review/arrest/{id}"), "/supervision".into()]);
        if role == "auditor" {
            pages.push("/audit?object_kind=arrest".into());
        }
        for page in pages {
            let (status, body) = client.get_text(&page).await;
            assert!(status == 200 || status == 403, "{role} {page}: {status}");
            assert_eq!(recovered(&body, &guesses), None, "{role} {page} gives a personal value away");
            seen.push_str(&body);
        }
    }
    assert!(seen.contains("withheld"), "pages say the personal data is withheld");
    assert!(!seen.contains(NAMES[0]) && !seen.contains(DOBS[0]));

    let auditor = app.signed_in("auditor").await;
    let export = auditor.post("/audit/export", &[]).await;
    assert_eq!(export.status(), 200);
    let export = export.text().await.unwrap();
    assert!(export.contains("arrest.update"), "the edit is in the export");
    assert_eq!(recovered(&export, &guesses), None, "the audit export gives a personal value away");
    assert!(!export.contains(NAMES[0]) && !export.contains("1988-07"));
    let verdict = oversight::audit::verify_jsonl(export.as_bytes());
    assert!(matches!(verdict, oversight::audit::Verdict::Intact { .. }), "{verdict:?}");
}

#[test]
fn the_guessing_finds_a_plain_digest() {
    // The check itself: a 16-digit prefix of a plain SHA-256, as earlier
    // versions printed, is found.
    let guesses = guesses();
    let digest = hex::encode(Sha256::digest(b"1988-07-09"));
    let page = format!("person_dob: withheld, sha256 {}", &digest[..16]);
    assert_eq!(recovered(&page, &guesses).as_deref(), Some("1988-07-09"));
    assert_eq!(recovered("head 0123456789abcdef", &guesses), None);
}

/// A database written by an earlier version: an arrest entry with plain
/// digest prefixes and an arrest sign-off in form `arrest/v1`. Opening it
/// removes the digests, chains the log again, keeps the sign-off current
/// and still recognises the head an auditor held from before.
#[tokio::test]
async fn entries_written_before_are_cleaned_and_the_old_head_still_recognised() {
    let app = spawn_app().await;
    let officer = app.authorized_tfm_officer().await;
    let setup = oversight::audit::Actor::system("earlier version");
    let arrest = oversight::arrests::Arrest {
        arrest_date: "2026-06-01".into(),
        arrest_time: "22:10".into(),
        officer_id: Some(officer),
        person_name: NAMES[0].into(),
        person_dob: Some(DOBS[0].into()),
        charges: "Battery".into(),
        offense_class: "misdemeanor".into(),
        priority_level: "3".into(),
        arrest_type: "on_view".into(),
        detainer_lodged: 1,
        ..Default::default()
    };
    let id = oversight::arrests::store::create(&app.scope, &setup, &arrest).await.unwrap().id;
    let saved = oversight::arrests::store::get(&app.db, &app.scope, id).await.unwrap();
    // What earlier versions wrote: 16 hex digits of plain SHA-256.
    let plain = |v: &str| format!("withheld, sha256 {}", &hex::encode(Sha256::digest(v.as_bytes()))[..16]);
    let legacy = oversight::audit::Event::new("arrest.update", "arrest", id).details(serde_json::json!({
        "before": {"person_dob": plain("1988-07-08"), "charges": "Assault"},
        "after": {"person_dob": plain(DOBS[0]), "charges": "Battery"},
    }));
    oversight::audit::record_alone(&app.db, &setup, legacy).await.unwrap();
    let v1_hash = oversight::supervision::arrest_fingerprint(&saved, "v1").unwrap();
    let reviewer = app.user("sgt", &[Role::Supervisor]).await;
    let (sign_off,): (i64,) = oversight::db::query_as(
        "INSERT INTO sign_offs (record_kind, record_id, supersedes, decision, comment, reviewer_id, reviewer_name, \
         reviewer_kind, signed_at, action_at, record_hash, form, agency_id) \
         VALUES ('arrest', $1, 0, 'approved', '', $2, 'Sgt', 'agency', 1780000000, 1780000000, $3, 'v1', 1) RETURNING id",
    )
    .bind(id)
    .bind(reviewer)
    .bind(&v1_hash)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let signed = oversight::audit::Event::new("sign_off.approved", "arrest", id)
        .details(serde_json::json!({"sign_off": sign_off, "decision": "approved", "record_hash": v1_hash}));
    oversight::audit::record_alone(&app.db, &setup, signed).await.unwrap();
    oversight::audit::record_alone(&app.db, &setup, oversight::audit::Event::new("later.event", "x", 1))
        .await
        .unwrap();
    let (_, held): (i64, String) = oversight::audit::store::head(&app.scope).await.unwrap().unwrap();
    let guesses = guesses();
    let before: Vec<String> =
        oversight::db::query_scalar("SELECT details FROM audit_log").fetch_all(&app.db).await.unwrap();
    assert!(recovered(&before.join("\n"), &guesses).is_some(), "the legacy entry gives the date away");

    // The next start of any command upgrades the file.
    let db = oversight::db::connect(&app.db_url).await.unwrap();
    let after: Vec<String> =
        oversight::db::query_scalar("SELECT details FROM audit_log").fetch_all(&db).await.unwrap();
    let all = after.join("\n");
    assert_eq!(recovered(&all, &guesses), None, "no digest left to test a guess against");
    assert!(!all.contains(&v1_hash), "the v1 sign-off fingerprint is gone from the log");
    assert!(
        oversight::audit::store::verify(&common::scope(&db).await).await.unwrap().is_ok(),
        "the chain verifies after the rewrite"
    );
    let actions: Vec<String> =
        oversight::db::query_scalar("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(actions, ["audit.rewrite"]);
    let verdict =
        oversight::audit::store::verify_expecting(&common::scope(&db).await, Some(&held)).await.unwrap();
    assert!(
        matches!(&verdict, oversight::audit::Verdict::Intact { expected: Some(r), .. } if r.replaced),
        "the head held from before the rewrite is recognised: {verdict:?}"
    );
    // The sign-off itself keeps its v1 fingerprint and is still current.
    let record = oversight::supervision::store::load(
        &db,
        &common::scope(&db).await,
        oversight::supervision::RecordKind::Arrest,
        id,
    )
    .await
    .unwrap();
    let stored = oversight::supervision::store::for_record(
        &common::scope(&db).await,
        oversight::supervision::RecordKind::Arrest,
        id,
    )
    .await
    .unwrap();
    assert!(record.matches(&stored[0]), "a v1 sign-off stays current");
    // A second start changes nothing.
    let count = app.count("audit_log").await;
    drop(oversight::db::connect(&app.db_url).await.unwrap());
    assert_eq!(app.count("audit_log").await, count);
}
