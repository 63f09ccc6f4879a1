#!/usr/bin/env bash
# Regenerates the Go code in clients/go/latchworkv1 from protos/.
#   clients/go/generate.sh [BASE]   writes BASE/clients/go/latchworkv1 (BASE: the repo root)
# The plugins are built from the Go module proxy at the versions pinned in tools/go.mod.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
base="${1:-$root}"
buf="${BUF:-$root/build/node/node_modules/.bin/buf}"
export BUF_CACHE_DIR="${BUF_CACHE_DIR:-$root/build/buf-cache}"
tools="$root/build/clients/go-tools"
mkdir -p "$tools"
(cd clients/go/tools && GOFLAGS=-mod=readonly GOBIN="$tools" go install tool)
"$buf" generate --template clients/go/buf.gen.yaml -o "$base"
