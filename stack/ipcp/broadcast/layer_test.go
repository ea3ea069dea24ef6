package broadcast_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/broadcast"
	"github.com/o7s/ouroboros/stack/ipcp/connmgr"
	"github.com/o7s/ouroboros/stack/ipcp/enroll"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/sim"
)

// tree builds the network
//
//	a - b - c
//	    |
//	    d - e
//
// with a broadcast layer "bc" over it.
func tree(t *testing.T) (*sim.Net, map[string]uint32) {
	t.Helper()
	n := sim.New(t)
	a, b, c, d, e := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d"), n.AddNode("e")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(b, d)
	n.Connect(d, e)
	ids, err := n.Broadcast("bc")
	if err != nil {
		t.Fatal(err)
	}
	return n, ids
}

// app is an application joined to the layer on a node.
type app struct {
	name string
	f    *dev.Flow
}

func joinAt(t *testing.T, nd *sim.Node, prog, layer string) *app {
	t.Helper()
	c, err := dev.DialAs(context.Background(), nd.Sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := c.Join(ctx, layer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &app{name: prog, f: f}
}

// collect reads SDUs from a: up to want of them, waiting at most 10 s in
// all, then any more that come before a quiet period.
func collect(a *app, want int, quiet time.Duration) [][]byte {
	var got [][]byte
	buf := make([]byte, dev.MaxSDU)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if len(got) < want {
			a.f.SetReadDeadline(deadline)
		} else {
			a.f.SetReadDeadline(time.Now().Add(quiet))
		}
		n, err := a.f.Read(buf)
		if err != nil {
			return got
		}
		got = append(got, bytes.Clone(buf[:n]))
	}
}

// digest is an order-free checksum of a set of SDUs.
func digest(sdus [][]byte) string {
	var sums []string
	for _, s := range sdus {
		h := sha256.Sum256(s)
		sums = append(sums, string(h[:]))
	}
	slices.Sort(sums)
	h := sha256.Sum256([]byte(strings.Join(sums, "")))
	return fmt.Sprintf("%x", h[:8])
}

// TestTreeDeliversToEveryOtherMemberOnce: every application of a
// five-node tree (two on one node) sends SDUs at once; every other
// application gets each exactly once, and the sender none of its own.
func TestTreeDeliversToEveryOtherMemberOnce(t *testing.T) {
	n, _ := tree(t)
	var apps []*app
	for _, nd := range n.Nodes {
		apps = append(apps, joinAt(t, nd, "app-"+nd.Name, "bc"))
	}
	apps = append(apps, joinAt(t, n.Node("b"), "app-b2", "bc"))
	const per = 40
	sent := make([][][]byte, len(apps))
	for i, a := range apps {
		for j := range per {
			msg := fmt.Appendf(nil, "%s #%d ", a.name, j)
			msg = append(msg, bytes.Repeat([]byte{byte(i*per + j)}, 10*j)...)
			sent[i] = append(sent[i], msg)
		}
	}
	got := make([][][]byte, len(apps))
	var wg sync.WaitGroup
	for i, a := range apps {
		wg.Go(func() { got[i] = collect(a, (len(apps)-1)*per, 300*time.Millisecond) })
	}
	for j := range per {
		for i, a := range apps {
			if _, err := a.f.Write(sent[i][j]); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond) // paced: the layer drops rather than queues
	}
	wg.Wait()
	for i, a := range apps {
		var want [][]byte
		for k := range apps {
			if k != i {
				want = append(want, sent[k]...)
			}
		}
		if len(got[i]) != len(want) || digest(got[i]) != digest(want) {
			t.Errorf("%s got %d SDUs (digest %s), want %d (digest %s)", a.name, len(got[i]), digest(got[i]), len(want), digest(want))
		}
		for _, s := range got[i] {
			if bytes.HasPrefix(s, []byte(a.name+" #")) {
				t.Errorf("%s got its own SDU %q", a.name, s[:12])
				break
			}
		}
	}
}

// TestTreeDropsOversizedSDUs: SDUs over 1400 bytes go nowhere, whether
// they come from an application or from a neighbour's IPCP; the ones
// that fit pass.
func TestTreeDropsOversizedSDUs(t *testing.T) {
	n, _ := tree(t)
	a := joinAt(t, n.Node("a"), "app-a", "bc")
	e := joinAt(t, n.Node("e"), "app-e", "bc")
	c := joinAt(t, n.Node("c"), "app-c", "bc")
	for _, size := range []int{broadcast.MTU + 1, 1500, 9000, dev.MaxSDU} {
		if _, err := a.f.Write(bytes.Repeat([]byte{1}, size)); err != nil {
			t.Fatal(err)
		}
	}
	fits := bytes.Repeat([]byte{2}, broadcast.MTU)
	if _, err := a.f.Write(fits); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*app{e, c} {
		if got := collect(x, 1, 300*time.Millisecond); len(got) != 1 || !bytes.Equal(got[0], fits) {
			t.Errorf("%s got %d SDUs, want the one of %d bytes", x.name, len(got), broadcast.MTU)
		}
	}
}

func TestJoinOfAnotherLayerFails(t *testing.T) {
	n, _ := tree(t)
	c, err := dev.DialAs(context.Background(), n.Node("a").Sock, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, layer := range []string{"bd", "b", "bc.a", "e-a-b"} {
		_, err := c.Join(ctx, layer)
		if err == nil {
			t.Errorf("join %q succeeded", layer)
		}
		t.Logf("join %q: %v", layer, err)
	}
}

func TestConnectMgmtFails(t *testing.T) {
	n, ids := tree(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := n.Node("a")
	for _, comp := range []string{ipcp.CompMgmt, ""} {
		err := a.N.ConnectIPCP(ctx, ids["a"], sim.IPCPName("bc", "b"), comp, qos.Raw)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "no management component") {
			t.Errorf("connect %q: %v", comp, err)
		}
	}
	if err := a.N.DisconnectIPCP(ids["a"], sim.IPCPName("bc", "b"), ipcp.CompMgmt); err == nil || !strings.Contains(err.Error(), "no management component") {
		t.Errorf("disconnect mgmt: %v", err)
	}
	// Nor are names registered in a broadcast layer.
	a.N.CreateName("x", ctl.RoundRobin)
	if err := a.N.RegName("x", ids["a"]); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("register a name in a broadcast layer: %v", err)
	}
	info, _, err := a.N.IPCPDetail(ids["a"])
	if err != nil || len(info.Neighbours) != 1 || info.Neighbours[0].Comp != ipcp.CompDT || !info.Neighbours[0].Up || info.Neighbours[0].Dst != sim.IPCPName("bc", "b") {
		t.Errorf("a's neighbours after the refusals: %+v, %v", info.Neighbours, err)
	}
}

// TestDisconnectSplitsTheTree: without the b-d adjacency, d and e no
// longer hear a; with it back, they do.
func TestDisconnectSplitsTheTree(t *testing.T) {
	n, ids := tree(t)
	a := joinAt(t, n.Node("a"), "app-a", "bc")
	c := joinAt(t, n.Node("c"), "app-c", "bc")
	e := joinAt(t, n.Node("e"), "app-e", "bc")
	b, d := n.Node("b"), n.Node("d")
	if err := b.N.DisconnectIPCP(ids["b"], sim.IPCPName("bc", "d"), ipcp.CompDT); err != nil {
		t.Fatal(err)
	}
	// Dealloc is local (spec SYSTEM §15.5): d keeps its half, whose SDUs
	// b's lower layer now drops.
	a.f.Write([]byte("one"))
	if got := collect(c, 1, 300*time.Millisecond); len(got) != 1 {
		t.Errorf("c got %d SDUs", len(got))
	}
	if got := collect(e, 0, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("e got %d SDUs across a removed adjacency", len(got))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nbs := func() int {
		info, _, _ := d.N.IPCPDetail(ids["d"])
		return len(info.Neighbours)
	}
	had := nbs()
	if err := b.N.ConnectIPCP(ctx, ids["b"], sim.IPCPName("bc", "d"), ipcp.CompDT, qos.Raw); err != nil {
		t.Fatal(err)
	}
	// d adds its side after the exchange.
	if !wait.Until(10*time.Second, func() bool { return nbs() != had }) {
		t.Fatal("d did not add the new adjacency")
	}
	a.f.Write([]byte("two"))
	for _, x := range []*app{c, e} {
		if got := collect(x, 1, 300*time.Millisecond); len(got) != 1 || string(got[0]) != "two" {
			t.Errorf("%s got %q", x.name, got)
		}
	}
}

// TestEnrollAcrossLayerTypes: a broadcast IPCP does not enroll in a
// unicast layer, nor a unicast IPCP in a broadcast layer; both say why.
func TestEnrollAcrossLayerTypes(t *testing.T) {
	n := sim.New(t)
	a, b := n.AddNode("a"), n.AddNode("b")
	n.Connect(a, b)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := b.N.CreateIPCP("bc.b", ipcp.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	err = b.N.EnrollIPCP(ctx, id, sim.IPCPName("net", "a"))
	if !errors.Is(err, enroll.ErrType) || !strings.Contains(err.Error(), "unicast, not broadcast") {
		t.Errorf("broadcast IPCP enrolling in a unicast layer: %v", err)
	}
	t.Log(err)
	for _, x := range b.N.ListIPCPs() {
		if x.ID == id && (x.State != ipcp.StateBoot || x.Layer != ipcp.NotEnrolled) {
			t.Errorf("after a refused enrollment: %+v", x)
		}
	}

	// Now the other way round: a broadcast layer on a, a unicast IPCP on b.
	bid, err := a.N.CreateIPCP("bc.a", ipcp.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	a.N.CreateName("bc.a", ctl.RoundRobin)
	if err := a.N.BindIPCP(bid, "bc.a"); err != nil {
		t.Fatal(err)
	}
	for _, x := range a.N.ListIPCPs() {
		if x.Type == ipcp.EthDIX {
			if err := a.N.RegName("bc.a", x.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.N.BootstrapIPCP(ctx, bid, ipcp.Config{Layer: "bc"}); err != nil {
		t.Fatal(err)
	}
	uid, err := b.N.CreateIPCP("u.b", ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	err = b.N.EnrollIPCP(ctx, uid, "bc.a")
	if !errors.Is(err, enroll.ErrType) || !strings.Contains(err.Error(), "broadcast, not unicast") {
		t.Errorf("unicast IPCP enrolling in a broadcast layer: %v", err)
	}

	// Nor do their data transfers meet: the unicast side sees another
	// protocol, and the broadcast side does not keep the flow. It decides
	// once it has the unicast side's cep_msg: it lets the new flow go (the
	// enrollment flow stays, waiting for its ack) or, wrongly, adds a
	// neighbour.
	named := func() map[int]bool {
		ids := map[int]bool{}
		for _, f := range a.N.Flows() {
			if f.Name == "bc.a" {
				ids[f.ID] = true
			}
		}
		return ids
	}
	had := named()
	if err := b.N.ConnectIPCP(ctx, b.Unicast["net"], "bc.a", ipcp.CompDT, qos.Raw); !errors.Is(err, connmgr.ErrMismatch) {
		t.Errorf("unicast dt to a broadcast IPCP: %v", err)
	}
	wait.Until(5*time.Second, func() bool {
		if info, _, _ := a.N.IPCPDetail(bid); len(info.Neighbours) != 0 {
			return true
		}
		for id := range named() {
			if !had[id] {
				return false
			}
		}
		return true
	})
	if info, _, _ := a.N.IPCPDetail(bid); len(info.Neighbours) != 0 {
		t.Errorf("the broadcast IPCP kept a unicast data transfer: %+v", info.Neighbours)
	}
}

// TestLinkDown: while a link's carrier is down, the adjacency over it is
// down and what crosses it is not sent; it comes back with the carrier.
func TestLinkDown(t *testing.T) {
	n, ids := tree(t)
	a := joinAt(t, n.Node("a"), "app-a", "bc")
	e := joinAt(t, n.Node("e"), "app-e", "bc")
	var de *sim.Link
	for _, l := range n.Links {
		if l.A.Name == "d" && l.B.Name == "e" {
			de = l
		}
	}
	up := func(want bool) {
		t.Helper()
		var ie, id ipcp.Info
		if !wait.Until(5*time.Second, func() bool {
			ie, _, _ = n.Node("e").N.IPCPDetail(ids["e"])
			id, _, _ = n.Node("d").N.IPCPDetail(ids["d"])
			downs := 0
			for _, nb := range id.Neighbours {
				if !nb.Up {
					downs++
				}
			}
			return len(ie.Neighbours) == 1 && ie.Neighbours[0].Up == want && (downs == 0) == want
		}) {
			t.Fatalf("e's neighbours %+v, d's %+v, want up=%v", ie.Neighbours, id.Neighbours, want)
		}
	}
	de.SetUp(false)
	up(false)
	de.SetUp(true)
	up(true)
	a.f.Write([]byte("back"))
	if got := collect(e, 1, 300*time.Millisecond); len(got) != 1 || string(got[0]) != "back" {
		t.Errorf("e got %q after the link came back", got)
	}
}

// BenchmarkTree measures what crosses the tree from a to d (three hops
// over in-memory Ethernet). The layer drops rather than waits, so the
// sender keeps at most a window of SDUs in flight (a window that makes no
// progress for 20 ms is written off as lost); the delivered share is
// reported with the throughput.
func BenchmarkTree(b *testing.B) {
	n := sim.New(b)
	na, nb, nc, nd := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(na, nb)
	n.Connect(nb, nc)
	n.Connect(nc, nd)
	if _, err := n.Broadcast("bc"); err != nil {
		b.Fatal(err)
	}
	join := func(nd *sim.Node, prog string) *dev.Flow {
		c, err := dev.DialAs(context.Background(), nd.Sock, prog)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		f, err := c.Join(context.Background(), "bc")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	src, dst := join(na, "src"), join(nd, "dst")
	const size, window = 1000, 64
	var recvd atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, broadcast.MTU)
		for {
			if _, err := dst.Read(buf); err != nil {
				return
			}
			recvd.Add(1)
		}
	}()
	sdu := make([]byte, size)
	var lost int64
	start := time.Now()
	for i := range int64(b.N) {
		for t0 := time.Now(); i-recvd.Load()-lost >= window; {
			if time.Since(t0) > 20*time.Millisecond {
				lost = i - recvd.Load()
				break
			}
			runtime.Gosched()
		}
		if _, err := src.Write(sdu); err != nil {
			b.Fatal(err)
		}
	}
	for t0 := time.Now(); recvd.Load()+lost < int64(b.N) && time.Since(t0) < 100*time.Millisecond; {
		// A fine poll, not internal/wait: the time the last SDU arrives
		// ends the measurement, so the poll must add little to it.
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	k := recvd.Load()
	b.StopTimer()
	dst.SetReadDeadline(time.Unix(1, 0))
	<-done
	b.ReportMetric(100*float64(k)/float64(b.N), "delivered%")
	b.ReportMetric(float64(k)*size*8/el.Seconds()/1e6, "Mb/s")
}
