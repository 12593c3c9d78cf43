# shellcheck shell=bash
# Sourced by bench/report.sh and bench/package.sh, with $work (the folder)
# and $bin (the release binary) set: `load ROWS START YEARS [OPTIONS]` makes
# $work/oversight.db of one agency with 500 officers, 50,000 arrests of
# 2024 and ROWS stops (bench/gen_opp.py: no date order, CRLF) imported
# through the product.

# A database with the officers and arrests, the agency's place (D9 is
# computed), then the stops imported through the product.
load() { # rows start years
  rm -f "$work"/oversight.db* "$work/stops.csv"
  export OVERSIGHT_DATABASE_URL="sqlite://$work/oversight.db"
  # shellcheck disable=SC2086 # $4: more options of gen_opp.py, word-split on purpose
  python3 bench/gen_opp.py "$1" "$2" --years "$3" ${4:-} > "$work/stops.csv"
  OVERSIGHT_PASSWORD='quiet harbor lanterns' $bin user add loadtest --role reviewer >/dev/null
  python3 - "$work/oversight.db" <<'PY'
import random, sqlite3, sys
random.seed(7)
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO officers (badge, last_name, first_name, status, annual_salary_cents, agency_id) VALUES (?, 'Bench', 'Officer', 'active', 6500000, 1)",
               [(f"CC-{1100 + i * 7:04d}",) for i in range(48)] + [(f"BX-{i:05d}",) for i in range(452)])
ids = [r[0] for r in db.execute("SELECT id FROM officers")]
db.executemany("INSERT INTO designations (officer_id, model, nominated_on, certified_on, authorized_on, agency_id) VALUES (?, 'JEM', '2020-01-01', '2020-03-01', '2020-03-10', 1)", [(i,) for i in ids])
rows = []
for _ in range(50000):
    m, d = random.randint(1, 12), random.randint(1, 28)
    rows.append((f"2024-{m:02d}-{d:02d}", "10:00", random.choice(ids), "Person", "Charge",
                 random.choice(["felony", "misdemeanor", "infraction"]), random.choice(["1", "2", "3", "none"]),
                 "on_view", 1 if random.random() < 0.1 else 0, ",white,", 1700000000, 1700000000))
db.executemany("INSERT INTO arrests (arrest_date, arrest_time, officer_id, person_name, charges, offense_class, priority_level, "
               "arrest_type, detainer_lodged, perceived_race, created_at, updated_at, agency_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1)", rows)
db.execute("UPDATE agency SET latitude = 26.142, longitude = -81.795, time_zone = 'America/New_York'")
db.commit()
PY
  # The place and the arrests were written outside the product: the check
  # builds their aggregates (and says so, exit 1).
  $bin maintenance check-aggregates >/dev/null || true
  /usr/bin/time -f 'import: %e s, peak memory %M KiB' $bin import stops --format opp "$work/stops.csv" | tail -1
}

