#!/usr/bin/env bash
# make bench-scale: generated labs of growing size (otb gen SHAPE N), each
# next to the kernel's own cost of making the same namespaces and veths in
# the same run. For each shape and size: the kernel's time (ip: one batch
# making the namespaces and veths, one ip per namespace bringing its
# interfaces up, one batch deleting them), otb's deploy (namespaces, links,
# onodes, layers) and ready (routing converged: otb wait) times, the ratio
# of ready to the kernel's, onode's resident memory per node, oping from up
# to 100 nodes (every node when fewer) to the name on the far side, each
# once (a first try), and destroy. Needs root. Every lab and namespace is
# this run's own (a random tag), removed whatever happens.
#   scripts/bench-scale.sh BIN "line ring grid" "10 100"
set -uo pipefail
bin=$(cd "${1:-bin}" && pwd)
shapes=${2:-"line grid"}
sizes=${3:-"10 100"}
otb=$bin/otb
[ "$(id -u)" -eq 0 ] || { echo "make bench-scale needs root" >&2; exit 1; }
tag=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
work=$(mktemp -d /tmp/o7s-scale.XXXXXX)
labs=()
kns=()
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for l in "${labs[@]}"; do "$otb" destroy "$l" --ignore-missing >/dev/null 2>&1; done
	for n in "${kns[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
fail=0
rows=()

# kernel FILE PREFIX: make the file's namespaces and veths with ip, bring
# them up, delete them; prints "make_ms delete_ms".
kernel() {
	local file=$1 p=$2 t0 up down
	local nodes links
	nodes=$(sed -n 's/^  \(n[0-9]*\): .*/\1/p' "$file")
	links=$(sed -n 's/^  - endpoints: \[\(n[0-9]*\):\(e[0-9]*\), \(n[0-9]*\):\(e[0-9]*\)\]/\1 \2 \3 \4/p' "$file")
	for n in $nodes; do kns+=("$p$n"); done
	t0=$(date +%s%N)
	{
		for n in $nodes; do echo "netns add $p$n"; done
		while read -r a ia b ib; do
			[ -n "$a" ] && echo "link add $ia netns $p$a type veth peer name $ib netns $p$b"
		done <<<"$links"
	} | ip -batch - || return 1
	for n in $nodes; do
		{
			echo "link set lo up"
			ip -n "$p$n" -o link show | sed -n 's/^[0-9]*: \(e[0-9]*\)@.*/link set \1 up/p'
		} | ip -n "$p$n" -batch - || return 1
	done
	up=$(ms "$t0")
	t0=$(date +%s%N)
	for n in $nodes; do echo "netns del $p$n"; done | ip -batch - || return 1
	down=$(ms "$t0")
	kns=()
	echo "$up $down"
}

for shape in $shapes; do
	for n in $sizes; do
		lab=s${shape:0:1}$n$tag
		lab=${lab:0:12}
		file=$work/$lab.yaml
		if ! "$otb" gen "$shape" "$n" --name "$lab" >"$file" 2>"$work/gen.err"; then
			echo "otb gen $shape $n: $(cat "$work/gen.err")" >&2
			fail=1
			continue
		fi
		far=$(sed -n 's/^  \(n[0-9]*\): {names: {oping.*/\1/p' "$file")
		read -r kup kdown < <(kernel "$file" "o7sk$tag-") || { echo "kernel baseline for $shape $n failed" >&2; fail=1; continue; }
		labs+=("$lab")
		t0=$(date +%s%N)
		if ! "$otb" deploy "$file" --no-wait >"$work/deploy.log" 2>&1; then
			tail -5 "$work/deploy.log" >&2
			fail=1
			continue
		fi
		dep=$(ms "$t0")
		t0=$(date +%s%N)
		"$otb" wait "$lab" --timeout 10m >/dev/null 2>&1 || { echo "$lab: not ready" >&2; fail=1; }
		ready=$(ms "$t0")
		# Resident memory of the onodes, per node.
		rss=0
		for pid in $(grep -o '"pid": [0-9]*' "/run/o7s/labs/$lab/state.json" | awk '{print $2}'); do
			kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
			rss=$((rss + ${kb:-0}))
		done
		# oping from up to 100 nodes to the far side's name, once each.
		"$otb" exec --lab "$lab" "$far" -- "$bin/irm" bind program "$bin/oping" name oping >/dev/null
		"$otb" exec --lab "$lab" "$far" -- "$bin/oping" --listen -Q >/dev/null 2>&1 &
		srv=$!
		pids+=($srv)
		sleep 0.3
		step=$(( n > 100 ? n / 100 : 1 ))
		tried=0 ok=0
		for ((i = 1; i <= n; i += step)); do
			[ "n$i" = "$far" ] && continue
			tried=$((tried + 1))
			out=$("$otb" exec --lab "$lab" "n$i" -- "$bin/oping" -n oping -c 1 -f -Q 2>&1)
			if grep -q "1 received" <<<"$out"; then
				ok=$((ok + 1))
			else
				echo "$lab: n$i -> oping: $(tail -1 <<<"$out")" >&2
			fi
		done
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
		[ "$ok" -eq "$tried" ] || fail=1
		t0=$(date +%s%N)
		"$otb" destroy "$lab" >/dev/null || fail=1
		down=$(ms "$t0")
		ratio=$(awk -v r=$((dep + ready)) -v k="$kup" 'BEGIN { printf "%.1fx", r / (k > 0 ? k : 1) }')
		rows+=("$shape $n|$kup / $kdown ms|$dep + $ready ms|$ratio|$down ms|$((rss / n / 1024)).$(((rss / n % 1024) * 10 / 1024)) MiB|$ok/$tried")
	done
done
printf '\n%-10s %-18s %-22s %-12s %-10s %-10s %-10s\n' "lab" "kernel make/del" "otb deploy + ready" "vs kernel" "destroy" "RSS/node" "oping once"
for r in "${rows[@]}"; do
	IFS='|' read -r a b c d e f g <<<"$r"
	printf '%-10s %-18s %-22s %-12s %-10s %-10s %-10s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g"
done
exit $fail
