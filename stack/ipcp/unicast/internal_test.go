package unicast

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dt"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/fa"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// fakeNode is an IRM and a Lower whose flow requests wait for ever and
// which has no lower flows to give.
type fakeNode struct{ waiting chan struct{} }

func (f *fakeNode) FlowReqArr(ctx context.Context, _ uint32, _ []byte, _ qos.Spec, _ time.Duration, _ []byte) (ipcp.Flow, error) {
	f.waiting <- struct{}{}
	<-ctx.Done()
	return ipcp.Flow{}, ctx.Err()
}
func (f *fakeNode) FlowAllocReply(ipcp.FlowKey, error, time.Duration, []byte) {}
func (f *fakeNode) FlowDeallocated(ipcp.FlowKey)                              {}
func (f *fakeNode) FlowState(ipcp.FlowKey, bool)                              {}
func (f *fakeNode) LowerAlloc(ctx context.Context, _ uint32, _ string, _ qos.Spec) (ipcp.LowerFlow, error) {
	return ipcp.LowerFlow{}, context.Canceled
}
func (f *fakeNode) LowerAccept(ctx context.Context, _ uint32) (ipcp.LowerFlow, error) {
	<-ctx.Done()
	return ipcp.LowerFlow{}, ctx.Err()
}
func (f *fakeNode) LowerDealloc(uint32, int) error { return nil }

func started(t *testing.T) (*IPCP, *fakeNode) {
	t.Helper()
	f := &fakeNode{waiting: make(chan struct{}, 4*maxReqs)}
	p := New(1, f, slog.New(slog.DiscardHandler)).(*IPCP)
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "net", Hash: ipcp.SHA3_256}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, f
}

// TestLoopDiesByTTL: two IPCPs whose forwarding tables point at each other
// for an address neither has pass a packet back and forth until its TTL
// runs out; it is then dropped, once.
func TestLoopDiesByTTL(t *testing.T) {
	a, _ := started(t)
	b, _ := started(t)
	ea, eb, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	a.addConn(ipcp.LowerFlow{ID: 7, Conn: ea}, ipcp.CompDT, uint64(b.addr), "")
	b.addConn(ipcp.LowerFlow{ID: 9, Conn: eb}, ipcp.CompDT, uint64(a.addr), "")
	const nowhere = 0x0badcafe
	a.pff.Set(nowhere, []int{7})
	b.pff.Set(nowhere, []int{9})
	if err := a.sendComp(nowhere, dtDHTEID, []byte("round and round")); err != nil {
		t.Fatal(err)
	}
	wait.Until(5*time.Second, func() bool { return a.stats.ttlDrops.Load()+b.stats.ttlDrops.Load() > 0 })
	// Nothing should happen after the drop: a copy still going round, or a
	// second drop, would show within this time (the flows are sockets, so
	// there is no event to wait for that says nothing more will come).
	time.Sleep(50 * time.Millisecond)
	drops := a.stats.ttlDrops.Load() + b.stats.ttlDrops.Load()
	fwd := a.stats.forwarded.Load() + b.stats.forwarded.Load()
	if drops != 1 || fwd != dt.DefaultMaxTTL-1 {
		t.Fatalf("TTL drops %d, forwarded %d; want 1 drop after %d hops", drops, fwd, dt.DefaultMaxTTL-1)
	}
}

// TestRequestFloodBounded: flow requests for a name nobody accepts wait
// for the IRM at most maxReqs at a time; the rest are dropped, so a flood
// does not grow goroutines or memory without bound. It runs in a synctest
// bubble, so that the count is taken once every request has gone as far
// as it will.
func TestRequestFloodBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f := started(t)
		before := runtime.NumGoroutine()
		hash := ipcp.SHA3_256.Sum("nobody")
		for i := range 20 * maxReqs {
			msg := fa.AppendFlowReq(nil, 0x1234, fa.MakeEID(1, uint32(i)), qos.Raw, hash, nil)
			p.fa.handle(msg)
		}
		// The requests reach the IRM from goroutines of their own: wait
		// until each is blocked, in FlowReqArr or on its way out.
		synctest.Wait()
		if n := len(f.waiting); n != maxReqs {
			t.Errorf("%d requests wait for an acceptor, want %d", n, maxReqs)
		}
		if grown := runtime.NumGoroutine() - before; grown > maxReqs+8 {
			t.Errorf("%d goroutines more after %d requests, want at most %d", grown, 20*maxReqs, maxReqs)
		}
	})
}

// TestNewAdjacencyAnnouncedTwice: a new data-transfer adjacency is
// announced to the management neighbours at once and again at the next
// tick, with the next seqno; after that only at the periodic update.
func TestNewAdjacencyAnnouncedTwice(t *testing.T) {
	p, _ := started(t)
	mgmt := &conn{comp: ipcp.CompMgmt, peer: 0x0a, out: make(chan []byte, 16), done: make(chan struct{})}
	p.ls.mgmtAdd(mgmt)
	ea, eb, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer eb.Close()
	p.addConn(ipcp.LowerFlow{ID: 3, Conn: ea}, ipcp.CompDT, 0x0b, "")
	want := func(seq uint64) {
		t.Helper()
		select {
		case b := <-mgmt.out:
			u, err := routing.ParseLSU(b)
			if err != nil || u.Src != uint64(p.addr) || u.Dst != 0x0b || u.SeqNo != seq {
				t.Fatalf("LSU %+v (%v), want %x -> 0b seqno %d", u, err, p.addr, seq)
			}
		default:
			t.Fatalf("no LSU queued, want seqno %d", seq)
		}
	}
	none := func() {
		t.Helper()
		select {
		case b := <-mgmt.out:
			t.Fatalf("unexpected LSU %x", b)
		default:
		}
	}
	want(0)
	now := time.Now()
	p.ls.tick(now.Add(time.Second))
	want(1)
	p.ls.tick(now.Add(2 * time.Second))
	none()
	p.ls.tick(now.Add(p.ls.tUpdate + time.Second))
	want(2)
}
