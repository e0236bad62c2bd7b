#!/usr/bin/env bash
# Whole-process benchmarks of totpctl, each measured side by side with its reference
# in the same run (see BENCHMARKS.md for the figures and what they mean).
#
#   bash bench/run.sh            # needs: apt-get install hyperfine oathtool sqlite3
#
# Environment:
#   BENCH_DATA   where stores and generated URIs go (default /tmp/totpctl-bench);
#                the big store is built once and reused while it has BIG enrollments
#   BIG          enrollments in the big store (default 1000000)
#   IMPORT_N     URIs in the timed import (default 100000)
#   RUNS         runs per process timing for the fast commands (default 100; the
#                verify and its references take turns run by run, enroll and its
#                reference in rounds of 5)
#   SLOW_RUNS    the same for list and import (default 20)
#   CARGO_TARGET_DIR  where the release build goes (default target/ in the repo)
#
# Every timed verify is a real accepted code, recorded in the store: a code is
# accepted once, so before each run a prepare step moves a clock T (in the past: a
# future --at is only checked, not recorded) on by one period (30 s) and computes the
# code of T with oathtool, and the timed command is `verify ACCOUNT CODE --at T`
# (bench/alternate.py, with no shell). Every reference write takes the same T.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA:-/tmp/totpctl-bench}
big=${BIG:-1000000}
import_n=${IMPORT_N:-100000}
runs=${RUNS:-100}
slow_runs=${SLOW_RUNS:-20}
target=${CARGO_TARGET_DIR:-$repo/target}

# GNU time (for peak memory) is not on every fresh machine: install it as root.
if [[ ! -x /usr/bin/time && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
fi
missing=()
for tool in hyperfine oathtool sqlite3 python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ -x /usr/bin/time ]] || missing+=("time (/usr/bin/time)")
if ((${#missing[@]})); then
  echo "run.sh: missing ${missing[*]}: apt-get install hyperfine oathtool sqlite3 time" >&2
  exit 2
fi

say() { printf '\n== %s\n' "$*" >&2; }

say "building the release binary"
(cd "$repo" && cargo build --release --quiet)
bin=$target/release/totpctl
mkdir -p "$data"
cd "$data"
rm -rf results && mkdir results

# --- stores -------------------------------------------------------------------

# A store of N enrollments made with `import` from generated URIs (random base32
# secrets). Reused while it holds N enrollments.
build_store() { # name count
  local name=$1 n=$2
  if [[ -f $name.db && -f uris-$name.txt ]] &&
    [[ $(sqlite3 "$name.db" 'SELECT count(*) FROM totps') == "$n" ]]; then
    return
  fi
  say "building $name.db: $n enrollments"
  rm -f "$name.db" "$name.db-wal" "$name.db-shm" "$name.db.key"
  python3 "$repo/bench/gen_uris.py" "$n" > "uris-$name.txt"
  "$bin" --store "$name.db" import "uris-$name.txt" >/dev/null
}
build_store one 1
build_store big "$big"
build_store enroll 1
if [[ ! -f uris-import.txt ]] || [[ $(wc -l < uris-import.txt) != "$import_n" ]]; then
  python3 "$repo/bench/gen_uris.py" "$import_n" imp > uris-import.txt
fi

# The first account of a store, its secret, and a clock state past its last step.
account() { sed -n '1s|^otpauth://totp/Bench:\([^?]*\)%40\([^?]*\)?.*|\1@\2|p' "uris-$1.txt"; }
secret() { sed -n '1s|.*secret=\([A-Z2-7]*\).*|\1|p' "uris-$1.txt"; }
init_clock() { # name
  local last
  last=$(sqlite3 "$1.db" "SELECT coalesce(max(last_step), 0) FROM totps WHERE account = '$(account "$1")'")
  # In the past (a future --at is only checked, never recorded, and would time less
  # work), and far from now, so that no real code of these secrets is replayed here.
  local t=$(((last + 1) * 30))
  ((t > 1000000000)) || t=1000000000
  echo "$t -" > "$1.clock"
}
cat > prepare.sh <<'EOF'
#!/bin/sh
# prepare.sh CLOCK SECRET: moves the clock on one period and writes "T CODE" to it.
read t _ < "$1"
t=$((t + 30))
echo "$t $(oathtool --totp -b "$2" --now "@$t")" > "$1"
EOF
chmod +x prepare.sh
for s in one big; do init_clock $s; done
echo 0 > enroll.count
cat > prepare-enroll.sh <<'EOF'
#!/bin/sh
read n < "$1"; echo $((n + 1)) > "$1"
EOF
chmod +x prepare-enroll.sh

# --- timings ------------------------------------------------------------------

# hyperfine in ROUNDS rounds, each timing every command PER runs in turn, so that the
# load of a shared machine falls on both sides of each ratio alike; the times of all
# rounds go to results/NAME.rK.json and the table takes their medians.
hf() { # name rounds per-round hyperfine-args...
  local name=$1 n=$2 per=$3 k
  shift 3
  for ((k = 1; k <= n; k++)); do
    hyperfine --style basic --runs "$per" --export-json "results/$name.r$k.json" "$@" >&2
  done
}
# Peak resident memory, in KiB, of one run of a command (after a prepare command).
peak() { # name prepare command
  local name=$1 prep=$2 cmd=$3
  sh -c "$prep" >/dev/null 2>&1 || true
  /usr/bin/time -v sh -c "$cmd" >/dev/null 2>"results/$name.time" || true
  sed -n 's/.*Maximum resident set size (kbytes): //p' "results/$name.time" > "results/$name.kib"
}

verify_cmd() { # store: {t} and {c} are the clock's time and code (bench/alternate.py)
  echo "$bin --store $1.db verify '$(account "$1")' {c} --at {t}"
}
write_cmd() { # store: one single-row write by the sqlite3 CLI, as durable as totpctl's
  # It writes a one-row table in a WAL file of its own beside the store: a row of
  # totpctl's would no longer match its MAC, and a table added to the store's file
  # would make totpctl (rightly) refuse the store as not the one it made.
  echo "sqlite3 $1.write.db \"PRAGMA synchronous = FULL; UPDATE bench_ref SET at = '{t}' WHERE id = 1\""
}
# The reference writes' own one-row table, beside each store (and none left in a
# store from a run of an earlier version of this script).
for s in one big enroll; do
  sqlite3 "$s.db" "DROP TABLE IF EXISTS bench_ref" 2>/dev/null || true
  sqlite3 "$s.write.db" "PRAGMA journal_mode = WAL;
                         CREATE TABLE IF NOT EXISTS bench_ref (id INTEGER PRIMARY KEY, at TEXT);
                         INSERT OR IGNORE INTO bench_ref VALUES (1, '')" >/dev/null
done

# The floor under verify: sqlite3 making the same writes as an accepted code (the
# enrollment's row, an audit event with its index entry, the log head) in
# one durable transaction, on a copy of the 1-enrollment store (its events are not
# hash-chained, so the copy is thrown away).
same_writes_cmd() {
  local a
  a=$(account one)
  echo "sqlite3 one-ref.db \"PRAGMA synchronous = FULL; BEGIN IMMEDIATE; UPDATE totps SET last_step = {t} / 30, last_used_at = '{t}', updated_at = '{t}', verified = 1, failed_attempts = 0, locked_until = NULL WHERE account = '$a'; INSERT INTO events (seq, at, event, account, totp_id, detail, hash) SELECT coalesce(max(seq), 0) + 1, '{t}', 'code_accepted', '$a', (SELECT id FROM totps WHERE account = '$a'), '{}', randomblob(32) FROM events; UPDATE log_head SET seq = seq + 1, hash = randomblob(32); COMMIT\""
}
rm -f one-ref.db one-ref.db-wal one-ref.db-shm
cp one.db one-ref.db

say "verify on 1 and $big enrollments vs a sqlite3 single-row write vs oathtool"
prep_one="./prepare.sh one.clock $(secret one)"
prep_big="./prepare.sh big.clock $(secret big)"
# Run by run in turn, with no shell: each verify needs a fresh time and code, and
# hyperfine can only hand those over through a shell, whose start-up it subtracts
# with an error (it warns of it below 5 ms) as large as the differences measured here.
python3 "$repo/bench/alternate.py" --runs "$runs" --warmup 2 --out results/verify.r1.json \
  --prepare "$prep_one" --clock one.clock -n "verify (1)" "$(verify_cmd one)" \
  --prepare "$prep_big" --clock big.clock -n "verify ($big)" "$(verify_cmd big)" \
  --prepare "$prep_one" --clock one.clock -n "sqlite3 write (1)" "$(write_cmd one)" \
  --prepare "$prep_big" --clock big.clock -n "sqlite3 write ($big)" "$(write_cmd big)" \
  --prepare "$prep_one" --clock one.clock -n "sqlite3 verify's writes (1)" "$(same_writes_cmd)" \
  --prepare "$prep_one" --clock one.clock -n "oathtool" \
  "oathtool --totp -w 1 -b $(secret one) --now @{t} {c}"
# The same commands through a shell that reads the clock, for /usr/bin/time.
clocked() { # clock command-with-{t}-and-{c}
  local cmd=${2//\{t\}/\$t}
  echo "read t c < $1; exec ${cmd//\{c\}/\$c}"
}
peak verify-one "$prep_one" "$(clocked one.clock "$(verify_cmd one)")"
peak verify-big "$prep_big" "$(clocked big.clock "$(verify_cmd big)")"

say "list --json over big.db vs sqlite3 -json selecting the same rows"
cat > list.sql <<'EOF'
SELECT t.id, t.account, t.issuer, t.algorithm, t.digits, t.period, t.verified,
       (SELECT count(*) FROM backup_codes b WHERE b.totp_id = t.id) AS backupCodesRemaining,
       t.last_used_at AS lastUsedAt, t.failed_attempts AS failedAttempts,
       t.locked_until AS lockedUntil, t.created_at AS createdAt, t.updated_at AS updatedAt
FROM totps t ORDER BY t.account;
EOF
hf list $((slow_runs / 5)) 5 -N \
  -n "list --json" "$bin --store big.db list --json" \
  -n "sqlite3 -json" "sqlite3 -json big.db '.read list.sql'"
peak list true "$bin --store big.db list --json"
peak list-sqlite3 true "sqlite3 -json big.db '.read list.sql'"

say "import of $import_n URIs into a new store"
fresh="rm -f import.db import.db-wal import.db-shm import.db.key"
peak import "$fresh" "$bin --store import.db import uris-import.txt"
# The floor: sqlite3 inserting the same number of rows of the same shape (an
# enrollment and its audit event) into the same schema with two set-based INSERTs.
cat > floor.sql <<EOF
PRAGMA synchronous = FULL;
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $import_n)
INSERT INTO totps (id, account, issuer, algorithm, digits, period, secret, verified,
                   created_at, updated_at)
SELECT printf('01a217d4-2cc4-7007-af77-%012d', i), printf('floor%07d@example.com', i),
       'Bench', 'SHA1', 6, 30, randomblob(61), 1,
       '2026-11-26T12:00:00.000Z', '2026-11-26T12:00:00.000Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $import_n)
INSERT INTO events (seq, at, event, account, totp_id, detail, hash)
SELECT 1000 + i, '2026-11-26T12:00:00.000Z', 'imported', printf('floor%07d@example.com', i),
       printf('01a217d4-2cc4-7007-af77-%012d', i),
       '{"algorithm":"SHA1","digits":6,"issuer":"Bench","period":30,"verified":true,"weakSecret":false}',
       randomblob(32) FROM n;
COMMIT;
EOF
# An empty store with the schema, copied fresh before each run.
rm -f empty.db*
# (An import of nothing makes a store; `config` changes only a store that is there.)
printf '' | "$bin" --store empty.db import - >/dev/null
sqlite3 empty.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
hf import $((slow_runs / 5)) 5 -N \
  --prepare "$fresh" -n "import" "$bin --store import.db import uris-import.txt" \
  --prepare "sh -c 'rm -f floor.db floor.db-wal floor.db-shm; cp empty.db floor.db'" \
  -n "sqlite3 bulk insert" "sqlite3 floor.db '.read floor.sql'"

say "enroll --qr never vs a sqlite3 single-row write"
hf enroll $((runs / 5)) 5 --warmup 2 --prepare "./prepare-enroll.sh enroll.count" \
  -n "enroll" "read n < enroll.count; exec $bin --store enroll.db enroll bench-\$n@example.com --qr never" \
  -n "sqlite3 write (enroll)" "read n < enroll.count; exec sqlite3 enroll.write.db \"PRAGMA synchronous = FULL; UPDATE bench_ref SET at = '\$n' WHERE id = 1\""
peak enroll "./prepare-enroll.sh enroll.count" \
  "read n < enroll.count; exec $bin --store enroll.db enroll bench-\$n@example.com --qr never"

# --- the table ----------------------------------------------------------------

python3 - "$import_n" "$big" <<'EOF'
import glob, json, random, statistics, sys

import_n = int(sys.argv[1])
big = f"{int(sys.argv[2]):,}"


def times(name, index=0):
    found = []
    for path in sorted(glob.glob(f"results/{name}.r*.json")):
        with open(path) as f:
            found += json.load(f)["results"][index]["times"]
    return found


def median(name, index=0):
    return statistics.median(times(name, index))


def interval(ours, ref, resamples=2000):
    """The 95% bootstrap interval of the ratio of two medians, resampling rounds
    (run K of both commands is from round K of bench/alternate.py, so a slow
    stretch of the machine stays paired): the spread of this run's own figures, not
    of the machine from one run to the next."""
    rng = random.Random(0)
    rounds = range(min(len(ours), len(ref)))
    ratios = []
    for _ in range(resamples):
        picked = rng.choices(rounds, k=len(rounds))
        ratios.append(statistics.median(ours[k] for k in picked)
                      / statistics.median(ref[k] for k in picked))
    ratios.sort()
    return ratios[int(resamples * 0.025)], ratios[int(resamples * 0.975) - 1]


def kib(name):
    try:
        with open(f"results/{name}.kib") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


rows = []  # (what, ours, reference, target, holds)
v1, vb, w1, wb, sw = (median("verify", i) for i in range(5))
o1 = median("verify", 5)
lo, ls = median("list", 0), median("list", 1)
en, ew = median("enroll", 0), median("enroll", 1)
imp, floor = median("import", 0), median("import", 1)
rows.append((f"verify ({big}) / sqlite3 write", vb, wb, 1.2))
rows.append(("verify (1) / sqlite3 write", v1, w1, 1.2))
rows.append(("verify (1) / sqlite3 same writes", v1, sw, None))
rows.append(("verify (1) / oathtool -w 1", v1, o1, None))
rows.append((f"verify ({big}) / verify (1)", vb, v1, 1.1))
rows.append((f"sqlite3 write ({big}) / write (1)", wb, w1, None))
rows.append((f"list --json ({big}) / sqlite3 -json", lo, ls, 0.8))
rows.append(("enroll / sqlite3 write", en, ew, 1.5))
rows.append((f"import {import_n} / sqlite3 bulk insert", imp, floor, None))

print()
print(f"{'median of runs':38} {'totpctl':>10} {'reference':>10} {'ratio':>7}  target")
for what, ours, ref, target in rows:
    ratio = ours / ref
    verdict = "report" if target is None else (
        f"<= {target}x: " + ("holds" if ratio <= target else "MISSED"))
    print(f"{what:38} {ms(ours):>10} {ms(ref):>10} {ratio:6.2f}x  {verdict}")
rate = import_n / imp
print(f"{'import rate':38} {rate:>10,.0f} URIs/s  >= 250,000/s: "
      f"{'holds' if rate >= 250000 else 'MISSED'} "
      f"(sqlite3 inserting the same rows: {import_n / floor:,.0f}/s)")

print()
print("verify / sqlite3 write: 95% interval of the ratio (bootstrap of the runs)")
for label, i, j in [("1", 0, 2), (big, 1, 3)]:
    low, high = interval(times("verify", i), times("verify", j))
    print(f"  verify ({label}){'':{28 - len(label)}} {low:.2f}x to {high:.2f}x")

print()
print("peak memory (max RSS)")
for name, label, limit in [
    ("verify-one", "verify (1)", None),
    ("verify-big", f"verify ({big})", None),
    ("list", f"list --json ({big})", 32 * 1024),
    ("list-sqlite3", f"sqlite3 -json ({big})", None),
    ("import", f"import {import_n}", 64 * 1024),
    ("enroll", "enroll", None),
]:
    k = kib(name)
    if k is None:
        continue
    verdict = "" if limit is None else (f"  target <= {limit // 1024} MiB: "
                                        + ("yes" if k <= limit else "NO"))
    print(f"  {label:26} {k / 1024:7.1f} MiB{verdict}")
EOF
