#!/usr/bin/env sh
# Places the helm-bigdata binary at $HELM_PLUGIN_DIR/bin/helm-bigdata, run by helm on
# `helm plugin install` and `helm plugin update`:
#   - HELM_BIGDATA_BINARY=/path/to/helm-bigdata: copy that binary (a release download, a CI build);
#   - otherwise build it with cargo from the checkout the plugin directory belongs to.
set -eu
dir=${HELM_PLUGIN_DIR:?helm sets HELM_PLUGIN_DIR}
mkdir -p "$dir/bin"
if [ -n "${HELM_BIGDATA_BINARY:-}" ]; then
  [ -x "$HELM_BIGDATA_BINARY" ] || { echo "error: HELM_BIGDATA_BINARY=$HELM_BIGDATA_BINARY is not an executable file" >&2; exit 1; }
  cp "$HELM_BIGDATA_BINARY" "$dir/bin/helm-bigdata.new"
else
  root=$(cd "$dir/.." && pwd -P)
  [ -f "$root/Cargo.toml" ] || { echo "error: no Cargo.toml in $root: set HELM_BIGDATA_BINARY to a built helm-bigdata" >&2; exit 1; }
  command -v cargo >/dev/null || { echo "error: cargo is needed to build helm-bigdata (or set HELM_BIGDATA_BINARY)" >&2; exit 1; }
  echo "building helm-bigdata (cargo build --release) ..."
  (cd "$root" && cargo build --release --locked -p helm-bigdata)
  target=${CARGO_TARGET_DIR:-$root/target}
  cp "$target/release/helm-bigdata" "$dir/bin/helm-bigdata.new"
fi
mv "$dir/bin/helm-bigdata.new" "$dir/bin/helm-bigdata"
echo "helm-bigdata installed: $("$dir/bin/helm-bigdata" --version)"
