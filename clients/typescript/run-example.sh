#!/usr/bin/env bash
# Runs the example built by build.sh (no build here). It reads LATCHWORK_ADDRESS, LATCHWORK_USER,
# LATCHWORK_TOKEN and LATCHWORK_TLS_CA from the environment.
set -euo pipefail

script="$(dirname "${BASH_SOURCE[0]}")/dist/examples/dependent-jobs.js"
if [[ ! -f $script ]]; then
  echo "run-example.sh: not built; run clients/typescript/build.sh (or make clients-build) first" >&2
  exit 1
fi
exec node "$script" "$@"
