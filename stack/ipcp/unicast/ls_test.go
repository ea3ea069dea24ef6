package unicast

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

func fakeMgmt(peer uint64) *conn {
	return &conn{comp: ipcp.CompMgmt, peer: peer, out: newLSUQueue(), done: make(chan struct{})}
}

// queued returns the LSUs queued for c.
func queued(t *testing.T, c *conn) []routing.LSU {
	t.Helper()
	var us []routing.LSU
	for b := c.out.pop(); b != nil; b = c.out.pop() {
		u, err := routing.ParseLSU(b)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	return us
}

// TestRoundLeavesOut: an adjacency its IPCP left out of two rounds of its
// updates goes once the second is over, long before ls_t_timeo; it comes
// back with its next LSU. LSUs within roundWindow of a round's first are in
// that round, and a round a longer stall splits in two drops nothing; new
// adjacencies make no round. In a synctest bubble, so that the LSUs'
// arrival times are exact.
func TestRoundLeavesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: time.Minute, TRecalc: time.Second}, true)
		mgmt := fakeMgmt(0x0a)
		p.ls.mgmtAdd(mgmt)
		w := p.ls.roundWindow()
		lsu := func(dst, seq uint64) {
			p.ls.receive(mgmt, routing.LSU{Src: 0x0a, Dst: dst, SeqNo: seq}.Append(nil))
		}
		round := func(seq uint64, dsts ...uint64) {
			for _, d := range dsts {
				lsu(d, seq)
			}
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
		round(1, 0x0b, 0x0c) // new adjacencies
		time.Sleep(time.Second)
		lsu(0x0b, 2) // a round, with a stall shorter than the window
		time.Sleep(w / 2)
		lsu(0x0c, 2)
		time.Sleep(time.Second)
		held(0x0b, 0x0c)
		lsu(0x0d, 0) // new adjacencies, a second apart: no rounds
		time.Sleep(time.Second)
		lsu(0x0e, 0)
		time.Sleep(time.Second)
		held(0x0b, 0x0c, 0x0d, 0x0e)
		lsu(0x0b, 3) // a round split in two by a stall: 0b is one round behind
		time.Sleep(2 * w)
		round(3, 0x0c, 0x0d, 0x0e)
		time.Sleep(time.Second)
		held(0x0b, 0x0c, 0x0d, 0x0e)
		round(4, 0x0b, 0x0d, 0x0e) // a round without 0c: one is not enough
		time.Sleep(time.Second)
		held(0x0b, 0x0c, 0x0d, 0x0e)
		round(5, 0x0b, 0x0d, 0x0e)   // a second round without 0c
		held(0x0b, 0x0c, 0x0d, 0x0e) // that may not be over
		time.Sleep(w)
		held(0x0b, 0x0d, 0x0e)
		lsu(0x0c, 6)
		held(0x0b, 0x0c, 0x0d, 0x0e)
	})
}

// TestLossRounds: a new adjacency is announced alone and a second later
// again, unchanged (no refresh, no round); losing one owes two rounds,
// each roundSpacing after the one before, the first at once when the last
// round is that old.
func TestLossRounds(t *testing.T) {
	p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: 10 * time.Second, TTimeo: 30 * time.Second, TRecalc: time.Second}, true)
	mgmt := fakeMgmt(0x0a)
	p.ls.mgmtAdd(mgmt)
	sent := func(want string) {
		t.Helper()
		var got []string
		for _, u := range queued(t, mgmt) {
			if u.Src != uint64(p.addr) {
				t.Fatalf("LSU %+v not ours", u)
			}
			got = append(got, fmt.Sprintf("%x:%d", u.Dst, u.SeqNo))
		}
		slices.Sort(got)
		if s := strings.Join(got, " "); s != want {
			t.Fatalf("sent %q, want %q", s, want)
		}
	}
	start := time.Now()
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
	sent("b:0 c:0")
	at := start.Add(time.Second)
	p.ls.tick(at)
	sent("b:0 c:0") // the repeats, unchanged: no round
	p.ls.mu.Lock()
	p.ls.sent.last = at // as if the last round were now
	p.ls.mu.Unlock()
	p.removeConn(dts[0])
	sent("")
	sp := p.ls.roundSpacing()
	p.ls.tick(at.Add(sp / 2))
	sent("")
	p.ls.tick(at.Add(sp))
	sent("c:1")
	p.ls.tick(at.Add(sp + sp/2))
	sent("")
	p.ls.tick(at.Add(2 * sp))
	sent("c:2")
	p.ls.tick(at.Add(3 * sp))
	sent("")

	var out sends
	p.ls.mu.Lock()
	p.ls.lost(at.Add(4*sp), &out) // a round long after the last one: at once
	p.ls.mu.Unlock()
	out.run()
	sent("c:3")
	p.ls.tick(at.Add(5 * sp))
	sent("c:4")
}
