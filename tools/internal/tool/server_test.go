package tool

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/toolio"
	"github.com/o7s/ouroboros/tools/tooltest"
)

type testPeer struct{ f *dev.Flow }

// testHandler records what the server hands it.
type testHandler struct {
	srv     *Server[*testPeer]
	packets chan string
	dropped chan *dev.Flow
	failed  chan error
	cleans  atomic.Int32
}

func (h *testHandler) Accepted(_ context.Context, f *dev.Flow) {
	f.SetFlags(dev.FlagRNoBlock | dev.FlagRdWr | dev.FlagRNoPart)
	h.srv.Add(f, &testPeer{f})
}

func (h *testHandler) AcceptFailed(err error) { h.failed <- err }

func (h *testHandler) Packet(p *testPeer, b []byte) bool {
	h.packets <- string(b)
	return true
}

func (h *testHandler) Clean() { h.cleans.Add(1) }

func (h *testHandler) Drop(p *testPeer) {
	if h.srv.Remove(p.f) {
		p.f.Close()
		h.dropped <- p.f
	}
}

// testServer is a server of a test handler on a fresh node.
type testServer struct {
	tn     *tooltest.Node
	h      *testHandler
	out    *tooltest.Buffer
	cancel context.CancelFunc
	done   chan error // what Run returned
}

// startServer runs a test server until the end of the test.
func startServer(t *testing.T, poll bool) *testServer {
	t.Helper()
	ts := &testServer{tn: tooltest.Start(t, "srv", false), out: &tooltest.Buffer{}, done: make(chan error, 1)}
	p := toolio.NewPrinter(ts.out)
	ts.h = &testHandler{packets: make(chan string, 16), dropped: make(chan *dev.Flow, 16), failed: make(chan error, 16)}
	srv, err := NewServer[*testPeer](ts.tn.Srv, p, ts.h)
	if err != nil {
		t.Fatal(err)
	}
	ts.h.srv = srv
	var ctx context.Context
	ctx, ts.cancel = context.WithCancel(context.Background())
	go func() {
		err := srv.Run(ctx, 10*time.Millisecond, poll)
		p.Close()
		ts.done <- err
	}()
	t.Cleanup(func() {
		ts.cancel()
		ts.wait(t)
	})
	return ts
}

// wait waits for Run to return and returns what it returned.
func (ts *testServer) wait(t *testing.T) error {
	t.Helper()
	err := receive(t, ts.done, "return from Run")
	ts.done <- err
	return err
}

func receive[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
	panic("unreachable")
}

func TestServerServes(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll bool
	}{{"wait", false}, {"poll", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.poll)
			tn, h, out := ts.tn, ts.h, ts.out
			f, err := tn.Cli.Alloc(context.Background(), "srv", qos.Raw)
			if err != nil {
				t.Fatal(err)
			}
			out.WaitFor(t, "New flow 64.\n")
			for _, m := range []string{"a", "bb", "ccc"} {
				if _, err := f.Write([]byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range []string{"a", "bb", "ccc"} {
				if got := receive(t, h.packets, "packet"); got != want {
					t.Fatalf("packet %q, want %q", got, want)
				}
			}
			// The client hangs up: the server has the flow dropped.
			f.Close()
			receive(t, h.dropped, "drop of a flow whose peer is gone")
			// A flow still in service when the server stops is dropped too.
			g, err := tn.Cli.Alloc(context.Background(), "srv", qos.Raw)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			out.WaitFor(t, "New flow 64.\nNew flow ")
			// The handler cleans every period while the server runs, and
			// no more once it stopped.
			for deadline := time.Now().Add(5 * time.Second); h.cleans.Load() < 2; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the handler cleaned %d times in 5 s", h.cleans.Load())
				}
			}
			ts.cancel()
			if err := ts.wait(t); err != nil {
				t.Errorf("Run = %v after cancel, want nil", err)
			}
			receive(t, h.dropped, "drop at the end")
			n := h.cleans.Load()
			time.Sleep(50 * time.Millisecond)
			if h.cleans.Load() != n {
				t.Error("the handler cleans after Run returned")
			}
		})
	}
}

func TestServerEndsWhenTheNodeGoes(t *testing.T) {
	ts := startServer(t, false)
	ts.tn.N.Close()
	if err := receive(t, ts.h.failed, "failed accept"); !errors.Is(err, dev.ErrNode) {
		t.Errorf("AcceptFailed(%v), want ErrNode", err)
	}
	if err := ts.wait(t); !errors.Is(err, dev.ErrNode) {
		t.Errorf("Run = %v, want ErrNode", err)
	}
}

func TestServerTable(t *testing.T) {
	s := &Server[int]{flows: make(map[*dev.Flow]int)}
	fs := []*dev.Flow{new(dev.Flow), new(dev.Flow), new(dev.Flow)}
	for i, f := range fs {
		s.flows[f] = i + 1
	}
	odd := func(n int) bool { return n%2 == 1 }
	for _, tc := range []struct {
		name string
		keep func(int) bool
		want []int
	}{{"all", nil, []int{1, 2, 3}}, {"kept", odd, []int{1, 3}}} {
		got := s.Flows([]int{0}, tc.keep)
		slices.Sort(got)
		if want := append([]int{0}, tc.want...); !slices.Equal(got, want) {
			t.Errorf("%s: Flows = %v, want %v", tc.name, got, want)
		}
	}
	gen := s.gen.Load()
	if !s.Remove(fs[1]) || s.Remove(fs[1]) {
		t.Error("Remove did not report true once, then false")
	}
	if s.gen.Load() == gen {
		t.Error("Remove did not count a change")
	}
	if got := s.Flows(nil, nil); len(got) != 2 || slices.Contains(got, 2) {
		t.Errorf("after Remove: Flows = %v", got)
	}
	if _, ok := s.lookup(fs[1]); ok {
		t.Error("lookup finds a removed flow")
	}
	if p, ok := s.lookup(fs[2]); !ok || p != 3 {
		t.Errorf("lookup = %d, %v; want 3, true", p, ok)
	}
}
