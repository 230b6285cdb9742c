# shellcheck shell=bash
# Shared by gate-power.sh and sequential-power.sh (sourced, not run): builds the release
# binary when $PHASEBENCH is missing, creates $OUT, and with POWER_LOAD=1 keeps one core busy
# for the whole measurement (as on a shared CI runner), killed on any exit. $1 names the
# caller in messages.

if [ ! -x "$PHASEBENCH" ]; then
    cargo build --release --locked -p phasebench >&2
fi
mkdir -p "$OUT"

HOG=
cleanup() {
    if [ -n "$HOG" ]; then kill "$HOG" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM
if [ "${POWER_LOAD:-0}" = 1 ]; then
    timeout 86400 python3 -c 'while True: pass' &
    HOG=$!
    echo "$1: CPU hog on one core (pid $HOG)" >&2
fi
