package oping

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
)

// testNode is an in-process node with two attached clients: srv, bound to
// the name "oping", and cli. In one test process both have the same pid,
// which works: a process may allocate a flow to itself.
type testNode struct {
	n        *irm.Node
	srv, cli *dev.Client
}

// startNode starts a node whose flows are direct, or go through a local
// IPCP when local is set.
func startNode(tb testing.TB, local bool) *testNode {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock, NoDirect: local})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	tn := &testNode{n: n, srv: attach(tb, sock), cli: attach(tb, sock)}
	if err := n.BindProcess(tn.srv.PID(), "oping"); err != nil {
		tb.Fatal(err)
	}
	if local {
		id, err := n.CreateIPCP("lo", ipcp.Local)
		if err != nil {
			tb.Fatal(err)
		}
		if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256}); err != nil {
			tb.Fatal(err)
		}
		if err := n.RegName("oping", id); err != nil {
			tb.Fatal(err)
		}
	}
	return tn
}

func attach(tb testing.TB, sock string) *dev.Client {
	tb.Helper()
	c, err := dev.DialAs(context.Background(), sock, "oping")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// flows returns the node's flows, leaving out a server's pending accept.
func (tn *testNode) flows() []irm.FlowInfo {
	var fs []irm.FlowInfo
	for _, f := range tn.n.Flows() {
		if f.State != irm.FlowAcceptPending {
			fs = append(fs, f)
		}
	}
	return fs
}

// waitFlows waits until the node has want flows, not counting a server's
// pending accept.
func (tn *testNode) waitFlows(tb testing.TB, want int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(tn.flows()) != want {
		if time.Now().After(deadline) {
			tb.Fatalf("the node has %d flows, want %d: %+v", len(tn.flows()), want, tn.flows())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is an output several goroutines write and a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output holds want.
func (s *syncBuffer) waitFor(tb testing.TB, want string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			tb.Fatalf("output never showed %q:\n%s", want, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serve runs Serve in the background and stops it at the end of the test.
func serve(tb testing.TB, cfg Config, c *dev.Client) (*syncBuffer, func() error) {
	tb.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, c, out) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	tb.Cleanup(func() { stop() })
	out.waitFor(tb, "Ouroboros ping server started.")
	return out, stop
}
