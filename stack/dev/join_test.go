package dev_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// broadcastNode starts a node with a broadcast layer named layer (one
// member: this node) and a local layer named "local".
func broadcastNode(t *testing.T, layer string) (*irm.Node, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ctx := context.Background()
	id, err := n.CreateIPCP("bc", ipcp.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BootstrapIPCP(ctx, id, ipcp.Config{Layer: layer}); err != nil {
		t.Fatal(err)
	}
	lo, _ := n.CreateIPCP("lo", ipcp.Local)
	if err := n.BootstrapIPCP(ctx, lo, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256}); err != nil {
		t.Fatal(err)
	}
	return n, sock
}

func join(t *testing.T, sock, prog, layer string) *dev.Flow {
	t.Helper()
	c, err := dev.DialAs(context.Background(), sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := c.Join(ctx, layer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readOne reads one SDU, waiting at most d.
func readOne(f *dev.Flow, d time.Duration) ([]byte, error) {
	buf := make([]byte, dev.MaxSDU)
	f.SetReadDeadline(time.Now().Add(d))
	n, err := f.Read(buf)
	return buf[:n], err
}

func TestJoin(t *testing.T) {
	n, sock := broadcastNode(t, "chat")
	a, b, c := join(t, sock, "a", "chat"), join(t, sock, "b", "chat"), join(t, sock, "c", "chat")
	if a.Name() != "chat" || a.MPL() != 100*time.Millisecond || a.QoS() != qos.NP1 || a.Direct() {
		t.Errorf("joined flow: name %q, mpl %v, qos %+v, direct %v", a.Name(), a.MPL(), a.QoS(), a.Direct())
	}
	msg := []byte("hello, layer")
	if _, err := a.Write(msg); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*dev.Flow{b, c} {
		if got, err := readOne(f, 5*time.Second); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("flow %d read %q, %v; want %q", f.FD(), got, err, msg)
		}
	}
	if got, err := readOne(a, 200*time.Millisecond); !errors.Is(err, dev.ErrTimeout) {
		t.Errorf("the sender read its own SDU back: %q, %v", got, err)
	}

	// The layer drops what is over its MTU and passes what fits.
	if _, err := b.Write(make([]byte, 1401)); err != nil {
		t.Fatal(err)
	}
	full := bytes.Repeat([]byte{7}, 1400)
	if _, err := b.Write(full); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*dev.Flow{a, c} {
		if got, err := readOne(f, 5*time.Second); err != nil || !bytes.Equal(got, full) {
			t.Fatalf("flow %d read %d bytes, %v; want the 1400-byte SDU only", f.FD(), len(got), err)
		}
	}

	// A flow that leaves gets nothing more, and the node forgets it.
	before := len(n.Flows())
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if after := len(n.Flows()); after != before-1 {
		t.Errorf("%d flows after one left, want %d", after, before-1)
	}
	if _, err := c.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if got, err := readOne(a, 5*time.Second); err != nil || string(got) != "after" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestJoinRefused(t *testing.T) {
	_, sock := broadcastNode(t, "chat")
	cl, err := dev.DialAs(context.Background(), sock, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.Join(ctx, "nochat"); !errors.Is(err, dev.ErrIPCP) {
		t.Errorf("join of a layer the node is not in: %v, want ErrIPCP", err)
	}
	if _, err := cl.Join(ctx, "local"); !errors.Is(err, errs.ErrIPCPType) {
		t.Errorf("join of a local layer: %v, want ErrIPCPType", err)
	}
}
