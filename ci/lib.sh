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

# build_debug_plugin: $CARGO_TARGET_DIR/debug/helm-bigdata, built as `cargo test --workspace` (the unit and lab
# tests) builds it. `-p helm-bigdata` and a plain `cargo build` each select other features of the dependencies
# (the jobs' serde_json, the tests' tokio test-util), so each would compile the plugin again (25 s in a clean
# clone); this is a no-op after the tests.
build_debug_plugin() {
  cargo test -q --locked --workspace --no-run 2>&1 | { grep -v '^  Executable ' >&2 || true; }
}

# download_checked URL SHA256 FILE: download URL to FILE once (kept when it exists), failing unless its
# sha256 is SHA256 (a partial or wrong download is never left as FILE).
download_checked() {
  local url=$1 sha=$2 file=$3
  [[ -f $file ]] && return 0
  mkdir -p "$(dirname "$file")"
  curl -fsSL --retry 3 -o "$file.part" "$url" || { rm -f "$file.part"; die "failed to download $url"; }
  echo "$sha  $file.part" | sha256sum -c --quiet - >/dev/null 2>&1 \
    || { rm -f "$file.part"; die "failed to verify ${file##*/}: its sha256 is not the pinned $sha (from $url)"; }
  mv "$file.part" "$file"
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

# maven_copy_jars POM DIR LOG -Dprop=value...: copy the runtime dependencies of POM (from Maven Central) into
# DIR, once (DIR/.done). One Maven at a time: every script shares ci/services' local repository and its lock.
maven_copy_jars() {
  local pom=$1 dir=$2 mvn_log=$3 home="$BIGDATA_CACHE/services"
  shift 3
  [[ -f $dir/.done ]] && return 0
  command -v mvn >/dev/null || die "failed to find mvn: install Maven (apt-get install maven)"
  mkdir -p "$home" "$(dirname "$dir")" "$(dirname "$mvn_log")"
  (
    flock 9
    [[ -f $dir/.done ]] && exit 0
    rm -rf "$dir.tmp"
    mvn -B -q -Dmaven.repo.local="$home/m2" -f "$pom" "$@" \
      "org.apache.maven.plugins:maven-dependency-plugin:$SERVICES_MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$dir.tmp" >"$mvn_log" 2>&1 \
      || { tail -n 30 "$mvn_log" >&2; exit 1; }
    rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.done"
  ) 9>"$home/.maven.lock" || die "Maven failed; see $mvn_log"
}

# chart_image_tag CHART: the image tag a chart pins (its values.yaml image.tag), which its stand-in carries.
chart_image_tag() {
  awk '/^image:/ { img = 1; next } img && /^[^ #]/ { img = 0 } img && $1 == "tag:" { gsub(/"/, "", $2); print $2; exit }' \
    "$REPO_ROOT/charts/$1/values.yaml"
}

# lab_spark_example FILE: a charts/spark/examples manifest for the lab's real node: the stand-in image built here
# (ci/images.d/spark, never pulled) instead of apache/spark; nothing else changes.
lab_spark_example() {
  sed -e "s#image: apache/spark:.*#image: bigdata.local/spark:$(chart_image_tag spark)#" \
    -e 's#imagePullPolicy: IfNotPresent#imagePullPolicy: Never#' "$REPO_ROOT/charts/spark/examples/$1"
}
