package topo

import (
	"fmt"
	"slices"
)

// plan works out how a checked upper layer comes up and sets ly.Steps:
//
//   - the neighbours of a member are the members it shares a lower layer
//     with; every member must be reachable from the bootstrapper (the
//     first member) through neighbours;
//   - the enrollment relation is the breadth-first tree from the
//     bootstrapper over neighbours (minimal), every pair of neighbours
//     (full-mesh), or the adjacencies (manual);
//   - members enroll in breadth-first order over that relation, each
//     through its parent: the member, enrolled before it, that reached it
//     first;
//   - adjacencies (management and data transfer) follow the enrollment
//     relation (connect: minimal), join every pair of neighbours
//     (full-mesh), or are the adjacencies (manual); each is made by the
//     member enrolled later, right after it enrolls;
//   - a broadcast layer's adjacencies must form a tree: it forwards
//     without loop protection.
func (b *builder) plan(rl rawLayer, ly *Layer) {
	g := newMemberGraph(ly, b.stopped)
	order, parent := g.bfsShared()
	if b.stopped() {
		return
	}
	if len(order) < len(ly.Members) {
		b.disconnected(rl, ly, order)
		return
	}
	manual := ly.Adjacencies
	if ly.Enrollment == StrategyManual {
		order, parent = bfs(ly.Members, g.pairs(manual))
		if len(order) < len(ly.Members) {
			b.apart(rl, ly, order, "enrollment")
			return
		}
	}
	relation := func(strategy string) [][2]string {
		switch strategy {
		case StrategyMinimal:
			tree := make([][2]string, 0, len(order)-1)
			for _, m := range order[1:] {
				tree = append(tree, [2]string{m, parent[m]})
			}
			return tree
		case StrategyFullMesh:
			return g.sharedEdges()
		}
		return manual
	}
	conn := relation(ly.Connect)
	if ly.Connect == StrategyMinimal {
		conn = relation(ly.Enrollment)
	}
	if ly.Connect == StrategyManual && ly.Enrollment != StrategyManual {
		if o, _ := bfs(ly.Members, g.pairs(manual)); len(o) < len(ly.Members) {
			b.apart(rl, ly, o, "connect")
			return
		}
	}
	if b.stopped() || (ly.Type == LayerBroadcast && !b.tree(rl, ly, conn)) {
		return
	}
	ly.Steps = steps(order, parent, conn, b.stopped)
}

// memberGraph indexes an upper layer's members, and which members list
// each lower layer, so that its graphs are made in time linear in the
// layer (and in the edges, for full-mesh) rather than by asking every
// pair of members whether they share a lower layer.
type memberGraph struct {
	ly      *Layer
	index   map[string]int   // member -> its place in Members
	listing map[string][]int // lower layer -> the members that list it, in order
	stopped func() bool      // asked once a member: true ends a walk early
}

func newMemberGraph(ly *Layer, stopped func() bool) *memberGraph {
	g := &memberGraph{ly: ly, index: make(map[string]int, len(ly.Members)), listing: map[string][]int{}, stopped: stopped}
	for i, m := range ly.Members {
		g.index[m] = i
		for _, l := range ly.Lower[m] {
			g.listing[l] = append(g.listing[l], i)
		}
	}
	return g
}

// bfsShared is bfs over the members that share a lower layer (each one's
// neighbours in member order), without listing the neighbours: a lower
// layer gone through once has had all its members reached.
func (g *memberGraph) bfsShared() (order []string, parent map[string]string) {
	members := g.ly.Members
	if len(members) == 0 {
		return nil, nil
	}
	parent = map[string]string{}
	seen := make([]bool, len(members))
	seen[0] = true
	done := map[string]bool{} // lower layers gone through
	order = []string{members[0]}
	var next []int
	for i := 0; i < len(order) && !g.stopped(); i++ {
		x := order[i]
		next = next[:0]
		for _, l := range g.ly.Lower[x] {
			if done[l] {
				continue
			}
			done[l] = true
			for _, j := range g.listing[l] {
				if !seen[j] {
					seen[j] = true
					next = append(next, j)
				}
			}
		}
		slices.Sort(next)
		for _, j := range next {
			parent[members[j]] = x
			order = append(order, members[j])
		}
	}
	return order, parent
}

// sharedEdges lists each pair of members that share a lower layer once,
// as {later, earlier} in member order: for each member, those before it
// in member order.
func (g *memberGraph) sharedEdges() [][2]string {
	var e [][2]string
	var before []int
	for i, x := range g.ly.Members {
		if g.stopped() {
			return nil
		}
		before = before[:0]
		for _, l := range g.ly.Lower[x] {
			for _, j := range g.listing[l] {
				if j >= i {
					break // listing is in member order
				}
				before = append(before, j)
			}
		}
		slices.Sort(before)
		for k, j := range before {
			if k == 0 || j != before[k-1] {
				e = append(e, [2]string{x, g.ly.Members[j]})
			}
		}
	}
	return e
}

// pairs is the graph of a list of pairs of members, neighbours in member
// order.
func (g *memberGraph) pairs(pairs [][2]string) map[string][]string {
	adj := map[string][]int{}
	for _, p := range pairs {
		x, y := g.index[p[0]], g.index[p[1]]
		adj[p[0]] = append(adj[p[0]], y)
		adj[p[1]] = append(adj[p[1]], x)
	}
	nb := make(map[string][]string, len(adj))
	for x, ys := range adj {
		slices.Sort(ys)
		for _, j := range slices.Compact(ys) {
			nb[x] = append(nb[x], g.ly.Members[j])
		}
	}
	return nb
}

// bfs walks g breadth first from the first member: the members reached,
// in order, and the member each was reached from.
func bfs(members []string, g map[string][]string) (order []string, parent map[string]string) {
	if len(members) == 0 {
		return nil, nil
	}
	parent = map[string]string{}
	seen := map[string]bool{members[0]: true}
	order = []string{members[0]}
	for i := 0; i < len(order); i++ {
		for _, y := range g[order[i]] {
			if !seen[y] {
				seen[y] = true
				parent[y] = order[i]
				order = append(order, y)
			}
		}
	}
	return order, parent
}

// steps lists the members in enrollment order, each with the members
// enrolled before it that it connects to (its parent first, then in
// enrollment order); it gives up (nil) once stopped says so.
func steps(order []string, parent map[string]string, conn [][2]string, stopped func() bool) []EnrollStep {
	at := make(map[string]int, len(order)) // place in the enrollment order
	for i, m := range order {
		at[m] = i
	}
	joined := map[string][]int{} // member -> the places of those it connects to
	for _, p := range conn {
		joined[p[0]] = append(joined[p[0]], at[p[1]])
		joined[p[1]] = append(joined[p[1]], at[p[0]])
	}
	st := make([]EnrollStep, 0, len(order))
	for i, m := range order {
		if stopped() {
			return nil
		}
		s := EnrollStep{Node: m, Via: parent[m]}
		var earlier []int
		viaJoined := false
		for _, j := range joined[m] {
			switch {
			case j >= i:
			case order[j] == s.Via:
				viaJoined = true
			default:
				earlier = append(earlier, j)
			}
		}
		if s.Via != "" && viaJoined {
			s.Connect = append(s.Connect, s.Via)
		}
		slices.Sort(earlier)
		for _, j := range slices.Compact(earlier) {
			s.Connect = append(s.Connect, order[j])
		}
		st = append(st, s)
	}
	return st
}

func joined(pairs [][2]string, x, y string) bool {
	return slices.Contains(pairs, [2]string{x, y}) || slices.Contains(pairs, [2]string{y, x})
}

// disconnected reports members that share no lower layer, directly or
// through others, with the bootstrapper.
func (b *builder) disconnected(rl rawLayer, ly *Layer, reached []string) {
	if b.skip() {
		return
	}
	apart := others(ly.Members, reached)
	hint := fmt.Sprintf("link %s to %s and list the link's layer under lower: for both", apart[0], oneOf(reached))
	if l, y := b.bridgeLayer(ly, apart, reached); l != "" {
		hint = fmt.Sprintf("add %s, which %s and %s are both in, to their lower layers", l, apart[0], y)
	}
	at := rl.lowerAt
	for _, lw := range rl.lower {
		if lw.member.s == apart[0] {
			at = lw.member.pos
		}
	}
	who, verb := "members", "share"
	if len(apart) == 1 {
		who, verb = "member", "shares"
	}
	b.errorf(at, "%s %s of layer %s %s no lower layer with %s, which the bootstrapper %s reaches; %s",
		who, listed(apart, ", "), ly.Name, verb, listed(reached, ", "), ly.Members[0], hint)
}

// others are the members not in reached, in member order.
func others(members, reached []string) []string {
	in := make(map[string]bool, len(reached))
	for _, m := range reached {
		in[m] = true
	}
	var o []string
	for _, m := range members {
		if !in[m] {
			o = append(o, m)
		}
	}
	return o
}

// oneOf writes "a" or "one of a, b".
func oneOf(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return "one of " + listed(s, ", ")
}

// bridgeLayer finds a layer, other than ly, with a member of apart and a
// member of reached in it: the first such layer of the first member of
// apart that has one, with its first member in reached.
func (b *builder) bridgeLayer(ly *Layer, apart, reached []string) (layer, with string) {
	rank := make(map[string]int, len(reached))
	for i, y := range reached {
		rank[y] = i
	}
	first := map[string]int{} // layer -> rank of its first member in reached; -1: none
	for _, x := range apart {
		for _, l := range b.lowerCandidates(ly, x) {
			k, ok := first[l]
			if !ok {
				k = -1
				for _, m := range b.layers[l].Members {
					if r, ok := rank[m]; ok && (k < 0 || r < k) {
						k = r
					}
				}
				first[l] = k
			}
			if k >= 0 {
				return l, reached[k]
			}
		}
	}
	return "", ""
}

// apart reports manual adjacencies that leave members apart.
func (b *builder) apart(rl rawLayer, ly *Layer, reached []string, key string) {
	if b.skip() {
		return
	}
	apart := others(ly.Members, reached)
	hint := "add adjacencies that join them"
	if x, y, ok := ly.bridgingPair(apart, reached); ok {
		hint = fmt.Sprintf("add [%s, %s]", y, x)
	}
	b.errorf(rl.adjacenciesAt, "the adjacencies of layer %s (%s: manual) leave %s apart from %s; %s",
		ly.Name, key, listed(apart, ", "), listed(reached, ", "), hint)
}

// bridgingPair finds a member of apart and one of reached that share a
// lower layer: the first of apart that shares one with any of reached,
// and the first of reached it shares one with.
func (ly *Layer) bridgingPair(apart, reached []string) (x, y string, ok bool) {
	first := map[string]int{} // lower layer -> the first of reached to list it
	for i, y := range reached {
		for _, l := range ly.Lower[y] {
			if _, ok := first[l]; !ok {
				first[l] = i
			}
		}
	}
	for _, x := range apart {
		k := -1
		for _, l := range ly.Lower[x] {
			if i, ok := first[l]; ok && (k < 0 || i < k) {
				k = i
			}
		}
		if k >= 0 {
			return x, reached[k], true
		}
	}
	return "", "", false
}

// tree reports a broadcast layer whose adjacencies have a loop: the first
// adjacency that joins members already joined through those before it.
func (b *builder) tree(rl rawLayer, ly *Layer, conn [][2]string) bool {
	g := map[string][]string{}
	up := map[string]string{} // union-find over the members joined so far; "" at a root
	find := func(x string) string {
		for up[x] != "" {
			if r := up[up[x]]; r != "" {
				up[x] = r // halve the path
			}
			x = up[x]
		}
		return x
	}
	for _, e := range conn {
		x, y := e[0], e[1]
		rx, ry := find(x), find(y)
		if rx != ry {
			up[rx] = ry
			g[x] = append(g[x], y)
			g[y] = append(g[y], x)
			continue
		}
		if b.skip() {
			return false
		}
		path := findPath(g, y, x)
		at := rl.connect.pos
		if !at.given() {
			at = rl.enrollment.pos
		}
		if ly.Connect == StrategyManual || (ly.Connect == StrategyMinimal && ly.Enrollment == StrategyManual) {
			if i := slices.IndexFunc(rl.adjacencies, func(p []scalar) bool { return joined([][2]string{{p[0].s, p[1].s}}, x, y) }); i >= 0 {
				at = rl.adjacencyAt[i]
			}
		}
		if !at.given() {
			at = rl.name.pos
		}
		b.errorf(at, "the adjacencies of broadcast layer %s form a loop (%s); a broadcast layer forwards without loop protection, so they must form a tree: write connect: minimal, or manual adjacencies without a loop",
			ly.Name, listed(append(path, y), " – "))
		return false
	}
	return true
}

// findPath is a path from x to y in g, or nil.
func findPath(g map[string][]string, x, y string) []string {
	prev := map[string]string{x: ""}
	queue := []string{x}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == y {
			var p []string
			for ; n != ""; n = prev[n] {
				p = append(p, n)
			}
			slices.Reverse(p)
			return p
		}
		for _, m := range g[n] {
			if _, ok := prev[m]; !ok {
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return nil
}
