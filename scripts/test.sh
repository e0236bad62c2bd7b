#!/usr/bin/env bash
# Runs the test suite. The tests drive the real binary against real peers, so this
# first makes sure those peers are installed:
#   oathtool (an independent TOTP implementation), zbarimg (a QR decoder, from
#   zbar-tools), rsvg-convert (SVG to PNG, from librsvg2-bin), sqlite3, man (man-db),
#   tmux (a real terminal for prompts), strace (to kill a process at a chosen system
#   call), pyotp (a second TOTP implementation), google-authenticator (from
#   libpam-google-authenticator, whose files import reads) and pamtester (to drive
#   a PAM stack).
# As root it installs what is missing with apt-get and pip; otherwise it names it.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A debian=(
  [oathtool]=oathtool [zbarimg]=zbar-tools [rsvg-convert]=librsvg2-bin
  [sqlite3]=sqlite3 [man]=man-db [tmux]=tmux [python3]=python3 [pip3]=python3-pip
  [strace]=strace [google-authenticator]=libpam-google-authenticator
  [pamtester]=pamtester
)
missing=()
for cmd in "${!debian[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${debian[$cmd]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
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

cargo test --locked "$@"
