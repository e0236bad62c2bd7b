#!/usr/bin/env bash
# Two builds of totpctl side by side, command by command, in the same run: the
# question is whether a change made any command slower.
#
#   bash bench/compare.sh OLD_BINARY NEW_BINARY   # needs: hyperfine oathtool python3
#
# Environment:
#   BENCH_DATA  where the stores go (default /tmp/totpctl-compare)
#   N           enrollments in the store that list, log and import use (default 10000)
#   RUNS        runs of each command per binary (default 60)
#
# Each binary works on its own copy of the same stores, with its own state directory,
# so that neither sees the other's writes. Runs take turns (bench/alternate.py): run K
# of every command is from the same round, so the load of a shared machine falls on
# both sides alike. The table gives each command's median for both and NEW/OLD.
set -euo pipefail

if (($# != 2)); then
  echo "usage: bash bench/compare.sh OLD_BINARY NEW_BINARY" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
old=$(realpath "$1")
new=$(realpath "$2")
data=${BENCH_DATA:-/tmp/totpctl-compare}
n=${N:-10000}
runs=${RUNS:-60}
for tool in hyperfine oathtool python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh: missing $tool" >&2; exit 2; }
done

mkdir -p "$data"
cd "$data"
rm -rf old new results && mkdir -p old new results
[[ -f uris.txt && $(wc -l < uris.txt) == "$n" ]] || python3 "$repo/bench/gen_uris.py" "$n" > uris.txt
head -1 uris.txt > one.txt
account=$(sed -n '1s|^otpauth://totp/Bench:\([^?]*\)%40\([^?]*\)?.*|\1@\2|p' uris.txt)
secret=$(sed -n '1s|.*secret=\([A-Z2-7]*\).*|\1|p' uris.txt)

for side in old new; do
  bin=${!side}
  "$bin" --store "$side/many.db" --state-dir "$side/state" import uris.txt >/dev/null
  "$bin" --store "$side/one.db" --state-dir "$side/state" import one.txt >/dev/null
  echo "1000000020 -" > "$side/clock"
  echo 0 > "$side/count"
done

cat > prepare.sh <<'EOF'
#!/bin/sh
# prepare.sh CLOCK SECRET: moves the clock on one period and writes "T CODE" to it.
read t _ < "$1"
t=$((t + 30))
echo "$t $(oathtool --totp -b "$2" --now "@$t")" > "$1"
EOF
cat > count.sh <<'EOF'
#!/bin/sh
read n < "$1"; echo $((n + 1)) > "$1"
EOF
cat > fresh.sh <<'EOF'
#!/bin/sh
rm -f "$1"/import.db "$1"/import.db-wal "$1"/import.db-shm "$1"/import.db.key
rm -rf "$1"/import-state
EOF
chmod +x prepare.sh count.sh fresh.sh

echo "0 -" > static.clock
# Every command, for one side: its prepare step, clock, and command line.
commands() { # side
  local s=$1 b=${!1} g
  g="$b --state-dir $s/state"
  local none="--prepare|true|--clock|static.clock"
  printf '%s\n' \
    "--prepare|./prepare.sh $s/clock $secret|--clock|$s/clock|-n|verify ($s)|$g --store $s/one.db verify $account {c} --at {t}" \
    "--prepare|./count.sh $s/count|--clock|$s/count|-n|enroll ($s)|$g --store $s/one.db enroll e{t} --qr never --json" \
    "$none|-n|show ($s)|$g --store $s/many.db show $account --json" \
    "$none|-n|list ($s)|$g --store $s/many.db list --json" \
    "$none|-n|log ($s)|$g --store $s/one.db log --json" \
    "$none|-n|info ($s)|$g --store $s/many.db info --json" \
    "--prepare|./fresh.sh $s|--clock|static.clock|-n|import ($s)|$b --state-dir $s/import-state --store $s/import.db import uris.txt"
}
args=()
while IFS= read -r line; do
  IFS='|' read -r -a parts <<< "$line"
  args+=("${parts[@]}")
done < <(commands old; commands new)
python3 "$repo/bench/alternate.py" --runs "$runs" --warmup 2 --out results/compare.json "${args[@]}" >/dev/null

python3 - results/compare.json <<'EOF'
import json, statistics, sys
res = {r["command"]: r["times"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"{'command':<10} {'old ms':>9} {'new ms':>9} {'new/old':>8}")
for name in ["verify", "enroll", "show", "list", "log", "info", "import"]:
    o = statistics.median(res[f"{name} (old)"]) * 1000
    n = statistics.median(res[f"{name} (new)"]) * 1000
    print(f"{name:<10} {o:>9.2f} {n:>9.2f} {n / o:>8.2f}")
EOF
