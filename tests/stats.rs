//! The statistics of issue 16 against an independent implementation and
//! against the truth planted in generated data.
//!
//! - Wilson, Katz and Newcombe intervals, the adjusted veil of darkness
//!   (D9a) and the early-warning list's ratios and intervals agree with
//!   statsmodels (tests/stats/check.py, run in the tests' virtual
//!   environment) to 1e-6 relative, on generated data whose stops are
//!   written one by one to the Python side (the product pools them).
//! - A planted darkness effect and a planted officer are found; data
//!   without one is flagged no more often than the nominal 5% over many
//!   seeds (seeded, so the same each run).

use oversight::measures::darkness::{WindowStop, adjusted};
use oversight::measures::stats::{katz, newcombe, wilson};
use oversight::measures::warning::{OfficerStop, early_warning};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const DISTRICTS: [&str; 3] = ["North", "Central", "South"];

/// A district drawn with a skew (60%, 30%, 10%).
fn district(rng: &mut StdRng) -> usize {
    match rng.gen_range(0.0..1.0) {
        u if u < 0.6 => 0,
        u if u < 0.9 => 1,
        _ => 2,
    }
}

fn logistic(eta: f64) -> f64 {
    1.0 / (1.0 + (-eta).exp())
}

/// Stops of an inter-twilight window: the minute runs 17:30 to 20:50, each
/// stop's day has its dusk somewhere in that range, and the minority share
/// rises with the clock time and differs by district (so an unadjusted
/// ratio would be confounded), times `planted` in the odds when dark.
fn window_stops(seed: u64, n: usize, planted: f64) -> Vec<WindowStop> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let minute = rng.gen_range(1050..=1250);
            let dusk = rng.gen_range(1060..=1240);
            let dark = minute > dusk;
            let d = district(&mut rng);
            let eta = -0.2
                + planted.ln() * dark as u8 as f64
                + 0.004 * (minute - 1150) as f64
                + [0.0, 0.5, -0.4][d];
            let minority = rng.gen_bool(logistic(eta));
            WindowStop { minute, dark, district: DISTRICTS[d].into(), minority, stops: 1 }
        })
        .collect()
}

/// A quarter of stops by `officers` officers: each works mostly one
/// district and one six-hour shift; the groups stopped and the searches
/// depend on district and hour (the circumstances the benchmark matches).
/// Officer 0's odds of stopping a Black driver, and of searching, are
/// multiplied by `planted`.
fn officer_stops(seed: u64, officers: i64, each: usize, planted: f64) -> Vec<OfficerStop<'static>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for officer in 0..officers {
        for _ in 0..each {
            let d = if rng.gen_bool(0.8) { officer as usize % 3 } else { district(&mut rng) };
            let shift = (officer as u8 % 4) * 6;
            let hour = if rng.gen_bool(0.8) { shift + rng.gen_range(0..6) } else { rng.gen_range(0..24) };
            let night = (hour < 6) as u8 as f64;
            let bias = if officer == 0 { planted.ln() } else { 0.0 };
            let black = logistic(-1.2 + [0.0, 0.6, 1.0][d] + 0.4 * night + bias);
            let hispanic = 0.25;
            let u: f64 = rng.gen_range(0.0..1.0);
            let group = if u < black {
                "black"
            } else if u < black + (1.0 - black) * hispanic {
                "hispanic"
            } else {
                "white"
            };
            let searched = rng.gen_bool(logistic(-2.5 + 0.5 * night + [0.0, 0.3, 0.0][d] + bias));
            out.push(OfficerStop {
                officer: 100 + officer,
                hour: Some(hour),
                weekday: rng.gen_range(0..7),
                month: rng.gen_range(1..=3),
                district: DISTRICTS[d],
                group,
                searched,
                stops: 1,
            });
        }
    }
    out
}

/// Runs tests/stats/check.py on `cases` in the tests' virtual environment.
fn statsmodels(cases: &Value) -> Value {
    let venv = std::env::var("OVERSIGHT_TEST_PDF_VENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/pdf-venv").to_string());
    let python = std::path::Path::new(&venv).join("bin/python");
    assert!(python.exists(), "{} is missing: bash tests/run.sh installs statsmodels there", python.display());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, cases.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stats/check.py");
    let out = std::process::Command::new(python).arg(script).arg(&file).output().unwrap();
    assert!(out.status.success(), "check.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[track_caller]
fn same(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs.as_f64().unwrap_or_else(|| panic!("{what}: statsmodels gave {theirs}"));
    let scale = ours.abs().max(theirs.abs()).max(1e-300);
    assert!((ours - theirs).abs() / scale <= 1e-6, "{what}: ours {ours}, statsmodels {theirs}");
}

#[test]
fn intervals_and_regressions_agree_with_statsmodels() {
    let counts = [(81, 263, 15, 148), (3, 3, 2, 4), (0, 40, 7, 90), (24, 320, 11, 480), (1, 2, 0, 5)];
    let darkness = [window_stops(1, 4000, 0.7), window_stops(2, 1500, 1.0)];
    let officers = officer_stops(3, 8, 150, 1.8);
    let darkness_rows: Vec<Vec<Value>> = darkness
        .iter()
        .map(|stops| {
            stops.iter().map(|s| json!([s.minute, s.dark as u8, s.district, s.minority as u8])).collect()
        })
        .collect();
    let officer_rows: Vec<Value> = officers
        .iter()
        .map(|s| json!([s.officer, s.hour, s.weekday, s.month, s.district, s.group, s.searched as u8]))
        .collect();
    let warning_cases: Vec<Value> = [100, 103]
        .iter()
        .map(|officer| json!({ "officer": officer, "groups": ["black", "hispanic", "white"], "stops": officer_rows }))
        .collect();
    let cases = json!({ "proportions": counts, "darkness": darkness_rows, "early_warning": warning_cases });
    let theirs = statsmodels(&cases);

    for (i, (x1, n1, x0, n0)) in counts.into_iter().enumerate() {
        let t = &theirs["proportions"][i];
        let w = wilson(x1, n1).unwrap();
        same(w.low, &t["wilson"][0], "Wilson low");
        same(w.high, &t["wilson"][1], "Wilson high");
        match katz(x1, n1, x0, n0) {
            Some((rr, k)) => {
                same(rr, &t["katz"][0], "rate ratio");
                same(k.low, &t["katz"][1], "Katz low");
                same(k.high, &t["katz"][2], "Katz high");
            }
            None => assert!(t["katz"].is_null() && (x1 == 0 || x0 == 0)),
        }
        let (d, n) = newcombe(x1, n1, x0, n0).unwrap();
        same(d, &t["newcombe"][0], "difference");
        same(n.low, &t["newcombe"][1], "Newcombe low");
        same(n.high, &t["newcombe"][2], "Newcombe high");
    }

    for (i, stops) in darkness.iter().enumerate() {
        let t = &theirs["darkness"][i];
        let a = adjusted(stops).expect("the window's stops identify the effect");
        assert_eq!(a.stops, t["stops"].as_i64().unwrap());
        same(a.odds_ratio, &t["odds_ratio"], "D9a odds ratio");
        same(a.interval.low, &t["low"], "D9a low");
        same(a.interval.high, &t["high"], "D9a high");
    }

    let list = early_warning(&officers, 50);
    for (i, officer) in [100, 103].into_iter().enumerate() {
        let t = &theirs["early_warning"][i];
        let review = list.of(officer).unwrap();
        same(review.effective_stops, &t["effective_stops"], "effective stops");
        for c in &review.comparisons {
            let t = &t[&c.measure];
            same(c.officer, &t["officer"], &format!("{officer} {} officer", c.measure));
            same(c.benchmark, &t["benchmark"], &format!("{officer} {} benchmark", c.measure));
            same(c.ratio.unwrap(), &t["ratio"], &format!("{officer} {} ratio", c.measure));
            let interval = c.interval.unwrap();
            same(interval.low, &t["low"], &format!("{officer} {} low", c.measure));
            same(interval.high, &t["high"], &format!("{officer} {} high", c.measure));
        }
    }
}

#[test]
fn a_planted_darkness_effect_is_found_and_none_is_found_as_often_as_chance() {
    // Planted odds ratio 0.6: every one of 20 seeds finds it (its interval
    // below 1), and the interval holds the truth in most.
    let (mut found, mut covered) = (0, 0);
    for seed in 0..20 {
        let a = adjusted(&window_stops(1000 + seed, 3000, 0.6)).unwrap();
        found += (a.interval.high < 1.0) as u32;
        covered += (a.interval.low <= 0.6 && 0.6 <= a.interval.high) as u32;
    }
    assert_eq!(found, 20);
    assert!(covered >= 17, "{covered} of 20 intervals hold 0.6");
    // No effect: over 200 seeds an interval excludes 1 about 10 times (5%);
    // more than 19 (the binomial's 99.9th percentile) would mean the
    // intervals are too narrow.
    let rejected = (0..200)
        .filter(|seed| adjusted(&window_stops(5000 + seed, 1000, 1.0)).unwrap().interval.excludes(1.0))
        .count();
    assert!(rejected <= 19, "{rejected} of 200 null data sets rejected");
    assert!(rejected >= 2, "{rejected} of 200: the intervals are too wide to ever reject");
}

#[test]
fn a_planted_officer_is_flagged_and_unbiased_officers_rarely_are() {
    // Officer 100 stops Black drivers at three times the odds of the
    // others in the same circumstances, and searches at three times the
    // odds.
    for seed in 0..5 {
        let list = early_warning(&officer_stops(seed, 12, 300, 3.0), 50);
        let flagged: Vec<i64> = list.flagged().map(|r| r.officer).collect();
        assert!(flagged.contains(&100), "seed {seed}: flagged {flagged:?} {:?}", list.of(100));
        let black = list.of(100).unwrap().comparisons.iter().find(|c| c.measure == "black").unwrap().clone();
        assert!(black.flagged && black.ratio.unwrap() > 1.0, "{black:?}");
    }
    // Nobody biased: with the false discovery rate held at 5%, a list that
    // flags anyone at all should be rare (at most 5% of lists when no
    // officer stands out); over 60 seeds, more than 8 would be too many.
    let lists_with_flags = (0..60)
        .filter(|seed| early_warning(&officer_stops(100 + seed, 12, 300, 1.0), 50).flagged().next().is_some())
        .count();
    assert!(lists_with_flags <= 8, "{lists_with_flags} of 60 unbiased lists flagged someone");
    // No stops: an empty list (a new agency's first report).
    assert_eq!(early_warning(&[], 50).reviews.len(), 0);
    // Officers under the minimum are left off and counted.
    let few = early_warning(&officer_stops(7, 4, 40, 1.0), 50);
    assert!(few.reviews.is_empty() && few.below_minimum == 4);
}
