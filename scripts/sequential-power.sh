#!/usr/bin/env bash
# How the sequential A/B (`ab --until-decided`) fares on a scenario: N A/A trials (the same
# build and settings on both sides) and N trials with TTFT p50 shifted on side B (the mock's
# first-token delay raised by POWER_SHIFT of the measured TTFT p50), interleaved so that the
# machine's drift hits both alike. Each trial is one `ab --until-decided`; its exit code is
# its outcome: 1 a regression (a false alarm in A/A, a detection with the shift), 0 a pass
# (in a shifted trial: a miss), 4 undecided at the round or time budget. Anything else stops
# the script.
#
#   bash scripts/sequential-power.sh SCENARIO
#
# Environment: POWER_TRIALS (N, default 10), POWER_AA_TRIALS (A/A trials, default N: fewer
# spends more of the machine's time on detection; they are spread over the shifted ones,
# and any beyond them run after: POWER_TRIALS=0 runs A/A trials only), POWER_SHIFT
# (default 0.05), POWER_METRIC (the TTFT series the shift is a fraction of, default
# turn_ttft; warm.turn_ttft for an app-server scenario), POWER_ROUNDS (the first look,
# default 10), POWER_MAX_ROUNDS (default 40), POWER_MAX_TIME (e.g. 5m; none by
# default), POWER_SET (one extra --set for both sides, e.g. iterations=400), POWER_LOAD=1 (a
# CPU hog on one core for the whole measurement), POWER_OUT (default
# target/sequential-power/<time>), PHASEBENCH (default target/release/phasebench, built when
# missing).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 1 ] || { sed -n '2,21p' "$0" >&2; exit 2; }
SCENARIO=$1
TRIALS=${POWER_TRIALS:-10}
AA_TRIALS=${POWER_AA_TRIALS:-$TRIALS}
SHIFT=${POWER_SHIFT:-0.05}
ROUNDS=${POWER_ROUNDS:-10}
MAX_ROUNDS=${POWER_MAX_ROUNDS:-40}
METRIC=${POWER_METRIC:-turn_ttft}
OUT=${POWER_OUT:-target/sequential-power/$(date -u +%Y%m%dT%H%M%SZ)}
PHASEBENCH=${PHASEBENCH:-target/release/phasebench}
# shellcheck source=scripts/power-setup.sh
source scripts/power-setup.sh sequential-power

common=(--quiet --rounds "$ROUNDS" --until-decided --max-rounds "$MAX_ROUNDS")
if [ -n "${POWER_MAX_TIME:-}" ]; then common+=(--max-time "$POWER_MAX_TIME"); fi
if [ -n "${POWER_SET:-}" ]; then common+=(--set "$POWER_SET"); fi

# The shift: the scenario's constant first_token plus SHIFT of TTFT p50 as one run measures it.
probe_set=()
if [ -n "${POWER_SET:-}" ]; then probe_set=(--set "$POWER_SET"); fi
# Exit 0 or 4 (a budget left unsure) both measured.
"$PHASEBENCH" run "$SCENARIO" -q --json "$OUT/probe.json" "${probe_set[@]}" 2>>"$OUT/stderr.log" || true
[ -s "$OUT/probe.json" ] || { echo "sequential-power: the probe run failed; see $OUT/stderr.log" >&2; exit 3; }
first_token=$(python3 - "$SCENARIO" "$SHIFT" "$OUT/probe.json" "$METRIC" <<'EOF'
import json, sys, tomllib
scenario, shift, probe, metric = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(scenario, "rb") as f:
    first = tomllib.load(f)["backend"]["delays"]["first_token"]
assert isinstance(first, str) and first.endswith("ms"), f"first_token must be a constant in ms, not {first!r}"
with open(probe) as f:
    doc = json.load(f)
p50 = [m["p50_ms"] for m in doc["metrics"] if m["metric"] == metric and m["count"]][0]
print(f"{float(first[:-2]) + shift * p50:.3f}ms")
EOF
)
echo "sequential-power: $SCENARIO: shifted first_token = $first_token (+$SHIFT of $METRIC p50)" >&2

# One trial: its exit code, seconds and round pairs, appended to $OUT/$1.txt.
trial() {
    local kind=$1 n=$2
    shift 2
    local started code=0
    started=$(date +%s%N)
    "$PHASEBENCH" ab "$SCENARIO" "${common[@]}" --out-dir "$OUT/$kind-$n" \
        --comparison-json "$OUT/$kind-$n/comparison.json" "$@" 2>>"$OUT/stderr.log" >/dev/null || code=$?
    case $code in
        0 | 1 | 4) ;;
        *) echo "sequential-power: $kind trial $n failed (exit $code); see $OUT/stderr.log" >&2; exit 3 ;;
    esac
    local seconds rounds
    seconds=$(( ($(date +%s%N) - started) / 1000000000 ))
    rounds=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["current_rounds"])' \
        "$OUT/$kind-$n/comparison.json")
    echo "$code $seconds $rounds" >>"$OUT/$kind.txt"
    echo "sequential-power: $kind $n: exit $code, ${seconds}s, $rounds round pairs" >&2
}

aa_done=0
for n in $(seq 1 "$TRIALS"); do
    # The A/A trials spread evenly: one whenever their share of the trials so far is behind.
    if [ $((aa_done * TRIALS)) -lt $((AA_TRIALS * n)) ]; then
        aa_done=$((aa_done + 1))
        trial aa "$aa_done"
    fi
    trial shift "$n" --b-set "backend.delays.first_token=\"$first_token\""
done
# A/A trials beyond the shifted ones (all of them with POWER_TRIALS=0).
while [ "$aa_done" -lt "$AA_TRIALS" ]; do
    aa_done=$((aa_done + 1))
    trial aa "$aa_done"
done

summarize() {
    [ -s "$OUT/$1.txt" ] || return 0
    awk -v kind="$1" '
        { n++; c[$1]++; s += $2; r += $3; if ($2 > max) max = $2 }
        END {
            printf "%s: %d trials: exit 1 (regressed) %d, exit 0 (pass) %d, exit 4 (undecided) %d; mean %.0f s (max %d s), mean %.1f round pairs\n",
                kind, n, c[1], c[0], c[4], s / n, max, r / n
        }' "$OUT/$1.txt"
}
echo "sequential-power: $SCENARIO, load ${POWER_LOAD:-0}, results in $OUT"
summarize aa
summarize shift
