#!/usr/bin/env bash
# totpctl on PostgreSQL, each figure measured side by side with psql doing the
# equivalent in the same run, on the same server, with the same connection settings
# (the same host, port, user, password source and sslmode). Reported in BENCHMARKS.md
# as ratios; never a timed test.
#
#   pg_virtualenv -- bash bench/postgres.sh      # a throwaway cluster, TLS on
#   bash bench/postgres.sh                       # the server PGHOST etc. name
#
# Environment: N (sequential runs, default 200), PAR (parallel loops, 16), PER (runs
# per parallel loop, 50), BIG (enrollments listed, default 1000000), IMPORT_N (URIs
# imported, 100000), SSLMODE (default prefer), CARGO_TARGET_DIR.
# Needs: psql, oathtool, /usr/bin/time (Debian: postgresql-client oathtool time).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
n=${N:-200}
par=${PAR:-16}
per=${PER:-50}
big=${BIG:-1000000}
import_n=${IMPORT_N:-100000}
sslmode=${SSLMODE:-prefer}
target=${CARGO_TARGET_DIR:-$repo/target}

(cd "$repo" && cargo build --release --locked -q)
bin=$target/release/totpctl
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS totpctl_bench WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS totpctl_bench WITH (FORCE)" -c "CREATE DATABASE totpctl_bench"
url="postgresql://${PGHOST:-localhost}:${PGPORT:-5432}/totpctl_bench?sslmode=$sslmode"
conn="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=totpctl_bench sslmode=$sslmode"
export TOTPCTL_STORE=$url TOTPCTL_KEY_FILE=$work/key

now_ns() { date +%s%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.2f", a / n / 1e6 }'; }

# --- setup: one verified account per parallel loop, and a table for psql ---------
t0=1764158400
for i in $(seq 0 "$par"); do
  secret=$("$bin" --json enroll "u$i" | sed -E 's/.*"secret":"([A-Z2-7]+)".*/\1/')
  echo "$secret" > "$work/secret$i"
  "$bin" verify "u$i" "$(oathtool --totp -b --now=@$t0 "$secret")" --at $t0 >/dev/null
done
"$bin" config lockout-attempts 0 >/dev/null
psql -X -q "$conn" -c "CREATE TABLE bench (id int PRIMARY KEY, last_step bigint)" \
  -c "INSERT INTO bench SELECT g, 0 FROM generate_series(0, $par) g"

# Codes computed ahead, so neither side pays for oathtool.
codes() { # account index, count, first step offset
  local s; s=$(cat "$work/secret$1")
  for k in $(seq 1 "$2"); do
    local at=$((t0 + 30 * (k + $3)))
    echo "$at $(oathtool --totp -b --now=@$at "$s")"
  done
}

# --- 0. what issue 17's schema check costs the server -----------------------------
# The catalog query every transaction runs (src/store/postgres_schema.rs), prepared
# once and run 200 times in one session, as a pooled connection runs it; the first
# execution includes its planning, which a process per command pays once.
query=$(python3 - "$repo/src/store/postgres_schema.rs" <<'EOF'
import re, sys
s = open(sys.argv[1]).read()
q = re.search(r'const QUERY: &str = "\n(.*?)\n";', s, re.S).group(1)
print(re.sub(r'\\\n\s*', '', q))
EOF
)
{
  echo "SET search_path = pg_catalog, pg_temp;"
  echo '\timing on'
  echo "PREPARE chk AS $query;"
  for _ in $(seq 1 200); do echo "EXECUTE chk;"; done
} | psql -X -q "$conn" -o /dev/null | awk '/^Time:/ { n++; if (n == 2) first = $2; else if (n > 2) s += $2 }
  END { printf "schema check: first execution (with planning) %.2f ms, then %.2f ms each\n", first, s / (n - 2) }'

# --- 1. one verify vs one psql one-row UPDATE, sequential -------------------------
codes 0 "$n" 0 > "$work/codes0"
start=$(now_ns)
while read -r at code; do "$bin" verify u0 "$code" --at "$at" >/dev/null; done < "$work/codes0"
verify_ns=$(( $(now_ns) - start ))
start=$(now_ns)
while read -r at code; do
  psql -X -q "$conn" -c "UPDATE bench SET last_step = $at WHERE id = 0 AND last_step < $at" >/dev/null
done < "$work/codes0"
psql_ns=$(( $(now_ns) - start ))
echo "verify: $(ms $verify_ns $n) ms; psql UPDATE: $(ms $psql_ns $n) ms; ratio $(ratio $verify_ns $psql_ns)"

# --- 2. 16 parallel verifiers vs 16 parallel psql update loops --------------------
for i in $(seq 1 "$par"); do codes "$i" "$per" 0 > "$work/pcodes$i"; done
start=$(now_ns)
for i in $(seq 1 "$par"); do
  (while read -r at code; do "$bin" verify "u$i" "$code" --at "$at" >/dev/null; done < "$work/pcodes$i") &
done
wait
pverify_ns=$(( $(now_ns) - start ))
start=$(now_ns)
for i in $(seq 1 "$par"); do
  (while read -r at code; do
     psql -X -q "$conn" -c "UPDATE bench SET last_step = $at WHERE id = $i AND last_step < $at" >/dev/null
   done < "$work/pcodes$i") &
done
wait
ppsql_ns=$(( $(now_ns) - start ))
total=$((par * per))
echo "parallel x$par: verify $(awk -v t=$total -v ns=$pverify_ns 'BEGIN{printf "%.0f", t/(ns/1e9)}')/s;" \
  "psql $(awk -v t=$total -v ns=$ppsql_ns 'BEGIN{printf "%.0f", t/(ns/1e9)}')/s;" \
  "throughput ratio $(ratio $ppsql_ns $pverify_ns)"

# --- 3. list --json of BIG enrollments vs psql -Atc of the same rows ---------------
# The rows are made with SQL (list reads them; it checks no MAC): 1,000,000 imports
# would time the import, not the list.
psql -X -q "$conn" -c "
  INSERT INTO totpctl.totps (id, account, issuer, algorithm, digits, period, secret,
      verified, failed_attempts, created_at, updated_at)
  SELECT 'bench-' || g, 'user' || lpad(g::text, 8, '0') || '@example.com', 'Bench',
      'SHA1', 6, 30, '\\x00', g % 2 = 0, 0, '2026-11-26T12:00:00.000Z',
      '2026-11-26T12:00:00.000Z'
  FROM generate_series(1, $big) g" -c "ANALYZE totpctl.totps"
/usr/bin/time -f "%e %M" -o "$work/list.time" "$bin" --json list > /dev/null
/usr/bin/time -f "%e %M" -o "$work/psql.time" psql -X "$conn" -Atc "
  SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, t.verified,
         t.last_used_at, t.failed_attempts, t.locked_until, t.created_at, t.updated_at,
         (SELECT count(*) FROM totpctl.backup_codes b WHERE b.totp_id = t.id
          AND b.used_at IS NULL)
  FROM totpctl.totps t ORDER BY t.account COLLATE \"C\"" > /dev/null
read -r list_s list_kb < "$work/list.time"
read -r psql_s psql_kb < "$work/psql.time"
echo "list --json of $big: ${list_s}s, peak $((list_kb / 1024)) MiB; psql -Atc: ${psql_s}s," \
  "peak $((psql_kb / 1024)) MiB; ratio $(ratio "$list_s" "$psql_s")"
psql -X -q "$conn" -c "DELETE FROM totpctl.totps WHERE id LIKE 'bench-%'"

# --- 4. import of IMPORT_N URIs vs psql \copy of equivalent rows -------------------
python3 - "$import_n" "$work/uris" "$work/rows.csv" <<'EOF'
import base64, os, sys
n, uris, rows = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(uris, "w") as u, open(rows, "w") as r:
    for i in range(n):
        s = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        u.write(f"otpauth://totp/Import:imp{i}?secret={s}&issuer=Import\n")
        r.write(f"imp-{i},imp{i},Import,SHA1,6,30,\\\\x{os.urandom(60).hex()},true\n")
EOF
psql -X -q "$conn" -c "CREATE TABLE copied (id text PRIMARY KEY, account text UNIQUE,
  issuer text, algorithm text, digits int, period int, secret bytea, verified bool)"
start=$(now_ns)
"$bin" import "$work/uris" > /dev/null
import_ns=$(( $(now_ns) - start ))
start=$(now_ns)
psql -X -q "$conn" -c "\\copy copied FROM '$work/rows.csv' WITH (FORMAT csv)"
copy_ns=$(( $(now_ns) - start ))
echo "import of $import_n: $(awk -v ns=$import_ns 'BEGIN{printf "%.1f", ns/1e9}')s;" \
  "psql \\copy: $(awk -v ns=$copy_ns 'BEGIN{printf "%.1f", ns/1e9}')s; ratio $(ratio $import_ns $copy_ns)"
