//! Submission packages (docs/packages.md): an agency's own install writes
//! the records of a period; a state deployment takes them into that
//! agency, verified, all or nothing, audited, and then computes the same
//! measures from them as the agency's install does.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{TestApp, spawn_demo};
use sha2::{Digest, Sha256};

const STATE_OTHER_ORI: &str = "FL0060000";

/// A state deployment that holds the demo agency (by its ORI, no records
/// yet) and one more agency.
struct State {
    dir: tempfile::TempDir,
    url: String,
}

impl State {
    async fn new(ori: &str) -> State {
        let dir = tempfile::tempdir().unwrap();
        let url = common::scratch_database(dir.path(), "state").await;
        let state = State { dir, url };
        for agency in [ori, STATE_OTHER_ORI] {
            let (ok, said) = state.cli(&["agency", "add", agency]);
            assert!(ok, "{said}");
        }
        state
    }

    fn cli(&self, args: &[&str]) -> (bool, String) {
        common::cli_on(&self.url, &self.dir.path().join("files"), args)
    }

    async fn db(&self) -> oversight::db::Db {
        oversight::db::connect(&self.url).await.unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        let db = self.db().await;
        let n = oversight::db::query_scalar(sql).fetch_one(&db).await.unwrap();
        db.close().await;
        n
    }

    /// Rows of every table a package writes, and the audit entries: what a
    /// refused import must leave as it was.
    async fn footprint(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for table in [
            "officers",
            "courses",
            "designations",
            "training_records",
            "stops",
            "arrests",
            "complaints",
            "pay_periods",
            "leads",
            "sign_offs",
            "logged_measures",
            "logged_values",
            "package_receipts",
            "audit_log",
            "stop_tallies",
        ] {
            out.push(self.count(&format!("SELECT COUNT(*) FROM {table}")).await);
        }
        out
    }
}

async fn demo_ori(app: &TestApp) -> String {
    oversight::db::query_scalar("SELECT ori FROM agency WHERE id = 1").fetch_one(&app.db).await.unwrap()
}

fn export(app: &TestApp, from: &str, to: &str) -> PathBuf {
    let out = app.dir.path().join(format!("package-{from}-{to}.tar.gz"));
    let (ok, said) =
        app.cli(&["export", "package", "--from", from, "--to", to, "--out", out.to_str().unwrap()]);
    assert!(ok, "{said}");
    out
}

/// The measures of a period as `oversight metrics` prints them, by id.
fn metrics(said: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(said).unwrap_or_else(|e| panic!("{e}: {said:.500}"));
    all.into_iter().map(|m| (m["id"].as_str().unwrap().to_string(), m)).collect()
}

/// The members of a package file, in order.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

fn write_members(path: &Path, members: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes.as_slice()).unwrap();
    }
    archive.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

/// The package whose `member`'s tar header claims `size` bytes, followed by
/// only a few: a member too large to unpack, without writing gigabytes.
fn claiming(path: &Path, member: &str, size: u64) -> PathBuf {
    let out = path.with_file_name(format!("claims-{size}-{member}.tar.gz"));
    let file = std::fs::File::create(&out).unwrap();
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
    for (name, bytes) in members(path) {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        if name == member {
            header.set_path(&name).unwrap();
            header.set_size(size);
            header.set_cksum();
            let raw = archive.get_mut();
            raw.write_all(header.as_bytes()).unwrap();
            raw.write_all(&bytes[..bytes.len().min(512)]).unwrap();
            break;
        }
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes.as_slice()).unwrap();
    }
    archive.into_inner().unwrap().finish().unwrap().flush().unwrap();
    out
}

/// The package with `member` replaced by `edit` of it; with `rehash` the
/// manifest is made to match again (member hash and fingerprint), as
/// someone who knows the format would.
fn altered(path: &Path, member: &str, rehash: bool, edit: impl Fn(&str) -> String) -> PathBuf {
    let mut all = members(path);
    let text = String::from_utf8(all.iter().find(|(n, _)| n == member).unwrap().1.clone()).unwrap();
    let changed = edit(&text);
    assert_ne!(text, changed, "the edit must change {member}");
    for (name, bytes) in all.iter_mut() {
        if name == member {
            *bytes = changed.clone().into_bytes();
        }
    }
    if rehash {
        let (_, manifest) = all.iter_mut().find(|(n, _)| n == "manifest.json").unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(manifest).unwrap();
        for m in json["members"].as_array_mut().unwrap() {
            if m["name"] == member {
                m["sha256"] = hex::encode(Sha256::digest(changed.as_bytes())).into();
            }
        }
        let mut parsed: oversight::packages::Manifest = serde_json::from_value(json).unwrap();
        parsed.fingerprint = parsed.fingerprint_of();
        *manifest = serde_json::to_vec(&parsed).unwrap();
    }
    let out = path.with_file_name(format!("altered-{member}-{rehash}.tar.gz"));
    write_members(&out, &all);
    out
}

#[tokio::test]
async fn the_state_computes_from_a_package_the_measures_the_agency_computes() {
    let source = spawn_demo().await;
    let ori = demo_ori(&source).await;
    let q4 = export(&source, "2025-10-01", "2025-12-31");
    let q1 = export(&source, "2026-01-01", "2026-03-31");

    // No names or dates of birth of arrested people leave the agency.
    let names: Vec<String> = oversight::db::query_scalar("SELECT person_name FROM arrests LIMIT 50")
        .fetch_all(&source.db)
        .await
        .unwrap();
    let bytes: Vec<u8> = members(&q1).into_iter().flat_map(|(_, b)| b).collect();
    for name in &names {
        assert!(!bytes.windows(name.len()).any(|w| w == name.as_bytes()), "{name} is in the package");
    }

    let state = State::new(&ori).await;
    for package in [&q4, &q1] {
        let (ok, said) = state.cli(&["--agency", &ori, "import", "package", package.to_str().unwrap()]);
        assert!(ok, "{said}");
        assert!(said.contains("Imported the package"), "{said}");
    }
    // Every stop, arrest and complaint of the two quarters, by the source's own count.
    for (table, column) in [("stops", "stop_date"), ("arrests", "arrest_date"), ("complaints", "received_on")]
    {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE {column} >= '2025-10-01' AND {column} <= '2026-03-31'"
        );
        let sent: i64 = oversight::db::query_scalar(&sql).fetch_one(&source.db).await.unwrap();
        assert!(sent > 0, "the demo has {table} in the two quarters");
        assert_eq!(state.count(&sql).await, sent, "{table}");
        assert_eq!(
            state.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            sent,
            "{table}: nothing else"
        );
    }
    let withheld = state
        .count(&format!(
            "SELECT COUNT(*) FROM arrests WHERE person_name = '{}'",
            oversight::exchange::WITHHELD
        ))
        .await;
    assert_eq!(withheld, state.count("SELECT COUNT(*) FROM arrests").await);
    let carried = state.count("SELECT COUNT(*) FROM sign_offs WHERE reviewer_id IS NULL").await;
    assert!(carried > 0 && carried == state.count("SELECT COUNT(*) FROM sign_offs").await);

    // The same measures, previous quarter included, from both installs.
    let period = ["metrics", "--from", "2026-01-01", "--to", "2026-03-31", "--format", "json"];
    let (ok, there) = source.cli(&period);
    assert!(ok, "{there:.500}");
    let (ok, here) = state.cli(&[&["--agency", ori.as_str()], &period[..]].concat());
    assert!(ok, "{here:.500}");
    let (there, here) = (metrics(&there), metrics(&here));
    assert!(there.len() > 30 && there.contains_key("L1"), "{:?}", there.keys());
    for id in there.keys() {
        assert_eq!(here.get(id), Some(&there[id]), "measure {id}");
    }
    assert_eq!(here.len(), there.len());
    assert!(there["S1"]["previous"].is_number(), "sign-off coverage has the quarter before to compare with");

    // Received once, in the agency's chain, naming an entry of the source's.
    assert_eq!(state.count("SELECT COUNT(*) FROM package_receipts").await, 2);
    let manifest = members(&q1).into_iter().find(|(n, _)| n == "manifest.json").unwrap().1;
    let manifest: oversight::packages::Manifest = serde_json::from_slice(&manifest).unwrap();
    let head: String =
        oversight::db::query_scalar("SELECT hash FROM audit_log WHERE agency_id = 1 AND seq = $1")
            .bind(manifest.audit_seq)
            .fetch_one(&source.db)
            .await
            .unwrap();
    assert_eq!(head, manifest.audit_head);
    let db = state.db().await;
    let details: Vec<String> = oversight::db::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'package.import' ORDER BY seq",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(details.len(), 2);
    assert!(details[1].contains(&head) && details[1].contains(&manifest.fingerprint), "{}", details[1]);
    let (ok, said) = state.cli(&["--agency", &ori, "audit", "verify"]);
    assert!(ok, "{said}");
    // The statewide report names the package the agency's records came in.
    let pdf = state.dir.path().join("statewide.pdf");
    let (ok, said) = state.cli(&[
        "report",
        "--state",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert!(ok, "{said}");
    let text = std::process::Command::new("pdftotext").args([pdf.to_str().unwrap(), "-"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("by package, receipt 2 (2026-01-01 to 2026-03-31)"), "{text:.3000}");
    assert!(text.contains(&manifest.fingerprint), "{text:.3000}");
    let (again, said) = state.cli(&["--agency", &ori, "import", "package", q1.to_str().unwrap()]);
    assert!(!again && said.contains("imported before"), "{said}");
    let january = export(&source, "2026-01-01", "2026-01-31");
    let (again, said) = state.cli(&["--agency", &ori, "import", "package", january.to_str().unwrap()]);
    assert!(!again && said.contains("already holds a package"), "{said}");
}

#[tokio::test]
async fn a_package_that_does_not_verify_or_breaks_a_rule_changes_nothing() {
    let source = spawn_demo().await;
    let ori = demo_ori(&source).await;
    let q1 = export(&source, "2026-01-01", "2026-03-31");
    let state = State::new(&ori).await;
    let before = state.footprint().await;
    let refused = |package: &Path, agency: &str| {
        let (ok, said) = state.cli(&["--agency", agency, "import", "package", package.to_str().unwrap()]);
        assert!(!ok, "{said}");
        assert!(said.contains("Nothing was imported"), "{said}");
        said
    };

    // A stop changed on the way: its member no longer has its hash.
    let edited = altered(&q1, "stops.csv", false, |t| t.replacen(",vehicle,", ",pedestrian,", 1));
    assert!(refused(&edited, &ori).contains("does not verify: stops.csv's SHA-256"));
    // The period relabelled in the manifest: the fingerprint says so.
    let relabelled = altered(&q1, "manifest.json", false, |t| t.replace("2026-03-31", "2026-06-30"));
    assert!(refused(&relabelled, &ori).contains("the manifest was changed"));
    // Another agency's package.
    assert!(refused(&q1, STATE_OTHER_ORI).contains(&format!("This package is agency {ori}'s")));
    // Members larger than a package may hold (stops 4 GiB, any other 512
    // MiB) are refused from their headers, before anything is unpacked.
    let huge = claiming(&q1, "officers.jsonl", (512 << 20) + 1);
    assert!(refused(&huge, &ori).contains("its officers.jsonl is larger than 512 MiB"));
    let huge = claiming(&q1, "stops.csv", (4 << 30) + 1);
    assert!(refused(&huge, &ori).contains("its stops.csv is larger than 4096 MiB"));
    // Not a package at all.
    let text = source.dir.path().join("notes.tar.gz");
    std::fs::write(&text, "stop_date,stop_time\n2026-01-01,10:00\n").unwrap();
    assert!(refused(&text, &ori).contains("not a package"));
    // Hashed again by someone who knows the format, but a stop its form
    // refuses and an arrest of a stop the package does not have: every
    // problem by member and line, nothing written.
    let bad = altered(&q1, "stops.csv", true, |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        lines[3] = lines[3].replacen("2026-", "2027-13-", 1);
        lines.join("\n") + "\n"
    });
    let said = refused(&bad, &ori);
    assert!(said.contains("stops.csv, line 4"), "{said}");
    let bad = altered(&q1, "arrests.csv", true, |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[2].split(',').map(str::to_string).collect();
        cells[3] = "999999".into();
        lines[2] = cells.join(",");
        lines.join("\n") + "\n"
    });
    let said = refused(&bad, &ori);
    assert!(said.contains("arrests.csv, line 3") && said.contains("stop"), "{said}");
    // A stop whose exception the source claims but the rules here do not
    // give: the import writes what the rules say, which no longer writes
    // back to the package's stops.csv.
    let claimed = altered(&q1, "stops.csv", true, |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        lines[1] = format!("{}{}", lines[1].trim_end_matches(|c| c != ','), "claimed-by-the-file");
        lines.join("\n") + "\n"
    });
    let said = refused(&claimed, &ori);
    assert!(said.contains("do not reproduce the package's stops.csv"), "{said}");
    assert_eq!(state.footprint().await, before, "a refused package changes nothing");

    // The good package still goes in afterwards.
    let (ok, said) = state.cli(&["--agency", &ori, "import", "package", q1.to_str().unwrap()]);
    assert!(ok, "{said}");
}
