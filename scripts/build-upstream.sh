#!/usr/bin/env bash
# Builds the real upstream programs the tests run (headscale, derper, tailscaled, tailscale, shfmt, and
# Terraform's Docker provider) from their Go modules, once per machine, into a cache outside the repository:
#   ${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/bin/<tool>-<version>/<tool>
# Versions come from model/upstream-versions.json, so the tests, the CLI and this script agree on one list.
# A tool already built with this recipe is skipped, so a warm cache costs nothing.
#
# Works from empty GOMODCACHE, GOCACHE and CDKTF_TAILNET_CACHE. For each module version:
#   1. fetch: `go mod download module@version` (checked against the checksum database), then, in a writable
#      copy of the module, `go list -deps <packages>` with -mod=readonly: Go downloads exactly the
#      dependencies those packages need, each checked against the module's own go.sum (a dependency missing
#      from it is an error, not a silent lookup).
#   2. build: `go install package@version` from the module cache used as a file:// proxy, exactly as
#      upstream documents, so the binary reports its real release (headscale's upgrade-path check reads it;
#      an unversioned "(devel)" build skips that check). The proxy here refuses to list versions, which
#      `go install pkg@version` asks for (module deprecation); the file:// proxy answers it. GOSUMDB is off
#      only for this offline step, whose every input was verified in step 1.
# A build happens in a .build-* folder that is removed on exit, whatever the outcome; a tool's folder
# appears only complete (renamed into place). One build runs at a time (a lock in the cache).
#
#   --check-fetch   CI's guard of the fresh-machine path: runs step 1 for the default headscale with an
#                   empty, temporary GOMODCACHE, then resolves step 2 offline without compiling
#                   (`go install -n`); fails when the fetch step leaves anything out. Removes what it made.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDKTF_TAILNET_CACHE:-$HOME/.cache/cdktf-tailnet}
recipe="fetch-deps-then-install/2"
if ! command -v go >/dev/null 2>&1; then
  echo "build-upstream: go is not installed; tests that need the real programs will skip" >&2
  exit 0
fi
versions_file=${CDKTF_TAILNET_VERSIONS:-$here/model/upstream-versions.json} # (another list: for the script's own test)
versions() { node -e 'const v=require(process.argv[1]);const x=v[process.argv[2]];console.log([].concat(x).join(" "))' "$versions_file" "$1"; }
headscale_versions=$(versions headscale)
tailscale_version=$(versions tailscale)
provider_version=$(versions terraformProviderDocker)
export CGO_ENABLED=0
# Our own flags, whatever the caller's GOFLAGS holds: no VCS stamping (module copies have no VCS) and
# never rewrite a go.mod or go.sum.
export GOFLAGS="-buildvcs=false -mod=readonly"

mkdir -p "$cache/bin"
exec 9>"$cache/bin/.lock"
if ! flock -n 9; then
  echo "build-upstream: another build is running (lock $cache/bin/.lock); waiting for it" >&2
  flock 9
fi
# Under the lock, any .build-* folder is a leftover of a build that was killed: remove it.
remove_tree() { [ -e "$1" ] && chmod -R u+w "$1" 2>/dev/null; rm -rf "$1"; }
for stale in "$cache/bin"/.build-*; do [ -e "$stale" ] && remove_tree "$stale"; done
scratch=()
cleanup() { for d in "${scratch[@]}"; do remove_tree "$d"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# new_scratch: a fresh .build-* folder in $scratch_dir (not a subshell, so cleanup knows of it).
new_scratch() { scratch_dir=$(mktemp -d "$cache/bin/.build-XXXXXX"); scratch+=("$scratch_dir"); }

# module_dir MODULE VERSION: downloads the module (checksum database) and prints its folder in the cache.
module_dir() {
  go mod download -json "$1@$2" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})'
}

# fetch WORK MODULE VERSION PACKAGE...: step 1; leaves a writable copy of the module in WORK/src.
fetch() {
  local work=$1 module=$2 version=$3; shift 3
  local src
  src=$(module_dir "$module" "$version")
  cp -r "$src/." "$work/src"
  chmod -R u+w "$work/src"
  (cd "$work/src" && go list -deps "$@" >/dev/null)
}

# install_from_cache GOBIN PACKAGE@VERSION...: step 2, offline, from the verified module cache.
install_from_cache() {
  local gobin=$1; shift
  GOPROXY="file://$(go env GOMODCACHE)/cache/download" GOSUMDB=off GOBIN="$gobin" go install -trimpath "$@"
}

built() { [ -x "$cache/bin/$1-$2/$1" ] && [ "$(cat "$cache/bin/$1-$2/.recipe" 2>/dev/null)" = "$3" ]; }

# place TOOL VERSION FILE RECIPE: moves a finished binary into its folder, which appears complete or not at all.
place() {
  local tool=$1 version=$2 file=$3 rec=$4 stage
  new_scratch; stage=$scratch_dir
  mv "$file" "$stage/$tool"
  echo "$rec" > "$stage/.recipe"
  chmod 755 "$stage"
  remove_tree "$cache/bin/$tool-$version"
  mv "$stage" "$cache/bin/$tool-$version"
}

# build_module MODULE VERSION TOOL...: builds the tools (cmd/<tool> of the module) in one go install.
build_module() {
  local module=$1 version=$2; shift 2
  local tools=() t
  for t in "$@"; do built "$t" "$version" "$recipe" || tools+=("$t"); done
  if [ ${#tools[@]} -eq 0 ]; then
    echo "build-upstream: $* $version cached"
    return
  fi
  echo "build-upstream: building ${tools[*]} $version"
  local start=$SECONDS work pkgs=() specs=()
  new_scratch; work=$scratch_dir
  for t in "${tools[@]}"; do pkgs+=("$module/cmd/$t"); specs+=("$module/cmd/$t@$version"); done
  fetch "$work" "$module" "$version" "${pkgs[@]}"
  echo "build-upstream: fetched ${tools[*]} $version and their dependencies in $((SECONDS - start))s"
  mkdir "$work/bin"
  install_from_cache "$work/bin" "${specs[@]}"
  for t in "${tools[@]}"; do place "$t" "$version" "$work/bin/$t" "$recipe"; done
  remove_tree "$work"
  echo "build-upstream: ${tools[*]} $version built in $((SECONDS - start))s"
}

if [ "${1:-}" = "--check-fetch" ]; then
  version=${headscale_versions##* }
  new_scratch; tmp=$scratch_dir
  export GOMODCACHE="$tmp/mod" GOCACHE="$tmp/gocache"
  echo "build-upstream: checking the fetch step from an empty module cache (headscale $version)"
  fetch "$tmp" github.com/juanfont/headscale "$version" github.com/juanfont/headscale/cmd/headscale
  install_from_cache "$tmp/bin" -n "github.com/juanfont/headscale/cmd/headscale@$version" 2>/dev/null
  echo "build-upstream: the fetch step downloads everything headscale $version needs ($(du -sh "$GOMODCACHE" | cut -f1) fetched)"
  exit 0
fi

for v in $headscale_versions; do build_module github.com/juanfont/headscale "$v" headscale; done
build_module tailscale.com "$tailscale_version" derper tailscaled tailscale
# shfmt, the shell parser the injection fuzzer (test/fuzz/) reads rendered scripts with (--to-json).
build_module mvdan.cc/sh/v3 "$(versions shfmt)" shfmt

# Terraform's Docker provider (kreuzwerker/docker), for the test that applies a synthesized Docker-host stack
# to a real Docker engine. Terraform cannot download providers here, so it is built from its Go module and
# handed to Terraform through a dev_overrides CLI config. The release the kit pins (3.6.2) is not served by
# the Go module proxy (its tags do not match the module's path), so this is the one version served: a
# development snapshot after 4.6.0, whose container, image and volume schema the kit's JSON also fits
# (docs/v3_v4_migration.md: no attribute the kit writes was removed). Its go.mod names another path than
# its repository, which `go install` refuses, so it is built with `go build` inside the module copy (the
# provider reports no version of its own, so nothing is lost).
provider_module=github.com/kreuzwerker/terraform-provider-docker
provider_recipe="fetch-deps-then-build-in-copy/2"
if built terraform-provider-docker "$provider_version" "$provider_recipe"; then
  echo "build-upstream: terraform-provider-docker $provider_version cached"
else
  echo "build-upstream: building terraform-provider-docker $provider_version"
  start=$SECONDS
  new_scratch; work=$scratch_dir
  fetch "$work" "$provider_module" "$provider_version" .
  (cd "$work/src" && go build -trimpath -o "$work/terraform-provider-docker" .)
  place terraform-provider-docker "$provider_version" "$work/terraform-provider-docker" "$provider_recipe"
  remove_tree "$work"
  echo "build-upstream: terraform-provider-docker built in $((SECONDS - start))s"
fi
