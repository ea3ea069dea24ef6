#!/usr/bin/env bash
# make testbed: deploy the default topology, run oping and operf across
# each of its layers, print a results table, destroy the lab. Needs root.
# Exits non-zero on any failure; the lab is destroyed whatever happens.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/default.yaml}
otb=$bin/otb
layers=(dix llc udp4 udp6)
fail=0
pids=()

if [ "$(id -u)" -ne 0 ]; then
	echo "make testbed needs root (network namespaces)" >&2
	exit 1
fi
lab=$("$otb" deploy "$topo" --dry-run | awk 'NR==1 {print $2}')
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	"$otb" destroy "$lab" >/dev/null || { echo "otb destroy $lab failed" >&2; fail=1; }
	left=$(ip netns list | grep -c "^o7s-$lab-" || true)
	[ "$left" -eq 0 ] || { echo "$left namespaces of lab $lab are left" >&2; fail=1; }
	exit $fail
}
trap cleanup EXIT INT TERM

echo "== otb deploy $topo"
"$otb" deploy "$topo" || { fail=1; exit; }

on() { local node=$1; shift; "$otb" exec --lab "$lab" "$node" -- "$@"; }
for l in "${layers[@]}"; do
	on b "$bin/irm" bind program "$bin/oping" name "oping-$l" >/dev/null || fail=1
	on b "$bin/irm" bind program "$bin/operf" name "operf-$l" >/dev/null || fail=1
done
logdir=$(mktemp -d /tmp/o7s-testbed.XXXXXX)
# Servers: otb exec becomes the tool (same PID), so $! is the server's PID.
"$otb" exec --lab "$lab" b -- "$bin/oping" --listen -Q >"$logdir/oping-server.log" 2>&1 &
pids+=($!)
"$otb" exec --lab "$lab" b -- "$bin/operf" --listen -Q >"$logdir/operf-server.log" 2>&1 &
pids+=($!)
# The kernel's own figures over the same veth, for comparison in this run.
ip4=198.18.0.2
"$otb" exec --lab "$lab" b -- "$bin/kbase" udp-server $ip4:7000 >/dev/null 2>&1 &
pids+=($!)
"$otb" exec --lab "$lab" b -- "$bin/kbase" udp-sink $ip4:7001 >"$logdir/sink.log" 2>&1 &
sink=$!
pids+=($sink)
sleep 0.5

printf '\n%-6s %-24s %-6s %-32s %-32s\n' layer "oping -f rtt p50/p99" loss "operf -f 64 B, at receiver" "operf -f 1400 B, at receiver"
for l in "${layers[@]}"; do
	# -f: ping-pong, so the figures are round trips, not queueing
	out=$(on a "$bin/oping" -n "oping-$l" -c 2000 -f -Q 2>&1) || { echo "$out"; fail=1; }
	rtt=$(sed -n 's/^rtt p50\/p99 = \(.*\)$/\1/p' <<<"$out")
	loss=$(sed -n 's/.* \([0-9]*%\) packet loss.*/\1/p' <<<"$out")
	[ "$loss" = "0%" ] || fail=1
	perf=()
	for size in 64 1400; do
		before=$(wc -l <"$logdir/operf-server.log")
		on a "$bin/operf" -n "operf-$l" -s "$size" -f -d 2s >/dev/null 2>&1 || fail=1
		# The server ends the flow after a second of silence and prints its
		# summary: wait for that line.
		line=
		for _ in $(seq 50); do
			line=$(tail -n +$((before + 1)) "$logdir/operf-server.log" | grep -m1 -E ' pps' || true)
			[ -n "$line" ] && break
			sleep 0.1
		done
		pps=$(grep -oE '[0-9.]+ pps' <<<"$line" | head -1)
		mbps=$(grep -oE '[0-9.]+ Mbps|[0-9.]+ Mb/s' <<<"$line" | head -1)
		[ -n "$pps" ] || fail=1
		perf+=("${pps:-?} ${mbps:+($mbps)}")
	done
	printf '%-6s %-24s %-6s %-32s %-32s\n' "$l" "${rtt:-FAILED}" "${loss:-?}" "${perf[0]}" "${perf[1]}"
done
icmp=$(on a "$bin/kbase" icmp $ip4 -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \(.*\)$/\1/p')
udp=$(on a "$bin/kbase" udp-ping $ip4:7000 -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \(.*\)$/\1/p')
blast=()
for size in 64 1400; do
	kill -USR1 $sink
	on a "$bin/kbase" udp-blast $ip4:7001 -s $size -d 2s >/dev/null 2>&1
	sleep 0.2
	kill -USR1 $sink
	sleep 0.2
	pps=$(tail -1 "$logdir/sink.log" | grep -oE '[0-9]+ pps')
	blast+=("${pps:-?} ($(awk -v p="${pps% pps}" -v s=$size 'BEGIN {printf "%.1f Mbps", p*s*8/1e6}'))")
done
printf '%-6s %-24s %-6s %-32s %-32s\n' "kernel" "${udp:-?} (udp)" "" "${blast[0]} (udp)" "${blast[1]} (udp)"
printf '%-6s %-24s\n' "" "${icmp:-?} (icmp)"
echo
[ $fail -eq 0 ] && echo "testbed: all layers passed" || echo "testbed: FAILED (server logs in $logdir)"
