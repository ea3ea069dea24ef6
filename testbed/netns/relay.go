package netns

import (
	"hash/fnv"
	"path/filepath"
	"strconv"

	"github.com/o7s/ouroboros/testbed/topo"
)

// RelayState is the userspace impairment relay of a point-to-point link
// (see testbed/relay): a namespace of its own between the link's ends,
// joined to Ends[i] by a veth pair whose end there is Ifaces[i], and the
// relay process in it, which listens on Sock.
type RelayState struct {
	NS     string    `json:"netns"`
	Ifaces [2]string `json:"ifaces"`
	Sock   string    `json:"sock"`
	Log    string    `json:"log"`
	PID    int       `json:"pid,omitempty"`
	// Seed seeds the relay's decisions: Seed+i those of what Ends[i]
	// sends (the file's seed:, or one derived from the link's ID).
	Seed uint64 `json:"seed"`
}

// relayNSName is the namespace of a lab's n-th relay. A node's name has
// no '_', so it is never a node's namespace.
func relayNSName(lab string, n int) string { return nsPrefix + lab + "-relay_" + strconv.Itoa(n) }

// needsRelay tells whether a link is deployed through a relay: its file
// asks for one, or for a knob only the relay makes real.
func needsRelay(lk *topo.Link) bool {
	if lk.Relay {
		return true
	}
	for _, im := range lk.Impair {
		if im.NeedsRelay() {
			return true
		}
	}
	return false
}

// NeedsRelay tells whether a deploy puts a link through an impairment
// relay.
func NeedsRelay(lk *topo.Link) bool { return needsRelay(lk) && len(lk.Endpoints) == 2 }

// planRelay is the relay of the link at index i of a lab, if it needs one.
func planRelay(lab, dir string, i int, lk *topo.Link) *RelayState {
	if !needsRelay(lk) || len(lk.Endpoints) != 2 {
		return nil
	}
	n := i + 1
	seed := lk.Seed
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(lk.ID()))
		seed = h.Sum64()
	}
	return &RelayState{
		NS:     relayNSName(lab, n),
		Ifaces: [2]string{"end0", "end1"},
		Sock:   filepath.Join(dir, "relay_"+strconv.Itoa(n)+".sock"),
		Log:    filepath.Join(dir, "relay_"+strconv.Itoa(n)+".log"),
		Seed:   seed,
	}
}

// ends are the relay's interfaces, as link ends.
func (r *RelayState) ends() []LinkEnd {
	if r == nil {
		return nil
	}
	return []LinkEnd{{Node: "relay", NS: r.NS, Iface: r.Ifaces[0]}, {Node: "relay", NS: r.NS, Iface: r.Ifaces[1]}}
}
