#!/usr/bin/env bash
# Runs the example built by build.sh against $LATCHWORK_ADDRESS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
binary="$root/build/clients/go/dependent-jobs"
if [[ ! -x $binary ]]; then
  echo "run-example.sh: not built; run clients/go/build.sh (or make clients-build) first" >&2
  exit 1
fi
exec "$binary" "$@"
