#!/usr/bin/env bash
# Issue 16's benchmark, printed as figures (never asserted in tests): what
# the adjusted veil of darkness (D9a) and the officer early-warning list
# add to the 2024 report of 1,000,000 stops by 500 officers (skewed
# workloads, rows in no date order, CRLF; bench/gen_opp.py --officers 500).
#
# Per round, on the same database: the report by this checkout and by the
# commit before issue 16 (BASE, built in a worktree of its own), the
# difference (target: at most 2 s), `oversight early-warning` alone, and
# what an analyst would run instead: statsmodels' GLM for the propensity
# model of a few officers (bench/warning_analyst.py), timed per officer
# and multiplied by the officers compared (an estimate, said so).
#
# Usage: bash bench/warning.sh [ROUNDS] [BASE]   (default 3, e69f836)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
base=${2:-e69f836}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -n "${BENCH_WORK:-}" ] || rm -rf "$work"; git worktree remove --force "$work/base" 2>/dev/null || true' EXIT
for tool in sqlite3 /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sqlite3 time python3)"; exit 1; }
done
py=$(bash bench/analyst-env.sh | tail -1)
"$py" -c 'import statsmodels' 2>/dev/null || "$py" -m pip install --quiet statsmodels >&2
cargo build --release --quiet
bin=$PWD/target/release/oversight
git worktree add --force --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" && CARGO_TARGET_DIR="$work/base-target" cargo build --release --quiet)
base_bin=$work/base-target/release/oversight
seconds() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$1"; }
timed() { # prints seconds of the command
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

source bench/load.sh
echo "== 1,000,000 stops of 2024 (shuffled, CRLF), 500 officers with skewed workloads"
# Loaded by the commit before issue 16, then copied: each binary runs on a
# database it can open (a newer binary adds its migrations to its copy;
# an older one refuses a database migrated past it).
head_bin=$bin
bin=$base_bin load 1000000 2024-01-01 1 "--officers 500"
bin=$head_bin
sqlite3 "$work/oversight.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp "$work/oversight.db" "$work/base.db"
base_run() { OVERSIGHT_DATABASE_URL="sqlite://$work/base.db" "$base_bin" "$@"; }
sqlite3 "$work/oversight.db" "SELECT 'stops ' || COUNT(*) || ', officers with stops ' || COUNT(DISTINCT officer_id) || ', most stops by one officer ' || (SELECT MAX(n) FROM (SELECT COUNT(*) n FROM stops GROUP BY officer_id)) || ', fewest ' || (SELECT MIN(n) FROM (SELECT COUNT(*) n FROM stops GROUP BY officer_id)) FROM stops"
year=(--from 2024-01-01 --to 2024-12-31)
for round in $(seq "$rounds"); do
  before=$(timed base_run report "${year[@]}" --out "$work/base.pdf")
  after=$(timed "$bin" report "${year[@]}" --out "$work/head.pdf")
  list=$(timed "$bin" early-warning "${year[@]}")
  printf 'round %d: report before issue 16 %s s | now %s s | added %s s (target <= 2) | early-warning alone %s s\n' \
    "$round" "$(seconds "$before")" "$(seconds "$after")" "$(seconds "$(python3 -c "print($after - $before)")")" "$(seconds "$list")"
done
"$bin" early-warning "${year[@]}" > "$work/list.json"
python3 - "$work/list.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
flagged = [o for o in d["officers"] if o["flagged"]]
print(f"list: {len(d['officers'])} officers compared, {d['below_minimum']} under the minimum, {len(flagged)} flagged")
PY
"$bin" metrics "${year[@]}" | python3 -c "import json,sys; m=[x for x in json.load(sys.stdin) if x['id'] in ('D9','D9a')]; [print(x['id'], x['display'], x['completeness']) for x in m]"
compared=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['officers']))" "$work/list.json")
"$py" bench/warning_analyst.py "$work/stops.csv" 3 "$compared"
