package sim

import (
	"context"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestRingSilentLink loses every frame on the link a flow uses in a ring
// while the carrier stays up, so that no IPCP is told: one end mute (the
// issue's shaper of 1 kbit on one interface), the other end mute, or both
// ways. The IPCPs notice that they hear nothing from the neighbour over
// it, the layer routes the other way round, and a new allocation works;
// once frames pass again, the direct route comes back.
func TestRingSilentLink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		silence func(l *Link, a *Node, on bool)
	}{
		{"near end mute", func(l *Link, a *Node, on bool) { l.Mute(a, on) }},
		{"far end mute", func(l *Link, a *Node, on bool) { l.Mute(l.Other(a), on) }},
		{"cut both ways", func(l *Link, _ *Node, on bool) { l.Cut(on) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			silentLink(t, tc.silence)
		})
	}
}

// silentTimers are the link-state timers of the test: detection takes
// about ls_t_timeo, and the other IPCPs age the adjacency out in about
// ls_t_timeo more.
var silentTimers = ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: 2 * time.Second, TRecalc: time.Second, Cong: ipcp.CongMBECN}

// rerouteBound is how long the layer may take to route around a silent
// link with silentTimers.
const rerouteBound = 10 * time.Second

func silentLink(t *testing.T, silence func(l *Link, a *Node, on bool)) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	n.Connect(d, a)
	conf := silentTimers
	if err := n.Layer("net", &conf); err != nil {
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
	x := used.Other(a)
	t.Logf("a reaches c over %s; silencing it", used.Layer)
	start := time.Now()
	silence(used, a, true)
	seq := uint64(1)
	for !ping(f, seq, 100*time.Millisecond) || n.NextHopLink(a, x, "net") == used {
		seq++
		if time.Since(start) > rerouteBound {
			t.Fatalf("a still routes to %s over the silent link %s %v after it went silent (%d pings)", x.Name, used.Layer, rerouteBound, seq)
		}
	}
	t.Logf("routed around: echo and a's route to %s the other way round %v after the link went silent", x.Name, time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := allocOnce(ctx, a, "echo"); err != nil {
		t.Fatalf("new allocation across the ring: %v", err)
	}
	silence(used, a, false)
	start = time.Now()
	for n.NextHopLink(a, x, "net") != used || n.NextHopLink(x, a, "net") != used {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("a and %s do not route over %s again 5 s after it carries frames again", x.Name, used.Layer)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("direct route back %v after the link carries frames again", time.Since(start).Round(time.Millisecond))
	for i := range 5 {
		if !ping(f, 1000+uint64(i), time.Second) {
			t.Fatalf("echo %d lost after the link came back", i)
		}
	}
}
