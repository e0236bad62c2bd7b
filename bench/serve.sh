#!/usr/bin/env bash
# `totpctl serve` against `totpctl verify` as a process per call, and against the
# engine's own floor, all in one run on one machine. Loopback only; every load run
# is bounded in time (wrk -d) or in count, and stops by itself.
#
#   bash bench/serve.sh                                  # SQLite
#   pg_virtualenv -- env BENCH_ENGINE=postgres bash bench/serve.sh
#
# Needs: wrk, python3, sqlite3 (SQLite) or psql (PostgreSQL). Environment:
#   BIN          the totpctl binary (default: a release build of this checkout)
#   BENCH_DATA   where the stores go (default /tmp/totpctl-serve-bench)
#   BENCH_ENGINE sqlite (default) or postgres (a fresh database on $PGHOST)
#   ACCOUNTS     enrollments in the store (default 100000): each accepted code needs
#                its own account, since a code is accepted once
#   SECONDS_RUN  length of each wrk run (default 5)
#   PROC_RUNS    verifies in each process-per-call measurement (default 300)
#
# What is measured, each line one accepted, recorded code per request:
#   1. serve, 1 client, keep-alive: p50 latency (wrk --latency).
#   2. serve, 16 clients: verifies/s and p50, p99; every answer must be 200.
#   3. verify as a process per call, one after another: p50 latency.
#   4. verify as a process per call, 16 at a time: verifies/s.
#   5. the floor: the same writes as an accepted code (the enrollment's row, an
#      event, the log head), one durable transaction each, in a tight loop in one
#      sqlite3 (or psql) process.
#   6. the server's peak resident memory (VmHWM) after the loads.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA:-/tmp/totpctl-serve-bench}
engine=${BENCH_ENGINE:-sqlite}
accounts=${ACCOUNTS:-100000}
secs=${SECONDS_RUN:-5}
proc_runs=${PROC_RUNS:-300}
for tool in wrk python3; do
  command -v "$tool" >/dev/null || { echo "serve.sh: missing $tool (apt-get install $tool)" >&2; exit 2; }
done
if [[ -z ${BIN:-} ]]; then
  (cd "$repo" && cargo build --release --locked -q)
  BIN=$repo/target/release/totpctl
fi
bin=$(realpath "$BIN")

rm -rf "$data" && mkdir -p -m 700 "$data" && cd "$data"
export TOTPCTL_STATE_DIR=$data/state
case $engine in
  sqlite)
    export TOTPCTL_STORE=$data/serve.db
    ;;
  postgres)
    db=totpctl_serve_bench_$$
    psql -X -q -d postgres -c "CREATE DATABASE $db"
    trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
    export TOTPCTL_STORE=postgresql:///$db
    mkdir -m 700 keys
    export TOTPCTL_KEY_FILE=$data/keys/totpctl.key
    ;;
  *) echo "serve.sh: BENCH_ENGINE is sqlite or postgres" >&2; exit 2 ;;
esac

say() { printf '\n== %s\n' "$*" >&2; }

say "a store of $accounts verified enrollments ($engine)"
python3 "$repo/bench/gen_uris.py" "$accounts" > uris.txt
"$bin" import uris.txt > /dev/null
"$bin" config lockout-attempts 0 > /dev/null
"$bin" token create bench --scope verify > verify.token
chmod 600 verify.token

# "ACCOUNT CODE" for every account, codes of now: good for this step and the next
# (the store's window is 1), and each accepted once. Slices of the list go to each
# measurement, so no code is offered twice.
codes() {
  python3 - "$@" <<'EOF'
import base64, hashlib, hmac, struct, sys, time, urllib.parse
step = int(time.time()) // 30
for line in open("uris.txt"):
    u = urllib.parse.urlparse(line.strip())
    account = urllib.parse.unquote(u.path.split(":", 1)[1])
    q = urllib.parse.parse_qs(u.query)
    s = q["secret"][0]
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    code = (struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 10**6
    print(urllib.parse.quote(account, safe="@"), f"{code:06d}")
EOF
}

cat > verify.lua <<'EOF'
-- Each request verifies the next account's code: a per-thread slice of CODES.
local lines = {}
for l in io.lines(os.getenv("CODES")) do lines[#lines + 1] = l end
local threads, nthreads = {}, tonumber(os.getenv("THREADS"))
local token = io.open(os.getenv("TOKEN")):read("*l")
local n = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function request()
  local i = n * nthreads + tid + 1
  n = n + 1
  local account, code = lines[((i - 1) % #lines) + 1]:match("(%S+) (%S+)")
  return wrk.format("POST", "/v1/users/" .. account .. "/verify_totp",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    '{"code":"' .. code .. '"}')
end
function done(summary, latency, requests)
  io.stderr:write(string.format("RESULT requests=%d non2xx=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end
EOF

"$bin" serve --listen 127.0.0.1:0 --json --rate-limit 0 > serve.out 2> serve.log &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s serve.out ]] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open("serve.out"))["listening"])')

load() { # NAME CLIENTS THREADS FIRST_LINE COUNT
  local name=$1 clients=$2 threads=$3 first=$4 count=$5
  codes | sed -n "${first},$((first + count - 1))p" > "codes.$name"
  CODES=codes.$name THREADS=$threads TOKEN=verify.token \
    wrk -t"$threads" -c"$clients" -d"${secs}s" --timeout 10s -s verify.lua "$url" \
    > "wrk.$name.out" 2> "wrk.$name.err"
  grep '^RESULT' "wrk.$name.err" | sed "s/^RESULT/$name/"
}

say "serve: 1 client, then 16, for ${secs} s each (wrk, keep-alive)"
third=$((accounts / 3))
load serve-1 1 1 1 "$third" | tee result.serve-1
load serve-16 16 2 $((third + 1)) "$third" | tee result.serve-16
rss=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
kill -TERM $server; wait $server || true
trap - EXIT
[[ $engine == postgres ]] && trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT

say "verify as a process per call: $proc_runs one after another, then 16 at a time"
sed -n "$((2 * third + 1)),\$p" uris.txt > uris.proc
python3 - "$bin" "$proc_runs" <<'EOF' | tee result.proc
import base64, hashlib, hmac, statistics, struct, subprocess, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
binary, runs = sys.argv[1], int(sys.argv[2])
accounts = []
for line in open("uris.proc"):
    u = urllib.parse.urlparse(line.strip())
    s = urllib.parse.parse_qs(u.query)["secret"][0]
    accounts.append((urllib.parse.unquote(u.path.split(":", 1)[1]),
                     base64.b32decode(s + "=" * (-len(s) % 8))))
def run(account):
    # The code of now, computed as the call starts: a long run crosses steps.
    name, key = account
    h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = h[-1] & 15
    code = f"{(struct.unpack('>I', h[o:o + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"
    t = time.perf_counter()
    r = subprocess.run([binary, "verify", name, code],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, r.returncode
seq = [run(a) for a in accounts[:runs]]
assert all(rc == 0 for _, rc in seq), [rc for _, rc in seq if rc]
print(f"process-1 p50_us={statistics.median(t for t, _ in seq) * 1e6:.0f}")
par_accounts = accounts[runs:runs * 5]
t0 = time.perf_counter()
with ThreadPoolExecutor(16) as pool:
    par = list(pool.map(run, par_accounts))
elapsed = time.perf_counter() - t0
assert all(rc == 0 for _, rc in par), [rc for _, rc in par if rc]
print(f"process-16 requests={len(par)} seconds={elapsed:.3f} rate={len(par) / elapsed:.0f}")
EOF

say "the floor: an accepted code's writes, one durable transaction each, in one process"
floor_n=2000
if [[ $engine == sqlite ]]; then
  cp serve.db floor.db
  [[ -e serve.db-wal ]] && cp serve.db-wal floor.db-wal
  python3 - "$floor_n" > floor.sql <<'EOF'
import sys
n = int(sys.argv[1])
print("PRAGMA synchronous = FULL;")
for i in range(n):
    a = f"floor{i}"
    print("BEGIN IMMEDIATE;"
          f"UPDATE totps SET last_step = {i}, last_used_at = 'now', updated_at = 'now', failed_attempts = 0 "
          f"WHERE rowid = (SELECT rowid FROM totps LIMIT 1 OFFSET {i});"
          "INSERT INTO events (seq, at, event, account, totp_id, detail, hash) "
          "SELECT coalesce(max(seq), 0) + 1, 'now', 'code_accepted', 'x', 'x', '{}', randomblob(32) FROM events;"
          "UPDATE log_head SET seq = seq + 1, hash = randomblob(32);"
          "COMMIT;")
EOF
  start=$(date +%s.%N)
  sqlite3 floor.db < floor.sql
  end=$(date +%s.%N)
else
  psql -X -q -d "$db" -c "CREATE TABLE public.floor AS SELECT id FROM totpctl.totps LIMIT $floor_n"
  python3 - "$floor_n" > floor.sql <<'EOF'
import sys
n = int(sys.argv[1])
print("SET synchronous_commit = on;")
for i in range(n):
    print("BEGIN;"
          f"UPDATE totpctl.totps SET last_step = {i}, failed_attempts = 0 WHERE id = (SELECT id FROM public.floor OFFSET {i} LIMIT 1);"
          "INSERT INTO totpctl.events (seq, at, event, account, totp_id, detail, hash) "
          "SELECT coalesce(max(seq), 0) + 1, 'now', 'code_accepted', 'x', NULL, '{}', sha256(random()::text::bytea) FROM totpctl.events;"
          "UPDATE totpctl.log_head SET seq = seq + 1;"
          "COMMIT;")
EOF
  start=$(date +%s.%N)
  psql -X -q -d "$db" -f floor.sql > /dev/null
  end=$(date +%s.%N)
fi
python3 -c "import sys; n=$floor_n; s=$end-$start; print(f'floor requests={n} seconds={s:.3f} rate={n/s:.0f}')" | tee result.floor

say "summary"
python3 - "$rss" "$engine" <<'EOF'
import re, sys
rss_kib, engine = int(sys.argv[1]), sys.argv[2]
def kv(path):
    line = open(path).read().split("\n")[0]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
s1, s16, floor = kv("result.serve-1"), kv("result.serve-16"), kv("result.floor")
proc = {l.split()[0]: {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", l)}
        for l in open("result.proc") if l.strip()}
p1, p16 = proc["process-1"], proc["process-16"]
for name, r in (("serve, 1 client", s1), ("serve, 16 clients", s16)):
    if r["non2xx"] or r["errors"]:
        print(f"WARNING: {name}: {int(r['non2xx'])} answers not 200, {int(r['errors'])} socket errors")
rate16 = s16["requests"] / s16["seconds"]
print(f"engine: {engine}")
print(f"{'':42} {'serve':>12} {'process':>12} {'ratio':>8}")
print(f"{'p50 latency, 1 client (ms)':42} {s1['p50_us'] / 1000:>12.2f} {p1['p50_us'] / 1000:>12.2f} "
      f"{s1['p50_us'] / p1['p50_us']:>7.2f}x   (target <= 0.33x on SQLite)")
print(f"{'verifies/s, 16 clients':42} {rate16:>12.0f} {p16['rate']:>12.0f} "
      f"{rate16 / p16['rate']:>7.1f}x   (target >= 5x on SQLite, >= 10x on PostgreSQL)")
print(f"{'p50 / p99 latency, 16 clients (ms)':42} {s16['p50_us'] / 1000:>6.2f} / {s16['p99_us'] / 1000:.2f}")
print(f"{'floor: one transaction per code, one process':42} {floor['rate']:>12.0f} /s   "
      f"serve at 16 clients: {rate16 / floor['rate']:.2f}x the floor")
print(f"{'serve, peak RSS':42} {rss_kib / 1024:>10.1f} MiB")
EOF
