package sim

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestRestartedNeighbour restarts the node in the middle of a line, which
// comes back with a new IPCP under a new address. Its neighbours, one of
// which makes its adjacencies with it again and one of which takes them
// (Restart), learn from their lower layers that the IPCP they met over
// that link before is gone, and drop it at once: no adjacency, route or
// next hop there holds the old address once the restart is done (with
// neighbour liveness alone they took silence(), a minute with these
// timers, and kept the old flows for good). The rest of the layer drops
// it after two rounds of the neighbours' updates and the next
// recomputation (ls_t_recalc, 4 s). A flow across the restarted node is
// allocated at the first try.
func TestRestartedNeighbour(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c) // b makes the adjacencies with c
	n.Connect(c, d) // c makes those with d
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, d, "net", "echo")
	if f := dial(t, a, "echo"); !ping(f, 0, 2*time.Second) {
		t.Fatal("no echo across c before the restart")
	}
	old := addrOf(t, c)
	if err := n.Restart(c); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if addrOf(t, c) == old {
		t.Fatal("c came back under its old address")
	}
	var left []string
	if !wait.Until(wait.Timeout, func() bool { left = holders(t, []*Node{b, d}, old); return len(left) == 0 }) {
		t.Fatalf("%v after the restart, c's neighbours still hold its old address %s: %v", wait.Timeout, old, left)
	}
	for _, nd := range []*Node{b, d} { // the accepting side adds its adjacency after the connect returns
		var nbs []ipcp.Neighbour
		if !wait.Until(wait.Timeout, func() bool { nbs = info(t, nd).Neighbours; return len(nbs) == 2*len(nd.links) }) {
			t.Errorf("%s has %d adjacencies, want %d (mgmt and dt over each link): %+v", nd.Name, len(nbs), 2*len(nd.links), nbs)
		}
	}

	wait.For(t, "routes between every two members", func() bool { return meshed(t, n) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // an allocation times out after 20 s
	defer cancel()
	took, err := allocOnce(ctx, a, "echo")
	if err != nil {
		t.Fatalf("alloc from a to d across the restarted c: %v", err)
	}
	t.Logf("alloc a -> d after the restart: %v", took.Round(time.Millisecond))

	// Two rounds (0.75 to 2.25 s), the next recomputation (up to 4 s), and
	// room for a loaded machine: still far below silence().
	const bound = 20 * time.Second
	if !wait.Until(bound, func() bool { left = holders(t, n.Nodes, old); return len(left) == 0 }) {
		t.Fatalf("%v after the restart, the layer still holds c's old address %s: %v", bound, old, left)
	}
	t.Logf("c's old address gone from the layer %v after the restart", time.Since(restarted).Round(time.Millisecond))
}

func info(t *testing.T, nd *Node) ipcp.Info {
	t.Helper()
	in, _, err := nd.N.IPCPDetail(nd.Unicast["net"])
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// addrOf is nd's address in layer net.
func addrOf(t *testing.T, nd *Node) string { return info(t, nd).Addr }

// holders lists where the IPCPs of the nodes in layer net hold addr: an
// adjacency, a route to it or through it.
func holders(t *testing.T, nodes []*Node, addr string) []string {
	t.Helper()
	var out []string
	for _, nd := range nodes {
		in := info(t, nd)
		for _, nb := range in.Neighbours {
			if nb.Addr == addr {
				out = append(out, fmt.Sprintf("%s: %s adjacency", nd.Name, nb.Comp))
			}
		}
		for _, r := range in.Routes {
			if r.Dst == addr || slices.Contains(r.NextHops, addr) {
				out = append(out, fmt.Sprintf("%s: route %s via %v", nd.Name, r.Dst, r.NextHops))
			}
		}
	}
	return out
}

// meshed reports whether every member of layer net has a route to every
// other.
func meshed(t *testing.T, n *Net) bool {
	t.Helper()
	for _, from := range n.Nodes {
		routes := info(t, from).Routes
		for _, to := range n.Nodes {
			dst := addrOf(t, to)
			if to != from && !slices.ContainsFunc(routes, func(r ipcp.Route) bool { return r.Dst == dst && len(r.NextHops) > 0 }) {
				return false
			}
		}
	}
	return true
}

// TestRestartedServer restarts the node at the end of a line that serves
// a name, which registers it again from its new IPCP. The other members
// hold the name's old address too (the directory keeps a value until it
// expires, a day by default), but answer with the newest, and a flow to
// the name is allocated again within seconds.
func TestRestartedServer(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, d, "net", "echo")
	if f := dial(t, a, "echo"); !ping(f, 0, 2*time.Second) {
		t.Fatal("no echo before the restart")
	}
	if err := n.Restart(d); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	echoServer(t, d, "net", "echo")
	var err error
	if !wait.Until(15*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = allocOnce(ctx, a, "echo")
		return err == nil
	}) {
		t.Fatalf("no flow from a to the restarted d's echo %v after the restart: %v", time.Since(restarted).Round(time.Millisecond), err)
	}
	t.Logf("a flow to the restarted d's echo %v after the restart", time.Since(restarted).Round(time.Millisecond))
}
