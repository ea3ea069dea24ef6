package netns

import (
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/testbed/topo"
)

// LayerReport is one layer as inspect shows it: what the lab recorded and,
// for unicast and broadcast layers, each member's IPCP as its node sees it.
type LayerReport struct {
	LayerState
	Status []IPCPStatus `json:"status,omitempty"`
}

// IPCPStatus is one member's IPCP in a unicast or broadcast layer.
type IPCPStatus struct {
	Node  string `json:"node"`
	IPCP  string `json:"ipcp"`
	ID    uint32 `json:"id,omitempty"`
	State string `json:"state"` // the IPCP's state (operational, ...), or "missing"
	Layer string `json:"layer"` // the layer its node says it is in
	// Enrolled: bootstrapped or enrolled in the layer it should be in,
	// and operational.
	Enrolled   bool             `json:"enrolled"`
	Addr       string           `json:"addr,omitempty"`
	Neighbours []*ctl.Neighbour `json:"neighbours,omitempty"`
	Routes     []*ctl.Route     `json:"routes,omitempty"`
	Names      []string         `json:"names,omitempty"`   // names registered through it
	Unnamed    uint32           `json:"unnamed,omitempty"` // hashes it holds that its node cannot name
	Flows      uint32           `json:"flows"`
	Error      string           `json:"error,omitempty"`
	// Impl is the profile's name when the node runs another
	// implementation: then State is StateForeign and nothing else is known.
	Impl string `json:"impl,omitempty"`
}

// StateMissing is the state of an IPCP its node does not list.
const StateMissing = "missing"

// StateForeign is the state of an IPCP of another implementation, which
// the testbed does not ask (its node is up: it counts as enrolled).
const StateForeign = "foreign"

// StateStopped is the state of an IPCP whose node otb node stop stopped.
const StateStopped = "stopped"

// LinkReport is one link as the kernel has it: for a point-to-point link,
// the impairment each way and its counters.
type LinkReport struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Directions []DirectionReport `json:"directions,omitempty"`
	// Blackhole lists the ends (NODE:IFACE) where everything that arrives
	// is dropped (otb link set --state blackhole).
	Blackhole []string `json:"blackhole,omitempty"`
	// Relay is the link's impairment relay, if it has one.
	Relay *RelayReport `json:"relay,omitempty"`
	Error string       `json:"error,omitempty"`
}

// RelayReport is a link's impairment relay.
type RelayReport struct {
	NS   string `json:"netns"`
	PID  int    `json:"pid"`
	Seed uint64 `json:"seed"`
	// Ceiling is what the relay was measured to forward at most.
	Ceiling string `json:"ceiling"`
}

// DirectionReport is one way across a point-to-point link.
type DirectionReport struct {
	Dir    string          `json:"dir"`  // "a->b": what a sends to b
	From   string          `json:"from"` // NODE:IFACE
	To     string          `json:"to"`
	Impair topo.Impairment `json:"impair"`
	// Counters of the impairment's rules since it was last set; nil when
	// nothing impairs this way.
	Counters *ImpairCounters `json:"counters,omitempty"`
}

// ImpairCounters count the frames one way across an impaired link.
type ImpairCounters struct {
	Passed     uint64 `json:"passed"`      // arrived (ARP is not counted)
	Dropped    uint64 `json:"dropped"`     // dropped by loss
	Duplicated uint64 `json:"duplicated"`  // copies sent by duplicate
	QueueDrops uint64 `json:"queue_drops"` // dropped by the rate limit's full queue (a relay's: or its own full queue)
	// Counted by a relay only.
	Received  uint64 `json:"received,omitempty"`  // frames the relay read
	Delayed   uint64 `json:"delayed,omitempty"`   // held for any time
	Reordered uint64 `json:"reordered,omitempty"` // held back to be overtaken
	Corrupted uint64 `json:"corrupted,omitempty"` // a bit flipped
}
