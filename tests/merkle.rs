//! The audit log's Merkle tree, signed checkpoints and proofs
//! (docs/audit.md), through the real binary and checked again by the
//! independent verifier `tools/verify_audit.py`: each tamper case is
//! caught and named by both.

mod common;

use common::*;
use oversight::audit::checkpoint::{Checkpoint, SigningKey};
use oversight::auth::Role;

/// Runs the independent verifier: (success, output).
fn python(args: &[&str]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/verify_audit.py");
    let out =
        std::process::Command::new(pdf_python("python")).arg(script).args(args).output().expect("python");
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// Runs the binary and keeps its standard output (a checkpoint, a proof)
/// in `file`; returns (success, standard error).
fn cli_to(app: &TestApp, args: &[&str], file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env("OVERSIGHT_DATABASE_URL", &app.db_url)
        .env("OVERSIGHT_FILES_DIR", app.dir.path().join("files"))
        .output()
        .expect("run oversight");
    std::fs::write(file, &out.stdout).unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn add_officers(app: &TestApp, from: usize, to: usize) {
    let clerk = app.signed_in("clerk").await;
    for i in from..to {
        let badge = format!("B-{i}");
        let fields =
            [("badge", badge.as_str()), ("last_name", "Doe"), ("first_name", "Jo"), ("status", "active")];
        assert_eq!(clerk.post("/officers/new", &fields).await.status(), 303);
    }
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn checkpoints_and_proofs_hold_and_every_tamper_case_is_named() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    add_officers(&app, 0, 5).await;
    let dir = app.dir.path();
    let (c1, c2) = (dir.join("c1.checkpoint"), dir.join("c2.checkpoint"));
    let (ok, err) = cli_to(&app, &["audit", "checkpoint"], &c1);
    assert!(ok, "{err}");
    let (ok, key) = app.cli(&["audit", "public-key"]);
    assert!(ok, "{key}");
    let key = key.trim().to_string();
    let ori = oversight::agency::store::get(&app.scope).await.unwrap().ori;
    assert!(key.starts_with(&format!("oversight-ledger/{ori}+")), "{key}");
    let note = std::fs::read_to_string(&c1).unwrap();
    let size1: i64 = app.count("audit_log").await;
    assert!(note.starts_with(&format!("oversight-ledger/{ori}\n{size1}\n")), "{note}");
    assert!(note.contains(&format!("\n\n\u{2014} oversight-ledger/{ori} ")), "{note}");
    let (ok, out) = python(&["checkpoint", path(&c1), "--key", &key]);
    assert!(ok && out.contains(&format!("signed a tree of {size1} entries")), "{out}");

    let clean = dir.join("clean.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--out", path(&clean)]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["audit", "verify", path(&clean), "--checkpoint", path(&c1)]);
    assert!(
        ok && out.contains(&format!("the first {size1} are exactly the log the checkpoint signed")),
        "{out}"
    );
    let (ok, out) = python(&["export", path(&clean), "--checkpoint", path(&c1), "--key", &key]);
    assert!(ok, "{out}");

    // The log grows; the newer checkpoint extends the older one.
    add_officers(&app, 5, 12).await;
    let (ok, err) = cli_to(&app, &["audit", "checkpoint"], &c2);
    assert!(ok, "{err}");
    let size2: i64 = app.count("audit_log").await;
    let consistency = dir.join("c1-c2.proof");
    let (ok, err) = cli_to(&app, &["audit", "consistency", path(&c1), path(&c2)], &consistency);
    assert!(
        ok && err.contains(&format!("the log of {size2} entries extends the log of {size1} entries")),
        "{err}"
    );
    let (ok, out) =
        python(&["consistency", path(&consistency), "--old", path(&c1), "--new", path(&c2), "--key", &key]);
    assert!(ok, "{out}");

    // Entry 3 is in the newer tree; the same proof for entry 4 is refused.
    let inclusion = dir.join("entry-3.proof");
    let (ok, err) = cli_to(&app, &["audit", "prove", "3", "--checkpoint", path(&c2)], &inclusion);
    assert!(ok && err.contains(&format!("entry 3 is in the checkpoint's tree of {size2} entries")), "{err}");
    let (ok, out) = python(&["inclusion", path(&inclusion), "--checkpoint", path(&c2), "--key", &key]);
    assert!(ok, "{out}");
    let wrong = dir.join("entry-4.proof");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&inclusion).unwrap().replace("\nentry 3\n", "\nentry 4\n"),
    )
    .unwrap();
    let (ok, out) = python(&["inclusion", path(&wrong), "--checkpoint", path(&c2), "--key", &key]);
    assert!(!ok && out.contains("not in the checkpoint's tree"), "{out}");
    let parsed =
        oversight::audit::proof::Inclusion::parse(&std::fs::read_to_string(&wrong).unwrap()).unwrap();
    let opened = oversight::audit::checkpoint::VerifierKey::parse(&key)
        .unwrap()
        .open(&std::fs::read_to_string(&c2).unwrap());
    assert!(parsed.check(&opened.unwrap()).unwrap_err().contains("entry 4"), "the product refuses it too");

    // A removed tail: the file verifies on its own, not against c2.
    let export = dir.join("now.jsonl");
    assert!(app.cli(&["audit", "export", "--out", path(&export)]).0);
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, lines[..size2 as usize - 3].join("\n") + "\n").unwrap();
    let (ok, out) = app.cli(&["audit", "verify", path(&cut)]);
    assert!(ok, "alone the cut file chains: {out}");
    let (ok, out) = app.cli(&["audit", "verify", path(&cut), "--checkpoint", path(&c2)]);
    assert!(!ok && out.contains("CUT") && out.contains(&format!("signed {size2}")), "{out}");
    let (ok, out) = python(&["export", path(&cut), "--checkpoint", path(&c2), "--key", &key]);
    assert!(!ok && out.contains("CUT"), "{out}");

    // An edited entry breaks the chain itself.
    let edited = dir.join("edited.jsonl");
    std::fs::write(&edited, text.replacen("\"clerk\"", "\"admin\"", 1)).unwrap();
    let (ok, out) = app.cli(&["audit", "verify", path(&edited), "--checkpoint", path(&c2)]);
    assert!(!ok && out.contains("FAILED at entry"), "{out}");
    let (ok, out) = python(&["export", path(&edited), "--checkpoint", path(&c2), "--key", &key]);
    assert!(!ok && out.contains("does not match its hash"), "{out}");

    // The chain rewritten and rehashed without the key: it chains, but it
    // is not the log the checkpoint signed.
    let mut entries: Vec<oversight::audit::Entry> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    entries[1].source = "forged".into();
    for i in 1..entries.len() {
        entries[i].prev_hash = entries[i - 1].hash.clone();
        entries[i].hash = entries[i].compute_hash();
    }
    let rewritten = dir.join("rewritten.jsonl");
    let body: String = entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(&rewritten, body).unwrap();
    let (ok, out) = app.cli(&["audit", "verify", path(&rewritten)]);
    assert!(ok, "the rehashed chain verifies alone: {out}");
    let (ok, out) = app.cli(&["audit", "verify", path(&rewritten), "--checkpoint", path(&c2)]);
    assert!(!ok && out.contains("REWRITTEN"), "{out}");
    let (ok, out) = python(&["export", path(&rewritten), "--checkpoint", path(&c2), "--key", &key]);
    assert!(!ok && out.contains("REWRITTEN"), "{out}");

    // A checkpoint signed by another key is refused by this key.
    let other_key = dir.join("other-key");
    let other = dir.join("other.checkpoint");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["audit", "checkpoint"])
        .env("OVERSIGHT_DATABASE_URL", &app.db_url)
        .env("OVERSIGHT_SIGNING_KEY_FILE", &other_key)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&other, &out.stdout).unwrap();
    let (ok, out) = app.cli(&["audit", "verify", path(&export), "--checkpoint", path(&other)]);
    assert!(!ok && out.contains("signed by another key"), "{out}");
    let (ok, out) = python(&["checkpoint", path(&other), "--key", &key]);
    assert!(!ok && out.contains("no signature by the key"), "{out}");

    // A fork: a checkpoint of c1's size with another root, signed with the
    // deployment's own key (as an operator showing two logs would).
    let own = SigningKey::load_or_create(&SigningKey::path_for(&app.db_url)).unwrap();
    let origin = format!("oversight-ledger/{ori}");
    let forked = dir.join("forked.checkpoint");
    std::fs::write(&forked, own.sign(&Checkpoint { origin, size: size1 as u64, root: [9u8; 32] })).unwrap();
    let (ok, err) =
        cli_to(&app, &["audit", "consistency", path(&c1), path(&forked)], &dir.join("fork.proof"));
    assert!(!ok && err.contains("FORK"), "{err}");
    let (ok, out) = python(&[
        "consistency",
        path(&consistency),
        "--old",
        path(&c1),
        "--new",
        path(&forked),
        "--key",
        &key,
    ]);
    assert!(!ok && out.contains("FORK"), "{out}");

    // The database's chain rewritten and rehashed in place: it verifies as
    // a chain, but no longer extends what was signed.
    rewrite_chain_in_place(&app).await;
    let (ok, out) = app.cli(&["audit", "verify"]);
    assert!(ok, "the rewritten chain verifies as a chain: {out}");
    let (ok, err) =
        cli_to(&app, &["audit", "prove", "1", "--checkpoint", path(&c2)], &dir.join("after.proof"));
    assert!(!ok && err.contains("FAILED"), "{err}");
    let c3 = dir.join("c3.checkpoint");
    let (ok, err) = cli_to(&app, &["audit", "checkpoint"], &c3);
    assert!(ok, "{err}");
    let signed = std::fs::read_to_string(&c3).unwrap();
    assert!(signed.contains(&format!("\n\n\u{2014} oversight-ledger/{ori} ")), "{signed}");
    let (ok, err) = cli_to(&app, &["audit", "consistency", path(&c1), path(&c3)], &dir.join("c1-c3.proof"));
    assert!(!ok && err.contains("NOT CONSISTENT") && err.contains("rewritten"), "{err}");
}

#[tokio::test]
async fn roots_of_sizes_1_to_32_agree_with_the_independent_verifier() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    add_officers(&app, 0, 34).await;
    let export = app.dir.path().join("log.jsonl");
    assert!(app.cli(&["audit", "export", "--out", path(&export)]).0);
    let (ok, out) = python(&["roots", path(&export), "32"]);
    assert!(ok, "{out}");
    let theirs: Vec<&str> = out.lines().collect();
    assert_eq!(theirs.len(), 32, "{out}");
    use base64::Engine;
    for (n, line) in (1..=32u64).zip(theirs) {
        let ours = oversight::audit::store::root_at(&app.scope, n).await.unwrap();
        let ours = base64::engine::general_purpose::STANDARD.encode(ours);
        assert_eq!(line, format!("{n} {ours}"), "tree of {n} entries");
    }
}

#[tokio::test]
async fn a_signing_key_others_can_read_is_refused() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let key = app.dir.path().join("loose-key");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(["audit", "checkpoint"])
            .env("OVERSIGHT_DATABASE_URL", &app.db_url)
            .env("OVERSIGHT_SIGNING_KEY_FILE", &key)
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "made owner-only");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("can be read by others"), "{err}");
}

#[tokio::test]
async fn the_auditor_downloads_a_checkpoint_and_a_proof_that_the_verifier_accepts() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    app.user("auditor", &[Role::Auditor]).await;
    app.user("admin", &[Role::Administrator]).await;
    add_officers(&app, 0, 6).await;
    let (ok, key) = app.cli(&["audit", "public-key"]);
    assert!(ok, "{key}");
    let key = key.trim().to_string();

    let auditor = app.signed_in("auditor").await;
    let (status, page) = auditor.get_text("/audit").await;
    assert_eq!(status, 200);
    assert!(page.contains("Signed checkpoint") && page.contains(&key), "the page shows the verifier key");
    let checkpoint = auditor.post("/audit/checkpoint", &[]).await;
    assert_eq!(checkpoint.status(), 200);
    assert!(
        checkpoint.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"checkpoint-"),
        "a file to keep"
    );
    let note = checkpoint.text().await.unwrap();
    let dir = app.dir.path();
    let c = dir.join("downloaded.checkpoint");
    std::fs::write(&c, &note).unwrap();
    let (ok, out) = python(&["checkpoint", path(&c), "--key", &key]);
    assert!(ok, "{out}");
    let (_, page) = auditor.get_text("/audit").await;
    assert!(page.contains(note.lines().nth(2).unwrap()), "the page shows the newest checkpoint's root");

    // A number that names no entry: the page again, the number kept, a message.
    let bad = auditor.post("/audit/prove", &[("entry", "9999")]).await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("Enter an entry number from 1 to") && body.contains("value=\"9999\""), "{body}");
    let proof = auditor.post("/audit/prove", &[("entry", "2")]).await;
    assert_eq!(proof.status(), 200);
    let p = dir.join("entry-2.proof");
    std::fs::write(&p, proof.text().await.unwrap()).unwrap();
    let (ok, out) = python(&["inclusion", path(&p), "--checkpoint", path(&c), "--key", &key]);
    assert!(ok && out.contains("entry 2 is in the tree"), "{out}");

    // An export checked against the checkpoint on the page: whole, it
    // holds; without its last entries the tail is named cut; a checkpoint
    // that does not open is refused with the text kept.
    let export = auditor.post("/audit/export", &[]).await.bytes().await.unwrap().to_vec();
    let check = |fields: Vec<(&'static str, String)>, bytes: Vec<u8>| {
        let auditor = &auditor;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response =
                common::upload_to(auditor, "/audit/check-export", &fields, "log.jsonl", &bytes).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, page) = check(vec![("checkpoint", note.replace('\n', "\r\n"))], export.clone()).await;
    assert_eq!(status, 200, "{page:.2000}");
    assert!(
        page.contains("entries; the first") && page.contains("are exactly the log the checkpoint signed"),
        "{page:.3000}"
    );
    let signed: usize = note.lines().nth(1).unwrap().parse().unwrap();
    let cut: Vec<u8> = String::from_utf8(export.clone())
        .unwrap()
        .lines()
        .take(signed - 1)
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let (status, page) = check(vec![("checkpoint", note.clone())], cut).await;
    assert_eq!(status, 200);
    assert!(page.contains("CUT: the export holds"), "{page:.3000}");
    let forged = note.replace(note.lines().nth(2).unwrap(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (status, page) = check(vec![("checkpoint", forged.clone())], export.clone()).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("id=\"checkpoint-error\"")
            && page.contains("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        "{page:.3000}"
    );
    assert!(app.audit_actions().await.contains(&"audit.check_export".to_string()), "each check is audited");

    // Only auditors reach these; the administrator's profile page shows the key.
    let clerk = app.signed_in("clerk").await;
    assert_eq!(clerk.post("/audit/checkpoint", &[]).await.status(), 403);
    assert_eq!(clerk.post("/audit/prove", &[("entry", "1")]).await.status(), 403);
    assert_eq!(common::upload_to(&clerk, "/audit/check-export", &[], "log.jsonl", b"").await.status(), 403);
    let admin = app.signed_in("admin").await;
    let (status, profile) = admin.get_text("/agency").await;
    assert_eq!(status, 200);
    assert!(profile.contains("Audit log signing key") && profile.contains(&key), "{profile}");
}

/// Rewrites the agency's chain in place from entry 2 on (the tamperer lifts
/// the append-only trigger, changes entry 2 and rehashes every later one).
async fn rewrite_chain_in_place(app: &TestApp) {
    let lift = if app.is_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    oversight::db::query(lift).execute(&app.db).await.unwrap();
    let mut entries = Vec::new();
    oversight::audit::store::for_each(&app.scope, |e| {
        entries.push(e.clone());
        true
    })
    .await
    .unwrap();
    entries[1].source = "forged".into();
    for i in 1..entries.len() {
        entries[i].prev_hash = entries[i - 1].hash.clone();
        entries[i].hash = entries[i].compute_hash();
        let e = &entries[i];
        oversight::db::query(
            "UPDATE audit_log SET source = $1, prev_hash = $2, hash = $3 WHERE agency_id = $4 AND seq = $5",
        )
        .bind(e.source.as_str())
        .bind(e.prev_hash.as_str())
        .bind(e.hash.as_str())
        .bind(app.scope.id())
        .bind(e.seq)
        .execute(&app.db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_report_prints_its_checkpoint_and_verify_proves_the_log_still_extends_it() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    add_officers(&app, 0, 4).await;
    let pdf = app.dir.path().join("report.pdf");
    let (ok, out) = app.cli(&["report", "--from", "2026-01-01", "--to", "2026-03-31", "--out", path(&pdf)]);
    assert!(ok, "{out}");
    let text = std::process::Command::new("pdftotext").args([path(&pdf), "-"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let (stored,): (String,) =
        oversight::db::query_as("SELECT checkpoint FROM reports").fetch_one(&app.db).await.unwrap();
    let root = stored.lines().nth(2).unwrap();
    assert!(
        text.contains("Signed checkpoint of the audit log at generation") && text.contains(root),
        "{text}"
    );

    // The log grows without touching the report's records.
    app.user("auditor", &[Role::Auditor]).await;
    app.user("reviewer", &[Role::Reviewer]).await;
    let (ok, out) = app.cli(&["report", "verify", path(&pdf)]);
    assert!(
        ok && out.contains("The audit log today extends the signed checkpoint the report prints"),
        "{out}"
    );

    rewrite_chain_in_place(&app).await;
    let (ok, out) = app.cli(&["audit", "verify"]);
    assert!(ok, "the rewritten chain verifies as a chain: {out}");
    let (ok, out) = app.cli(&["report", "verify", path(&pdf)]);
    assert!(!ok && out.contains("LOG REWRITTEN") && out.contains("the log was rewritten"), "{out}");
}

#[tokio::test]
async fn a_witness_cosigns_only_what_extends_what_it_cosigned_before() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    add_officers(&app, 0, 3).await;
    let dir = app.dir.path();
    let key = app.cli(&["audit", "public-key"]).1.trim().to_string();
    let (c1, c2) = (dir.join("c1"), dir.join("c2"));
    assert!(cli_to(&app, &["audit", "checkpoint"], &c1).0);
    let wkey = dir.join("board.key");
    let witness = |checkpoint: &std::path::Path, proof: Option<&std::path::Path>, out: &std::path::Path| {
        let mut args =
            vec!["audit", "witness", "--key", path(&wkey), "--name", "board.example", "--log-key", &key];
        if let Some(p) = proof {
            args.extend(["--proof", path(p)]);
        }
        args.push(path(checkpoint));
        cli_to(&app, &args, out)
    };
    let c1w = dir.join("c1.cosigned");
    let (ok, err) = witness(&c1, None, &c1w);
    assert!(ok && err.contains("board.example cosigned"), "{err}");
    let (ok, wvkey) = app.cli(&["audit", "witness", "--key", path(&wkey), "--show-key"]);
    assert!(ok && wvkey.starts_with("board.example+"), "{wvkey}");
    let wvkey = wvkey.trim().to_string();

    let export = dir.join("log.jsonl");
    assert!(app.cli(&["audit", "export", "--out", path(&export)]).0);
    let (ok, out) =
        app.cli(&["audit", "verify", path(&export), "--checkpoint", path(&c1w), "--witness", &wvkey]);
    assert!(ok, "{out}");
    let (ok, out) = python(&["checkpoint", path(&c1w), "--key", &key, "--witness", &wvkey]);
    assert!(ok && out.contains("cosigned by 1 witness"), "{out}");
    let (ok, out) =
        app.cli(&["audit", "verify", path(&export), "--checkpoint", path(&c1), "--witness", &wvkey]);
    assert!(!ok && out.contains("no cosignature by the witness board.example"), "{out}");
    let (ok, out) = python(&["checkpoint", path(&c1), "--key", &key, "--witness", &wvkey]);
    assert!(!ok && out.contains("no cosignature"), "{out}");

    // A later checkpoint is cosigned only with the proof that it extends c1.
    add_officers(&app, 3, 5).await;
    assert!(cli_to(&app, &["audit", "checkpoint"], &c2).0);
    let (ok, err) = witness(&c2, None, &dir.join("refused"));
    assert!(!ok && err.contains("a consistency proof from"), "{err}");
    let proof = dir.join("c1-c2.proof");
    assert!(cli_to(&app, &["audit", "consistency", path(&c1), path(&c2)], &proof).0);
    let (ok, err) = witness(&c2, Some(&proof), &dir.join("c2.cosigned"));
    assert!(ok, "{err}");

    // A fork of c2's size, and a rollback to c1, are refused.
    let own = SigningKey::load_or_create(&SigningKey::path_for(&app.db_url)).unwrap();
    let opened = oversight::audit::checkpoint::VerifierKey::parse(&key)
        .unwrap()
        .open(&std::fs::read_to_string(&c2).unwrap())
        .unwrap();
    let forked = dir.join("forked");
    std::fs::write(&forked, own.sign(&Checkpoint { root: [7u8; 32], ..opened })).unwrap();
    let (ok, err) = witness(&forked, Some(&proof), &dir.join("refused"));
    assert!(!ok && err.contains("FORK"), "{err}");
    let (ok, err) = witness(&c1, None, &dir.join("refused"));
    assert!(!ok && err.contains("rolled back"), "{err}");
}
