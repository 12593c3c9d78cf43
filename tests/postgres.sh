# shellcheck shell=bash
# A throwaway PostgreSQL server for the tests. Meant to be sourced (by
# tests/run.sh, or by hand before `cargo test`):
#
#   source tests/postgres.sh
#
# It installs Debian's `postgresql` package when no `initdb` is found,
# creates a cluster in a fresh temporary folder (C locale, UTF-8, trust
# authentication, fsync off: test data only; OVERSIGHT_POSTGRES_FSYNC=on
# for benchmarks, which must pay for durability as SQLite does), starts it listening on a Unix
# socket in that folder and nowhere else, and exports
#
#   OVERSIGHT_TEST_POSTGRES_URL  postgres://postgres@%2F<folder, percent-encoded>:<port>/postgres
#   OVERSIGHT_TEST_POSTGRES_DIR  the folder (data directory and socket directory)
#
# The URL names the socket folder as a percent-encoded host; sqlx 0.8.6
# reads a host that decodes to a path starting with '/' as a socket folder
# (tests/schema_parity.rs connects with it, and with the equivalent
# `postgres://postgres@localhost/postgres?host=<folder>&port=<port>` form).
#
# `postgres_stop` stops the server (immediate mode: nothing in it is worth
# a clean shutdown) and removes the folder. Sourcing registers it on EXIT:
# an EXIT trap already set is kept and runs after postgres_stop (which
# leaves $? as it found it, so that trap still sees the shell's exit
# status, also under `set -e`). A caller that sets its own EXIT trap *after* sourcing replaces
# ours and must call postgres_stop itself.
#
# Sourcing again in the same shell while the server runs does nothing. A
# shell that inherits the variables from a parent that started a server
# uses that server and leaves stopping it to the parent. When
# OVERSIGHT_TEST_POSTGRES_URL is set without OVERSIGHT_TEST_POSTGRES_DIR
# (a server the caller provides), nothing is started or stopped.
#
# Quiet on success: the tools' output goes to log files that are printed
# only when a step fails (the package installation announces itself with
# one line on stderr, as tests/run.sh does). Never calls `exit`: on
# failure it returns non-zero, which stops a caller running with `set -e`.
#
# As root, initdb and the server run as the package's `postgres` user (or
# `nobody`), which owns the folder: PostgreSQL refuses to run as root.

# Runs a command as the account that owns the cluster.
_postgres_as_owner() {
  if [[ "$(id -u)" != 0 ]]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$_POSTGRES_OWNER" -- "$@"
  else
    setpriv --reuid="$_POSTGRES_OWNER" --regid="$(id -g "$_POSTGRES_OWNER")" --init-groups -- "$@"
  fi
}

# The bin folder of the newest PostgreSQL under /usr/lib/postgresql, else
# the folder of an initdb on PATH; empty when there is neither.
_postgres_bin_dir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' -printf '%h\n' 2>/dev/null |
    sort -V | tail -n 1)
  if [[ -z "$dir" ]] && command -v initdb >/dev/null 2>&1; then
    dir=$(dirname "$(readlink -f "$(command -v initdb)")")
  fi
  printf '%s' "$dir"
}

_postgres_install() {
  local sudo="" log
  [[ "$(id -u)" = 0 ]] || sudo=sudo
  log=$(mktemp) || return 1
  echo "installing: postgresql" >&2
  # `env` carries DEBIAN_FRONTEND through sudo, which resets the environment.
  if ! { $sudo apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } \
    >"$log" 2>&1; then
    echo "tests/postgres.sh: installing postgresql failed:" >&2
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# Percent-encodes everything but unreserved characters (RFC 3986).
_postgres_urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# Keeps an EXIT trap already set and runs postgres_stop before it.
_postgres_chain_exit_trap() {
  local current old=""
  current=$(trap -p EXIT)
  [[ "$current" == *postgres_stop* ]] && return 0
  if [[ -n "$current" ]]; then
    # `trap -p` prints `trap -- 'COMMAND' EXIT`, quoted for reuse.
    eval "set -- $current"
    old=$3
  fi
  # `&& :` keeps a non-zero status of postgres_stop (the shell's exit
  # status, passed through) from ending the trap under `set -e`: a command
  # before `&&` does not trigger errexit. The old command sees $? intact.
  # shellcheck disable=SC2064 # expanded now on purpose: the old command
  trap -- "postgres_stop && :${old:+; $old}" EXIT
}

postgres_stop() {
  local status=$?
  local dir=${_POSTGRES_STARTED_DIR:-}
  if [[ -n "$dir" ]]; then
    _postgres_as_owner "$_POSTGRES_BIN/pg_ctl" -D "$dir" -m immediate -s stop >/dev/null 2>&1 || true
    rm -rf -- "$dir"
    unset _POSTGRES_STARTED_DIR OVERSIGHT_TEST_POSTGRES_URL OVERSIGHT_TEST_POSTGRES_DIR
  fi
  return "$status"
}

postgres_start() {
  # Already running: started by this shell, or by a parent that exported
  # the variables (then it is the parent's to stop).
  if [[ -n "${OVERSIGHT_TEST_POSTGRES_URL:-}" ]]; then
    if [[ -z "${OVERSIGHT_TEST_POSTGRES_DIR:-}" ]]; then
      return 0
    fi
    local pid
    pid=$(head -n 1 "$OVERSIGHT_TEST_POSTGRES_DIR/postmaster.pid" 2>/dev/null) || pid=""
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      if [[ "${_POSTGRES_STARTED_DIR:-}" = "$OVERSIGHT_TEST_POSTGRES_DIR" ]]; then
        _postgres_chain_exit_trap
      fi
      return 0
    fi
    unset OVERSIGHT_TEST_POSTGRES_URL OVERSIGHT_TEST_POSTGRES_DIR
  fi

  _POSTGRES_BIN=$(_postgres_bin_dir)
  if [[ -z "$_POSTGRES_BIN" ]]; then
    _postgres_install || return 1
    _POSTGRES_BIN=$(_postgres_bin_dir)
    if [[ -z "$_POSTGRES_BIN" ]]; then
      echo "tests/postgres.sh: postgresql is installed but no initdb was found under /usr/lib/postgresql" >&2
      return 1
    fi
  fi

  local parent=${TMPDIR:-/tmp}
  _POSTGRES_OWNER=$(id -un)
  if [[ "$(id -u)" = 0 ]]; then
    if id postgres >/dev/null 2>&1; then _POSTGRES_OWNER=postgres; else _POSTGRES_OWNER=nobody; fi
    # The owner must reach the folder: not under a root-only TMPDIR.
    parent=/tmp
  fi
  # A socket path is at most 107 bytes: "<folder>/.s.PGSQL.<port>".
  ((${#parent} <= 60)) || parent=/tmp

  local dir port log
  dir=$(mktemp -d "$parent/oversight-pg.XXXXXX") || return 1
  if [[ "$(id -u)" = 0 ]]; then
    chown "$_POSTGRES_OWNER:" "$dir" || { rm -rf -- "$dir"; return 1; }
  fi
  # The port only names the socket file inside the fresh folder (no TCP
  # listener), so it cannot collide with another server; random anyway.
  port=$((20000 + RANDOM % 40000))
  log=$(mktemp) || { rm -rf -- "$dir"; return 1; }
  chmod 0666 "$log"

  # cd /: the owner may not be allowed into the caller's working folder.
  if ! (cd / && _postgres_as_owner "$_POSTGRES_BIN/initdb" -D "$dir" -U postgres --auth=trust \
    --locale=C --encoding=UTF8 --no-instructions) >"$log" 2>&1; then
    echo "tests/postgres.sh: initdb failed:" >&2
    cat "$log" >&2
    rm -rf -- "$dir" "$log"
    return 1
  fi
  if ! (cd / && _postgres_as_owner "$_POSTGRES_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -s -w \
    -o "-k '$dir' -p $port -c fsync=${OVERSIGHT_POSTGRES_FSYNC:-off} -c listen_addresses=''" start) >"$log" 2>&1; then
    echo "tests/postgres.sh: the server did not start:" >&2
    cat "$log" "$dir/server.log" >&2 2>/dev/null
    _postgres_as_owner "$_POSTGRES_BIN/pg_ctl" -D "$dir" -m immediate -s stop >/dev/null 2>&1 || true
    rm -rf -- "$dir" "$log"
    return 1
  fi
  rm -f "$log"

  _POSTGRES_STARTED_DIR=$dir
  export OVERSIGHT_TEST_POSTGRES_DIR=$dir
  export OVERSIGHT_TEST_POSTGRES_URL="postgres://postgres@$(_postgres_urlencode "$dir"):$port/postgres"
  _postgres_chain_exit_trap
}

postgres_start || return 1
