package topo

import (
	"os"
	"strings"
	"testing"
)

func TestRuntimeMixed(t *testing.T) {
	src := "name: mix\nruntime: docker\nnodes:\n" +
		"  a: {}\n" +
		"  b: {runtime: netns}\n" +
		"  c: {image: me/node:1, cpus: 0.5, memory: 128m}\n" +
		"  lan: {kind: bridge}\n" +
		"  h: {kind: host}\n" +
		"links:\n  - {endpoints: [a:e1, b:e1]}\n  - {type: bridge, bridge: lan, endpoints: [b:e2, c:e1, h:e1]}\n"
	tp, err := Parse("mix.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Node{
		"a":   {Runtime: RuntimeDocker},
		"b":   {Runtime: RuntimeNetns},
		"c":   {Runtime: RuntimeDocker, Image: "me/node:1", CPUs: 0.5, Memory: 128 << 20},
		"lan": {Runtime: RuntimeNetns},
		"h":   {Runtime: RuntimeNetns},
	}
	for _, n := range tp.Nodes {
		w := want[n.Name]
		if n.Runtime != w.Runtime || n.Image != w.Image || n.CPUs != w.CPUs || n.Memory != w.Memory {
			t.Errorf("node %s: runtime %s image %q cpus %v memory %d; want %s %q %v %d", n.Name, n.Runtime, n.Image, n.CPUs, n.Memory, w.Runtime, w.Image, w.CPUs, w.Memory)
		}
	}
}

// A tunnel's gateways run ovpn in their namespace: not on a docker node.
func TestRuntimeDockerGateway(t *testing.T) {
	b, err := os.ReadFile("../../topologies/iplan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "  g2: {ip:", "  g2: {runtime: docker, ip:", 1)
	_, err = Parse("iplan.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "client end on g2, a docker node; ovpn runs on gateways in network namespaces only: give g2 runtime: netns") {
		t.Fatalf("Parse: %v; want the docker gateway refused", err)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "64m": 64 << 20, "1G": 1 << 30, "512MiB": 512 << 20, "10kb": 10 << 10, "7b": 7} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1m", "0", "1.5g", "9999999999999g", "12q"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d; want an error", in, got)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`oping -n oping -c 10`:  {"oping", "-n", "oping", "-c", "10"},
		`  sh -c 'echo a b'  `:  {"sh", "-c", "echo a b"},
		`x "a \"q\" b" c\ d ''`: {"x", `a "q" b`, "c d", ""},
		`oping --listen`:        {"oping", "--listen"},
	} {
		got, err := SplitCommand(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`a 'b`, `a "b`} {
		if _, err := SplitCommand(in); err == nil {
			t.Errorf("SplitCommand(%q): no error", in)
		}
	}
}
