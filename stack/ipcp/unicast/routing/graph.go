package routing

import (
	"errors"
	"slices"
)

// Errors of the graph.
var (
	ErrSelfLoop   = errors.New("routing: adjacency from an address to itself")
	ErrEdgeExists = errors.New("routing: adjacency already in the graph")
	ErrNoEdge     = errors.New("routing: no such adjacency")
	ErrPolicy     = errors.New("routing: unknown routing policy")
)

// Graph is the link-state graph: vertices are addresses, and every
// announced adjacency src → dst (one LSDB entry) is recorded. A link
// between a and b is used for routing only when both a → b and b → a have
// been announced (the reference's announced == 2); every link weighs one
// hop. A vertex exists while some announced adjacency touches it.
//
// The zero Graph is empty and ready to use.
type Graph struct {
	out  map[uint64]map[uint64]struct{} // announced adjacencies src → dst
	refs map[uint64]int                 // per vertex: adjacencies touching it
}

// AddEdge records the announced adjacency src → dst (graph_update_edge).
// The link becomes usable once dst → src is announced as well.
func (g *Graph) AddEdge(src, dst uint64) error {
	if src == dst {
		return ErrSelfLoop
	}
	if g.out == nil {
		g.out = make(map[uint64]map[uint64]struct{})
		g.refs = make(map[uint64]int)
	}
	nbs := g.out[src]
	if _, ok := nbs[dst]; ok {
		return ErrEdgeExists
	}
	if nbs == nil {
		nbs = make(map[uint64]struct{})
		g.out[src] = nbs
	}
	nbs[dst] = struct{}{}
	g.refs[src]++
	g.refs[dst]++
	return nil
}

// DelEdge removes the announced adjacency src → dst (graph_del_edge),
// which makes the link between them unusable. Vertices left without any
// adjacency disappear.
func (g *Graph) DelEdge(src, dst uint64) error {
	nbs := g.out[src]
	if _, ok := nbs[dst]; !ok {
		return ErrNoEdge
	}
	delete(nbs, dst)
	if len(nbs) == 0 {
		delete(g.out, src)
	}
	g.unref(src)
	g.unref(dst)
	return nil
}

func (g *Graph) unref(v uint64) {
	if g.refs[v]--; g.refs[v] == 0 {
		delete(g.refs, v)
	}
}

// Linked reports whether the link between a and b is usable: both a → b
// and b → a have been announced.
func (g *Graph) Linked(a, b uint64) bool {
	_, ab := g.out[a][b]
	_, ba := g.out[b][a]
	return ab && ba
}

// Len returns the number of vertices.
func (g *Graph) Len() int { return len(g.refs) }

// topo is a compact snapshot of the usable links: vertices are indexed in
// ascending address order (the reference keeps its vertex list sorted) and
// each vertex's neighbours are sorted by index.
type topo struct {
	addrs []uint64
	off   []int32 // neighbours of v are nbrs[off[v]:off[v+1]]
	nbrs  []int32
}

func (g *Graph) topo() *topo {
	t := &topo{addrs: make([]uint64, 0, len(g.refs))}
	for a := range g.refs {
		t.addrs = append(t.addrs, a)
	}
	slices.Sort(t.addrs)
	t.off = make([]int32, 1, len(t.addrs)+1)
	for _, a := range t.addrs {
		start := len(t.nbrs)
		for b := range g.out[a] {
			if _, ok := g.out[b][a]; ok {
				j, _ := t.index(b)
				t.nbrs = append(t.nbrs, int32(j))
			}
		}
		slices.Sort(t.nbrs[start:])
		t.off = append(t.off, int32(len(t.nbrs)))
	}
	return t
}

func (t *topo) index(addr uint64) (int, bool) {
	return slices.BinarySearch(t.addrs, addr)
}

func (t *topo) neighbours(v int32) []int32 { return t.nbrs[t.off[v]:t.off[v+1]] }

// bfs fills dist with the hop count from src to every vertex (-1 when
// unreachable) and returns the vertices in the order they were reached,
// which is non-decreasing in distance. queue must have room for every
// vertex.
func (t *topo) bfs(src int32, dist []int32, queue []int32) []int32 {
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	queue = append(queue[:0], src)
	for head := 0; head < len(queue); head++ {
		v := queue[head]
		for _, n := range t.neighbours(v) {
			if dist[n] < 0 {
				dist[n] = dist[v] + 1
				queue = append(queue, n)
			}
		}
	}
	return queue
}
