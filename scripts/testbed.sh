#!/usr/bin/env bash
# make testbed: deploy the default topology (four nodes in a line, a unicast
# layer over three kinds of shim), run oping and operf across the unicast
# layer end to end (multi-hop) and across single shims, print a results
# table with the kernel's own figures over the same veth, then the QoS
# specs that run FRCT across the unicast layer, destroy the lab.
# Needs root. Exits non-zero on any failure; the lab is destroyed whatever
# happens. RUNTIME=docker runs the nodes in containers (make image first).
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/default.yaml}
otb=$bin/otb
# Each row: label, client node, server node, oping name, operf name, path.
# The names are registered by the topology file; a unicast layer's name is
# served wherever it is registered, so net's flows cross every hop.
rows=(
	"net a d oping operf a-b-c-d, 3 hops"
	"eth-ab a b oping-dix operf-dix a-b, eth-dix"
	"udp-bc b c oping-udp operf-udp b-c, udp4"
)
kernel_from=b kernel_to=c kernel_ip=198.18.0.2 # the veth under udp-bc
. "$(dirname "$0")/lab.sh"
lab_up testbed
"$otb" inspect "$lab" | sed -n '/ (unicast)$/,$p'
logdir=$(mktemp -d /tmp/o7s-testbed.XXXXXX)
# Servers, one oping and one operf per server node, bound to that node's
# names. otb exec becomes the tool (same PID), so $! is the server's PID.
declare -A served
for r in "${rows[@]}"; do
	read -r _ _ srv pingname perfname _ <<<"$r"
	on "$srv" "$tools/irm" bind program "$tools/oping" name "$pingname" >/dev/null || fail=1
	on "$srv" "$tools/irm" bind program "$tools/operf" name "$perfname" >/dev/null || fail=1
	[ -n "${served[$srv]:-}" ] && continue
	served[$srv]=1
	"$otb" exec --lab "$lab" "$srv" -- "$tools/oping" --listen -Q >"$logdir/oping-$srv.log" 2>&1 &
	pids+=($!)
	"$otb" exec --lab "$lab" "$srv" -- "$tools/operf" --listen -Q >"$logdir/operf-$srv.log" 2>&1 &
	pids+=($!)
done
# The kernel's own figures over the same veth, for comparison in this run.
"$otb" exec --lab "$lab" $kernel_to -- "$tools/kbase" udp-server $kernel_ip:7000 >/dev/null 2>&1 &
pids+=($!)
"$otb" exec --lab "$lab" $kernel_to -- "$tools/kbase" udp-sink $kernel_ip:7001 >"$logdir/sink.log" 2>&1 &
sink=$!
pids+=($sink)
sleep 0.5

fmt='%-7s %-16s %-24s %-6s %-30s %-30s\n'
printf "\n$fmt" layer path "oping -f rtt p50/p99" loss "operf -f 64 B, at receiver" "operf -f 1400 B, at receiver"
for r in "${rows[@]}"; do
	read -r label cli srv pingname perfname path <<<"$r"
	# -f: ping-pong, so the figures are round trips, not queueing
	out=$(on "$cli" "$tools/oping" -n "$pingname" -c 2000 -f -Q 2>&1) || { echo "$out"; fail=1; }
	rtt=$(sed -n 's/^rtt p50\/p99 = \(.*\)$/\1/p' <<<"$out")
	loss=$(sed -n 's/.* \([0-9]*%\) packet loss.*/\1/p' <<<"$out")
	[ "$loss" = "0%" ] || fail=1
	perf=()
	for size in 64 1400; do
		before=$(wc -l <"$logdir/operf-$srv.log")
		on "$cli" "$tools/operf" -n "$perfname" -s "$size" -f -d 2s >/dev/null 2>&1 || fail=1
		# The server ends the flow after a second of silence and prints its
		# summary: wait for that line.
		line=$(operf_summary "$logdir/operf-$srv.log" "$before")
		pps=$(grep -oE '[0-9.]+ pps' <<<"$line" | head -1)
		mbps=$(grep -oE '[0-9.]+ Mbps|[0-9.]+ Mb/s' <<<"$line" | head -1)
		[ -n "$pps" ] || fail=1
		perf+=("${pps:-?} ${mbps:+($mbps)}")
	done
	printf "$fmt" "$label" "$path" "${rtt:-FAILED}" "${loss:-?}" "${perf[0]}" "${perf[1]}"
done
icmp=$(on $kernel_from "$tools/kbase" icmp $kernel_ip -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \(.*\)$/\1/p')
udp=$(on $kernel_from "$tools/kbase" udp-ping $kernel_ip:7000 -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \(.*\)$/\1/p')
blast=()
for size in 64 1400; do
	kill -USR1 $sink
	on $kernel_from "$tools/kbase" udp-blast $kernel_ip:7001 -s $size -d 2s >/dev/null 2>&1
	sleep 0.2
	kill -USR1 $sink
	sleep 0.2
	pps=$(tail -1 "$logdir/sink.log" | grep -oE '[0-9]+ pps')
	blast+=("${pps:-?} ($(awk -v p="${pps% pps}" -v s=$size 'BEGIN {printf "%.1f Mbps", p*s*8/1e6}'))")
done
printf "$fmt" "kernel" "$kernel_from-$kernel_to, veth" "${udp:-?} (udp)" "" "${blast[0]} (udp)" "${blast[1]} (udp)"
printf "$fmt" "" "" "${icmp:-?} (icmp)" "" "" ""
# The kernel's batched limit (iperf3, Debian's package) when there is one
# and the nodes are namespaces: kbase sends one datagram per system call.
if command -v iperf3 >/dev/null && [ "$tools" = "$bin" ]; then
	"$otb" exec --lab "$lab" $kernel_to -- iperf3 -s -B $kernel_ip >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.3
	ip3=()
	for size in 64 1400; do
		pps=$(on $kernel_from iperf3 -c $kernel_ip -u -b 0 -l $size -t 2 -J 2>/dev/null | python3 -c 'import json,sys
e=json.load(sys.stdin)["end"]["sum"]
print(int((e["packets"]-e["lost_packets"])/e["seconds"]))' 2>/dev/null)
		ip3+=("${pps:-?} pps ($(awk -v p="${pps:-0}" -v s=$size 'BEGIN {printf "%.1f Mbps", p*s*8/1e6}')) (iperf3)")
	done
	printf "$fmt" "" "" "" "" "${ip3[0]}" "${ip3[1]}"
fi
# The QoS specs that run FRCT, end to end across the unicast layer (a to
# d, 3 hops), next to raw: round trips, and goodput at the receiver.
qfmt='%-7s %-6s %-24s %-6s %-30s\n'
printf "\n$qfmt" layer qos "oping -f rtt p50/p99" loss "operf -f 1400 B, at receiver"
for q in raw best voice video data; do
	out=$(on a "$tools/oping" -n oping -q "$q" -c 1000 -f -Q 2>&1) || { echo "$out"; fail=1; }
	rtt=$(sed -n 's/^rtt p50\/p99 = \(.*\)$/\1/p' <<<"$out")
	loss=$(sed -n 's/.* \([0-9]*%\) packet loss.*/\1/p' <<<"$out")
	[ "$loss" = "0%" ] || fail=1
	perf=
	if [ "$q" = raw ] || [ "$q" = data ]; then
		before=$(wc -l <"$logdir/operf-d.log")
		on a "$tools/operf" -n operf -q "$q" -s 1400 -f -d 2s >"$logdir/operf-client-$q.log" 2>&1 || fail=1
		line=$(operf_summary "$logdir/operf-d.log" "$before")
		pps=$(grep -oE '[0-9.]+ pps' <<<"$line" | head -1)
		mbps=$(grep -oE '[0-9.]+ Mbps' <<<"$line" | head -1)
		[ -n "$pps" ] || fail=1
		perf="${pps:-?} ${mbps:+($mbps)}"
		rtx=$(grep -oE '[0-9]+ retransmitted \([0-9.]+%\)' "$logdir/operf-client-$q.log" || true)
		[ -n "$rtx" ] && perf="$perf, $rtx"
	fi
	printf "$qfmt" net "$q" "${rtt:-FAILED}" "${loss:-?}" "$perf"
done
echo
if [ $fail -eq 0 ]; then
	echo "testbed: all layers passed"
	rm -rf "$logdir"
else
	echo "testbed: FAILED (server logs in $logdir)"
fi
