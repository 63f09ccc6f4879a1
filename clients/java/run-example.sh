#!/usr/bin/env bash
# Runs the DependentJobs example (build it first with build.sh). LATCHWORK_ADDRESS etc. as usual.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ! -f $here/target/latchwork-client.jar || ! -f $here/target/classpath.txt ]]; then
  echo "run-example.sh: not built; run clients/java/build.sh first" >&2
  exit 1
fi
exec java -cp "$here/target/latchwork-client.jar:$(cat "$here/target/classpath.txt")" \
  io.latchwork.examples.DependentJobs "$@"
