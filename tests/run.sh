#!/usr/bin/env bash
# The whole test suite, on a fresh machine of the project's kind: installs
# what the tests need that is missing (Debian's Chromium, Node.js, the npm
# packages of the browser tests, poppler-utils and qpdf for the PDF reports), then checks formatting and lints and runs
# every test (unit, HTTP integration, CLI, browser), with a PostgreSQL
# server of its own for the PostgreSQL schema.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The report tests read PDFs back (pdftotext) and check their structure (qpdf).
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A throwaway PostgreSQL server (installed when missing) for the tests that
# run on both backends; stopped and removed when this script exits.
source tests/postgres.sh

# playwright-core drives the installed Chromium; it never downloads a browser.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked 2>&1 | tee target/test-output.txt
# One closing line with the totals of every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.txt
