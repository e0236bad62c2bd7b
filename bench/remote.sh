#!/usr/bin/env bash
# `totpctl verify` as a process on a remote store (a `serve` on loopback, TLS with a
# test CA) against `totpctl verify` as a process on the local store, in the same
# run, taking turns call by call; and what the HTTP client costs a process.
#
#   bash bench/remote.sh      # needs: python3, openssl
#
# Environment: BIN (default: a release build of this checkout), BENCH_DATA (default
# /tmp/totpctl-remote-bench), RUNS (verifies of each kind, default 300).
#
# Each verify is a real accepted code of its own account. The server's log gives
# how long it took to answer each request, so that a remote verify splits into the
# server's part and the client's (process start, TLS handshake, the request).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA:-/tmp/totpctl-remote-bench}
runs=${RUNS:-300}
if [[ -z ${BIN:-} ]]; then
  (cd "$repo" && cargo build --release --locked -q)
  BIN=$repo/target/release/totpctl
fi
bin=$(realpath "$BIN")
rm -rf "$data" && mkdir -p -m 700 "$data" && cd "$data"
export TOTPCTL_STATE_DIR=$data/state TOTPCTL_STORE=$data/store.db

python3 "$repo/bench/gen_uris.py" $((runs * 2 + 10)) > uris.txt
"$bin" import uris.txt > /dev/null
"$bin" config lockout-attempts 0 > /dev/null
"$bin" token create bench --scope verify > verify.token
chmod 600 verify.token

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile san.ext 2>/dev/null
chmod 600 server.key

"$bin" serve --listen 127.0.0.1:0 --json --tls-cert server.pem --tls-key server.key \
  > serve.out 2> serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s serve.out ]] && break; sleep 0.1; done
url=$(python3 -c 'import json; print(json.load(open("serve.out"))["listening"])')

python3 - "$bin" "$url" "$runs" <<'EOF'
import base64, hashlib, hmac, os, statistics, struct, subprocess, sys, time, urllib.parse
binary, url, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
accounts = []
for line in open("uris.txt"):
    u = urllib.parse.urlparse(line.strip())
    s = urllib.parse.parse_qs(u.query)["secret"][0]
    accounts.append((urllib.parse.unquote(u.path.split(":", 1)[1]),
                     base64.b32decode(s + "=" * (-len(s) % 8))))
def code(key):
    h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = h[-1] & 15
    return f"{(struct.unpack('>I', h[o:o + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"
remote = ["--store", url, "--token-file", "verify.token", "--ca-file", "ca.pem"]
def timed(args):
    t = time.perf_counter()
    r = subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert r.returncode == 0, (args, r.returncode)
    return time.perf_counter() - t
local_t, remote_t, version_t = [], [], []
for i in range(runs):
    a, k = accounts[2 * i]
    local_t.append(timed(["verify", a, code(k)]))
    a, k = accounts[2 * i + 1]
    remote_t.append(timed(remote + ["verify", a, code(k)]))
    version_t.append(timed(["--version"]))
served = [float(l.split()[5].rstrip("ms")) / 1000 for l in open("serve.log")
          if "/verify_totp 200" in l]
ms = lambda xs: statistics.median(xs) * 1000
print(f"verify, local store (process)        {ms(local_t):7.2f} ms")
print(f"verify, remote store (process)       {ms(remote_t):7.2f} ms   "
      f"{ms(remote_t) / ms(local_t):.2f}x the local one")
print(f"  of which the server's answer       {ms(served):7.2f} ms")
print(f"  of which the client                {ms(remote_t) - ms(served):7.2f} ms   "
      "(process start, token file, TLS handshake, request)")
print(f"totpctl --version (process start)    {ms(version_t):7.2f} ms")
EOF
