#!/usr/bin/env bash
# Which startup phase got slower between two codex releases? Installs both from npm (into the
# git-ignored .codex-bin/VERSION/) and runs a paired A/B of one scenario: A and B alternate in
# rounds on this machine, so drift hits both alike. Exit code: phasebench's (0 pass, 4 undecided,
# 1 regression in B, 2 invalid input, 3 failure).
#
#   bash scripts/codex-ab.sh 0.168.0 0.169.0 [SCENARIO] [-- extra phasebench ab arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
    echo "usage: $0 VERSION_A VERSION_B [SCENARIO] [-- phasebench ab arguments]" >&2
    exit 2
fi
VERSION_A=$1
VERSION_B=$2
shift 2
SCENARIO=scenarios/codex/ab-versions.toml
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    SCENARIO=$1
    shift
fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then
    shift
fi

# Prints the path of the codex binary of VERSION, installing it first when absent.
install_codex() {
    local version=$1
    local prefix=.codex-bin/$version
    local binary=$prefix/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
    # The installed package says its version; running the binary, even with --version, would
    # write under the user's ~/.codex.
    if [ ! -x "$binary" ] || ! grep -q "\"version\": \"$version\"" "$prefix/node_modules/@openai/codex/package.json" 2>/dev/null; then
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
            "@openai/codex@$version" >&2
    fi
    echo "$PWD/$binary"
}

BIN_A=$(install_codex "$VERSION_A")
BIN_B=$(install_codex "$VERSION_B")
cargo build --release --locked -p phasebench >&2
PHASEBENCH=target/release/phasebench
OUT=results/runs/codex-ab-$VERSION_A-vs-$VERSION_B-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
exec "$PHASEBENCH" ab "$SCENARIO" \
    --a-set "codex.binary=\"$BIN_A\"" --b-set "codex.binary=\"$BIN_B\"" \
    --out-dir "$OUT" --markdown "$OUT/comparison.md" "$@"
