package unicast

import (
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// fakePeer is the far end of a management and a data-transfer flow of an
// IPCP, over lower layer "l".
type fakePeer struct {
	addr     uint64
	mgmt, dt *seqpkt.Conn // our ends
	mc       *conn        // the IPCP's management conn
}

func newFakePeer(t *testing.T, p *IPCP, addr uint64) *fakePeer {
	t.Helper()
	return newFakePeerAt(t, p, addr, "", 10)
}

// newFakePeerAt is newFakePeer at a lower peer (LowerFlow.Peer) of layer
// "l", its flows with ids id and id+1.
func newFakePeerAt(t *testing.T, p *IPCP, addr uint64, lower string, id int) *fakePeer {
	t.Helper()
	f := &fakePeer{addr: addr}
	for i, comp := range []string{ipcp.CompMgmt, ipcp.CompDT} {
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		p.addConn(ipcp.LowerFlow{ID: id + i, Conn: a, Layer: "l", Peer: lower}, comp, addr, "")
		if comp == ipcp.CompMgmt {
			f.mgmt = b
		} else {
			f.dt = b
		}
	}
	p.mu.Lock()
	f.mc = p.conns[len(p.conns)-2]
	p.mu.Unlock()
	return f
}

// announce sends the IPCP the peer's LSU for its adjacency to it, and
// waits until it is read.
func (f *fakePeer) announce(t *testing.T, p *IPCP, seq uint64) {
	t.Helper()
	f.announceTo(t, uint64(p.addr), seq)
}

// announceTo sends the IPCP the peer's LSU for its adjacency to dst, and
// waits until it is read.
func (f *fakePeer) announceTo(t *testing.T, dst, seq uint64) {
	t.Helper()
	rx := f.mc.rx.Load()
	if err := f.mgmt.Write(routing.LSU{Src: f.addr, Dst: dst, SeqNo: seq}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the LSU read", func() bool { return f.mc.rx.Load() > rx })
}

// expect reads LSUs from the IPCP until one matches src, dst and a seqno
// of at least minSeq.
func (f *fakePeer) expect(t *testing.T, src, dst, minSeq uint64) routing.LSU {
	t.Helper()
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mgmt.SetReadDeadline(deadline)
		n, err := f.mgmt.Read(buf)
		if err != nil {
			t.Fatalf("no LSU %x -> %x (seqno ≥ %d): %v", src, dst, minSeq, err)
		}
		if u, err := routing.ParseLSU(buf[:n]); err == nil && u.Src == src && u.Dst == dst && u.SeqNo >= minSeq {
			return u
		}
	}
}

func routed(p *IPCP, dst uint64) bool {
	_, ok := p.pff.NextHop(dst)
	return ok
}

func upInInspect(p *IPCP) (up, all int) {
	for _, nb := range p.Inspect().Neighbours {
		all++
		if nb.Up {
			up++
		}
	}
	return up, all
}

// TestSilentNeighbour: a neighbour heard from over neither of its flows
// for ls_t_timeo loses its adjacency (no route through it, no more
// announcements of it, shown down), is sent the hello, and comes back,
// announced again, when it is heard again, over either flow. The IPCP has
// no ticker: the test runs the checks.
func TestSilentNeighbour(t *testing.T) {
	p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: 2 * time.Second, TRecalc: time.Second}, true)
	self := uint64(p.addr)
	f := newFakePeer(t, p, 0x0a)
	first := f.expect(t, self, f.addr, 0) // our announcement of the adjacency
	f.announce(t, p, 5)
	wait.For(t, "a route to the neighbour", func() bool { return routed(p, f.addr) })

	start := time.Now()
	p.checkNeighbours(start) // takes in what was heard
	p.checkNeighbours(start.Add(time.Second))
	if !routed(p, f.addr) {
		t.Fatal("no route to the neighbour 1 s into its silence, under ls_t_timeo")
	}
	p.checkNeighbours(start.Add(2 * time.Second))
	if routed(p, f.addr) {
		t.Fatal("a route to the neighbour after ls_t_timeo of silence")
	}
	if up, all := upInInspect(p); up != 0 || all != 2 {
		t.Errorf("Inspect: %d of %d conns up, want 0 of 2", up, all)
	}
	p.ls.mu.Lock()
	_, own := p.ls.db[[2]uint64{self, f.addr}]
	p.ls.mu.Unlock()
	if own {
		t.Error("the adjacency to the silent neighbour is still ours to announce")
	}
	// The hello: the neighbour's own LSU, as it last sent it.
	if u := f.expect(t, f.addr, self, 0); u.SeqNo != 5 {
		t.Errorf("hello with seqno %d, want the neighbour's 5", u.SeqNo)
	}

	// Heard again: the adjacency comes back at once, with a new seqno.
	f.announce(t, p, 5) // not news, but heard
	p.checkNeighbours(start.Add(3 * time.Second))
	if !routed(p, f.addr) {
		t.Fatal("no route to the neighbour once heard again")
	}
	f.expect(t, self, f.addr, first.SeqNo+1)
	if up, all := upInInspect(p); up != 2 || all != 2 {
		t.Errorf("Inspect: %d of %d conns up, want 2 of 2", up, all)
	}

	// Silent again; a packet on the data-transfer flow is heard too.
	p.checkNeighbours(start.Add(5 * time.Second))
	if routed(p, f.addr) {
		t.Fatal("a route to the neighbour after ls_t_timeo of silence, the second time")
	}
	dc := (*p.dt.Load())[11]
	rx := dc.rx.Load()
	if err := f.dt.Write(make([]byte, 40)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the packet read", func() bool { return dc.rx.Load() > rx })
	p.checkNeighbours(start.Add(6 * time.Second))
	if !routed(p, f.addr) {
		t.Fatal("no route to the neighbour once heard on the data-transfer flow")
	}
}

// TestNeighbourWithoutMgmt: a neighbour with only a data-transfer flow has
// no flow on which it must speak, and is never judged silent.
func TestNeighbourWithoutMgmt(t *testing.T) {
	p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: 2 * time.Second, TRecalc: time.Second}, true)
	a, b, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p.addConn(ipcp.LowerFlow{ID: 3, Conn: a, Layer: "l"}, ipcp.CompDT, 0x0b, "")
	start := time.Now()
	for i := range 10 {
		p.checkNeighbours(start.Add(time.Duration(i) * time.Second))
	}
	if up, all := upInInspect(p); up != 1 || all != 1 {
		t.Errorf("Inspect: %d of %d conns up, want 1 of 1", up, all)
	}
	p.ls.mu.Lock()
	_, own := p.ls.db[[2]uint64{uint64(p.addr), 0x0b}]
	p.ls.mu.Unlock()
	if !own {
		t.Error("the adjacency is no longer announced")
	}
}
