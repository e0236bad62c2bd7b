#!/usr/bin/env bash
# Runs the test suite. The tests drive the real binary against real peers, so this
# first makes sure those peers are installed:
#   oathtool (an independent TOTP implementation), zbarimg (a QR decoder, from
#   zbar-tools), rsvg-convert (SVG to PNG, from librsvg2-bin), sqlite3, man (man-db),
#   tmux (a real terminal for prompts), strace (to kill a process at a chosen system
#   call), pyotp (a second TOTP implementation), google-authenticator (from
#   libpam-google-authenticator, whose files import reads), pamtester (to drive a
#   PAM stack), and PostgreSQL: the server (postgresql), pg_virtualenv
#   (postgresql-common), psql and pg_dump (postgresql-client) and openssl (a test
#   certificate authority).
# As root it installs what is missing with apt-get and pip; otherwise it names it.
#
# The suite runs twice: on SQLite, then on a throwaway PostgreSQL cluster that
# pg_virtualenv creates (TLS on, PGHOST/PGPORT/PGUSER/PGPASSWORD exported) and
# drops afterwards, with TOTPCTL_TEST_ENGINE=postgres. Nothing depends on a server
# that happens to be running, and no other cluster is touched: two runs of this
# script at once on one machine do not meet.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A debian=(
  [oathtool]=oathtool [zbarimg]=zbar-tools [rsvg-convert]=librsvg2-bin
  [sqlite3]=sqlite3 [man]=man-db [tmux]=tmux [python3]=python3 [pip3]=python3-pip
  [strace]=strace [google-authenticator]=libpam-google-authenticator
  [pamtester]=pamtester [pg_virtualenv]=postgresql-common [psql]=postgresql-client
  [pg_dump]=postgresql-client [openssl]=openssl [curl]=curl
)
missing=()
for cmd in "${!debian[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${debian[$cmd]}")
done
# The server itself: any installed major version.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing tools; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 2
  fi
fi
if ! python3 -c 'import pyotp' 2>/dev/null; then
  python3 -m pip install --quiet pyotp 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages pyotp
fi

echo "== cargo test (SQLite)"
cargo test --locked "$@"

# PostgreSQL: a throwaway cluster of this run's own. `pg_virtualenv -t` keeps the
# cluster's configuration and data in a temporary directory (as root too, instead of
# /etc/postgresql/*/regress), on a port chosen here, so this run shares nothing with
# any other cluster on the machine, another run of this script included. That
# directory is made inside one of this script's own (totpctl-test-pg.*, naming the
# run that made it), so that what a killed run leaves behind (the directory, and a
# server still running from it) is known to be this script's: the next run stops and
# removes it. Nothing else is ever stopped or removed.
pg_root=${TMPDIR:-/tmp}
run_id() { # pid: "pid start-time", which no later process with the same pid shares
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  echo "$1 $(cut -d' ' -f20 <<<"$stat")"
}
# Stops a server still running from a cluster under DIR (only such a server: its
# command line names its data directory there), then removes DIR.
remove_run_dir() {
  local pidfile server data
  for pidfile in "$1"/pg_virtualenv.*/data/*/regress/postmaster.pid; do
    [[ -f $pidfile ]] || continue
    server=$(head -n 1 "$pidfile")
    data=$(dirname "$pidfile")
    if [[ $server =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$server/cmdline" 2>/dev/null | grep -qF -- "$data"; then
      kill -QUIT "$server" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  rm -rf "$1"
}
for dir in "$pg_root"/totpctl-test-pg.*; do
  [[ -d $dir && -f $dir/run ]] || continue
  read -r pid _ < "$dir/run" || continue
  # A run still going (the same process, not one that reused its pid) keeps its own.
  [[ $(run_id "$pid" 2>/dev/null) == "$(cat "$dir/run")" ]] && continue
  echo "test.sh: removing $dir, left by a run of this script that did not finish"
  remove_run_dir "$dir"
done
mine=$(mktemp -d "$pg_root/totpctl-test-pg.XXXXXX")
run_id $$ > "$mine/run"
chmod 755 "$mine" # the server's user reaches its cluster inside
trap 'remove_run_dir "$mine"' EXIT
# A free port, picked at random so that two runs started at once do not pick the same.
port=$(python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    with socket.socket() as s:
        try:
            s.bind(("", p))
        except OSError:
            continue
    print(p)
    break
')

echo "== cargo test (PostgreSQL, a throwaway cluster from pg_virtualenv -t on port $port)"
TMPDIR=$mine PGPORT=$port pg_virtualenv -t -- \
  env TMPDIR="$pg_root" TOTPCTL_TEST_ENGINE=postgres cargo test --locked "$@"
