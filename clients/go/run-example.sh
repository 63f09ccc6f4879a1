#!/usr/bin/env bash
# Runs an example built by build.sh against $LATCHWORK_ADDRESS:
#   run-example.sh [dependent-jobs|invalid-request] [args...]   (default: dependent-jobs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
example=dependent-jobs
case ${1:-} in dependent-jobs | invalid-request) example=$1; shift ;; esac
binary="$root/build/clients/go/$example"
if [[ ! -x $binary ]]; then
  echo "run-example.sh: not built; run clients/go/build.sh (or make clients-build) first" >&2
  exit 1
fi
exec "$binary" "$@"
