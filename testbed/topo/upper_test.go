package topo_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo"
)

// ring4 is four nodes in a ring, with the implied layers dix-a-b, dix-b-c,
// dix-c-d and dix-d-a, a host and a bridge; the cases add layers.
const ring4 = `name: t
nodes: {a: {}, b: {}, c: {}, d: {}, h: {kind: host}, lan0: {kind: bridge}}
links:
  - endpoints: [a:e1, b:e1]
  - endpoints: [b:e2, c:e1]
  - endpoints: [c:e2, d:e1]
  - endpoints: [d:e2, a:e2]
layers:
`

// ringLower is every member's lower layers in ring4.
const ringLower = `{a: [dix-a-b, dix-d-a], b: [dix-a-b, dix-b-c], c: [dix-b-c, dix-c-d], d: [dix-c-d, dix-d-a]}`

func mustParse(t *testing.T, data string) *topo.Topology {
	t.Helper()
	tp, err := topo.Parse("t.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return tp
}

// TestStrategies: which member enrolls through which, and who connects
// to whom, for each enrollment and connect strategy on a ring.
func TestStrategies(t *testing.T) {
	type st = topo.EnrollStep
	for _, tc := range []struct {
		name, extra string
		want        []st
	}{
		{"minimal", "", []st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}},
			{Node: "d", Via: "a", Connect: []string{"a"}}, {Node: "c", Via: "b", Connect: []string{"b"}}}},
		{"connect full-mesh", "connect: full-mesh", []st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}},
			{Node: "d", Via: "a", Connect: []string{"a"}}, {Node: "c", Via: "b", Connect: []string{"b", "d"}}}},
		{"enrollment full-mesh", "enrollment: full-mesh", []st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}},
			{Node: "d", Via: "a", Connect: []string{"a"}}, {Node: "c", Via: "b", Connect: []string{"b", "d"}}}},
		{"full-mesh enrollment, manual connect", "enrollment: full-mesh, connect: manual, adjacencies: [[a, b], [c, b], [d, c]]",
			[]st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}}, {Node: "d", Via: "a"}, {Node: "c", Via: "b", Connect: []string{"b", "d"}}}},
		{"manual", "enrollment: manual, adjacencies: [[a, b], [c, b], [d, c]]", []st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}},
			{Node: "c", Via: "b", Connect: []string{"b"}}, {Node: "d", Via: "c", Connect: []string{"c"}}}},
		{"manual enrollment, full-mesh connect", "enrollment: manual, connect: full-mesh, adjacencies: [[a, b], [c, b], [d, c]]",
			[]st{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}}, {Node: "c", Via: "b", Connect: []string{"b"}},
				{Node: "d", Via: "c", Connect: []string{"c", "a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := mustParse(t, ring4+"  net: {type: unicast, members: [a, b, c, d], lower: "+ringLower+", "+tc.extra+"}\n")
			if diff := cmp.Diff(tc.want, tp.Layer("net").Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOrder: layers come in dependency order, shims first, whatever the
// order they are written in.
func TestOrder(t *testing.T) {
	tp := mustParse(t, ring4+`  top: {type: unicast, members: [a, c], lower: {a: [mid], c: [mid]}}
  bc: {type: broadcast, members: [b, c], lower: {b: [dix-b-c], c: [dix-b-c]}}
  mid: {type: unicast, members: [a, b, c], lower: {a: [low], b: [low], c: [low]}}
  low: {type: unicast, members: [a, b, c, d], lower: `+ringLower+`}
`)
	var got []string
	for _, ly := range tp.Layers {
		got = append(got, ly.Name)
	}
	want := []string{"dix-a-b", "dix-b-c", "dix-c-d", "dix-d-a", "low", "mid", "top", "bc"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer order (-want +got):\n%s", diff)
	}
	if got := tp.Layer("top").LowerLayers(); len(got) != 1 || got[0] != "mid" {
		t.Errorf("top runs over %v, want mid", got)
	}
}

// TestNamesIn: what a node registers in a lower layer.
func TestNamesIn(t *testing.T) {
	tp := mustLoad(t, "../../topologies/nested.yaml")
	for _, tc := range []struct {
		layer, node string
		want        []string
	}{
		{"dix-a-b", "a", []string{"low.a", "low"}},
		{"dix-b-c", "c", []string{"low.c", "low"}},
		{"low", "c", []string{"oping-low", "top.c", "top"}},
		{"low", "b", nil},
		{"top", "c", []string{"oping"}},
	} {
		if diff := cmp.Diff(tc.want, tp.NamesIn(tc.layer, tc.node)); diff != "" {
			t.Errorf("NamesIn(%s, %s) (-want +got):\n%s", tc.layer, tc.node, diff)
		}
	}
}

// TestPolicies: defaults, values given, pff following routing.
func TestPolicies(t *testing.T) {
	tp := mustParse(t, ring4+"  net: {type: unicast, members: [a, b, c, d], lower: "+ringLower+
		", policies: {pff: multipath, ca: none, hash: SHA3_512, dt_qos: raw-video, max_ttl: 9, ls_t_update: 2, ls_t_timeo: 7, ls_t_recalc: 1, dht_alpha: 2, dht_k: 4, dht_t_expire: 60, dht_t_refresh: 30, dht_t_replicate: 40}}\n")
	want := topo.Policies{Routing: topo.RoutingECMP, PFF: "multipath", Dir: "dht", AddrAuth: "flat", CA: topo.CANone, Hash: "SHA3_512", DTQoS: "raw-video",
		MaxTTL: 9, LSTUpdate: 2, LSTTimeo: 7, LSTRecalc: 1, DHTAlpha: 2, DHTK: 4, DHTTExpire: 60, DHTTRefresh: 30, DHTTReplicate: 40}
	if diff := cmp.Diff(&want, tp.Layer("net").Policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	d := topo.DefaultPolicies()
	if d.Routing != topo.RoutingLinkState || d.PFF != "simple" || d.CA != topo.CAMBECN || d.LSTUpdate != 15 || d.LSTTimeo != 60 || d.LSTRecalc != 4 {
		t.Errorf("defaults = %+v, want the reference's", d)
	}
	if tp := mustParse(t, ring4+"  bc: {type: broadcast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n"); tp.Layer("bc").Policies != nil {
		t.Errorf("a broadcast layer has policies %+v", tp.Layer("bc").Policies)
	}
}

// TestSingleMember: a layer of one member needs no lower layers.
func TestSingleMember(t *testing.T) {
	tp := mustParse(t, ring4+"  net: {type: unicast, members: [c]}\n")
	if diff := cmp.Diff([]topo.EnrollStep{{Node: "c"}}, tp.Layer("net").Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

// TestLayerGraph draws a layer's graph as planned and with live data.
func TestLayerGraph(t *testing.T) {
	tp := mustLoad(t, "../../topologies/ring.yaml")
	if tp.LayerGraph("nope") != nil {
		t.Error("LayerGraph of a layer that does not exist")
	}
	for _, name := range []string{"net", "dix-a-b"} {
		g := tp.LayerGraph(name)
		var dot, mmd bytes.Buffer
		if err := g.Dot(&dot); err != nil {
			t.Fatal(err)
		}
		if err := g.Mermaid(&mmd); err != nil {
			t.Fatal(err)
		}
		golden(t, "ring-"+name+".dot", dot.Bytes())
		golden(t, "ring-"+name+".mmd", mmd.Bytes())
	}
	g := tp.LayerGraph("net")
	g.Live([]topo.LiveMember{
		{Node: "a", Addr: "1.0.0.0", Neighbours: []topo.LiveNeighbour{{Addr: "2.0.0.0", Comp: "dt", Up: true}, {Addr: "4.0.0.0", Comp: "dt", Up: true}}},
		{Node: "b", Addr: "2.0.0.0", Neighbours: []topo.LiveNeighbour{{Addr: "1.0.0.0", Comp: "dt", Up: false}, {Addr: "4.0.0.0", Comp: "dt", Up: true}}},
		{Node: "c", Addr: "3.0.0.0", Neighbours: []topo.LiveNeighbour{{Addr: "9.9.9.9", Comp: "dt", Up: true}}},
		{Node: "d", Addr: "4.0.0.0"},
	})
	var dot bytes.Buffer
	if err := g.Dot(&dot); err != nil {
		t.Fatal(err)
	}
	golden(t, "ring-net-live.dot", dot.Bytes())
}
