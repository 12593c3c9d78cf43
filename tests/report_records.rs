//! Issue 17 item 5 as an auditor meets it, on the demo agency: a report's
//! data fingerprint is the root of a tree over the records behind it
//! (docs/fingerprints.md, report/v4), so `oversight report prove-record`
//! shows that one stop or arrest, as it stands, was part of that data with
//! a short proof; `report check-record` and the independent Python
//! verifier accept it from the file alone, and refuse it altered. A record
//! changed after issue, or one outside the report, gets no proof.

mod common;

use common::spawn_demo;

/// The proof `prove-record` printed: its standard output, before the
/// sentence on standard error that `cli` appends.
fn proof_of(output: &str) -> String {
    output.lines().take_while(|l| !l.contains(", as it stands,")).map(|l| format!("{l}\n")).collect()
}

fn python_verifier(proof: &std::path::Path, fingerprint: &str) -> (bool, String) {
    let out = std::process::Command::new(common::pdf_python("python"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/verify_audit.py"))
        .args(["record", proof.to_str().unwrap(), "--fingerprint", fingerprint])
        .output()
        .expect("run the Python verifier");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn one_stop_and_one_arrest_are_proved_part_of_a_report_and_nothing_else_is() {
    let app = spawn_demo().await;
    let today = oversight::agency::store::get(&app.scope).await.unwrap().today();
    let (from, to) = (today - time::Duration::days(120), today - time::Duration::days(1));
    let (from, to) = (oversight::web::format_date(from), oversight::web::format_date(to));
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    let (ok, out) = app.cli(&["report", "--from", &from, "--to", &to, "--out", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    let fingerprint = out.rsplit("data fingerprint ").next().unwrap().trim().to_string();
    let (ok, text) = {
        let o = std::process::Command::new("pdftotext").args([pdf.to_str().unwrap(), "-"]).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).split_whitespace().collect::<String>())
    };
    assert!(ok && text.contains(&fingerprint), "the cover prints the fingerprint {fingerprint}");

    let stop_in: i64 =
        oversight::db::query_scalar("SELECT MAX(id) FROM stops WHERE stop_date >= $1 AND stop_date <= $2")
            .bind(&from)
            .bind(&to)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let arrest_in: i64 = oversight::db::query_scalar(
        "SELECT MIN(id) FROM arrests WHERE arrest_date >= $1 AND arrest_date <= $2",
    )
    .bind(&from)
    .bind(&to)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let records: i64 =
        oversight::db::query_scalar("SELECT COUNT(*) FROM stops").fetch_one(&app.db).await.unwrap();
    for (kind, id) in [("stop", stop_in), ("arrest", arrest_in)] {
        let entries = app.count("audit_log").await;
        let (ok, out) = app.cli(&["report", "prove-record", pdf.to_str().unwrap(), kind, &id.to_string()]);
        assert!(ok, "{kind} {id}: {out}");
        let proof = proof_of(&out);
        assert!(proof.contains(&format!("fingerprint {fingerprint}\n")), "{proof}");
        assert!(proof.contains(&format!("record {kind} {id}\n")), "{proof}");
        // Short: a path of about log2(records) hashes, no other record.
        let path = proof.lines().filter(|l| l.starts_with("path ")).count();
        assert!(path > 0 && (1u64 << path) < 4 * records as u64, "{path} hashes for {records} stops");
        assert_eq!(proof.lines().filter(|l| l.starts_with("fields ")).count(), 1, "the record's fields");
        if kind == "arrest" {
            let arrest = oversight::arrests::store::get(&app.scope, &app.scope, id).await.unwrap();
            assert!(!proof.contains(&arrest.person_name), "the proof names nobody");
        }
        assert_eq!(app.count("audit_log").await, entries + 1, "the proof is audited");
        let file = dir.path().join(format!("{kind}.proof"));
        std::fs::write(&file, &proof).unwrap();
        let (ok, out) = app.cli(&["report", "check-record", file.to_str().unwrap()]);
        assert!(ok && out.contains("The proof holds"), "{out}");
        let (ok, out) = python_verifier(&file, &fingerprint);
        assert!(ok && out.starts_with("OK"), "the independent verifier agrees: {out}");

        // The same proof with the record's hash changed, or another leaf
        // position, holds for neither checker.
        let record_hash = proof.lines().find(|l| l.starts_with("record-hash ")).unwrap();
        let (head, last) = record_hash.split_at(record_hash.len() - 1);
        let flipped = format!("{head}{}", if last == "0" { "1" } else { "0" });
        for altered in [proof.replace(record_hash, &flipped), proof.replace(" of ", "1 of ")] {
            std::fs::write(&file, &altered).unwrap();
            let (ok, out) = app.cli(&["report", "check-record", file.to_str().unwrap()]);
            assert!(!ok && out.contains("does not hold"), "altered: {out}");
            assert!(!python_verifier(&file, &fingerprint).0, "the Python verifier refuses it too");
        }
    }

    // On the auditor's pages: the report's link, the form, a refused
    // number kept and marked, and the proof as a download that checks.
    app.user("auditor2", &[oversight::auth::Role::Auditor]).await;
    app.user("reviewer2", &[oversight::auth::Role::Reviewer]).await;
    let auditor = app.signed_in("auditor2").await;
    let report_id: i64 =
        oversight::db::query_scalar("SELECT MAX(id) FROM reports").fetch_one(&app.db).await.unwrap();
    let form_path = format!("/reports/{report_id}/prove-record");
    let (_, list) = auditor.get_text("/reports").await;
    assert!(list.contains(&format!("href=\"{form_path}\"")), "the auditor's link to the form");
    let (status, form) = auditor.get_text(&form_path).await;
    assert!(status == 200 && form.contains("<label for=\"record_id\">"), "{form}");
    let refused = auditor.post(&form_path, &[("kind", "stop"), ("record_id", "forty-two")]).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("value=\"forty-two\"") && body.contains("id=\"record_id-error\""), "{body}");
    let outside = auditor.post(&form_path, &[("kind", "stop"), ("record_id", "999999999")]).await;
    assert_eq!(outside.status(), 422);
    assert!(outside.text().await.unwrap().contains("was not part of the data behind report"));
    let proved = auditor.post(&form_path, &[("kind", "stop"), ("record_id", &stop_in.to_string())]).await;
    assert_eq!(proved.status(), 200);
    assert!(proved.headers()["content-disposition"].to_str().unwrap().contains("record-proof-"));
    let file = dir.path().join("downloaded.proof");
    std::fs::write(&file, proved.bytes().await.unwrap()).unwrap();
    let (ok, out) = app.cli(&["report", "check-record", file.to_str().unwrap()]);
    assert!(ok && out.contains(&format!("stop {stop_in} is record")), "{out}");
    let reviewer = app.signed_in("reviewer2").await;
    assert_eq!(reviewer.get(&form_path).await.status(), 403, "proofs are the auditor's");

    // A stop outside the report's period was not part of its data.
    let stop_out: i64 = oversight::db::query_scalar("SELECT MIN(id) FROM stops WHERE stop_date < $1")
        .bind(&from)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (ok, out) =
        app.cli(&["report", "prove-record", pdf.to_str().unwrap(), "stop", &stop_out.to_string()]);
    assert!(!ok && out.contains("was not part of the data behind report"), "{out}");

    // Another file is not an issued report.
    let other = dir.path().join("other.pdf");
    std::fs::write(&other, b"%PDF-1.7 not a report").unwrap();
    let (ok, out) =
        app.cli(&["report", "prove-record", other.to_str().unwrap(), "stop", &stop_in.to_string()]);
    assert!(!ok && out.contains("not a report this agency issued"), "{out}");

    // A stop edited behind the product's back: the records no longer lead
    // to the printed fingerprint, so no proof is given and verify says so.
    oversight::db::query("UPDATE stops SET location = 'edited' WHERE id = $1")
        .bind(stop_in)
        .execute(&app.db)
        .await
        .unwrap();
    let (ok, out) =
        app.cli(&["report", "prove-record", pdf.to_str().unwrap(), "arrest", &arrest_in.to_string()]);
    assert!(!ok && out.contains("have changed since it was issued"), "{out}");
    let (ok, out) = app.cli(&["report", "verify", pdf.to_str().unwrap()]);
    assert!(!ok, "verify sees the change: {out}");
}
