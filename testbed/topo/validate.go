package topo

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var (
	nameRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	layerRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
)

// builder checks a rawFile and builds the Topology, reporting problems
// through the decoder.
type builder struct {
	*decoder
	t       *Topology
	nodes   map[string]*Node
	ifaces  map[string]map[string]int  // node -> interface -> line of its first link
	written map[string]map[string]bool // node -> every interface the file names on it
	byID    map[string]*Link           // both ways round for point-to-point links
	ids     []string                   // link IDs in file order, for suggestions
	layers  map[string]*Layer
	// carried: link ID -> layer type -> the layer of that type on it
	carried map[string]map[string]*Layer
	raw     map[string]rawLayer // unicast and broadcast layers as written
	suffix  map[string]int      // implied layer name -> the suffix it took last

	// Indexes, made when first asked for: each layer's members, and each
	// node's layers in Layers order (remade when Layers changes).
	memberOf map[*Layer]map[string]bool
	on       map[string][]*Layer
}

func newBuilder(d *decoder) *builder {
	return &builder{
		decoder:  d,
		t:        &Topology{File: d.file},
		nodes:    map[string]*Node{},
		ifaces:   map[string]map[string]int{},
		written:  map[string]map[string]bool{},
		byID:     map[string]*Link{},
		layers:   map[string]*Layer{},
		carried:  map[string]map[string]*Layer{},
		raw:      map[string]rawLayer{},
		suffix:   map[string]int{},
		memberOf: map[*Layer]map[string]bool{},
	}
}

// isMember tells whether node is a member of ly; ask only once ly's
// members are complete.
func (b *builder) isMember(ly *Layer, node string) bool {
	set := b.memberOf[ly]
	if set == nil {
		set = make(map[string]bool, len(ly.Members))
		for _, m := range ly.Members {
			set[m] = true
		}
		b.memberOf[ly] = set
	}
	return set[node]
}

// layersOn are the layers node is a member of, in Layers order
// (Topology.LayersOn, from an index).
func (b *builder) layersOn(node string) []*Layer {
	if b.on == nil {
		b.on = map[string][]*Layer{}
		for _, ly := range b.t.Layers {
			for _, m := range ly.Members {
				if on := b.on[m]; len(on) == 0 || on[len(on)-1] != ly {
					b.on[m] = append(on, ly)
				}
			}
		}
	}
	return b.on[node]
}

// layersChanged drops the index of layersOn, after Layers has changed.
func (b *builder) layersChanged() { b.on = nil }

func (b *builder) build(f *rawFile) *Topology {
	b.lab(f)
	b.nodesOf(f)
	b.hostsOf(f)
	b.linksOf(f)
	b.addresses()
	b.layersOf(f)
	b.implied()
	b.uppers()
	b.names(f)
	b.ipsOf(f)
	b.tunnelsOf(f)
	b.foreign(f)
	b.storyOf(f.story)
	return b.t
}

func (b *builder) lab(f *rawFile) {
	if !f.name.given() {
		b.errorf(pos{line: 1}, "no lab name; add name: <lab> (lower-case letters and digits, at most %d)", MaxLabName)
	} else {
		if err := CheckLabName(f.name.s); err != nil {
			b.errorf(f.name.pos, "%v", err)
		}
	}
	b.t.Name = f.name.s
	b.t.Runtime = RuntimeNetns
	switch b.runtimeOpt {
	case "":
	case RuntimeNetns, RuntimeDocker, RuntimeSwarm:
		b.t.Runtime = b.runtimeOpt
		return
	default:
		b.errorf(pos{line: 1}, "unknown runtime %q (--runtime); use netns, docker or swarm", b.runtimeOpt)
		return
	}
	switch rt := f.runtime; {
	case !rt.given() || rt.s == RuntimeNetns:
	case rt.s == RuntimeDocker, rt.s == RuntimeSwarm:
		b.t.Runtime = rt.s
	default:
		b.errorf(rt.pos, "unknown runtime %q; write runtime: netns, docker or swarm", rt.s)
	}
}

// checkName checks a lab or node name.
var labRe = regexp.MustCompile(`^[a-z0-9]+$`)

// CheckLabName says what is wrong with a lab name, if anything: it is the
// lab's id in every resource (namespaces o7s-<lab>-<node>), so it is short
// and has no '-'.
func CheckLabName(s string) error {
	switch {
	case nameRe.MatchString(s) && strings.Contains(s, "-"):
		return fmt.Errorf("lab name %q has a '-', which would make namespace names o7s-<lab>-<node> ambiguous between labs; write %q", s, strings.ReplaceAll(s, "-", ""))
	case !labRe.MatchString(s):
		return fmt.Errorf("lab name %q is not valid; use lower-case letters and digits, at most %d", s, MaxLabName)
	case len(s) > MaxLabName:
		return fmt.Errorf("lab name %q is %d characters long; shorten it to at most %d (namespaces are named o7s-<lab>-<node>)", s, len(s), MaxLabName)
	}
	return nil
}

func (b *builder) checkName(s scalar, what string, maxLen int) {
	switch {
	case !nameRe.MatchString(s.s):
		b.errorf(s.pos, "%s %q is not valid; use lower-case letters, digits and '-', starting with a letter or digit", what, s.s)
	case len(s.s) > maxLen:
		b.errorf(s.pos, "%s %q is %d characters long; shorten it to at most %d (namespaces are named o7s-<lab>-<node>)", what, s.s, len(s.s), maxLen)
	}
}

func (b *builder) nodesOf(f *rawFile) {
	if len(f.nodes) == 0 && !f.nodesBad {
		p := f.nodesAt
		if !p.given() {
			p = pos{line: 1}
		}
		b.errorf(p, "no nodes; add nodes: with at least one node, e.g. nodes: {a: {}, b: {}}")
	}
	for _, rn := range f.nodes {
		if b.stopped() {
			return
		}
		b.checkName(rn.name, "node name", MaxNodeName)
		kind := KindNode
		if rn.kind.given() {
			kind = rn.kind.s
		}
		switch kind {
		case KindNode, KindBridge, KindHost:
		default:
			b.errorf(rn.kind.pos, "unknown kind %q for node %s; write kind: node, bridge or host", kind, rn.name.s)
			kind = ""
		}
		if len(rn.names) > 0 && kind != KindNode && kind != "" {
			b.errorf(rn.namesAt, "node %s is a %s and runs no onode, so it registers no names; remove names:", rn.name.s, kind)
		}
		n := &Node{Name: rn.name.s, Kind: kind, Labels: rn.labels, Line: rn.name.line}
		b.runtime(n, rn)
		b.impl(n, rn)
		b.t.Nodes = append(b.t.Nodes, n)
		b.nodes[n.Name] = n
	}
}

func (b *builder) linksOf(f *rawFile) {
	for _, rl := range f.links { // every interface name, for suggestions
		for _, e := range rl.endpoints {
			if node, iface, ok := strings.Cut(e.s, ":"); ok {
				if b.written[node] == nil {
					b.written[node] = map[string]bool{}
				}
				b.written[node][iface] = true
			}
		}
	}
	bridges := map[string]int{}
	for _, rl := range f.links {
		if b.stopped() {
			return
		}
		l := b.link(rl)
		if l == nil || (l.Type == LinkBridge && l.Bridge == "") {
			continue
		}
		if l.Type == LinkBridge {
			if at, dup := bridges[l.Bridge]; dup {
				b.errorf(rl.bridge.pos, "bridge %s already has a link (line %d); put all its endpoints in that one link", l.Bridge, at)
				continue
			}
			bridges[l.Bridge] = l.Line
		}
		b.t.Links = append(b.t.Links, l)
		id := l.ID()
		b.ids = append(b.ids, id)
		b.byID[id] = l
		if len(l.Endpoints) == 2 && l.Type != LinkBridge {
			b.byID[reverseID(l)] = l
		}
	}
}

func reverseID(l *Link) string {
	e := l.Endpoints
	return e[1].Node + ":" + e[1].Iface + "--" + e[0].Node + ":" + e[0].Iface
}

// link checks one link. It returns nil when the link cannot be named (its
// endpoints are broken), so that layers naming it are not checked against it.
func (b *builder) link(rl rawLink) *Link {
	l := &Link{Type: LinkVeth, Line: rl.at.line}
	if rl.typ.given() {
		l.Type = rl.typ.s
	}
	switch l.Type {
	case LinkVeth, LinkBridge, LinkUDP:
	default:
		b.errorf(rl.typ.pos, "unknown link type %q; write type: veth, bridge or udp", l.Type)
		l.Type = ""
	}
	b.family(rl, l)
	if rl.bridge.given() && l.Type != LinkBridge && l.Type != "" {
		b.errorf(rl.bridge.pos, "bridge is only for bridge links; remove it, or write type: bridge")
	}
	if l.Type == LinkBridge {
		b.bridge(rl, l)
	}
	b.mtu(rl, l)
	eps, ok := b.endpoints(rl, l)
	if !ok {
		b.impairValues(rl) // still report what is wrong with them
		return nil
	}
	l.Endpoints = eps
	b.impair(rl, l)
	return l
}

func (b *builder) family(rl rawLink, l *Link) {
	f := rl.family
	if f.given() && l.Type != LinkUDP && l.Type != "" {
		b.errorf(f.pos, "family is only for udp links; remove it, or write type: udp")
		return
	}
	if l.Type != LinkUDP {
		return
	}
	l.Family = FamilyIPv4
	if !f.given() {
		return
	}
	l.Family = f.s
	if f.s != FamilyIPv4 && f.s != FamilyIPv6 {
		b.errorf(f.pos, "unknown family %q; write family: ipv4 or ipv6", f.s)
		l.Family = ""
	}
}

func (b *builder) bridge(rl rawLink, l *Link) {
	br := rl.bridge
	if !br.given() {
		b.errorf(rl.at, "a bridge link needs its bridge; add bridge: <name of a node of kind bridge>")
		return
	}
	l.Bridge = br.s
	switch n := b.nodes[br.s]; {
	case n == nil:
		b.errorf(br.pos, "bridge %q is not a node; declare it under nodes: as %s: {kind: bridge}", br.s, br.s)
	case n.Kind != KindBridge && n.Kind != "":
		b.errorf(br.pos, "%s is a node of kind %s, not a bridge; declare it as %s: {kind: bridge}, or name a bridge node", br.s, n.Kind, br.s)
	}
}

func (b *builder) mtu(rl rawLink, l *Link) {
	if !rl.mtu.given() {
		return
	}
	v, err := strconv.Atoi(rl.mtu.s)
	switch {
	case err != nil || v < MinMTU || v > MaxMTU:
		b.errorf(rl.mtu.pos, "mtu %s is out of range; write an mtu from %d to %d", rl.mtu.s, MinMTU, MaxMTU)
	case l.Family == FamilyIPv6 && v < MinMTUIPv6:
		b.errorf(rl.mtu.pos, "mtu %d is too small for ipv6, which needs at least %d; write mtu: %d or more", v, MinMTUIPv6, MinMTUIPv6)
	default:
		l.MTU = v
	}
}

// endpoints checks a link's endpoints; ok is false when they cannot make
// the link (too many or too few, or one is not node:interface).
func (b *builder) endpoints(rl rawLink, l *Link) (eps []Endpoint, ok bool) {
	ok = true
	on := make(map[string]bool, len(rl.endpoints)) // nodes of the endpoints before
	for i, s := range rl.endpoints {
		e, good := b.endpoint(s, l.Type)
		if !good {
			ok = false
			continue
		}
		if on[e.Node] && b.nodes[e.Node] != nil {
			if l.Type == LinkBridge {
				b.errorf(s.pos, "node %s is on bridge %s twice; give it one endpoint", e.Node, l.Bridge)
			} else {
				b.errorf(s.pos, "link connects node %s to itself; connect two different nodes", e.Node)
			}
		}
		on[e.Node] = true
		b.claim(s, e, l, i)
		eps = append(eps, e)
	}
	n := len(rl.endpoints)
	switch {
	case rl.endpointsAt.given() && !rl.endpointsOK:
		return nil, false // reported by the decoder
	case !rl.endpointsAt.given():
		b.errorf(rl.at, "a link needs endpoints; add endpoints: [a:e1, b:e1]")
		return nil, false
	case l.Type == LinkBridge && n == 0:
		b.errorf(rl.endpointsAt, "a bridge link needs at least one endpoint; write endpoints: [a:e1, b:e1]")
		return nil, false
	case l.Type != LinkBridge && n != 2:
		t := l.Type
		if t == "" {
			t = "point-to-point"
		}
		b.errorf(rl.endpointsAt, "a %s link has exactly 2 endpoints, not %d; write endpoints: [a:e1, b:e1], or join more with a bridge", t, n)
		return nil, false
	}
	return eps, ok
}

// endpoint checks one node:interface.
func (b *builder) endpoint(s scalar, typ string) (Endpoint, bool) {
	node, iface, found := strings.Cut(s.s, ":")
	switch {
	case !found && s.s != "":
		b.errorf(s.pos, "endpoint %q has no interface; write node:interface, e.g. %s:e1", s.s, s.s)
		return Endpoint{}, false
	case node == "":
		b.errorf(s.pos, "endpoint %q has no node; write node:interface, e.g. a:e1", s.s)
		return Endpoint{}, false
	}
	n := b.nodes[node]
	switch {
	case n == nil && b.skip():
	case n == nil:
		hint := "declare it under nodes: or fix the name"
		if sg := suggest(node, b.nodeNames()); sg != "" {
			hint = fmt.Sprintf("did you mean %s:%s?", sg, iface)
		}
		b.errorf(s.pos, "dangling endpoint %q: there is no node %s; %s", s.s, node, hint)
	case n.Kind == KindBridge && typ == LinkBridge:
		b.errorf(s.pos, "endpoint %q is on the bridge itself; list the nodes on bridge %s, e.g. [a:e1, b:e1]", s.s, node)
	case n.Kind == KindBridge && typ != "":
		b.errorf(s.pos, "endpoint %q is on bridge %s, which only bridge links join; write {type: bridge, bridge: %s, endpoints: [a:e1, b:e1]}", s.s, node, node)
	case n.Kind == KindHost && typ == LinkUDP:
		b.errorf(s.pos, "endpoint %q is on host %s, which runs no onode for a udp layer; connect a host with a veth or bridge link", s.s, node)
	}
	if why := ifaceProblem(iface); why != "" && !b.skip() {
		b.errorf(s.pos, "interface name %q %s; write a short name such as %s:%s", iface, why, node, b.freeIface(node, typ))
	}
	return Endpoint{Node: node, Iface: iface}, true
}

// claim records that a link uses an interface, reporting a second use.
func (b *builder) claim(s scalar, e Endpoint, l *Link, i int) {
	if b.nodes[e.Node] == nil || ifaceProblem(e.Iface) != "" {
		return
	}
	used := b.ifaces[e.Node]
	if used == nil {
		used = map[string]int{}
		b.ifaces[e.Node] = used
	}
	if at, dup := used[e.Iface]; dup {
		if !b.skip() {
			b.errorf(s.pos, "interface %s:%s is already used by the link at line %d; use another interface, e.g. %s:%s",
				e.Node, e.Iface, at, e.Node, b.freeIface(e.Node, l.Type))
		}
		return
	}
	used[e.Iface] = l.Line
}

// ifaceProblem says what is wrong with an interface name, as the kernel's
// dev_valid_name sees it (plus lo, which every namespace has already).
func ifaceProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > MaxIfaceName:
		return fmt.Sprintf("is %d bytes long and the kernel allows at most %d", len(s), MaxIfaceName)
	case s == "." || s == "..":
		return "is reserved"
	case s == "lo":
		return "is the namespace's loopback"
	}
	for _, r := range s {
		if r == '/' || r == ':' || unicode.IsSpace(r) {
			return fmt.Sprintf("contains %q, which the kernel does not allow", r)
		}
	}
	return ""
}

// freeIface is an interface name that no endpoint of node uses: e<n> (u<n>
// on udp links) with the smallest n.
func (b *builder) freeIface(node, typ string) string {
	prefix := "e"
	if typ == LinkUDP {
		prefix = "u"
	}
	for i := 1; ; i++ {
		s := prefix + strconv.Itoa(i)
		if !b.written[node][s] {
			return s
		}
	}
}

func (b *builder) nodeNames() []string {
	names := make([]string, len(b.t.Nodes))
	for i, n := range b.t.Nodes {
		names[i] = n.Name
	}
	return names
}
