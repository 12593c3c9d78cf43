#!/usr/bin/env bash
# Benchmarks of issue 12, printed as figures (never asserted in tests).
# Rows are generated in no date order with CRLF line ends (bench/gen_opp.py),
# as a merge of exports or back-filled history would be.
#
#  A. 1,000,000 stops of 2024, 50,000 arrests, 500 officers: per round,
#     `oversight metrics` and `oversight report` for 2024 (time, peak
#     memory) beside the analyst path on the same CSV (pandas + WeasyPrint,
#     bench/analyst.py), with the ratio; and the first dashboard view of a
#     freshly started server (it computes eight quarters).
#  B. 10,000,000 stops over 2015-2024: the 2024 report, against case A.
#  C. 10,000,000 stops in 2024 (a state's year): the 2024 report.
#
# Usage: bash bench/report.sh [ROUNDS] [CASES]   (CASES: any of A, B, C;
# default ABC. Needs sqlite3, GNU time, curl, python3; installs pandas and
# WeasyPrint in a virtual environment)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cases=${2:-ABC}
# BENCH_WORK=DIR keeps the data there afterwards (to profile against it).
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
server=
trap 'kill $server 2>/dev/null || true; [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
for tool in sqlite3 /usr/bin/time python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sqlite3 time python3 curl)"; exit 1; }
done
py=$(bash bench/analyst-env.sh | tail -1)
cargo build --release --quiet
bin=$PWD/target/release/oversight
seconds() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$1"; }

# load ROWS START YEARS: the database of a case (bench/load.sh).
source bench/load.sh

report() { # prints seconds; peak memory to $work/rss
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" $bin report --from 2024-01-01 --to 2024-12-31 --out "$work/2024.pdf" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

dashboard() { # first view of a freshly started server
  $bin serve --addr 127.0.0.1:18081 >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18081/healthz && break; sleep 0.2; done
  local jar="$work/cookies" token cookie
  token=$(curl -s -c "$jar" http://127.0.0.1:18081/login | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$token&username=loadtest&password=quiet+harbor+lanterns&next=/" http://127.0.0.1:18081/login
  cookie=$(awk '$6 == "oversight" {print "oversight=" $7}' "$jar")
  curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" 'http://127.0.0.1:18081/dashboard?from=2024-10-01&to=2024-12-31'
  kill $server; wait $server 2>/dev/null || true; server=
}

one_million=
if [[ $cases == *A* ]]; then
echo "== A. 1,000,000 stops of 2024 (shuffled, CRLF), 50,000 arrests, 500 officers"
load 1000000 2024-01-01 1
sqlite3 "$work/oversight.db" "SELECT 'stops ' || COUNT(*) FROM stops; SELECT 'aggregate rows ' || (SELECT COUNT(*) FROM stop_tallies) || ' tallies, ' || (SELECT COUNT(*) FROM stop_minutes) || ' minutes, ' || (SELECT COUNT(*) FROM stop_digests) || ' days'"
baseline=()
for round in $(seq "$rounds"); do
  start=$(date +%s.%N)
  $bin metrics --from 2024-01-01 --to 2024-12-31 > /dev/null
  end=$(date +%s.%N)
  metrics=$(python3 -c "print($end - $start)")
  product=$(report)
  product_rss=$(cat "$work/rss")
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$py" bench/analyst.py "$work/stops.csv" "$work/analyst.pdf" >/dev/null
  end=$(date +%s.%N)
  analyst=$(python3 -c "print($end - $start)")
  first=$(dashboard)
  baseline+=("$product")
  printf 'round %d: metrics %s s (target < 0.5) | report %s s, %d MiB (targets < 1.5 s, < 300 MiB) | analyst %s s, %d MiB | analyst/report %.1fx (target >= 3) | first dashboard view %s s (target < 1)\n' \
    "$round" "$(seconds "$metrics")" "$(seconds "$product")" $((product_rss / 1024)) "$(seconds "$analyst")" \
    $(($(cat "$work/rss") / 1024)) "$(python3 -c "print($analyst / $product)")" "$(seconds "$first")"
done
one_million=$(printf '%s\n' "${baseline[@]}" | sort -n | sed -n "$(( (rounds + 1) / 2 ))p")
fi

if [[ $cases == *B* && -n $one_million ]]; then
echo "== B. 10,000,000 stops over 2015-2024 (shuffled, CRLF), the 2024 report"
load 10000000 2015-01-01 10
for round in $(seq "$rounds"); do
  t=$(report)
  printf 'round %d: report %s s, %d MiB; ratio to the 1,000,000-stop case (median %s s): %.2f (target <= 1.3)\n' \
    "$round" "$(seconds "$t")" $(($(cat "$work/rss") / 1024)) "$(seconds "$one_million")" "$(python3 -c "print($t / $one_million)")"
done
fi

if [[ $cases == *C* ]]; then
echo "== C. 10,000,000 stops in 2024 (shuffled, CRLF), the 2024 report"
load 10000000 2024-01-01 1
for round in $(seq "$rounds"); do
  t=$(report)
  printf 'round %d: report %s s, %d MiB (target < 5 s)\n' "$round" "$(seconds "$t")" $(($(cat "$work/rss") / 1024))
done
fi
