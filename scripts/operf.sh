# Sourced by the scripts that run operf servers with their output in a log.
# operf_summary LOG BEFORE prints the server's summary line ("... pps,
# ... Mbps") of the flow that ended after line BEFORE of LOG: the server
# ends a flow after a second of silence, so it waits up to 5 s for it.
operf_summary() {
	local line=
	for _ in $(seq 50); do
		line=$(tail -n +$(($2 + 1)) "$1" | grep -m1 -E ' pps' || true)
		[ -n "$line" ] && break
		sleep 0.1
	done
	echo "$line"
}
