#!/usr/bin/env bash
# Issue 17's benchmark, printed as figures (never asserted in tests): the
# audit log's Merkle tree at ENTRIES entries (default 10,000,000).
#
# - appending: a clerk records officers through the release server (each
#   one audit entry), on a log of ENTRIES entries and on a fresh log, same
#   run: entries per second and the ratio (target: as fast as before the
#   tree, which is off the write path by design);
# - the tree built for the first time over ENTRIES entries (an upgraded
#   install), then a checkpoint after those appends (incremental);
# - inclusion and consistency proofs: the time the product reports for
#   making each (target < 10 ms), for entries spread over the log;
# - what an auditor would do without the tree: read every entry's hash and
#   compute the root (Python, hashlib), same data, same run.
#
# The filler entries carry random hashes in place of a chain (building a
# valid chain of ten million entries takes longer than everything measured
# here; the tree reads only the hash column, so its cost is the same).
#
# Usage: bash bench/merkle.sh [ENTRIES] [APPENDS]   (needs sqlite3, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-10000000}
appends=${2:-300}
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in sqlite3 curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sqlite3 curl python3)"; exit 1; }
done
cargo build --release --quiet
bin=$PWD/target/release/oversight
export OVERSIGHT_PASSWORD='quiet harbor lanterns'
port=18190
ms() { python3 -c "import sys; print(f'{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f}')" "$1" "$2"; }
now() { date +%s.%N; }

# Appends APPENDS officers through the server on database $1; prints entries/s.
append_rate() {
  local url=$1 jar="$work/jar" token start end
  OVERSIGHT_DATABASE_URL=$url $bin serve --addr 127.0.0.1:$port >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
  token=$(curl -s -c "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$token&username=clerk&password=quiet+harbor+lanterns&next=/" "http://127.0.0.1:$port/login"
  token=$(curl -s -b "$jar" "http://127.0.0.1:$port/officers/new" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  start=$(now)
  for i in $(seq "$appends"); do
    curl -s -b "$jar" -o /dev/null -w '%{http_code}\n' -d "_csrf=$token&badge=BM-$RANDOM-$i&last_name=Doe&first_name=Jo&status=active" \
      "http://127.0.0.1:$port/officers/new"
  done | { grep -vc '^303$' || true; } | sed 's/^/  refused (not 303): /' >&2
  end=$(now)
  kill $server; wait $server 2>/dev/null || true; server=
  python3 -c "import sys; print(f'{int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])):.0f}')" "$appends" "$start" "$end"
}

fresh=sqlite://$work/fresh.db
big=sqlite://$work/big.db
for url in $fresh $big; do OVERSIGHT_DATABASE_URL=$url $bin user add clerk --role clerk >/dev/null; done

echo "== filling the log with $entries entries (random hashes)"
t0=$(now)
sqlite3 "$work/big.db" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(x) AS (SELECT (SELECT MAX(seq) FROM audit_log) + 1 UNION ALL SELECT x + 1 FROM n WHERE x < $entries)
INSERT INTO audit_log (seq, at_us, user_id, username, roles, source, action, object_kind, object_id, outcome, details, prev_hash, hash, agency_id)
SELECT x, 1700000000000000 + x * 1000, NULL, 'bench', '', 'bench', 'bench.entry', 'bench', CAST(x AS TEXT), 'success', '{}', '', lower(hex(randomblob(32))), 1 FROM n;
SQL
echo "  $(ms "$t0" "$(now)") ms; database $(du -h "$work/big.db" | cut -f1)"

echo "== the tree built for the first time, then the first checkpoint"
t0=$(now)
OVERSIGHT_DATABASE_URL=$big $bin audit checkpoint > "$work/c1"
echo "  $(ms "$t0" "$(now)") ms; $(sqlite3 "$work/big.db" 'SELECT COUNT(*) FROM audit_tree') tree rows for $(sed -n 2p "$work/c1") entries"

echo "== appending $appends entries through the server (entries per second)"
rate_fresh=$(append_rate "$fresh")
rate_big=$(append_rate "$big")
echo "  fresh log: $rate_fresh/s; log of $entries: $rate_big/s; ratio big/fresh $(python3 -c "print(f'{$rate_big / $rate_fresh:.2f}')")"

echo "== a checkpoint after the appends (the tree extended)"
t0=$(now)
OVERSIGHT_DATABASE_URL=$big $bin audit checkpoint > "$work/c2"
echo "  $(ms "$t0" "$(now)") ms for the whole command (process start included); size $(sed -n 2p "$work/c2")"

echo "== proofs (time the product reports for making each)"
size=$(sed -n 2p "$work/c2")
for seq in 1 17 $((size / 3)) $((size / 2)) $((size - 5)) $size; do
  OVERSIGHT_DATABASE_URL=$big $bin audit prove "$seq" --checkpoint "$work/c2" 2>&1 >/dev/null | sed 's/^/  /'
done
OVERSIGHT_DATABASE_URL=$big $bin audit consistency "$work/c1" "$work/c2" 2>&1 >/dev/null | sed 's/^/  /'

echo "== without the tree: every hash read and the root computed (Python hashlib)"
python3 - "$work/big.db" <<'PY'
import hashlib, sqlite3, sys, time
t = time.time()
edge = []  # (level, hash) along the right edge
for (h,) in sqlite3.connect(sys.argv[1]).execute("SELECT hash FROM audit_log WHERE agency_id = 1 ORDER BY seq"):
    node, level = hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest(), 0
    while edge and edge[-1][0] == level:
        node, level = hashlib.sha256(b"\x01" + edge.pop()[1] + node).digest(), level + 1
    edge.append((level, node))
root = edge[-1][1]
for _, left in reversed(edge[:-1]):
    root = hashlib.sha256(b"\x01" + left + root).digest()
print(f"  {(time.time() - t) * 1000:.0f} ms to recompute the root of the whole log")
PY
