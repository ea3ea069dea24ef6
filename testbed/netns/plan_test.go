package netns

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/topo"
)

func load(t *testing.T, name string) *topo.Topology {
	t.Helper()
	tp, err := topo.Load("../../topologies/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// lines renders steps as "node: step" lines, those of one layer if given.
func lines(st []Step, layer string) []string {
	var l []string
	for _, s := range st {
		if layer == "" || s.Layer == layer {
			l = append(l, s.Node+": "+s.String())
		}
	}
	return l
}

// TestStepsDefault: the unicast layer of the default topology comes up
// hop by hop: created and bound everywhere, bootstrapped on a, then b, c
// and d each register in their lower layers, enroll through the member
// before them and connect to it (management, then data transfer).
func TestStepsDefault(t *testing.T) {
	st := Steps(load(t, "default"))
	want := []string{
		"a: create IPCP net.a (unicast)",
		"b: create IPCP net.b (unicast)",
		"c: create IPCP net.c (unicast)",
		"d: create IPCP net.d (unicast)",
		"a: create name net.a", "a: bind net.a to net.a", "a: create name net", "a: bind net to net.a",
		"b: create name net.b", "b: bind net.b to net.b", "b: create name net", "b: bind net to net.b",
		"c: create name net.c", "c: bind net.c to net.c", "c: create name net", "c: bind net to net.c",
		"d: create name net.d", "d: bind net.d to net.d", "d: create name net", "d: bind net to net.d",
		"a: bootstrap net.a in net (unicast, SHA3_256, routing link-state, ca mb-ecn, ls update/timeo/recalc 15/60/4 s)",
		"a: register net.a in eth-ab (eth-ab.a)", "a: register net in eth-ab (eth-ab.a)",
		"b: register net.b in eth-ab (eth-ab.b)", "b: register net in eth-ab (eth-ab.b)",
		"b: register net.b in udp-bc (udp-bc.b)", "b: register net in udp-bc (udp-bc.b)",
		"b: enroll net.b via net.a", "b: connect net.b to net.a (mgmt)", "b: connect net.b to net.a (dt)",
		"c: register net.c in udp-bc (udp-bc.c)", "c: register net in udp-bc (udp-bc.c)",
		"c: register net.c in llc-cd (llc-cd.c)", "c: register net in llc-cd (llc-cd.c)",
		"c: enroll net.c via net.b", "c: connect net.c to net.b (mgmt)", "c: connect net.c to net.b (dt)",
		"d: register net.d in llc-cd (llc-cd.d)", "d: register net in llc-cd (llc-cd.d)",
		"d: enroll net.d via net.c", "d: connect net.d to net.c (mgmt)", "d: connect net.d to net.c (dt)",
	}
	if diff := cmp.Diff(want, lines(st, "net")); diff != "" {
		t.Errorf("net's steps (-want +got):\n%s", diff)
	}
	// Shims first, then net, then the names of the file, node by node.
	var layers []string
	for _, s := range st {
		if len(layers) == 0 || layers[len(layers)-1] != s.Layer {
			layers = append(layers, s.Layer)
		}
	}
	if diff := cmp.Diff([]string{"eth-ab", "udp-bc", "llc-cd", "net", ""}, layers); diff != "" {
		t.Errorf("layer order (-want +got):\n%s", diff)
	}
	all := lines(st, "")
	wantNames := []string{
		"c: create name oping-udp", "c: register oping-udp in udp-bc (udp-bc.c)",
		"d: create name operf", "d: register operf in net (net.d)",
		"d: create name oping", "d: register oping in net (net.d)",
	}
	if diff := cmp.Diff(wantNames, all[len(all)-6:]); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// TestStepsUDPStatic: a UDP layer's IPCPs learn every name the other end
// registers in it: the file's, and the upper layer's IPCP and layer names.
func TestStepsUDPStatic(t *testing.T) {
	for _, s := range Steps(load(t, "default")) {
		if s.Op != OpBootstrap || s.Layer != "udp-bc" {
			continue
		}
		got := map[string]string{}
		for name, a := range s.Conf.UDP.Static {
			got[name] = a.String()
		}
		var want map[string]string
		switch s.Node {
		case "b": // c is 198.18.0.2
			want = map[string]string{"oping-udp": "198.18.0.2", "operf-udp": "198.18.0.2", "net.c": "198.18.0.2", "net": "198.18.0.2"}
		case "c":
			want = map[string]string{"net.b": "198.18.0.1", "net": "198.18.0.1"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("static entries of udp-bc.%s (-want +got):\n%s", s.Node, diff)
		}
	}
}

// TestStepsBroadcastNested: a broadcast layer connects data transfer
// only; a layer over a unicast layer registers in that layer's IPCP.
func TestStepsBroadcastNested(t *testing.T) {
	st := Steps(load(t, "lan-broadcast"))
	for _, s := range st {
		if s.Layer == "bc" && s.Op == OpConnect && s.Comp != ipcp.CompDT {
			t.Errorf("broadcast step %v: want data transfer only", s)
		}
		if s.Layer == "bc" && s.Op == OpBootstrap && s.Conf.Unicast != nil {
			t.Errorf("broadcast bootstrap %v has a unicast configuration", s)
		}
	}
	if got := lines(Steps(load(t, "star")), "net"); !slices.Contains(got, "s1: connect net.s1 to net.hub (dt, qos raw-voice)") || !slices.Contains(got, "s1: connect net.s1 to net.hub (mgmt)") {
		t.Errorf("star's steps do not connect data transfer with raw-voice and management with raw:\n%s", strings.Join(got, "\n"))
	}
	got := lines(st, "bc")
	for _, w := range []string{"d: enroll bc.d via bc.a", "d: connect bc.d to bc.a (dt)", "d: register bc in lan (lan.d)"} {
		if !slices.Contains(got, w) {
			t.Errorf("bc's steps lack %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
	got = lines(Steps(load(t, "nested")), "top")
	for _, w := range []string{"c: register top.c in low (low.c)", "c: enroll top.c via top.a", "c: connect top.c to top.a (dt)"} {
		if !slices.Contains(got, w) {
			t.Errorf("top's steps lack %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// TestStepsConf: the unicast configuration carries the file's policies.
func TestStepsConf(t *testing.T) {
	for _, s := range Steps(load(t, "ring")) {
		if s.Op != OpBootstrap || s.Layer != "net" {
			continue
		}
		u := s.Conf.Unicast
		if u == nil || u.Routing != ipcp.RoutingLFA || u.TUpdate != time.Second || u.TTimeo != 2*time.Second || u.TRecalc != time.Second || u.Cong != ipcp.CongMBECN ||
			u.AddrSize != 4 || u.EIDSize != 8 || u.MaxTTL != 60 || s.Type != ipcp.Unicast {
			t.Errorf("ring's net bootstrap conf = %v", s.Conf)
		}
		if s.Node != "a" {
			t.Errorf("net bootstrapped on %s, want a", s.Node)
		}
	}
	for _, s := range Steps(load(t, "star")) {
		if s.Op == OpBootstrap && s.Layer == "net" && (s.Conf.Unicast.Cong != ipcp.CongNone || s.Conf.Unicast.Routing != ipcp.RoutingECMP) {
			t.Errorf("star's net: ca none and ecmp expected, got %v", s.Conf)
		}
	}
}

// TestStepsDone: every member of an upper layer has one progress line.
func TestStepsDone(t *testing.T) {
	var done []string
	for _, s := range Steps(load(t, "ring")) {
		if s.Done != "" && s.Layer == "net" {
			done = append(done, s.Done)
		}
	}
	want := []string{
		"net.a      bootstrapped net (unicast)",
		"net.b      enrolled via net.a, connected to net.a",
		"net.d      enrolled via net.a, connected to net.a",
		"net.c      enrolled via net.b, connected to net.b, net.d",
	}
	if diff := cmp.Diff(want, done); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

// TestLinkEnds: what otb link set names.
func TestLinkEnds(t *testing.T) {
	l := &Lab{Name: "x", Links: []LinkState{
		{ID: "a:e1--b:e1", Type: "veth", Ends: []LinkEnd{{Node: "a", NS: "o7s-x-a", Iface: "e1"}, {Node: "b", NS: "o7s-x-b", Iface: "e1"}}},
		{ID: "lan0", Type: "bridge", Bridge: "lan0",
			Ends:  []LinkEnd{{Node: "a", Iface: "e2"}, {Node: "c", Iface: "e1"}},
			Ports: []LinkEnd{{Node: "lan0", Iface: "a-e2"}, {Node: "lan0", Iface: "c-e1"}}},
	}}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"a:e1--b:e1", []string{"a:e1", "b:e1"}},
		{"b:e1--a:e1", []string{"a:e1", "b:e1"}},
		{"b:e1", []string{"a:e1", "b:e1"}},
		{"lan0", []string{"a:e2", "c:e1", "lan0:a-e2", "lan0:c-e1"}},
		{"c:e1", []string{"c:e1", "lan0:c-e1"}},
	} {
		ends, err := l.linkEnds(tc.id)
		if err != nil {
			t.Errorf("linkEnds(%s): %v", tc.id, err)
			continue
		}
		var got []string
		for _, e := range ends {
			got = append(got, e.Node+":"+e.Iface)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("linkEnds(%s) (-want +got):\n%s", tc.id, diff)
		}
	}
	if _, err := l.linkEnds("a:e9--b:e9"); err == nil || !strings.Contains(err.Error(), "links: a:e1--b:e1, lan0") {
		t.Errorf("unknown link: err = %v", err)
	}
	if _, err := (&Lab{Name: "y"}).linkEnds("a:e1--b:e1"); err == nil {
		t.Error("a lab without recorded links: no error")
	}
}
