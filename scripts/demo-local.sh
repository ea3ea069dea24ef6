#!/usr/bin/env bash
# Bring up one node with a local layer, exercise it with oping and operf,
# and tear everything down. No root needed. Usage: scripts/demo-local.sh [BIN_DIR]
set -euo pipefail
bin=$(cd "${1:-bin}" && pwd)
lab=$(mktemp -d "${TMPDIR:-/tmp}/o7s-demo.XXXXXX")
export OUROBOROS_SOCK=$lab/irm.sock
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$lab"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "starting onode (socket $OUROBOROS_SOCK, log $lab/onode.log)"
"$bin/onode" --no-direct >"$lab/onode.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$OUROBOROS_SOCK" ] && break; sleep 0.1; done
[ -S "$OUROBOROS_SOCK" ] || { echo "onode did not start:"; cat "$lab/onode.log"; exit 1; }

step "irm ipcp bootstrap type local name lo layer local"
"$bin/irm" ipcp bootstrap type local name lo layer local
"$bin/irm" ipcp list

step "binding and registering oping and operf"
for t in oping operf; do
	"$bin/irm" bind program "$bin/$t" name "$t"
	"$bin/irm" name register "$t" layer local
done
"$bin/irm" name list

"$bin/oping" --listen --quiet >"$lab/oping-server.log" 2>&1 &
pids+=($!)
"$bin/operf" --listen --quiet >"$lab/operf-server.log" 2>&1 &
pids+=($!)
sleep 0.3

step "oping -n oping -c 1000 -i 0 -Q"
"$bin/oping" -n oping -c 1000 -i 0 -Q

step "operf -n operf -t bi -f -s 1400 -d 2s"
"$bin/operf" -n operf -t bi -f -s 1400 -d 2s

step "allocated flows left: $("$bin/irm" flow list | grep '^| *[0-9]' | grep -vc accept-pending || true) (the servers' pending accepts aside)"
step "done; stopping everything"
