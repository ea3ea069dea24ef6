package netns

import "github.com/o7s/ouroboros/stack/ctl"

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
}

// StateMissing is the state of an IPCP its node does not list.
const StateMissing = "missing"
