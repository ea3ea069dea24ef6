package topo

// exactDiameter is the largest layer whose diameter is computed exactly
// (a breadth-first search from every member); above it a double sweep
// gives a lower bound, which is exact on trees and lines.
const exactDiameter = 2000

// checkTTL refuses a unicast layer in which two members are further apart,
// in hops over the layer's adjacencies, than its max_ttl: every packet
// between them would be dropped on the way.
func (b *builder) checkTTL(rl rawLayer, ly *Layer) {
	if ly.Policies == nil || ly.Policies.MaxTTL <= 0 || len(ly.Steps) < 2 {
		return
	}
	idx := make(map[string]int, len(ly.Steps))
	for i, s := range ly.Steps {
		idx[s.Node] = i
	}
	adj := make([][]int, len(ly.Steps))
	for i, s := range ly.Steps {
		for _, c := range s.Connect {
			if j, ok := idx[c]; ok {
				adj[i] = append(adj[i], j)
				adj[j] = append(adj[j], i)
			}
		}
	}
	d, from, to := diameter(adj)
	if d <= ly.Policies.MaxTTL {
		return
	}
	at := rl.policiesAt
	if !at.given() {
		at = rl.name.pos
	}
	a, z := ly.Steps[from].Node, ly.Steps[to].Node
	if d > 255 {
		b.errorf(at, "layer %s is %d hops across (from %s to %s) and a packet can cross at most 255 (max_ttl); add adjacencies (connect: full-mesh, or manual ones) or split the layer", ly.Name, d, a, z)
		return
	}
	b.errorf(at, "layer %s is %d hops across (from %s to %s), more than its max_ttl of %d, so packets between them would be dropped; write policies: {max_ttl: %d} (or more, up to 255)", ly.Name, d, a, z, ly.Policies.MaxTTL, d)
}

// diameter is the longest shortest path in the graph, in hops, and its
// ends; see exactDiameter. Nodes out of reach of each other do not count.
func diameter(adj [][]int) (d, from, to int) {
	var w bfsWalk
	if len(adj) <= exactDiameter {
		for s := range adj {
			if far, fd := w.farthest(adj, s); fd > d {
				d, from, to = fd, s, far
			}
		}
		return d, from, to
	}
	u, _ := w.farthest(adj, 0)
	v, fd := w.farthest(adj, u)
	return fd, u, v
}

// bfsWalk holds a breadth-first search's buffers for reuse.
type bfsWalk struct {
	dist, queue []int
}

// farthest returns the node furthest from s (the first of them) and its
// distance in hops.
func (w *bfsWalk) farthest(adj [][]int, s int) (int, int) {
	if len(w.dist) != len(adj) {
		w.dist, w.queue = make([]int, len(adj)), make([]int, 0, len(adj))
	}
	for i := range w.dist {
		w.dist[i] = -1
	}
	w.dist[s] = 0
	w.queue = append(w.queue[:0], s)
	far := s
	for k := 0; k < len(w.queue); k++ {
		u := w.queue[k]
		if w.dist[u] > w.dist[far] {
			far = u
		}
		for _, v := range adj[u] {
			if w.dist[v] < 0 {
				w.dist[v] = w.dist[u] + 1
				w.queue = append(w.queue, v)
			}
		}
	}
	return far, w.dist[far]
}
