#!/usr/bin/env bash
# Fuzzes every input reader of tickrail under libFuzzer (cargo-fuzz, nightly), each for a while.
#
#   tests/fuzz/run.sh [seconds per target, default 60] [target ...]
#
# The targets are the functions in tests/src/fuzz.rs, shared with the stable mutation tests
# (tests/tests/mutation.rs). Seeds come from the real data at run time (../shared/data, the
# bundled capture, configs, ONNX fixtures, a journal and an archive written by the engine's own
# writers) into tests/fuzz/corpus/<target>/; nothing under corpus/ or artifacts/ is committed.
# Crashing inputs land in tests/fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run --fuzz-dir tests/fuzz --target-dir target/fuzz <target> <file>
# Prints execs, execs/s, corpus size and crashes per target; exits 1 if any target crashed.
set -uo pipefail

secs=${1:-60}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "run.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz || exit 2

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^tickrail-fuzz$')
fi

# Seeds from the real data (stable toolchain, the workspace's normal test build).
TICKRAIL_FUZZ_CORPUS="$here/corpus" cargo test -q -p tickrail-tests --test mutation -- \
    --ignored --exact mutation_seed_corpus_export --nocapture | grep '^corpus' || exit 2

flags=(--fuzz-dir tests/fuzz --target-dir target/fuzz -O --debug-assertions --codegen-units 16)
nice -n 10 cargo +nightly fuzz build "${flags[@]}" || exit 2

crashed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
    before=$(find "$here/artifacts/$t" -type f | wc -l)
    log="$root/target/fuzz/$t.log"
    nice -n 10 cargo +nightly fuzz run "${flags[@]}" "$t" "$here/corpus/$t" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$log" 2>&1
    status=$?
    after=$(find "$here/artifacts/$t" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "$here/corpus/$t" -type f | wc -l)
    new=$((after - before))
    if [ "$status" -ne 0 ] || [ "$new" -gt 0 ]; then
        crashed=1
        grep -m3 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | sed "s/^/  $t: /"
    fi
    summary+=("$(printf '%-20s execs %10s  execs/s %7s  corpus %5s  crashes %s' \
        "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$new")")
done
printf '%s\n' "${summary[@]}"
exit "$crashed"
