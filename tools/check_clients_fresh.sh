#!/usr/bin/env bash
# Fails when the committed generated clients differ from what the protos generate now.
#   tools/check_clients_fresh.sh [LANG ...]     (default: go typescript java)
# Each clients/<lang>/generate.sh regenerates into a scratch tree; the result is compared
# with the committed directory, so an edited proto without `make clients` fails here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
declare -A generated=(
  [go]=clients/go/latchworkv1
  [typescript]=clients/typescript/src/gen
  [java]=clients/java/src/generated
)
languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=("${!generated[@]}")
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
stale=()
for lang in "${languages[@]}"; do
  dir="${generated[$lang]:?unknown language $lang}"
  "clients/$lang/generate.sh" "$scratch" >/dev/null
  if ! diff -r -u "$dir" "$scratch/$dir" >"$scratch/$lang.diff" 2>&1; then
    echo "--- $lang: committed vs generated now (first 40 lines)" >&2
    head -n 40 "$scratch/$lang.diff" | sed "s|$scratch/||g" >&2
    stale+=("$lang")
  fi
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "generated clients out of date with protos/: ${stale[*]} (run: make clients)" >&2
  exit 1
fi
echo "generated clients are up to date with protos/ (${languages[*]})"
