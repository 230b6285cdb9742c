#!/usr/bin/env bash
# The test command again and again beside busy loops: how often does the suite pass on a
# machine whose cores are taken? Each run is `bash scripts/test.sh` with LOAD_LOOPS busy
# loops (default 2: both cores of a 2-core machine) started just before it and stopped just
# after; one line per run (exit code, seconds) goes to OUT/results, its output to OUT/log.N.
# Stops after LOAD_RUNS runs (default 20) or when OUT/stop exists; the busy loops never
# outlive the script (stopped on every exit, signals included).
#
#   bash scripts/test-under-load.sh
#
# Environment: LOAD_RUNS, LOAD_LOOPS, LOAD_OUT (default target/test-under-load/<time>).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

RUNS=${LOAD_RUNS:-20}
LOOPS=${LOAD_LOOPS:-2}
OUT=${LOAD_OUT:-target/test-under-load/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

busy=()
suite=
stop_busy() {
    if [ ${#busy[@]} -gt 0 ]; then
        kill "${busy[@]}" 2>/dev/null
        wait "${busy[@]}" 2>/dev/null
    fi
    busy=()
}
# The suite runs in a process group of its own (cargo and the test binaries with it), waited
# for in the background so that a signal is handled at once, not after the suite.
stop_all() {
    stop_busy
    if [ -n "$suite" ]; then
        kill -TERM -- "-$suite" 2>/dev/null
        wait "$suite" 2>/dev/null
    fi
    suite=
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

passed=0
ran=0
for run in $(seq 1 "$RUNS"); do
    [ -e "$OUT/stop" ] && break
    for _ in $(seq 1 "$LOOPS"); do
        sh -c 'while :; do :; done' &
        busy+=($!)
    done
    started=$(date +%s)
    setsid bash scripts/test.sh >"$OUT/log.$run" 2>&1 &
    suite=$!
    wait "$suite"
    code=$?
    suite=
    stop_busy
    ran=$run
    [ "$code" -eq 0 ] && passed=$((passed + 1))
    echo "run $run at $(git rev-parse --short HEAD): exit $code, $(($(date +%s) - started)) s" | tee -a "$OUT/results"
done
echo "test-under-load: $passed of $ran runs passed beside $LOOPS busy loops ($OUT)"
[ "$ran" -gt 0 ] && [ "$passed" -eq "$ran" ]
