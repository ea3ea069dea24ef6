package irm

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestFlowsLeaveOutIPCPAccepts: a bootstrapped unicast IPCP keeps an accept
// pending for the flows its peers will open to it; that is in the node's
// table, but it is not a flow, and the listing leaves it out.
func TestFlowsLeaveOutIPCPAccepts(t *testing.T) {
	n, err := Start(Config{Sock: filepath.Join(t.TempDir(), "irm.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	id, err := n.CreateIPCP("net.a", ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "net", Hash: ipcp.SHA3_256}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the IPCP's pending accept", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.flows) > 0
	})
	if l := n.Flows(); len(l) != 0 {
		t.Errorf("Flows = %+v, want none: the IPCP's accept is not a flow", l)
	}
}
