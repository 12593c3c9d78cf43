#!/usr/bin/env python3
"""Writes N rows of Open Policing standardized columns, deterministic (seed
287), CRLF line ends, each row on a day drawn at random, so the file is in
no date order, as a merge of exports or back-filled history would be.

Usage: python3 bench/gen_opp.py N [START_DATE] [--years Y] > stops.csv
  python3 bench/gen_opp.py 1000000            2015-01-01 for 10 years
  python3 bench/gen_opp.py 200000 2025-12-01  365 days from that date
  python3 bench/gen_opp.py 10000000 2015-01-01 --years 10
  python3 bench/gen_opp.py 1000000 2024-01-01 --officers 500
Y years are Y*365 days. Without START_DATE the span stays what it has
always been, 2015 to 2024, because bench/run.sh lists 2019 and
bench/report.sh reports 2024 out of that file; with it, Y defaults to 1."""
import argparse
import datetime
import itertools
import os
import random
import sys

ap = argparse.ArgumentParser(usage=__doc__.split("Usage: ")[1].split("\n")[0])
ap.add_argument("n", metavar="N", type=int, nargs="?", default=1_000_000)
ap.add_argument("start", metavar="START_DATE", type=datetime.date.fromisoformat, nargs="?")
ap.add_argument("--years", metavar="Y", type=int)
# The 48 CC- badges by default (what the other benchmarks always used);
# with K, the first K officers of bench/load.sh (CC- then BX-) with skewed
# workloads, officer i drawn about 40 / (1 + i/40) times as often as the
# least busy: a few officers make many stops, most make few.
ap.add_argument("--officers", metavar="K", type=int)
args = ap.parse_args()
if args.n < 0 or (args.years is not None and args.years < 1):
    ap.error("N must be >= 0 and Y >= 1")
start = args.start or datetime.date(2015, 1, 1)
years = args.years or (1 if args.start else 10)
rng = random.Random(287)

# Every column is drawn from a table of its finished strings, one
# rng.choices call per column per chunk: C-speed list building instead of
# a formatted line per row. Uniform choice from a table with repeats keeps
# each weighted column's odds exact (7 of 10 male, 17 of 20 vehicular).
dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(years * 365)]
times = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(60)]
roads = ["US-41 at Pine Ridge Rd", "Immokalee Rd at Livingston Rd", "Davis Blvd at Airport-Pulling Rd", "SR-29 at Main St"]
# Latitude 26.1 + U(0, 0.3) and longitude -81.8 + U(0, 0.4), to 5 places.
lats = [f"{v // 100000}.{v % 100000:05d}" for v in range(2610000, 2640000)]
lngs = [f"-{v // 100000}.{v % 100000:05d}" for v in range(8180000, 8140000, -1)]
districts = [f"D{d}" for d in range(1, 6)]
ages = [str(a) for a in range(16, 80)]
races = ["white"] * 48 + ["hispanic"] * 28 + ["black"] * 14 + ["asian/pacific islander"] * 5 + ["other"] * 3 + ["unknown", "NA"]
sexes = ["male"] * 7 + ["female"] * 3
officers = [f"CC-{1100 + k * 7:04d}" for k in range(48)]
if args.officers:
    badges = (officers + [f"BX-{i:05d}" for i in range(452)])[: args.officers]
    officers = [b for i, b in enumerate(badges) for _ in range(max(1, round(40 / (1 + i / 40))))]
types = ["vehicular"] * 17 + ["pedestrian"] * 3
violations = [f"SPEEDING {s}/35" for s in range(40, 90)]
reasons = ["Moving violation", "Equipment violation", "Reasonable suspicion", "Registration", "NA"]

# The outcome columns depend on each other (searched 7%, contraband in 25%
# of searches, arrested 40% with contraband else 3%, else cited half the
# time, else warned; frisked 5% apart from all that): one draw from their
# joint odds, arrest_made through search_basis as one string.
tf = ("FALSE", "TRUE")
outcomes, weights = [], []
for searched, found, arrest, cit, frisk in itertools.product((0, 1), repeat=5):
    if (found and not searched) or (cit and arrest):
        continue
    pa = 0.4 if found else 0.03
    weights.append((0.07 if searched else 0.93) * ((0.25 if found else 0.75) if searched else 1)
                   * (pa if arrest else (1 - pa) * 0.5) * (0.05 if frisk else 0.95))
    warn = not arrest and not cit
    outcomes.append(f"{tf[arrest]},{tf[cit]},{tf[warn]},{'arrest' if arrest else 'citation' if cit else 'warning'},"
                    f"{tf[found] if searched else 'NA'},{tf[frisk]},{tf[searched]},FALSE,{tf[searched]},"
                    f"{'consent' if searched else 'NA'}")
cum = list(itertools.accumulate(weights))

columns = [dates, times, roads, lats, lngs, districts, ages, races, sexes, officers, types, violations, None, reasons]
out = sys.stdout.buffer
try:
    out.write(b"date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,officer_id_hash,type,"
              b"violation,arrest_made,citation_issued,warning_issued,outcome,contraband_found,frisk_performed,"
              b"search_conducted,search_person,search_vehicle,search_basis,reason_for_stop\r\n")
    for done in range(0, args.n, 100_000):
        k = min(100_000, args.n - done)
        drawn = [rng.choices(outcomes, cum_weights=cum, k=k) if c is None else rng.choices(c, k=k) for c in columns]
        out.write(("\r\n".join(map(",".join, zip(*drawn))) + "\r\n").encode("ascii"))
    out.flush()
except BrokenPipeError:
    # A reader that stops early (head) is not an error worth a traceback.
    os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    sys.exit(1)
