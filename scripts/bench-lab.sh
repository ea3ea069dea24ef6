#!/usr/bin/env bash
# make bench-lab: the data path of the default topology against the
# machine's own limit on the same kind of veth, in one run.
#  - the kernel: iperf3 UDP (64 B and 1400 B datagrams, as fast as it
#    goes, counted at the receiver) and UDP and ICMP ping-pong (kbase)
#    between b and c over the veth under the udp4 layer;
#  - ours: oping -f (ping-pong) and operf -f (64 B, 1400 B, counted at the
#    receiver) over eth-dix (a-b), udp4 (b-c) and the unicast layer (a-d,
#    3 hops), each figure also as a ratio to the kernel's;
#  - CPU per packet: user+sys of every onode and of both operf ends over
#    each operf run, divided by the packets received.
# PROFILE=1 writes a CPU profile per process (onodes and tools) to
# out/profiles/ (go tool pprof bin/onode out/profiles/onode-<pid>.prof).
# Needs root and iperf3 (Debian's iperf3 package). The lab is this run's
# own and is destroyed whatever happens.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/default.yaml}
otb=$bin/otb
command -v iperf3 >/dev/null || { echo "make bench-lab needs iperf3 (apt-get install iperf3)" >&2; exit 1; }
dur=${DUR:-3}
if [ "${PROFILE:-}" = 1 ]; then
	profdir=$(pwd)/out/profiles
	mkdir -p "$profdir"
	rm -f "$profdir"/*.prof
	export OUROBOROS_CPUPROFILE=$profdir/%p.prof # onodes and tools inherit it
fi
. "$(dirname "$0")/lab.sh"
lab_up bench-lab
logdir=$(mktemp -d /tmp/o7s-bench-lab.XXXXXX)
hz=$(getconf CLK_TCK)

# cpu PID...: user+sys ticks of these processes now.
cpu() {
	local t=0 p f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo $t
}
# kids: user+sys ticks of this shell's waited-for children so far.
kids() {
	local line
	line=$(times | tail -1) # e.g. 0m0.120s 0m0.040s
	awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d\n", (u[1]*60 + u[2] + s[1]*60 + s[2]) * '"$hz"' }' <<<"$line"
}
onodes=$("$otb" inspect "$lab" -o json | python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(sys.stdin)["nodes"] if n.get("pid")))')

# The kernel, between b and c over the udp4 layer's veth.
kip=198.18.0.2
"$otb" exec --lab "$lab" c -- iperf3 -s -B $kip >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
kpps=()
for size in 64 1400; do
	j=$(on b iperf3 -c $kip -u -b 0 -l $size -t "$dur" -J 2>/dev/null)
	r=$(python3 -c 'import json,sys
j=json.load(sys.stdin)
e=j["end"]["sum"]
print(int((e["packets"]-e["lost_packets"])/e["seconds"]))' <<<"$j" 2>/dev/null)
	[ -n "$r" ] || { echo "iperf3 -l $size failed" >&2; fail=1; r=0; }
	kpps+=("$r")
done
"$otb" exec --lab "$lab" c -- "$tools/kbase" udp-server $kip:7000 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
kudp=$(on b "$tools/kbase" udp-ping $kip:7000 -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \([0-9.]*\)\/.*/\1/p')
kicmp=$(on b "$tools/kbase" icmp $kip -c 2000 2>&1 | sed -n 's/.*rtt p50\/p99 = \([0-9.]*\)\/.*/\1/p')

# Ours: servers bound to the topology's names.
rows=(
	"eth-dix a b oping-dix operf-dix"
	"udp4 b c oping-udp operf-udp"
	"unicast,3-hops a d oping operf"
)
declare -A served
for r in "${rows[@]}"; do
	read -r _ _ srv ping perf <<<"$r"
	on "$srv" "$tools/irm" bind program "$tools/oping" name "$ping" >/dev/null || fail=1
	on "$srv" "$tools/irm" bind program "$tools/operf" name "$perf" >/dev/null || fail=1
	[ -n "${served[$srv]:-}" ] && continue
	"$otb" exec --lab "$lab" "$srv" -- "$tools/oping" --listen -Q >/dev/null 2>&1 &
	pids+=($!)
	"$otb" exec --lab "$lab" "$srv" -- "$tools/operf" --listen -Q >"$logdir/operf-$srv.log" 2>&1 &
	served[$srv]=$!
	pids+=($!)
done
sleep 0.5
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a/b; else printf "?" }'; }
out=()
for r in "${rows[@]}"; do
	read -r label cli srv ping perf <<<"$r"
	o=$(on "$cli" "$tools/oping" -n "$ping" -c 2000 -f -Q 2>&1) || fail=1
	rtt=$(sed -n 's/^rtt p50\/p99 = \([0-9.]*\)\/.*$/\1/p' <<<"$o")
	unit=$(sed -n 's/^rtt p50\/p99 = .* \(ms\|µs\)$/\1/p' <<<"$o")
	[ "$unit" = "µs" ] && rtt=$(awk -v v="$rtt" 'BEGIN { printf "%.3f", v/1000 }')
	cells=("${rtt:-?} ms ($(ratio "$rtt" "$kudp")x)")
	i=0
	for size in 64 1400; do
		before=$(wc -l <"$logdir/operf-$srv.log")
		c0=$(cpu $onodes "${served[$srv]}")
		k0=$(kids)
		on "$cli" "$tools/operf" -n "$perf" -s "$size" -f -d "${dur}s" >/dev/null 2>&1 || fail=1
		line=$(operf_summary "$logdir/operf-$srv.log" "$before")
		ticks=$(($(cpu $onodes "${served[$srv]}") - c0 + $(kids) - k0))
		pkts=$(sed -n 's/^Flow *[0-9]*: *\([0-9]*\) packets.*/\1/p' <<<"$line")
		pps=$(grep -oE '[0-9.]+ pps' <<<"$line" | cut -d' ' -f1)
		[ -n "$pps" ] || fail=1
		us=$(awk -v t="$ticks" -v n="${pkts:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", t*1e6/hz/n; else printf "?" }')
		cells+=("$(printf '%.0f' "${pps:-0}") ($(ratio "$pps" "${kpps[$i]}")x) ${us}us")
		i=$((i + 1))
	done
	out+=("$label|${cells[0]}|${cells[1]}|${cells[2]}")
done
fmt='%-16s %-22s %-30s %-30s\n'
printf "\n$fmt" path "oping -f p50 (x udp)" "operf 64 B pps (x kernel) cpu/pkt" "operf 1400 B pps (x kernel) cpu/pkt"
for o in "${out[@]}"; do
	IFS='|' read -r a b c d <<<"$o"
	printf "$fmt" "$a" "$b" "$c" "$d"
done
printf "$fmt" "kernel, b-c" "$kudp ms udp, $kicmp icmp" "${kpps[0]} (iperf3 udp)" "${kpps[1]} (iperf3 udp)"
echo
echo "ratios: ours / the kernel's on the same kind of veth (iperf3 counts at its receiver); cpu/pkt: user+sys of every onode and both operf ends per packet received"
[ -n "${profdir:-}" ] && echo "profiles: $profdir (written as the processes exit, at the lab's destroy)"
rm -rf "$logdir"
