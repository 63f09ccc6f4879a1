#!/usr/bin/env bash
# Builds and checks the Go client: vet, the unit and compile-level API tests, and the
# example binaries (build/clients/go/<example>, run by run-example.sh), and the tools.
# Modules come from the Go module proxy at the versions in go.mod / go.sum.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root/clients/go"
export GOFLAGS=-mod=readonly
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 ./... >/dev/null
for example in dependent-jobs invalid-request; do
  go build -o "$root/build/clients/go/$example" "./examples/$example"
done
# The pinned tools (protoc plugins, grpcurl for clients/README.md's tour).
(cd tools && GOBIN="$root/build/clients/go-tools" go install tool)
