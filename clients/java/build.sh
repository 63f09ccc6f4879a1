#!/usr/bin/env bash
# Builds the Java client: resolves the pinned dependencies from Maven Central (into ~/.m2),
# compiles the generated code, the wrapper, the example and the tests, runs the tests (among them
# the compile-level ApiCoverageTest) and writes target/latchwork-client.jar plus the runtime
# classpath (target/classpath.txt) that run-example.sh uses. Quiet on success; on failure
# Maven's output goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# Debian's Maven 3.8 writes stray ANSI resets (ESC[0m) even with -B -q: keep its output for failures.
if ! log=$(mvn -B -q -Dstyle.color=never package "$@" 2>&1); then
  printf '%s\n' "$log" | sed 's/\x1b\[[0-9;]*m//g' >&2
  echo "build.sh: the Java client build failed" >&2
  exit 1
fi
