#!/usr/bin/env bash
# Regenerates the Java protobuf/gRPC code from protos/ into BASE/clients/java/src/generated/java
# (BASE defaults to the repo root: no argument updates the committed code). Fetches protoc and
# protoc-gen-grpc-java from Maven Central (versions pinned in clients/java/pom.xml) into
# build/clients/java-tools, then runs buf with clients/java/buf.gen.yaml.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base=${1:-$root}
mkdir -p "$base"
base=$(cd "$base" && pwd)
cd "$root"

buf=${BUF:-build/node/node_modules/.bin/buf}
if [[ ! -x $buf ]]; then
  echo "generate.sh: buf not found at $buf (run 'make bootstrap' first)" >&2
  exit 1
fi
export BUF_CACHE_DIR=${BUF_CACHE_DIR:-$root/build/buf-cache}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) classifier=linux-x86_64 ;;
  Linux-aarch64 | Linux-arm64) classifier=linux-aarch_64 ;;
  Darwin-x86_64) classifier=osx-x86_64 ;;
  Darwin-arm64) classifier=osx-aarch_64 ;;
  *) echo "generate.sh: no protoc build for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

# The tools are fetched again only when the pom (their versions) or the platform changes.
tools=build/clients/java-tools
stamp="$(sha256sum clients/java/pom.xml | cut -d' ' -f1) $classifier"
if [[ ! -x $tools/protoc.exe || ! -x $tools/protoc-gen-grpc-java.exe ||
      "$(cat "$tools/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  mkdir -p "$tools"
  # Debian's Maven 3.8 writes stray ANSI resets even with -B -q: show its output on failure only.
  if ! log=$(mvn -B -q -Dstyle.color=never -f clients/java/pom.xml \
      dependency:copy@fetch-codegen-tools \
      "-Dlatchwork.tools.dir=$root/$tools" "-Dlatchwork.tools.classifier=$classifier" 2>&1); then
    printf '%s\n' "$log" | sed 's/\x1b\[[0-9;]*m//g' >&2
    echo "generate.sh: could not fetch protoc and protoc-gen-grpc-java from Maven Central" >&2
    exit 1
  fi
  chmod +x "$tools/protoc.exe" "$tools/protoc-gen-grpc-java.exe"
  echo "$stamp" > "$tools/.stamp"
fi

"$buf" generate --template clients/java/buf.gen.yaml -o "$base"
