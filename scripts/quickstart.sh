#!/usr/bin/env bash
# The README's quick start: what Canal does today, on the example cluster in Examples/manifests/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(swift build --show-bin-path)"
canalctl="$bin/canalctl"
manifest=Examples/manifests/cluster.yaml

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# The embedded datastore keeps its state in a file; the quick start uses a fresh one.
state_dir=$(mktemp -d)
trap 'rm -rf "$state_dir"' EXIT
export CANAL_STATE_FILE="$state_dir/state.json"

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

echo
echo "# The embedded datastore (CANAL_STATE_FILE=$CANAL_STATE_FILE); DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=… uses etcd instead."

step canalctl apply -f "$manifest"
"$canalctl" apply -f "$manifest"

step canalctl policy compile --node node2 --ipsets "$state_dir/ipsets.txt" "   # Felix's iptables layout for node2 (first lines)"
"$canalctl" policy compile --node node2 --ipsets "$state_dir/ipsets.txt" > "$state_dir/node2.iptables"
head -n 24 "$state_dir/node2.iptables"
echo "…"

step canalctl policy compile --node node2 --format nft "   # the same as one nft script (first lines)"
"$canalctl" policy compile --node node2 --format nft > "$state_dir/node2.nft"
head -n 12 "$state_dir/node2.nft"
echo "…"

frontend=shop/node1-k8s-frontend--7d9f-eth0
backend=shop/node2-k8s-backend--5c2e-eth0
step canalctl policy simulate --from $frontend --to $backend --protocol TCP --port 8080
"$canalctl" policy simulate --from $frontend --to $backend --protocol TCP --port 8080

step canalctl policy simulate --from $frontend --to $backend --protocol TCP --port 22
"$canalctl" policy simulate --from $frontend --to $backend --protocol TCP --port 22

step canalctl policy simulate --from 198.19.200.5 --to $backend --protocol TCP --port 8080 -o json "   # from the blocklist"
"$canalctl" policy simulate --from 198.19.200.5 --to $backend --protocol TCP --port 8080 -o json

step canalctl ipam assign --node node1 --ipv4 2 --ipv6 1 --handle web-1
"$canalctl" ipam assign --node node1 --ipv4 2 --ipv6 1 --handle web-1

step canalctl ipam show --show-blocks
"$canalctl" ipam show --show-blocks

step canalctl ipam check
"$canalctl" ipam check

step canalctl bgp config --node node1 "   # node1's BIRD 2 configuration: mesh to node2, the rack's ToR peer, node1's blocks"
"$canalctl" bgp config --node node1 | tee "$state_dir/node1.conf"
if command -v bird >/dev/null; then bird -p -c "$state_dir/node1.conf" && echo "# bird -p: the configuration parses"; fi

step canalctl ipam release --handle web-1
"$canalctl" ipam release --handle web-1

step canalctl flannel config set --network 198.18.0.0/16 --subnet-len 24 "   # flannel's network config, for hosts using flannel instead of BGP"
"$canalctl" flannel config set --network 198.18.0.0/16 --subnet-len 24
"$canalctl" flannel config get

step canalctl get tiers
"$canalctl" get tiers

step canalctl get networkpolicy -A -o wide
"$canalctl" get networkpolicy -A -o wide

step canalctl get workloadendpoints -n shop
"$canalctl" get workloadendpoints -n shop

step canalctl get ippool default-ipv4-ippool -o yaml
"$canalctl" get ippool default-ipv4-ippool -o yaml

step canalctl delete networkpolicy frontend-to-backend -n shop
"$canalctl" delete networkpolicy frontend-to-backend -n shop

step canalctl get networkpolicy frontend-to-backend -n shop "   # gone: exit 1"
if "$canalctl" get networkpolicy frontend-to-backend -n shop; then
  echo "error: the deleted policy is still there" >&2
  exit 1
fi
