#!/usr/bin/env bash
# Issue 15's benchmark, printed as figures (never asserted in tests): what
# tagging (structure tree, XMP, output intent) costs the report of issue
# 8's benchmark. Case A of bench/report.sh: 1,000,000 stops of 2024 in no
# date order with CRLF line ends, 50,000 arrests, 500 officers (bench/load.sh),
# imported once; then per round the 2024 report by the untagged build of
# BASE and by this tree's build, one after the other on the same database,
# with time, peak memory, file size and the ratio.
#
# Usage: bash bench/tagged.sh [ROUNDS] [BASE]   (BASE: the commit before
# tagging, default a3820ac. Needs sqlite3, GNU time, python3.)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
base=${2:-a3820ac}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
trap 'git worktree remove --force "$work/base" 2>/dev/null || true; [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
for tool in sqlite3 /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sqlite3 time python3)"; exit 1; }
done
# Both builds share this tree's target folder, so only the product's own
# crate is compiled twice.
git worktree add --force --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" && cargo build --release --quiet --target-dir "$OLDPWD/target")
cp target/release/oversight "$work/untagged"
cargo build --release --quiet
cp target/release/oversight "$work/tagged"
bin=$work/tagged
source bench/load.sh

echo "== 1,000,000 stops of 2024 (shuffled, CRLF), 50,000 arrests, 500 officers"
load 1000000 2024-01-01 1
run() { # binary name -> "seconds peak-KiB bytes"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$work/$1" report --from 2024-01-01 --to 2024-12-31 --out "$work/$1.pdf" >/dev/null
  end=$(date +%s.%N)
  echo "$(python3 -c "print(f'{$end - $start:.2f}')") $(cat "$work/rss") $(stat -c %s "$work/$1.pdf")"
}
printf '| round | untagged s | untagged MiB | untagged bytes | tagged s | tagged MiB | tagged bytes | tagged / untagged time |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for round in $(seq "$rounds"); do
  read -r us ur ub < <(run untagged)
  read -r ts tr tb < <(run tagged)
  ratio=$(python3 -c "print(f'{$ts / $us:.2f}')")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$us" "$((ur / 1024))" "$ub" "$ts" "$((tr / 1024))" "$tb" "$ratio"
done
pdfinfo "$work/tagged.pdf" | grep -E '^(Pages|Tagged|PDF version)'
