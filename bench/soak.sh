#!/usr/bin/env bash
# Soak test of issue 18, printed as figures (never asserted in tests): the
# release server over a year of stops (in no date order), wrk cycling
# through the pages reviewers, auditors and clerks open, while a clerk
# writes a 287(g) stop every second and a supervisor signs one off every
# few seconds; for a set time (default 180 s). Then: requests/s, p50/p99
# latency, timeouts and non-2xx (target 0), the server's RSS every 30 s
# (target flat), every acknowledged write present, the audit chain intact.
# Usage: bash bench/soak.sh [SECONDS] [STOPS]   (needs wrk, sqlite3, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
rows=${2:-200000}
work=$(mktemp -d)
server=
writer=
trap 'kill $server $writer 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in wrk sqlite3 curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk sqlite3 curl)"; exit 1; }
done
cargo build --release --quiet
bin=$PWD/target/release/oversight
port=18180
base=http://127.0.0.1:$port
export OVERSIGHT_DATABASE_URL="sqlite://$work/oversight.db"

echo "== a year of $rows stops ending today, in no date order"
python3 bench/gen_opp.py "$rows" "$(date -u -d '-364 days' +%F)" > "$work/stops.csv"
export OVERSIGHT_PASSWORD='quiet harbor lanterns'
$bin user add panel --role reviewer --role auditor >/dev/null
$bin user add clerk --role clerk >/dev/null
$bin user add sgt --role supervisor >/dev/null
sqlite3 "$work/oversight.db" "UPDATE agency SET mfa_policy = 'optional';"
python3 - "$work/oversight.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO officers (badge, last_name, first_name, status, agency_id) VALUES (?, 'Soak', 'Officer', 'active', 1)",
               [(f"CC-{1100 + i * 7:04d}",) for i in range(48)])
db.commit()
PY
$bin import stops --format opp "$work/stops.csv" | tail -1

$bin serve --addr 127.0.0.1:$port >"$work/server.log" 2>&1 &
server=$!
sleep 2
# Signs in USER; prints the cookie header value, leaves the jar in $work/USER.
sign_in() {
  local jar="$work/$1.jar" token
  token=$(curl -s -c "$jar" "$base/login" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$token&username=$1&password=quiet+harbor+lanterns&next=/" "$base/login"
  awk '$6 ~ /oversight/ {print $6 "=" $7}' "$jar"
}
token_of() { curl -s -b "$work/$1.jar" "$base$2" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1; }
panel=$(sign_in panel)
sign_in clerk >/dev/null
sign_in sgt >/dev/null
officer=$(sqlite3 "$work/oversight.db" "SELECT id FROM officers ORDER BY id LIMIT 1")

# The clerk writes a 287(g) stop every second and notes each one the server
# acknowledged (303); the supervisor approves the newest waiting one every
# fifth second.
writer_loop() {
  local n=0 ctoken stoken status id review hash latest
  ctoken=$(token_of clerk /stops/new)
  stoken=$(token_of sgt /supervision/queue)
  while :; do
    n=$((n + 1))
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/clerk.jar" \
      --data-urlencode "_csrf=$ctoken" -d "stop_date=$(date -u +%F)" -d stop_time=21:45 -d duration_minutes=18 \
      --data-urlencode "location=SOAK $n" -d district=D2 -d stop_type=vehicle -d "officer_id=$officer" \
      -d perceived_race=hispanic -d perceived_gender=male -d perceived_age=34 -d reason=traffic_violation \
      -d traffic_violation=moving --data-urlencode "reason_narrative=54 in a 35 zone" -d results=contacted_ice \
      -d ice_contacted=1 -d action_287g=1 "$base/stops/new")
    [ "$status" = 303 ] && echo "SOAK $n" >> "$work/acknowledged"
    if [ $((n % 5)) = 0 ]; then
      id=$(sqlite3 "$work/oversight.db" "SELECT MAX(id) FROM stops WHERE location LIKE 'SOAK %'")
      review=$(curl -s -b "$work/sgt.jar" "$base/supervision/review/stop/$id")
      hash=$(sed -n 's/.*name="hash" value="\([0-9a-f]*\)".*/\1/p' <<<"$review" | head -1)
      latest=$(sed -n 's/.*name="latest" value="\([0-9]*\)".*/\1/p' <<<"$review" | head -1)
      status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/sgt.jar" --data-urlencode "_csrf=$stoken" \
        -d decision=approved -d comment= --data-urlencode "password=quiet harbor lanterns" \
        -d "hash=$hash" -d "latest=$latest" "$base/supervision/review/stop/$id")
      [ "$status" = 303 ] && echo "signed $id" >> "$work/signed"
    fi
    sleep 1
  done
}
writer_loop &
writer=$!

# wrk cycles through the pages a panel member and an auditor open.
cat > "$work/pages.lua" <<'LUA'
local pages = { "/dashboard", "/", "/stops", "/stops?race=hispanic&searched=yes", "/arrests", "/compliance",
                "/supervision", "/reports", "/audit", "/officers" }
local i = 0
request = function()
  i = i % #pages + 1
  return wrk.format("GET", pages[i])
end
LUA
# The server maps the database file: pages it has read count in RSS as
# file-backed memory, which the kernel can drop; the heap is the anonymous part.
rss() {
  awk '/VmRSS/ {t = $2} /RssAnon/ {a = $2} /RssFile/ {f = $2}
       END {printf "%.0f (heap %.0f, mapped file %.0f)", t / 1024, a / 1024, f / 1024}' /proc/$server/status
}
echo "== soak: $seconds s of wrk (2 threads, 16 connections) with the writes"
echo "RSS at 0 s: $(rss) MiB"
( for ((t = 30; t <= seconds; t += 30)); do sleep 30; echo "RSS at $t s: $(rss) MiB"; done ) &
sampler=$!
wrk -t2 -c16 -d"${seconds}s" --timeout 2s --latency -s "$work/pages.lua" -H "Cookie: $panel" "$base" > "$work/wrk" || true
wait $sampler 2>/dev/null || true
kill $writer 2>/dev/null || true
wait $writer 2>/dev/null || true
writer=
sed -n '/Latency Distribution/,/requests in/p' "$work/wrk" | grep -E '50%|99%' | sed 's/^ */latency /'
grep -E 'Requests/sec' "$work/wrk"
grep -E 'Socket errors' "$work/wrk" || echo "Socket errors: none (no connect, read, write or timeout errors)"
grep -E 'Non-2xx' "$work/wrk" || echo "Non-2xx or 3xx responses: 0"
echo "RSS at the end: $(rss) MiB"

acknowledged=$(wc -l < "$work/acknowledged" 2>/dev/null || echo 0)
signed=$(wc -l < "$work/signed" 2>/dev/null || echo 0)
missing=0
while read -r location; do
  found=$(sqlite3 "$work/oversight.db" "SELECT COUNT(*) FROM stops WHERE location = '$location'")
  [ "$found" = 1 ] || missing=$((missing + 1))
done < <(cat "$work/acknowledged" 2>/dev/null)
echo "writes: $acknowledged stops acknowledged, $missing of them missing; $signed sign-offs acknowledged"
kill $server
wait $server 2>/dev/null || true
server=
$bin audit verify | cut -c1-100
