#!/usr/bin/env bash
# `npm ci` from the committed package-lock.json, skipped when node_modules already holds exactly
# that lock (a copy is kept as a stamp), so build.sh and generate.sh can both call it cheaply.
# A lock on this directory keeps two of them from installing into node_modules at once.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
exec 9<.
flock 9
stamp=node_modules/.installed-package-lock.json
if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
cp package-lock.json "$stamp"
