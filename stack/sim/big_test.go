package sim

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestHundredNodes forms one unicast layer over a random network of 100
// nodes (the same for the same seed): every member converges (a route to
// every other, directory contacts) within Layer's bound; a name registered
// at the node that joins last, as soon as it joins (before any adjacency
// is connected), is reached from every other node within a few tries a
// second apart (the directory publishes it until the nodes closest to it
// hold it); and a name registered at one node is found and reached from
// nodes all over the network.
func TestHundredNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("100 nodes: not in -short")
	}
	const nodes, extra, seed = 100, 40, 7
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	n := New(t)
	n.Random(nodes, extra, seed)
	// The case: a name registered at the node that joins last, as
	// soon as it has joined, long before the directory has settled.
	var last *Node
	n.Joined = func(nd *Node, id uint32) {
		if len(n.Enrolled) == nodes {
			last = nd
			serveEcho(t, nd, "oping", id)
		}
	}
	start := time.Now()
	conf := &ipcp.UnicastConfig{Cong: ipcp.CongMBECN}
	if err := n.Layer("net", conf); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes, %d links: layer formed and converged in %v (%v)", nodes, len(n.Links), time.Since(start).Round(time.Millisecond), n.Phases)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("heap per node (irm node, eth IPCPs of its links, unicast IPCP): %d KiB", (after.HeapAlloc-before.HeapAlloc)/nodes/1024)

	var others []*Node
	for _, nd := range n.Nodes {
		if nd != last {
			others = append(others, nd)
		}
	}
	var contacts []int
	for _, nd := range n.Nodes {
		info, _, err := nd.N.IPCPDetail(nd.Unicast["net"])
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, info.Contacts)
	}
	slices.Sort(contacts)
	t.Logf("directory contacts per node: least %d, median %d, most %d", contacts[0], contacts[nodes/2], contacts[nodes-1])
	start = time.Now()
	const tries = 3
	got, failed := reach(t, others, "oping", tries)
	byTry := make([]int, tries+1) // byTry[0]: never
	unknown := 0                  // tries that failed because no layer knew the name
	for i, try := range got {
		byTry[try]++
		for _, err := range failed[i] {
			if errors.Is(err, errs.ErrIPCP) {
				unknown++
			}
		}
		if try == 0 {
			t.Errorf("%s never reached oping at %s in %d tries: %v", others[i].Name, last.Name, tries, failed[i])
		}
	}
	t.Logf("oping at %s reached from %d of %d nodes on the first try (by try: %v) in %v; %d tries failed with the name unknown",
		last.Name, byTry[1], len(others), byTry[1:], time.Since(start).Round(time.Millisecond), unknown)

	r := rand.New(rand.NewPCG(seed, 1))
	srv := n.Nodes[r.IntN(nodes)]
	echoServer(t, srv, "net", "far")
	for i := range 10 {
		from := n.Nodes[r.IntN(nodes)]
		if from == srv {
			continue
		}
		f := dial(t, from, "far")
		if !ping(f, uint64(i), 10*time.Second) { // generous: the bound is not what this measures
			t.Errorf("no echo from %s to %s", from.Name, srv.Name)
		}
	}
}

// BenchmarkHundredNodes reports the memory of a node in a 100-node layer.
func BenchmarkHundredNodes(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		n := New(b)
		n.Random(100, 40, 7)
		start := time.Now()
		if err := n.Layer("net", nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-converge")
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100/1024, "KiB/node")
		b.ReportMetric(float64(runtime.NumGoroutine())/100, "goroutines/node")
	}
}
