package unicast

import "github.com/o7s/ouroboros/stack/ipcp"

// Neighbours that come back as new IPCPs, a local decision of this
// implementation: nothing new goes on the wire.
//
// A node that restarts comes back with new IPCPs, each under a new
// address. Its neighbours still hold their flows to its old IPCP, and
// nothing below tells them that it is gone: Ethernet and UDP flows end
// locally, with no message, and the carrier stays up. Until neighbour
// liveness gives up on it (silence(), a minute with the default timers;
// alive.go), the old adjacency stays in the routing graph, and what is
// routed through it is lost unless the lower layer happens to hand it to
// the new IPCP; and its flows stay for good.
//
// But the new IPCP connects again over the same links, and the management
// and data-transfer flows it makes or takes come from the same peer in the
// same lower layer as the old IPCP's (LowerFlow.Peer: the lower layer's
// name for it, a MAC or a UDP address and port), with a new address in
// their CEP messages. A system holds one member of a layer, so another
// address at the same lower peer means that the IPCP met there before is
// gone. The IPCP notes the address it last met at each lower peer, and
// when another turns up there it forgets the old one at once (forget):
//
//   - its connections, over every lower layer, are removed as a disconnect
//     removes them: out of the routing graph, the loss announced in two
//     rounds (rounds.go), their flows deallocated;
//   - the adjacencies it announced leave the LSDB, since nobody will
//     refresh them, so that no route from here leads to or through it;
//   - the directory forgets it: its contact, and the values that give it
//     as a name's address (dir.DHT.Forget).
//
// Farther IPCPs drop our adjacency to it with our rounds; its own
// adjacencies age out there (ls_t_timeo), unused, as no live IPCP
// announces one with it any more.

// lowerPeer is a peer in a lower layer, as that layer names it.
type lowerPeer struct{ layer, peer string }

// meet records that the IPCP at address addr answered the CEP exchange of
// lf, and returns the address met at lf's lower peer before, if that was
// another (0 otherwise); p.mu is held.
func (p *IPCP) meet(lf ipcp.LowerFlow, addr uint64) uint64 {
	if lf.Peer == "" || addr == 0 {
		return 0
	}
	k := lowerPeer{lf.Layer, lf.Peer}
	old := p.met[k]
	p.met[k] = addr
	if old == addr {
		return 0
	}
	return old
}

// forget drops the IPCP at address old, which came back under the address
// now, met at the same lower peer (see above).
func (p *IPCP) forget(old, now uint64) {
	p.log.Info("neighbour came back as a new IPCP", "old", AddrString(old), "new", AddrString(now))
	p.mu.Lock()
	var cs []*conn
	for _, c := range p.conns {
		if c.peer == old {
			cs = append(cs, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cs {
		p.removeConn(c)
	}
	p.ls.dropIPCP(old)
	p.dht.Forget(old)
}
