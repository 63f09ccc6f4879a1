#!/usr/bin/env bash
# Runs the example built by build.sh (no build here). It reads LATCHWORK_ADDRESS, LATCHWORK_USER,
# LATCHWORK_TOKEN and LATCHWORK_TLS_CA from the environment.
set -euo pipefail

example=dependent-jobs   # or invalid-request: run-example.sh [NAME] [args...]
case ${1:-} in dependent-jobs | invalid-request) example=$1; shift ;; esac
script="$(dirname "${BASH_SOURCE[0]}")/dist/examples/$example.js"
if [[ ! -f $script ]]; then
  echo "run-example.sh: not built; run clients/typescript/build.sh (or make clients-build) first" >&2
  exit 1
fi
exec node "$script" "$@"
