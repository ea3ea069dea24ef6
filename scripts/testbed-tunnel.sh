#!/usr/bin/env bash
# make testbed-tunnel: deploy topologies/iplan.yaml under a lab name of
# this run's own (two IP LANs, two hosts each, joined by an ovpn tunnel
# between gateways g1 and g2 over a unicast layer that crosses m), show the
# tunnel in otb inspect, ping across it (IPv4 and IPv6, both ways), send a
# file over TCP from h1 (lan1) to h3 (lan2) checking its sha256, and the
# same transfer over the bare veth between h1 and h3 for the kernel's own
# figure in the same run; then destroy the lab. Needs root. Exits non-zero
# on any failure; the lab is destroyed whatever happens.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/iplan.yaml}
size=${SIZE:-33554432} # bytes per TCP transfer
otb=$bin/otb
. "$(dirname "$0")/lab.sh"
lab_up testbed-tunnel
"$otb" inspect "$lab" | sed -n '/^TUNNEL/,$p'
echo
echo "== the hosts' routes to the far LAN (made by otb from the tunnel)"
on h1 ip route | grep via | sed 's/^/h1: /'
on h3 ip -6 route | grep via | sed 's/^/h3: /'

fmt='%-4s %-4s %-13s %-10s %s\n'
printf "\n$fmt" from to to "over" "kbase icmp -c 100 (ping-pong)"
for r in "h1 h3 10.2.0.13" "h1 h3 fd02::13" "h4 h2 10.1.0.12" "h4 h2 fd01::12"; do
	read -r from to dst <<<"$r"
	out=$(on "$from" "$bin/kbase" icmp "$dst" -c 100 2>&1)
	grep -q "100 sent, 100 received" <<<"$out" || fail=1
	printf "$fmt" "$from" "$to" "$dst" "tunnel" "${out#icmp: }"
done
out=$(on h1 "$bin/kbase" icmp 192.168.99.2 -c 100 2>&1)
printf "$fmt" h1 h3 192.168.99.2 "bare veth" "${out#icmp: }"

# transfer LABEL DST: SIZE bytes over TCP from h1 to h3, hashes compared.
logdir=$(mktemp -d /tmp/o7s-tunnel.XXXXXX)
transfer() {
	local label=$1 dst=$2
	"$otb" exec --lab "$lab" h3 -- "$bin/kbase" tcp-sink "$dst" -t 120s >"$logdir/sink.log" 2>&1 &
	local sink=$!
	pids+=($sink)
	sleep 0.3
	local sent got
	sent=$(on h1 "$bin/kbase" tcp-send "$dst" -n "$size" -t 120s 2>&1) || fail=1
	wait $sink
	got=$(cat "$logdir/sink.log")
	local hs hg
	hs=$(grep -oE 'sha256 [0-9a-f]{64}' <<<"$sent")
	hg=$(grep -oE 'sha256 [0-9a-f]{64}' <<<"$got")
	local ok="sha256 MISMATCH"
	if [ -n "$hs" ] && [ "$hs" = "$hg" ]; then ok="sha256 equal at both ends"; else fail=1; fi
	printf '%-12s %-38s %s\n' "$label" "$(grep -oE '[0-9]+ bytes in [^:]*: [0-9.]+ Mb/s' <<<"$sent")" "$ok"
}
echo
echo "== TCP, $size bytes from h1 (lan1) to h3 (lan2)"
transfer "tunnel" 10.2.0.13:5001
transfer "bare veth" 192.168.99.2:5002
echo
if [ $fail -eq 0 ]; then
	echo "testbed-tunnel: the two LANs are bridged: passed"
	rm -rf "$logdir"
else
	echo "testbed-tunnel: FAILED (logs in $logdir and /run/o7s/labs/$lab)"
fi
