package routing

import (
	"fmt"
	"strconv"
)

// Policy is the graph algorithm that turns the graph into a routing table
// (ls_pol in the IPCP configuration, spec SYSTEM §8.8 and §10.4).
type Policy uint8

const (
	// Simple: one shortest-path next hop per destination.
	Simple Policy = 0
	// LFA: the Simple next hop followed by loop-free alternates.
	LFA Policy = 1
	// ECMP: every next hop on a shortest path.
	ECMP Policy = 2
)

func (p Policy) String() string {
	switch p {
	case Simple:
		return "simple"
	case LFA:
		return "lfa"
	case ECMP:
		return "ecmp"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// Route is one routing-table entry: the next hops (neighbour addresses)
// towards Dst, never empty. For Simple it holds one next hop; for LFA the
// primary first, then the alternates in ascending address order; for
// ECMP every equal-cost next hop in ascending address order.
type Route struct {
	Dst      uint64
	NextHops []uint64
}

// Table computes the routing table of src under pol: one Route for every
// destination reachable from src over usable links, in ascending Dst
// order. Unreachable destinations, and src itself, have no Route. A src
// that is not in the graph gets an empty table.
func (g *Graph) Table(pol Policy, src uint64) ([]Route, error) {
	if pol > ECMP {
		return nil, fmt.Errorf("table for %d: %w", pol, ErrPolicy)
	}
	t := g.topo()
	s, ok := t.index(src)
	if !ok {
		return nil, nil
	}
	c := newCalc(t, int32(s))
	switch pol {
	case LFA:
		return c.lfa(), nil
	case ECMP:
		return c.ecmp(), nil
	}
	return c.simple(), nil
}

// calc holds the shortest-path data of one table computation.
type calc struct {
	t     *topo
	src   int32
	dist  []int32   // hops from src, -1 when unreachable
	nh    []int32   // Simple next hop of every reachable vertex but src
	nbs   []int32   // the neighbours of src
	nbDst [][]int32 // nbDst[i]: hops from nbs[i]; filled by nbDists
	queue []int32
}

func newCalc(t *topo, src int32) *calc {
	n := len(t.addrs)
	c := &calc{
		t:     t,
		src:   src,
		dist:  make([]int32, n),
		nh:    make([]int32, n),
		nbs:   t.neighbours(src),
		queue: make([]int32, 0, n),
	}
	c.nextHops(t.bfs(src, c.dist, c.queue))
	return c
}

// nextHops derives the Simple next hops as the reference's Dijkstra does:
// vertices are settled by distance, ties by ascending address, and a
// vertex inherits the next hop of the first settled vertex that reaches
// it, i.e. its lowest-address neighbour one hop closer to src.
func (c *calc) nextHops(order []int32) {
	for _, v := range order[1:] {
		if c.dist[v] == 1 {
			c.nh[v] = v
			continue
		}
		for _, u := range c.t.neighbours(v) {
			if c.dist[u] == c.dist[v]-1 {
				c.nh[v] = c.nh[u]
				break
			}
		}
	}
}

// nbDists computes the distances from every neighbour of src.
func (c *calc) nbDists() {
	c.nbDst = make([][]int32, len(c.nbs))
	all := make([]int32, len(c.nbs)*len(c.dist))
	for i, n := range c.nbs {
		c.nbDst[i] = all[i*len(c.dist) : (i+1)*len(c.dist)]
		c.t.bfs(n, c.nbDst[i], c.queue)
	}
}

// build returns one Route per reachable destination, the next hops of d
// being appended by hops.
func (c *calc) build(hops func(d int32, buf []uint64) []uint64) []Route {
	var (
		routes []Route
		buf    []uint64
	)
	for d := range int32(len(c.dist)) {
		if c.dist[d] <= 0 {
			continue
		}
		start := len(buf)
		buf = hops(d, buf)
		if len(buf) == start {
			continue
		}
		routes = append(routes, Route{Dst: c.t.addrs[d], NextHops: buf[start:len(buf):len(buf)]})
	}
	return routes
}

func (c *calc) simple() []Route {
	return c.build(func(d int32, buf []uint64) []uint64 {
		return append(buf, c.t.addrs[c.nh[d]])
	})
}

// lfa adds, after the primary, every neighbour n of src other than d and
// the primary for which dist(n, d) < dist(n, src) + dist(src, d)
// (RFC 5286 inequality 1, as graph_routing_table_lfa evaluates it).
func (c *calc) lfa() []Route {
	c.nbDists()
	return c.build(func(d int32, buf []uint64) []uint64 {
		p := c.nh[d]
		buf = append(buf, c.t.addrs[p])
		for i, n := range c.nbs {
			if n == d || n == p {
				continue
			}
			nd := c.nbDst[i]
			if nd[d] >= 0 && nd[d] < nd[c.src]+c.dist[d] {
				buf = append(buf, c.t.addrs[n])
			}
		}
		return buf
	})
}

// ecmp lists every neighbour n of src with dist(n, d) + 1 = dist(src, d).
func (c *calc) ecmp() []Route {
	c.nbDists()
	return c.build(func(d int32, buf []uint64) []uint64 {
		for i, n := range c.nbs {
			if nd := c.nbDst[i][d]; nd >= 0 && nd+1 == c.dist[d] {
				buf = append(buf, c.t.addrs[n])
			}
		}
		return buf
	})
}
