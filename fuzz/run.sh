#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after the other.
#
#   fuzz/run.sh            # 10 minutes per target
#   fuzz/run.sh 60 uri     # one minute, the URI parser only
#
# cargo-fuzz needs nightly-only compiler flags; on a stable toolchain
# RUSTC_BOOTSTRAP=1 unlocks them. Install the runner once with
# `cargo install cargo-fuzz`. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(uri codes)
fi
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== fuzzing $target for ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus/$target" fuzz/seeds/"$target" -- \
        -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
done
