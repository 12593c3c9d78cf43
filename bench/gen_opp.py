#!/usr/bin/env python3
"""Writes N rows of Open Policing standardized columns, deterministic, for
the import benchmark: python3 bench/gen_opp.py 1000000 > stops.csv

With a start date (python3 bench/gen_opp.py 200000 2025-12-01), the rows
fall on random days of the 365 days from it, in no date order, as a merge
of exports or back-filled history would (the soak test's year)."""
import datetime
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
start = datetime.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else None
rng = random.Random(287)
races = ["white"] * 48 + ["hispanic"] * 28 + ["black"] * 14 + ["asian/pacific islander"] * 5 + ["other"] * 3 + ["unknown", "NA"]
roads = ["US-41 at Pine Ridge Rd", "Immokalee Rd at Livingston Rd", "Davis Blvd at Airport-Pulling Rd", "SR-29 at Main St"]
reasons = ["Moving violation", "Equipment violation", "Reasonable suspicion", "Registration", "NA"]
out = sys.stdout
out.write("date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,officer_id_hash,type,"
          "violation,arrest_made,citation_issued,warning_issued,outcome,contraband_found,frisk_performed,"
          "search_conducted,search_person,search_vehicle,search_basis,reason_for_stop\n")
tf = ("FALSE", "TRUE")
for i in range(n):
    if start:
        when = start + datetime.timedelta(days=rng.randrange(365))
        y, m, dd = when.year, when.month, when.day
    else:
        day = 1 + i * 3650 // n
        y, d = 2015 + day // 365, day % 365
        m, dd = 1 + d // 31 % 12, 1 + d % 28
    searched = rng.random() < 0.07
    found = searched and rng.random() < 0.25
    arrest = rng.random() < (0.4 if found else 0.03)
    cit = not arrest and rng.random() < 0.5
    warn = not arrest and not cit
    outcome = "arrest" if arrest else "citation" if cit else "warning"
    out.write(f"{y}-{m:02d}-{dd:02d},{rng.randrange(24):02d}:{rng.randrange(60):02d}:00,{rng.choice(roads)},"
              f"{26.1 + rng.random() * 0.3:.5f},{-81.8 + rng.random() * 0.4:.5f},D{rng.randrange(1, 6)},"
              f"{rng.randrange(16, 80)},{rng.choice(races)},{'male' if rng.random() < 0.7 else 'female'},"
              f"CC-{1100 + rng.randrange(48) * 7:04d},{'vehicular' if rng.random() < 0.85 else 'pedestrian'},"
              f"SPEEDING {rng.randrange(40, 90)}/35,{tf[arrest]},{tf[cit]},{tf[warn]},{outcome},"
              f"{tf[found] if searched else 'NA'},{tf[rng.random() < 0.05]},{tf[searched]},FALSE,{tf[searched]},"
              f"{'consent' if searched else 'NA'},{rng.choice(reasons)}\n")
