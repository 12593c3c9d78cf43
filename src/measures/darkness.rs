//! D9, the "veil of darkness" test (Grogger and Ridgeway 2006), and D2,
//! the population benchmark ratio. D9 keeps the stops whose clock time
//! falls between the earliest and the latest civil dusk of the period; a
//! stop is dark when it came after that day's dusk. If officers stop
//! minority drivers more when they can see them, minority stops are a
//! larger share of light stops than of dark ones: the odds ratio
//! K = (minority light × majority dark) ÷ (majority light × minority dark)
//! rises above 1. Dusk comes from NOAA's solar equations and the agency's
//! latitude and longitude.

use time::Date;

use super::equity::{GroupRow, Grouped};
use super::stats::{Interval, Rows, logistic, natural_spline, spline_knots};

/// Civil dusk (sun 6° below the horizon) in minutes after midnight UTC of
/// `date`, from NOAA's general solar position equations; None where the
/// sun does not go that low (polar summer).
pub fn civil_dusk_utc(date: Date, latitude: f64, longitude: f64) -> Option<f64> {
    let day = date.ordinal() as f64;
    let g = 2.0 * std::f64::consts::PI / 365.0 * (day - 1.0);
    let eqtime = 229.18
        * (0.000075 + 0.001868 * g.cos()
            - 0.032077 * g.sin()
            - 0.014615 * (2.0 * g).cos()
            - 0.040849 * (2.0 * g).sin());
    let decl = 0.006918 - 0.399912 * g.cos() + 0.070257 * g.sin() - 0.006758 * (2.0 * g).cos()
        + 0.000907 * (2.0 * g).sin()
        - 0.002697 * (3.0 * g).cos()
        + 0.00148 * (3.0 * g).sin();
    let lat = latitude.to_radians();
    let cos_ha = 96f64.to_radians().cos() / (lat.cos() * decl.cos()) - lat.tan() * decl.tan();
    if !(-1.0..=1.0).contains(&cos_ha) {
        return None;
    }
    let ha = cos_ha.acos().to_degrees();
    Some(720.0 - 4.0 * (longitude - ha) - eqtime)
}

/// Civil dusk as local clock minutes after midnight on `date`.
pub fn civil_dusk_local(date: Date, latitude: f64, longitude: f64, time_zone: &str) -> Option<i64> {
    let utc_minutes = civil_dusk_utc(date, latitude, longitude)?;
    let midnight = jiff::civil::date(date.year() as i16, date.month() as i8, date.day() as i8)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    let instant = midnight.checked_add(jiff::SignedDuration::from_secs((utc_minutes * 60.0) as i64)).ok()?;
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = instant.to_zoned(zone);
    let days = (local.date() - jiff::civil::date(date.year() as i16, date.month() as i8, date.day() as i8))
        .get_days() as i64;
    Some(days * 1440 + local.hour() as i64 * 60 + local.minute() as i64)
}

/// The four counts of the test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Darkness {
    pub minority_light: i64,
    pub majority_light: i64,
    pub minority_dark: i64,
    pub majority_dark: i64,
}

impl Darkness {
    pub fn odds_ratio(&self) -> Option<f64> {
        let (num, den) = (
            (self.minority_light * self.majority_dark) as f64,
            (self.majority_light * self.minority_dark) as f64,
        );
        (den > 0.0).then(|| num / den)
    }
    /// Counts `n` stops, dark or light, of the minority or the majority.
    pub fn add(&mut self, dark: bool, minority: bool, n: i64) {
        match (dark, minority) {
            (false, true) => self.minority_light += n,
            (false, false) => self.majority_light += n,
            (true, true) => self.minority_dark += n,
            (true, false) => self.majority_dark += n,
        }
    }

    pub fn stops(&self) -> i64 {
        self.minority_light + self.majority_light + self.minority_dark + self.majority_dark
    }
}

/// Counts the stops of the inter-twilight window. `stops` holds (date,
/// local minutes after midnight, minority?) for stops whose group is known.
pub fn veil_of_darkness(
    stops: &[(Date, i64, bool)],
    latitude: f64,
    longitude: f64,
    time_zone: &str,
) -> Darkness {
    let place = (latitude, longitude, time_zone);
    let rows: Vec<(Date, i64, bool, i64)> = stops.iter().map(|(d, m, x)| (*d, *m, *x, 1)).collect();
    match window(stops.iter().map(|s| s.0), place) {
        Some(w) => count_window(&rows, w, place),
        None => Darkness::default(),
    }
}

/// The inter-twilight window of a set of days: from the earliest to the
/// latest civil dusk among them (local clock minutes).
pub fn window(
    days: impl Iterator<Item = Date>,
    (latitude, longitude, time_zone): (f64, f64, &str),
) -> Option<(i64, i64)> {
    let dusks: Vec<i64> = days.filter_map(|d| civil_dusk_local(d, latitude, longitude, time_zone)).collect();
    Some((*dusks.iter().min()?, *dusks.iter().max()?))
}

/// Counts stops given as (day, minute, minority?, how many) that fall in
/// `window`: light up to that day's dusk, dark after it.
pub fn count_window(
    rows: &[(Date, i64, bool, i64)],
    (earliest, latest): (i64, i64),
    (latitude, longitude, time_zone): (f64, f64, &str),
) -> Darkness {
    let mut dusk = std::collections::HashMap::new();
    let mut d = Darkness::default();
    for (date, minutes, minority, n) in rows {
        let today =
            *dusk.entry(*date).or_insert_with(|| civil_dusk_local(*date, latitude, longitude, time_zone));
        let Some(today) = today else { continue };
        if *minutes < earliest || *minutes > latest {
            continue;
        }
        d.add(*minutes > today, *minority, *n);
    }
    d
}

/// A stop of the inter-twilight window for D9a (or several alike, `stops`
/// of them): its clock minute, whether it was dark, its district, and
/// whether its one known group is a minority (not White).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowStop {
    pub minute: i64,
    pub dark: bool,
    pub district: String,
    pub minority: bool,
    pub stops: i64,
}

/// D9a: the veil of darkness as Pierson et al. (2020) fit it, the odds
/// ratio for darkness adjusted for clock time and district.
#[derive(Clone, Debug, PartialEq)]
pub struct Adjusted {
    pub odds_ratio: f64,
    pub interval: Interval,
    pub stops: i64,
    pub districts: usize,
}

/// Degrees of freedom of the clock-time spline (Pierson et al. 2020).
pub const SPLINE_DF: usize = 6;

/// The stops given as (day, minute, minority?, district, how many) that
/// fall in `window`, dark after that day's dusk (`count_window`'s rule).
pub fn window_stops(
    rows: &[(Date, i64, bool, String, i64)],
    (earliest, latest): (i64, i64),
    (latitude, longitude, time_zone): (f64, f64, &str),
) -> Vec<WindowStop> {
    let mut dusk = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (date, minute, minority, district, stops) in rows {
        let today =
            *dusk.entry(*date).or_insert_with(|| civil_dusk_local(*date, latitude, longitude, time_zone));
        if let Some(today) = today.filter(|_| (earliest..=latest).contains(minute)) {
            let (minute, dark, district) = (*minute, *minute > today, district.clone());
            out.push(WindowStop { minute, dark, district, minority: *minority, stops: *stops });
        }
    }
    out
}

/// The logistic regression of "minority" on "dark", a natural cubic
/// spline of the clock minute (6 df, knots at the minutes' quantiles as
/// R's `ns` places them) and, where there is more than one district, the
/// district as a fixed effect. Stops alike in (minute, dark, district)
/// are pooled, which leaves the fit unchanged. None when the stops cannot
/// identify the darkness effect (no dark or no light stops, too few
/// distinct minutes, or a district with only one kind).
pub fn adjusted(stops: &[WindowStop]) -> Option<Adjusted> {
    let minutes: Vec<f64> =
        stops.iter().flat_map(|s| std::iter::repeat_n(s.minute as f64, s.stops.max(0) as usize)).collect();
    if minutes.is_empty() {
        return None;
    }
    let knots = spline_knots(&minutes, SPLINE_DF);
    let districts: Vec<&str> = stops
        .iter()
        .map(|s| s.district.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut cells: std::collections::BTreeMap<(i64, bool, usize), (f64, f64)> = Default::default();
    for s in stops {
        let district = districts.binary_search(&s.district.as_str()).unwrap_or(0);
        let cell = cells.entry((s.minute, s.dark, district)).or_default();
        cell.0 += if s.minority { s.stops as f64 } else { 0.0 };
        cell.1 += s.stops as f64;
    }
    // Columns: intercept, dark, the spline, one per district but the first.
    let columns = 2 + SPLINE_DF + districts.len() - 1;
    let mut rows = Rows::new(columns);
    for ((minute, dark, district), (minority, all)) in cells {
        let mut x = vec![0.0; columns];
        x[0] = 1.0;
        x[1] = dark as u8 as f64;
        x[2..2 + SPLINE_DF].copy_from_slice(&natural_spline(minute as f64, &knots));
        if district > 0 {
            x[1 + SPLINE_DF + district] = 1.0;
        }
        rows.push(&x, minority, all);
    }
    let fit = logistic(&rows)?;
    let (odds_ratio, interval) = fit.odds_ratio(1);
    let finite = odds_ratio.is_finite() && interval.low.is_finite() && interval.high.is_finite();
    finite.then_some(Adjusted {
        odds_ratio,
        interval,
        stops: minutes.len() as i64,
        districts: districts.len(),
    })
}

/// Parses "white=61.2; hispanic=27.9; ..." into shares; None on any error.
pub fn parse_shares(text: &str) -> Option<Vec<(String, f64)>> {
    let mut shares = Vec::new();
    for part in text.split([';', ',', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let (group, value) = part.split_once('=')?;
        let value: f64 = value.trim().trim_end_matches('%').parse().ok()?;
        if !(0.0..=100.0).contains(&value) || !crate::stops::RACES.iter().any(|(c, _)| *c == group.trim()) {
            return None;
        }
        shares.push((group.trim().to_string(), value));
    }
    Some(shares)
}

/// D2: each group's share of stops ÷ its share of the population.
pub fn benchmark(groups: &[(String, String, super::equity::Counts)], shares: &[(String, f64)]) -> Grouped {
    let stops: i64 = groups.iter().map(|(_, _, c)| c.stops).sum();
    let population: f64 = shares.iter().map(|(_, s)| s).sum();
    let rows = groups
        .iter()
        .map(|(group, label, c)| {
            let pop = shares
                .iter()
                .find(|(g, _)| g == group)
                .map(|(_, s)| 100.0 * s / population)
                .filter(|p| *p > 0.0);
            let mut row = GroupRow::rate(group, label, c.stops, stops, c.stops);
            // The population share is a fixed figure: the ratio's interval
            // is the share's Wilson interval divided by it.
            if let Some(p) = pop {
                row.ratio = row.value.map(|s| s / p);
                (row.ratio_ci_low, row.ratio_ci_high) =
                    (row.ci_low.map(|l| l / p), row.ci_high.map(|h| h / p));
                row.beyond_chance = match (row.ratio_ci_low, row.ratio_ci_high) {
                    (Some(l), _) if l > 1.0 => {
                        Some("more than the population share beyond chance at 95%".into())
                    }
                    (_, Some(h)) if h < 1.0 => {
                        Some("less than the population share beyond chance at 95%".into())
                    }
                    _ => None,
                };
            }
            row
        })
        .collect();
    Grouped {
        id: "D2",
        name: "benchmark ratio",
        definition: "(stops of the group ÷ all stops) ÷ (the group's population ÷ the population); the ratio column is the benchmark ratio, population shares from the agency settings",
        grouping: "race",
        reference: "population".into(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn civil_dusk_matches_published_times() {
        // New York, 21 June 2025: civil twilight ends at 21:03 EDT (NOAA).
        let ny = civil_dusk_local(date!(2025 - 06 - 21), 40.7128, -74.006, "America/New_York").unwrap();
        assert!((ny - (21 * 60 + 3)).abs() <= 3, "{ny}");
        // Naples, Florida, 21 December 2025: about 18:03 EST.
        let naples = civil_dusk_local(date!(2025 - 12 - 21), 26.142, -81.795, "America/New_York").unwrap();
        assert!((naples - (18 * 60 + 3)).abs() <= 4, "{naples}");
        // Tromsø in June: the sun never sets that far.
        assert_eq!(civil_dusk_utc(date!(2025 - 06 - 21), 69.65, 18.96), None);
    }

    #[test]
    fn the_odds_ratio_is_computed_on_the_inter_twilight_window() {
        // Two days in Naples; dusk about 18:03 on 21 Dec and 20:50 on
        // 21 Jun, so the window runs from about 18:03 to 20:50.
        let (winter, summer) = (date!(2025 - 12 - 21), date!(2025 - 06 - 21));
        let stops = vec![
            (summer, 19 * 60, true),  // light
            (summer, 19 * 60, true),  // light
            (summer, 19 * 60, false), // light
            (winter, 19 * 60, true),  // dark
            (winter, 19 * 60, false), // dark
            (winter, 19 * 60, false), // dark
            (winter, 12 * 60, true),  // outside the window
            (summer, 22 * 60, false), // outside the window
        ];
        let d = veil_of_darkness(&stops, 26.142, -81.795, "America/New_York");
        assert_eq!(d, Darkness { minority_light: 2, majority_light: 1, minority_dark: 1, majority_dark: 2 });
        // K = (2 × 2) ÷ (1 × 1) = 4.
        assert_eq!(d.odds_ratio(), Some(4.0));
        assert_eq!(Darkness::default().odds_ratio(), None);
    }

    #[test]
    fn benchmark_ratios_divide_stop_shares_by_population_shares() {
        let c = |stops| super::super::equity::Counts { stops, ..Default::default() };
        let groups = vec![
            ("white".to_string(), "White".to_string(), c(60)),
            ("hispanic".into(), "Hispanic".into(), c(40)),
        ];
        let shares = parse_shares("white=70; hispanic=20%").unwrap();
        let d2 = benchmark(&groups, &shares);
        // Hispanic: 40% of stops ÷ (20/90 = 22.2%) of the population = 1.8.
        assert!((d2.rows[1].ratio.unwrap() - 1.8).abs() < 1e-9);
        assert!((d2.rows[0].ratio.unwrap() - 60.0 / (7000.0 / 90.0)).abs() < 1e-9);
        assert_eq!(parse_shares("martian=3"), None);
        assert_eq!(parse_shares("white=abc"), None);
    }
}
