#!/usr/bin/env bash
# Runs an example (build it first with build.sh). LATCHWORK_ADDRESS etc. as usual.
#   run-example.sh [dependent-jobs|invalid-request] [args...]   (default: dependent-jobs)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ! -f $here/target/latchwork-client.jar || ! -f $here/target/classpath.txt ]]; then
  echo "run-example.sh: not built; run clients/java/build.sh first" >&2
  exit 1
fi
example=DependentJobs
case ${1:-} in
  dependent-jobs) shift ;;
  invalid-request) example=InvalidRequest; shift ;;
esac
exec java -cp "$here/target/latchwork-client.jar:$(cat "$here/target/classpath.txt")" \
  "io.latchwork.examples.$example" "$@"
