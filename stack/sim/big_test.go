package sim

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestHundredNodes forms one unicast layer over a random network of 100
// nodes (the same for the same seed): every member converges (a route to
// every other, directory contacts) within Layer's bound, and a name
// registered at one node is found and reached from nodes all over the
// network.
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
