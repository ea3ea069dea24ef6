package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// echoServer binds a server on nd to name, registers it in layer and
// echoes every flow it accepts.
func echoServer(t testing.TB, nd *Node, layer, name string) {
	t.Helper()
	srv, err := dev.DialAs(context.Background(), nd.Sock, "echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	nd.N.CreateName(name, irm.RoundRobin)
	if err := nd.N.BindProcess(srv.PID(), name); err != nil {
		t.Fatal(err)
	}
	if err := nd.N.RegName(name, nd.Unicast[layer]); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			f, err := srv.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, dev.MaxSDU)
				for {
					k, err := f.Read(buf)
					if err != nil {
						return
					}
					f.Write(buf[:k])
				}
			}()
		}
	}()
}

// dial allocates a flow from nd to name, retrying while the directory
// has not learnt it.
func dial(t testing.TB, nd *Node, name string) *dev.Flow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dev.DialAs(ctx, nd.Sock, "client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nd.N.CreateName(name, irm.RoundRobin)
	for {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second) // a request or reply may be lost
		f, err := c.Alloc(actx, name, qos.Raw)
		acancel()
		if err == nil {
			t.Cleanup(func() { f.Close() })
			return f
		}
		if ctx.Err() != nil {
			t.Fatalf("alloc %s from %s: %v", name, nd.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping sends seq and waits for its echo.
func ping(f *dev.Flow, seq uint64, timeout time.Duration) bool {
	var b [64]byte
	binary.BigEndian.PutUint64(b[:], seq)
	if _, err := f.Write(b[:]); err != nil {
		return false
	}
	deadline := time.Now().Add(timeout)
	r := make([]byte, 128)
	for {
		f.SetReadDeadline(deadline)
		k, err := f.Read(r)
		if err != nil {
			return false
		}
		if bytes.Equal(r[:k], b[:]) {
			return true
		}
	}
}

// TestRingReroute takes down the link a flow uses in a ring; the flow
// keeps going over the other way round.
func TestRingReroute(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	n.Connect(d, a)
	conf := &ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: 2 * time.Second, TRecalc: time.Second, Cong: ipcp.CongMBECN}
	if err := n.Layer("net", conf); err != nil {
		t.Fatal(err)
	}
	echoServer(t, c, "net", "echo")
	f := dial(t, a, "echo")
	if !ping(f, 0, 2*time.Second) {
		t.Fatal("no echo before the failure")
	}
	used := n.NextHopLink(a, c, "net")
	if used == nil {
		t.Fatal("no route from a to c")
	}
	t.Logf("a reaches c over %s; taking it down", used.Layer)
	down := time.Now()
	used.SetUp(false)
	seq := uint64(1)
	for !ping(f, seq, 100*time.Millisecond) {
		seq++
		if time.Since(down) > 15*time.Second {
			t.Fatalf("no echo within 15 s of the failure (%d tries)", seq)
		}
	}
	t.Logf("rerouted: first echo %v after the failure, %d lost", time.Since(down).Round(time.Millisecond), seq-1)
	if nh := n.NextHopLink(a, c, "net"); nh == used {
		t.Errorf("a still routes to c over the failed link %s", used.Layer)
	}
	for i := range 20 {
		if !ping(f, 1000+uint64(i), time.Second) {
			t.Fatalf("echo %d lost after rerouting", i)
		}
	}
	used.SetUp(true)
}
