# Shared helpers for the ci/ scripts. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CI_DIR/.." && pwd)
# shellcheck source=ci/versions.env
. "$CI_DIR/versions.env"

# Everything downloaded or built lives here, outside the work tree, so a clean clone reuses it.
BIGDATA_CACHE=${BIGDATA_CACHE:-$HOME/.cache/bigdata}
BIN_DIR="$BIGDATA_CACHE/bin"
export GOMODCACHE=${GOMODCACHE:-$BIGDATA_CACHE/go/mod}
export GOCACHE=${GOCACHE:-$BIGDATA_CACHE/go/build}
export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local
mkdir -p "$BIN_DIR"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# phase NAME CMD...: run CMD, then print how long it took (CI reads these lines).
phase() {
  local name=$1; shift
  local start=$SECONDS
  log "phase $name: start"
  "$@"
  log "phase $name: done in $((SECONDS - start))s"
}

# Seconds since epoch with sub-second precision, for step timings.
now() { date +%s.%N; }

# check NAME CMD...: one check of a test script: run CMD, print `ok`/`FAIL`, its name and how long it took, and
# CMD's output (the last 30 lines) when it fails. The caller sets OUT (a scratch file) and passed=0 failed=0.
check() {
  local name=$1 start=$SECONDS
  shift
  if "$@" >"$OUT" 2>&1; then
    passed=$((passed + 1))
    printf 'ok   %-66s %3ss\n' "$name" "$((SECONDS - start))"
  else
    failed=$((failed + 1))
    printf 'FAIL %-66s %3ss\n' "$name" "$((SECONDS - start))"
    sed -e 's/^/     | /' "$OUT" | tail -n 30
    return 1
  fi
}
