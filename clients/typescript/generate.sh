#!/usr/bin/env bash
# Regenerates the TypeScript code for the protos into BASE/clients/typescript/src/gen
# (BASE: the repo root by default, i.e. the committed code). The plugin, ts-proto, comes from
# npm at the version pinned in package-lock.json; buf is the one the Makefile installs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base="${1:-$root}"
mkdir -p "$base"
base="$(cd "$base" && pwd)"   # absolute, since we cd below

buf="${BUF:-$root/build/node/node_modules/.bin/buf}"
if [[ ! -x "$buf" ]]; then
  echo "generate.sh: $buf not found; run 'make bootstrap' first" >&2
  exit 1
fi
export BUF_CACHE_DIR="${BUF_CACHE_DIR:-$root/build/buf-cache}"

"$here/install.sh"

cd "$root"
# The template's paths are relative to the repo root; -o re-roots them under BASE.
"$buf" generate --template clients/typescript/buf.gen.yaml -o "$base"
