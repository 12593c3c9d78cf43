"""The independent side of tests/stats.rs: the same figures computed with
statsmodels (and patsy's natural cubic regression spline), from the raw
observations the Rust side wrote, never from the product's own pooling.

Usage: check.py CASES.json  -> prints RESULTS.json on stdout.
"""

import json
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Z = 1.959963984540054


def proportions(cases):
    out = []
    for x1, n1, x0, n0 in cases:
        low, high = proportion_confint(x1, n1, alpha=0.05, method="wilson")
        row = {"wilson": [low, high]}
        if x1 > 0 and x0 > 0:
            # Rows: group 1, reference; columns: counted, not counted.
            t = Table2x2(np.array([[x1, n1 - x1], [x0, n0 - x0]], dtype=float), shift_zeros=False)
            row["katz"] = [t.riskratio, *t.riskratio_confint(alpha=0.05)]
        low, high = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=0.05)
        row["newcombe"] = [x1 / n1 - x0 / n0, low, high]
        out.append(row)
    return out


def darkness(stops):
    """Pierson et al. (2020): minority ~ dark + ns(minute, 6) + district, one
    row per stop. patsy's cr() with the knots R's ns(df=6) places spans the
    same natural cubic splines; 'center' drops the constant the intercept
    already carries."""
    d = pd.DataFrame(stops, columns=["minute", "dark", "district", "minority"])
    inner = np.quantile(d.minute, [k / 6 for k in range(1, 6)])
    lo, hi = d.minute.min(), d.minute.max()
    spline = f"cr(minute, knots={list(inner)}, lower_bound={lo}, upper_bound={hi}, constraints='center')"
    formula = f"minority ~ dark + {spline}" + (" + C(district)" if d.district.nunique() > 1 else "")
    fit = smf.glm(formula, d, family=sm.families.Binomial()).fit(tol=1e-12)
    b, se = fit.params["dark"], fit.bse["dark"]
    return {"odds_ratio": float(np.exp(b)), "low": float(np.exp(b - Z * se)), "high": float(np.exp(b + Z * se)), "stops": len(d)}


def early_warning(case):
    """Ridgeway and MacDonald (2009) for one officer: a logistic regression
    of 'the stop is the officer's' on hour, weekday, month and district
    (as categories), weights p/(1-p) on the other officers' stops, and the
    delta-method interval of the ratio of the officer's share to the
    weighted share."""
    d = pd.DataFrame(case["stops"], columns=["officer", "hour", "weekday", "month", "district", "group", "searched"])
    d["mine"] = (d.officer == case["officer"]).astype(float)
    fit = smf.glm("mine ~ C(hour) + C(weekday) + C(month) + C(district)", d, family=sm.families.Binomial()).fit(tol=1e-12)
    others = d[d.mine == 0].copy()
    p = fit.predict(others)
    w = (p / (1 - p)).to_numpy()
    own = d[d.mine == 1]
    n = len(own)
    out = {"effective_stops": float(w.sum() ** 2 / (w**2).sum())}
    measures = [(g, (d.group == g).astype(float)) for g in case["groups"]] + [("search", d.searched.astype(float))]
    for name, y in measures:
        y_own, y_other = y[d.mine == 1], y[d.mine == 0].to_numpy()
        share = y_own.mean()
        bench = (w * y_other).sum() / w.sum()
        row = {"officer": 100 * share, "benchmark": 100 * bench}
        if share > 0 and bench > 0:
            var = (1 - share) / (n * share) + ((w**2) * (y_other - bench) ** 2).sum() / w.sum() ** 2 / bench**2
            r, se = share / bench, np.sqrt(var)
            row.update(ratio=r, low=float(np.exp(np.log(r) - Z * se)), high=float(np.exp(np.log(r) + Z * se)))
        out[name] = row
    return out


def main():
    cases = json.load(open(sys.argv[1]))
    print(json.dumps({
        "proportions": proportions(cases["proportions"]),
        "darkness": [darkness(s) for s in cases["darkness"]],
        "early_warning": [early_warning(c) for c in cases["early_warning"]],
    }))


if __name__ == "__main__":
    main()
