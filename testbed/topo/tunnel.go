package topo

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// IP LANs and ovpn tunnels: hosts and gateways have addresses (ip:) and
// routes (routes:) on their interfaces, and a tunnel (tunnels:) joins the
// LANs of two gateways over a layer:
//
//	nodes:
//	  h1: {kind: host, ip: {e1: [10.1.0.11/24, "fd01::11/64"]}}
//	  g1: {ip: {e1: [10.1.0.1/24, "fd01::1/64"]}}
//	tunnels:
//	  vpn: {mode: tun, layer: net, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}

var (
	tunnelKeys    = []string{"mode", "layer", "qos", "server", "client"}
	tunnelEndKeys = []string{"node", "lan"}
	// TunnelQoS are the QoS cubes ovpn's -q takes.
	TunnelQoS = []string{"raw", "best", "video", "voice", "data"}
)

// MaxTunnelName keeps the device name "ov-" + name within the kernel's 15.
const MaxTunnelName = MaxIfaceName - 3

// Address pools of tun devices: a /30 and a /64 per tunnel.
var (
	tun4Pool = netip.MustParsePrefix("100.64.0.0/16") // RFC 6598 shared space
	tun6Pool = netip.MustParsePrefix("fd07:7e58::/48")
)

type (
	rawIP struct {
		iface scalar
		addrs []scalar
	}
	rawTunnel struct {
		name                      scalar
		mode, layer, qos          scalar
		server, client            rawEnd
		serverGiven, clientGiven  bool
		serverAt, clientAt, endAt pos
		bad                       bool // problems in its mapping were reported
	}
	rawEnd struct {
		at        pos
		node, lan scalar
	}
)

// ips decodes ip: {IFACE: [ADDR/LEN, ...]} (one address may be written
// without the list).
func (d *decoder) ips(n ast.Node, node string) []rawIP {
	const example = `ip: {e1: [10.1.0.11/24, "fd01::11/64"]}`
	var out []rawIP
	for _, p := range d.pairs(n, mapSpec{"ip of node " + node, example, "interface", "list its addresses once"}) {
		r := rawIP{iface: p.key}
		v := d.resolve(p.val)
		if s, ok := text(v); ok {
			r.addrs = []scalar{{s, posOf(v)}}
		} else {
			r.addrs, _ = d.strList(v, "an interface's addresses", p.key.s+`: [10.1.0.11/24, "fd01::11/64"]`, true)
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) tunnel(tp pair) rawTunnel {
	t := rawTunnel{name: tp.key}
	what := fmt.Sprintf("tunnel %q", tp.key.s)
	example := tp.key.s + ": {layer: net, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}"
	before := d.problems()
	for _, p := range d.object(tp.val, what, example, tunnelKeys, nil) {
		switch p.key.s {
		case "mode":
			t.mode = d.str(p.val, "mode", "mode: tun or tap")
		case "layer":
			t.layer = d.str(p.val, "layer", "layer: net")
		case "qos":
			t.qos = d.str(p.val, "qos", "qos: raw")
		case "server":
			t.serverGiven, t.serverAt = true, p.key.pos
			t.server = d.tunnelEnd(p.val, what+" server", "server: {node: g1, lan: lan1}")
		case "client":
			t.clientGiven, t.clientAt = true, p.key.pos
			t.client = d.tunnelEnd(p.val, what+" client", "client: {node: g2, lan: lan2}")
		}
	}
	t.bad = d.problems() > before
	return t
}

func (d *decoder) tunnelEnd(n ast.Node, what, example string) rawEnd {
	e := rawEnd{at: posOf(d.resolve(n))}
	for _, p := range d.object(n, what, example, tunnelEndKeys, nil) {
		switch p.key.s {
		case "node":
			e.node = d.str(p.val, "node", "node: g1")
		case "lan":
			e.lan = d.str(p.val, "lan", "lan: lan1")
		}
	}
	return e
}

// ifaceLink finds the link an interface of a node is on.
func (b *builder) ifaceLink(node, iface string) *Link {
	for _, l := range b.t.Links {
		for _, e := range l.Endpoints {
			if e.Node == node && e.Iface == iface {
				return l
			}
		}
	}
	return nil
}

// ifacesOf lists a node's interfaces, sorted.
func (b *builder) ifacesOf(node string) []string {
	var l []string
	for i := range b.ifaces[node] {
		l = append(l, i)
	}
	slices.Sort(l)
	return l
}

// ipsOf checks the addresses and routes of hosts and gateways. (A host
// with no address is an error on a LAN a tunnel joins: see tunnelsOf.)
func (b *builder) ipsOf(f *rawFile) {
	for i, rn := range f.nodes {
		if b.stopped() || i >= len(b.t.Nodes) {
			return
		}
		n := b.t.Nodes[i]
		if n.Kind == KindBridge && (rn.ipAt.given() || rn.routesAt.given()) {
			at := rn.ipAt
			if !at.given() {
				at = rn.routesAt
			}
			b.errorf(at, "node %s is a bridge, the segment itself, and has no address; give the addresses to the hosts and gateways on it", n.Name)
			continue
		}
		for _, ri := range rn.ips {
			b.nodeIP(n, ri)
		}
		for _, r := range rn.routes {
			b.nodeRoute(n, r)
		}
	}
}

func (b *builder) nodeIP(n *Node, ri rawIP) {
	iface := ri.iface
	if _, ok := b.ifaces[n.Name][iface.s]; !ok {
		have := strings.Join(b.ifacesOf(n.Name), ", ")
		if have == "" {
			have = "none: no link names it"
		}
		b.errorf(iface.pos, "node %s has no interface %s (its interfaces: %s); give addresses to an interface a link connects", n.Name, iface.s, have)
		return
	}
	if l := b.ifaceLink(n.Name, iface.s); l != nil && l.Type == LinkUDP {
		b.errorf(iface.pos, "interface %s:%s is on a udp link, whose addresses otb gives (%s); remove it from ip:", n.Name, iface.s, udp4Pool)
		return
	}
	if len(ri.addrs) == 0 {
		b.errorf(iface.pos, "interface %s:%s has no address; write %s: [10.1.0.11/24]", n.Name, iface.s, iface.s)
		return
	}
	for _, a := range ri.addrs {
		p, err := netip.ParsePrefix(a.s)
		if err != nil || p.Addr().Zone() != "" {
			b.errorf(a.pos, "%q is not an address with its prefix length; write e.g. 10.1.0.11/24 or \"fd01::11/64\"", a.s)
			continue
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Masked() == p && p.Bits() < p.Addr().BitLen() {
			b.errorf(a.pos, "%s is the subnet itself, not an address on it; write an address such as %s", a.s, netip.PrefixFrom(p.Addr().Next(), p.Bits()))
			continue
		}
		if n.Addrs == nil {
			n.Addrs = map[string][]netip.Prefix{}
		}
		if slices.Contains(n.Addrs[iface.s], p) {
			b.errorf(a.pos, "address %s is listed twice on %s:%s; list it once", p, n.Name, iface.s)
			continue
		}
		n.Addrs[iface.s] = append(n.Addrs[iface.s], p)
	}
}

// parseRoute reads "PREFIX via ADDR" (or "default via ADDR").
func parseRoute(s string) (Route, bool) {
	f := strings.Fields(s)
	if len(f) != 3 || f[1] != "via" {
		return Route{}, false
	}
	via, err := netip.ParseAddr(f[2])
	if err != nil || via.Zone() != "" {
		return Route{}, false
	}
	via = via.Unmap()
	var to netip.Prefix
	if f[0] == "default" {
		to = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if via.Is6() {
			to = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	} else if to, err = netip.ParsePrefix(f[0]); err != nil {
		return Route{}, false
	}
	return Route{To: to.Masked(), Via: via}, true
}

func (b *builder) nodeRoute(n *Node, s scalar) {
	r, ok := parseRoute(s.s)
	if !ok {
		b.errorf(s.pos, "route %q is not PREFIX via ADDRESS; write e.g. \"10.2.0.0/24 via 10.1.0.1\" or \"default via 10.1.0.1\"", s.s)
		return
	}
	if r.To.Addr().Is4() != r.Via.Is4() {
		b.errorf(s.pos, "route %q mixes IPv4 and IPv6; route a prefix through a neighbour of its own family", s.s)
		return
	}
	var subnets []string
	on := false
	for _, iface := range slices.Sorted(mapKeys(n.Addrs)) {
		for _, a := range n.Addrs[iface] {
			on = on || (a.Masked().Contains(r.Via) && a.Addr() != r.Via)
			subnets = append(subnets, a.Masked().String())
		}
	}
	if !on {
		have := strings.Join(subnets, ", ")
		if have == "" {
			have = "none: it has no address"
		}
		b.errorf(s.pos, "route %q goes through %s, which is on none of %s's subnets (%s); route through a neighbour on one of them", s.s, r.Via, n.Name, have)
		return
	}
	for _, old := range n.Routes {
		if old.To == r.To {
			b.errorf(s.pos, "a route to %s is written twice for %s; keep one", r.To, n.Name)
			return
		}
	}
	n.Routes = append(n.Routes, r)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// tunnelsOf checks the tunnels, gives tun devices their addresses and
// routes, registers each tunnel's name on its server, and routes the hosts
// of a tun tunnel's LANs through their gateway.
func (b *builder) tunnelsOf(f *rawFile) {
	used := map[string]int{} // node:iface -> line of the tunnel that uses it
	for i, rt := range f.tunnels {
		if b.stopped() {
			return
		}
		t := &Tunnel{Name: rt.name.s, Mode: TunnelTun, QoS: "raw", Layer: rt.layer.s, Line: rt.name.line}
		b.checkTunnelName(rt.name)
		if rt.mode.given() {
			t.Mode = rt.mode.s
			if t.Mode != TunnelTun && t.Mode != TunnelTap {
				b.errorf(rt.mode.pos, "unknown mode %q for tunnel %s; write mode: tun (IP, the LANs routed) or tap (Ethernet, the LANs one segment)", rt.mode.s, t.Name)
			}
		}
		if rt.qos.given() {
			t.QoS = rt.qos.s
			if !slices.Contains(TunnelQoS, t.QoS) {
				b.errorf(rt.qos.pos, "unknown qos %q for tunnel %s; write one of %s", rt.qos.s, t.Name, strings.Join(TunnelQoS, ", "))
			}
		}
		ok := true
		switch {
		case !rt.serverGiven && !rt.bad: // else a misspelt key was reported
			b.errorf(rt.name.pos, "tunnel %s has no server; add server: {node: g1, lan: lan1}", t.Name)
			ok = false
		case !rt.serverGiven:
			ok = false
		case !b.tunnelEnd(t, rt.server, &t.Server, "server", used):
			t.Server, ok = TunnelEnd{}, false
		}
		switch {
		case ok && rt.clientGiven && rt.client.node.s == t.Server.Node:
			b.errorf(rt.client.node.pos, "tunnel %s has %s at both ends; a tunnel joins two gateways", t.Name, t.Server.Node)
			ok = false
		case !rt.clientGiven && !rt.bad:
			b.errorf(rt.name.pos, "tunnel %s has no client; add client: {node: g2, lan: lan2}", t.Name)
			ok = false
		case !rt.clientGiven:
			ok = false
		case !b.tunnelEnd(t, rt.client, &t.Client, "client", used):
			t.Client, ok = TunnelEnd{}, false
		}
		if !b.tunnelLayer(t, rt) {
			ok = false
		}
		if ok && t.Mode == TunnelTun && !b.tunRoutes(t, rt, i) {
			ok = false
		}
		for _, e := range []*TunnelEnd{&t.Server, &t.Client} {
			if n := b.nodes[e.Node]; ok && n != nil && (n.Runtime == RuntimeDocker || n.Runtime == RuntimeSwarm) {
				b.errorf(rt.name.pos, "tunnel %s has its %s end on %s, a docker node; ovpn runs on gateways in network namespaces only: give %s runtime: netns", t.Name, map[bool]string{true: "server", false: "client"}[e == &t.Server], n.Name, n.Name)
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, e := range t.Ends() {
			e.Dev = "ov-" + t.Name
			if t.Mode == TunnelTap {
				e.Bridge = "ovb-" + t.Name
			}
		}
		srv := b.nodes[t.Server.Node]
		if srv.Names == nil {
			srv.Names = map[string][]string{}
		}
		if _, dup := srv.Names[t.Name]; dup {
			b.errorf(rt.name.pos, "node %s registers a name %s already; a tunnel's name is its server's to register: remove it from names:", srv.Name, t.Name)
			continue
		}
		srv.Names[t.Name] = []string{t.Layer}
		b.t.Tunnels = append(b.t.Tunnels, t)
	}
	b.lanHosts(f)
}

// lanHosts reports the hosts without an address on the LANs that tunnels
// join: the tunnel carries IP to them, and nothing else reaches a host.
func (b *builder) lanHosts(f *rawFile) {
	joined := map[string]string{} // LAN -> a tunnel that joins it
	for _, t := range b.t.Tunnels {
		joined[t.Server.LAN], joined[t.Client.LAN] = t.Name, t.Name
	}
	for i, rn := range f.nodes {
		if i >= len(b.t.Nodes) {
			return
		}
		n := b.t.Nodes[i]
		if n.Kind != KindHost || len(n.Addrs) > 0 || rn.ipAt.given() { // a bad ip: was reported
			continue
		}
		for _, l := range b.t.Links {
			if l.Type != LinkBridge || joined[l.Bridge] == "" {
				continue
			}
			for _, e := range l.Endpoints {
				if e.Node == n.Name {
					b.errorf(rn.name.pos, "host %s on LAN %s, which tunnel %s joins, has no address, and a host is reached only by IP; add ip: {%s: [10.1.0.11/24]}", n.Name, l.Bridge, joined[l.Bridge], e.Iface)
				}
			}
		}
	}
}

func (b *builder) checkTunnelName(s scalar) {
	switch {
	case !nameRe.MatchString(s.s):
		b.errorf(s.pos, "tunnel name %q is not valid; use lower-case letters, digits and '-', starting with a letter or digit", s.s)
	case len(s.s) > MaxTunnelName:
		b.errorf(s.pos, "tunnel name %q is %d characters long; shorten it to at most %d (its device is ov-<name>)", s.s, len(s.s), MaxTunnelName)
	}
}

// tunnelEnd checks one end of a tunnel and fills e.
func (b *builder) tunnelEnd(t *Tunnel, re rawEnd, e *TunnelEnd, role string, used map[string]int) bool {
	if !re.node.given() {
		b.errorf(re.at, "the %s of tunnel %s names no node; write %s: {node: g1, lan: lan1}", role, t.Name, role)
		return false
	}
	if !re.lan.given() {
		b.errorf(re.at, "the %s of tunnel %s names no LAN; add lan: <the bridge of the LAN it joins>", role, t.Name)
		return false
	}
	e.Node, e.LAN = re.node.s, re.lan.s
	n := b.nodes[e.Node]
	switch {
	case n == nil:
		hint := "declare it under nodes:"
		if sg := suggest(e.Node, b.nodeNames()); sg != "" {
			hint = fmt.Sprintf("did you mean %s?", sg)
		}
		b.errorf(re.node.pos, "tunnel %s: there is no node %s; %s", t.Name, e.Node, hint)
		return false
	case n.Kind != KindNode:
		b.errorf(re.node.pos, "tunnel %s: %s is a %s, and a gateway runs ovpn over its onode; name a node of kind node", t.Name, e.Node, n.Kind)
		return false
	}
	br := b.nodes[e.LAN]
	if br == nil || br.Kind != KindBridge {
		var lans []string
		for _, x := range b.t.Nodes {
			if x.Kind == KindBridge {
				lans = append(lans, x.Name)
			}
		}
		what := "there is no node " + e.LAN
		if br != nil {
			what = e.LAN + " is a " + br.Kind + ", not a LAN"
		}
		b.errorf(re.lan.pos, "tunnel %s: %s; name a bridge node (LANs: %s)", t.Name, what, strings.Join(lans, ", "))
		return false
	}
	for _, l := range b.t.Links {
		if l.Type != LinkBridge || l.Bridge != e.LAN {
			continue
		}
		for _, ep := range l.Endpoints {
			if ep.Node == e.Node {
				e.Iface = ep.Iface
			}
		}
	}
	if e.Iface == "" {
		b.errorf(re.lan.pos, "tunnel %s: gateway %s is not on LAN %s; add %s:e<n> to the endpoints of %s's bridge link", t.Name, e.Node, e.LAN, e.Node, e.LAN)
		return false
	}
	key := e.Node + ":" + e.Iface
	if at, dup := used[key]; dup {
		b.errorf(re.lan.pos, "tunnel %s: %s's interface on %s is joined by the tunnel at line %d already; a LAN interface serves one tunnel", t.Name, e.Node, e.LAN, at)
		return false
	}
	used[key] = t.Line
	return true
}

// tunnelLayer checks that both gateways are members of the tunnel's layer,
// one that carries flows to names.
func (b *builder) tunnelLayer(t *Tunnel, rt rawTunnel) bool {
	if !rt.layer.given() {
		b.errorf(rt.name.pos, "tunnel %s names no layer; add layer: <the layer the gateways reach each other through>", t.Name)
		return false
	}
	ly := b.layers[t.Layer]
	switch {
	case ly == nil:
		b.errorf(rt.layer.pos, "tunnel %s: there is no layer %s; name a layer both gateways are members of", t.Name, t.Layer)
		return false
	case ly.Type == LayerBroadcast:
		b.errorf(rt.layer.pos, "tunnel %s: %s is a broadcast layer, which has no flows to names; name a unicast layer", t.Name, t.Layer)
		return false
	}
	ok := true
	for _, e := range t.Ends() {
		if e.Node != "" && !b.isMember(ly, e.Node) {
			b.errorf(rt.layer.pos, "tunnel %s: gateway %s is not a member of layer %s; add it to the layer's members", t.Name, e.Node, t.Layer)
			ok = false
		}
	}
	return ok
}

// subnets are a gateway's subnets on its LAN interface: its addresses,
// masked.
func (b *builder) subnets(e *TunnelEnd) []netip.Prefix {
	var l []netip.Prefix
	for _, a := range b.nodes[e.Node].Addrs[e.Iface] {
		if p := a.Masked(); !slices.Contains(l, p) {
			l = append(l, p)
		}
	}
	return l
}

// tunRoutes gives a tun tunnel's devices the i-th addresses of the pools,
// routes each LAN's subnets (its gateway's) through the far device, and
// routes the hosts of each LAN to the far subnets through their gateway.
func (b *builder) tunRoutes(t *Tunnel, rt rawTunnel, i int) bool {
	s, c := &t.Server, &t.Client
	ss, cs := b.subnets(s), b.subnets(c)
	ok := true
	for _, x := range []struct {
		e   *TunnelEnd
		sub []netip.Prefix
		at  pos
	}{{s, ss, rt.server.node.pos}, {c, cs, rt.client.node.pos}} {
		if len(x.sub) == 0 {
			b.errorf(x.at, "tunnel %s (tun) routes between subnets, and gateway %s has no address on %s; add ip: {%s: [10.1.0.1/24]} to %s (or write mode: tap)", t.Name, x.e.Node, x.e.LAN, x.e.Iface, x.e.Node)
			ok = false
		}
	}
	if !ok {
		return false
	}
	for _, p := range ss {
		for _, q := range cs {
			if p.Overlaps(q) {
				b.errorf(rt.client.lan.pos, "tunnel %s (tun) routes between the LANs, and %s on %s overlaps %s on %s; give the LANs different subnets, or write mode: tap", t.Name, q, c.LAN, p, s.LAN)
				return false
			}
		}
	}
	s.Addrs, c.Addrs = tunAddrs(i)
	s.Routes, c.Routes = cs, ss
	b.hostRoutes(s, cs)
	b.hostRoutes(c, ss)
	return true
}

// hostRoutes routes the hosts on e's LAN to far through e's gateway, each
// family through the gateway's address of that family, unless the file
// routes that prefix already.
func (b *builder) hostRoutes(e *TunnelEnd, far []netip.Prefix) {
	gw := b.nodes[e.Node].Addrs[e.Iface]
	for _, l := range b.t.Links {
		if l.Type != LinkBridge || l.Bridge != e.LAN {
			continue
		}
		for _, ep := range l.Endpoints {
			h := b.nodes[ep.Node]
			if h == nil || h.Kind != KindHost {
				continue
			}
		far:
			for _, p := range far {
				for _, r := range h.Routes {
					if r.To == p {
						continue far
					}
				}
				for _, g := range gw {
					if g.Addr().Is4() != p.Addr().Is4() || !hasFamilyOn(h.Addrs[ep.Iface], g) {
						continue
					}
					h.Routes = append(h.Routes, Route{To: p, Via: g.Addr(), Implied: true})
					break
				}
			}
		}
	}
}

// hasFamilyOn tells whether one of addrs is on g's subnet.
func hasFamilyOn(addrs []netip.Prefix, g netip.Prefix) bool {
	for _, a := range addrs {
		if g.Masked().Contains(a.Addr()) {
			return true
		}
	}
	return false
}

// tunAddrs are the server's and the client's device addresses of the
// i-th tunnel: .1 and .2 of its /30, ::1 and ::2 of its /64.
func tunAddrs(i int) (srv, cli []netip.Prefix) {
	a := tun4Pool.Addr().As4()
	base := binary.BigEndian.Uint32(a[:]) + uint32(i%(1<<14))*4
	v4 := func(k uint32) netip.Prefix {
		var x [4]byte
		binary.BigEndian.PutUint32(x[:], base+k)
		return netip.PrefixFrom(netip.AddrFrom4(x), 30)
	}
	a6 := tun6Pool.Addr().As16()
	binary.BigEndian.PutUint16(a6[6:8], uint16(i))
	v6 := func(k byte) netip.Prefix {
		x := a6
		x[15] = k
		return netip.PrefixFrom(netip.AddrFrom16(x), 64)
	}
	return []netip.Prefix{v4(1), v6(1)}, []netip.Prefix{v4(2), v6(2)}
}
