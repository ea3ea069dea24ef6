package netns

import (
	"strings"
	"testing"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/testbed/topo"
)

func TestLag(t *testing.T) {
	ly := LayerReport{LayerState: LayerState{Name: "net", Type: topo.LayerUnicast}}
	ok := IPCPStatus{IPCP: "net.a", State: "operational", Enrolled: true, Addr: "a1",
		Neighbours: []*ctl.Neighbour{{Addr: "b1", Dst: "net.b", Comp: "dt", Up: true}},
		Routes:     []*ctl.Route{{Dst: "b"}, {Dst: "c"}}}
	ly.Status = []IPCPStatus{ok, {Addr: "b1"}, {Addr: "c1"}}
	for _, tc := range []struct {
		name string
		st   func(IPCPStatus) IPCPStatus
		want string
	}{
		{"ready", func(s IPCPStatus) IPCPStatus { return s }, ""},
		{"not enrolled", func(s IPCPStatus) IPCPStatus { s.Enrolled, s.State = false, "init"; return s }, "net.a is init"},
		{"adjacency down", func(s IPCPStatus) IPCPStatus {
			s.Neighbours = []*ctl.Neighbour{{Addr: "b1", Dst: "net.b", Comp: "mgmt", Up: false}}
			return s
		}, "net.a's adjacency to net.b (mgmt) is down"},
		{"down to a member gone (restarted under another address)", func(s IPCPStatus) IPCPStatus {
			s.Neighbours = append(s.Neighbours, &ctl.Neighbour{Addr: "b0", Comp: "mgmt", Up: false})
			return s
		}, ""},
		{"routes missing", func(s IPCPStatus) IPCPStatus { s.Routes = s.Routes[:1]; return s }, "net.a has routes to 1 of 2 members"},
	} {
		if got := tc.st(ok).lag(ly); got != tc.want {
			t.Errorf("%s: lag = %q, want %q", tc.name, got, tc.want)
		}
	}
	// A broadcast layer has no routes to ask for.
	ly.Type = topo.LayerBroadcast
	st := ok
	st.Routes = nil
	if got := st.lag(ly); !strings.EqualFold(got, "") {
		t.Errorf("broadcast member without routes: lag = %q, want none", got)
	}
}

// A member of another implementation is not asked: enrolled while its
// node is up; our members' adjacencies to it (made by its IPCP name, its
// address unknown) and routes to it are waited for.
func TestLagForeign(t *testing.T) {
	ly := LayerReport{LayerState: LayerState{Name: "net", Type: topo.LayerUnicast}}
	ours := IPCPStatus{IPCP: "net.a", State: "operational", Enrolled: true, Addr: "a1",
		Neighbours: []*ctl.Neighbour{{Addr: "r1", Dst: "net.r", Comp: "dt", Up: true}},
		Routes:     []*ctl.Route{{Dst: "r1"}}}
	ref := IPCPStatus{IPCP: "net.r", State: StateForeign, Enrolled: true, Impl: "reference"}
	ly.Status = []IPCPStatus{ours, ref}
	if got := ref.lag(ly); got != "" {
		t.Errorf("foreign member up: lag = %q", got)
	}
	if got := ours.lag(ly); got != "" {
		t.Errorf("ours with an adjacency and a route to it: lag = %q", got)
	}
	down := ref
	down.Enrolled, down.State = false, "down"
	if got := down.lag(ly); got != "net.r is down" {
		t.Errorf("foreign member down: lag = %q", got)
	}
	st := ours
	st.Neighbours = []*ctl.Neighbour{{Addr: "r1", Dst: "net.r", Comp: "mgmt", Up: false}}
	if got := st.lag(ly); got != "net.a's adjacency to net.r (mgmt) is down" {
		t.Errorf("adjacency to the foreign member down: lag = %q", got)
	}
	st = ours
	st.Routes = nil
	if got := st.lag(ly); got != "net.a has routes to 0 of 1 members" {
		t.Errorf("no route to the foreign member: lag = %q", got)
	}
}

func TestFits(t *testing.T) {
	avail, err := memAvailable()
	if err != nil || avail == 0 {
		t.Fatalf("memAvailable = %d, %v", avail, err)
	}
	small := &topo.Topology{Name: "small", Nodes: []*topo.Node{{Name: "a", Kind: topo.KindNode}}}
	if err := fits(small); err != nil {
		t.Errorf("one node: %v", err)
	}
	big := &topo.Topology{Name: "big"}
	for range 2*avail/NodeMemory + 1 { // twice: what is available moves meanwhile
		big.Nodes = append(big.Nodes, &topo.Node{Kind: topo.KindNode})
	}
	if err := fits(big); err == nil || !strings.Contains(err.Error(), "MiB available") {
		t.Errorf("%d nodes: %v, want a refusal with the estimate", len(big.Nodes), err)
	}
}

// TestOnodeEnv: a lab's onode gets its socket, and GOMAXPROCS=nodeProcs
// on a machine with more cores unless otb's environment sets it.
func TestOnodeEnv(t *testing.T) {
	none := func(string) string { return "" }
	set := func(k string) string { return map[string]string{"GOMAXPROCS": "16"}[k] }
	for _, c := range []struct {
		getenv func(string) string
		cpus   int
		want   string
	}{
		{none, 2, "OUROBOROS_SOCK=/s"},
		{none, nodeProcs, "OUROBOROS_SOCK=/s"},
		{none, 64, "OUROBOROS_SOCK=/s GOMAXPROCS=4"},
		{set, 64, "OUROBOROS_SOCK=/s"},
	} {
		if got := strings.Join(onodeEnv("/s", c.getenv, c.cpus), " "); got != c.want {
			t.Errorf("%d cores: environment %q, want %q", c.cpus, got, c.want)
		}
	}
}
