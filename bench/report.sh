#!/usr/bin/env bash
# Benchmarks of issue 6, printed as figures (never asserted in tests):
# with 1,000,000 stops, 50,000 arrests and 500 officers loaded,
#  1. time and peak memory of `oversight report` for one year;
#  2. time and peak memory of `oversight metrics` for the same year;
#  3. the dashboard page under wrk (its first view computes eight periods;
#     later views come from the cache until a record changes).
# Usage: bash bench/report.sh   (needs wrk, sqlite3, GNU time, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in wrk sqlite3 /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk sqlite3 time)"; exit 1; }
done
cargo build --release --quiet
bin=target/release/oversight
export OVERSIGHT_DATABASE_URL="sqlite://$work/oversight.db"

echo "== loading 1,000,000 stops, 50,000 arrests, 500 officers"
python3 bench/gen_opp.py 1000000 > "$work/stops.csv"
OVERSIGHT_PASSWORD='quiet harbor lanterns' $bin user add loadtest --role reviewer >/dev/null
python3 - "$work/oversight.db" <<'PY'
import random, sqlite3, sys
random.seed(6)
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO officers (badge, last_name, first_name, status, annual_salary_cents) VALUES (?, 'Bench', 'Officer', 'active', 6500000)",
               [(f"CC-{1100 + i * 7:04d}",) for i in range(48)] + [(f"BX-{i:05d}",) for i in range(452)])
ids = [r[0] for r in db.execute("SELECT id FROM officers")]
db.executemany("INSERT INTO designations (officer_id, model, nominated_on, certified_on, authorized_on) VALUES (?, 'JEM', '2020-01-01', '2020-03-01', '2020-03-10')", [(i,) for i in ids])
db.commit()
PY
$bin import stops --format opp "$work/stops.csv" | tail -1
python3 - "$work/oversight.db" <<'PY'
import random, sqlite3, sys
random.seed(7)
db = sqlite3.connect(sys.argv[1])
ids = [r[0] for r in db.execute("SELECT id FROM officers")]
rows = []
for _ in range(50000):
    y, m, d = random.randint(2015, 2024), random.randint(1, 12), random.randint(1, 28)
    detainer = 1 if random.random() < 0.1 else 0
    rows.append((f"{y}-{m:02d}-{d:02d}", "10:00", random.choice(ids), "Person", "Charge",
                 random.choice(["felony", "misdemeanor", "infraction"]), random.choice(["1", "2", "3", "none"]),
                 "on_view", detainer, ",white,", 1700000000, 1700000000))
db.executemany("INSERT INTO arrests (arrest_date, arrest_time, officer_id, person_name, charges, offense_class, priority_level, "
               "arrest_type, detainer_lodged, perceived_race, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
PY
sqlite3 "$work/oversight.db" "SELECT 'stops', COUNT(*) FROM stops; SELECT 'arrests', COUNT(*) FROM arrests; SELECT 'officers', COUNT(*) FROM officers;"

echo "== oversight report for 2024 (target: under 2 s and 300 MiB)"
/usr/bin/time -f 'report: %e s, peak memory %M KiB' $bin report --from 2024-01-01 --to 2024-12-31 --out "$work/2024.pdf" | cut -c1-80
echo "== oversight metrics for 2024 (target: under 1 s)"
/usr/bin/time -f 'metrics: %e s, peak memory %M KiB' $bin metrics --from 2024-01-01 --to 2024-12-31 > /dev/null

echo "== dashboard under wrk, beside /healthz"
$bin serve --addr 127.0.0.1:18081 >/dev/null 2>&1 &
server=$!
sleep 2
jar="$work/cookies"
token=$(curl -s -c "$jar" http://127.0.0.1:18081/login | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
curl -s -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$token&username=loadtest&password=quiet+harbor+lanterns&next=/" http://127.0.0.1:18081/login
cookie=$(awk '$6 == "oversight" {print "oversight=" $7}' "$jar")
dashboard='/dashboard?from=2024-10-01&to=2024-12-31'
curl -s -o /dev/null -w 'first dashboard view (eight quarters computed): %{time_total} s, status %{http_code}\n' -H "Cookie: $cookie" "http://127.0.0.1:18081$dashboard"
for path in /healthz "$dashboard"; do
  echo "-- $path"
  wrk -t2 -c16 -d10s -H "Cookie: $cookie" "http://127.0.0.1:18081$path" | grep -E 'Requests/sec|Latency|requests in'
done
