#!/usr/bin/env bash
# Builds the real upstream programs the tests run (headscale, derper, tailscaled, tailscale) from their Go
# modules, once per machine, into a cache outside the repository:
#   ${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/bin/<tool>-<version>/<tool>
# A warm cache is reused; a version that is already built (with this recipe) is skipped. Versions are read
# from model/upstream-versions.json so the tests, the CLI and this script agree on one list.
#
# How: `go install module/cmd/tool@version`, exactly as upstream documents, so the binary reports its real
# release (headscale's upgrade-path check, for one, is skipped by unversioned "dev" builds). The Go module
# proxy here refuses to list versions, which `go install pkg@version` asks for, so each module version is
# first downloaded (and verified against the checksum database) with `go mod download`, then installed
# from the module cache used as a file:// proxy; GOSUMDB is off only for that offline step, whose inputs
# were verified on download and whose dependencies are checked against the module's own go.sum.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDKTF_TAILNET_CACHE:-$HOME/.cache/cdktf-tailnet}
recipe="go-install-from-module-cache/1"
if ! command -v go >/dev/null 2>&1; then
  echo "build-upstream: go is not installed; tests that need the real programs will skip" >&2
  exit 0
fi
versions_file="$here/model/upstream-versions.json"
headscale_versions=$(node -e 'const v=require(process.argv[1]);console.log(v.headscale.join(" "))' "$versions_file")
tailscale_version=$(node -e 'const v=require(process.argv[1]);console.log(v.tailscale)' "$versions_file")
modcache=$(go env GOMODCACHE)
export CGO_ENABLED=0

build() { # tool module package version
  local tool=$1 module=$2 package=$3 version=$4 dir="$cache/bin/$1-$4"
  if [ -x "$dir/$tool" ] && [ "$(cat "$dir/.recipe" 2>/dev/null)" = "$recipe" ]; then
    echo "build-upstream: $tool $version cached"
    return
  fi
  echo "build-upstream: building $tool $version"
  local start=$SECONDS tmp
  go mod download "$module@$version"
  tmp=$(mktemp -d "$cache/bin/.build-XXXXXX")
  GOPROXY="file://$modcache/cache/download" GOSUMDB=off GOFLAGS=-buildvcs=false GOBIN="$tmp" \
    go install -trimpath "$package@$version"
  rm -rf "$dir" && mkdir -p "$dir" && mv "$tmp/$tool" "$dir/$tool" && rmdir "$tmp"
  echo "$recipe" > "$dir/.recipe"
  echo "build-upstream: $tool $version built in $((SECONDS - start))s"
}
mkdir -p "$cache/bin"
for v in $headscale_versions; do build headscale github.com/juanfont/headscale github.com/juanfont/headscale/cmd/headscale "$v"; done
for t in derper tailscaled tailscale; do build "$t" tailscale.com "tailscale.com/cmd/$t" "$tailscale_version"; done
