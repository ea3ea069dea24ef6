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
	return startedWith(t, nil, false)
}

// startedWith bootstraps an IPCP with the layer configuration u (nil:
// the defaults); a tickless one runs no periodic tasks but the test's.
func startedWith(t *testing.T, u *ipcp.UnicastConfig, tickless bool) (*IPCP, *fakeNode) {
	t.Helper()
	f := &fakeNode{waiting: make(chan struct{}, 4*maxReqs)}
	p := New(1, f, slog.New(slog.DiscardHandler)).(*IPCP)
	p.tickless = tickless
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "net", Hash: ipcp.SHA3_256, Unicast: u}); err != nil {
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
// announced to the management neighbours at once and again, unchanged, a
// second later; after that only at the periodic update.
func TestNewAdjacencyAnnouncedTwice(t *testing.T) {
	p, _ := started(t)
	mgmt := &conn{comp: ipcp.CompMgmt, peer: 0x0a, out: newLSUQueue(), done: make(chan struct{})}
	p.ls.mgmtAdd(mgmt)
	ea, eb, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer eb.Close()
	p.addConn(ipcp.LowerFlow{ID: 3, Conn: ea}, ipcp.CompDT, 0x0b, "")
	want := func(seq uint64) {
		t.Helper()
		b := mgmt.out.pop()
		if b == nil {
			t.Fatalf("no LSU queued, want seqno %d", seq)
		}
		u, err := routing.ParseLSU(b)
		if err != nil || u.Src != uint64(p.addr) || u.Dst != 0x0b || u.SeqNo != seq {
			t.Fatalf("LSU %+v (%v), want %x -> 0b seqno %d", u, err, p.addr, seq)
		}
	}
	none := func() {
		t.Helper()
		if b := mgmt.out.pop(); b != nil {
			t.Fatalf("unexpected LSU %x", b)
		}
	}
	want(0)
	now := time.Now()
	p.ls.tick(now.Add(time.Second))
	want(0)
	p.ls.tick(now.Add(2 * time.Second))
	none()
	p.ls.tick(now.Add(p.ls.tUpdate + time.Second))
	want(1)
}

// TestAgeingEveryTick: an adjacency that is not refreshed goes at the
// first tick past ls_t_timeo, not at the next periodic update; and a
// periodic update whose tick comes a little early is not put off.
func TestAgeingEveryTick(t *testing.T) {
	p, _ := startedWith(t, &ipcp.UnicastConfig{TUpdate: 10 * time.Second, TTimeo: 10 * time.Second, TRecalc: time.Second}, true)
	mgmt := &conn{comp: ipcp.CompMgmt, peer: 0x0a, out: newLSUQueue(), done: make(chan struct{})}
	p.ls.mgmtAdd(mgmt)
	p.ls.receive(mgmt, routing.LSU{Src: 0x0a, Dst: 0x0b, SeqNo: 1}.Append(nil))
	if n := p.ls.adjacencies(); n != 1 {
		t.Fatalf("%d adjacencies after an LSU, want 1", n)
	}
	start := time.Now()
	p.ls.mu.Lock()
	p.ls.updated = start.Add(5 * time.Second) // the last periodic update
	p.ls.mu.Unlock()
	p.ls.tick(start.Add(9 * time.Second))
	if n := p.ls.adjacencies(); n != 1 {
		t.Fatalf("%d adjacencies before ls_t_timeo, want 1", n)
	}
	p.ls.tick(start.Add(10*time.Second + 500*time.Millisecond)) // not a periodic update
	if n := p.ls.adjacencies(); n != 0 {
		t.Fatalf("%d adjacencies at the first tick past ls_t_timeo, want 0", n)
	}

	ea, eb, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer eb.Close()
	p.addConn(ipcp.LowerFlow{ID: 3, Conn: ea}, ipcp.CompDT, 0x0b, "")
	if mgmt.out.pop() == nil {
		t.Fatal("no announcement of the adjacency")
	}
	p.ls.tick(start.Add(11 * time.Second))
	if mgmt.out.pop() == nil {
		t.Fatal("no repeat of the announcement")
	}
	// 10 s after the last periodic update, but for 1 ms:
	p.ls.tick(start.Add(15*time.Second - time.Millisecond))
	b := mgmt.out.pop()
	if b == nil {
		t.Fatal("no periodic update at a tick 1 ms early")
	}
	if u, err := routing.ParseLSU(b); err != nil || u.Dst != 0x0b || u.SeqNo != 1 {
		t.Fatalf("LSU %+v (%v), want the update of the adjacency to 0b, seqno 1", u, err)
	}
}
