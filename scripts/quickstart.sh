#!/usr/bin/env bash
# The README's quick start: what Canal does today, on the example cluster in Examples/manifests/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(swift build --show-bin-path)"
canalctl="$bin/canalctl"
manifest=Examples/manifests/cluster.yaml

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step canalctl validate -f "$manifest"
"$canalctl" validate -f "$manifest"

step canalctl validate -f Examples/manifests/invalid.yaml "   # broken on purpose: every problem, with its field path"
if "$canalctl" validate -f Examples/manifests/invalid.yaml; then
  echo "error: invalid.yaml was accepted" >&2
  exit 1
fi

step canalctl selector endpoints "app == 'backend'" -f "$manifest"
"$canalctl" selector endpoints "app == 'backend'" -f "$manifest"

step canalctl selector endpoints "pcns.projectcalico.org/name == 'shop' && version != 'v1'" -f "$manifest"
"$canalctl" selector endpoints "pcns.projectcalico.org/name == 'shop' && version != 'v1'" -f "$manifest"

step canalctl selector endpoints "rack == 'r1' && has(role)" -f "$manifest"
"$canalctl" selector endpoints "rack == 'r1' && has(role)" -f "$manifest"

step canalctl selector match "app == 'frontend' && version in {'v1', 'v2'}" --labels app=frontend,version=v2
"$canalctl" selector match "app == 'frontend' && version in {'v1', 'v2'}" --labels app=frontend,version=v2

step canalctl selector canonical "version in {'v2','v1'} && !has(debug)" -o json
"$canalctl" selector canonical "version in {'v2','v1'} && !has(debug)" -o json

step "printf '%s\n' '{\"selector\":\"app == \\\"a\\\"\",\"labels\":{\"app\":\"a\"}}' '{\"selector\":\"app ==\"}' | canalctl selector match --batch"
printf '%s\n' '{"selector":"app == \"a\"","labels":{"app":"a"}}' '{"selector":"app =="}' | "$canalctl" selector match --batch
