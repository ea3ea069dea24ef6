package tunnels

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// counters are a tunnel's, updated by its workers.
type counters struct {
	devRxPkts, devRxBytes   atomic.Uint64 // read from the device
	flowTxPkts, flowTxBytes atomic.Uint64 // written to flows
	flowRxPkts, flowRxBytes atomic.Uint64 // read from flows
	devTxPkts, devTxBytes   atomic.Uint64 // written to the device
	icmp                    atomic.Uint64 // ICMP too-big errors written to the device
	drops                   [numDrops]atomic.Uint64
}

func (c *counters) drop(d Drop) { c.drops[d].Add(1) }

// Stats is a snapshot of a tunnel's counters. Device to flow: DevRx, then
// FlowTx; flow to device: FlowRx, then DevTx. A packet flooded to several
// flows counts once in DevRx and once per flow in FlowTx.
type Stats struct {
	DevRxPkts, DevRxBytes   uint64
	FlowTxPkts, FlowTxBytes uint64
	FlowRxPkts, FlowRxBytes uint64
	DevTxPkts, DevTxBytes   uint64
	ICMP                    uint64 // too-big errors sent back
	Drops                   [numDrops]uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		DevRxPkts: c.devRxPkts.Load(), DevRxBytes: c.devRxBytes.Load(),
		FlowTxPkts: c.flowTxPkts.Load(), FlowTxBytes: c.flowTxBytes.Load(),
		FlowRxPkts: c.flowRxPkts.Load(), FlowRxBytes: c.flowRxBytes.Load(),
		DevTxPkts: c.devTxPkts.Load(), DevTxBytes: c.devTxBytes.Load(),
		ICMP: c.icmp.Load(),
	}
	for i := range c.drops {
		s.Drops[i] = c.drops[i].Load()
	}
	return s
}

// Dropped is the number of packets dropped for d.
func (s Stats) Dropped(d Drop) uint64 { return s.Drops[d] }

// String is the counters on two lines and the drops, if any, on a third.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "device -> flow: %d packets (%d bytes) read, %d packets (%d bytes) sent\n",
		s.DevRxPkts, s.DevRxBytes, s.FlowTxPkts, s.FlowTxBytes)
	fmt.Fprintf(&b, "flow -> device: %d packets (%d bytes) received, %d packets (%d bytes) written\n",
		s.FlowRxPkts, s.FlowRxBytes, s.DevTxPkts, s.DevTxBytes)
	sep := "dropped:"
	for d := DropNotIP; d < numDrops; d++ {
		if s.Drops[d] > 0 {
			fmt.Fprintf(&b, "%s %s %d", sep, d, s.Drops[d])
			sep = ","
		}
	}
	if s.ICMP > 0 {
		fmt.Fprintf(&b, "%s ICMP too-big sent %d", sep, s.ICMP)
		sep = ","
	}
	if sep == "," {
		b.WriteByte('\n')
	}
	return b.String()
}
