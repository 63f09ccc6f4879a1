#!/usr/bin/env bash
# Runs the example built by build.sh against $LATCHWORK_ADDRESS.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$root/build/clients/go/dependent-jobs" "$@"
