//! The numerical core of the equity analysis (docs/measures.md,
//! "Statistical methods"): score intervals for rates and their
//! differences, the Katz interval of a rate ratio, logistic regression by
//! iteratively reweighted least squares, the natural cubic spline basis of
//! the veil-of-darkness model, and the Benjamini–Hochberg procedure.
//! Everything takes counts or rows already read; tests compare it with
//! statsmodels (tests/stats.rs).

/// The 97.5th percentile of the standard normal distribution.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A 95% interval, in the unit of the figure it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn excludes(&self, value: f64) -> bool {
        value < self.low || value > self.high
    }
    pub fn scaled(self, by: f64) -> Interval {
        Interval { low: self.low * by, high: self.high * by }
    }
}

/// The Wilson score interval of the proportion x / n (Wilson 1927); None
/// when n is 0.
pub fn wilson(x: i64, n: i64) -> Option<Interval> {
    if n <= 0 {
        return None;
    }
    let (x, n, z2) = (x as f64, n as f64, Z95 * Z95);
    let p = x / n;
    let centre = p + z2 / (2.0 * n);
    let spread = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z2 / n;
    Some(Interval { low: ((centre - spread) / scale).max(0.0), high: ((centre + spread) / scale).min(1.0) })
}

/// The rate ratio (x₁/n₁) ÷ (x₀/n₀) with its Katz log interval; None when
/// either count is 0 (the interval is not defined there).
pub fn katz(x1: i64, n1: i64, x0: i64, n0: i64) -> Option<(f64, Interval)> {
    if x1 <= 0 || x0 <= 0 || n1 <= 0 || n0 <= 0 {
        return None;
    }
    let (x1, n1, x0, n0) = (x1 as f64, n1 as f64, x0 as f64, n0 as f64);
    let ratio = (x1 / n1) / (x0 / n0);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0).sqrt();
    Some((ratio, Interval { low: (ratio.ln() - Z95 * se).exp(), high: (ratio.ln() + Z95 * se).exp() }))
}

/// The difference of proportions x₁/n₁ − x₀/n₀ with Newcombe's hybrid
/// score interval (Newcombe 1998, method 10), built from the two Wilson
/// intervals; None when either n is 0.
pub fn newcombe(x1: i64, n1: i64, x0: i64, n0: i64) -> Option<(f64, Interval)> {
    let (w1, w0) = (wilson(x1, n1)?, wilson(x0, n0)?);
    let (p1, p0) = (x1 as f64 / n1 as f64, x0 as f64 / n0 as f64);
    let d = p1 - p0;
    let low = d - ((p1 - w1.low).powi(2) + (w0.high - p0).powi(2)).sqrt();
    let high = d + ((w1.high - p1).powi(2) + (p0 - w0.low).powi(2)).sqrt();
    Some((d, Interval { low, high }))
}

/// The two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Which of the p-values the Benjamini–Hochberg procedure rejects at
/// false discovery rate `q` (None: not tested, never rejected).
pub fn benjamini_hochberg(p: &[Option<f64>], q: f64) -> Vec<bool> {
    let mut tested: Vec<(usize, f64)> = p.iter().enumerate().filter_map(|(i, p)| Some((i, (*p)?))).collect();
    tested.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = tested.len() as f64;
    let largest = tested.iter().enumerate().rfind(|(rank, (_, p))| *p <= q * (*rank as f64 + 1.0) / m);
    let mut out = vec![false; p.len()];
    if let Some((cut, _)) = largest {
        for (i, _) in &tested[..=cut] {
            out[*i] = true;
        }
    }
    out
}

/// Observations of a logistic regression: each row is a covariate vector
/// with `successes` of `trials` (a single observation is 0 or 1 of 1;
/// identical rows may be pooled without changing the fit). Rows are kept
/// sparse, as (column, value) pairs in column order: a design of category
/// indicators has a handful of non-zeros in fifty columns, and the
/// early-warning list fits one such model per officer.
#[derive(Clone)]
pub struct Rows {
    pub columns: usize,
    entries: Vec<(u32, f64)>,
    starts: Vec<usize>,
    pub successes: Vec<f64>,
    pub trials: Vec<f64>,
}

impl Rows {
    pub fn new(columns: usize) -> Rows {
        Rows { columns, entries: Vec::new(), starts: vec![0], successes: Vec::new(), trials: Vec::new() }
    }
    /// A row given in full (zeros are dropped).
    pub fn push(&mut self, x: &[f64], successes: f64, trials: f64) {
        debug_assert_eq!(x.len(), self.columns);
        let nonzero = x.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(c, v)| (c, *v));
        self.push_sparse(nonzero, successes, trials);
    }
    /// A row given by its non-zero (column, value) pairs in column order.
    pub fn push_sparse(&mut self, x: impl IntoIterator<Item = (usize, f64)>, successes: f64, trials: f64) {
        self.entries.extend(x.into_iter().map(|(c, v)| (c as u32, v)));
        debug_assert!(self.entries[*self.starts.last().unwrap_or(&0)..].windows(2).all(|w| w[0].0 < w[1].0));
        self.starts.push(self.entries.len());
        self.successes.push(successes);
        self.trials.push(trials);
    }
    pub fn len(&self) -> usize {
        self.trials.len()
    }
    pub fn is_empty(&self) -> bool {
        self.trials.is_empty()
    }
    fn row(&self, i: usize) -> &[(u32, f64)] {
        &self.entries[self.starts[i]..self.starts[i + 1]]
    }
    /// The linear predictor x_i·β of row i.
    pub fn eta(&self, i: usize, beta: &[f64]) -> f64 {
        self.row(i).iter().map(|(c, v)| v * beta[*c as usize]).sum()
    }
}

/// A fitted logistic regression: coefficients and their covariance (the
/// inverse of the information matrix at the estimate).
#[derive(Clone, Debug)]
pub struct Fit {
    pub coefficients: Vec<f64>,
    pub covariance: Vec<f64>,
    pub iterations: usize,
}

impl Fit {
    pub fn standard_error(&self, j: usize) -> f64 {
        let p = self.coefficients.len();
        self.covariance[j * p + j].sqrt()
    }
    /// exp(β_j) with its 95% Wald interval.
    pub fn odds_ratio(&self, j: usize) -> (f64, Interval) {
        let (b, se) = (self.coefficients[j], self.standard_error(j));
        (b.exp(), Interval { low: (b - Z95 * se).exp(), high: (b + Z95 * se).exp() })
    }
}

/// Maximum likelihood by Newton–Raphson (for the canonical logit link the
/// same as IRLS), from β = 0, until the log-likelihood and the estimate
/// stop changing. None when the information matrix is singular (collinear
/// columns) or the fit does not converge.
pub fn logistic(rows: &Rows) -> Option<Fit> {
    let (coefficients, iterations) = newton(rows, vec![0.0; rows.columns], false)?;
    let (information, _, _) = newton_terms(rows, &coefficients);
    let covariance = cholesky_inverse(&information, rows.columns)?;
    Some(Fit { coefficients, covariance, iterations })
}

/// The estimate alone, from a starting β, for a model used only for its
/// fitted probabilities (propensity weights). Such a model may have a
/// category with no successes, whose coefficient has no finite maximum:
/// the fit then stops when the log-likelihood does, with that category's
/// fitted probability all but 0, which is the limit (statsmodels' IRLS
/// stops the same way, on the change in deviance).
pub fn logistic_estimate(rows: &Rows, start: Vec<f64>) -> Option<Vec<f64>> {
    newton(rows, start, true).map(|(beta, _)| beta)
}

/// Newton steps from `start`. With `separable`, converged when the
/// log-likelihood stops changing, and a step whose information matrix has
/// become singular in a diverging direction is taken with a small ridge.
fn newton(rows: &Rows, start: Vec<f64>, separable: bool) -> Option<(Vec<f64>, usize)> {
    let p = rows.columns;
    let mut beta = start;
    let mut last = f64::NEG_INFINITY;
    for iteration in 1..=200 {
        let (mut information, score, loglik) = newton_terms(rows, &beta);
        let flat = (loglik - last).abs() <= 1e-12 * (1.0 + loglik.abs());
        if separable && flat {
            return Some((beta, iteration));
        }
        let step = match cholesky_solve(&information, &score, p) {
            Some(step) => step,
            None if separable => {
                let ridge = 1e-9 * (0..p).map(|i| information[i * p + i]).fold(0.0, f64::max);
                (0..p).for_each(|i| information[i * p + i] += ridge);
                cholesky_solve(&information, &score, p)?
            }
            None => return None,
        };
        beta.iter_mut().zip(&step).for_each(|(b, s)| *b += s);
        last = loglik;
        if flat && step.iter().all(|s| s.abs() <= 1e-10 * (1.0 + s.abs())) {
            return Some((beta, iteration));
        }
    }
    None
}

/// The logistic function 1 / (1 + e^−η).
pub fn inverse_logit(eta: f64) -> f64 {
    1.0 / (1.0 + (-eta).exp())
}

/// The information matrix X'WX, the score X'(y − np) and the
/// log-likelihood at β.
fn newton_terms(rows: &Rows, beta: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let p = rows.columns;
    let (mut information, mut score, mut loglik) = (vec![0.0; p * p], vec![0.0; p], 0.0);
    for i in 0..rows.len() {
        let x = rows.row(i);
        let (y, n) = (rows.successes[i], rows.trials[i]);
        let eta = rows.eta(i, beta);
        let mu = inverse_logit(eta);
        // log(1 + e^η) without overflow.
        let softplus = if eta > 0.0 { eta + (-eta).exp().ln_1p() } else { eta.exp().ln_1p() };
        loglik += y * eta - n * softplus;
        let w = n * mu * (1.0 - mu);
        for (k, (a, va)) in x.iter().enumerate() {
            let a = *a as usize;
            score[a] += (y - n * mu) * va;
            let wa = w * va;
            for (b, vb) in &x[..=k] {
                information[a * p + *b as usize] += wa * vb;
            }
        }
    }
    mirror(&mut information, p);
    (information, score, loglik)
}

/// Copies the lower triangle of a p×p matrix into its upper triangle.
pub fn mirror(m: &mut [f64], p: usize) {
    for a in 0..p {
        for b in 0..a {
            m[b * p + a] = m[a * p + b];
        }
    }
}

/// The lower Cholesky factor of a symmetric positive definite p×p matrix;
/// None when it is not (numerically) positive definite.
fn cholesky(m: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    let scale = (0..p).map(|i| m[i * p + i].abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    for i in 0..p {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum();
            if i == j {
                let d = m[i * p + i] - sum;
                if d <= 1e-13 * scale {
                    return None;
                }
                l[i * p + i] = d.sqrt();
            } else {
                l[i * p + j] = (m[i * p + j] - sum) / l[j * p + j];
            }
        }
    }
    Some(l)
}

/// Solves m·x = b for a symmetric positive definite m.
pub fn cholesky_solve(m: &[f64], b: &[f64], p: usize) -> Option<Vec<f64>> {
    let l = cholesky(m, p)?;
    Some(solve_factored(&l, b, p))
}

fn solve_factored(l: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut y = vec![0.0; p];
    for i in 0..p {
        let sum: f64 = (0..i).map(|k| l[i * p + k] * y[k]).sum();
        y[i] = (b[i] - sum) / l[i * p + i];
    }
    let mut x = vec![0.0; p];
    for i in (0..p).rev() {
        let sum: f64 = (i + 1..p).map(|k| l[k * p + i] * x[k]).sum();
        x[i] = (y[i] - sum) / l[i * p + i];
    }
    x
}

/// The inverse of a symmetric positive definite p×p matrix.
pub fn cholesky_inverse(m: &[f64], p: usize) -> Option<Vec<f64>> {
    let l = cholesky(m, p)?;
    let mut inverse = vec![0.0; p * p];
    for j in 0..p {
        let mut e = vec![0.0; p];
        e[j] = 1.0;
        for (i, v) in solve_factored(&l, &e, p).into_iter().enumerate() {
            inverse[i * p + j] = v;
        }
    }
    Some(inverse)
}

/// The knots of a natural cubic spline with `df` degrees of freedom (no
/// intercept) as R's `ns(x, df)` places them: the boundary knots at the
/// extremes of x, df − 1 interior knots at its quantiles (type 7).
pub fn spline_knots(x: &[f64], df: usize) -> Vec<f64> {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let h = (sorted.len() - 1) as f64 * q;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    };
    (0..=df).map(|k| quantile(k as f64 / df as f64)).collect()
}

/// The natural cubic spline basis at x for `knots` (boundary knots first
/// and last), in the truncated-power form of Hastie, Tibshirani and
/// Friedman (Elements of Statistical Learning, eq. 5.4–5.5) without its
/// constant: x, then d_k(x) − d_{K−1}(x) for the first K − 2 knots. It
/// spans the same functions as R's `ns`; x is rescaled to the knots' range
/// so the cubes stay well conditioned.
pub fn natural_spline(x: f64, knots: &[f64]) -> Vec<f64> {
    let (first, last) = (knots[0], knots[knots.len() - 1]);
    let width = if last > first { last - first } else { 1.0 };
    let u = |v: f64| (v - first) / width;
    let (xs, k) = (u(x), knots.len());
    let cube = |v: f64| if v > 0.0 { v * v * v } else { 0.0 };
    let d =
        |j: usize| (cube(xs - u(knots[j])) - cube(xs - u(knots[k - 1]))) / (u(knots[k - 1]) - u(knots[j]));
    let mut out = vec![xs];
    out.extend((0..k - 2).map(|j| d(j) - d(k - 2)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        // Newcombe (1998), table I: 81/263 gives 0.2553 to 0.3662; 15/148
        // gives 0.0624 to 0.1605; 0/10 gives 0 to 0.2775.
        let a = wilson(81, 263).unwrap();
        assert!(close(a.low, 0.2553, 5e-5) && close(a.high, 0.3662, 5e-5), "{a:?}");
        let b = wilson(15, 148).unwrap();
        assert!(close(b.low, 0.0624, 5e-5) && close(b.high, 0.1605, 5e-5), "{b:?}");
        let c = wilson(0, 10).unwrap();
        assert!(c.low == 0.0 && close(c.high, 0.2775, 5e-5), "{c:?}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn newcombe_differences_match_the_published_example() {
        // Newcombe (1998), table II, example (a): 56/70 − 48/80 = 0.2000,
        // hybrid score interval 0.0524 to 0.3339.
        let (d, i) = newcombe(56, 70, 48, 80).unwrap();
        assert!(close(d, 0.2, 1e-12));
        assert!(close(i.low, 0.0524, 5e-5) && close(i.high, 0.3339, 5e-5), "{i:?}");
    }

    #[test]
    fn katz_intervals_follow_the_log_formula_and_refuse_zero_counts() {
        // 25/100 against 20/200: RR 2.5, se = √(1/25 − 1/100 + 1/20 − 1/200)
        // = √0.075; by hand exp(0.91629 ± 1.95996 × 0.27386) = 1.4616 to 4.2761.
        let (rr, i) = katz(25, 100, 20, 200).unwrap();
        assert!(close(rr, 2.5, 1e-12));
        assert!(close(i.low, 1.4616, 5e-5) && close(i.high, 4.2761, 5e-5), "{i:?}");
        assert_eq!(katz(0, 100, 20, 200), None);
        assert_eq!(katz(5, 100, 0, 200), None);
    }

    #[test]
    fn benjamini_hochberg_rejects_up_to_the_largest_rank_under_its_line() {
        // q = 0.05, m = 5 (one not tested): lines 0.01, 0.02, 0.03, 0.04,
        // 0.05. Sorted 0.001, 0.025, 0.029, 0.045, 0.9: rank 3 is the last
        // under its line, so ranks 1-3 are rejected, 0.025 too though it
        // is over its own line (0.02); 0.045 is over 0.04.
        let p = [Some(0.9), Some(0.029), None, Some(0.001), Some(0.045), Some(0.025)];
        assert_eq!(benjamini_hochberg(&p, 0.05), vec![false, true, false, true, false, true]);
        let none = [Some(0.2), Some(0.5)];
        assert_eq!(benjamini_hochberg(&none, 0.05), vec![false, false]);
        assert!(close(two_sided_p(Z95), 0.05, 1e-12));
    }

    #[test]
    fn logistic_regression_recovers_a_hand_solvable_fit() {
        // One binary covariate: the MLE reproduces the two observed odds.
        // x = 0: 30 of 100; x = 1: 60 of 100. β0 = ln(30/70), β1 = ln(60/40) − β0.
        let mut rows = Rows::new(2);
        rows.push(&[1.0, 0.0], 30.0, 100.0);
        rows.push(&[1.0, 1.0], 60.0, 100.0);
        let fit = logistic(&rows).unwrap();
        let b1 = (60.0f64 / 40.0).ln() - (30.0f64 / 70.0).ln();
        assert!(close(fit.coefficients[0], (30.0f64 / 70.0).ln(), 1e-10));
        assert!(close(fit.coefficients[1], b1, 1e-10));
        // The Wald se of a log odds ratio is √(1/a + 1/b + 1/c + 1/d).
        let se = (1.0 / 30.0 + 1.0 / 70.0 + 1.0 / 60.0 + 1.0 / 40.0f64).sqrt();
        assert!(close(fit.standard_error(1), se, 1e-10));
        // Collinear columns have no fit.
        let mut collinear = Rows::new(2);
        collinear.push(&[1.0, 1.0], 3.0, 10.0);
        collinear.push(&[2.0, 2.0], 4.0, 10.0);
        assert!(logistic(&collinear).is_none());
    }

    #[test]
    fn the_natural_spline_is_linear_beyond_its_boundary_knots() {
        let knots = [0.0, 1.0, 2.0, 4.0, 8.0];
        let at = |x: f64| natural_spline(x, &knots);
        assert_eq!(at(3.0).len(), 4);
        // Second differences vanish past the last knot (linear there).
        for j in 0..4 {
            let (a, b, c) = (at(9.0)[j], at(10.0)[j], at(11.0)[j]);
            assert!(close(a - 2.0 * b + c, 0.0, 1e-9), "column {j}");
        }
        assert_eq!(spline_knots(&[5.0, 1.0, 3.0, 2.0, 4.0], 2), vec![1.0, 3.0, 5.0]);
    }
}
