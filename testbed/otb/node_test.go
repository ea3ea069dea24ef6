package otb

import (
	"os"
	"strings"
	"testing"
)

// TestNodeUsage: otb node checks its verb and flags before it looks for a
// lab, and its help needs no root.
func TestNodeUsage(t *testing.T) {
	code, out, _ := run("node", "--help")
	if code != 0 || !strings.Contains(out, nodeUse) || !strings.Contains(out, "SIGKILL") {
		t.Errorf("otb node --help = %d, %q", code, out)
	}
	if os.Geteuid() != 0 {
		code, _, errw := run("node", "stop", "a")
		if code != 1 || !strings.Contains(errw, "needs root") {
			t.Errorf("otb node stop without root = %d, %q", code, errw)
		}
		return
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"node"}, 2, nodeUse},
		{[]string{"node", "pause", "a"}, 2, nodeUse},
		{[]string{"node", "stop"}, 2, nodeUse},
		{[]string{"node", "stop", "a", "b"}, 2, nodeUse},
		{[]string{"node", "start", "a", "--kill"}, 2, "--kill goes with stop and restart"},
		{[]string{"node", "stop", "a", "--no-wait"}, 2, "--no-wait goes with start and restart"},
		{[]string{"node", "restart", "a", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"node", "restart", "a", "--kill", "--lab", "nosuchlab0"}, 1, "no lab nosuchlab0 is deployed"},
	} {
		code, out, errw := run(tc.args...)
		if code != tc.code || !strings.Contains(out+errw, tc.want) {
			t.Errorf("otb %v = %d, %q %q; want %d and %q", tc.args, code, out, errw, tc.code, tc.want)
		}
	}
}
