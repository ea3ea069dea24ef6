package broadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// fakeNode is the IRM and the lower layers of an IPCP under test: it
// records the IPCP's callbacks; no lower flow ever arrives.
type fakeNode struct {
	mu        sync.Mutex
	replies   map[ipcp.FlowKey]error
	deallocd  map[ipcp.FlowKey]int
	lowerGone []int
}

func newFakeNode() *fakeNode {
	return &fakeNode{replies: map[ipcp.FlowKey]error{}, deallocd: map[ipcp.FlowKey]int{}}
}

func (f *fakeNode) FlowReqArr(ctx context.Context, from uint32, hash []byte, qs qos.Spec, mpl time.Duration, data []byte) (ipcp.Flow, error) {
	return ipcp.Flow{}, errors.New("fake: no requests")
}

func (f *fakeNode) FlowAllocReply(key ipcp.FlowKey, err error, mpl time.Duration, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mpl != MPL || data != nil {
		err = fmt.Errorf("reply with mpl %v and data %q", mpl, data)
	}
	f.replies[key] = err
}

func (f *fakeNode) FlowDeallocated(key ipcp.FlowKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deallocd[key]++
}

func (f *fakeNode) FlowState(key ipcp.FlowKey, up bool) {}

func (f *fakeNode) LowerAlloc(ctx context.Context, self uint32, dst string, qs qos.Spec) (ipcp.LowerFlow, error) {
	return ipcp.LowerFlow{}, fmt.Errorf("%w: fake: no lower layers", errs.ErrIPCP)
}

func (f *fakeNode) LowerAccept(ctx context.Context, self uint32) (ipcp.LowerFlow, error) {
	<-ctx.Done()
	return ipcp.LowerFlow{}, ctx.Err()
}

func (f *fakeNode) LowerDealloc(self uint32, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lowerGone = append(f.lowerGone, id)
	return nil
}

func (f *fakeNode) deallocs(key ipcp.FlowKey) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deallocd[key]
}

// layer is a bootstrapped IPCP over a fake node.
func layer(t testing.TB, name string) (*IPCP, *fakeNode) {
	t.Helper()
	fn := newFakeNode()
	p := New(1, fn, nil).(*IPCP)
	t.Cleanup(func() { p.Close() })
	l, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: name, Hash: ipcp.MD5})
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != name || l.Hash != ipcp.SHA3_256 {
		t.Fatalf("bootstrap gave layer %+v", l)
	}
	return p, fn
}

var nextID = 100

// joinApp joins a new application flow and returns the application's end.
func joinApp(t testing.TB, p *IPCP, fn *fakeNode) (*seqpkt.Conn, ipcp.FlowKey) {
	t.Helper()
	node, app, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	nextID++
	key := ipcp.FlowKey{ID: nextID, Serial: uint64(nextID) * 7}
	if err := p.FlowJoin(context.Background(), ipcp.Flow{Key: key, End: node, QoS: qos.NP1}, ipcp.SHA3_256.Sum(p.layer.Name)); err != nil {
		t.Fatal(err)
	}
	fn.mu.Lock()
	err, ok := fn.replies[key]
	fn.mu.Unlock()
	if !ok || err != nil {
		t.Fatalf("join reply: %v, %v", ok, err)
	}
	return app, key
}

// neighbour adds an N-1 data-transfer flow and returns the far end (what
// the lower layer reads and writes).
func neighbour(t testing.TB, p *IPCP, dst string) (*seqpkt.Conn, int) {
	t.Helper()
	mine, far, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	nextID++
	p.addConn(ipcp.LowerFlow{ID: nextID, Conn: mine, Name: dst, Layer: "lower"}, dst)
	return far, nextID
}

// expect reads one SDU from c within a second and checks it.
func expect(t testing.TB, c *seqpkt.Conn, want []byte) {
	t.Helper()
	buf := make([]byte, seqpkt.MaxPacket)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], want) {
		t.Fatalf("read %q, %v; want %q", buf[:min(n, 64)], err, want[:min(len(want), 64)])
	}
}

// quiet checks that nothing more arrives on c.
func quiet(t testing.TB, c *seqpkt.Conn, what string) {
	t.Helper()
	buf := make([]byte, seqpkt.MaxPacket)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("%s read %q; want nothing", what, buf[:min(n, 64)])
	}
}

// waitStats waits until the counters satisfy ok (the readers count
// after the test has seen the effect, or without a visible effect).
func waitStats(t testing.TB, p *IPCP, ok func(Stats) bool) Stats {
	t.Helper()
	var st Stats
	if !wait.Until(5*time.Second, func() bool { st = p.Stats(); return ok(st) }) {
		t.Fatalf("stats %+v", st)
	}
	return st
}

func TestForwardToEveryOtherMemberOnce(t *testing.T) {
	p, fn := layer(t, "bc")
	var ends []*seqpkt.Conn
	for range 3 {
		app, _ := joinApp(t, p, fn)
		ends = append(ends, app)
	}
	for i := range 2 {
		far, _ := neighbour(t, p, fmt.Sprintf("n%d", i))
		ends = append(ends, far)
	}
	for i, src := range ends {
		msg := fmt.Appendf(nil, "from member %d", i)
		if err := src.Write(msg); err != nil {
			t.Fatal(err)
		}
		for j, dst := range ends {
			if j != i {
				expect(t, dst, msg)
			}
		}
		for _, dst := range ends {
			quiet(t, dst, "a member")
		}
	}
	want := uint64(len(ends))
	waitStats(t, p, func(st Stats) bool {
		return st.Received == want && st.Forwarded == want*uint64(len(ends)-1) && st.Dropped+st.Oversized+st.Down == 0
	})
	info := p.Inspect()
	if len(info.Neighbours) != 2 || info.Flows != 3 || info.Neighbours[0].Dst != "n0" || !info.Neighbours[0].Up || info.Neighbours[0].Comp != ipcp.CompDT {
		t.Errorf("inspect %+v", info)
	}
}

func TestJoinChecksTheHash(t *testing.T) {
	p, fn := layer(t, "bc")
	for _, h := range [][]byte{
		ipcp.SHA3_256.Sum("bd"),
		ipcp.SHA3_256.Sum("bb"), // smaller than the right hash: the reference lets it pass
		ipcp.SHA3_256.Sum("bc")[:16],
		ipcp.MD5.Sum("bc"),
		nil,
	} {
		node, app, _ := seqpkt.Pair()
		err := p.FlowJoin(context.Background(), ipcp.Flow{Key: ipcp.FlowKey{ID: 7, Serial: 7}, End: node}, h)
		if !errors.Is(err, errs.ErrName) {
			t.Errorf("join with hash %x: %v", h, err)
		}
		// The IPCP let go of the node's end.
		app.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := app.Read(make([]byte, 10)); !errors.Is(err, seqpkt.ErrPeerClosed) {
			t.Errorf("the node's end is still open: %v", err)
		}
		app.Close()
	}
	if len(fn.replies) != 0 || p.Inspect().Flows != 0 {
		t.Errorf("a refused join left traces: %v, %+v", fn.replies, p.Inspect())
	}
}

func TestJoinNeedsALayer(t *testing.T) {
	p := New(1, newFakeNode(), nil).(*IPCP)
	defer p.Close()
	node, app, _ := seqpkt.Pair()
	defer app.Close()
	if err := p.FlowJoin(context.Background(), ipcp.Flow{Key: ipcp.FlowKey{ID: 1}, End: node}, ipcp.SHA3_256.Sum(ipcp.NotEnrolled)); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("join before bootstrap: %v", err)
	}
	if err := p.Connect(context.Background(), "x", ipcp.CompDT, qos.Raw); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("connect before bootstrap: %v", err)
	}
}

func TestOversizedSDUsAreDropped(t *testing.T) {
	p, fn := layer(t, "bc")
	a, _ := joinApp(t, p, fn)
	b, _ := joinApp(t, p, fn)
	nb, _ := neighbour(t, p, "n")
	for _, size := range []int{MTU + 1, 4000, seqpkt.MaxPacket} {
		if err := a.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		if err := nb.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	full := bytes.Repeat([]byte{0xAB}, MTU)
	a.Write(full)
	expect(t, b, full)
	expect(t, nb, full)
	quiet(t, b, "b")
	quiet(t, nb, "the neighbour")
	waitStats(t, p, func(st Stats) bool { return st.Oversized == 6 && st.Received == 1 })
	// Empty SDUs are SDUs: forwarded.
	a.Write(nil)
	expect(t, b, nil)
}

// TestSlowMemberDoesNotStall: a member that never reads loses SDUs once
// its queue is full; a member that keeps up gets every one.
func TestSlowMemberDoesNotStall(t *testing.T) {
	p, fn := layer(t, "bc")
	src, _ := joinApp(t, p, fn)
	fast, _ := joinApp(t, p, fn)
	joinApp(t, p, fn) // never read
	const count = 2000
	msg := make([]byte, 1000)
	buf := make([]byte, MTU)
	fast.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range count {
		if err := src.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := fast.Read(buf); err != nil {
			t.Fatalf("the reading member got %d of %d: %v", i, count, err)
		}
	}
	// The reader may be done with the last SDU before the IPCP has tried
	// the silent member.
	if st := waitStats(t, p, func(st Stats) bool { return st.Forwarded+st.Dropped == 2*count }); st.Dropped == 0 || st.Forwarded < count {
		t.Errorf("stats %+v: the silent member should have lost some", st)
	}
}

func TestDeallocAndHangUp(t *testing.T) {
	p, fn := layer(t, "bc")
	a, ka := joinApp(t, p, fn)
	b, kb := joinApp(t, p, fn)
	c, kc := joinApp(t, p, fn)

	// b leaves: nothing more reaches it, the IRM hears once.
	if err := p.FlowDealloc(kb); err != nil {
		t.Fatal(err)
	}
	if err := p.FlowDealloc(kb); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Errorf("second dealloc: %v", err)
	}
	if err := p.FlowDealloc(ipcp.FlowKey{ID: ka.ID, Serial: ka.Serial + 1}); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Errorf("dealloc of a stale key: %v", err)
	}
	if fn.deallocs(kb) != 1 {
		t.Errorf("b deallocated %d times", fn.deallocs(kb))
	}
	a.Write([]byte("x"))
	expect(t, c, []byte("x"))
	buf := make([]byte, 10)
	b.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := b.Read(buf); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("b after dealloc: %v", err)
	}

	// c's application hangs up: it leaves the set, and stays known until
	// the IRM deallocates it.
	c.Close()
	if !wait.Until(5*time.Second, func() bool { return len(*p.set.Load()) == 1 }) {
		t.Fatalf("the set has %d members, want 1", len(*p.set.Load()))
	}
	if p.Inspect().Flows != 2 {
		t.Errorf("flows %d, want 2", p.Inspect().Flows)
	}
	before := p.Stats()
	a.Write([]byte("y"))
	// One SDU in, nothing out: a is alone in the set.
	st := waitStats(t, p, func(st Stats) bool { return st.Received == before.Received+1 })
	if st.Forwarded != before.Forwarded || st.Dropped != before.Dropped {
		t.Errorf("stats %+v after %+v: an SDU went to a gone member", st, before)
	}
	if err := p.FlowDealloc(kc); err != nil || fn.deallocs(kc) != 1 {
		t.Errorf("dealloc of the hung-up flow: %v, %d", err, fn.deallocs(kc))
	}
}

func TestNeighbourFlowEnds(t *testing.T) {
	p, fn := layer(t, "bc")
	far, id := neighbour(t, p, "n")
	far.Close()
	if !wait.Until(5*time.Second, func() bool { return len(p.Inspect().Neighbours) == 0 }) {
		t.Fatal("the neighbour stays after its flow ended")
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if len(fn.lowerGone) != 1 || fn.lowerGone[0] != id {
		t.Errorf("lower deallocs %v, want [%d]", fn.lowerGone, id)
	}
}

func TestLowerFlowState(t *testing.T) {
	p, fn := layer(t, "bc")
	a, _ := joinApp(t, p, fn)
	far, id := neighbour(t, p, "n")
	p.LowerFlowState(id, false)
	p.LowerFlowState(12345, false) // not ours: ignored
	if nb := p.Inspect().Neighbours; len(nb) != 1 || nb[0].Up {
		t.Errorf("neighbours %+v", nb)
	}
	a.Write([]byte("lost"))
	quiet(t, far, "a down neighbour")
	waitStats(t, p, func(st Stats) bool { return st.Down == 1 })
	p.LowerFlowState(id, true)
	a.Write([]byte("found"))
	expect(t, far, []byte("found"))
}

func TestDisconnect(t *testing.T) {
	p, fn := layer(t, "bc")
	a, _ := joinApp(t, p, fn)
	far, id := neighbour(t, p, "n1")
	far2, _ := neighbour(t, p, "n2")
	if err := p.Disconnect("n1", ipcp.CompMgmt); !errors.Is(err, ErrNoMgmt) {
		t.Errorf("disconnect mgmt: %v", err)
	}
	if err := p.Disconnect("n3", ipcp.CompDT); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("disconnect of nothing: %v", err)
	}
	if err := p.Disconnect("n1", ipcp.CompDT); err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("z"))
	expect(t, far2, []byte("z"))
	buf := make([]byte, 10)
	far.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := far.Read(buf); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("the disconnected flow: %v", err)
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if len(fn.lowerGone) != 1 || fn.lowerGone[0] != id {
		t.Errorf("lower deallocs %v, want [%d]", fn.lowerGone, id)
	}
}

func TestRefusedOperations(t *testing.T) {
	p, _ := layer(t, "bc")
	ctx := context.Background()
	h := ipcp.SHA3_256.Sum("x")
	for what, err := range map[string]error{
		"reg":        p.Reg(h),
		"unreg":      p.Unreg(h),
		"query":      p.Query(ctx, h),
		"alloc resp": p.FlowAllocResp(ctx, ipcp.FlowKey{ID: 1}, nil, nil),
		"connect":    p.Connect(ctx, "x", ipcp.CompMgmt, qos.Raw),
	} {
		if !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, ErrNoMgmt) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if err := p.Connect(ctx, "x", "bogus", qos.Raw); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("connect bogus: %v", err)
	}
	node, app, _ := seqpkt.Pair()
	defer app.Close()
	if err := p.FlowAlloc(ctx, ipcp.Flow{Key: ipcp.FlowKey{ID: 1}, End: node}, h, nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("alloc: %v", err)
	}
	app.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := app.Read(make([]byte, 1)); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("a refused alloc left the node's end open: %v", err)
	}
	if _, err := p.Bootstrap(ctx, ipcp.Config{Layer: "again"}); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("second bootstrap: %v", err)
	}
	if _, err := p.Enroll(ctx, "x"); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("enroll when in a layer: %v", err)
	}
}

func TestClose(t *testing.T) {
	fn := newFakeNode()
	p := New(1, fn, nil).(*IPCP)
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "bc"}); err != nil {
		t.Fatal(err)
	}
	_, k1 := joinApp(t, p, fn)
	_, k2 := joinApp(t, p, fn)
	_, id := neighbour(t, p, "n")
	p.Close()
	if fn.deallocs(k1) != 1 || fn.deallocs(k2) != 1 || len(fn.lowerGone) != 1 || fn.lowerGone[0] != id {
		t.Errorf("after close: deallocs %v, lower %v", fn.deallocd, fn.lowerGone)
	}
	p.Close()
	if fn.deallocs(k1) != 1 {
		t.Error("a second close reported again")
	}
	node, app, _ := seqpkt.Pair()
	defer app.Close()
	if err := p.FlowJoin(context.Background(), ipcp.Flow{End: node}, ipcp.SHA3_256.Sum("bc")); err == nil {
		t.Error("join after close")
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	p, _ := layer(t, "bc")
	for range 4 {
		far, _ := neighbour(t, p, "n")
		go func() {
			buf := make([]byte, MTU)
			for {
				if _, err := far.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	from := (*p.set.Load())[0]
	sdu := make([]byte, 100)
	if n := testing.AllocsPerRun(1000, func() { p.forward(from, sdu) }); n != 0 {
		t.Errorf("forward allocates %v times per SDU", n)
	}
}

// BenchmarkForward measures the fan-out of one SDU to three members (the
// write side of the data path, as a member's reader runs it).
func BenchmarkForward(b *testing.B) {
	for _, size := range []int{64, 1400} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p, _ := layer(b, "bc")
			for range 4 {
				far, _ := neighbour(b, p, "n")
				go func() {
					buf := make([]byte, MTU)
					for {
						if _, err := far.Read(buf); err != nil {
							return
						}
					}
				}()
			}
			for _, m := range *p.set.Load() {
				m.end.SetBuffer(4 << 20)
			}
			from := (*p.set.Load())[0]
			sdu := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				p.forward(from, sdu)
			}
			st := p.Stats()
			b.ReportMetric(float64(st.Dropped)/float64(st.Received), "drops/op")
		})
	}
}
