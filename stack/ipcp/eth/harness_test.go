package eth_test

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

var _ eth.Link = (*ethtest.Port)(nil)

// fakeIRM is a scripted IRM: every flow request is accepted at once (or
// refused with refuse), and every callback is recorded so the tests can
// check the ownership contract of stack/ipcp.
type fakeIRM struct {
	t      testing.TB
	p      *eth.IPCP
	refuse error
	reqErr error // FlowReqArr fails at once with it (a refusal before any acceptor)
	wg     sync.WaitGroup

	arrived chan arrival // flows made by FlowReqArr
	replied chan reply   // FlowAllocReply calls
	gone    chan ipcp.FlowKey
	states  sync.Map // FlowKey -> the last FlowState reported (bool: up)

	mu       sync.Mutex // guards the fields below
	next     int
	apps     map[ipcp.FlowKey]*seqpkt.Conn
	outcomes map[ipcp.FlowKey]int // failed replies + deallocations per flow
	handed   map[ipcp.FlowKey]bool
}

type arrival struct {
	key  ipcp.FlowKey
	app  *seqpkt.Conn
	hash []byte
	qos  qos.Spec
}

type reply struct {
	key ipcp.FlowKey
	err error
	mpl time.Duration
}

func newFakeIRM(t testing.TB) *fakeIRM {
	return &fakeIRM{t: t, arrived: make(chan arrival, 1024), replied: make(chan reply, 1024), gone: make(chan ipcp.FlowKey, 1024),
		apps: make(map[ipcp.FlowKey]*seqpkt.Conn), outcomes: make(map[ipcp.FlowKey]int), handed: make(map[ipcp.FlowKey]bool)}
}

// newFlow makes a flow key and the socket pair of a flow.
func (f *fakeIRM) newFlow() (ipcp.FlowKey, *seqpkt.Conn, *seqpkt.Conn) {
	node, app, err := seqpkt.Pair()
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	key := ipcp.FlowKey{ID: f.next, Serial: uint64(f.next)}
	f.apps[key], f.handed[key] = app, true
	return key, node, app
}

func (f *fakeIRM) FlowReqArr(ctx context.Context, from uint32, hash []byte, qs qos.Spec, mpl time.Duration, _ []byte) (ipcp.Flow, error) {
	if mpl != eth.MPL {
		f.t.Errorf("FlowReqArr mpl %v, want %v", mpl, eth.MPL)
	}
	if f.reqErr != nil {
		return ipcp.Flow{}, f.reqErr
	}
	key, node, app := f.newFlow()
	f.arrived <- arrival{key: key, app: app, hash: hash, qos: qs}
	f.wg.Go(func() { f.p.FlowAllocResp(ctx, key, f.refuse, nil) })
	return ipcp.Flow{Key: key, End: node, QoS: qs}, nil
}

func (f *fakeIRM) FlowAllocReply(key ipcp.FlowKey, err error, mpl time.Duration, _ []byte) {
	if err != nil {
		f.count(key)
	}
	f.replied <- reply{key, err, mpl}
}

func (f *fakeIRM) FlowState(key ipcp.FlowKey, up bool) { f.states.Store(key, up) }

func (f *fakeIRM) FlowDeallocated(key ipcp.FlowKey) {
	f.count(key)
	f.gone <- key
}

func (f *fakeIRM) count(key ipcp.FlowKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.handed[key] {
		f.t.Errorf("callback for flow %v the IRM never made", key)
	}
	f.outcomes[key]++
}

// check verifies, after the IPCP closed, that every flow ended exactly once.
func (f *fakeIRM) check() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for key := range f.handed {
		if n := f.outcomes[key]; n != 1 {
			f.t.Errorf("flow %v ended %d times, want exactly once", key, n)
		}
	}
	for _, app := range f.apps {
		app.Close()
	}
}

// alloc starts allocating a flow from p to hash.
func (f *fakeIRM) alloc(p *eth.IPCP, hash []byte) (ipcp.FlowKey, *seqpkt.Conn, error) {
	key, node, app := f.newFlow()
	err := p.FlowAlloc(ctxT(f.t, 5*time.Second), ipcp.Flow{Key: key, End: node, QoS: qos.Raw}, hash, nil)
	if err != nil {
		f.count(key) // the error return is the flow's outcome
	}
	return key, app, err
}

func (f *fakeIRM) waitReply(key ipcp.FlowKey) reply {
	f.t.Helper()
	select {
	case r := <-f.replied:
		if r.key != key {
			f.t.Fatalf("reply for %v, want %v", r.key, key)
		}
		return r
	case <-time.After(5 * time.Second):
		f.t.Fatalf("no FlowAllocReply for %v", key)
	}
	return reply{}
}

func (f *fakeIRM) waitArrival() arrival {
	f.t.Helper()
	select {
	case a := <-f.arrived:
		return a
	case <-time.After(5 * time.Second):
		f.t.Fatal("no flow request arrived")
	}
	return arrival{}
}

func (f *fakeIRM) waitGone(key ipcp.FlowKey) {
	f.t.Helper()
	select {
	case k := <-f.gone:
		if k != key {
			f.t.Fatalf("FlowDeallocated(%v), want %v", k, key)
		}
	case <-time.After(5 * time.Second):
		f.t.Fatalf("no FlowDeallocated for %v", key)
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func testLog(t testing.TB) *slog.Logger {
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		return slog.New(slog.NewTextHandler(tt.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

var hashSrv = ipcp.SHA3_256.Sum("srv")

// hubOpen returns an OpenFunc that attaches a port with the given MTU to
// the hub and reports it.
func hubOpen(hub *ethtest.Hub, mtu int, port **ethtest.Port) eth.OpenFunc {
	return func(conf ipcp.EthConfig, llc bool) (eth.Link, error) {
		p := hub.NewPort(conf.Dev, mtu)
		if port != nil {
			*port = p
		}
		return p, nil
	}
}

func bootConf(dev string) ipcp.Config {
	return ipcp.Config{Layer: "eth", Hash: ipcp.SHA3_256, Eth: &ipcp.EthConfig{Dev: dev, Ethertype: ipcp.DefaultEthertype}}
}

// newIPCP bootstraps an IPCP on a new port of hub, with a fake IRM. It is
// closed, and the IRM's records checked, when the test ends.
func newIPCP(t testing.TB, hub *ethtest.Hub, typ ipcp.Type, dev string, mtu int) (*eth.IPCP, *fakeIRM, *ethtest.Port) {
	t.Helper()
	var port *ethtest.Port
	p, irm := newIPCPOn(t, typ, dev, hubOpen(hub, mtu, &port))
	return p, irm, port
}

// newIPCPOn bootstraps an IPCP on the link open gives, with a fake IRM.
func newIPCPOn(t testing.TB, typ ipcp.Type, dev string, open eth.OpenFunc) (*eth.IPCP, *fakeIRM) {
	t.Helper()
	irm := newFakeIRM(t)
	p := eth.New(typ, 1, irm, testLog(t), open)
	irm.p = p
	if _, err := p.Bootstrap(context.Background(), bootConf(dev)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		irm.wg.Wait()
		irm.check()
	})
	return p, irm
}

// noLeaks fails the test if goroutines of the IPCP outlive it. Call it
// first, so it runs after every other cleanup.
func noLeaks(t testing.TB) {
	t.Cleanup(func() {
		var stacks string
		if !wait.Until(5*time.Second, func() bool {
			buf := make([]byte, 1<<20)
			stacks = string(buf[:runtime.Stack(buf, true)])
			return !strings.Contains(stacks, "stack/ipcp/eth.(*IPCP)")
		}) {
			t.Fatalf("IPCP goroutines left:\n%s", stacks)
		}
	})
}

// hx decodes hex written with spaces and line breaks.
func hx(parts ...string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(parts, " ")), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// readFrame reads one frame from a raw port, failing after 5 s.
func readFrame(t testing.TB, p *ethtest.Port) []byte {
	t.Helper()
	c := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 1<<16)
		sizes := []int{0}
		if n, err := p.ReadBatch([][]byte{buf}, sizes); n == 1 && err == nil {
			c <- buf[:sizes[0]]
		}
	}()
	select {
	case b := <-c:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
	}
	return nil
}

func writeFrames(t testing.TB, p *ethtest.Port, frames ...[]byte) {
	t.Helper()
	if n, err := p.WriteBatch(frames); err != nil || n != len(frames) {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
}

// readSDU reads one SDU from an application end, failing after 5 s.
func readSDU(t testing.TB, c *seqpkt.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, seqpkt.MaxPacket)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read SDU: %v", err)
	}
	return buf[:n]
}

var errNope = errors.New("nope")
