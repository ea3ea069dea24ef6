package topo_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
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
	for _, tc := range ruleCases {
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
	for _, ly := range tp.Layers {
		l := tp.LinkByID(ly.Link)
		if l == nil {
			t.Fatalf("layer %s is on link %q, which LinkByID does not find", ly.Name, ly.Link)
		}
		if len(ly.Members) == 0 {
			t.Fatalf("layer %s has no members", ly.Name)
		}
		for _, m := range ly.Members {
			if n := tp.Node(m); n == nil || n.Kind != topo.KindNode {
				t.Fatalf("layer %s has member %q, which is not a node of kind node", ly.Name, m)
			}
			if e := ly.EndpointOf(tp, m); e.Node != m {
				t.Fatalf("layer %s: EndpointOf(%s) = %+v", ly.Name, m, e)
			}
		}
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
