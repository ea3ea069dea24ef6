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
//
// With ls_t_update 1 s, a neighbour is found silent ls_t_timeo after it
// was last heard, and the loss is known everywhere 0.75 to 2.25 s later
// (unicast's rounds.go): the bound, 2 ls_t_timeo + 2 s, leaves a second or
// two for a loaded machine.
func TestRingSilentLink(t *testing.T) {
	mute := func(l *Link, a *Node, on bool) { l.Mute(a, on) }
	for _, tc := range []struct {
		name    string
		timeo   time.Duration // ls_t_timeo
		silence func(l *Link, a *Node, on bool)
	}{
		{"near end mute", 2 * time.Second, mute},
		{"far end mute", 2 * time.Second, func(l *Link, a *Node, on bool) { l.Mute(l.Other(a), on) }},
		{"cut both ways", 2 * time.Second, func(l *Link, _ *Node, on bool) { l.Cut(on) }},
		{"near end mute, ls_t_timeo 3 s", 3 * time.Second, mute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			silentLink(t, tc.timeo, tc.silence)
		})
	}
}

func silentLink(t *testing.T, timeo time.Duration, silence func(l *Link, a *Node, on bool)) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	n.Connect(d, a)
	conf := ipcp.UnicastConfig{TUpdate: time.Second, TTimeo: timeo, TRecalc: time.Second, Cong: ipcp.CongMBECN}
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
	bound := 2*timeo + 2*time.Second
	for !ping(f, seq, 100*time.Millisecond) || n.NextHopLink(a, x, "net") == used {
		seq++
		if time.Since(start) > bound {
			t.Fatalf("a still routes to %s over the silent link %s %v after it went silent (%d pings)", x.Name, used.Layer, bound, seq)
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
