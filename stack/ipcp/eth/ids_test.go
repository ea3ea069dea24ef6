package eth

import (
	"testing"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

// A DIX data frame for a flow from another host than the flow's peer (a
// stale flow of that host's, say, whose id this IPCP gave a new flow) is
// dropped and counted, not delivered.
func TestDIXDataFromOtherHostDropped(t *testing.T) {
	p, _ := quiet(t, ethtest.NewHub(), ipcp.EthDIX)
	f, _ := activeFlow(t, p, macB, 9)
	frame := make([]byte, p.hl+100)
	other := macB
	other[5] ^= 0xff
	DIXHeader(frame).Put(p.mac, other, p.ethertype, f.lid, 100)
	p.input(frame)
	if got := p.Stats.DropWrongSAP.Load(); got != 1 {
		t.Errorf("DropWrongSAP = %d, want 1", got)
	}
	if got := p.Stats.RxSDUs.Load(); got != 0 {
		t.Errorf("RxSDUs = %d, want 0", got)
	}
}
