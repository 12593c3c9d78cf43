//! Small-cell suppression (docs/publications.md, "No one identifiable"):
//! the rule CMS and California's health data guidelines use. A count from
//! 1 to 10 is never shown; nor is any cell from which such a count could
//! be worked out from what is shown.
//!
//! 1. Primary: a cell holding a count from 1 to 10 (its numerator or its
//!    denominator, where they count people or records) is suppressed.
//! 2. Complementary, within a table (the rows of one measure and
//!    grouping, which may add up to a published total): a table with
//!    exactly one suppressed row gets a second one, the row with the
//!    smallest non-zero count (a zero when there is none), so that the
//!    total minus the shown rows gives only the sum of two hidden ones.
//! 3. Across tables: a hidden count of a group that another table shows
//!    for the same group (stops of a group are D1's numerator and D3's
//!    denominator) is hidden there too, and that table is checked again.
//!
//! Repeated until nothing changes; each step only adds suppressions, so it
//! ends.

use super::Cell;

/// The largest count that is suppressed; 0 is shown (it identifies no one).
pub const SMALL: f64 = 10.0;

pub fn is_small(count: f64) -> bool {
    (1.0..=SMALL).contains(&count)
}

/// Which of a cell's two counts (numerator, denominator) must stay secret:
/// a small one, or one hidden to protect a small one. A suppressed cell
/// shows neither, but only its secret counts need hiding elsewhere: a
/// group's 600 stops shown in D1 reveal nothing of its 3 uses of force in D6.
type Secret = [bool; 2];

/// Suppresses the cells the rules above hide, in place.
pub fn suppress(cells: &mut [Cell]) {
    let mut secret: Vec<Secret> = vec![[false; 2]; cells.len()];
    for (cell, secret) in cells.iter_mut().zip(secret.iter_mut()) {
        for (k, count) in cell.components().into_iter().enumerate() {
            if count.is_some_and(is_small) {
                secret[k] = true;
                cell.suppressed = true;
            }
        }
    }
    loop {
        let changed = complement_tables(cells, &mut secret) | hide_shared_counts(cells, &mut secret);
        if !changed {
            break;
        }
    }
}

/// Rule 2, per count (numerators add up to one total, denominators to
/// another): a table where exactly one row keeps a numerator (or a
/// denominator) secret gets a second row keeping it secret: a row already
/// hidden if there is one (it shows nothing already), else the shown row
/// whose count is smallest and not zero (a zero when there is none). True
/// when a count became secret.
fn complement_tables(cells: &mut [Cell], secret: &mut [Secret]) -> bool {
    let mut changed = false;
    let mut tables: Vec<(String, String)> =
        cells.iter().map(|c| (c.measure_id.clone(), c.grouping.clone())).collect();
    tables.sort();
    tables.dedup();
    for (measure, grouping) in tables {
        let rows: Vec<usize> = (0..cells.len())
            .filter(|&i| cells[i].measure_id == measure && cells[i].grouping == grouping)
            .collect();
        if rows.len() < 2 {
            continue;
        }
        for k in [0, 1] {
            let keeping: Vec<usize> = rows.iter().copied().filter(|&i| secret[i][k]).collect();
            if keeping.len() != 1 {
                continue;
            }
            let count = |i: usize| cells[i].components()[k].unwrap_or(f64::INFINITY);
            let others = || rows.iter().copied().filter(|&i| i != keeping[0]);
            let by_count = |a: &usize, b: &usize| count(*a).total_cmp(&count(*b));
            let pick = others()
                .filter(|&i| cells[i].suppressed)
                .min_by(by_count)
                .or_else(|| others().filter(|&i| count(i) > 0.0).min_by(by_count))
                .or_else(|| others().min_by(by_count));
            if let Some(i) = pick {
                cells[i].suppressed = true;
                secret[i][k] = true;
                changed = true;
            }
        }
    }
    changed
}

/// Rule 3; true when a count became secret.
fn hide_shared_counts(cells: &mut [Cell], secret: &mut [Secret]) -> bool {
    let hidden: Vec<(String, String, f64)> = cells
        .iter()
        .zip(secret.iter())
        .filter(|(c, _)| c.suppressed && !c.group.is_empty())
        .flat_map(|(c, s)| {
            let parts = c.components();
            (0..2)
                .filter(|&k| s[k])
                .filter_map(move |k| parts[k])
                .map(|n| (c.grouping.clone(), c.group.clone(), n))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut changed = false;
    for (cell, secret) in cells.iter_mut().zip(secret.iter_mut()).filter(|(c, _)| !c.group.is_empty()) {
        for (k, count) in cell.components().into_iter().enumerate() {
            let Some(count) = count else { continue };
            let shared = hidden.iter().any(|(grouping, group, n)| {
                *grouping == cell.grouping && *group == cell.group && *n == count
            });
            if shared && !secret[k] {
                secret[k] = true;
                cell.suppressed = true;
                changed = true;
            }
        }
    }
    changed
}

/// What a reader could still learn of a count from 1 to 10, checked from
/// the shown cells alone (not from how `suppress` chose): a shown count
/// from 1 to 10; a table where a small count is hidden but fewer than two
/// of its hidden rows keep that count's column unknown (a row's count is
/// known when another cell of the same group shows the same number). Empty
/// when the cells are safe to publish; `publish` refuses otherwise.
pub fn violations(cells: &[Cell]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| !c.suppressed) {
        if c.components().into_iter().flatten().any(is_small) {
            out.push(format!("{} {} {} shows a count from 1 to 10", c.measure_id, c.grouping, c.group));
        }
    }
    let exposed = |c: &Cell, value: f64| {
        !c.group.is_empty()
            && cells.iter().any(|o| {
                !o.suppressed
                    && o.grouping == c.grouping
                    && o.group == c.group
                    && o.components().into_iter().flatten().any(|v| v == value)
            })
    };
    let mut tables: Vec<(&str, &str)> =
        cells.iter().map(|c| (c.measure_id.as_str(), c.grouping.as_str())).collect();
    tables.sort();
    tables.dedup();
    for (measure, grouping) in tables {
        let rows: Vec<&Cell> =
            cells.iter().filter(|c| c.measure_id == measure && c.grouping == grouping).collect();
        for k in [0, 1] {
            let hidden: Vec<f64> =
                rows.iter().filter(|c| c.suppressed).filter_map(|c| c.components()[k]).collect();
            if !hidden.iter().any(|v| is_small(*v)) {
                continue;
            }
            let unknown = rows
                .iter()
                .filter(|c| c.suppressed)
                .filter(|c| c.components()[k].is_some_and(|v| !exposed(c, v)))
                .count();
            if rows.len() > 1 && unknown < 2 {
                out.push(format!("{measure} by {grouping}: a small count can be worked out from the others"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(measure: &str, group: &str, n: f64, d: f64) -> Cell {
        Cell::rate(measure, "", "race", group, group, n, d)
    }

    #[test]
    fn a_count_from_one_to_ten_is_hidden_and_zero_is_shown() {
        let mut cells =
            vec![row("D1", "A", 0.0, 500.0), row("D1", "B", 10.0, 500.0), row("D1", "C", 11.0, 500.0)];
        cells.push(row("D1", "D", 479.0, 500.0));
        suppress(&mut cells);
        assert!(violations(&cells).is_empty());
        let hidden: Vec<&str> = cells.iter().filter(|c| c.suppressed).map(|c| c.group.as_str()).collect();
        // B is small; C (11) is the smallest non-zero complement; A's zero stays.
        assert_eq!(hidden, ["B", "C"]);
    }

    #[test]
    fn a_complement_hidden_in_one_table_is_hidden_where_another_shows_it() {
        // D1: stops by group; D3: searches ÷ stops of the group, whose
        // denominators are D1's numerators.
        let mut cells = vec![
            row("D1", "A", 3.0, 300.0),
            row("D1", "B", 40.0, 300.0),
            row("D1", "C", 257.0, 300.0),
            row("D3", "A", 0.0, 3.0),
            row("D3", "B", 12.0, 40.0),
            row("D3", "C", 30.0, 257.0),
        ];
        let before = cells.clone();
        suppress(&mut cells);
        assert!(violations(&cells).is_empty());
        // The checker sees what an unprotected table would give away.
        assert!(!violations(&before).is_empty());
        let shown: Vec<String> =
            cells.iter().filter(|c| !c.suppressed).map(|c| format!("{}{}", c.measure_id, c.group)).collect();
        // D3 B shows B's 40 stops; hiding it leaves D3 with two hidden rows.
        assert_eq!(shown, ["D1C", "D3C"]);
    }
}
