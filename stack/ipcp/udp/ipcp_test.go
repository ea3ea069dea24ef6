package udp

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

var srvHash = func() []byte { h := md5.Sum([]byte("srv")); return h[:] }()

// peerSetup starts an IPCP on 127.0.0.1 and a scripted peer (a plain
// socket speaking the reference's wire format) on 127.0.0.2, same port.
func peerSetup(t *testing.T) (*IPCP, *fakeIRM, *net.UDPConn) {
	t.Helper()
	for range 10 {
		irm := newFakeIRM()
		p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lo("127.0.0.2", p.LocalAddr().Port())))
		if err != nil { // the port is taken on 127.0.0.2: try another
			p.Close()
			continue
		}
		t.Cleanup(func() { c.Close() })
		return p, irm, c
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return nil, nil, nil
}

func readApp(t *testing.T, c *seqpkt.Conn) []byte {
	t.Helper()
	buf := make([]byte, MaxPacket4)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("application read: %v", err)
	}
	return buf[:n]
}

func TestAllocAgainstScriptedPeer(t *testing.T) {
	p, irm, peer := peerSetup(t)
	if err := p.AddStatic(srvHash, netip.MustParseAddr("127.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := p.Query(context.Background(), srvHash); err != nil {
		t.Fatal(err)
	}
	fl, app := irm.pair(t)
	fl.QoS = qos.Voice
	oapReq := []byte("the OAP request travels opaquely after the hash")
	if err := p.FlowAlloc(context.Background(), fl, srvHash, oapReq); err != nil {
		t.Fatal(err)
	}
	req, from := recv(t, peer)
	m, rest, err := ParseMgmt(req)
	if err != nil || m.Code != FlowReq || m.SEID == 0 || m.DEID != 0 || m.QoS != qos.Voice {
		t.Fatalf("FLOW_REQ = %+v, %v", m, err)
	}
	if !bytes.Equal(rest, append(bytes.Clone(srvHash), oapReq...)) || from != p.LocalAddr() {
		t.Fatalf("FLOW_REQ from %v carries %x, want the hash and the OAP request from %v", from, rest, p.LocalAddr())
	}
	// Replies from another address, or another port, are ignored.
	for _, a := range []netip.AddrPort{lo("127.0.0.3", p.LocalAddr().Port()), lo("127.0.0.2", 0)} {
		intruder := listen(t, a)
		intruder.WriteToUDPAddrPort(AppendFlowReply(nil, m.SEID, 42, 0, nil), from)
	}
	wait.For(t, "two wrong-source replies", func() bool { return p.Stats.DropWrongSource.Load() == 2 })
	select {
	case r := <-irm.replies:
		t.Fatalf("a reply from the wrong address completed the flow: %+v", r)
	default:
	}
	peer.WriteToUDPAddrPort(AppendFlowReply(nil, m.SEID, 42, 0, []byte("oap-response")), from)
	if r := <-irm.replies; r.key != fl.Key || r.err != nil || r.mpl != MPL {
		t.Fatalf("FlowAllocReply = %+v, want %v accepted with MPL %v", r, fl.Key, MPL)
	}
	// Data: our SDUs carry the peer's eid, the peer's carry ours.
	app.Write([]byte("hello"))
	if d, _ := recv(t, peer); !bytes.Equal(d, []byte{0, 0, 0, 42, 'h', 'e', 'l', 'l', 'o'}) {
		t.Fatalf("data datagram = %x, want eid 42 then hello", d)
	}
	peer.WriteToUDPAddrPort(append(AppendEIDForTest(m.SEID), "world"...), from)
	if got := readApp(t, app); string(got) != "world" {
		t.Fatalf("application read %q, want world", got)
	}
	// A duplicate reply finds no pending flow.
	peer.WriteToUDPAddrPort(AppendFlowReply(nil, m.SEID, 42, 0, nil), from)
	wait.For(t, "stale reply", func() bool { return p.Stats.DropStaleReply.Load() == 1 })
	// Dealloc is local: the peer hears nothing, the IRM hears once.
	if err := p.FlowDealloc(fl.Key); err != nil {
		t.Fatal(err)
	}
	if k := <-irm.deallocs; k != fl.Key {
		t.Fatalf("FlowDeallocated(%v), want %v", k, fl.Key)
	}
	if err := p.FlowDealloc(fl.Key); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Fatalf("second FlowDealloc = %v, want ErrUnknownFlow", err)
	}
}

// AppendEIDForTest returns the 4-byte eid prefix.
func AppendEIDForTest(eid uint32) []byte {
	b := make([]byte, EIDLen)
	PutEID(b, eid)
	return b
}

func TestAllocRefused(t *testing.T) {
	p, irm, peer := peerSetup(t)
	p.AddStatic(srvHash, netip.MustParseAddr("127.0.0.2"))
	fl, _ := irm.pair(t)
	if err := p.FlowAlloc(context.Background(), fl, srvHash, nil); err != nil {
		t.Fatal(err)
	}
	req, from := recv(t, peer)
	m, _, _ := ParseMgmt(req)
	peer.WriteToUDPAddrPort(AppendFlowReply(nil, m.SEID, 0, errs.Code(errs.ErrPermission), nil), from)
	r := <-irm.replies
	if r.key != fl.Key || !errors.Is(r.err, errs.ErrPermission) {
		t.Fatalf("FlowAllocReply = %+v, want %v refused with ErrPermission", r, fl.Key)
	}
	if err := p.FlowDealloc(fl.Key); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Fatalf("FlowDealloc after a refusal = %v, want ErrUnknownFlow (reported once)", err)
	}
}

func TestAllocUnknownNameClosesEnd(t *testing.T) {
	p := bootstrap(t, ipcp.UDP4, newFakeIRM(), lo("127.0.0.1", 0), nil)
	fl, app := newFakeIRM().pair(t)
	if err := p.FlowAlloc(context.Background(), fl, srvHash, nil); !errors.Is(err, errs.ErrName) {
		t.Fatalf("FlowAlloc = %v, want ErrName", err)
	}
	app.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := app.Read(make([]byte, 8)); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Fatalf("application end after a failed FlowAlloc reads %v, want ErrPeerClosed", err)
	}
}

func TestAcceptFromScriptedPeer(t *testing.T) {
	p, irm, peer := peerSetup(t)
	if err := p.Reg(srvHash); err != nil {
		t.Fatal(err)
	}
	// The IRM answers before FlowReqArr has even returned, as an acceptor
	// that was already waiting would.
	resp := make(chan error, 1)
	irm.onReq = func(key ipcp.FlowKey) {
		go func() { resp <- p.FlowAllocResp(context.Background(), key, nil, nil) }()
		// FlowReqArr returns once the answer waits for the flow.
		if !wait.Until(wait.Timeout, func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.waiters[key] != nil
		}) {
			t.Error("FlowAllocResp does not wait for the flow to be installed")
		}
	}
	peer.WriteToUDPAddrPort(AppendFlowReq(nil, 77, qos.Video, srvHash, []byte("oap-request")), p.LocalAddr())
	r := <-irm.reqs
	if !bytes.Equal(r.hash, srvHash) || r.qos != qos.Video || r.mpl != 5*time.Second {
		t.Fatalf("FlowReqArr(%x, %+v, %v), want the hash, video and 5 s", r.hash, r.qos, r.mpl)
	}
	if err := <-resp; err != nil {
		t.Fatal(err)
	}
	d, _ := recv(t, peer)
	m, rest, err := ParseMgmt(d)
	if err != nil || m.Code != FlowReply || m.SEID != 77 || m.DEID == 0 || m.Response != 0 || m.QoS != (qos.Spec{}) || len(rest) != 0 {
		t.Fatalf("FLOW_REPLY = %+v +%x, %v; want s_eid 77 (ours), a d_eid, response 0", m, rest, err)
	}
	app := irm.app(r.key)
	peer.WriteToUDPAddrPort(append(AppendEIDForTest(m.DEID), "ping"...), p.LocalAddr())
	if got := readApp(t, app); string(got) != "ping" {
		t.Fatalf("application read %q, want ping", got)
	}
	app.Write([]byte("pong"))
	if d, _ := recv(t, peer); !bytes.Equal(d, append(AppendEIDForTest(77), "pong"...)) {
		t.Fatalf("data datagram = %x, want eid 77 then pong", d)
	}
	// The application closing its end ends the flow, reported once.
	app.Close()
	if k := <-irm.deallocs; k != r.key {
		t.Fatalf("FlowDeallocated(%v), want %v", k, r.key)
	}
}

func TestAcceptRefusals(t *testing.T) {
	p, irm, peer := peerSetup(t)
	// Not registered here: refused at once with ErrName's code.
	peer.WriteToUDPAddrPort(AppendFlowReq(nil, 5, qos.Raw, srvHash, nil), p.LocalAddr())
	d, _ := recv(t, peer)
	if m, _, err := ParseMgmt(d); err != nil || m.Code != FlowReply || m.SEID != 5 || m.Response != errs.Code(errs.ErrName) {
		t.Fatalf("reply to an unregistered name = %+v, %v", m, err)
	}
	// The application refuses: the code travels, the flow ends once.
	p.Reg(srvHash)
	peer.WriteToUDPAddrPort(AppendFlowReq(nil, 6, qos.Raw, srvHash, nil), p.LocalAddr())
	r := <-irm.reqs
	if err := p.FlowAllocResp(context.Background(), r.key, errs.ErrPermission, nil); err != nil {
		t.Fatal(err)
	}
	d, _ = recv(t, peer)
	if m, _, err := ParseMgmt(d); err != nil || m.SEID != 6 || m.Response != -int32(syscall.EPERM) {
		t.Fatalf("refusal = %+v, %v; want s_eid 6, response -EPERM", m, err)
	}
	if k := <-irm.deallocs; k != r.key {
		t.Fatalf("FlowDeallocated(%v), want %v", k, r.key)
	}
	// The IRM finds no acceptor: the requester learns it at once.
	irm.refuse = errs.ErrTimeout
	peer.WriteToUDPAddrPort(AppendFlowReq(nil, 8, qos.Raw, srvHash, nil), p.LocalAddr())
	d, _ = recv(t, peer)
	if m, _, err := ParseMgmt(d); err != nil || m.SEID != 8 || m.Response != -int32(syscall.ETIMEDOUT) {
		t.Fatalf("reply without acceptor = %+v, %v", m, err)
	}
}

func TestMalformedDatagrams(t *testing.T) {
	p, _, peer := peerSetup(t)
	short := AppendFlowReq(nil, 1, qos.Raw, srvHash, nil)[:MgmtLen+10]
	badCode := AppendFlowReply(nil, 1, 2, 0, nil)
	badCode[offCode] = 9
	send := map[string][]byte{
		"empty": {}, "three bytes": {0, 0, 1},
		"unknown eid": {0, 0, 0, 9, 'x'}, "huge eid": {0xFF, 0xFF, 0xFF, 0xFF, 'x'},
		"runt mgmt": AppendFlowReply(nil, 1, 2, 0, nil)[:MgmtLen-1], "bad code": badCode, "short request": short,
		"too long":    append([]byte{0, 0, 0, 1}, make([]byte, MaxSDU4+1)...),
		"stale reply": AppendFlowReply(nil, 3, 4, 0, nil),
	}
	for _, d := range send {
		if _, err := peer.WriteToUDPAddrPort(d, p.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	s := &p.Stats
	wait.For(t, "every bad datagram counted", func() bool {
		return s.DropShort.Load() == 2 && s.DropUnknownEID.Load() == 2 && s.DropBadMgmt.Load() == 3 &&
			s.DropTooLong.Load() == 1 && s.DropStaleReply.Load() == 1
	})
	if s.RxPackets.Load() != 0 || s.MgmtRx.Load() != 0 {
		t.Errorf("rx %d, mgmt %d: a bad datagram was taken", s.RxPackets.Load(), s.MgmtRx.Load())
	}
	// Still serving.
	p.Reg(srvHash)
	peer.WriteToUDPAddrPort(AppendFlowReq(nil, 5, qos.Raw, srvHash, nil), p.LocalAddr())
	wait.For(t, "a good request after the bad ones", func() bool { return s.MgmtRx.Load() == 1 })
}

func TestOversizeSDUDroppedAtSend(t *testing.T) {
	for _, typ := range []ipcp.Type{ipcp.UDP4, ipcp.UDP6} {
		t.Run(typ.String(), func(t *testing.T) {
			addr := lo("127.0.0.1", 0)
			if typ == ipcp.UDP6 {
				addr = lo("::1", 0)
			}
			irm := newFakeIRM()
			p := bootstrap(t, typ, irm, addr, nil)
			sink := listen(t, netip.AddrPortFrom(addr.Addr(), 0))
			f, app := flowTo(t, p, irm, sink)
			app.Write(make([]byte, p.MaxSDU()+1))
			app.Write(make([]byte, p.MaxSDU()))
			d, _ := recv(t, sink)
			if len(d) != EIDLen+p.MaxSDU() || p.Stats.DropOversize.Load() != 1 {
				t.Fatalf("sent %d bytes, dropped %d; want %d and 1 dropped", len(d), p.Stats.DropOversize.Load(), EIDLen+p.MaxSDU())
			}
			if want := map[ipcp.Type]int{ipcp.UDP4: 8976, ipcp.UDP6: 8948}[typ]; p.MaxSDU() != want {
				t.Errorf("MaxSDU = %d, want %d", p.MaxSDU(), want)
			}
			_ = f
		})
	}
}

// flowTo installs an active flow from p to a plain socket (eid 9 there),
// as if allocated, and returns it with its application end.
func flowTo(t testing.TB, p *IPCP, irm *fakeIRM, peer *net.UDPConn) (*flow, *seqpkt.Conn) {
	t.Helper()
	fl, app := irm.pair(t)
	eid, err := p.reserveEID()
	if err != nil {
		t.Fatal(err)
	}
	dst := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	f := &flow{key: fl.Key, end: fl.End, eid: eid, reid: 9, peer: dst, raddr: net.UDPAddrFromAddrPort(dst), state: active}
	p.mu.Lock()
	p.installLocked(f)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.writer(f)
	return f, app
}

func TestQueryUnknownNameFailsInTime(t *testing.T) {
	// A DNS server that never answers, and a system resolver that waits
	// for the deadline: the query must still end with its context.
	blackhole := listen(t, lo("127.0.0.1", 0))
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), func(p *IPCP, c *ipcp.UDPConfig) {
		c.DNS = netip.MustParseAddr("127.0.0.1")
		p.dnsPort = uint16(blackhole.LocalAddr().(*net.UDPAddr).Port)
		p.sysLookup = func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
	const timeout = 200 * time.Millisecond // the IRM's query timeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := p.Query(ctx, srvHash)
	if !errors.Is(err, errs.ErrName) {
		t.Fatalf("Query = %v, want ErrName", err)
	}
	if d := time.Since(start); d > timeout+250*time.Millisecond {
		t.Fatalf("Query took %v, want about %v", d, timeout)
	}
	// Without a DNS server the (replaced) system resolver answers at once.
	q := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	if err := q.Query(context.Background(), srvHash); !errors.Is(err, errs.ErrName) || !errors.Is(err, errNoSysResolver) {
		t.Fatalf("Query = %v, want ErrName from the system resolver", err)
	}
}

func TestStaticEntriesChecked(t *testing.T) {
	p := newIPCP(ipcp.UDP4, 1, newFakeIRM(), nil)
	for _, tc := range []struct {
		hash []byte
		addr string
	}{{srvHash[:8], "127.0.0.2"}, {srvHash, "::1"}, {srvHash, "0.0.0.0"}} {
		if err := p.AddStatic(tc.hash, netip.MustParseAddr(tc.addr)); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("AddStatic(%d-byte hash, %s) = %v, want ErrInvalid", len(tc.hash), tc.addr, err)
		}
	}
	if err := p.AddStatic(srvHash, netip.MustParseAddr("::ffff:127.0.0.2")); err != nil {
		t.Errorf("AddStatic(v4-mapped) = %v, want it taken as IPv4", err)
	}
	q := newIPCP(ipcp.UDP6, 1, newFakeIRM(), nil)
	_, err := q.Bootstrap(context.Background(), ipcp.Config{Layer: "l", UDP: &ipcp.UDPConfig{Addr: netip.MustParseAddr("127.0.0.1")}})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("udp6 Bootstrap on an IPv4 address = %v, want ErrInvalid", err)
	}
}

func TestCloseReleasesEveryFlowOnce(t *testing.T) {
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	sink := listen(t, lo("127.0.0.1", 0))
	var keys []ipcp.FlowKey
	for range 3 {
		f, _ := flowTo(t, p, irm, sink)
		keys = append(keys, f.key)
	}
	p.Close()
	p.Close()
	got := map[ipcp.FlowKey]int{}
	for range keys {
		got[<-irm.deallocs]++
	}
	select {
	case k := <-irm.deallocs:
		t.Fatalf("extra FlowDeallocated(%v)", k)
	case <-time.After(50 * time.Millisecond):
	}
	for _, k := range keys {
		if got[k] != 1 {
			t.Errorf("flow %v reported %d times, want once", k, got[k])
		}
	}
	if err := p.Query(context.Background(), srvHash); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("Query after Close = %v, want ErrIPCPState", err)
	}
}
