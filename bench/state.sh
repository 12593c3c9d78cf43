#!/usr/bin/env bash
# Benchmark of issue 14's scale target, on SQLite and on PostgreSQL in the
# same run, printed as figures (never asserted in tests): AGENCIES agencies
# of one state (Florida's ORIs from the embedded list of agreements, then
# other states' when Florida runs out) holding STOPS stops of 2024 in all,
# in skewed sizes (the k-th agency's share goes as 1/k^0.9, as a few large
# sheriffs and many small departments do), each agency's file in no date
# order with CRLF line ends (bench/gen_opp.py). Each agency's stops are
# imported through `oversight import stops --agency ORI`.
#  1. import: rows a second over every agency's import;
#  2. the state dashboard's first view for a quarter (every agency's
#     measures computed) and a later view (kept per agency's audit head);
#  3. the largest agency's filtered stop list under wrk beside /healthz.
# Usage: [BACKENDS="sqlite postgres"] bash bench/state.sh [AGENCIES] [STOPS] [ROUNDS]
#   (needs wrk, sqlite3, psql, curl; 10,000,000 stops take about 9 GB of
#   disk over both backends)
set -euo pipefail
cd "$(dirname "$0")/.."
agencies=${1:-100}
stops=${2:-10000000}
rounds=${3:-3}
work=$(mktemp -d)
chmod 755 "$work"
server=
export OVERSIGHT_POSTGRES_FSYNC=on
export PGOPTIONS="-c client_min_messages=warning"
export OVERSIGHT_FILES_DIR=$work/files
source tests/postgres.sh
trap 'kill $server 2>/dev/null || true; rm -rf "$work"; postgres_stop' EXIT
for tool in wrk sqlite3 psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk sqlite3 postgresql-client curl)"; exit 1; }
done
cargo build --release --quiet
bin=$PWD/target/release/oversight
pg=$OVERSIGHT_TEST_POSTGRES_URL
server_url=${pg%/*}
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# The agencies (ORI and stop count), largest first.
python3 - "$agencies" "$stops" > "$work/plan" <<'PY'
import csv, sys
n, total = int(sys.argv[1]), int(sys.argv[2])
rows = list(csv.DictReader(open("src/agency/agreements-2025-07-03.csv", encoding="utf-8")))
oris = []
for state in ["FLORIDA", "TEXAS", "GEORGIA", "VIRGINIA", "SOUTH CAROLINA", "NORTH CAROLINA", "ALABAMA"]:
    for r in rows:
        ori = r["ori"].strip().upper()
        if r["state"] == state and len(ori) == 9 and ori[:2].isalpha() and ori not in oris:
            oris.append(ori)
oris = oris[:n]
weights = [1 / (k + 1) ** 0.9 for k in range(len(oris))]
scale = total / sum(weights)
for ori, w in zip(oris, weights):
    print(ori, max(1, round(w * scale)))
PY
largest=$(head -1 "$work/plan" | cut -d' ' -f2)
echo "== $(wc -l < "$work/plan") agencies, $stops stops in all, the largest $largest, the smallest $(tail -1 "$work/plan" | cut -d' ' -f2)"
python3 bench/gen_opp.py "$largest" 2024-01-01 > "$work/all.csv"

# Each agency's officers (the badges gen_opp.py writes), designations and
# place, in SQL both backends read alike.
setup_sql() {
  python3 - <<'PY'
badges = [f"CC-{1100 + i * 7:04d}" for i in range(48)] + [f"BX-{i:05d}" for i in range(452)]
print("INSERT INTO officers (badge, last_name, first_name, status, annual_salary_cents, agency_id) "
      "SELECT b.badge, 'Bench', 'Officer', 'active', 6500000, a.id FROM agency a CROSS JOIN "
      "(SELECT column1 AS badge FROM (VALUES " + ", ".join(f"('{b}')" for b in badges) + ") AS v) AS b;")
print("INSERT INTO designations (officer_id, model, nominated_on, certified_on, authorized_on, agency_id) "
      "SELECT id, 'JEM', '2020-01-01', '2020-03-01', '2020-03-10', agency_id FROM officers;")
print("UPDATE agency SET latitude = 27.9, longitude = -82.4, time_zone = 'America/New_York', mfa_policy = 'optional';")
print("UPDATE deployment SET mfa_policy = 'optional';")
PY
}

fresh() { # backend → prints its URL, with every agency, officers and the bench users
  local url first
  if [ "$1" = postgres ]; then
    # The product runs as a role of its own that owns the database (it
    # refuses a superuser, which skips row-level security); the setup's
    # SQL runs as the server's superuser, outside the product.
    psql -q "$pg" -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'oversight_bench') THEN CREATE ROLE oversight_bench LOGIN; END IF; END\$\$" \
      -c "DROP DATABASE IF EXISTS bench" \
      -c "CREATE DATABASE bench OWNER oversight_bench TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
    url="${server_url/\/\/*@/\/\/oversight_bench@}/bench"
  else
    rm -f "$work"/oversight.db*
    url="sqlite://$work/oversight.db"
  fi
  while read -r ori _; do
    OVERSIGHT_DATABASE_URL=$url $bin agency add "$ori" >/dev/null 2>&1 ||
      OVERSIGHT_DATABASE_URL=$url $bin agency add "$ori" --name "Agency $ori" --state "${ori:0:2}" --model JEM >/dev/null
  done < "$work/plan"
  if [ "$1" = postgres ]; then setup_sql | psql -q "$server_url/bench" >/dev/null; else setup_sql | sqlite3 "$work/oversight.db"; fi
  first=$(head -1 "$work/plan" | cut -d' ' -f1)
  OVERSIGHT_DATABASE_URL=$url OVERSIGHT_PASSWORD='quiet harbor lanterns' \
    $bin user add bench.clerk --role reviewer --role clerk --agency "$first" >/dev/null
  OVERSIGHT_DATABASE_URL=$url OVERSIGHT_PASSWORD='quiet harbor lanterns' \
    $bin user add bench.state --role state-reviewer >/dev/null
  # The places were written outside the product: the check builds each
  # agency's (empty) aggregates for them.
  while read -r ori _; do
    OVERSIGHT_DATABASE_URL=$url $bin maintenance check-aggregates --agency "$ori" >/dev/null || true
  done < "$work/plan"
  echo "$url"
}

sign_in() { # port user → cookie
  local jar="$work/jar.$2" token
  rm -f "$jar"
  token=$(curl -s -c "$jar" "http://127.0.0.1:$1/login" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$token&username=$2&password=quiet+harbor+lanterns&next=/" "http://127.0.0.1:$1/login"
  awk '$6 == "oversight" {print "oversight=" $7}' "$jar"
}

timed_get() { # port cookie path → seconds
  curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $2" "http://127.0.0.1:$1$3"
}

rate() { # port cookie path → requests a second
  wrk -t2 -c16 -d10s -H "Cookie: $2" "http://127.0.0.1:$1$3" > "$work/wrk"
  awk '/Requests\/sec/ {print $2}' "$work/wrk"
}

port=18090
for backend in ${BACKENDS:-sqlite postgres}; do
  echo "== $backend"
  url=$(fresh $backend)
  start=$(now)
  while read -r ori n; do
    head -n $((n + 1)) "$work/all.csv" > "$work/agency.csv"
    OVERSIGHT_DATABASE_URL=$url $bin import stops --agency "$ori" --format opp "$work/agency.csv" >/dev/null
  done < "$work/plan"
  seconds=$(elapsed "$start" "$(now)")
  printf '1. import: %s stops into %s agencies in %s s (%.0f rows/s, every import with its audit entry)\n' \
    "$stops" "$agencies" "$seconds" "$(python3 -c "print($stops / $seconds)")"
  if [ $backend = postgres ]; then psql -q "$server_url/bench" -c "VACUUM ANALYZE"; fi
  port=$((port + 1))
  OVERSIGHT_DATABASE_URL=$url $bin serve --addr "127.0.0.1:$port" >/dev/null 2>&1 &
  server=$!
  # A server on ten million stops takes longer than a moment to start:
  # wait until it answers (a refused connection would end the script).
  for _ in $(seq 600); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.2
  done
  state=$(sign_in $port bench.state)
  quarter='/state?from=2024-04-01&to=2024-06-30&measure=S1'
  first=$(timed_get $port "$state" "$quarter")
  later=$(timed_get $port "$state" "$quarter")
  other=$(timed_get $port "$state" '/state?from=2024-04-01&to=2024-06-30&measure=T1')
  printf '2. state dashboard, Q2 2024: first view %s s (target < 2 s), again %s s, another measure %s s\n' \
    "$first" "$later" "$other"
  clerk=$(sign_in $port bench.clerk)
  list='/stops?from=2024-01-01&to=2024-12-31&race=hispanic&searched=yes'
  curl -s -o /dev/null -w "   the largest agency's list page answers %{http_code}\n" -H "Cookie: $clerk" "http://127.0.0.1:$port$list"
  for round in $(seq "$rounds"); do
    health=$(rate $port "$clerk" /healthz)
    page=$(rate $port "$clerk" "$list")
    printf '3. round %d: /healthz %.0f req/s, list %.0f req/s, list / healthz %.1f%% (target >= 25%%)\n' \
      "$round" "$health" "$page" "$(python3 -c "print(100 * $page / $health)")"
  done
  kill $server
  wait $server 2>/dev/null || true
  server=
  if [ $backend = sqlite ]; then rm -f "$work"/oversight.db*; else psql -q "$pg" -c "DROP DATABASE bench"; fi
done
