#!/usr/bin/env bash
# Installs the pinned dependencies, compiles src/, examples/ and test/ into dist/ and runs the
# API test and the resume test. Quiet on success; exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
./install.sh
rm -rf dist   # nothing stale from removed sources
node_modules/.bin/tsc -p .
node dist/test/api-coverage.js
node dist/test/subscribe-resumes.js
node dist/test/failover.js
