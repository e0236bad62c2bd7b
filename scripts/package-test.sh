#!/usr/bin/env bash
# The Debian package, tested as an admin installs it: built with cargo-deb, checked
# with lintian, installed with `dpkg -i`; then a login through the shipped PAM snippet
# with pamtester against the installed binary and the system store, and
# `man totpctl-verify`; then the package removed and purged, which must keep the
# store and its key and say where they are. Finally everything this script made is
# removed.
#
# It changes the machine (a package, a PAM service, /var/lib/totpctl), so it runs as
# root, from .ci/run only, after the suite, and never two at once; it refuses to run
# where totpctl is installed already or a system store exists.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "package-test.sh: $*"; }
fail() {
  say "FAILED: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || {
  say "needs root: it installs a package and a PAM service" >&2
  exit 2
}
if dpkg-query -W -f '${Status}' totpctl 2>/dev/null | grep -q installed; then
  say "totpctl is installed on this machine already: not touching it" >&2
  exit 2
fi
store=/var/lib/totpctl/totpctl.db
if [[ -e $store ]]; then
  say "$store exists: not testing over a real system store" >&2
  exit 2
fi
had_dir=false
[[ -e /var/lib/totpctl ]] && had_dir=true

missing=()
for tool in lintian pamtester man oathtool python3 dpkg-shlibdeps curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends lintian pamtester man-db oathtool \
    python3 dpkg-dev curl >/dev/null
fi
# cargo-deb, at the version this script was written for.
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi

say "building the package"
rm -rf target/debian
cargo deb --locked >/dev/null
deb=$(ls target/debian/totpctl_*.deb)

say "lintian"
lintian --fail-on error,warning --tag-display-limit 0 "$deb" ||
  fail "lintian found problems in $deb"

service=totpctl-package-test-$$
cleanup() {
  rm -f "/etc/pam.d/$service"
  if dpkg-query -W -f '${Status}' totpctl 2>/dev/null | grep -q installed; then
    dpkg --purge totpctl >/dev/null 2>&1 || true
  fi
  rm -rf "$store" "$store".* /var/lib/totpctl/totpctl-state
  $had_dir || rmdir /var/lib/totpctl 2>/dev/null || true
}
trap cleanup EXIT

say "dpkg -i"
dpkg -i "$deb" >/dev/null
[[ $(command -v totpctl) == /usr/bin/totpctl ]] || fail "totpctl is not /usr/bin/totpctl"
[[ $(stat -c '%a %U %G' /var/lib/totpctl) == "700 root root" ]] ||
  fail "/var/lib/totpctl is $(stat -c '%a %U %G' /var/lib/totpctl), not 700 root root"
for f in /usr/share/bash-completion/completions/totpctl \
  /usr/share/zsh/vendor-completions/_totpctl \
  /usr/share/fish/vendor_completions.d/totpctl.fish \
  /usr/share/doc/totpctl/examples/pam.d/totpctl \
  /usr/share/doc/totpctl/examples/pam.d/totpctl-remote \
  /usr/share/doc/totpctl/examples/sshd_config.d/totpctl.conf \
  /lib/systemd/system/totpctl.service /etc/default/totpctl; do
  [[ -f $f ]] || fail "$f is not installed"
done

say "the systemd unit"
unit=/lib/systemd/system/totpctl.service
for directive in 'CapabilityBoundingSet=$' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
  'ReadWritePaths=/var/lib/totpctl$' 'PrivateTmp=yes' 'User=root' \
  'ExecStart=/usr/bin/totpctl serve $TOTPCTL_SERVE_ARGS'; do
  grep -qx -- "$directive" "$unit" || grep -qxF -- "$directive" "$unit" ||
    fail "$unit lacks $directive"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
fi

say "man totpctl-verify"
page=$(MANWIDTH=80 man -P cat totpctl-verify 2>&1) || fail "man totpctl-verify: $page"
grep -q -- "--pam" <<<"$page" || fail "man totpctl-verify does not render the page"

say "a login through the shipped PAM snippet"
enrolled=$(/usr/bin/totpctl --store "$store" --json enroll ci-pam-user --qr never)
secret=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["secret"])' "$enrolled")
[[ -f $store.key && $(stat -c '%a %U' "$store.key") == "600 root" ]] ||
  fail "the key file was not made beside the system store, 0600 root"
# The shipped snippet as it is, with an account stack after it.
grep -v '^[[:space:]]*#' /usr/share/doc/totpctl/examples/pam.d/totpctl |
  grep -v '^[[:space:]]*$' >"/etc/pam.d/$service"
grep -q 'pam_exec.so .* /usr/bin/totpctl verify --pam --store /var/lib/totpctl/totpctl.db' \
  "/etc/pam.d/$service" || fail "the shipped snippet does not call /usr/bin/totpctl"
echo "account required pam_permit.so" >>"/etc/pam.d/$service"
pam() { # code: PAM's verdict on it
  echo "$1" | pamtester -v "$service" ci-pam-user authenticate 2>&1
}
code=$(oathtool --totp -b "$secret")
out=$(pam "$code") || fail "pamtester refused the right code: $out"
grep -q "successfully authenticated" <<<"$out" || fail "pamtester: $out"
if out=$(pam "$code"); then fail "pamtester accepted a replayed code: $out"; fi
wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
if out=$(pam "$wrong"); then fail "pamtester accepted a wrong code: $out"; fi
log=$(/usr/bin/totpctl --store "$store" --json log ci-pam-user)
python3 - "$log" <<'EOF' || fail "the audit log does not show the PAM login: $log"
import json, sys
events = [e["event"] for e in json.loads(sys.argv[1])]
assert events[:2] == ["enrolled", "code_accepted"], events
assert events.count("code_rejected") == 2, events
EOF

say "serve as the unit runs it"
tmp=$(mktemp -d)
# What the unit runs, with its settings file, as systemd would (no systemd here):
# it serves the system store on loopback (its default address) and stops cleanly
# on SIGTERM.
(
  set -a
  # shellcheck disable=SC1091
  . /etc/default/totpctl
  set +a
  # shellcheck disable=SC2086
  exec /usr/bin/totpctl serve $TOTPCTL_SERVE_ARGS --json
) >"$tmp/serve.out" 2>"$tmp/serve.err" &
served=$!
for _ in $(seq 100); do [[ -s $tmp/serve.out ]] && break; sleep 0.1; done
url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["listening"])' "$tmp/serve.out") ||
  fail "serve with /etc/default/totpctl did not start: $(cat "$tmp/serve.err")"
[[ $(curl -s "$url/healthz") == '{"status":"ok"}' ]] || fail "$url/healthz did not answer"
kill -TERM "$served"
wait "$served" || fail "serve did not exit 0 on SIGTERM: $(cat "$tmp/serve.err")"
rm -rf "$tmp"

say "removing and purging keep the store and its key"
out=$(dpkg -r totpctl 2>&1)
[[ ! -e /usr/bin/totpctl ]] || fail "dpkg -r left /usr/bin/totpctl"
[[ -f $store && -f $store.key ]] || fail "dpkg -r removed the store or its key"
grep -q "/var/lib/totpctl" <<<"$out" || fail "dpkg -r did not say where the store is: $out"
out=$(dpkg --purge totpctl 2>&1)
[[ -f $store && -f $store.key ]] || fail "dpkg --purge removed the store or its key"
grep -q "/var/lib/totpctl" <<<"$out" || fail "dpkg --purge did not say where the store is: $out"
say "ok"
