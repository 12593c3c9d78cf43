"""What an analyst would run instead of the early-warning list: for each
officer, statsmodels' logistic GLM of "the stop is this officer's" on
hour, weekday, month and district over the year's stops, then the
weighted benchmark. Times the first N officers (the busiest) and
multiplies by the officers compared: an estimate, printed as one.

Usage: warning_analyst.py STOPS.csv N COMPARED"""
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

path, n, compared = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
d = pd.read_csv(path, usecols=["date", "time", "district", "subject_race", "officer_id_hash", "search_conducted"])
d["date"] = pd.to_datetime(d.date)
d = d[d.date.dt.year == 2024]
d["hour"] = d.time.str.slice(0, 2)
d["weekday"], d["month"] = d.date.dt.weekday, d.date.dt.month
read = time.perf_counter() - start
fits = []
for officer in d.officer_id_hash.value_counts().index[:n]:
    t = time.perf_counter()
    d["mine"] = (d.officer_id_hash == officer).astype(float)
    fit = smf.glm("mine ~ C(hour) + C(weekday) + C(month) + C(district)", d, family=sm.families.Binomial()).fit()
    p = fit.predict(d[d.mine == 0])
    w = p / (1 - p)
    _ = np.average((d[d.mine == 0].subject_race == "hispanic").astype(float), weights=w)
    fits.append(time.perf_counter() - t)
per = sum(fits) / len(fits)
print(f"analyst (pandas + statsmodels): read {read:.1f} s, {per:.1f} s per officer over {n} officers; "
      f"for {compared} officers about {read + per * compared:.0f} s (estimate)")
