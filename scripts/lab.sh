# Sourced by the make testbed scripts: a lab of this run's own, brought up
# from $topo with $otb, and torn down whatever happens. The caller sets
# otb and topo, and may add PIDs to pids (stopped before the destroy) and
# set fail; lab_up TARGET deploys and defines on NODE CMD... . With
# RUNTIME=docker the lab's nodes are containers (otb deploy --runtime
# docker), and $tools is where the tools are inside them.
fail=0
pids=()
. "$(dirname "${BASH_SOURCE[0]}")/operf.sh"

lab_up() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "make $1 needs root (network namespaces)" >&2
		exit 1
	fi
	# A lab name of this run's own (the file's name cut short, and six
	# random hex digits), so that a lab someone else runs from the same
	# file is never adopted or destroyed by this script.
	local base
	base=$("$otb" deploy "$topo" --dry-run | awk 'NR==1 {print $2}')
	[ -n "$base" ] || { echo "cannot read the lab name of $topo" >&2; exit 1; }
	lab="${base:0:6}$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	trap lab_cleanup EXIT INT TERM
	local rt=()
	tools=$bin
	if [ -n "${RUNTIME:-}" ]; then
		rt=(--runtime "$RUNTIME")
		[ "$RUNTIME" = docker ] && tools=/usr/bin # the image's
	fi
	echo "== otb deploy $topo --lab $lab ${rt[*]}"
	"$otb" deploy "$topo" --lab "$lab" "${rt[@]}" || { fail=1; exit; }
	echo
}

lab_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	"$otb" destroy "$lab" --ignore-missing >/dev/null || { echo "otb destroy $lab failed" >&2; fail=1; }
	left=$(ip netns list | grep -c "^o7s-$lab-" || true)
	[ "$left" -eq 0 ] || { echo "$left namespaces of lab $lab are left" >&2; fail=1; }
	if [ "${RUNTIME:-}" = docker ]; then
		left=$(docker ps -aq --filter "label=o7s.lab=$lab" | wc -l)
		[ "$left" -eq 0 ] || { echo "$left containers of lab $lab are left" >&2; fail=1; }
	fi
	exit $fail
}

on() { local node=$1; shift; "$otb" exec --lab "$lab" "$node" -- "$@"; }
