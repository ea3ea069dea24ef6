package topo

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Address pools of udp links.
var (
	udp4Pool = netip.MustParsePrefix("198.18.0.0/15") // RFC 2544 benchmarking
	udp6Pool = netip.MustParsePrefix("fd07:7e57::/48")
)

const (
	maxUDP4Links = 1 << (30 - 15) // /30s in a /15
	maxUDP6Links = 1 << (64 - 48) // /64s in a /48
)

// addresses numbers the udp links of each family in file order and gives
// their endpoints addresses from that family's pool.
func (b *builder) addresses() {
	var n4, n6 int
	for _, l := range b.t.Links {
		if l.Type != LinkUDP || len(l.Endpoints) != 2 {
			continue
		}
		switch l.Family {
		case FamilyIPv4:
			if n4 == maxUDP4Links {
				b.errorf(pos{line: l.Line}, "more than %d ipv4 udp links fill %s; make some family: ipv6", maxUDP4Links, udp4Pool)
			}
			l.Endpoints[0].Addr, l.Endpoints[1].Addr = udp4Addrs(n4)
			n4++
		case FamilyIPv6:
			if n6 == maxUDP6Links {
				b.errorf(pos{line: l.Line}, "more than %d ipv6 udp links fill %s; make some family: ipv4", maxUDP6Links, udp6Pool)
			}
			l.Endpoints[0].Addr, l.Endpoints[1].Addr = udp6Addrs(n6)
			n6++
		}
	}
}

// udp4Addrs are the two addresses of the n-th /30 of the ipv4 pool.
func udp4Addrs(n int) (netip.Prefix, netip.Prefix) {
	a := udp4Pool.Addr().As4()
	base := binary.BigEndian.Uint32(a[:]) + uint32(n%maxUDP4Links)*4
	at := func(i uint32) netip.Prefix {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+i)
		return netip.PrefixFrom(netip.AddrFrom4(b), 30)
	}
	return at(1), at(2)
}

// udp6Addrs are ::1 and ::2 of the n-th /64 of the ipv6 pool.
func udp6Addrs(n int) (netip.Prefix, netip.Prefix) {
	a := udp6Pool.Addr().As16()
	binary.BigEndian.PutUint16(a[6:8], uint16(n%maxUDP6Links))
	at := func(i byte) netip.Prefix {
		a[15] = i
		return netip.PrefixFrom(netip.AddrFrom16(a), 64)
	}
	return at(1), at(2)
}

// layersOf checks the layers the file declares. Unicast and broadcast
// layers are only started here: their lower layers may be implied ones, so
// upper checks them once implied has run.
func (b *builder) layersOf(f *rawFile) {
	defer b.layersChanged()
	for _, rl := range f.layers {
		if b.stopped() {
			return
		}
		if !layerRe.MatchString(rl.name.s) {
			b.errorf(rl.name.pos, "layer name %q is not valid; use lower-case letters, digits, '-' and '.', starting with a letter or digit", rl.name.s)
		}
		ly := &Layer{Name: rl.name.s, Type: b.layerType(rl), Line: rl.name.line}
		b.t.Layers = append(b.t.Layers, ly)
		b.layers[ly.Name] = ly
		if ly.Upper() {
			b.raw[ly.Name] = rl
			if rl.link.given() {
				b.errorf(rl.link.pos, "layer %s is %s, which runs over lower layers, not on a link; remove link: and list each member's lower layers under lower:", ly.Name, ly.Type)
			}
			continue
		}
		b.shimOnly(rl)
		if !rl.link.given() {
			if ly.Type == "" && (rl.membersAt.given() || rl.lowerAt.given()) {
				continue // no valid type, but members: meant unicast or broadcast
			}
			b.errorf(rl.name.pos, `layer %s has no link; add link: "a:e1--b:e1", or the bridge's name for a LAN`, ly.Name)
			continue
		}
		l := b.byID[rl.link.s]
		if l == nil {
			b.unknownLink(rl)
			continue
		}
		ly.Link = l.ID()
		ly.Members = b.members(l)
		if ly.Type != "" && l.Type != "" {
			b.fits(rl, ly, l)
		}
		if len(ly.Members) == 0 {
			b.errorf(rl.link.pos, "layer %s has no members: no node on link %s is of kind node; put the layer on a link between nodes of kind node", ly.Name, ly.Link)
		}
	}
}

// shimOnly reports the keys of unicast and broadcast layers on a layer
// that is not one (or has no valid type).
func (b *builder) shimOnly(rl rawLayer) {
	if !rl.typ.given() || rl.typ.s == "" {
		return
	}
	typ := rl.typ.s
	if typ != LayerEthDIX && typ != LayerEthLLC && typ != LayerUDP4 && typ != LayerUDP6 {
		return // an unknown type is reported; its keys may be right
	}
	say := func(at pos, key, why string) {
		if at.given() {
			b.errorf(at, "%s is for unicast and broadcast layers, but %s is %s%s; remove %s:", key, rl.name.s, typ, why, key)
		}
	}
	say(rl.membersAt, "members", ", whose members are its link's nodes")
	say(rl.lowerAt, "lower", ", which runs on its link")
	say(rl.enrollment.pos, "enrollment", "")
	say(rl.connect.pos, "connect", "")
	say(rl.policiesAt, "policies", "")
	say(rl.adjacenciesAt, "adjacencies", "")
}

const layerTypes = "eth-dix, eth-llc, udp4, udp6, unicast or broadcast"

func (b *builder) layerType(rl rawLayer) string {
	t := rl.typ
	switch {
	case !t.given() && (rl.membersAt.given() || rl.lowerAt.given()):
		b.errorf(rl.name.pos, "layer %s has no type; add type: unicast or broadcast", rl.name.s)
	case !t.given():
		b.errorf(rl.name.pos, "layer %s has no type; add type: %s", rl.name.s, layerTypes)
	case t.s == LayerEthDIX || t.s == LayerEthLLC || t.s == LayerUDP4 || t.s == LayerUDP6 || t.s == LayerUnicast || t.s == LayerBroadcast:
		return t.s
	default:
		hint := "write type: " + layerTypes
		if s := suggest(t.s, []string{LayerEthDIX, LayerEthLLC, LayerUDP4, LayerUDP6, LayerUnicast, LayerBroadcast}); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		b.errorf(t.pos, "unknown layer type %q; %s", t.s, hint)
	}
	return ""
}

func (b *builder) unknownLink(rl rawLayer) {
	if b.skip() {
		return
	}
	hint := `name a link "<node>:<iface>--<node>:<iface>", or a LAN by its bridge`
	if len(b.ids) == 0 {
		hint = "add the link under links: first"
	} else if s := suggest(rl.link.s, b.ids); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	b.errorf(rl.link.pos, "layer %s names link %q, which is not under links:; %s", rl.name.s, rl.link.s, hint)
}

// fits checks that a layer's type can run on its link, and that the link
// carries no other layer of that type (they would share a device and
// Ethertype, or an address and port).
func (b *builder) fits(rl rawLayer, ly *Layer, l *Link) {
	eth := ly.Type == LayerEthDIX || ly.Type == LayerEthLLC
	udp := LayerUDP4
	if l.Family == FamilyIPv6 {
		udp = LayerUDP6
	}
	switch {
	case eth && l.Type == LinkUDP:
		b.errorf(rl.typ.pos, "layer %s is %s, which needs a veth or bridge link, but %s is a udp link; write type: %s, or put the layer on an Ethernet link",
			ly.Name, ly.Type, l.ID(), udp)
		return
	case !eth && l.Type != LinkUDP:
		b.errorf(rl.typ.pos, "layer %s is %s, which needs a udp link, but %s is a %s link; write type: eth-dix, or put the layer on a udp link",
			ly.Name, ly.Type, l.ID(), l.Type)
		return
	case !eth && l.Family != "" && ly.Type != udp:
		b.errorf(rl.typ.pos, "layer %s is %s, but link %s has family %s; write type: %s", ly.Name, ly.Type, l.ID(), l.Family, udp)
		return
	}
	on := b.carried[ly.Link]
	if on == nil {
		on = map[string]*Layer{}
		b.carried[ly.Link] = on
	}
	if prev := on[ly.Type]; prev != nil {
		b.errorf(rl.typ.pos, "link %s already carries %s layer %s (line %d); put one layer of each type on a link",
			ly.Link, ly.Type, prev.Name, prev.Line)
		return
	}
	on[ly.Type] = ly
}

// members are the nodes of kind node on a link, in the link's order.
func (b *builder) members(l *Link) []string {
	var m []string
	seen := make(map[string]bool, len(l.Endpoints))
	for _, e := range l.Endpoints {
		if n := b.nodes[e.Node]; n != nil && n.Kind == KindNode && !seen[e.Node] {
			m = append(m, e.Node)
			seen[e.Node] = true
		}
	}
	return m
}

// implied adds a shim layer to every link that no layer names and that
// has at least two nodes of kind node on it (a layer of one member
// carries nothing). See impliedName.
func (b *builder) implied() {
	defer b.layersChanged()
	named := map[string]bool{}
	for _, ly := range b.t.Layers {
		named[ly.Link] = true
	}
	for _, l := range b.t.Links {
		if b.stopped() {
			return
		}
		m := b.members(l)
		if named[l.ID()] || len(m) < 2 {
			continue
		}
		typ := LayerEthDIX
		if l.Type == LinkUDP {
			typ = LayerUDP4
			if l.Family == FamilyIPv6 {
				typ = LayerUDP6
			}
		}
		ly := &Layer{Name: b.impliedName(l), Type: typ, Link: l.ID(), Members: m, Implied: true, Line: l.Line}
		b.t.Layers = append(b.t.Layers, ly)
		b.layers[ly.Name] = ly
	}
}

// impliedName names the implied layer of a link:
//
//	veth link a:e1--b:e1      dix-a-b
//	bridge link of lan0       dix-lan0
//	udp link a:u0--b:u0       udp-a-b  (either family)
//
// with the endpoint nodes in the order the link lists them. A name that is
// taken (by a layer of the file or an implied layer before it) gets the
// first free suffix -2, -3, ...: a second veth link between a and b has
// the implied layer dix-a-b-2.
func (b *builder) impliedName(l *Link) string {
	var base string
	switch l.Type {
	case LinkBridge:
		base = "dix-" + l.Bridge
	case LinkUDP:
		base = "udp-" + l.Endpoints[0].Node + "-" + l.Endpoints[1].Node
	default:
		base = "dix-" + l.Endpoints[0].Node + "-" + l.Endpoints[1].Node
	}
	// Names are only ever taken, so the first free suffix is not below
	// the last one given for base.
	name, i := base, max(b.suffix[base], 2)
	for ; b.layers[name] != nil; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	b.suffix[base] = i
	return name
}

// names checks the names nodes register and sets Node.Names.
func (b *builder) names(f *rawFile) {
	for i, rn := range f.nodes {
		if b.stopped() {
			return
		}
		n := b.t.Nodes[i]
		if n.Kind != KindNode || len(rn.names) == 0 {
			continue
		}
		n.Names = map[string][]string{}
		for _, nm := range rn.names {
			if nm.name.s == "" {
				b.errorf(nm.name.pos, "a name must not be empty; write names: {oping: [eth-ab]}")
			}
			if len(nm.layers) == 0 && !b.skip() {
				b.errorf(nm.name.pos, "name %q on node %s is registered in no layer; %s", nm.name.s, n.Name, b.layersHint(n.Name))
			}
			var layers []string
			before := map[string]bool{}
			for _, s := range nm.layers {
				b.nameLayer(n.Name, nm.name.s, s, before)
				layers = append(layers, s.s)
				before[s.s] = true
			}
			n.Names[nm.name.s] = layers
		}
	}
}

func (b *builder) nameLayer(node, name string, s scalar, before map[string]bool) {
	ly := b.layers[s.s]
	switch {
	case before[s.s]:
		b.errorf(s.pos, "layer %s is listed twice for name %q; list it once", s.s, name)
	case (ly == nil || !b.isMember(ly, node)) && b.skip():
	case ly == nil:
		b.errorf(s.pos, "name %q on node %s names layer %q, which does not exist; %s", name, node, s.s, b.layersHint(node))
	case !b.isMember(ly, node):
		b.errorf(s.pos, "name %q on node %s names layer %s, but %s is not a member of it; %s", name, node, s.s, node, b.layersHint(node))
	case ly.Type == LayerBroadcast:
		b.errorf(s.pos, "name %q on node %s names layer %s, which is broadcast and has no names (programs join it by its name); register it in a unicast or shim layer", name, node, s.s)
	}
}

// layersHint says which layers a node can register names in.
func (b *builder) layersHint(node string) string {
	var on []string
	for _, ly := range b.layersOn(node) {
		on = append(on, ly.Name)
	}
	if len(on) == 0 {
		return fmt.Sprintf("node %s is in no layer, so remove names:", node)
	}
	return "write layers " + node + " is in: " + listed(on, ", ")
}
