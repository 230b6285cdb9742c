#!/usr/bin/env bash
# How far to trust the gate: false alarms (the same build judged against itself) and detection
# of a real +5% shift of TTFT p50 (injected in the mock's first-token delay), for both ways
# phasebench judges:
#
#   stored baseline  M runs of a scenario; run i is compared with a history of the H runs
#                    before it (M - H comparisons from M runs); then K runs with the shift,
#                    each compared with the newest history.
#   ab               N paired A/B runs of the same build (A/A) and N with the shift on B.
#
# A comparison that exits 1 is a false alarm (A/A) or a detection (shift); 4 (undecided) is
# neither and is counted apart; anything else but 0 is a failure of the run and stops the
# script. For the sequential A/B see scripts/sequential-power.sh.
#
#   bash scripts/gate-power.sh [SCENARIO...]      default: scenarios/ci/*.toml
#
# Environment: POWER_RUNS (M, default 40), POWER_HISTORY (H, default 10), POWER_DETECT (K,
# default 20), POWER_AB (N, default 10), POWER_AB_ROUNDS (default 10), POWER_SHIFT (default 0.05), POWER_LOAD=1 (a CPU hog on
# one core for the whole measurement), POWER_OUT (default target/gate-power/<time>),
# PHASEBENCH (default target/release/phasebench, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${POWER_RUNS:-40}
HISTORY=${POWER_HISTORY:-10}
DETECT=${POWER_DETECT:-20}
AB=${POWER_AB:-10}
AB_ROUNDS=${POWER_AB_ROUNDS:-10}
SHIFT=${POWER_SHIFT:-0.05}
OUT=${POWER_OUT:-target/gate-power/$(date -u +%Y%m%dT%H%M%SZ)}
PHASEBENCH=${PHASEBENCH:-target/release/phasebench}
if [ "$RUNS" -le "$HISTORY" ]; then
    echo "gate-power: POWER_RUNS ($RUNS) must exceed POWER_HISTORY ($HISTORY)" >&2
    exit 2
fi
# shellcheck source=scripts/power-setup.sh
source scripts/power-setup.sh gate-power

# The first-token delay that moves the runs' mean TTFT p50 by SHIFT: read the scenario's
# first_token (a constant) and the A/A runs' TTFT p50.
shifted_first_token() {
    python3 - "$1" "$SHIFT" "${@:2}" <<'EOF'
import json, sys, tomllib
scenario, shift, results = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
with open(scenario, "rb") as f:
    first = tomllib.load(f)["backend"]["delays"]["first_token"]
assert first.endswith("ms"), f"first_token must be a constant in ms, not {first!r}"
p50s = []
for path in results:
    with open(path) as f:
        doc = json.load(f)
    p50s += [m["p50_ms"] for m in doc["metrics"] if m["metric"] == "turn_ttft" and m["count"]]
ttft = sum(p50s) / len(p50s)
print(f"{float(first[:-2]) + shift * ttft:.3f}ms")
EOF
}

# Runs a comparison: returns 1 when it exited 1 (a hit: false alarm or detection), 0 when it
# passed; any other exit stops the script. Appends its milliseconds to $OUT/ms-$1.txt.
judge() {
    local kind=$1
    shift
    local started code=0
    started=$(date +%s%N)
    "$@" >/dev/null 2>>"$OUT/stderr.log" || code=$?
    echo $((($(date +%s%N) - started) / 1000000)) >>"$OUT/ms-$kind.txt"
    case $code in
        0) return 0 ;;
        1) return 1 ;;
        # Undecided: neither a false alarm nor a detection; counted in $OUT/undecided-$1.txt.
        4) echo "$*" >>"$OUT/undecided-$kind.txt"; return 0 ;;
        *) echo "gate-power: '$*' failed (exit $code); see $OUT/stderr.log" >&2; exit 3 ;;
    esac
}

# A run that measured: exit 1 (a budget breached) or 4 (a budget unsure) still wrote its file.
measured() {
    [ "$1" -eq 1 ] || [ "$1" -eq 4 ]
}

median() {
    sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
    scenarios=(scenarios/ci/startup-websocket.toml scenarios/ci/startup-http.toml)
fi
summary=()
for s in "${scenarios[@]}"; do
    name=$(basename "$s" .toml)
    dir="$OUT/$name"
    mkdir -p "$dir"
    echo "gate-power: $name: $RUNS runs" >&2
    runs=()
    for i in $(seq 1 "$RUNS"); do
        started=$(date +%s%N)
        "$PHASEBENCH" run "$s" -q --json "$dir/aa-$i.json" 2>>"$OUT/stderr.log" || measured $?
        echo $((($(date +%s%N) - started) / 1000000)) >>"$dir/run-ms.txt"
        runs+=("$dir/aa-$i.json")
    done
    false_alarms=0
    comparisons=0
    for i in $(seq $((HISTORY + 1)) "$RUNS"); do
        history=("${runs[@]:$((i - HISTORY - 1)):$HISTORY}")
        "$PHASEBENCH" baseline save "${history[@]}" --dir "$dir/histories" --name "h$i" \
            --keep "$HISTORY" >/dev/null
        judge "$name-history-aa" "$PHASEBENCH" compare -q "$dir/aa-$i.json" \
            "$dir/histories/h$i.json" || false_alarms=$((false_alarms + 1))
        comparisons=$((comparisons + 1))
    done
    newest="$dir/histories/h$RUNS.json"
    first_token=$(shifted_first_token "$s" "${runs[@]}")
    echo "gate-power: $name: $DETECT runs with first_token = $first_token (+$SHIFT of TTFT p50)" >&2
    detections=0
    for j in $(seq 1 "$DETECT"); do
        "$PHASEBENCH" run "$s" -q --set "backend.delays.first_token=\"$first_token\"" \
            --json "$dir/shift-$j.json" 2>>"$OUT/stderr.log" || measured $?
        judge "$name-history-shift" "$PHASEBENCH" compare -q --allow-mismatch \
            "$dir/shift-$j.json" "$newest" || detections=$((detections + 1))
    done
    ab_false=0
    ab_detect=0
    for j in $(seq 1 "$AB"); do
        echo "gate-power: $name: ab pair $j/$AB" >&2
        judge "$name-ab-aa" "$PHASEBENCH" ab "$s" --quiet --rounds "$AB_ROUNDS" --out-dir "$dir/ab-aa-$j" ||
            ab_false=$((ab_false + 1))
        judge "$name-ab-shift" "$PHASEBENCH" ab "$s" --quiet --rounds "$AB_ROUNDS" --out-dir "$dir/ab-shift-$j" \
            --b-set "backend.delays.first_token=\"$first_token\"" || ab_detect=$((ab_detect + 1))
    done
    line="$name: stored baseline (history of $HISTORY runs): false alarms $false_alarms/$comparisons, detections $detections/$DETECT, median run $(median "$dir/run-ms.txt") ms"
    if [ "$AB" -gt 0 ]; then
        line="$line; ab: false alarms $ab_false/$AB, detections $ab_detect/$AB, median ab $(median "$OUT/ms-$name-ab-aa.txt") ms"
    fi
    echo "gate-power: $line" >&2
    summary+=("$line")
done
echo "gate-power: results in $OUT (load: ${POWER_LOAD:-0})"
for line in "${summary[@]}"; do
    echo "$line"
done
