package eth_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

// TestPortAttach: what the upper IPCP wrote on a flow's channel before
// Attach reaches the peer before anything sent through the port after it;
// once attached, what arrives goes to the receiver, not to the channel;
// when the upper IPCP closes its end of the channel the flow ends, the
// port refuses to send and the receiver hears nothing more.
func TestPortAttach(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		fp := allocate(t, a, b, ia, ib)
		if _, err := a.Port(ipcp.FlowKey{ID: 999}); !errors.Is(err, ipcp.ErrUnknownFlow) {
			t.Fatalf("Port of no flow = %v, want ErrUnknownFlow", err)
		}
		pt, err := a.Port(fp.keyA)
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		for i := range n {
			if err := fp.appA.Write([]byte{0, byte(i)}); err != nil {
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
				if sdu := readSDU(t, fp.appB); !bytes.Equal(sdu, []byte{byte(c), byte(i)}) {
					t.Fatalf("SDU %d of the %s: %x", i, map[int]string{0: "channel", 1: "port"}[c], sdu)
				}
			}
		}
		if err := fp.appB.Write([]byte("up")); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			if string(b) != "up" {
				t.Fatalf("the receiver got %q, want up", b)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the receiver got nothing")
		}
		fp.appA.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if k, err := fp.appA.Read(make([]byte, 10)); err == nil {
			t.Fatalf("the channel got %d bytes past the receiver", k)
		}
		fp.appA.Close()
		ia.waitGone(fp.keyA)
		if err := pt.Send([]byte("late")); !errors.Is(err, ipcp.ErrPortClosed) {
			t.Fatalf("Send after the flow ended = %v, want ErrPortClosed", err)
		}
		fp.appB.Write([]byte("gone"))
		select {
		case b := <-got:
			t.Fatalf("the receiver got %q after the flow ended", b)
		case <-time.After(20 * time.Millisecond):
		}
	})
}

// TestPortAttachEndedFlow: Attach on a flow the IPCP let go fails.
func TestPortAttachEndedFlow(t *testing.T) {
	hub := ethtest.NewHub()
	a, ia, _ := newIPCP(t, hub, ipcp.EthDIX, "a0", 1500)
	b, ib, _ := newIPCP(t, hub, ipcp.EthDIX, "b0", 1500)
	fp := allocate(t, a, b, ia, ib)
	pt, err := a.Port(fp.keyA)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.FlowDealloc(fp.keyA); err != nil {
		t.Fatal(err)
	}
	ia.waitGone(fp.keyA)
	if err := pt.Attach(func([]byte) {}); !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Attach after dealloc = %v, want ErrPortClosed", err)
	}
}

// TestFlowPeer: each end of a flow names the other by its MAC, whichever
// side allocated it; a flow the IPCP does not hold has no peer.
func TestFlowPeer(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, pa := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, pb := newIPCP(t, hub, typ, "b0", 1500)
		fp := allocate(t, a, b, ia, ib)
		if got, want := a.FlowPeer(fp.keyA), pb.MAC().String(); got != want {
			t.Errorf("the allocating end's peer is %q, want %q", got, want)
		}
		if got, want := b.FlowPeer(fp.keyB), pa.MAC().String(); got != want {
			t.Errorf("the accepting end's peer is %q, want %q", got, want)
		}
		if got := a.FlowPeer(ipcp.FlowKey{ID: 999}); got != "" {
			t.Errorf("the peer of no flow is %q, want none", got)
		}
		fp.appA.Close()
		fp.appB.Close()
		ia.waitGone(fp.keyA)
		ib.waitGone(fp.keyB)
	})
}
