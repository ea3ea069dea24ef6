package unicast

import (
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// TestLastAdjacencyLost: an IPCP that loses its only adjacency has no
// round to announce the loss in; the two rounds it owes go out once it has
// an adjacency again, so that peers drop the lost one then.
func TestLastAdjacencyLost(t *testing.T) {
	p, _ := startedWith(t, nil, true)
	self := uint64(p.addr)
	mgmt := &conn{comp: ipcp.CompMgmt, peer: 0x0a, out: newLSUQueue(), done: make(chan struct{})}
	p.ls.mgmtAdd(mgmt)
	dtConn := func(id int, peer uint64) *conn {
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		p.addConn(ipcp.LowerFlow{ID: id, Conn: a}, ipcp.CompDT, peer, "")
		return (*p.dt.Load())[id]
	}
	// highest returns the highest seqno of our LSUs for the adjacency with
	// peer queued so far.
	var top uint64
	highest := func(peer uint64) uint64 {
		for b := mgmt.out.pop(); b != nil; b = mgmt.out.pop() {
			if u, err := routing.ParseLSU(b); err == nil && u.Src == self && u.Dst == peer {
				top = max(top, u.SeqNo)
			}
		}
		return top
	}
	p.removeConn(dtConn(3, 0x0b))
	start := time.Now()
	dtConn(4, 0x0c)
	spacing := p.ls.roundSpacing()
	for i := 1; i <= 3; i++ {
		p.ls.tick(start.Add(time.Duration(i) * spacing))
	}
	if got := highest(0x0c); got != 2 {
		t.Errorf("the new adjacency's LSUs reached seqno %d, want 2: two rounds after its first", got)
	}
}
