package udp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestPortAttach: what the upper IPCP wrote on a flow's node end before
// Attach goes out before anything sent through the port after it; once
// attached, what arrives goes to the receiver, not to the end; when the
// upper IPCP closes its end the flow ends, the port refuses to send and
// the receiver hears nothing more.
func TestPortAttach(t *testing.T) {
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	sink := listen(t, lo("127.0.0.1", 0))
	f, app := flowTo(t, p, irm, sink)
	f.live.Store(true) // as FlowAllocResp and flowReply do
	if _, err := p.Port(ipcp.FlowKey{ID: 1}); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Fatalf("Port of no flow = %v, want ErrUnknownFlow", err)
	}
	pt, err := p.Port(f.key)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		if err := app.Write([]byte{0, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan []byte, 16)
	if err := pt.Attach(func(b []byte) { got <- bytes.Clone(b) }); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := pt.Attach(func([]byte) {}); err == nil {
		t.Fatal("a second Attach succeeded")
	}
	for i := range n {
		if err := pt.Send([]byte{1, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for c := range 2 {
		for i := range n {
			if d, _ := recv(t, sink); !bytes.Equal(d, []byte{0, 0, 0, 9, byte(c), byte(i)}) {
				t.Fatalf("datagram %d of the %s: %x", i, map[int]string{0: "channel", 1: "port"}[c], d)
			}
		}
	}
	sink.WriteToUDPAddrPort(append(AppendEIDForTest(f.eid), "up"...), p.LocalAddr())
	select {
	case b := <-got:
		if string(b) != "up" {
			t.Fatalf("the receiver got %q, want up", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the receiver got nothing")
	}
	app.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if k, err := app.Read(make([]byte, 10)); err == nil {
		t.Fatalf("the end got %d bytes past the receiver", k)
	}
	app.Close()
	if k := <-irm.deallocs; k != f.key {
		t.Fatalf("FlowDeallocated(%v), want %v", k, f.key)
	}
	if err := pt.Send([]byte("late")); !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Send after the flow ended = %v, want ErrPortClosed", err)
	}
	sink.WriteToUDPAddrPort(append(AppendEIDForTest(f.eid), "gone"...), p.LocalAddr())
	select {
	case b := <-got:
		t.Fatalf("the receiver got %q after the flow ended", b)
	case <-time.After(20 * time.Millisecond):
	}
}

// TestPortQueueBounded: the ports' queue to the socket holds txDataLen
// datagrams; TrySend then drops and counts, Send waits for room, and both
// fail once the flow is released, a waiting Send too. An SDU longer than
// the layer carries is refused and counted. (The IPCP is not bootstrapped,
// so no data writer drains the queue.)
func TestPortQueueBounded(t *testing.T) {
	irm := newFakeIRM()
	p := newIPCP(ipcp.UDP4, 1, irm, testLog(t))
	fl, _ := irm.pair(t)
	f := &flow{key: fl.Key, end: fl.End, eid: 1, reid: 9, state: active}
	p.mu.Lock()
	p.installLocked(f)
	p.mu.Unlock()
	f.live.Store(true)
	defer fl.End.Close()
	pt := &port{p: p, f: f}
	sdu := make([]byte, 64)
	for i := range txDataLen {
		if err := pt.TrySend(sdu); err != nil {
			t.Fatalf("TrySend %d: %v", i, err)
		}
	}
	if n := pt.Queued(); n != txDataLen {
		t.Fatalf("Queued = %d, want %d", n, txDataLen)
	}
	if err := pt.TrySend(sdu); !errors.Is(err, ipcp.ErrPortFull) || p.Stats.DropTxFull.Load() != 1 {
		t.Fatalf("TrySend on a full queue = %v (%d drops), want ErrPortFull counted once", err, p.Stats.DropTxFull.Load())
	}
	done := make(chan error, 1)
	go func() { done <- pt.Send(sdu) }()
	select {
	case err := <-done:
		t.Fatalf("Send on a full queue returned %v at once, want it to wait", err)
	case <-time.After(20 * time.Millisecond):
	}
	putOut(<-p.dq)
	if err := <-done; err != nil {
		t.Fatalf("Send once there is room = %v", err)
	}
	if err := pt.TrySend(make([]byte, p.MaxSDU()+1)); !errors.Is(err, errs.ErrMsgSize) || p.Stats.DropOversize.Load() != 1 {
		t.Fatalf("TrySend of an SDU too long = %v (%d dropped), want ErrMsgSize counted", err, p.Stats.DropOversize.Load())
	}
	go func() { done <- pt.Send(sdu) }()
	time.Sleep(10 * time.Millisecond)
	if !p.release(f.key) {
		t.Fatal("release: the flow was not held")
	}
	if err := <-done; !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Send waiting when the flow went = %v, want ErrPortClosed", err)
	}
	for _, send := range []func([]byte) error{pt.Send, pt.TrySend} {
		if err := send(sdu); !errors.Is(err, ipcp.ErrPortClosed) {
			t.Fatalf("send after release = %v, want ErrPortClosed", err)
		}
	}
	if err := pt.Attach(func([]byte) {}); !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Attach after release = %v, want ErrPortClosed", err)
	}
	p.drainData()
}

// TestPortDataPathDoesNotAllocate: a port's SDU is copied, queued and sent
// by the data writer, and a datagram for an attached flow reaches its
// receiver, with no allocation.
func TestPortDataPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	sink := listen(t, lo("127.0.0.1", 0))
	f, _ := flowTo(t, p, irm, sink)
	f.live.Store(true)
	pt, err := p.Port(f.key)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	if err := pt.Attach(func([]byte) { got++ }); err != nil {
		t.Fatal(err)
	}
	sdu := bytes.Repeat([]byte{0xAB}, 1400)
	dgram := append(AppendEIDForTest(f.eid), sdu...)
	from := f.peer // a datagram from another host is not the flow's
	buf := make([]byte, MaxPacket4+1)
	step := func() {
		if err := pt.TrySend(sdu); err != nil {
			t.Fatal(err)
		}
		if n, err := sink.Read(buf); err != nil || n != EIDLen+len(sdu) || buf[3] != 9 {
			t.Fatalf("sink read %d bytes (eid byte %d), %v", n, buf[3], err)
		}
		p.deliver(dgram, from)
	}
	step()
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("allocations per packet = %v, want 0", n)
	}
	if got != 1002 {
		t.Errorf("the receiver got %d SDUs, want 1002", got)
	}
}

// TestFlowPeer: a flow's peer is its address and port, an IPv4 address
// as such even when the socket gave it mapped into IPv6; a flow the IPCP
// does not hold has no peer.
func TestFlowPeer(t *testing.T) {
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	sink := listen(t, lo("127.0.0.1", 0))
	f, _ := flowTo(t, p, irm, sink)
	want := sink.LocalAddr().(*net.UDPAddr).AddrPort().String()
	if got := p.FlowPeer(f.key); got != want {
		t.Errorf("peer %q, want %q", got, want)
	}
	fl, _ := irm.pair(t)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(f.peer.Addr().As16()), f.peer.Port())
	p.mu.Lock()
	p.byKey[fl.Key] = &flow{key: fl.Key, end: fl.End, peer: mapped}
	p.mu.Unlock()
	if got := p.FlowPeer(fl.Key); got != want {
		t.Errorf("peer given mapped (%v): %q, want %q", mapped, got, want)
	}
	p.mu.Lock()
	delete(p.byKey, fl.Key)
	p.mu.Unlock()
	fl.End.Close()
	if got := p.FlowPeer(ipcp.FlowKey{ID: 999}); got != "" {
		t.Errorf("the peer of no flow is %q, want none", got)
	}
}
