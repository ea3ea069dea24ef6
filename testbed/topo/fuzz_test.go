package topo_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/o7s/ouroboros/testbed/topo"
)

// FuzzParse: Parse never panics, answers the same twice, and either gives
// a topology whose references hold or an ErrorList of well-formed problems.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../topologies/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range append(ruleCases, upperCases...) {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte("a: &x {<<: *x}\nname: t\nnodes: {b: *x}\n")) // a merge of itself
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := topo.Parse("f.yaml", data)
		_, err2 := topo.Parse("f.yaml", data)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Parse is not deterministic:\n%v\n---\n%v", err, err2)
		}
		if err != nil {
			checkProblems(t, err)
			return
		}
		checkTopology(t, tp)
	})
}

func checkProblems(t *testing.T, err error) {
	var list topo.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("err = %v (%T), want a non-empty ErrorList", err, err)
	}
	for _, e := range list {
		if e.File != "f.yaml" || e.Msg == "" || e.Line < 0 || e.Col < 0 {
			t.Fatalf("malformed problem %+v", e)
		}
	}
}

func checkTopology(t *testing.T, tp *topo.Topology) {
	seen := map[string]bool{} // layers before this one
	for _, ly := range tp.Layers {
		if len(ly.Members) == 0 {
			t.Fatalf("layer %s has no members", ly.Name)
		}
		for _, m := range ly.Members {
			if n := tp.Node(m); n == nil || n.Kind != topo.KindNode {
				t.Fatalf("layer %s has member %q, which is not a node of kind node", ly.Name, m)
			}
		}
		if ly.Upper() {
			checkUpper(t, tp, ly, seen)
		} else {
			checkShim(t, tp, ly)
		}
		seen[ly.Name] = true
	}
	for _, l := range tp.Links {
		for _, e := range l.Endpoints {
			if tp.Node(e.Node) == nil || e.Iface == "" || len(e.Iface) > topo.MaxIfaceName {
				t.Fatalf("link %s has a bad endpoint %+v", l.ID(), e)
			}
			if e.Addr.IsValid() != (l.Type == topo.LinkUDP) {
				t.Fatalf("link %s (%s) endpoint %+v: address validity is wrong", l.ID(), l.Type, e)
			}
		}
	}
	var a, b bytes.Buffer
	if err := tp.Dot(&a); err != nil {
		t.Fatal(err)
	}
	if err := tp.Mermaid(io.MultiWriter(&b)); err != nil {
		t.Fatal(err)
	}
}

func checkShim(t *testing.T, tp *topo.Topology, ly *topo.Layer) {
	if l := tp.LinkByID(ly.Link); l == nil {
		t.Fatalf("layer %s is on link %q, which LinkByID does not find", ly.Name, ly.Link)
	}
	for _, m := range ly.Members {
		if e := ly.EndpointOf(tp, m); e.Node != m {
			t.Fatalf("layer %s: EndpointOf(%s) = %+v", ly.Name, m, e)
		}
	}
}

// checkUpper: an upper layer runs over layers before it that its members
// are in, and its steps enroll every member once, each through and
// connecting to members enrolled before it that it shares a lower layer
// with; a broadcast layer's adjacencies form a tree.
func checkUpper(t *testing.T, tp *topo.Topology, ly *topo.Layer, before map[string]bool) {
	for m, lower := range ly.Lower {
		for _, name := range lower {
			lo := tp.Layer(name)
			if !before[name] || lo == nil || !slices.Contains(lo.Members, m) || lo.Type == topo.LayerBroadcast {
				t.Fatalf("layer %s: %s's lower layer %s is not a layer before it with %s in it", ly.Name, m, name, m)
			}
		}
	}
	if len(ly.Steps) != len(ly.Members) || ly.Steps[0].Node != ly.Members[0] || ly.Steps[0].Via != "" {
		t.Fatalf("layer %s: steps %+v do not start with the bootstrapper and cover every member", ly.Name, ly.Steps)
	}
	enrolled := map[string]bool{}
	edges := 0
	for _, s := range ly.Steps[1:] {
		enrolled[ly.Steps[0].Node] = true
		if enrolled[s.Node] || !enrolled[s.Via] || len(ly.Shared(s.Node, s.Via)) == 0 {
			t.Fatalf("layer %s: step %+v enrolls twice, or through a member not enrolled or not a neighbour", ly.Name, s)
		}
		for _, p := range s.Connect {
			if !enrolled[p] || len(ly.Shared(s.Node, p)) == 0 {
				t.Fatalf("layer %s: step %+v connects to a member not enrolled or not a neighbour", ly.Name, s)
			}
		}
		edges += len(s.Connect)
		enrolled[s.Node] = true
	}
	if ly.Type == topo.LayerBroadcast && edges != len(ly.Members)-1 {
		t.Fatalf("broadcast layer %s has %d adjacencies among %d members: not a tree", ly.Name, edges, len(ly.Members))
	}
	if (ly.Type == topo.LayerUnicast) != (ly.Policies != nil) {
		t.Fatalf("layer %s (%s): policies %+v", ly.Name, ly.Type, ly.Policies)
	}
	g := tp.LayerGraph(ly.Name)
	var a, b bytes.Buffer
	if g.Dot(&a) != nil || g.Mermaid(&b) != nil {
		t.Fatal("layer graph")
	}
}

// TestTruncated parses every prefix of the example topologies: each gives
// a topology or well-formed problems, never a panic.
func TestTruncated(t *testing.T) {
	paths, _ := filepath.Glob("../../topologies/*.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(data) {
			tp, err := topo.Parse("f.yaml", data[:i])
			if err != nil {
				checkProblems(t, err)
				continue
			}
			checkTopology(t, tp)
		}
	}
}
