#!/usr/bin/env bash
# The reliability battery at full scale, one command:
#
#   bash tools/battery/run.sh                 # every part (1–2 hours on 2 cores)
#   bash tools/battery/run.sh --only kill_9 disk_full
#   bash tools/battery/run.sh --fuzz 300      # also each fuzz target for 300 s (nightly toolchain)
#   bash tools/battery/run.sh --soak 1h       # also a soak of that length (48h for the long one)
#
# Each part is an ordinary test run with TICKRAIL_BATTERY=full, which makes it use the counts of
# tests/RELIABILITY.md instead of the CI-sized ones (the same tests run small on every commit).
# Builds with optimisations (thin LTO, in target/battery-build), writes every log to
# target/battery/logs/, every figure to target/battery/figures/<name>.json, and the table of
# figures to target/battery/SUMMARY.md. Exits non-zero when any part failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT=target/battery
FUZZ_SECONDS=0
SOAK=""
ONLY=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --fuzz) FUZZ_SECONDS="$2"; shift 2 ;;
        --soak) SOAK="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --only) shift; while [[ $# -gt 0 && "$1" != --* ]]; do ONLY+=("$1"); shift; done ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "battery: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

# name | cargo arguments | test-binary arguments
PARTS=(
    "mutation|-p tickrail-tests --test mutation|"
    "malformed_replay|-p tickrail-tests --test malformed_replay|"
    "slow_consumer|-p tickrail-tests --test slow_consumer|"
    "feed_disconnects|-p tickrail-tests --test feed_faults|"
    "plugin_swaps|-p tickrail-tests --test plugin_swap_load|"
    "plugin_refusals|-p tickrail-tests --test plugin_refusals|"
    "kill_9|-p tickrail-tests --test trading|kill_9"
    "disk_full|-p tickrail-tests --test disk_full|"
    "secrets|-p tickrail-engine --test secrets_cli|"
    "alloc|--workspace|alloc"
)

wanted() {
    [[ ${#ONLY[@]} -eq 0 ]] && return 0
    local n
    for n in "${ONLY[@]}"; do [[ "$n" == "$1" ]] && return 0; done
    return 1
}

export TICKRAIL_BATTERY=full
export CARGO_PROFILE_RELEASE_LTO=thin
# Its own target directory by default (optimised test builds); CARGO_TARGET_DIR overrides it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/battery-build}
mkdir -p "$OUT/logs" "$OUT/figures"
export TICKRAIL_BATTERY_OUT="$PWD/$OUT/figures"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"
failed=0

for part in "${PARTS[@]}"; do
    IFS='|' read -r name cargo_args test_args <<< "$part"
    wanted "$name" || continue
    log="$OUT/logs/$name.log"
    echo "== $name"
    start=$(date +%s)
    # shellcheck disable=SC2086 # the argument lists are meant to split
    if cargo test --release $cargo_args -- --nocapture --test-threads 1 $test_args > "$log" 2>&1; then
        verdict=pass
    else
        verdict=FAIL
        failed=1
    fi
    secs=$(( $(date +%s) - start ))
    printf '%s\t%s\t%s\t%s\n' "$name" "$verdict" "$secs" "$log" >> "$RESULTS"
    echo "   $verdict in ${secs} s ($log)"
done

if [[ "$FUZZ_SECONDS" -gt 0 ]] && wanted fuzz; then
    echo "== fuzz (${FUZZ_SECONDS} s per target)"
    start=$(date +%s)
    if bash tests/fuzz/run.sh "$FUZZ_SECONDS" > "$OUT/logs/fuzz.log" 2>&1; then verdict=pass; else verdict=FAIL; failed=1; fi
    printf '%s\t%s\t%s\t%s\n' fuzz "$verdict" $(( $(date +%s) - start )) "$OUT/logs/fuzz.log" >> "$RESULTS"
    echo "   $verdict"
fi

if [[ -n "$SOAK" ]]; then
    echo "== soak ($SOAK)"
    cargo build --release -p tickrail-engine --bin tickrail > "$OUT/logs/soak-build.log" 2>&1 || failed=1
    start=$(date +%s)
    if python3 tools/soak/soak.py --binary "$CARGO_TARGET_DIR/release/tickrail" --duration "$SOAK" \
        --speed 10 --drop-every 200000 --skip-on-reconnect 50 --out "$OUT/soak" \
        > "$OUT/logs/soak.log" 2>&1; then verdict=pass; else verdict=FAIL; failed=1; fi
    printf '%s\t%s\t%s\t%s\n' soak "$verdict" $(( $(date +%s) - start )) "$OUT/logs/soak.log" >> "$RESULTS"
    [[ -f "$OUT/soak/summary.json" ]] && cp "$OUT/soak/summary.json" "$OUT/figures/soak.json"
    echo "   $verdict"
fi

python3 tools/battery/summary.py "$RESULTS" "$OUT/figures" > "$OUT/SUMMARY.md"
cat "$OUT/SUMMARY.md"
exit "$failed"
