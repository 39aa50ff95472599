#!/usr/bin/env bash
# Builds the real upstream programs the tests run (headscale, derper, tailscaled, tailscale) from their Go
# modules, once per machine, into a cache outside the repository:
#   ${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/bin/<tool>-<version>/<tool>
# A warm cache is reused; a version that is already built is skipped. Versions are read from
# model/upstream-versions.json so the tests, the CLI and this script agree on one list.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDKTF_TAILNET_CACHE:-$HOME/.cache/cdktf-tailnet}
if ! command -v go >/dev/null 2>&1; then
  echo "build-upstream: go is not installed; tests that need the real programs will skip" >&2
  exit 0
fi
versions_file="$here/model/upstream-versions.json"
headscale_versions=$(node -e 'const v=require(process.argv[1]);console.log(v.headscale.join(" "))' "$versions_file")
tailscale_version=$(node -e 'const v=require(process.argv[1]);console.log(v.tailscale)' "$versions_file")
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
build() { # tool module-root package-subdir version
  local tool=$1 module_root=$2 subdir=$3 version=$4 dir="$cache/bin/$1-$4"
  if [ -x "$dir/$tool" ]; then echo "build-upstream: $tool $version cached"; return; fi
  echo "build-upstream: building $tool $version"
  local tmp; tmp=$(mktemp -d "$cache/bin/.build-XXXXXX")
  local start=$SECONDS
  # `go install pkg@version` would ask the proxy for the module's version list (to report deprecation),
  # which the proxy here refuses; downloading the exact version and building inside it uses the same
  # go.mod and go.sum, so the binary is the one `go install` would produce.
  local src
  src=$(go mod download -json "$module_root@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  (cd "$src" && go build -trimpath -o "$tmp/$tool" "./$subdir")
  mkdir -p "$dir" && mv "$tmp/$tool" "$dir/$tool" && rmdir "$tmp"
  echo "build-upstream: $tool $version built in $((SECONDS - start))s"
}
mkdir -p "$cache/bin"
for v in $headscale_versions; do build headscale github.com/juanfont/headscale cmd/headscale "$v"; done
for t in derper tailscaled tailscale; do build "$t" tailscale.com "cmd/$t" "$tailscale_version"; done
