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
# that happens to be running.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A debian=(
  [oathtool]=oathtool [zbarimg]=zbar-tools [rsvg-convert]=librsvg2-bin
  [sqlite3]=sqlite3 [man]=man-db [tmux]=tmux [python3]=python3 [pip3]=python3-pip
  [strace]=strace [google-authenticator]=libpam-google-authenticator
  [pamtester]=pamtester [pg_virtualenv]=postgresql-common [psql]=postgresql-client
  [pg_dump]=postgresql-client [openssl]=openssl
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

# A cluster left by a pg_virtualenv that was killed would make the next one refuse.
if [[ $(id -u) -eq 0 ]]; then
  for conf in /etc/postgresql/*/regress; do
    [[ -f $conf/.by_pg_virtualenv ]] || continue
    version=$(basename "$(dirname "$conf")")
    echo "test.sh: dropping the stale throwaway cluster $version/regress"
    pg_dropcluster --stop "$version" regress || true
  done
fi

echo "== cargo test (PostgreSQL, a throwaway cluster from pg_virtualenv)"
pg_virtualenv -- env TOTPCTL_TEST_ENGINE=postgres cargo test --locked "$@"
