//! Retention of personal values (docs/retention.md): the setting is at
//! least a year, a purge blanks the name and date of birth of arrests
//! older than it and audits each, and everything issued before still
//! verifies: the audit chain against a checkpoint signed before the purge,
//! the report that covered the arrest, the sign-off fingerprint.

mod common;

use common::{location, spawn_app};
use oversight::auth::Role;
use oversight::web::format_date;

const NAME: &str = "Zbigniew Przybylski-Nguyễn";
const DOB: &str = "1961-02-28";
const RECENT_NAME: &str = "Ana Lucía Pérez";

fn profile(retention: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("name", "Test County Sheriff"),
        ("ori", "TX1010000"),
        ("state", "TX"),
        ("models", "TFM"),
        ("login_banner", "Restricted system. Use is monitored and audited."),
        ("time_zone", "America/Chicago"),
        ("mfa_policy", "optional"),
        ("paper_size", "letter"),
        ("retention_days", retention),
    ]
}

#[tokio::test]
async fn a_purge_blanks_old_names_audits_each_and_everything_issued_before_still_verifies() {
    let app = spawn_app().await;
    for role in [Role::Administrator, Role::Clerk] {
        app.user(role.as_str(), &[role]).await;
    }
    let admin = app.signed_in("administrator").await;
    assert_eq!(admin.post("/agency", &profile("")).await.status(), 303, "the profile without retention");
    let officer = app.authorized_tfm_officer().await.to_string();
    let today = oversight::agency::today_in("America/Chicago");
    let old_day = today - time::Duration::days(400);
    let recent_day = today - time::Duration::days(10);
    let clerk = app.signed_in("clerk").await;
    let mut paths = Vec::new();
    for (day, name, dob) in [(old_day, NAME, DOB), (recent_day, RECENT_NAME, "1990-05-02")] {
        let day = format_date(day);
        let fields = [
            ("arrest_date", day.as_str()),
            ("arrest_time", "22:10"),
            ("officer_id", officer.as_str()),
            ("person_name", name),
            ("person_dob", dob),
            ("charges", "Driving with a suspended license"),
            ("offense_class", "misdemeanor"),
            ("priority_level", "3"),
            ("arrest_type", "on_view"),
            ("perceived_race", "hispanic"),
        ];
        let created = clerk.post("/arrests/new", &fields).await;
        assert_eq!(created.status(), 303, "arrest of {name}");
        paths.push(location(&created));
    }
    let old_id: i64 = paths[0].trim_start_matches("/arrests/").parse().unwrap();
    let recent_id: i64 = paths[1].trim_start_matches("/arrests/").parse().unwrap();
    let old_before = oversight::arrests::store::get(&app.scope, &app.scope, old_id).await.unwrap();

    // Issued before the purge: a report of the old arrest's month and a
    // checkpoint of the log.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    let month_start = old_day.replace_day(1).unwrap();
    let month_end =
        (month_start + time::Duration::days(32)).replace_day(1).unwrap() - time::Duration::days(1);
    let (ok, out) = app.cli(&[
        "report",
        "--from",
        &format_date(month_start),
        "--to",
        &format_date(month_end),
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert!(ok, "report: {out}");
    let (ok, checkpoint) = app.cli(&["audit", "checkpoint"]);
    assert!(ok, "checkpoint: {checkpoint}");
    let before_purge = dir.path().join("before.checkpoint");
    std::fs::write(&before_purge, &checkpoint).unwrap();

    // No period set: nothing is purged, and the command says why.
    let entries = app.count("audit_log").await;
    let (ok, out) = app.cli(&["retention", "purge"]);
    assert!(!ok && out.contains("keeps personal values"), "refused without a period: {out}");
    assert_eq!(app.count("audit_log").await, entries, "a refused purge writes nothing");

    // Less than a year is refused on the form, the value kept and marked.
    let refused = admin.post("/agency", &profile("200")).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("id=\"retention_days-error\""), "the error beside the field");
    assert!(body.contains("value=\"200\""), "what was typed is kept");
    assert_eq!(admin.post("/agency", &profile("365")).await.status(), 303, "a year is accepted");
    let (ok, out) = app.cli(&["retention"]);
    assert!(ok && out.contains("kept 365 days") && out.contains("1 arrest(s)"), "status: {out}");

    let (ok, out) = app.cli(&["retention", "purge"]);
    assert!(ok && out.contains("of 1 arrest(s)"), "purge: {out}");
    let old = oversight::arrests::store::get(&app.scope, &app.scope, old_id).await.unwrap();
    assert_eq!((old.person_name.as_str(), old.person_dob.as_deref()), ("", None), "old values blank");
    assert!(old.person_salt.is_empty(), "the salt goes with them");
    assert_eq!(old.purged_on, Some(format_date(today)));
    assert_eq!(
        (old.charges.as_str(), old.arrest_date.as_str()),
        (old_before.charges.as_str(), old_before.arrest_date.as_str())
    );
    let recent = oversight::arrests::store::get(&app.scope, &app.scope, recent_id).await.unwrap();
    assert_eq!(recent.person_name, RECENT_NAME, "an arrest inside the period keeps its values");
    let named: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM arrests WHERE person_name = $1 OR person_dob = $2")
            .bind(NAME)
            .bind(DOB)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(named, 0, "the values are gone from the database");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "arrest.personal_purged").count(), 1, "one entry per arrest");
    let (ok, out) = app.cli(&["retention", "purge"]);
    assert!(ok && out.contains("of 0 arrest(s)"), "a second purge finds nothing: {out}");

    // Everything issued before still verifies.
    assert_eq!(
        oversight::supervision::arrest_fingerprint(&old, "v2"),
        oversight::supervision::arrest_fingerprint(&old_before, "v2"),
        "a sign-off of the arrest stays current"
    );
    let (ok, verdict) = app.cli(&["report", "verify", pdf.to_str().unwrap()]);
    assert!(ok, "the report still verifies: {verdict}");
    let (ok, proof) =
        app.cli(&["report", "prove-record", pdf.to_str().unwrap(), "arrest", &old_id.to_string()]);
    assert!(
        ok && proof.contains(&format!("record arrest {old_id}")),
        "the purged arrest still proves: {proof}"
    );
    let export = dir.path().join("audit.jsonl");
    assert!(app.cli(&["audit", "export", "--out", export.to_str().unwrap()]).0);
    let (ok, out) = app.cli(&[
        "audit",
        "verify",
        export.to_str().unwrap(),
        "--checkpoint",
        before_purge.to_str().unwrap(),
    ]);
    assert!(ok, "the log extends the checkpoint signed before the purge: {out}");

    // The page says so; an edit cannot put the values back.
    let (_, page) = clerk.get_text(&paths[0]).await;
    assert!(page.contains(&format!("purged on {}", format_date(today))), "the arrest's page says so");
    let (_, form) = clerk.get_text(&format!("{}/edit", paths[0])).await;
    assert!(!form.contains("name=\"person_name\""), "no name asked of a purged record");
    let edit = [
        ("arrest_date", old.arrest_date.as_str()),
        ("arrest_time", "22:10"),
        ("officer_id", officer.as_str()),
        ("person_name", NAME),
        ("person_dob", DOB),
        ("charges", "Driving while license suspended"),
        ("offense_class", "misdemeanor"),
        ("priority_level", "3"),
        ("arrest_type", "on_view"),
        ("perceived_race", "hispanic"),
    ];
    assert_eq!(clerk.post(&format!("{}/edit", paths[0]), &edit).await.status(), 303);
    let edited = oversight::arrests::store::get(&app.scope, &app.scope, old_id).await.unwrap();
    assert_eq!(edited.charges, "Driving while license suspended", "the edit is kept");
    assert_eq!(
        (edited.person_name.as_str(), edited.person_dob.as_deref()),
        ("", None),
        "the values stay purged"
    );
    assert_eq!(edited.name_commitment, old.name_commitment, "and so do the commitments");
}
