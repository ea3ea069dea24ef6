package dir

import (
	"bytes"
	"slices"
)

// Nodes that are gone, a local decision: nothing new goes on the wire.
//
// Kademlia never drops a contact that stops answering (nor does the
// reference), and a value names an address until it expires (a day by
// default). A node whose IPCP restarts comes back under a new address, so
// its old address stays a contact that lookups ask in vain, and the
// address of the names it registered, which a lookup may answer with
// while the new one is also there. The owner, which learns from its lower
// layers that a neighbour came back as a new IPCP, calls Forget with the
// old address: the DHT drops its contact, the values that give it as a
// name's address, and the finished lookups that found it, and from then
// on takes it neither as a contact (from any message or answer) nor as a
// value, nor answers a query with it. Other nodes still hold it for a
// while and may hand it back; it is refused.
//
// Nodes farther away are not told, but the layer soon has no route to the
// old address (its neighbours stop announcing their adjacencies with it).
// The owner says which addresses it has a route to (Config.Reach), and
// the DHT prefers those: contact lists (whom a lookup asks, whom a name
// is published to, what a FIND_NODE_RSP lists) put the contacts with a
// route before the closer ones without, so that nodes that are gone do
// not crowd the live ones out of the k closest; and of a name's values,
// the first with a route is the answer (retrieve gives the newest
// first), else the first.

// maxGone bounds the gone addresses remembered; the oldest goes first.
const maxGone = 64

// goneSet is the addresses of the nodes known to be gone.
type goneSet struct {
	addrs []uint64 // oldest first
}

func (g *goneSet) has(addr uint64) bool { return slices.Contains(g.addrs, addr) }

func (g *goneSet) add(addr uint64) {
	if g.has(addr) {
		return
	}
	if len(g.addrs) == maxGone {
		g.addrs = slices.Delete(g.addrs, 0, 1)
	}
	g.addrs = append(g.addrs, addr)
}

// Forget drops what the DHT holds of the node at addr, which the owner
// knows to be gone (see above).
func (d *DHT) Forget(addr uint64) {
	if addr == 0 || addr == d.cfg.Addr {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone.add(addr)
	d.dropContact(addr)
	v := addrToVal(addr)
	for k, e := range d.entries {
		e.vals = slices.DeleteFunc(e.vals, func(x *val) bool { return bytes.Equal(x.v, v) })
		if len(e.vals) == 0 && len(e.lvals) == 0 {
			delete(d.entries, k)
		}
	}
	for k, l := range d.lookups {
		if l.done && slices.ContainsFunc(l.vals, func(x []byte) bool { return bytes.Equal(x, v) }) {
			delete(d.lookups, k)
		}
	}
	for _, p := range d.pubs {
		delete(p.peers, addr)
	}
}

// goneVal reports whether v is the address of a node that is gone.
func (d *DHT) goneVal(v []byte) bool { return len(v) == 8 && d.gone.has(valToAddr(v)) }

// reach reports whether the layer has a route to addr (Config.Reach).
func (d *DHT) reach(addr uint64) bool { return d.cfg.Reach == nil || d.cfg.Reach(addr) }
