package topo

import (
	"fmt"
	"slices"
	"strings"
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
	nb := ly.neighbours()
	if order, _ := bfs(ly.Members, nb); len(order) < len(ly.Members) {
		b.disconnected(rl, ly, order)
		return
	}
	manual := ly.Adjacencies
	adj := nb
	if ly.Enrollment == StrategyManual {
		adj = pairsGraph(ly.Members, manual)
	}
	order, parent := bfs(ly.Members, adj)
	if len(order) < len(ly.Members) {
		b.apart(rl, ly, order, "enrollment")
		return
	}
	var tree [][2]string
	for _, m := range order[1:] {
		tree = append(tree, [2]string{m, parent[m]})
	}
	relation := map[string][][2]string{StrategyMinimal: tree, StrategyFullMesh: edges(ly.Members, nb), StrategyManual: manual}
	conn := relation[ly.Connect]
	if ly.Connect == StrategyMinimal {
		conn = relation[ly.Enrollment]
	}
	if ly.Connect == StrategyManual && ly.Enrollment != StrategyManual {
		if o, _ := bfs(ly.Members, pairsGraph(ly.Members, manual)); len(o) < len(ly.Members) {
			b.apart(rl, ly, o, "connect")
			return
		}
	}
	if ly.Type == LayerBroadcast && !b.tree(rl, ly, conn) {
		return
	}
	ly.Steps = steps(order, parent, conn)
}

// neighbours maps each member to the members it shares a lower layer
// with, in member order.
func (ly *Layer) neighbours() map[string][]string {
	nb := map[string][]string{}
	for _, x := range ly.Members {
		for _, y := range ly.Members {
			if x != y && len(ly.shared(x, y)) > 0 {
				nb[x] = append(nb[x], y)
			}
		}
	}
	return nb
}

// pairsGraph is the graph of a list of pairs, neighbours in member order.
func pairsGraph(members []string, pairs [][2]string) map[string][]string {
	g := map[string][]string{}
	for _, x := range members {
		for _, y := range members {
			if slices.Contains(pairs, [2]string{x, y}) || slices.Contains(pairs, [2]string{y, x}) {
				g[x] = append(g[x], y)
			}
		}
	}
	return g
}

// edges lists each edge of g once, as {later, earlier} in member order.
func edges(members []string, g map[string][]string) [][2]string {
	var e [][2]string
	for i, x := range members {
		for _, y := range g[x] {
			if slices.Index(members, y) < i {
				e = append(e, [2]string{x, y})
			}
		}
	}
	return e
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
// enrolled before it that it connects to (its parent first).
func steps(order []string, parent map[string]string, conn [][2]string) []EnrollStep {
	st := make([]EnrollStep, 0, len(order))
	for i, m := range order {
		s := EnrollStep{Node: m, Via: parent[m]}
		if s.Via != "" && joined(conn, m, s.Via) {
			s.Connect = append(s.Connect, s.Via)
		}
		for _, e := range order[:i] {
			if e != s.Via && joined(conn, m, e) {
				s.Connect = append(s.Connect, e)
			}
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
	var apart []string
	for _, m := range ly.Members {
		if !slices.Contains(reached, m) {
			apart = append(apart, m)
		}
	}
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
		who, strings.Join(apart, ", "), ly.Name, verb, strings.Join(reached, ", "), ly.Members[0], hint)
}

// oneOf writes "a" or "one of a, b".
func oneOf(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return "one of " + strings.Join(s, ", ")
}

// bridgeLayer finds a layer, other than ly, with a member of apart and a
// member of reached in it.
func (b *builder) bridgeLayer(ly *Layer, apart, reached []string) (layer, with string) {
	for _, x := range apart {
		for _, l := range b.lowerCandidates(ly, x) {
			for _, y := range reached {
				if slices.Contains(b.layers[l].Members, y) {
					return l, y
				}
			}
		}
	}
	return "", ""
}

// apart reports manual adjacencies that leave members apart.
func (b *builder) apart(rl rawLayer, ly *Layer, reached []string, key string) {
	var apart []string
	for _, m := range ly.Members {
		if !slices.Contains(reached, m) {
			apart = append(apart, m)
		}
	}
	hint := "add adjacencies that join them"
	if x, y, ok := ly.bridgingPair(apart, reached); ok {
		hint = fmt.Sprintf("add [%s, %s]", y, x)
	}
	b.errorf(rl.adjacenciesAt, "the adjacencies of layer %s (%s: manual) leave %s apart from %s; %s",
		ly.Name, key, strings.Join(apart, ", "), strings.Join(reached, ", "), hint)
}

// bridgingPair finds a member of apart and one of reached that share a
// lower layer.
func (ly *Layer) bridgingPair(apart, reached []string) (x, y string, ok bool) {
	for _, x := range apart {
		for _, y := range reached {
			if len(ly.shared(x, y)) > 0 {
				return x, y, true
			}
		}
	}
	return "", "", false
}

// tree reports a broadcast layer whose adjacencies have a loop.
func (b *builder) tree(rl rawLayer, ly *Layer, conn [][2]string) bool {
	g := map[string][]string{}
	for _, e := range conn {
		x, y := e[0], e[1]
		if path := findPath(g, y, x); path != nil {
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
				ly.Name, strings.Join(append(path, y), " – "))
			return false
		}
		g[x] = append(g[x], y)
		g[y] = append(g[y], x)
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
