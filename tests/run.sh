#!/usr/bin/env bash
# The whole test suite, on a fresh machine of the project's kind: installs
# what the tests need that is missing (Debian's Chromium, Node.js, the npm
# packages of the browser tests, poppler-utils and qpdf for the PDF reports,
# pikepdf and pdfua from PyPI in target/pdf-venv for the tagged-PDF checks,
# statsmodels there for the statistics checks),
# then checks formatting and lints and runs every test (unit, HTTP
# integration, CLI, browser) on SQLite and again on a PostgreSQL server of
# its own (tests/postgres.sh).
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
# The tagged-PDF checks run pikepdf and the pdfua checker in a virtual environment.
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3 python3-venv)
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

# pikepdf reads the reports for the structure check (tests/pdf/check_tagged.py)
# and the PyPI pdfua checker validates PDF/UA-1 (tests/common: assert_tagged_pdf).
mkdir -p target
# statsmodels is the independent implementation tests/stats.rs checks the
# intervals and regressions against (tests/stats/check.py); pandas and
# numpy pinned to releases statsmodels 0.14.5 works with. cryptography is
# all the independent audit verifier needs (tools/verify_audit.py, tests/merkle.rs).
target/pdf-venv/bin/python -c "import pikepdf, statsmodels.api, cryptography" >/dev/null 2>&1 && [ -x target/pdf-venv/bin/pdfua ] || {
  python3 -m venv target/pdf-venv
  target/pdf-venv/bin/pip install --quiet --disable-pip-version-check pikepdf==10.18.0 pdfua==0.1.3 \
    statsmodels==0.14.5 pandas==2.3.3 numpy==2.3.5 scipy==1.16.3 patsy==1.0.2 cryptography==50.0.2
}

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# Every test on SQLite (the default), then every integration test again
# with its database on the PostgreSQL server (tests/common: a database of
# its own per test). Tests that need both backends at once (the schema
# comparison, the same measures on both) run in both passes.
# A failing pass does not stop the other (`|| status=$?` is exempt from
# errexit); the script fails at the end if either did.
sqlite_status=0 postgres_status=0
cargo test --locked --no-fail-fast 2>&1 | tee target/test-output.txt || sqlite_status=$?
OVERSIGHT_TEST_BACKEND=postgres cargo test --locked --no-fail-fast --test '*' 2>&1 |
  tee target/test-output-postgres.txt || postgres_status=$?
# One closing line per backend with the totals of every test binary.
totals() {
  awk -v backend="$1" '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
       END { printf "tests on %s: %d passed, %d failed\n", backend, p, f }' "$2"
}
totals SQLite target/test-output.txt
totals PostgreSQL target/test-output-postgres.txt
((sqlite_status == 0 && postgres_status == 0))
