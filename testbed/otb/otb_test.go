package otb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
		{[]string{"graph", "../../topologies/ring.yaml", "--live"}, 2, "usage: otb graph FILE [--layer L [--live [--lab LAB]]]"},
		{[]string{"graph", "../../topologies/ring.yaml", "--lab", "x"}, 2, "usage: otb graph FILE"},
		{[]string{"deploy", "../../topologies/ring.yaml", "--lab", "a-b", "--dry-run"}, 1, "lab name \"a-b\" has a '-'"},
		{[]string{"graph", "../../topologies/ring.yaml", "--layer", "nope"}, 1, `has no layer "nope" (layers: dix-a-b, dix-b-c, dix-c-d, dix-d-a, net)`},
		{[]string{"graph", "../../topologies/ring.yaml", "--layer", "dix-a-b", "--live"}, 1, "--live shows adjacencies of unicast and broadcast layers; dix-a-b is eth-dix"},
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

// TestLinkUsage: otb link set checks its arguments before it needs a lab
// (as root; without root it stops at that).
func TestLinkUsage(t *testing.T) {
	if os.Geteuid() != 0 {
		code, _, errw := run("link", "set", "a:e1--b:e1", "--state", "down")
		if code != 1 || !strings.Contains(errw, "needs root") {
			t.Errorf("otb link set without root = %d, %q", code, errw)
		}
		return
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"link"}, 2, "usage: otb link set LINK [--state down|up|blackhole] [--from NODE] [--loss P] [--duplicate P] [--rate R] [--clear] [--lab LAB]\n       usage: otb link show [LINK] [--lab LAB] [-o json]"},
		{[]string{"link", "set", "a:e1--b:e1"}, 2, "say what to change: --state, a knob (--loss, --duplicate, --rate) or --clear"},
		{[]string{"link", "set", "a:e1--b:e1", "--state", "sideways"}, 2, "usage: otb link set"},
		{[]string{"link", "set", "a:e1--b:e1", "--state", "up", "--from", "a"}, 2, "--from goes with a knob or --clear"},
		{[]string{"link", "set", "a:e1--b:e1", "--loss", "20"}, 1, `--loss: "20" has no % sign; write 20%`},
		{[]string{"link", "set", "a:e1--b:e1", "--rate", "10mbps"}, 1, `--rate: "10mbps": write a rate in bits per second, such as 10mbit`},
		{[]string{"link", "set", "a:e1--b:e1", "--loss-burst", "x"}, 1, `--loss-burst: "x" is not a burst length`},
		{[]string{"link", "show", "a:e1--b:e1", "-o", "yaml"}, 2, "usage: otb link show"},
		{[]string{"link", "show", "--lab", "nolabhere"}, 1, "no lab nolabhere is deployed"},
		{[]string{"link", "set", "a:e1--b:e1", "--state", "down", "--lab", "nolabhere"}, 1, "no lab nolabhere is deployed"},
		{[]string{"link", "set", "a:e1--b:e1", "--loss", "1%", "--lab", "nolabhere"}, 1, "no lab nolabhere is deployed"},
	} {
		code, out, errw := run(tc.args...)
		if code != tc.code || !strings.Contains(out+errw, tc.want) {
			t.Errorf("otb %v = %d, %q %q; want %d and %q", tc.args, code, out, errw, tc.code, tc.want)
		}
	}
}

// TestHelp: the help names every command and flag it has, and does not
// call implemented ones unavailable.
func TestHelp(t *testing.T) {
	_, out, _ := run("help")
	for _, w := range []string{"deploy FILE [--lab LAB] [--runtime netns|docker|swarm] [--swarm S] [--no-wait] [--dry-run]", "swarm (up N | down | ls | stop E | start E | load) [--name S]", "runtime: swarm", "image [--tag T] [--prune]", "logs [--lab LAB] NODE [-n N] [-f]", "runtime: docker", "destroy (FILE | LAB | --all) [--ignore-missing]", "inspect [LAB] [-o json]", "exec [--lab LAB] NODE -- CMD",
		"graph FILE [--layer L [--live [--lab LAB]]] [--format dot|mermaid]", "wait [LAB] [--timeout D]", "gen SHAPE N [--name LAB] [--seed S]", "link set LINK [--state down|up|blackhole] [--from NODE] [--loss P] [--duplicate P]", "story run FILE", "link show [LINK] [--lab LAB] [-o json]", "node (stop|start|restart) NODE [--lab LAB] [--kill] [--no-wait]", "gc", "unicast and broadcast", "impl: reference", "make interop IMAGE="} {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks %q", w)
		}
	}
	notYet := out[strings.Index(out, "Not yet:"):]
	for _, w := range []string{"link set", "link show", "impairment", "unicast", "broadcast", "node stop", "docker", "story", "profile", "swarm"} {
		if strings.Contains(notYet, w) {
			t.Errorf("help says %q is not available yet:\n%s", w, notYet)
		}
	}
}

// TestLayerGraph draws one layer.
func TestLayerGraph(t *testing.T) {
	code, out, errw := run("graph", "../../topologies/default.yaml", "--layer", "net")
	if code != 0 || !strings.Contains(out, `"b" -- "a" [label="eth-ab\nb enrolls via a", dir=forward, style=bold];`) {
		t.Fatalf("graph --layer net = %d\n%s%s", code, out, errw)
	}
	code, out, _ = run("graph", "../../topologies/lan-broadcast.yaml", "--layer", "bc", "--format", "mermaid")
	if code != 0 || !strings.Contains(out, `n3 ==>|"lan<br>d enrolls via a"| n0`) {
		t.Fatalf("graph --layer bc mermaid = %d\n%s", code, out)
	}
}

func TestDryRunAndGraph(t *testing.T) {
	code, out, errw := run("deploy", "../../topologies/default.yaml", "--dry-run")
	for _, w := range []string{"netns o7s-default-a", "b:u0 198.18.0.1/30", "layer  llc-cd", "over eth-ab, udp-bc, llc-cd: a, b, c, d; enrollment minimal, connect minimal",
		"c  enroll net.c via net.b", "d  connect net.d to net.c (dt)", "b  register net.b in udp-bc (udp-bc.b)", "a  bootstrap net.a in net (unicast"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Fatalf("dry run = %d, want %q in\n%s%s", code, w, out, errw)
		}
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
		"gc": true, "inspect": false, "graph f": false, "help": false, "link set x --state down": true,
	} {
		if got := needsRoot(strings.Fields(args)); got != want {
			t.Errorf("needsRoot(%s) = %v, want %v", args, got, want)
		}
	}
}

// TestLoadStops: the commands that load a file stop when their context
// is done (SIGINT in cmd/otb), and refuse a file over the size limit
// before reading it.
func TestLoadStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"graph", "../../topologies/ring.yaml"},
		{"deploy", "../../topologies/ring.yaml", "--dry-run"},
	} {
		var out, errw bytes.Buffer
		if code := Main(ctx, args, &out, &errw); code != 1 || !strings.Contains(errw.String(), "context canceled") {
			t.Errorf("otb %v, cancelled = %d, %q; want 1 and context canceled", args, code, errw.String())
		}
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 20<<20); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	code, _, errw := run("graph", big)
	if want := "big.yaml is 20 MiB; topology files are limited to 16 MiB"; code != 1 || !strings.Contains(errw, want) {
		t.Errorf("otb graph big.yaml = %d, %q; want 1 and %q", code, errw, want)
	}
}

// TestDryRunImpair: the plan shows each link's impairment each way, and
// says which links go through an impairment relay.
func TestDryRunImpair(t *testing.T) {
	code, out, errw := run("deploy", "../../topologies/impair.yaml", "--dry-run")
	if want := "impair a->b rate 100mbit; b->a rate 50mbit"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("dry run = %d, want %q in\n%s%s", code, want, out, errw)
	}
	f := filepath.Join(t.TempDir(), "delay.yaml")
	src := "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:e1, b:e1]\n    impair: {loss: 1%, a->b: {delay: 5ms}}\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errw = run("deploy", f, "--dry-run")
	if want := "impair a->b loss 1%, delay 5ms; b->a loss 1% (through an impairment relay)"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("dry run with delay = %d, want 0 and %q in\n%s%s", code, want, out, errw)
	}
}
