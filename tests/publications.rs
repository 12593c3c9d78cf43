//! Publications (docs/publications.md): an administrator previews and
//! publishes a quarter; anyone reads it at /public without signing in and
//! without a cookie, from the frozen figures; small counts are suppressed
//! so that none can be worked out; the open data's hashes are in the
//! signed checkpoint; a correction is a new version beside the old.

mod common;

use common::{Client, spawn_demo, spawn_with};
use oversight::auth::Role;
use oversight::publications::Cell;
use oversight::publications::suppress::{is_small, suppress, violations};
use rand::{Rng, SeedableRng};

const QUARTER: &str = "2026-Q3";

/// A grouped table's rows as the measures make them: stops per group
/// (skewed: one large group, some tiny ones), searches of those stops,
/// hits of those searches, and another grouping's counts.
fn random_cells(rng: &mut rand::rngs::StdRng) -> Vec<Cell> {
    let groups = rng.gen_range(2..8);
    let stops: Vec<f64> = (0..groups)
        .map(|g| match rng.gen_range(0..4) {
            0 => rng.gen_range(0..=12) as f64,
            _ if g == 0 => rng.gen_range(200..5000) as f64,
            _ => rng.gen_range(0..400) as f64,
        })
        .collect();
    let total: f64 = stops.iter().sum();
    let mut cells = Vec::new();
    for (g, s) in stops.iter().enumerate() {
        let group = format!("g{g}");
        let searches = rng.gen_range(0..=(*s as i64)) as f64 * if rng.gen_bool(0.5) { 0.1 } else { 1.0 };
        let searches = searches.floor();
        let hits = rng.gen_range(0..=(searches as i64)) as f64;
        cells.push(Cell::rate("D1", "percent", "race", &group, &group, *s, total));
        cells.push(Cell::rate("D3", "percent", "race", &group, &group, searches, *s));
        cells.push(Cell::rate("D4", "percent", "race", &group, &group, hits, searches));
    }
    for kind in ["a", "b", "c"] {
        let n = rng.gen_range(0..40) as f64;
        cells.push(Cell::rate("E1", "percent", "kind", kind, kind, n, 100.0));
    }
    cells
}

#[test]
fn no_small_count_can_be_read_or_worked_out_from_random_tables() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let mut hid_something = 0;
    for case in 0..2000 {
        let mut cells = random_cells(&mut rng);
        let had_small = cells.iter().any(|c| c.components().into_iter().flatten().any(is_small));
        suppress(&mut cells);
        let found = violations(&cells);
        assert!(found.is_empty(), "case {case}: {found:?}\n{cells:#?}");
        // Every table hides none or at least two rows.
        for c in &cells {
            let table = cells.iter().filter(|o| o.measure_id == c.measure_id && o.grouping == c.grouping);
            assert_ne!(
                table.filter(|o| o.suppressed).count(),
                1,
                "case {case}: {} by {}",
                c.measure_id,
                c.grouping
            );
        }
        // Nothing is hidden where nothing is small.
        if !had_small {
            assert!(
                cells.iter().all(|c| !c.suppressed),
                "case {case}: hid cells of a table without small counts"
            );
        } else {
            hid_something += 1;
        }
    }
    assert!(hid_something > 500, "the generator must make small counts often ({hid_something})");
}

/// The rows of a published CSV: (measure_id, grouping, group, numerator,
/// denominator, suppressed).
fn rows(csv_text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "measure_id",
            "grouping",
            "group",
            "numerator",
            "denominator",
            "value",
            "ci_low",
            "ci_high",
            "suppressed"
        ]
    );
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Checks a published CSV against the rules from the outside: no count
/// from 1 to 10 is shown (which figures are counts follows from each
/// measure's unit in the published dictionary), a suppressed row shows
/// nothing, and no table hides exactly one row.
async fn assert_safe(public: &Client, base: &str) {
    let csv_text = public.get(&format!("{base}/measures.csv")).await.text().await.unwrap();
    let dictionary = public.get(&format!("{base}/dictionary.csv")).await.text().await.unwrap();
    let units: std::collections::HashMap<String, String> = csv::Reader::from_reader(dictionary.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[3].to_string()))
        .collect();
    let rows = rows(&csv_text);
    assert!(rows.len() > 20, "{csv_text}");
    for r in &rows {
        if r[8] == "true" {
            assert!(r[3..8].iter().all(String::is_empty), "a suppressed row shows figures: {r:?}");
            continue;
        }
        let counts: &[&String] = match units[&r[0]].as_str() {
            "percent" => &[&r[3], &r[4]],
            "count" => &[&r[3]],
            "ratio" => &[],
            _ => &[&r[4]],
        };
        for n in counts {
            let n: f64 = n.parse().unwrap_or(0.0);
            assert!(!(1.0..=10.0).contains(&n), "a small count is shown: {r:?}");
        }
        let table: Vec<&Vec<String>> = rows.iter().filter(|o| o[0] == r[0] && o[1] == r[1]).collect();
        assert_ne!(table.iter().filter(|o| o[8] == "true").count(), 1, "{} by {} hides one row", r[0], r[1]);
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

#[tokio::test]
async fn a_published_quarter_is_public_frozen_safe_and_provable() {
    let app = spawn_demo().await;
    app.user("publisher", &[Role::Administrator]).await;
    let ori = oversight::agency::store::get(&app.scope).await.unwrap().ori;
    let admin = app.signed_in("publisher").await;

    // The dashboard of a whole quarter offers its preview; of another range, not.
    let (_, dashboard) = admin.get_text("/dashboard?from=2026-07-01&to=2026-09-30").await;
    assert!(dashboard.contains(&format!("/publications/preview?period={QUARTER}")), "{dashboard}");
    let (_, dashboard) = admin.get_text("/dashboard?from=2026-07-01&to=2026-09-29").await;
    assert!(!dashboard.contains("/publications/preview"), "a partial quarter offered for publishing");

    // The preview shows what will be public, and nothing is public yet.
    let (status, preview) = admin.get_text(&format!("/publications/preview?period={QUARTER}")).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("This is exactly what the public page will show"), "{preview}");
    assert!(preview.contains("withheld (1–10)"), "{preview}");
    let public = Client::new(&app.base);
    let (status, _) = public.get_text(&format!("/public/{ori}/{QUARTER}")).await;
    assert_eq!(status, 404);

    let response = admin.post("/publications", &[("period", QUARTER)]).await;
    assert_eq!(response.status(), 303);
    let (_, list) = admin.get_text("/publications").await;
    assert!(list.contains(&format!("/public/{ori}/{QUARTER}/versions/1")), "{list}");

    // Anyone reads it, with no cookie, from /public down.
    let (status, index) = public.get_text("/public").await;
    assert_eq!(status, 200);
    assert!(index.contains(&format!("/public/{ori}/{QUARTER}")), "{index}");
    let page = public.get(&format!("/public/{ori}/{QUARTER}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("set-cookie").is_none(), "a public page set a cookie");
    assert_eq!(page.headers()["cache-control"], "public, max-age=60");
    let etag = page.headers()["etag"].to_str().unwrap().to_string();
    let first = page.text().await.unwrap();
    assert!(first.contains("2026 Q3") && first.contains("95% interval"), "{first}");
    assert!(!first.contains("_csrf") && !first.contains("Sign out"), "a public page holds the app's forms");
    let again = public
        .http
        .get(format!("{}/public/{ori}/{QUARTER}", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Gzipped once for the clients that accept it, the same page inside.
    let zipped = public
        .http
        .get(format!("{}/public/{ori}/{QUARTER}", app.base))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    assert_ne!(zipped.headers()["etag"].to_str().unwrap(), etag, "one tag per encoding");
    let bytes = zipped.bytes().await.unwrap();
    assert!(bytes.len() * 4 < first.len(), "{} gzipped bytes of {}", bytes.len(), first.len());
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped).unwrap();
    assert!(unzipped == first, "the gzipped page is another page");

    // The open data: safe, and each file is the one the checkpoint lists.
    let base = format!("/public/{ori}/{QUARTER}/versions/1");
    let csv_text = public.get(&format!("{base}/measures.csv")).await.text().await.unwrap();
    assert_safe(&public, &base).await;
    let json: serde_json::Value = public.get(&format!("{base}/measures.json")).await.json().await.unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), rows(&csv_text).len());
    let package: serde_json::Value =
        public.get(&format!("{base}/datapackage.json")).await.json().await.unwrap();
    let csv_resource =
        package["resources"].as_array().unwrap().iter().find(|r| r["path"] == "measures.csv").unwrap();
    assert_eq!(csv_resource["hash"], format!("sha256:{}", sha256(csv_text.as_bytes())));
    assert_eq!(csv_resource["schema"]["fields"].as_array().unwrap().len(), 9);
    let pdf = public.get(&format!("{base}/report.pdf")).await.bytes().await.unwrap();
    let note = public.get(&format!("{base}/checkpoint.txt")).await.text().await.unwrap();
    assert!(note.contains(&format!("sha256 {} measures.csv", sha256(csv_text.as_bytes()))), "{note}");
    assert!(note.contains(&format!("sha256 {} report.pdf", sha256(&pdf))), "{note}");
    assert!(first.contains(&sha256(csv_text.as_bytes())), "the page lists the CSV's SHA-256");
    let dir = app.dir.path();
    std::fs::write(dir.join("checkpoint.txt"), &note).unwrap();
    std::fs::write(dir.join("measures.csv"), &csv_text).unwrap();
    std::fs::write(dir.join("report.pdf"), &pdf).unwrap();
    let files = |names: &[&str]| names.iter().map(|n| dir.join(n).display().to_string()).collect::<Vec<_>>();
    let mut args =
        vec!["publication".to_string(), "check".into(), dir.join("checkpoint.txt").display().to_string()];
    args.extend(files(&["measures.csv", "report.pdf"]));
    let (ok, out) = app.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{out}");
    std::fs::write(dir.join("measures.csv"), csv_text.replacen("false", "true", 1)).unwrap();
    let (ok, out) = app.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && out.contains("NOT the file published"), "{out}");
    let text = pdftotext(&dir.join("report.pdf"));
    assert!(text.contains("2026 Q3") && text.contains("1-10"), "{text}");
    common::assert_tagged_pdf(&dir.join("report.pdf"));

    // Frozen: a change to the records after publishing changes nothing public.
    let badge = oversight::officers::Officer {
        badge: "PUB-1".into(),
        last_name: "Later".into(),
        first_name: "Added".into(),
        status: "active".into(),
        ..Default::default()
    };
    oversight::officers::store::create(&app.scope, &oversight::audit::Actor::system("test"), &badge)
        .await
        .unwrap();
    let (_, later) = public.get_text(&format!("/public/{ori}/{QUARTER}")).await;
    if later != first {
        std::fs::write("/tmp/pub-first.html", &first).unwrap();
        std::fs::write("/tmp/pub-later.html", &later).unwrap();
    }
    assert!(later == first, "the publication was recomputed");

    // Publishing again needs a correction note; the correction is a new
    // version and the first stays readable, pointing to it.
    let refused = admin.post("/publications", &[("period", QUARTER), ("correction", "")]).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("say what changed and why"), "{body}");
    let why = "A training record of the quarter was entered late.";
    let response = admin.post("/publications", &[("period", QUARTER), ("correction", why)]).await;
    assert_eq!(response.status(), 303);
    // Served from the cache for at most a few seconds after a publication.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, newest) = public.get_text(&format!("/public/{ori}/{QUARTER}")).await;
    assert!(newest.contains("version 2") && newest.contains(why), "{newest}");
    let (_, old) = public.get_text(&base).await;
    assert!(old.contains("A correction of this publication was published"), "{old}");
    assert!(old.contains(&sha256(csv_text.as_bytes())), "version 1 keeps its files");

    // Publishing is audited with the files' hashes.
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "publication.publish").count(), 2, "{actions:?}");
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext").args([pdf.to_str().unwrap(), "-"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn only_whole_ended_calendar_periods_are_published_and_the_state_publishes_too() {
    let app = spawn_demo().await;
    let (ok, out) = app.cli(&["publish", "--from", "2026-07-02", "--to", "2026-09-30"]);
    assert!(!ok && out.contains("whole calendar month, quarter or year"), "{out}");
    let (ok, out) = app.cli(&["publish", "--from", "2026-10-01", "--to", "2026-12-31"]);
    assert!(!ok && out.contains("has not ended"), "{out}");
    assert_eq!(app.count("publications").await, 0);
    // One cadence per publisher: after a quarter, a month (or the year)
    // would let differences reveal a small count.
    let (ok, out) = app.cli(&["publish", "--from", "2026-07-01", "--to", "2026-09-30"]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["publish", "--from", "2026-08-01", "--to", "2026-08-31"]);
    assert!(!ok && out.contains("quarters are published here already"), "{out}");
    let (ok, out) = app.cli(&["publish", "--from", "2025-01-01", "--to", "2025-12-31"]);
    assert!(!ok && out.contains("quarters are published here already"), "{out}");
    // The agency published 2026 Q3 itself: the state does not (its figure
    // less the agency's would give the other agencies' small counts).
    let (ok, out) = app.cli(&["publish", "--state", "--from", "2026-07-01", "--to", "2026-09-30"]);
    assert!(!ok && out.contains("An agency already published figures for part of this period"), "{out}");
    // The state's administrator publishes a quarter from the web.
    let hash = oversight::auth::password::Hasher::default().hash(common::PASSWORD).await.unwrap();
    let user = oversight::users::NewUser {
        username: "st-publisher".into(),
        display_name: "State publisher".into(),
        password: common::PASSWORD.into(),
        roles: vec![Role::StateAdministrator],
        must_change_password: false,
    };
    oversight::users::store::create_state_user(
        &app.db,
        &oversight::audit::Actor::system("test"),
        &user,
        &hash,
    )
    .await
    .unwrap();
    oversight::db::query("UPDATE deployment SET mfa_policy = 'optional'").execute(&app.db).await.unwrap();
    let state_admin = app.signed_in("st-publisher").await;
    let (status, preview) = state_admin.get_text("/state/publications/preview?period=2026-Q2").await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("Preview: Statewide, 2026 Q2"), "{preview}");
    let response = state_admin.post("/state/publications", &[("period", "2026-Q2")]).await;
    assert_eq!(response.status(), 303);
    let (status, _) = Client::new(&app.base).get_text("/public/state/2026-Q2").await;
    assert_eq!(status, 200);
    // An agency's administrator does not publish for the state.
    app.user("agency-admin", &[Role::Administrator]).await;
    let (status, _) = app.signed_in("agency-admin").await.get_text("/state/publications").await;
    assert!(status == 403 || status == 404, "{status}");
    let (ok, out) =
        app.cli(&["publish", "--state", "--from", "2026-04-01", "--to", "2026-06-30", "--correction", "x"]);
    assert!(ok, "{out}");
    assert!(out.contains("/public/state/2026-Q2"), "{out}");
    let (ok, out) = app.cli(&["publish", "--from", "2026-04-01", "--to", "2026-06-30"]);
    assert!(!ok && out.contains("The state already published figures"), "{out}");
    let public = Client::new(&app.base);
    let (status, page) = public.get_text("/public/state/2026-Q2").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Statewide") && page.contains("agencies with 287(g) agreements"), "{page}");
    let csv_text = public.get("/public/state/2026-Q2/versions/2/measures.csv").await.text().await.unwrap();
    assert!(csv_text.contains(",agency,"), "{csv_text}");
    // The equity rates of every agency's stops pooled, suppressed as an agency's.
    assert!(csv_text.contains("D3,race,"), "{csv_text}");
    assert_safe(&public, "/public/state/2026-Q2/versions/2").await;
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "publication.publish"), "{actions:?}");
}

#[tokio::test]
async fn the_public_pages_reach_nothing_else_and_limit_each_address() {
    let app = spawn_with(|c| c.public_rate = 1).await;
    let public = Client::new(&app.base);
    // A burst of three seconds' worth at one a second, then 429.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(public.get("/public").await.status().as_u16());
    }
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let (status, _) = public.get_text("/dashboard").await;
    assert_eq!(status, 303, "the dashboard needs sign-in, and is not limited");
    for path in ["/public/FL9999999/2026", "/public/state/2026-13", "/public/state/2026/versions/x"] {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, _) = public.get_text(path).await;
        assert_eq!(status, 404, "{path}");
    }
}
