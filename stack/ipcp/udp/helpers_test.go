package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

var errNoSysResolver = errors.New("test: no system resolver")

// TestMain fails the run if a goroutine of an IPCP outlives the tests:
// every test closes its IPCPs, and Close waits for their goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leak := leaked(); leak != "" {
			fmt.Fprintf(os.Stderr, "leaked IPCP goroutine:\n%s\n", leak)
			code = 1
		}
	}
	os.Exit(code)
}

func leaked() string {
	var g string
	wait.Until(2*time.Second, func() bool {
		g = ipcpGoroutine()
		return g == ""
	})
	return g
}

// ipcpGoroutine returns the stack of a goroutine running IPCP code.
func ipcpGoroutine() string {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "ipcp/udp.(*IPCP)") || strings.Contains(g, "ipcp/udp.(*sender)") {
			return g
		}
	}
	return ""
}

// fakeIRM records what an IPCP reports. FlowReqArr hands out one end of a
// fresh socket pair and keeps the other as the application's.
type fakeIRM struct {
	mu       sync.Mutex
	serial   uint64
	apps     map[ipcp.FlowKey]*seqpkt.Conn
	reqs     chan reqArr
	replies  chan allocReply
	deallocs chan ipcp.FlowKey
	refuse   error                  // FlowReqArr fails with it when set
	onReq    func(key ipcp.FlowKey) // runs before FlowReqArr returns
}

type reqArr struct {
	key  ipcp.FlowKey
	hash []byte
	qos  qos.Spec
	mpl  time.Duration
}

type allocReply struct {
	key ipcp.FlowKey
	err error
	mpl time.Duration
}

func newFakeIRM() *fakeIRM {
	return &fakeIRM{
		apps: make(map[ipcp.FlowKey]*seqpkt.Conn), serial: 100,
		reqs: make(chan reqArr, 16), replies: make(chan allocReply, 16), deallocs: make(chan ipcp.FlowKey, 16),
	}
}

// pair returns a flow key with the node's end and the application's end.
func (r *fakeIRM) pair(t testing.TB) (ipcp.Flow, *seqpkt.Conn) {
	t.Helper()
	node, app, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	r.mu.Lock()
	r.serial++
	key := ipcp.FlowKey{ID: int(r.serial), Serial: r.serial}
	r.apps[key] = app
	r.mu.Unlock()
	return ipcp.Flow{Key: key, End: node, QoS: qos.Raw}, app
}

func (r *fakeIRM) app(key ipcp.FlowKey) *seqpkt.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apps[key]
}

func (r *fakeIRM) FlowReqArr(ctx context.Context, _ uint32, hash []byte, qs qos.Spec, mpl time.Duration, _ []byte) (ipcp.Flow, error) {
	if r.refuse != nil {
		return ipcp.Flow{}, r.refuse
	}
	node, app, err := seqpkt.Pair()
	if err != nil {
		return ipcp.Flow{}, err
	}
	r.mu.Lock()
	r.serial++
	key := ipcp.FlowKey{ID: int(r.serial), Serial: r.serial}
	r.apps[key] = app
	r.mu.Unlock()
	r.reqs <- reqArr{key, hash, qs, mpl}
	if r.onReq != nil {
		r.onReq(key)
	}
	return ipcp.Flow{Key: key, End: node, QoS: qs}, nil
}

func (r *fakeIRM) FlowAllocReply(key ipcp.FlowKey, err error, mpl time.Duration, _ []byte) {
	r.replies <- allocReply{key, err, mpl}
}

func (r *fakeIRM) FlowDeallocated(key ipcp.FlowKey) { r.deallocs <- key }

func testLog(t testing.TB) *slog.Logger {
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		return slog.New(slog.NewTextHandler(tt.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// bootstrap starts an IPCP of typ bound to ap (port 0: any), with the
// system resolver replaced, and closes it at the end of the test.
func bootstrap(t testing.TB, typ ipcp.Type, irm ipcp.IRM, ap netip.AddrPort, mod func(*IPCP, *ipcp.UDPConfig)) *IPCP {
	t.Helper()
	p := newIPCP(typ, 1, irm, testLog(t))
	p.sysLookup = NoSysLookup
	conf := &ipcp.UDPConfig{Addr: ap.Addr(), Port: ap.Port()}
	if mod != nil {
		mod(p, conf)
	}
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "udp", Hash: ipcp.MD5, UDP: conf}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// listen binds a plain UDP socket on the loopback, for a scripted peer.
func listen(t testing.TB, ap netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recv reads one datagram within 5 s.
func recv(t testing.TB, c *net.UDPConn) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return buf[:n], from
}

func lo(s string, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(s), port)
}

func (r *fakeIRM) FlowState(ipcp.FlowKey, bool) {}
