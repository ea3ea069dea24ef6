package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/qos"
)

// TestLowerFlowPorts: a unicast IPCP's lower flow over an Ethernet layer
// of its node comes with the in-process port when nothing runs between
// the two (raw), and without when the node relays it through FRCT (voice)
// or is told not to offer ports (NoPorts); flows across the layer work
// either way.
func TestLowerFlowPorts(t *testing.T) {
	for _, noPorts := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPorts=%v", noPorts), func(t *testing.T) {
			n := New(t)
			n.NoPorts = noPorts
			a, b, c := n.AddNode("a"), n.AddNode("b"), n.AddNode("c")
			n.Connect(a, b)
			n.Connect(b, c)
			if err := n.Layer("net", nil); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			self := a.Unicast["net"]
			for _, qs := range []qos.Spec{qos.Raw, qos.Voice} {
				lf, err := a.N.LowerAlloc(ctx, self, IPCPName("net", "b"), qs)
				if err != nil {
					t.Fatalf("lower flow with %v: %v", qs, err)
				}
				if want := qs == qos.Raw && !noPorts; (lf.Port != nil) != want {
					t.Errorf("lower flow with %v has a port: %v, want %v", qs, lf.Port != nil, want)
				}
				lf.Conn.Close()
				a.N.LowerDealloc(self, lf.ID)
			}
			echoServer(t, c, "net", "echo")
			f := dial(t, a, "echo")
			for i := range 100 {
				echoOnce(t, f, fmt.Sprintf("packet %d across two hops", i))
			}
		})
	}
}
