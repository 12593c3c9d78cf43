#!/usr/bin/env bash
# Benchmark of issue 19, printed as figures (never asserted in tests): the
# release server over the demo agency's records with its last full year
# published; wrk at 64 connections on a publication page, its CSV and
# /healthz (which touches nothing), ROUNDS rounds of 20 s each in turn, the
# page's rate as a share of /healthz's in the same round (target >= 80%);
# then a soak of SOAK seconds (default 600) on the page: requests/s, socket
# errors and non-2xx responses (target 0), the server's RSS every 30 s
# (target flat). wrk is one client address, so the server runs with the
# per-address limit raised (--public-rate); a last short round at the
# default limit shows what one address gets then (429s).
# Each round runs as browsers ask (Accept-Encoding: gzip, deflate, br; the
# page goes gzipped) and without compression.
# Usage: bash bench/public.sh [ROUNDS] [SOAK]   (needs wrk, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
soak=${2:-600}
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk curl)"; exit 1; }
done
cargo build --release --quiet
bin=$PWD/target/release/oversight
port=18190
base=http://127.0.0.1:$port
export OVERSIGHT_DATABASE_URL="sqlite://$work/demo.db"
export OVERSIGHT_FILES_DIR=$work/files

echo "== the demo agency, its last full year published"
$bin demo --addr 127.0.0.1:$port >"$work/demo.log" 2>&1 &
server=$!
for _ in $(seq 120); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 1; done
kill $server; wait $server 2>/dev/null || true
year=$(( $(date -u +%Y) - 1 ))
$bin publish --from "$year-01-01" --to "$year-12-31" | head -1

ori=$($bin agency list | awk 'NR==2 {print $1}')
page="/public/$ori/$year"
csv="/public/$ori/$year/versions/1/measures.csv"

serve() {
  $bin serve --addr 127.0.0.1:$port --public-rate "$1" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
}
# wrk's requests/s, socket errors and non-2xx of PATH over SECONDS.
load() {
  local out
  out=$(wrk -t2 -c64 -d"$2"s --latency -H "Accept-Encoding: $encoding" "$base$1")
  local rate errors non2xx p99
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  errors=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "${rate:-0} ${errors:-0} ${non2xx:-0} ${p99:-?}"
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

serve 1000000
bytes=$(curl -s "$base$page" | wc -c)
zipped=$(curl -s -H "Accept-Encoding: gzip" "$base$page" | wc -c)
echo "== wrk -t2 -c64, 20 s each, in turn (page $page: $bytes bytes, $zipped gzipped)"
for encoding in "gzip, deflate, br" identity; do
echo "-- Accept-Encoding: $encoding (the first is what browsers send)"
printf "%-6s %14s %14s %14s %10s %10s\n" round healthz/s page/s csv/s page/hz csv/hz
for r in $(seq "$rounds"); do
  read -r hz _ _ _ < <(load /healthz 20)
  read -r pg pe pn pp < <(load "$page" 20)
  read -r cs _ _ _ < <(load "$csv" 20)
  printf "%-6s %14s %14s %14s %10s %10s   (page: %s errors, %s non-2xx, p99 %s)\n" "$r" "$hz" "$pg" "$cs" \
    "$(python3 -c "print(f'{$pg / $hz:.2f}')")" "$(python3 -c "print(f'{$cs / $hz:.2f}')")" "$pe" "$pn" "$pp"
done
done
encoding="gzip, deflate, br"

echo "== soak: the page at 64 connections for $soak s; RSS (KiB) every 30 s"
samples="$(rss)"
wrk -t2 -c64 -d"$soak"s --latency -H "Accept-Encoding: $encoding" "$base$page" > "$work/soak.txt" &
loader=$!
for _ in $(seq $(( soak / 30 ))); do sleep 30; samples="$samples $(rss)"; done
wait $loader
echo "RSS: $samples"
grep -E "Requests/sec|Socket errors|Non-2xx|requests in|99%" "$work/soak.txt" || true
echo "(no 'Socket errors' or 'Non-2xx' line above: 0 of each)"
kill $server; wait $server 2>/dev/null || true

echo "== one address at the default limit (20/s, bursts of 60), 10 s"
serve 20
read -r rate errors non2xx _ < <(load "$page" 10)
echo "requests/s $rate, socket errors $errors, refused with 429: $non2xx"
