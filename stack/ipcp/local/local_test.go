package local

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// fakeIRM records the callbacks and answers a request with a new flow.
type fakeIRM struct {
	mu      sync.Mutex
	serial  uint64
	replies map[ipcp.FlowKey]error
	gone    map[ipcp.FlowKey]int
	apps    map[ipcp.FlowKey]*seqpkt.Conn
	data    []byte
}

func newFake() *fakeIRM {
	return &fakeIRM{replies: map[ipcp.FlowKey]error{}, gone: map[ipcp.FlowKey]int{}, apps: map[ipcp.FlowKey]*seqpkt.Conn{}}
}

func (f *fakeIRM) flow(t *testing.T) ipcp.Flow {
	node, app, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serial++
	k := ipcp.FlowKey{ID: int(f.serial), Serial: f.serial}
	f.apps[k] = app
	return ipcp.Flow{Key: k, End: node, QoS: qos.Raw}
}

func (f *fakeIRM) FlowReqArr(_ context.Context, _ uint32, _ []byte, _ qos.Spec, _ time.Duration, data []byte) (ipcp.Flow, error) {
	f.mu.Lock()
	f.data = data
	f.mu.Unlock()
	return f.flow(nil), nil
}

func (f *fakeIRM) FlowAllocReply(k ipcp.FlowKey, err error, _ time.Duration, _ []byte) {
	f.mu.Lock()
	f.replies[k] = err
	f.mu.Unlock()
}

func (f *fakeIRM) FlowDeallocated(k ipcp.FlowKey) {
	f.mu.Lock()
	f.gone[k]++
	f.mu.Unlock()
}

// wait polls cond, with f.mu held, until it holds.
func (f *fakeIRM) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !wait.Until(2*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return cond()
	}) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestContract(t *testing.T) {
	irm := newFake()
	p := New(1, irm, nil)
	defer p.Close()
	if err := p.Reg([]byte("h")); !errors.Is(err, errs.ErrIPCPState) {
		t.Fatalf("Reg before bootstrap = %v, want ErrIPCPState", err)
	}
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "l", Hash: ipcp.SHA3_256}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Bootstrap(context.Background(), ipcp.Config{Layer: "l"}); !errors.Is(err, errs.ErrIPCPState) {
		t.Fatalf("second Bootstrap = %v, want ErrIPCPState", err)
	}
	if err := p.Query(context.Background(), []byte("h")); !errors.Is(err, errs.ErrName) {
		t.Fatalf("Query of an unregistered name = %v, want ErrName", err)
	}
	fa := irm.flow(t)
	if err := p.FlowAlloc(context.Background(), fa, []byte("h"), nil); !errors.Is(err, errs.ErrName) {
		t.Fatalf("FlowAlloc to an unregistered name = %v, want ErrName", err)
	}
	if err := fa.End.Write(nil); !errors.Is(err, seqpkt.ErrPeerClosed) && err == nil {
		t.Fatal("a refused FlowAlloc left the end open")
	}
	if err := p.FlowDealloc(ipcp.FlowKey{ID: 99, Serial: 99}); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Fatalf("FlowDealloc of an unknown flow = %v", err)
	}

	p.Reg([]byte("h"))
	fa = irm.flow(t)
	if err := p.FlowAlloc(context.Background(), fa, []byte("h"), []byte("oap")); err != nil {
		t.Fatal(err)
	}
	irm.wait(t, "the request to arrive", func() bool { return string(irm.data) == "oap" })
	fb := ipcp.FlowKey{ID: int(irm.serial), Serial: irm.serial}
	if err := p.FlowAllocResp(context.Background(), fb, nil, []byte("resp")); err != nil {
		t.Fatal(err)
	}
	irm.wait(t, "the reply", func() bool { _, ok := irm.replies[fa.Key]; return ok })
	// Data crosses; closing one application's end ends both flows, each
	// reported exactly once.
	irm.apps[fa.Key].Write([]byte("ping"))
	buf := make([]byte, 16)
	if n, err := irm.apps[fb].Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("b read %q, %v", buf[:n], err)
	}
	irm.apps[fa.Key].Close()
	irm.wait(t, "both flows to end", func() bool { return irm.gone[fa.Key] == 1 && irm.gone[fb] == 1 })
	if err := p.FlowDealloc(fa.Key); !errors.Is(err, ipcp.ErrUnknownFlow) {
		t.Fatalf("FlowDealloc after the end = %v, want ErrUnknownFlow", err)
	}
	if p.Stats.Forwarded.Load() != 1 {
		t.Errorf("forwarded %d packets, want 1", p.Stats.Forwarded.Load())
	}
}

func (f *fakeIRM) FlowState(ipcp.FlowKey, bool) {}
