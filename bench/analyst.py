#!/usr/bin/env python3
"""The analyst path the benchmarks compare the product against: what an
analyst with pandas and WeasyPrint writes to get the same disparity tables
out of an Open Policing CSV. Every row of the file is the period.

Usage: python3 bench/analyst.py CSV OUT.pdf   (python from bench/analyst-env.sh)"""
import sys

import pandas as pd
import weasyprint

if len(sys.argv) != 3:
    sys.exit(__doc__.split("Usage: ")[1])
csv, out = sys.argv[1:]

# Only the columns the tables use, as a competent analyst reads a wide
# file. Open Policing writes missing values as NA, which pandas reads as
# missing: a race of NA is kept as its own group (as is "unknown"), not
# dropped by groupby. TRUE/FALSE columns come in as booleans; contraband_found
# (NA where nobody was searched) as objects, so it is compared with True.
df = pd.read_csv(csv, usecols=["date", "subject_race", "officer_id_hash", "arrest_made",
                               "contraband_found", "search_conducted"])
df["subject_race"] = df["subject_race"].fillna("NA")
df["searched"] = df["search_conducted"].eq(True)
df["hit"] = df["searched"] & df["contraband_found"].eq(True)
df["arrested"] = df["arrest_made"].eq(True)
df["month"] = pd.to_datetime(df["date"], format="%Y-%m-%d").dt.to_period("M")

# Per race group: counts, rates (hits per search), each rate beside White's.
race = df.groupby("subject_race").agg(stops=("searched", "size"), searches=("searched", "sum"),
                                      hits=("hit", "sum"), arrests=("arrested", "sum"))
race["search rate"] = race["searches"] / race["stops"]
race["hit rate"] = race["hits"] / race["searches"]
race["arrest rate"] = race["arrests"] / race["stops"]
for rate in ["search rate", "hit rate", "arrest rate"]:
    race[f"{rate} / White"] = race[rate] / race.loc["white", rate]
race = race.sort_values("stops", ascending=False)

# Stops per month per race group.
monthly = df.groupby(["month", "subject_race"]).size().unstack(fill_value=0)[race.index]

# Per officer.
officers = df.groupby("officer_id_hash").agg(stops=("searched", "size"), searches=("searched", "sum"),
                                             arrests=("arrested", "sum"))
officers["search rate"] = officers["searches"] / officers["stops"]

def table(frame):
    return frame.to_html(float_format=lambda x: f"{x:.3f}", border=0)

html = f"""<html><head><style>
@page {{ size: letter; margin: 1.5cm }}
body {{ font-family: sans-serif; font-size: 8pt }}
table {{ border-collapse: collapse; margin-bottom: 1em }}
th, td {{ border: 0.5pt solid #999; padding: 1pt 4pt; text-align: right }}
</style></head><body>
<h1>Stops by race: {len(df):,} rows, {df['date'].min()} to {df['date'].max()}</h1>
<h2>Searches, hits and arrests by race, and each rate's ratio to White</h2>{table(race)}
<h2>Stops per month by race</h2>{table(monthly)}
<h2>Stops, searches and arrests by officer</h2>{table(officers)}
</body></html>"""
weasyprint.HTML(string=html).write_pdf(out)
print(f"analyst: {len(df)} rows, {len(race)} groups, {len(monthly)} months, {len(officers)} officers")
