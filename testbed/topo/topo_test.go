package topo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func mustLoad(t testing.TB, path string) *topo.Topology {
	t.Helper()
	tp, err := topo.Load(path)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return tp
}

// The example topologies and a file that exercises completion (implied
// layers with clashing names, hosts, addresses of both families).
var goldenFiles = []struct{ name, path string }{
	{"default", "../../topologies/default.yaml"},
	{"shims", "../../topologies/shims.yaml"},
	{"lan", "../../topologies/lan.yaml"},
	{"ring", "../../topologies/ring.yaml"},
	{"star", "../../topologies/star.yaml"},
	{"nested", "../../topologies/nested.yaml"},
	{"lan-broadcast", "../../topologies/lan-broadcast.yaml"},
	{"impair", "../../topologies/impair.yaml"},
	{"implied", "testdata/implied.yaml"},
}

// TestGoldenModel decodes each file and compares the completed model,
// as JSON, with its golden file.
func TestGoldenModel(t *testing.T) {
	for _, g := range goldenFiles {
		t.Run(g.name, func(t *testing.T) {
			tp := mustLoad(t, g.path)
			tp.File = filepath.Base(tp.File)
			b, err := json.MarshalIndent(tp, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, g.name+".json", append(b, '\n'))
		})
	}
}

func TestGoldenGraph(t *testing.T) {
	for _, g := range goldenFiles {
		t.Run(g.name, func(t *testing.T) {
			tp := mustLoad(t, g.path)
			var dot, mmd bytes.Buffer
			if err := tp.Dot(&dot); err != nil {
				t.Fatal(err)
			}
			if err := tp.Mermaid(&mmd); err != nil {
				t.Fatal(err)
			}
			golden(t, g.name+".dot", dot.Bytes())
			golden(t, g.name+".mmd", mmd.Bytes())
		})
	}
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestShims checks by hand what the shims topology must give the runtime,
// independently of the golden file.
func TestShims(t *testing.T) {
	tp := mustLoad(t, "../../topologies/shims.yaml")
	wantLinks := []*topo.Link{
		{Type: topo.LinkVeth, Endpoints: []topo.Endpoint{{Node: "a", Iface: "e1"}, {Node: "b", Iface: "e1"}}, Line: 39},
		{Type: topo.LinkUDP, Family: topo.FamilyIPv4, Line: 44, Endpoints: []topo.Endpoint{
			{Node: "a", Iface: "u0", Addr: prefix("198.18.0.1/30")},
			{Node: "b", Iface: "u0", Addr: prefix("198.18.0.2/30")}}},
		{Type: topo.LinkUDP, Family: topo.FamilyIPv6, Line: 45, Endpoints: []topo.Endpoint{
			{Node: "a", Iface: "u1", Addr: prefix("fd07:7e57::1/64")},
			{Node: "b", Iface: "u1", Addr: prefix("fd07:7e57::2/64")}}},
	}
	if diff := cmp.Diff(wantLinks, tp.Links, cmpPrefix); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	wantLayers := []*topo.Layer{
		{Name: "eth-ab", Type: topo.LayerEthDIX, Link: "a:e1--b:e1", Members: []string{"a", "b"}, Line: 52},
		{Name: "llc-ab", Type: topo.LayerEthLLC, Link: "a:e1--b:e1", Members: []string{"a", "b"}, Line: 53},
		{Name: "udp4-ab", Type: topo.LayerUDP4, Link: "a:u0--b:u0", Members: []string{"a", "b"}, Line: 54},
		{Name: "udp6-ab", Type: topo.LayerUDP6, Link: "a:u1--b:u1", Members: []string{"a", "b"}, Line: 55},
	}
	if diff := cmp.Diff(wantLayers, tp.Layers); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	if tp.Name != "shims" || tp.Runtime != topo.RuntimeNetns {
		t.Errorf("name, runtime = %q, %q; want shims, netns", tp.Name, tp.Runtime)
	}
	if got := tp.Node("b").Names; len(got) != 8 || len(got["oping-dix"]) != 1 || got["oping-dix"][0] != "eth-ab" {
		t.Errorf("b's names = %v, want one oping and one operf name per layer", got)
	}
}

// TestDefault checks the default topology's unicast layer by hand: a line
// of four nodes over three kinds of shim, enrolled hop by hop.
func TestDefault(t *testing.T) {
	tp := mustLoad(t, "../../topologies/default.yaml")
	var order []string
	for _, ly := range tp.Layers {
		order = append(order, ly.Name)
	}
	if diff := cmp.Diff([]string{"eth-ab", "udp-bc", "llc-cd", "net"}, order); diff != "" {
		t.Errorf("layer order (-want +got):\n%s", diff)
	}
	net := tp.Layer("net")
	p := topo.DefaultPolicies()
	want := &topo.Layer{
		Name: "net", Type: topo.LayerUnicast, Members: []string{"a", "b", "c", "d"}, Line: net.Line,
		Lower:      map[string][]string{"a": {"eth-ab"}, "b": {"eth-ab", "udp-bc"}, "c": {"udp-bc", "llc-cd"}, "d": {"llc-cd"}},
		Enrollment: topo.StrategyMinimal, Connect: topo.StrategyMinimal, Policies: &p,
		Steps: []topo.EnrollStep{{Node: "a"}, {Node: "b", Via: "a", Connect: []string{"a"}},
			{Node: "c", Via: "b", Connect: []string{"b"}}, {Node: "d", Via: "c", Connect: []string{"c"}}},
	}
	if diff := cmp.Diff(want, net); diff != "" {
		t.Errorf("net (-want +got):\n%s", diff)
	}
	if d := tp.Node("d"); d.Labels["role"] != "server" || len(d.Names["oping"]) != 1 || d.Names["oping"][0] != "net" {
		t.Errorf("d = %+v, want role server and oping in net", d)
	}
	if tp.Name != "default" || tp.Runtime != topo.RuntimeNetns {
		t.Errorf("name, runtime = %q, %q; want default, netns", tp.Name, tp.Runtime)
	}
}

var cmpPrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

// TestImplied checks completion: implied layer names, clashes, members
// (hosts and bridges are not members), and addresses per family.
func TestImplied(t *testing.T) {
	tp := mustLoad(t, "testdata/implied.yaml")
	want := []*topo.Layer{
		{Name: "dix-a-b", Type: topo.LayerEthLLC, Link: "c:e2--b:e5", Members: []string{"c", "b"}, Line: 20},
		{Name: "dix-a-b-2", Type: topo.LayerEthDIX, Link: "a:e1--b:e1", Members: []string{"a", "b"}, Implied: true, Line: 7},
		{Name: "dix-b-a", Type: topo.LayerEthDIX, Link: "b:e2--a:e2", Members: []string{"b", "a"}, Implied: true, Line: 8},
		{Name: "dix-a-b-3", Type: topo.LayerEthDIX, Link: "a:e3--b:e3", Members: []string{"a", "b"}, Implied: true, Line: 9},
		{Name: "dix-lan0", Type: topo.LayerEthDIX, Link: "lan0", Members: []string{"a", "b"}, Implied: true, Line: 11},
		{Name: "udp-a-b", Type: topo.LayerUDP4, Link: "a:u0--b:u0", Members: []string{"a", "b"}, Implied: true, Line: 12},
		{Name: "udp-a-b-2", Type: topo.LayerUDP6, Link: "a:u1--b:u1", Members: []string{"a", "b"}, Implied: true, Line: 13},
		{Name: "udp-b-c", Type: topo.LayerUDP4, Link: "b:u2--c:u0", Members: []string{"b", "c"}, Implied: true, Line: 14},
		{Name: "udp-c-a", Type: topo.LayerUDP6, Link: "c:u1--a:u2", Members: []string{"c", "a"}, Implied: true, Line: 15},
	}
	if diff := cmp.Diff(want, tp.Layers); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	addrs := map[string][2]string{
		"a:u0--b:u0": {"198.18.0.1/30", "198.18.0.2/30"},
		"a:u1--b:u1": {"fd07:7e57::1/64", "fd07:7e57::2/64"},
		"b:u2--c:u0": {"198.18.0.5/30", "198.18.0.6/30"},
		"c:u1--a:u2": {"fd07:7e57:0:1::1/64", "fd07:7e57:0:1::2/64"},
	}
	for id, want := range addrs {
		l := tp.LinkByID(id)
		if l == nil {
			t.Fatalf("no link %s", id)
		}
		got := [2]string{l.Endpoints[0].Addr.String(), l.Endpoints[1].Addr.String()}
		if got != want {
			t.Errorf("%s addresses = %v, want %v", id, got, want)
		}
	}
	for _, l := range tp.Links {
		if l.Type != topo.LinkUDP && (l.Endpoints[0].Addr.IsValid() || l.Family != "") {
			t.Errorf("%s link %s has an address or family", l.Type, l.ID())
		}
	}
	if n := tp.Node("h"); n.Kind != topo.KindHost {
		t.Errorf("h kind = %q, want host", n.Kind)
	}
	if n := tp.Node("c"); n.Kind != topo.KindNode {
		t.Errorf("c kind = %q, want node (the default)", n.Kind)
	}
}

func TestLookup(t *testing.T) {
	tp := mustLoad(t, "../../topologies/shims.yaml")
	if n := tp.Node("b"); n == nil || n.Name != "b" || n.Labels["role"] != "server" {
		t.Errorf("Node(b) = %+v", n)
	}
	if n := tp.Node("z"); n != nil {
		t.Errorf("Node(z) = %+v, want nil", n)
	}
	l := tp.LinkByID("a:e1--b:e1")
	if l == nil || l != tp.LinkByID("b:e1--a:e1") || l != tp.Links[0] {
		t.Fatalf("LinkByID either way round = %v, want the first link", l)
	}
	if tp.LinkByID("a:e1--b:e2") != nil {
		t.Error("LinkByID(a:e1--b:e2) found a link")
	}
	if got := l.Other("a"); got != (topo.Endpoint{Node: "b", Iface: "e1"}) {
		t.Errorf("Other(a) = %+v", got)
	}
	if got := l.Other("b"); got != (topo.Endpoint{Node: "a", Iface: "e1"}) {
		t.Errorf("Other(b) = %+v", got)
	}
	if got := l.Other("z"); got != (topo.Endpoint{}) {
		t.Errorf("Other(z) = %+v, want zero", got)
	}
	var names []string
	for _, ly := range tp.LayersOn("a") {
		names = append(names, ly.Name)
	}
	if diff := cmp.Diff([]string{"eth-ab", "llc-ab", "udp4-ab", "udp6-ab"}, names); diff != "" {
		t.Errorf("LayersOn(a) (-want +got):\n%s", diff)
	}
	if got := tp.LayersOn("z"); got != nil {
		t.Errorf("LayersOn(z) = %v, want none", got)
	}
	if got := tp.Layer("eth-ab").EndpointOf(tp, "b"); got.Iface != "e1" || got.Node != "b" {
		t.Errorf("eth-ab EndpointOf(b) = %+v", got)
	}
	if got := tp.Layer("udp4-ab").EndpointOf(tp, "b").Addr.Addr(); got != netip.MustParseAddr("198.18.0.2") {
		t.Errorf("udp4-ab EndpointOf(b) address = %v", got)
	}
	if got := tp.Layer("udp6-ab").EndpointOf(tp, "a").Addr.Addr(); got != netip.MustParseAddr("fd07:7e57::1") {
		t.Errorf("udp6-ab EndpointOf(a) address = %v", got)
	}
	if got := tp.Layer("eth-ab").EndpointOf(tp, "z"); got != (topo.Endpoint{}) {
		t.Errorf("EndpointOf(z) = %+v, want zero", got)
	}
	if got := topo.IPCPName("eth-ab", "a"); got != "eth-ab.a" {
		t.Errorf("IPCPName = %q", got)
	}

	lan := mustLoad(t, "../../topologies/lan.yaml")
	bl := lan.LinkByID("lan0")
	if bl == nil || bl.Type != topo.LinkBridge || len(bl.Endpoints) != 3 {
		t.Fatalf("LinkByID(lan0) = %+v", bl)
	}
	if got := bl.Other("a"); got != (topo.Endpoint{}) {
		t.Errorf("Other on a bridge link = %+v, want zero", got)
	}
	if got := lan.Layer("lan").EndpointOf(lan, "c"); got.Iface != "e1" {
		t.Errorf("lan EndpointOf(c) = %+v", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := topo.Load("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: err = %v, want fs.ErrNotExist", err)
	}
}

// TestAnchors: anchors, aliases and merge keys work as in any YAML file,
// and a merge that expands without end is a problem, not a hang.
func TestAnchors(t *testing.T) {
	tp, err := topo.Parse("t.yaml", []byte(`name: t
nodes:
  a: &n {labels: {role: x, zone: "1"}}
  b: {<<: *n, kind: host, labels: {role: y}}
  c: *n
links:
  - endpoints: &ab [a:e1, b:e1]
  - {endpoints: [a:e2, c:e2], mtu: &mtu 1400}
  - {endpoints: [b:e3, c:e3], mtu: *mtu}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := tp.Node("b")
	if b.Kind != topo.KindHost || b.Labels["role"] != "y" || b.Labels["zone"] != "" {
		t.Errorf("b = %+v, want kind host and its own labels (a merge does not go deep)", b)
	}
	if c := tp.Node("c"); c.Labels["zone"] != "1" {
		t.Errorf("c = %+v, want a's labels", c)
	}
	if tp.Links[2].MTU != 1400 {
		t.Errorf("third link mtu = %d, want 1400 from the alias", tp.Links[2].MTU)
	}

	var y strings.Builder
	y.WriteString("name: t\nnodes:\n  a0: &a0 {kind: node}\n")
	for i := 1; i < 20; i++ {
		fmt.Fprintf(&y, "  a%d: &a%d {<<: [*a%d, *a%d, *a%d, *a%d]}\n", i, i, i-1, i-1, i-1, i-1)
	}
	_, err = topo.Parse("t.yaml", []byte(y.String()))
	if err == nil || !strings.Contains(err.Error(), "merge keys expand to more than 1000 merges") {
		t.Errorf("a billion laughs: err = %v", err)
	}
}
