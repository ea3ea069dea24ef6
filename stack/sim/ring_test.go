package sim

import (
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

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
