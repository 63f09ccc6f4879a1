#!/usr/bin/env bash
# Runs the example built by build.sh (no build here). It reads LATCHWORK_ADDRESS, LATCHWORK_USER,
# LATCHWORK_TOKEN and LATCHWORK_TLS_CA from the environment.
set -euo pipefail

exec node "$(dirname "${BASH_SOURCE[0]}")/dist/examples/dependent-jobs.js" "$@"
