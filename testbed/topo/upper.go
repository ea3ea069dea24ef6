package topo

import (
	"fmt"
	"slices"
	"strings"
)

// Unicast and broadcast layers ("upper" layers) run over lower layers.
// uppers checks them in three passes: members first (a lower layer's
// members must be known to check a member is in it), then lower layers,
// strategies and policies; then it puts the layers in dependency order
// (finding cycles) and plans how each layer comes up.
func (b *builder) uppers() {
	var ups []*Layer
	for _, ly := range b.t.Layers {
		if ly.Upper() {
			ups = append(ups, ly)
		}
	}
	if len(ups) == 0 {
		return
	}
	clean := map[*Layer]bool{}
	for _, ly := range ups {
		n := b.problems()
		b.upperMembers(b.raw[ly.Name], ly)
		clean[ly] = b.problems() == n && len(ly.Members) > 0
	}
	b.layersChanged() // their members are known now
	for _, ly := range ups {
		n := b.problems()
		rl := b.raw[ly.Name]
		b.upperLower(rl, ly)
		b.strategies(rl, ly)
		b.policiesOf(rl, ly)
		clean[ly] = clean[ly] && b.problems() == n
	}
	if b.stopped() {
		return
	}
	b.order(ups)
	for _, ly := range ups {
		if clean[ly] && !b.stopped() {
			b.plan(b.raw[ly.Name], ly)
			b.checkTTL(b.raw[ly.Name], ly)
		}
	}
}

func (b *builder) upperMembers(rl rawLayer, ly *Layer) {
	if len(rl.members) == 0 {
		switch {
		case !rl.membersAt.given():
			b.errorf(rl.name.pos, "layer %s has no members; add members: [a, b], the nodes with an IPCP in it (the first bootstraps the layer)", ly.Name)
		case !rl.membersBad:
			b.errorf(rl.membersAt, "layer %s has no members; list the nodes with an IPCP in it, e.g. members: [a, b]", ly.Name)
		}
		return
	}
	seen := map[string]bool{}
	for _, m := range rl.members {
		if b.stopped() {
			return
		}
		n := b.nodes[m.s]
		switch {
		case seen[m.s]:
			b.errorf(m.pos, "member %s is listed twice in layer %s; list it once", m.s, ly.Name)
		case n == nil && b.skip():
		case n == nil:
			hint := "declare it under nodes: or fix the name"
			if s := suggest(m.s, b.nodeNames()); s != "" {
				hint = fmt.Sprintf("did you mean %s?", s)
			}
			b.errorf(m.pos, "layer %s has member %q, which is not a node; %s", ly.Name, m.s, hint)
		case n.Kind != KindNode && n.Kind != "":
			b.errorf(m.pos, "member %s of layer %s is a %s and runs no onode; remove it from members:", m.s, ly.Name, n.Kind)
		default:
			ly.Members = append(ly.Members, m.s)
		}
		seen[m.s] = true
	}
}

// upperLower checks and sets each member's lower layers.
func (b *builder) upperLower(rl rawLayer, ly *Layer) {
	ly.Lower = map[string][]string{}
	if len(rl.members) == 0 {
		return // reported; lower: cannot be checked against nothing
	}
	written := map[string]bool{}
	for _, m := range rl.members {
		written[m.s] = true
	}
	for _, lw := range rl.lower {
		if b.stopped() {
			return
		}
		m := lw.member
		if !written[m.s] {
			b.errorf(m.pos, "lower names %s, which is not a member of layer %s; add %s to members:, or remove it from lower:", m.s, ly.Name, m.s)
			continue
		}
		var list []string
		before := map[string]bool{}
		for _, s := range lw.layers {
			if b.lowerLayer(ly, m.s, s, before) {
				list = append(list, s.s)
				before[s.s] = true
			}
		}
		if len(lw.layers) == 0 && len(rl.members) > 1 && !b.skip() {
			b.errorf(m.pos, "member %s of layer %s has no lower layers; %s", m.s, ly.Name, b.lowerHint(ly, m.s))
		}
		ly.Lower[m.s] = list
	}
	if len(ly.Members) < 2 {
		return
	}
	if !rl.lowerAt.given() {
		if b.skip() {
			return
		}
		var eg []string
		for _, m := range ly.Members[:2] {
			eg = append(eg, m+": ["+listed(b.lowerCandidates(ly, m), ", ")+"]")
		}
		b.errorf(rl.name.pos, "layer %s has no lower layers; add lower: with the layers each member reaches the others through, e.g. lower: {%s}", ly.Name, strings.Join(eg, ", "))
		return
	}
	lowered := map[string]bool{}
	for _, lw := range rl.lower {
		lowered[lw.member.s] = true
	}
	for _, m := range rl.members {
		if !lowered[m.s] && b.isMember(ly, m.s) && !b.skip() {
			b.errorf(m.pos, "member %s of layer %s has no lower layers; %s", m.s, ly.Name, b.lowerHint(ly, m.s))
		}
	}
}

// lowerLayer checks one lower layer of member in ly; before are the good
// ones listed before it.
func (b *builder) lowerLayer(ly *Layer, member string, s scalar, before map[string]bool) bool {
	lo := b.layers[s.s]
	switch {
	case s.s == ly.Name:
		b.errorf(s.pos, "layer %s cannot run over itself; remove %s from the lower layers of %s", ly.Name, s.s, member)
	case before[s.s]:
		b.errorf(s.pos, "lower layer %s is listed twice for %s; list it once", s.s, member)
	case lo == nil && b.skip():
	case lo == nil:
		hint := b.lowerHint(ly, member)
		if sg := suggest(s.s, b.lowerCandidates(ly, member)); sg != "" {
			hint = fmt.Sprintf("did you mean %s?", sg)
		}
		b.errorf(s.pos, "lower layer %q of %s in layer %s does not exist; %s", s.s, member, ly.Name, hint)
	case lo.Type == "":
		return false // its type is reported
	case lo.Type == LayerBroadcast:
		b.errorf(s.pos, "lower layer %s is a broadcast layer, which carries no flows to names; use a shim or unicast layer", s.s)
	case !b.isMember(lo, member) && b.skip():
	case !b.isMember(lo, member):
		b.errorf(s.pos, "%s is not a member of lower layer %s; %s", member, s.s, b.lowerHint(ly, member))
	default:
		return true
	}
	return false
}

// lowerCandidates are the layers member could run ly over: those it is a
// member of, other than ly and broadcast layers.
func (b *builder) lowerCandidates(ly *Layer, member string) []string {
	var c []string
	for _, l := range b.layersOn(member) {
		if l != ly && l.Type != LayerBroadcast && l.Type != "" {
			c = append(c, l.Name)
		}
	}
	return c
}

func (b *builder) lowerHint(ly *Layer, member string) string {
	c := b.lowerCandidates(ly, member)
	if len(c) == 0 {
		return fmt.Sprintf("%s is in no other layer: link it to another member and list that link's layer under lower:", member)
	}
	return fmt.Sprintf("write layers %s is in: %s", member, listed(c, ", "))
}

var strategies = []string{StrategyMinimal, StrategyFullMesh, StrategyManual}

// strategies checks enrollment, connect and adjacencies.
func (b *builder) strategies(rl rawLayer, ly *Layer) {
	ly.Enrollment = b.strategy(rl.enrollment, "enrollment")
	ly.Connect = b.strategy(rl.connect, "connect")
	manual := ly.Enrollment == StrategyManual || ly.Connect == StrategyManual
	switch {
	case manual && !rl.adjacenciesAt.given():
		at, key := rl.enrollment.pos, "enrollment"
		if ly.Connect == StrategyManual {
			at, key = rl.connect.pos, "connect"
		}
		b.errorf(at, "%s: manual needs the pairs of members to join; add adjacencies: [[a, b], [b, c]]", key)
		return
	case !manual && rl.adjacenciesAt.given():
		b.errorf(rl.adjacenciesAt, "adjacencies are for manual strategies; write enrollment: manual or connect: manual, or remove adjacencies:")
		return
	case !manual:
		return
	}
	seen := map[[2]string]bool{}
	lowers := lowerSets{ly: ly}
	for _, p := range rl.adjacencies {
		if b.stopped() {
			return
		}
		x, y := p[0], p[1]
		switch {
		case !b.isMember(ly, x.s):
			b.errorf(x.pos, "adjacency names %s, which is not a member of layer %s; write members of it: %s", x.s, ly.Name, listed(ly.Members, ", "))
		case !b.isMember(ly, y.s):
			b.errorf(y.pos, "adjacency names %s, which is not a member of layer %s; write members of it: %s", y.s, ly.Name, listed(ly.Members, ", "))
		case x.s == y.s:
			b.errorf(y.pos, "adjacency joins %s to itself; join two different members", x.s)
		case seen[[2]string{x.s, y.s}]:
			b.errorf(x.pos, "adjacency %s–%s is listed twice; list it once", x.s, y.s)
		case !lowers.share(x.s, y.s) && len(ly.Lower[x.s]) > 0 && len(ly.Lower[y.s]) > 0:
			b.errorf(x.pos, "members %s and %s of layer %s share no lower layer, so they cannot be adjacent; join members that do, or give both a layer they are in under lower:", x.s, y.s, ly.Name)
		default:
			ly.Adjacencies = append(ly.Adjacencies, [2]string{x.s, y.s})
		}
		seen[[2]string{x.s, y.s}], seen[[2]string{y.s, x.s}] = true, true
	}
}

func (b *builder) strategy(s scalar, key string) string {
	switch {
	case !s.given():
		return StrategyMinimal
	case slices.Contains(strategies, s.s):
		return s.s
	}
	hint := fmt.Sprintf("write %s: minimal, full-mesh or manual", key)
	if sg := suggest(s.s, strategies); sg != "" {
		hint = fmt.Sprintf("did you mean %s?", sg)
	}
	b.errorf(s.pos, "unknown %s strategy %q; %s", key, s.s, hint)
	return ""
}

// shared are the lower layers both members list, in x's order.
func (ly *Layer) shared(x, y string) []string {
	var s []string
	for _, l := range ly.Lower[x] {
		if slices.Contains(ly.Lower[y], l) {
			s = append(s, l)
		}
	}
	return s
}

// Shared are the lower layers through which members x and y of an upper
// layer reach each other: those both list, in x's order.
func (ly *Layer) Shared(x, y string) []string { return ly.shared(x, y) }

// lowerSets tells whether members of an upper layer share a lower layer,
// from a set of each one's lower layers made when first asked for: in
// O(the shorter list) rather than shared's O(the product of the lists).
type lowerSets struct {
	ly   *Layer
	sets map[string]map[string]bool
}

func (s *lowerSets) share(x, y string) bool {
	if len(s.ly.Lower[x]) > len(s.ly.Lower[y]) {
		x, y = y, x
	}
	if s.sets == nil {
		s.sets = map[string]map[string]bool{}
	}
	set := s.sets[y]
	if set == nil {
		set = make(map[string]bool, len(s.ly.Lower[y]))
		for _, l := range s.ly.Lower[y] {
			set[l] = true
		}
		s.sets[y] = set
	}
	for _, l := range s.ly.Lower[x] {
		if set[l] {
			return true
		}
	}
	return false
}

// order puts the layers in dependency order: shims first, as they are,
// then the upper layers, each after the layers it runs over and otherwise
// in file order. A cycle is reported and leaves the order as it is.
func (b *builder) order(ups []*Layer) {
	const (
		white = iota
		grey
		black
	)
	colour := map[*Layer]int{}
	var sorted, stack []*Layer
	cyclic := false
	var visit func(ly *Layer)
	visit = func(ly *Layer) {
		colour[ly] = grey
		stack = append(stack, ly)
		for _, name := range ly.lowerLayers() {
			lo := b.layers[name]
			if lo == nil || !lo.Upper() {
				continue
			}
			switch colour[lo] {
			case white:
				visit(lo)
			case grey:
				cyclic = true
				if !b.skip() {
					b.cycle(stack, lo)
				}
			}
		}
		stack = stack[:len(stack)-1]
		colour[ly] = black
		sorted = append(sorted, ly)
	}
	for _, ly := range ups {
		if colour[ly] == white {
			visit(ly)
		}
	}
	if cyclic {
		return
	}
	var layers []*Layer
	for _, ly := range b.t.Layers {
		if !ly.Upper() {
			layers = append(layers, ly)
		}
	}
	b.t.Layers = append(layers, sorted...)
	b.layersChanged()
}

// cycle reports the cycle that closes at lo, which is on the stack.
func (b *builder) cycle(stack []*Layer, lo *Layer) {
	i := slices.Index(stack, lo)
	var names []string
	for _, ly := range stack[i:] {
		names = append(names, ly.Name)
	}
	// Report it at the layer written first, so that a cycle found from
	// different starts reads the same.
	first := stack[i]
	for _, ly := range stack[i:] {
		if ly.Line < first.Line {
			first = ly
		}
	}
	k := slices.Index(names, first.Name)
	names = append(names[k:], names[:k]...)
	b.errorf(b.raw[first.Name].name.pos, "layers %s run over each other (%s); a layer cannot run over itself, directly or through others: remove %s from the lower layers of %s",
		listed(names, ", "), listed(append(names, names[0]), " → "), names[0], names[len(names)-1])
}

// lowerLayers are the layers any member of ly runs over, each once, in the
// order members and their lists give them.
func (ly *Layer) lowerLayers() []string {
	var l []string
	seen := map[string]bool{}
	for _, m := range ly.Members {
		for _, name := range ly.Lower[m] {
			if !seen[name] {
				l = append(l, name)
				seen[name] = true
			}
		}
	}
	return l
}

// LowerLayers are the layers an upper layer runs over (any member's), in
// the order the members and their lists give them.
func (ly *Layer) LowerLayers() []string { return ly.lowerLayers() }
