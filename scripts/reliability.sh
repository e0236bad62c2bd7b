#!/usr/bin/env bash
# The reliability suite: the long tests that the default `cargo test` leaves out.
#
#   scripts/reliability.sh            # ignored tests + 3,000 garbage command lines
#   RELIABILITY_BUDGET=small scripts/reliability.sh   # what CI runs: the races only
#   FUZZ_SECONDS=60 scripts/reliability.sh   # and each fuzz target for 60 s
#
# - tests/concurrency.rs: the 64-process race on one code, 20 times; a mixed load
#   of 8 workers x 40 cycles.
# - tests/crash.rs: SIGKILL at every write, fsync, link, rename and unlink of
#   enroll, a first enroll, verify, backup-codes and rekey (needs strace), and at 20
#   delays and 40 system calls of a 20,000-line import.
# - tests/properties.rs: TOTPCTL_GARBAGE_CASES random command lines.
# - fuzz/run.sh, when FUZZ_SECONDS is set and cargo-fuzz is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${RELIABILITY_BUDGET:-full}" = small ]; then
    # CI's budget: the 64-process race 20 times and the long mixed load (about two
    # minutes), and 500 garbage command lines.
    export TOTPCTL_GARBAGE_CASES="${TOTPCTL_GARBAGE_CASES:-500}"
    cargo test --locked --test concurrency -- --ignored
else
    export TOTPCTL_GARBAGE_CASES="${TOTPCTL_GARBAGE_CASES:-3000}"
    cargo test --locked --test concurrency --test crash -- --ignored
fi
cargo test --locked --test properties garbage_command_lines_never_panic

if [ -n "${FUZZ_SECONDS:-}" ]; then
    if command -v cargo-fuzz > /dev/null; then
        fuzz/run.sh "$FUZZ_SECONDS"
    else
        echo "cargo-fuzz is not installed (cargo install cargo-fuzz): fuzzing skipped" >&2
    fi
fi
