package unicast

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

func fakeMgmt(peer uint64) *conn {
	return &conn{comp: ipcp.CompMgmt, peer: peer, out: make(chan []byte, 64), done: make(chan struct{})}
}

// queued returns the LSUs queued for c.
func queued(t *testing.T, c *conn) []routing.LSU {
	t.Helper()
	var us []routing.LSU
	for {
		select {
		case b := <-c.out:
			u, err := routing.ParseLSU(b)
			if err != nil {
				t.Fatal(err)
			}
			us = append(us, u)
		default:
			return us
		}
	}
}

// TestRoundLeavesOut: an adjacency its IPCP left out of two rounds of its
// updates goes once the second is over, long before ls_t_timeo; it comes
// back with its next LSU. LSUs less than roundGap apart are one round;
// new adjacencies make no round. In a synctest bubble, so that the LSUs'
// arrival times are exact.
func TestRoundLeavesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: time.Minute, TRecalc: time.Second}, true)
		mgmt := fakeMgmt(0x0a)
		p.ls.mgmtAdd(mgmt)
		lsu := func(dst, seq uint64) {
			p.ls.receive(mgmt, routing.LSU{Src: 0x0a, Dst: dst, SeqNo: seq}.Append(nil))
		}
		held := func(want ...uint64) {
			t.Helper()
			p.ls.tick(time.Now())
			p.ls.mu.Lock()
			defer p.ls.mu.Unlock()
			var got []uint64
			for k := range p.ls.db {
				got = append(got, k[1])
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("adjacencies of 0a to %x, want %x", got, want)
			}
		}
		lsu(0x0b, 1) // new adjacencies
		lsu(0x0c, 1)
		time.Sleep(time.Second)
		lsu(0x0b, 2) // a round, LSUs 10 ms apart
		time.Sleep(10 * time.Millisecond)
		lsu(0x0c, 2)
		time.Sleep(time.Second)
		held(0x0b, 0x0c)
		lsu(0x0d, 0) // new adjacencies, a second apart: no rounds
		time.Sleep(time.Second)
		lsu(0x0e, 0)
		time.Sleep(time.Second)
		held(0x0b, 0x0c, 0x0d, 0x0e)
		round := func(seq uint64, dsts ...uint64) {
			for _, d := range dsts {
				lsu(d, seq)
			}
		}
		round(3, 0x0b, 0x0d, 0x0e) // a round without 0c: one is not enough
		time.Sleep(time.Second)
		held(0x0b, 0x0c, 0x0d, 0x0e)
		round(4, 0x0b, 0x0d, 0x0e)   // a second round without 0c
		held(0x0b, 0x0c, 0x0d, 0x0e) // the round may not be over
		time.Sleep(roundGap)
		held(0x0b, 0x0d, 0x0e)
		lsu(0x0c, 5)
		held(0x0b, 0x0c, 0x0d, 0x0e)
	})
}

// TestLossIsARound: gaining an adjacency sends a round with it, and a
// second later another; losing one sends at once a round of the others,
// and a tick later another, which tell peers it is gone.
func TestLossIsARound(t *testing.T) {
	p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: 2 * time.Second, TRecalc: time.Second}, true)
	self := uint64(p.addr)
	mgmt := fakeMgmt(0x0a)
	p.ls.mgmtAdd(mgmt)
	var dts []*conn
	for i, peer := range []uint64{0x0b, 0x0c} {
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		p.addConn(ipcp.LowerFlow{ID: 3 + i, Conn: a, Layer: "l"}, ipcp.CompDT, peer, "")
		p.mu.Lock()
		dts = append(dts, p.conns[len(p.conns)-1])
		p.mu.Unlock()
	}
	// 0b new (seqno 0); then 0c new (0) in a round with 0b (1).
	seqs := map[uint64][]uint64{}
	for _, u := range queued(t, mgmt) {
		if u.Src != self {
			t.Fatalf("LSU %+v not ours", u)
		}
		seqs[u.Dst] = append(seqs[u.Dst], u.SeqNo)
	}
	if !slices.Equal(seqs[0x0b], []uint64{0, 1}) || !slices.Equal(seqs[0x0c], []uint64{0}) || len(seqs) != 2 {
		t.Fatalf("announced seqnos %v, want 0b: [0 1], 0c: [0]", seqs)
	}
	p.ls.tick(time.Now().Add(time.Second)) // the repeat: a round
	if got := queued(t, mgmt); len(got) != 2 {
		t.Fatalf("a second after a change, the tick sent %+v, want a round of 2", got)
	}
	p.removeConn(dts[0])
	got := queued(t, mgmt)
	if len(got) != 1 || got[0].Dst != 0x0c || got[0].SeqNo != 2 {
		t.Fatalf("losing 0b sent %+v, want a round of 0c alone, seqno 2", got)
	}
	p.ls.tick(time.Now().Add(tickEvery))
	got = queued(t, mgmt)
	if len(got) != 1 || got[0].Dst != 0x0c || got[0].SeqNo != 3 {
		t.Fatalf("a tick after losing 0b, the tick sent %+v, want a round of 0c alone, seqno 3", got)
	}
}
