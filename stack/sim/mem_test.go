package sim

import (
	"runtime"
	"testing"
)

// nodeHeap is the most heap a node of TestNodeHeap may hold: its IRM, two
// eth IPCPs and a unicast IPCP with two neighbours, idle, after a garbage
// collection (and the in-memory links' share). onode's resident memory
// follows it: the garbage collector lets the heap grow to a multiple of
// what is live (issue 14).
const nodeHeap = 512 << 10

// TestNodeHeap forms a unicast layer over a ring of four nodes and checks
// what each holds once it is formed: the queues and buffers that are only
// needed under load (the readers' full batches, the management flows'
// LSU queues, a data-transfer flow's read buffer, the shims' endpoint
// tables) are made when they are needed, not when an IPCP or an
// adjacency is. Before that was so, a node of this ring held about
// 1.4 MiB.
func TestNodeHeap(t *testing.T) {
	const nodes = 4
	before := liveHeap()
	n := New(t)
	for _, name := range []string{"a", "b", "c", "d"} {
		n.AddNode(name)
	}
	for i := range nodes {
		n.Connect(n.Nodes[i], n.Nodes[(i+1)%nodes])
	}
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	per := (liveHeap() - before) / nodes
	t.Logf("heap per node: %d KiB", per>>10)
	if per > nodeHeap {
		t.Errorf("each node holds %d KiB of heap once the layer is formed, want at most %d KiB", per>>10, nodeHeap>>10)
	}
}

// liveHeap is the heap in use after two garbage collections (the second
// empties what the first left in sync.Pools).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
