package otb

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := Main(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage: otb COMMAND"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"deploy", "--dry-run"}, 2, "usage: otb deploy FILE"},
		{[]string{"graph"}, 2, "usage: otb graph FILE"},
		{[]string{"graph", "../../topologies/lan.yaml", "--format", "png"}, 2, "usage: otb graph FILE"},
		{[]string{"inspect", "-o", "yaml"}, 2, "usage: otb inspect"},
		{[]string{"deploy", "/nonexistent.yaml", "--dry-run"}, 1, "nonexistent.yaml"},
	} {
		code, out, errw := run(tc.args...)
		if code != tc.code || !strings.Contains(out+errw, tc.want) {
			t.Errorf("otb %v = %d, %q %q; want %d and %q", tc.args, code, out, errw, tc.code, tc.want)
		}
	}
	if code, out, _ := run("help"); code != 0 || !strings.Contains(out, "deploy FILE") {
		t.Errorf("otb help = %d, %q", code, out)
	}
}

func TestDryRunAndGraph(t *testing.T) {
	code, out, errw := run("deploy", "../../topologies/default.yaml", "--dry-run")
	if code != 0 || !strings.Contains(out, "netns o7s-default-a") || !strings.Contains(out, "a:u0 198.18.0.1/30") ||
		!strings.Contains(out, "layer  llc-ab") {
		t.Fatalf("dry run = %d\n%s%s", code, out, errw)
	}
	code, out, _ = run("graph", "../../topologies/lan.yaml", "--format", "mermaid")
	if code != 0 || !strings.HasPrefix(out, "graph LR") {
		t.Fatalf("graph mermaid = %d\n%s", code, out)
	}
	code, out, _ = run("graph", "../../topologies/lan.yaml")
	if code != 0 || !strings.Contains(out, "graph") || !strings.Contains(out, "lan0") {
		t.Fatalf("graph dot = %d\n%s", code, out)
	}
}

func TestNeedsRoot(t *testing.T) {
	for args, want := range map[string]bool{
		"deploy f": true, "deploy f --dry-run": false, "destroy x": true, "exec a -- true": true,
		"gc": true, "inspect": false, "graph f": false, "help": false,
	} {
		if got := needsRoot(strings.Fields(args)); got != want {
			t.Errorf("needsRoot(%s) = %v, want %v", args, got, want)
		}
	}
}
