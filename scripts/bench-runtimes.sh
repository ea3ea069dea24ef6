#!/usr/bin/env bash
# make bench-runtimes: the default topology deployed in network namespaces,
# in Docker containers, and over a swarm of three engines of this run's own
# (otb swarm up; a-b and every hop of a-d then cross from one engine to
# another over the overlay), one after the other in one run: deploy and
# destroy times, and oping -f round trips and operf rates (counted at the
# receiver) across the same paths (a-b over eth-dix, a-d across the unicast
# layer's 3 hops), so that the two runtimes' costs sit side by side. Needs
# root and a Docker engine with the node image (make image). Each runtime
# gets a lab of this run's own, destroyed whatever happens.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/default.yaml}
otb=$bin/otb
. "$(dirname "$0")/operf.sh"
[ "$(id -u)" -eq 0 ] || { echo "make bench-runtimes needs root" >&2; exit 1; }
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
labs=()
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for l in "${labs[@]}"; do "$otb" destroy "$l" --ignore-missing >/dev/null 2>&1; done
	[ -n "${swarm:-}" ] && "$otb" swarm down --name "$swarm" --force >/dev/null 2>&1
}
trap cleanup EXIT INT TERM
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
fail=0
rows=()
runtimes="netns docker"
if command -v dockerd >/dev/null; then
	swarm=bs$tag
	t0=$(date +%s%N)
	if "$otb" swarm up 3 --name "$swarm" >/dev/null; then
		rows+=("swarm of 3 engines up|$(ms "$t0") ms|")
		runtimes="$runtimes swarm"
	else
		echo "otb swarm up failed: no swarm row" >&2
		fail=1
	fi
fi
for rt in $runtimes; do
	lab=bench${rt:0:1}$tag
	labs+=("$lab")
	tools=$bin
	[ "$rt" != netns ] && tools=/usr/bin
	where=(--runtime "$rt")
	[ "$rt" = swarm ] && where=(--swarm "$swarm")
	t0=$(date +%s%N)
	"$otb" deploy "$topo" --lab "$lab" "${where[@]}" >/dev/null || { echo "deploy in $rt failed" >&2; fail=1; continue; }
	up=$(ms "$t0")
	on() { local n=$1; shift; "$otb" exec --lab "$lab" "$n" -- "$@"; }
	logdir=$(mktemp -d /tmp/o7s-bench.XXXXXX)
	for s in "b oping-dix operf-dix" "d oping operf"; do
		read -r node ping perf <<<"$s"
		on "$node" "$tools/irm" bind program "$tools/oping" name "$ping" >/dev/null
		on "$node" "$tools/irm" bind program "$tools/operf" name "$perf" >/dev/null
		"$otb" exec --lab "$lab" "$node" -- "$tools/oping" --listen -Q >/dev/null 2>&1 &
		pids+=($!)
		"$otb" exec --lab "$lab" "$node" -- "$tools/operf" --listen -Q >"$logdir/operf-$node.log" 2>&1 &
		pids+=($!)
	done
	sleep 0.5
	for s in "a-b_eth-dix b oping-dix operf-dix" "a-d_3_hops d oping operf"; do
		read -r path node ping perf <<<"$s"
		out=$(on a "$tools/oping" -n "$ping" -c 2000 -f -Q 2>&1) || fail=1
		rtt=$(sed -n 's/^rtt p50\/p99 = \(.*\)$/\1/p' <<<"$out")
		before=$(wc -l <"$logdir/operf-$node.log")
		on a "$tools/operf" -n "$perf" -s 1400 -f -d 2s >/dev/null 2>&1 || fail=1
		line=$(operf_summary "$logdir/operf-$node.log" "$before")
		pps=$(grep -oE '[0-9.]+ pps' <<<"$line" | head -1)
		rows+=("$rt ${path//_/ }|${rtt:-FAILED}|${pps:-FAILED}")
		[ -n "$rtt" ] && [ -n "$pps" ] || fail=1
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	t0=$(date +%s%N)
	"$otb" destroy "$lab" >/dev/null || fail=1
	down=$(ms "$t0")
	rm -rf "$logdir"
	rows+=("$rt deploy / destroy|${up} ms / ${down} ms|")
done
if [ -n "${swarm:-}" ]; then
	t0=$(date +%s%N)
	"$otb" swarm down --name "$swarm" >/dev/null || fail=1
	rows+=("swarm of 3 engines down|$(ms "$t0") ms|")
	swarm=
fi
printf '\n%-28s %-24s %-24s\n' "runtime, what" "oping -f p50/p99" "operf -f 1400 B, at receiver"
for r in "${rows[@]}"; do
	IFS='|' read -r a b c <<<"$r"
	printf '%-28s %-24s %-24s\n' "$a" "$b" "$c"
done
exit $fail
