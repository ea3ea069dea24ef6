// Package tooltest is what the tools' tests share: an in-process node with
// a server and a client attached, and an output buffer to wait on.
package tooltest

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
)

// Node is an in-process node with two attached clients: Srv, bound to the
// tool's name, and Cli. In one test process both have the same pid,
// which works: a process may allocate a flow to itself.
type Node struct {
	N        *irm.Node
	Srv, Cli *dev.Client
}

// Start starts a node whose flows are direct, or go through a local IPCP
// when local is set; Srv is bound (and registered) to name.
func Start(tb testing.TB, name string, local bool) *Node {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock, NoDirect: local})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	tn := &Node{N: n, Srv: Attach(tb, sock, name), Cli: Attach(tb, sock, name)}
	if err := n.BindProcess(tn.Srv.PID(), name); err != nil {
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
		if err := n.RegName(name, id); err != nil {
			tb.Fatal(err)
		}
	}
	return tn
}

// Attach attaches a client to the node at sock as prog.
func Attach(tb testing.TB, sock, prog string) *dev.Client {
	tb.Helper()
	c, err := dev.DialAs(context.Background(), sock, prog)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Flows returns the node's flows, leaving out a server's pending accept.
func (tn *Node) Flows() []irm.FlowInfo {
	var fs []irm.FlowInfo
	for _, f := range tn.N.Flows() {
		if f.State != ctl.FlowAcceptPending {
			fs = append(fs, f)
		}
	}
	return fs
}

// WaitFlows waits until the node has want flows, not counting a server's
// pending accept.
func (tn *Node) WaitFlows(tb testing.TB, want int) {
	tb.Helper()
	if !wait.Until(5*time.Second, func() bool { return len(tn.Flows()) == want }) {
		tb.Fatalf("the node has %d flows, want %d: %+v", len(tn.Flows()), want, tn.Flows())
	}
}

// Buffer is an output several goroutines write and a test reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Reset empties the buffer.
func (s *Buffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor waits until the output holds want.
func (s *Buffer) WaitFor(tb testing.TB, want string) {
	tb.Helper()
	if !wait.Until(5*time.Second, func() bool { return strings.Contains(s.String(), want) }) {
		tb.Fatalf("output never showed %q:\n%s", want, s.String())
	}
}
