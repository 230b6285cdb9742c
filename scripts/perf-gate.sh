#!/usr/bin/env bash
# The pull-request performance gate, runnable locally.
#
#   scripts/perf-gate.sh build BASE_SHA HEAD_SHA   build phasebench at both commits
#   scripts/perf-gate.sh compare                   paired A/B of every scenarios/ci/*.toml
#
# `build` puts the binaries at $OUT/bin/phasebench-base and -head (one shared target
# directory, so the second build only recompiles what changed). `compare` runs each CI scenario
# as `phasebench ab` with base as A and head as B, appends the Markdown to $GITHUB_STEP_SUMMARY
# (or $OUT/summary.md), keeps every result file under $OUT/results, and exits 1 when any
# scenario regressed or breached a budget, 3 when a run failed.
#
# The judge is the base's phasebench: it runs `ab`, reads every result file and decides. The
# head's binary is only the target (each of its rounds is `phasebench-head run`), so a change
# under test cannot change how it is judged.
#
# Environment: PERF_GATE_OUT (default target/perf-gate), PERF_GATE_ROUNDS (default 10),
# PERF_GATE_SET (a --set override for both sides, e.g. iterations=60),
# PERF_GATE_B_SET (a --set override for the head side only: injects a slowdown in tests).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${PERF_GATE_OUT:-target/perf-gate}
ROUNDS=${PERF_GATE_ROUNDS:-10}
SUMMARY=${GITHUB_STEP_SUMMARY:-$OUT/summary.md}

usage() {
    sed -n '2,20p' "$0" >&2
    exit 2
}

build() {
    local base=$1 head=$2
    mkdir -p "$OUT/bin"
    for side in base head; do
        local sha=$base
        [ "$side" = head ] && sha=$head
        local tree="$OUT/src-$side"
        rm -rf "$tree"
        git worktree prune
        git worktree add --detach "$tree" "$sha"
        CARGO_TARGET_DIR="$OUT/target" cargo build --release --locked \
            --manifest-path "$tree/Cargo.toml" -p phasebench
        cp "$OUT/target/release/phasebench" "$OUT/bin/phasebench-$side"
        git worktree remove --force "$tree"
    done
}

compare() {
    local base_bin="$OUT/bin/phasebench-base" head_bin="$OUT/bin/phasebench-head"
    for bin in "$base_bin" "$head_bin"; do
        [ -x "$bin" ] || { echo "perf-gate: $bin is missing: run '$0 build BASE HEAD' first" >&2; exit 3; }
    done
    mkdir -p "$OUT/results" "$(dirname "$SUMMARY")"
    local worst=0
    for scenario in scenarios/ci/*.toml; do
        local name
        name=$(basename "$scenario" .toml)
        local args=(ab "$scenario" --a "$base_bin" --b "$head_bin" --rounds "$ROUNDS" --quiet
            --out-dir "$OUT/results/$name"
            --comparison-json "$OUT/results/$name/comparison.json"
            --markdown "$SUMMARY" --append-markdown)
        [ -n "${PERF_GATE_SET:-}" ] && args+=(--set "$PERF_GATE_SET")
        [ -n "${PERF_GATE_B_SET:-}" ] && args+=(--b-set "$PERF_GATE_B_SET")
        echo "perf-gate: $name" >&2
        local code=0
        "$base_bin" "${args[@]}" || code=$?
        case $code in
            0) ;;
            1) echo "perf-gate: $name regressed or breached a budget" >&2 ;;
            *) echo "perf-gate: $name failed to run (exit $code)" >&2 ;;
        esac
        # Severity: a run failure (2, 3) outranks a regression (1).
        if [ "$code" -ge 2 ]; then worst=3; elif [ "$code" -eq 1 ] && [ "$worst" -lt 1 ]; then worst=1; fi
    done
    echo "perf-gate: summary in $SUMMARY, results in $OUT/results" >&2
    exit "$worst"
}

case "${1:-}" in
    build) [ $# -eq 3 ] || usage; build "$2" "$3" ;;
    compare) [ $# -eq 1 ] || usage; compare ;;
    *) usage ;;
esac
