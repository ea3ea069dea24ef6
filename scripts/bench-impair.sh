#!/usr/bin/env bash
# make bench-impair: how true the impairment is, and what it costs.
#  - loss: 10% configured, in the kernel (nftables) and in the relay,
#    against what the link's own counters measured over 300000 frames;
#  - delay: 10 ms each way configured in the relay, against the kernel's
#    UDP round trips through it (p50/p99), next to the same relay with no
#    delay;
#  - deploy and destroy time of the ring with and without impairment
#    (loss on every link, and one link through a relay).
# Needs root. Labs of this run's own, destroyed whatever happens.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
otb=$bin/otb
[ "$(id -u)" -eq 0 ] || { echo "make bench-impair needs root" >&2; exit 1; }
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
dir=$(mktemp -d /tmp/o7s-bench-impair.XXXXXX)
labs=()
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for l in "${labs[@]}"; do "$otb" destroy "$l" --ignore-missing >/dev/null 2>&1; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
fail=0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

lab=bimp$tag
labs+=("$lab")
cat >"$dir/acc.yaml" <<EOT
name: $lab
nodes: {a: {}, b: {}}
links:
  - {type: udp, endpoints: [a:u0, b:u0], impair: {loss: 10%}}
  - {type: udp, endpoints: [a:u1, b:u1], impair: {delay: 10ms}}
  - {type: udp, endpoints: [a:u2, b:u2], impair: {relay: true}}
  - {type: udp, endpoints: [a:u3, b:u3], impair: {loss: 10%, relay: true, seed: 7}}
EOT
"$otb" deploy "$dir/acc.yaml" >/dev/null || { echo "deploy failed" >&2; exit 1; }
on() { local n=$1; shift; "$otb" exec --lab "$lab" "$n" -- "$@"; }
# Addresses: the n-th udp link has 198.18.0.4n+1 (a) and +2 (b).
loss_row() { # link-id b-addr label
	"$otb" exec --lab "$lab" b -- "$bin/kbase" udp-sink "$2:7001" >/dev/null 2>&1 &
	local sink=$!
	pids+=($sink)
	sleep 0.3
	on a "$bin/kbase" udp-blast "$2:7001" -s 64 -d 2s >/dev/null 2>&1
	sleep 0.3
	kill $sink 2>/dev/null
	local j
	j=$("$otb" link show "$1" --lab "$lab" -o json)
	python3 - "$3" "$j" <<'PY'
import json, sys
label, j = sys.argv[1], json.loads(sys.argv[2])
for l in j:
    for d in l.get("directions") or []:
        if d["dir"] != "a->b": continue
        c = d.get("counters") or {}
        p, dr = c.get("passed", 0), c.get("dropped", 0)
        n = p + dr
        m = 100.0 * dr / n if n else float("nan")
        print(f"{label:34s} configured 10%  measured {m:.3f}% over {n} frames (error {m-10:+.3f} points)")
PY
}
echo "== loss (what a sends to b, counted by the link)"
loss_row "a:u0--b:u0" 198.18.0.2 "kernel (nftables numgen)" || fail=1
loss_row "a:u3--b:u3" 198.18.0.14 "relay (seeded)" || fail=1
echo
echo "== delay (10 ms each way in the relay: a round trip of 20 ms)"
for row in "198.18.0.6 relay-delay-10ms" "198.18.0.10 relay-no-knobs"; do
	read -r ip label <<<"$row"
	"$otb" exec --lab "$lab" b -- "$bin/kbase" udp-server "$ip:7000" >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.3
	out=$(on a "$bin/kbase" udp-ping "$ip:7000" -c 2000 2>&1)
	rtt=$(sed -n 's/.*rtt p50\/p99 = \(.*\)$/\1/p' <<<"$out")
	[ -n "$rtt" ] || { echo "$out"; fail=1; }
	printf '%-34s rtt p50/p99 %s\n' "$label" "${rtt:-FAILED}"
done
"$otb" destroy "$lab" >/dev/null
echo
echo "== deploy and destroy of topologies/ring.yaml"
for kind in plain impaired; do
	l=bring${kind:0:1}$tag
	labs+=("$l")
	f=topologies/ring.yaml
	if [ $kind = impaired ]; then
		f=$dir/ring-impaired.yaml
		sed -e 's/^  - endpoints: \[a:e1, b:e1\]$/  - {endpoints: [a:e1, b:e1], impair: {delay: 5ms, loss: 1%}}/' \
			-e 's/^  - endpoints: \[\(.:e., .:e.\)\]$/  - {endpoints: [\1], impair: {loss: 1%, rate: 100mbit}}/' topologies/ring.yaml >"$f"
		grep -q 'delay: 5ms' "$f" || { echo "could not impair the ring" >&2; fail=1; }
	fi
	t0=$(date +%s%N)
	"$otb" deploy "$f" --lab "$l" >/dev/null || { echo "deploy $kind failed" >&2; fail=1; continue; }
	up=$(ms "$t0")
	t0=$(date +%s%N)
	"$otb" destroy "$l" >/dev/null || fail=1
	printf '%-34s deploy %5d ms, destroy %4d ms\n' "ring, $kind" "$up" "$(ms "$t0")"
done
exit $fail
