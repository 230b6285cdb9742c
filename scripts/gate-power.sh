#!/usr/bin/env bash
# How trustworthy is the gate? Repeats paired A/B runs of every scenarios/ci/*.toml:
#   - A/A: the same build against itself; a regression verdict is a false alarm.
#   - A/B: side B with a real slowdown injected (PERF_GATE_SLOWDOWN, default: first_token
#     25ms -> 27.5ms, +10%); a regression verdict is a detection.
# Prints the false-alarm and detection rates per scenario and overall.
#
#   scripts/gate-power.sh [REPEATS]      (default 20; needs target/release/phasebench)
#
# Environment: POWER_OUT (default target/gate-power), PERF_GATE_ROUNDS (default 6),
# PERF_GATE_SLOWDOWN (a --b-set override).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=${1:-20}
OUT=${POWER_OUT:-target/gate-power}
ROUNDS=${PERF_GATE_ROUNDS:-6}
SLOWDOWN=${PERF_GATE_SLOWDOWN:-backend.delays.first_token=27.5ms}
BIN=target/release/phasebench
[ -x "$BIN" ] || { echo "build first: cargo build --release -p phasebench" >&2; exit 3; }
mkdir -p "$OUT"

declare -A alarms detections
started=$(date +%s)
for repeat in $(seq 1 "$REPEATS"); do
    for scenario in scenarios/ci/*.toml; do
        name=$(basename "$scenario" .toml)
        for mode in aa ab; do
            args=(ab "$scenario" --rounds "$ROUNDS" --quiet --comparison-json "$OUT/$name-$mode-$repeat.json")
            [ "$mode" = ab ] && args+=(--b-set "$SLOWDOWN")
            code=0
            "$BIN" "${args[@]}" || code=$?
            if [ "$code" -ge 2 ]; then echo "run failed: $name $mode repeat $repeat (exit $code)" >&2; exit 3; fi
            if [ "$mode" = aa ]; then
                alarms[$name]=$(( ${alarms[$name]:-0} + code ))
            else
                detections[$name]=$(( ${detections[$name]:-0} + code ))
            fi
        done
    done
    echo "repeat $repeat/$REPEATS done ($(( $(date +%s) - started )) s)" >&2
done

total_alarms=0
total_detections=0
count=0
for scenario in scenarios/ci/*.toml; do
    name=$(basename "$scenario" .toml)
    echo "$name: A/A false alarms ${alarms[$name]}/$REPEATS, A/B detections ${detections[$name]}/$REPEATS"
    total_alarms=$(( total_alarms + alarms[$name] ))
    total_detections=$(( total_detections + detections[$name] ))
    count=$(( count + REPEATS ))
done
echo "overall: false-alarm rate $total_alarms/$count, detection rate $total_detections/$count ($SLOWDOWN), $(( $(date +%s) - started )) s"
