package eth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

func forTypes(t *testing.T, fn func(t *testing.T, typ ipcp.Type)) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		t.Run(typ.String(), func(t *testing.T) { fn(t, typ) })
	}
}

// flowPair is a flow allocated from a to the name hashSrv registered at b.
type flowPair struct {
	keyA, keyB ipcp.FlowKey
	appA, appB *seqpkt.Conn
}

func allocate(t testing.TB, a, b *eth.IPCP, ia, ib *fakeIRM) flowPair {
	t.Helper()
	if err := b.Reg(hashSrv); err != nil {
		t.Fatal(err)
	}
	if err := a.Query(ctxT(t, 200*time.Millisecond), hashSrv); err != nil {
		t.Fatalf("query: %v", err)
	}
	keyA, appA, err := ia.alloc(a, hashSrv)
	if err != nil {
		t.Fatalf("alloc: %v", err)
	}
	arr := ib.waitArrival()
	if !bytes.Equal(arr.hash, hashSrv) || arr.qos != qos.Raw {
		t.Errorf("request for %x with %+v, want %x with raw QoS", arr.hash, arr.qos, hashSrv)
	}
	if r := ia.waitReply(keyA); r.err != nil || r.mpl != eth.MPL {
		t.Fatalf("FlowAllocReply err %v mpl %v, want success with %v", r.err, r.mpl, eth.MPL)
	}
	return flowPair{keyA: keyA, keyB: arr.key, appA: appA, appB: arr.app}
}

func exchange(t testing.TB, from, to *seqpkt.Conn, sizes ...int) {
	t.Helper()
	for i, n := range sizes {
		msg := bytes.Repeat([]byte{byte(i + 1)}, n)
		if err := from.Write(msg); err != nil {
			t.Fatal(err)
		}
		if got := readSDU(t, to); !bytes.Equal(got, msg) {
			t.Fatalf("SDU %d: got %d bytes, want %d", i, len(got), n)
		}
	}
}

func TestAllocEchoDealloc(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		fp := allocate(t, a, b, ia, ib)
		max := a.MaxSDU()
		if want := eth.MaxPayload(1500, typ == ipcp.EthLLC); max != want {
			t.Fatalf("MaxSDU %d, want %d", max, want)
		}
		exchange(t, fp.appA, fp.appB, 1, 0, 46, 100, max)
		exchange(t, fp.appB, fp.appA, max, 1, 0, 1000)
		if err := a.FlowDealloc(fp.keyA); err != nil {
			t.Fatal(err)
		}
		ia.waitGone(fp.keyA)
		if err := a.FlowDealloc(fp.keyA); !errors.Is(err, ipcp.ErrUnknownFlow) {
			t.Errorf("second FlowDealloc = %v, want ErrUnknownFlow", err)
		}
		fp.appA.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := fp.appA.Read(make([]byte, 10)); !errors.Is(err, seqpkt.ErrPeerClosed) {
			t.Errorf("application read after dealloc = %v, want ErrPeerClosed", err)
		}
		// Dealloc is local: b still holds its end until its application closes.
		if b.NumFlows() != 1 {
			t.Fatalf("b holds %d flows, want 1", b.NumFlows())
		}
		fp.appB.Close()
		ib.waitGone(fp.keyB)
		if a.NumFlows() != 0 || b.NumFlows() != 0 {
			t.Errorf("flows left: a %d, b %d", a.NumFlows(), b.NumFlows())
		}
	})
}

func TestManyFlows(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		var fps []flowPair
		for range 10 {
			fps = append(fps, allocate(t, a, b, ia, ib))
		}
		var wg sync.WaitGroup
		for i, fp := range fps {
			wg.Go(func() {
				for j := range 50 {
					msg := fmt.Appendf(nil, "flow %d sdu %d", i, j)
					fp.appA.Write(msg)
					if got := readSDU(t, fp.appB); !bytes.Equal(got, msg) {
						t.Errorf("flow %d got %q, want %q", i, got, msg)
						return
					}
				}
			})
		}
		wg.Wait()
		b.Close() // releases every flow it holds, each reported once
		for range fps {
			<-ib.gone
		}
	})
}

func TestLLCSAPExhaustion(t *testing.T) {
	noLeaks(t)
	hub := ethtest.NewHub()
	a, ia, _ := newIPCP(t, hub, ipcp.EthLLC, "a0", 1500)
	b, ib, _ := newIPCP(t, hub, ipcp.EthLLC, "b0", 1500)
	var fps []flowPair
	for range 64 {
		fps = append(fps, allocate(t, a, b, ia, ib))
	}
	_, app, err := ia.alloc(a, hashSrv)
	if !errors.Is(err, errs.ErrResources) {
		t.Fatalf("65th alloc = %v, want ErrResources", err)
	}
	app.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := app.Read(make([]byte, 1)); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("end of a refused alloc reads %v, want ErrPeerClosed (closed by the IPCP)", err)
	}
	a.FlowDealloc(fps[7].keyA)
	ia.waitGone(fps[7].keyA)
	fps[7].appB.Close()
	ib.waitGone(fps[7].keyB)
	fp := allocate(t, a, b, ia, ib) // a SAP is free again at both ends
	exchange(t, fp.appA, fp.appB, 10)
	exchange(t, fps[63].appB, fps[63].appA, 10)
}

func TestRefusedFlow(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		ib.refuse = errNope
		b.Reg(hashSrv)
		if err := a.Query(ctxT(t, time.Second), hashSrv); err != nil {
			t.Fatal(err)
		}
		key, app, err := ia.alloc(a, hashSrv)
		if err != nil {
			t.Fatal(err)
		}
		arr := ib.waitArrival()
		if r := ia.waitReply(key); r.err == nil {
			t.Fatal("refused flow replied with success")
		}
		ib.waitGone(arr.key)
		app.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := app.Read(make([]byte, 1)); !errors.Is(err, seqpkt.ErrPeerClosed) {
			t.Errorf("refused flow's end reads %v, want ErrPeerClosed", err)
		}
		if a.NumFlows() != 0 || b.NumFlows() != 0 {
			t.Errorf("flows left: a %d, b %d", a.NumFlows(), b.NumFlows())
		}
	})
}

// A request the IRM refuses before any acceptor (no such name, encryption
// required) is answered on the wire with the error's code: the allocator
// learns why at once instead of timing out.
func TestRequestRefusedWithCode(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		ib.reqErr = fmt.Errorf("flow request for srv: %w: this name takes only encrypted flows", errs.ErrCrypt)
		b.Reg(hashSrv)
		if err := a.Query(ctxT(t, time.Second), hashSrv); err != nil {
			t.Fatal(err)
		}
		key, _, err := ia.alloc(a, hashSrv)
		if err != nil {
			t.Fatal(err)
		}
		if r := ia.waitReply(key); !errors.Is(r.err, errs.ErrCrypt) {
			t.Fatalf("the allocator got %v, want ErrCrypt", r.err)
		}
		if a.NumFlows() != 0 || b.NumFlows() != 0 {
			t.Errorf("flows left: a %d, b %d", a.NumFlows(), b.NumFlows())
		}
	})
}

// A name unregistered after another node learnt where it was: that
// node's allocation is answered with ErrName at once (not a timeout), so
// its IRM tries another layer, and its directory entry is forgotten.
func TestStaleDirectoryEntry(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, _, _ := newIPCP(t, hub, typ, "b0", 1500)
		b.Reg(hashSrv)
		if err := a.Query(ctxT(t, time.Second), hashSrv); err != nil {
			t.Fatal(err)
		}
		b.Unreg(hashSrv)
		key, _, err := ia.alloc(a, hashSrv)
		if err != nil {
			t.Fatal(err)
		}
		if r := ia.waitReply(key); !errors.Is(r.err, errs.ErrName) {
			t.Fatalf("allocation to an unregistered name: %v, want ErrName", r.err)
		}
		if _, _, err := ia.alloc(a, hashSrv); !errors.Is(err, errs.ErrName) {
			t.Fatalf("the stale entry is still used: %v", err)
		}
	})
}

func TestOwnershipContract(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		if err := a.FlowDealloc(ipcp.FlowKey{ID: 99, Serial: 99}); !errors.Is(err, ipcp.ErrUnknownFlow) {
			t.Errorf("FlowDealloc of a flow never held = %v", err)
		}
		// Not in the directory: error return, end closed, no callback.
		_, app, err := ia.alloc(a, ipcp.SHA3_256.Sum("nobody"))
		if !errors.Is(err, errs.ErrName) {
			t.Errorf("alloc to an unknown name = %v, want ErrName", err)
		}
		app.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := app.Read(make([]byte, 1)); !errors.Is(err, seqpkt.ErrPeerClosed) {
			t.Errorf("end of a failed alloc reads %v, want ErrPeerClosed", err)
		}
		// The application closing its end releases the flow, reported once.
		fp := allocate(t, a, b, ia, ib)
		fp.appA.Close()
		ia.waitGone(fp.keyA)
		if err := a.FlowDealloc(fp.keyA); !errors.Is(err, ipcp.ErrUnknownFlow) {
			t.Errorf("FlowDealloc after the application closed = %v", err)
		}
		// Close releases what is left, each reported once, and stops work.
		fp2 := allocate(t, a, b, ia, ib)
		a.Close()
		ia.waitGone(fp2.keyA)
		if err := a.Query(context.Background(), hashSrv); !errors.Is(err, errs.ErrIPCPState) {
			t.Errorf("Query after Close = %v, want ErrIPCPState", err)
		}
		if _, _, err := ia.alloc(a, hashSrv); !errors.Is(err, errs.ErrIPCPState) {
			t.Errorf("FlowAlloc after Close = %v, want ErrIPCPState", err)
		}
		if err := a.Reg(hashSrv); !errors.Is(err, errs.ErrIPCPState) {
			t.Errorf("Reg after Close = %v", err)
		}
		if _, err := a.Bootstrap(context.Background(), bootConf("x")); !errors.Is(err, errs.ErrIPCPState) {
			t.Errorf("Bootstrap after Close = %v", err)
		}
	})
}

func TestBootstrapChecks(t *testing.T) {
	irm := newFakeIRM(t)
	p := eth.New(ipcp.EthDIX, 1, irm, nil, hubOpen(ethtest.NewHub(), 1500, nil))
	defer p.Close()
	if err := p.Reg(hashSrv); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("Reg before bootstrap = %v", err)
	}
	if err := p.Query(context.Background(), hashSrv); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("Query before bootstrap = %v", err)
	}
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "eth", Hash: ipcp.SHA3_256}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Bootstrap without an interface = %v", err)
	}
	tiny := eth.New(ipcp.EthLLC, 2, irm, nil, hubOpen(ethtest.NewHub(), 60, nil))
	defer tiny.Close()
	if _, err := tiny.Bootstrap(context.Background(), bootConf("t0")); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Bootstrap on a 60-byte MTU = %v, want ErrInvalid", err)
	}
	fail := eth.New(ipcp.EthLLC, 3, irm, nil, func(ipcp.EthConfig, bool) (eth.Link, error) { return nil, errNope })
	defer fail.Close()
	if _, err := fail.Bootstrap(context.Background(), bootConf("f0")); !errors.Is(err, errNope) {
		t.Errorf("Bootstrap with a failing link = %v", err)
	}
	l, err := p.Bootstrap(context.Background(), bootConf("lo"))
	if err != nil || l.Name != "eth" || l.Hash != ipcp.SHA3_256 {
		t.Fatalf("Bootstrap = %+v, %v", l, err)
	}
	if _, err := p.Bootstrap(context.Background(), bootConf("lo")); !errors.Is(err, errs.ErrIPCPState) {
		t.Errorf("second Bootstrap = %v", err)
	}
}

// TestQueryTimeouts runs in a synctest bubble: the IPCP sits on the
// in-memory hub, so its timers run in virtual time.
func TestQueryTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, _, _ := newIPCP(t, hub, ipcp.EthDIX, "a0", 1500)
		unknown := ipcp.SHA3_256.Sum("unknown")
		start := time.Now()
		err := a.Query(ctxT(t, 200*time.Millisecond), unknown)
		if d := time.Since(start); err == nil || d < 190*time.Millisecond || d > time.Second {
			t.Errorf("Query with a 200 ms context = %v after %v", err, d)
		}
		start = time.Now()
		err = a.Query(context.Background(), unknown)
		if d := time.Since(start); !errors.Is(err, errs.ErrName) || d < eth.NameQueryTimeout || d > eth.NameQueryTimeout+time.Second {
			t.Errorf("Query without deadline = %v after %v, want ErrName after %v", err, d, eth.NameQueryTimeout)
		}
	})
}

// A reply that comes after the IRM gave up still fills the directory, and
// one reply wakes every query waiting for the name.
func TestQueryLateReplyAndSharedWait(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, _, _ := newIPCP(t, hub, typ, "a0", 1500)
		peer := hub.NewPort("peer", 1500)
		t.Cleanup(func() { peer.Close() })
		llc := typ == ipcp.EthLLC
		if err := a.Query(ctxT(t, 50*time.Millisecond), hashSrv); err == nil {
			t.Fatal("query answered with nobody on the hub")
		}
		readFrame(t, peer) // the broadcast NAME_QUERY_REQ
		writeFrames(t, peer, mgmtFrame(llc, a.MAC(), eth.MAC(peer.MAC()), eth.Mgmt{Code: eth.NameQueryReply}, hashSrv))
		wait.For(t, "the late reply to fill the directory", func() bool {
			return a.Query(ctxT(t, 20*time.Millisecond), hashSrv) == nil
		})
		other := ipcp.SHA3_256.Sum("other")
		errc := make(chan error, 3)
		for range 3 {
			go func() { errc <- a.Query(context.Background(), other) }()
		}
		for range 3 {
			readFrame(t, peer)
		}
		writeFrames(t, peer, mgmtFrame(llc, a.MAC(), eth.MAC(peer.MAC()), eth.Mgmt{Code: eth.NameQueryReply}, other))
		for range 3 {
			if err := <-errc; err != nil {
				t.Errorf("waiting query = %v", err)
			}
		}
	})
}

// mgmtFrame builds a management frame with the package's own encoder (the
// golden tests pin that encoder to the spec).
func mgmtFrame(llc bool, dst, src eth.MAC, m eth.Mgmt, body []byte) []byte {
	hl := eth.DIXHeaderLen
	if llc {
		hl = eth.LLCHeaderLen
	}
	b := append(m.Append(make([]byte, hl), llc), body...)
	n := len(b) - hl
	if llc {
		eth.LLCHeader(b).Put(dst, src, eth.MgmtSAP, eth.MgmtSAP, n)
	} else {
		eth.DIXHeader(b).Put(dst, src, ipcp.DefaultEthertype, eth.MgmtEID, uint16(n))
	}
	return b
}

func TestOversizeSDU(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, _ := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		fp := allocate(t, a, b, ia, ib)
		max := a.MaxSDU()
		fp.appA.Write(make([]byte, max+1))
		fp.appA.Write(make([]byte, 9000))
		exchange(t, fp.appA, fp.appB, max)
		if n := a.Stats.DropTooLong.Load(); n != 2 {
			t.Errorf("DropTooLong = %d, want 2", n)
		}
		// The counter follows the delivery the read above saw.
		wait.Until(time.Second, func() bool { return b.Stats.RxSDUs.Load() >= 1 })
		if n := b.Stats.RxSDUs.Load(); n != 1 {
			t.Errorf("b received %d SDUs, want 1", n)
		}
	})
}

// A carrier change reaches the IRM for every flow the IPCP holds (spec
// SYSTEM §6.2: link down and up set and clear the flows' down flag).
func TestCarrierReachesFlows(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, ia, portA := newIPCP(t, hub, typ, "a0", 1500)
		b, ib, _ := newIPCP(t, hub, typ, "b0", 1500)
		fp := allocate(t, a, b, ia, ib)
		state := func() (bool, bool) {
			v, ok := ia.states.Load(fp.keyA)
			up, _ := v.(bool)
			return up, ok
		}
		portA.SetCarrier(false)
		wait.For(t, "the flow reported down", func() bool { up, ok := state(); return ok && !up })
		portA.SetCarrier(true)
		wait.For(t, "the flow reported up", func() bool { up, ok := state(); return ok && up })
		if a.Stats.LinkDown.Load() != 1 || a.Stats.LinkUp.Load() != 1 {
			t.Errorf("link down/up counted %d/%d, want 1/1", a.Stats.LinkDown.Load(), a.Stats.LinkUp.Load())
		}
		if _, ok := ib.states.Load(fp.keyB); ok {
			t.Error("b's flow was reported, but b's link did not change")
		}
	})
}
