#!/usr/bin/env bash
# make check-dissector: check tools/wireshark/ouroboros.lua on captures of
# the default topology's own traffic. Deploys a lab of its own and captures
# a:e1 (eth-dix), b:u0 (udp4) and c:e1 (eth-llc) while a pings d across
# the unicast layer (raw, then -q data for FRCT) and b's oping-dix across
# eth-ab alone, and then while b and c restart: b enrolls through a over
# eth-dix and connects to a and c, c enrolls through b over udp4 and
# connects to b and d, d over eth-llc. Then it runs tshark with the
# dissector on each capture and checks that the layers and some field
# values appear, and that no Lua error or malformed packet does. Needs
# root and tshark. Exits non-zero on any failure; the lab is destroyed
# whatever happens.
#
# The pings come first: after a restart, the neighbours that accepted the
# restarted node's adjacencies keep its old address as a neighbour, and
# routes tied between the old and the new node can take the dead one until
# the old adjacency ages out (a minute), so a flow request can be lost.
# The lower flows the pings use were made at deploy, before the capture:
# the dissector finds them by shape (heuristics), and the flows the
# restarts make by their cep_msg.
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
topo=${2:-topologies/default.yaml}
otb=$bin/otb
root=$(cd "$(dirname "$0")/.." && pwd)
lua=$root/tools/wireshark/ouroboros.lua
if ! command -v tshark >/dev/null; then
	echo "make check-dissector needs tshark (apt-get install tshark)" >&2
	exit 1
fi
. "$(dirname "$0")/lab.sh"
lab_up check-dissector
out=$(mktemp -d /tmp/o7s-dissector.XXXXXX)
echo "captures and tshark output in $out"

# The captures, on the links' existing interfaces.
# otb capture stops cleanly on SIGINT.
caps=(dix:a:e1 udp:b:u0 llc:c:e1)
cap_pids=()
for c in "${caps[@]}"; do
	IFS=: read -r kind node ifc <<<"$c"
	"$otb" capture "$node:$ifc" --lab "$lab" -w "$out/$kind.pcap" --duration 50s 2>"$out/$kind.capture.log" &
	cap_pids+=($!)
	pids+=($!)
done
for c in "${caps[@]}"; do
	kind=${c%%:*}
	for _ in $(seq 50); do
		grep -q "capturing on" "$out/$kind.capture.log" && break
		sleep 0.1
	done
done
sleep 0.5

step() { echo "== $*"; "$@" >"$out/step.log" 2>&1 || { cat "$out/step.log"; fail=1; }; }
# ping NODE ARGS...: oping on NODE, tried up to three times.
ping() {
	local node=$1
	shift
	echo "== oping $* (on $node)"
	for i in 1 2 3; do
		timeout 8 "$otb" exec --lab "$lab" "$node" -- "$tools/oping" "$@" >"$out/step.log" 2>&1 && return
		echo "   attempt $i failed"
	done
	cat "$out/step.log"
	fail=1
}
on d "$tools/irm" bind program "$tools/oping" name oping >/dev/null || fail=1
on b "$tools/irm" bind program "$tools/oping" name oping-dix >/dev/null || fail=1
"$otb" exec --lab "$lab" d -- "$tools/oping" --listen -Q >"$out/oping-d.log" 2>&1 &
pids+=($!)
"$otb" exec --lab "$lab" b -- "$tools/oping" --listen -Q >"$out/oping-b.log" 2>&1 &
pids+=($!)
sleep 0.3
ping a -n oping -c 3 -i 100ms
ping a -n oping -c 4 -i 100ms -q data
ping a -n oping-dix -c 2 -i 100ms
step "$otb" node restart b --lab "$lab"
step "$otb" node restart c --lab "$lab"
sleep 0.3
for p in "${cap_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${cap_pids[@]}"; do wait "$p" 2>/dev/null; done
cat "$out"/*.capture.log | grep frames

# The addresses of net.a and net.d.
"$otb" inspect "$lab" >"$out/inspect.txt"
addr_a=$(awk '$1 == "net.a" {print $3}' "$out/inspect.txt")
addr_d=$(awk '$1 == "net.d" {print $3}' "$out/inspect.txt")
echo "net.a is $addr_a, net.d is $addr_d"

ts() { tshark -n -r "$1" -X lua_script:"$lua" "${@:2}" 2>>"$out/tshark.err"; }
checks=0
check() { # check DESCRIPTION COMMAND...: the command's output must be non-empty
	local what=$1
	shift
	checks=$((checks + 1))
	local got
	got=$("$@")
	if [ -n "$got" ]; then
		printf '  ok    %s\n' "$what"
	else
		printf '  FAIL  %s\n' "$what"
		fail=1
	fi
}
count() { # count FILE FILTER [MIN]: print the count if at least MIN frames match
	local n
	n=$(ts "$1" -Y "$2" | wc -l)
	[ "$n" -ge "${3:-1}" ] && echo "$n"
}
# field FILE FILTER FIELD VALUE: some frame matching FILTER has FIELD = VALUE
field() { ts "$1" -Y "$2" -T fields -e "$3" | tr ',' '\n' | grep -Fx -- "$4" | head -1; }
# seqno_run FILE: an FRCT flow whose DATA seqnos go up by one, at least 3
seqno_run() {
	ts "$1" -Y "ouroboros_frct.flags.data == 1" -T fields -e ouroboros_dt.eid -e ouroboros_frct.seqno |
		awk '{ if (($1 in last) && $2 == last[$1] + 1) run[$1]++; last[$1] = $2 }
			END { for (e in run) if (run[e] >= 2) { print e, run[e] + 1; exit } }'
}
clean() { # no Lua error and no malformed packet (nor error expert of ours) in the -V output
	ts "$1" -V >"$out/$(basename "$1" .pcap).txt"
	grep -qE "Lua Error|Malformed" "$out/$(basename "$1" .pcap).txt" || echo clean
}

for k in dix udp llc; do
	[ -s "$out/$k.pcap" ] || { echo "no capture $k.pcap"; fail=1; }
done

echo "== eth-dix (a:e1)"
f=$out/dix.pcap
check "no Lua error or malformed packet" clean "$f"
check "eth-dix management: FLOW_REQ for net.a" field "$f" "ouroboros_dix.mgmt.code == 0" ouroboros_dix.mgmt.name net.a
check "eth-dix management: FLOW_REPLY with an OAP response" count "$f" 'ouroboros_dix.mgmt.code == 1 && ouroboros_oap.kind == "response"'
check "cep_msg for Enrollment, Management, Data Transfer" \
	bash -c "[ \$(tshark -n -r $f -X lua_script:$lua -T fields -e ouroboros_cep.comp_name 2>/dev/null | sort -u | grep -cE '^(Enrollment|Management|Data Transfer)$') -eq 3 ] && echo 3"
check "enrollment: enroll_req_msg" field "$f" ouroboros_enroll ouroboros_enroll.type enroll_req_msg
check "enrollment: enroll_resp_msg for layer net" field "$f" 'ouroboros_enroll.type == "enroll_resp_msg"' ouroboros_enroll.layer net
check "enrollment: enroll_ack_msg" field "$f" ouroboros_enroll ouroboros_enroll.type enroll_ack_msg
check "link state: LSUs from net.a ($addr_a)" field "$f" ouroboros_ls ouroboros_ls.src "$addr_a"
check "DHT messages" count "$f" ouroboros_dht.code 2
check "DHT on a flow known from its cep_msg" count "$f" '!ouroboros.heuristic && ouroboros_dht'
check "DT on a flow found by shape (made before the capture)" count "$f" 'ouroboros.heuristic && ouroboros_dt' 
check "flow allocator: FLOW_REQ for oping from net.a" field "$f" 'ouroboros_fa.name == "oping"' ouroboros_fa.s_addr "$addr_a"
check "DT PCI of that FLOW_REQ: dst = net.d ($addr_d)" field "$f" 'ouroboros_fa.name == "oping" && ouroboros_fa.code == 0' ouroboros_dt.dst "$addr_d"
check "flow allocator: FLOW_REPLY" count "$f" "ouroboros_fa.code == 1"
check "OAP request in the FLOW_REQ" count "$f" 'ouroboros_fa.code == 0 && ouroboros_oap.kind == "request"'
check "FRCT: a flow's DATA seqnos go up by one" seqno_run "$f"
check "FRCT: ACKs" count "$f" "ouroboros_frct.flags.ack == 1"
check "oping over net: ECHO_REPLY to net.a" field "$f" "ouroboros_oping.type == 1" ouroboros_dt.dst "$addr_a"
check "oping-dix over eth-ab alone: application flow" count "$f" '!ouroboros_dt && ouroboros_oping && ouroboros.flow == "oping-dix"'

echo "== udp4 (b:u0)"
f=$out/udp.pcap
check "no Lua error or malformed packet" clean "$f"
check "udp management: FLOW_REQ for net.b or net.c" bash -c \
	"tshark -n -r $f -X lua_script:$lua -Y 'ouroboros_udp.mgmt.code == 1' -T fields -e ouroboros_udp.mgmt.name 2>/dev/null | grep -E '^net\.[bc]$' | head -1"
check "udp management: FLOW_REPLY" count "$f" "ouroboros_udp.mgmt.code == 2"
check "DT on a flow known from its cep_msg" count "$f" '!ouroboros.heuristic && ouroboros_dt' 
check "cep_msg" count "$f" ouroboros_cep
check "enrollment over udp4: enroll_resp_msg for layer net" field "$f" 'ouroboros_enroll.type == "enroll_resp_msg"' ouroboros_enroll.layer net
check "link state" count "$f" ouroboros_ls
check "DT PCI to net.d ($addr_d)" field "$f" ouroboros_dt ouroboros_dt.dst "$addr_d"
check "FRCT" count "$f" ouroboros_frct

echo "== eth-llc (c:e1)"
f=$out/llc.pcap
check "no Lua error or malformed packet" clean "$f"
check "eth-llc management: FLOW_REQ" count "$f" "ouroboros_llc.mgmt.code == 0"
check "eth-llc management: FLOW_REPLY" count "$f" "ouroboros_llc.mgmt.code == 1"
check "cep_msg for Management" field "$f" ouroboros_cep ouroboros_cep.comp_name Management
check "link state" count "$f" ouroboros_ls
check "DT PCI to net.d ($addr_d)" field "$f" ouroboros_dt ouroboros_dt.dst "$addr_d"
check "flow allocator FLOW_REQ for oping" field "$f" "ouroboros_fa.code == 0" ouroboros_fa.name oping
check "FRCT" count "$f" ouroboros_frct

echo "== heuristics (eth-dix capture from after its last cep_msg: no flow starts)"
lastcep=$(ts "$out/dix.pcap" -Y ouroboros_cep -T fields -e frame.number | tail -1)
editcap -r "$out/dix.pcap" "$out/dix-late.pcap" "$((${lastcep:-0} + 1))-1000000" >/dev/null 2>&1 || fail=1
f=$out/dix-late.pcap
check "no Lua error or malformed packet" clean "$f"
check "DT PCI found by shape" count "$f" 'ouroboros_dt && ouroboros.heuristic'
check "LSU found by shape" count "$f" 'ouroboros_ls && ouroboros.heuristic'

if [ -s "$out/tshark.err" ] && grep -qi "lua" "$out/tshark.err"; then
	echo "tshark said:"
	cat "$out/tshark.err"
	fail=1
fi
if [ "$fail" -eq 0 ]; then
	echo "check-dissector: all $checks checks passed"
else
	echo "check-dissector: FAILED (outputs in $out)"
fi
