#!/usr/bin/env bash
# The analyst path's Python (bench/analyst.py): a virtual environment with
# pandas and WeasyPrint from PyPI, made once and reused. Safe to run again:
# it installs only what is missing. Everything but the last line goes to
# stderr, so callers can take the python's path:
#   py=$(bash bench/analyst-env.sh | tail -1)
# Usage: bash bench/analyst-env.sh   (ANALYST_VENV overrides the venv's folder)
set -euo pipefail
venv=${ANALYST_VENV:-$HOME/.cache/oversight-analyst-venv}

# WeasyPrint's wheel is pure Python: it loads Pango and HarfBuzz's subsetter
# at run time, and needs a font to lay text out. python3-venv brings
# ensurepip to Debian's own python3 (venv fails without it there).
need=()
for pkg in python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${need[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >&2
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
# Imports, not pip's list: a half-finished install or missing library shows.
if ! "$venv/bin/python" -c 'import pandas, weasyprint' 2>/dev/null; then
  echo "installing pandas and weasyprint into $venv" >&2
  "$venv/bin/python" -m pip install --quiet pandas weasyprint >&2
fi
echo "$venv/bin/python"
