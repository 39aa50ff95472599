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

# Terraform's Docker provider (kreuzwerker/docker), for the test that applies a synthesized Docker-host stack
# to a real Docker engine. Terraform cannot download providers here, so it is built from its Go module and
# handed to Terraform through a dev_overrides CLI config. The release the kit pins (3.6.2) is not served by
# the Go module proxy (its tags do not match the module's path), so this is the one version served: a
# development snapshot after 4.6.0, whose container, image and volume schema the kit's JSON also fits
# (docs/v3_v4_migration.md: no attribute the kit writes was removed). The module's go.mod names another path
# than its repository, which `go install` refuses, so it is built with `go build` inside the module copy.
provider_module=github.com/kreuzwerker/terraform-provider-docker
provider_version=$(node -e 'console.log(require(process.argv[1]).terraformProviderDocker)' "$versions_file")
provider_dir="$cache/bin/terraform-provider-docker-$provider_version"
provider_recipe="go-build-in-module-copy/1"
if [ -x "$provider_dir/terraform-provider-docker" ] && [ "$(cat "$provider_dir/.recipe" 2>/dev/null)" = "$provider_recipe" ]; then
  echo "build-upstream: terraform-provider-docker $provider_version cached"
else
  echo "build-upstream: building terraform-provider-docker $provider_version"
  start=$SECONDS
  src=$(go mod download -json "$provider_module@$provider_version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  work=$(mktemp -d "$cache/bin/.build-XXXXXX")
  cp -r "$src/." "$work/src"
  chmod -R u+w "$work/src"
  (cd "$work/src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$work/terraform-provider-docker" .)
  rm -rf "$provider_dir" && mkdir -p "$provider_dir" && mv "$work/terraform-provider-docker" "$provider_dir/" && rm -rf "$work"
  echo "$provider_recipe" > "$provider_dir/.recipe"
  echo "build-upstream: terraform-provider-docker built in $((SECONDS - start))s"
fi
