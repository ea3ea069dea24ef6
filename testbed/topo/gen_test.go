package topo

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		kind     string
		n, links int
		server   string
		ttl      string
	}{
		{"line", 10, 9, "n10", ""},
		{"ring", 10, 10, "n6", ""},
		{"grid", 16, 24, "n16", ""},
		{"grid", 10, 13, "n8", ""},
		{"tree", 15, 14, "n8", ""},
		{"random", 40, 49, "", ""},
		{"line", 100, 99, "n100", "max_ttl: 99"},
	} {
		b, err := Generate(tc.kind, tc.n, "gen", 7)
		if err != nil {
			t.Fatalf("%s %d: %v", tc.kind, tc.n, err)
		}
		top, err := Parse("gen.yaml", b)
		if err != nil {
			t.Fatalf("%s %d: the generated file does not load: %v\n%s", tc.kind, tc.n, err, b)
		}
		if len(top.Nodes) != tc.n || len(top.Links) != tc.links {
			t.Errorf("%s %d: %d nodes, %d links; want %d, %d", tc.kind, tc.n, len(top.Nodes), len(top.Links), tc.n, tc.links)
		}
		var net *Layer
		for _, ly := range top.Layers {
			if ly.Name == "net" {
				net = ly
			}
		}
		if net == nil || len(net.Members) != tc.n || len(net.Steps) != tc.n {
			t.Fatalf("%s %d: layer net = %+v", tc.kind, tc.n, net)
		}
		adjacencies := 0
		for _, s := range net.Steps {
			adjacencies += len(s.Connect)
		}
		if adjacencies != tc.links {
			t.Errorf("%s %d: %d adjacencies in net, want one per link (%d)", tc.kind, tc.n, adjacencies, tc.links)
		}
		if tc.server != "" && !strings.Contains(string(b), "  "+tc.server+": {names: {oping: [net], operf: [net]}}") {
			t.Errorf("%s %d: %s does not serve oping:\n%s", tc.kind, tc.n, tc.server, b)
		}
		if tc.ttl != "" && !strings.Contains(string(b), tc.ttl) {
			t.Errorf("%s %d: no %q", tc.kind, tc.n, tc.ttl)
		}
	}
	a, _ := Generate("random", 50, "gen", 3)
	b, _ := Generate("random", 50, "gen", 3)
	c, _ := Generate("random", 50, "gen", 4)
	if string(a) != string(b) || string(a) == string(c) {
		t.Error("a random topology does not repeat with its seed, or does not change with it")
	}
}

func TestGenerateRefuses(t *testing.T) {
	for _, tc := range []struct {
		kind, name string
		n          int
		want       string
	}{
		{"star", "gen", 5, `unknown shape "star"`},
		{"line", "gen", 1, "1 nodes: a generated topology has 2 to"},
		{"line", "Bad", 5, `lab name "Bad" is not valid`},
	} {
		if _, err := Generate(tc.kind, tc.n, tc.name, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%s, %d, %s) = %v, want %q", tc.kind, tc.n, tc.name, err, tc.want)
		}
	}
}
