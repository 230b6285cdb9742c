#!/usr/bin/env bash
# The pull-request performance gate, runnable locally.
#
#   scripts/perf-gate.sh build BASE_SHA HEAD_SHA   build phasebench at both commits
#   scripts/perf-gate.sh compare                   paired A/B of every scenarios/ci/*.toml
#   scripts/perf-gate.sh shard K N                 round pairs K, K+N, … of each, unjudged
#   scripts/perf-gate.sh judge SHARD_DIR...        gather N shards' rounds and judge them
#
# `build` puts the binaries at $OUT/bin/phasebench-base and -head (one shared target
# directory, so the second build only recompiles what changed). `compare` runs each CI scenario
# as `phasebench ab` with base as A and head as B, appends the Markdown to $GITHUB_STEP_SUMMARY
# (or $OUT/summary.md), keeps every result file under $OUT/results, and exits 1 when any
# scenario regressed or breached a budget, 4 when one was undecided (the gate could not judge
# it: not a pass), 3 when a run failed.
#
# The judge is the base's phasebench: it runs `ab`, reads every result file and decides. The
# head's binary is only the target (each of its rounds is `phasebench-head run`), so a change
# under test cannot change how it is judged.
#
# `shard` and `judge` spread `compare` over a CI matrix (.github/workflows/perf-gate-matrix.yml):
# each of N runners runs its share of every scenario's round pairs (numbered as in the whole
# run) into $OUT/shards/<scenario>/, and the judge gathers the N runners' shard directories
# into $OUT/results/<scenario>/ (refusing a round twice or a round missing) and judges them as
# `compare` would have judged the same rounds on one machine.
#
# Environment: PERF_GATE_OUT (default target/perf-gate), PERF_GATE_ROUNDS (default 10; for
# `compare` the first look), PERF_GATE_MAX_ROUNDS (default 30, `compare` only),
# PERF_GATE_SET (a --set override for both sides, e.g. iterations=60),
# PERF_GATE_B_SET (a --set override for the head side only: injects a slowdown in tests).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${PERF_GATE_OUT:-target/perf-gate}
ROUNDS=${PERF_GATE_ROUNDS:-10}
# `compare` adds round pairs (sequential looks whose intervals share the error budget) until
# every primary row is decided, up to this many; a scenario still undecided then is not passed.
MAX_ROUNDS=${PERF_GATE_MAX_ROUNDS:-30}
SUMMARY=${GITHUB_STEP_SUMMARY:-$OUT/summary.md}

usage() {
    sed -n '2,30p' "$0" >&2
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

binaries() {
    for bin in "$OUT/bin/phasebench-base" "$OUT/bin/phasebench-head"; do
        [ -x "$bin" ] || { echo "perf-gate: $bin is missing: run '$0 build BASE HEAD' first" >&2; exit 3; }
    done
}

# Says how scenario $1 fared (exit code $2) and keeps the worst in $worst: a run or judging
# failure (2, 3) outranks a regression (1), which outranks an undecided comparison (4: the
# gate could not judge every primary statistic, which is not a pass).
judged() {
    local rank
    case $2 in
        0) rank=0 ;;
        4)
            rank=1
            echo "perf-gate: $1 is UNDECIDED: the gate could not judge it, which is not a pass" >&2
            printf '\n> **perf-gate: %s is undecided.** The gate could not judge every primary statistic (reasons above), so the change is not passed. Re-run the job, or give it more rounds (PERF_GATE_MAX_ROUNDS).\n\n' "$1" >>"$SUMMARY"
            ;;
        1)
            rank=2
            echo "perf-gate: $1 regressed or breached a budget" >&2
            ;;
        *)
            rank=3
            echo "perf-gate: $1 failed to run or be judged (exit $2)" >&2
            ;;
    esac
    if [ "$rank" -gt "$worst_rank" ]; then
        worst_rank=$rank
        case $rank in 1) worst=4 ;; 2) worst=1 ;; 3) worst=3 ;; esac
    fi
}

# The overrides `compare`, `shard` and `judge` give phasebench: the same design on every runner.
set_args() {
    args=()
    if [ -n "${PERF_GATE_SET:-}" ]; then args+=(--set "$PERF_GATE_SET"); fi
    if [ -n "${PERF_GATE_B_SET:-}" ]; then args+=(--b-set "$PERF_GATE_B_SET"); fi
}

compare() {
    binaries
    local base_bin="$OUT/bin/phasebench-base" head_bin="$OUT/bin/phasebench-head"
    mkdir -p "$OUT/results" "$(dirname "$SUMMARY")"
    set_args
    local worst=0 worst_rank=0
    for scenario in scenarios/ci/*.toml; do
        local name
        name=$(basename "$scenario" .toml)
        echo "perf-gate: $name" >&2
        local code=0
        "$base_bin" ab "$scenario" --a "$base_bin" --b "$head_bin" --rounds "$ROUNDS" --quiet \
            --until-decided --max-rounds "$MAX_ROUNDS" --out-dir "$OUT/results/$name" \
            --comparison-json "$OUT/results/$name/comparison.json" \
            --markdown "$SUMMARY" --append-markdown "${args[@]}" || code=$?
        judged "$name" "$code"
    done
    echo "perf-gate: summary in $SUMMARY, results in $OUT/results" >&2
    exit "$worst"
}


shard() {
    local k=$1 n=$2
    binaries
    local base_bin="$OUT/bin/phasebench-base" head_bin="$OUT/bin/phasebench-head"
    mkdir -p "$OUT/shards"
    set_args
    for scenario in scenarios/ci/*.toml; do
        local name
        name=$(basename "$scenario" .toml)
        echo "perf-gate: $name, shard $k/$n" >&2
        local code=0
        "$base_bin" ab "$scenario" --a "$base_bin" --b "$head_bin" --rounds "$ROUNDS" --quiet \
            --shard "$k/$n" --out-dir "$OUT/shards/$name" "${args[@]}" || code=$?
        if [ "$code" -ne 0 ]; then
            echo "perf-gate: $name shard $k/$n failed to run (exit $code)" >&2
            exit 3
        fi
    done
}

judge() {
    binaries
    local base_bin="$OUT/bin/phasebench-base"
    mkdir -p "$OUT/results" "$(dirname "$SUMMARY")"
    set_args
    local worst=0 worst_rank=0
    for scenario in scenarios/ci/*.toml; do
        local name
        name=$(basename "$scenario" .toml)
        local gathered="$OUT/results/$name"
        rm -rf "$gathered"
        mkdir -p "$gathered"
        # Gather: every round file once; a round in two shards, or missing, is refused.
        local shard_dir file
        for shard_dir in "$@"; do
            for file in "$shard_dir/$name"/[ab]-round*.json; do
                [ -e "$file" ] || continue
                if [ -e "$gathered/$(basename "$file")" ]; then
                    echo "perf-gate: $name: $(basename "$file") is in two shards" >&2
                    exit 2
                fi
                cp "$file" "$gathered/"
            done
        done
        local round side
        for round in $(seq 1 "$ROUNDS"); do
            for side in a b; do
                file=$(printf '%s/%s-round%02d.json' "$gathered" "$side" "$round")
                if [ ! -e "$file" ]; then
                    echo "perf-gate: $name: $(basename "$file") is missing (a shard did not finish or was not gathered)" >&2
                    exit 3
                fi
            done
        done
        echo "perf-gate: judging $name ($ROUNDS rounds from $# shards)" >&2
        local code=0
        "$base_bin" ab "$scenario" --rounds "$ROUNDS" --quiet --rejudge "$gathered" \
            --comparison-json "$gathered/comparison.json" \
            --markdown "$SUMMARY" --append-markdown "${args[@]}" || code=$?
        judged "$name" "$code"
    done
    echo "perf-gate: summary in $SUMMARY, results in $OUT/results" >&2
    exit "$worst"
}

case "${1:-}" in
    build) [ $# -eq 3 ] || usage; build "$2" "$3" ;;
    compare) [ $# -eq 1 ] || usage; compare ;;
    shard) [ $# -eq 3 ] || usage; shard "$2" "$3" ;;
    judge) [ $# -ge 2 ] || usage; shift; judge "$@" ;;
    *) usage ;;
esac
