package eth

import (
	"os"
	"testing"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

// The golden frames of the conformance tests name the first ids; an
// IPCP's ids start at a random place otherwise (TestIDsStartAtRandom).
func TestMain(m *testing.M) {
	random := idStart
	idStart = func(first, end int) int { return first }
	randomIDStart = random
	os.Exit(m.Run())
}

var randomIDStart func(first, end int) int

func TestIDsStartAtRandom(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		s := idSpace{used: make([]bool, endEID), first: firstEID, end: endEID, next: randomIDStart(firstEID, endEID)}
		id, ok := s.alloc()
		if !ok || int(id) < firstEID || int(id) >= endEID {
			t.Fatalf("alloc = %d, %v", id, ok)
		}
		seen[int(id)] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 restarts gave only %d first ids: a restarted IPCP would reuse its old flows' ids", len(seen))
	}
}

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
