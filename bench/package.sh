#!/usr/bin/env bash
# Submission packages (docs/packages.md), printed as figures (never
# asserted in tests): a large agency's year, 1,000,000 stops of 2024 in no
# date order with CRLF line ends, 50,000 arrests, 500 officers (bench/load.sh),
# sent to a state deployment of two agencies on SQLite.
#
# Per round: `export package` for 2024 on the agency's install and `import
# package` on the state's (time, peak memory, package size), beside what an
# operator would do without packages: `export stops --format native` there
# and `import stops --format native` here (stops alone: no roster, arrests,
# sign-offs or check that the records arrived whole), with the ratio of the
# two paths' times.
#
# The state's officers for the CSV path are copied in outside the product
# (there is no officer import), untimed.
#
# Usage: bash bench/package.sh [ROUNDS] [ROWS]   (defaults 3 and 1000000;
# needs sqlite3, GNU time, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
rows=${2:-1000000}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
for tool in sqlite3 /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sqlite3 time python3)"; exit 1; }
done
cargo build --release --quiet
bin=$PWD/target/release/oversight
source bench/load.sh
ori=FL0110000

echo "== $rows stops of 2024, 50,000 arrests, 500 officers =="
load "$rows" 2024-01-01 1
sqlite3 "$work/oversight.db" "UPDATE agency SET ori = '$ori', state = 'FL', name = 'Collier County Sheriff''s Office', models = 'JEM'"
source_url="sqlite://$work/oversight.db"

# A state deployment holding the agency (no records yet) and one more.
fresh_state() {
  rm -rf "$work"/state.db* "$work/files"
  for agency in "$ori" FL0060000; do
    $bin --database-url "sqlite://$work/state.db" agency add "$agency" >/dev/null
  done
}

# Runs a command; prints "seconds peak-KiB".
measured() {
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >"$work/said" 2>&1 || { cat "$work/said"; exit 1; }
  end=$(date +%s.%N)
  echo "$(python3 -c "print(f'{$end - $start:.2f}')") $(cat "$work/rss")"
}

printf '%-6s %-22s %-22s %-10s %-22s %-22s %s\n' round "export package s/KiB" "import package s/KiB" "size MB" \
  "export stops s/KiB" "import stops s/KiB" "CSV path / package path"
for round in $(seq "$rounds"); do
  rm -f "$work/2024.tar.gz" "$work/stops-native.csv"
  fresh_state
  read -r pe pem < <(measured $bin --database-url "$source_url" export package --from 2024-01-01 --to 2024-12-31 --out "$work/2024.tar.gz")
  read -r pi pim < <(measured $bin --database-url "sqlite://$work/state.db" --agency "$ori" import package "$work/2024.tar.gz")
  grep -q "Imported the package" "$work/said" || { cat "$work/said"; exit 1; }
  size=$(python3 -c "import os; print(f'{os.path.getsize(\"$work/2024.tar.gz\") / 1e6:.1f}')")
  fresh_state
  # Without packages the roster has no command: an operator would key the
  # officers in. Copied here outside the product, not timed.
  sqlite3 "$work/state.db" "ATTACH '$work/oversight.db' AS source; INSERT INTO officers (badge, last_name, first_name, \
    status, annual_salary_cents, agency_id) SELECT badge, last_name, first_name, status, annual_salary_cents, \
    (SELECT id FROM agency WHERE ori = '$ori') FROM source.officers"
  read -r ce cem < <(measured $bin --database-url "$source_url" export stops --format native --out "$work/stops-native.csv")
  read -r ci cim < <(measured $bin --database-url "sqlite://$work/state.db" --agency "$ori" import stops --format native "$work/stops-native.csv")
  ratio=$(python3 -c "print(f'{($ce + $ci) / ($pe + $pi):.2f}')")
  printf '%-6s %-22s %-22s %-10s %-22s %-22s %s\n' "$round" "$pe / $pem" "$pi / $pim" "$size" "$ce / $cem" "$ci / $cim" "$ratio"
done
